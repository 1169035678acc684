"""Worker processes that exit when the process that started them dies.

A sweep's worker processes wait for work from their parent. If the parent is killed outright
(SIGKILL, the out-of-memory killer), nothing would tell them to stop, and they would live on,
holding memory and, through inherited file descriptors, the results folder's lock. On Linux each
worker asks the kernel to send it SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``);
elsewhere a watchdog thread checks the parent every half second.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.5


def _prctl_deathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(ppid: int) -> None:
    while True:
        time.sleep(_POLL_SECONDS)
        if os.getppid() != ppid:
            os._exit(1)


def die_with_parent(parent_pid: int | None = None) -> None:
    """Arrange for this process to exit as soon as its parent process dies.

    ``parent_pid``, when known, is the parent's process id as the parent saw it before starting
    this process: if the parent died before this call, the process exits at once.
    """
    ppid = os.getppid()
    if parent_pid is not None and ppid != parent_pid:
        os._exit(1)
    if _prctl_deathsig():
        if os.getppid() != ppid:  # the parent died between the check and the prctl call
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(ppid,), name="peacesim-parent-watch", daemon=True).start()
