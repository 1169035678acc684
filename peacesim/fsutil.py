"""Safe writing of results: folders peacesim owns, one writer at a time, atomic files, one-line faults.

* **Ownership.** Every folder peacesim writes results into carries a marker file, ``.peacesim``
  (JSON: what the folder holds and the format). A folder is peacesim's when it has a valid marker,
  or when it was written by a version from before the marker and its main file (a sweep's
  ``manifest.json``, a run's ``outcome.json``) has peacesim's own schema. Nothing else is ever
  replaced or removed; :func:`claim` refuses a folder that holds anything else.
* **One writer.** :class:`FolderLock` holds an advisory lock (``flock``) on ``.peacesim.lock`` for
  as long as a sweep or a plot writes into the folder. The operating system releases it when the
  process ends, however it ends (a SIGKILL included), so a killed sweep never leaves it stuck; a
  second process is refused with one line that names the holder.
* **Atomic files.** :func:`atomic_write` writes beside the target and renames in one step, so a
  file is either the old one or the complete new one; a failure leaves no temporary file behind.
* **Names from files are never paths.** :func:`slug` turns a name into a safe file name and
  :func:`inside` checks a path stays in its folder.
* **Faults are one line.** :func:`storage_error` turns an :class:`OSError` into a
  :class:`~peacesim.errors.StorageError` naming the path and the cause.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import re
import socket
import stat
import sys
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import InputError, StorageError
from .words import cut

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: a pid file checked for liveness instead
    fcntl = None

__all__ = ["MARKER", "LOCK", "atomic_write", "storage_error", "slug", "inside", "check_out_path", "read_marker",
           "write_marker", "owner", "claim", "FolderLock", "inherited_fds", "close_inherited", "check_writable"]

MARKER = ".peacesim"
LOCK = ".peacesim.lock"
_PIDFILE = ".peacesim.pid"  # only where flock is missing
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # (not on Windows, which has no flock either)

_SWEEP_SCHEMA = {"experiment_digest", "model_digest", "seeds", "design", "master_seed", "factors"}
_RUN_SCHEMA = {"peacesim_version", "scenario", "seed", "outcome", "params"}
_TMP = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")

#: What a marker's ``peacesim`` field says for each kind of folder.
KINDS = {"sweep": "sweep results", "run": "run results", "validation": "validation results",
         "calibration": "calibration results", "comparison": "comparison results"}
_WHAT = {"sweep": "a sweep's results (manifest.json, runs.parquet)", "run": "one run's results (outcome.json)",
         "validation": "the results of 'peacesim validate'", "calibration": "the results of 'peacesim calibrate'",
         "comparison": "the results of 'peacesim compare'"}
_VALIDATION = re.compile(r"report(-quick)?\.md|quick|full")
_CALIBRATION = re.compile(r"candidates\.csv|candidate_\d{3,}")


# ------------------------------------------------------------------------------------ faults
def now() -> str:
    """The time now, UTC, to the second, as ISO 8601: every record peacesim writes says when."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def storage_error(exc: OSError, path: str | os.PathLike | None = None, action: str = "") -> StorageError:
    """A one-line :class:`StorageError` for ``exc``: the path, what was being done, and the cause."""
    if isinstance(exc, StorageError):
        return exc
    where = path if path is not None else (exc.filename if exc.filename is not None else "?")
    cause = exc.strerror or str(exc) or type(exc).__name__
    doing = f"cannot {action}: " if action else ""
    return StorageError(f"{where}: {doing}{cause}", exc.errno)


def is_storage_fault(exc: BaseException) -> bool:
    """True for errors of the file system itself (not for a missing file we looked for)."""
    return isinstance(exc, OSError) and not isinstance(exc, (FileNotFoundError, InterruptedError))


# ------------------------------------------------------------------------------------ atomic writes
def _escape_error(exc: UnicodeError) -> tuple[str, int]:
    """An encoding error handler: a character UTF-8 cannot hold is written as an escape, a byte
    of a file name that is not UTF-8 (Python reads it as a lone surrogate) as the byte ('\\xff'),
    any other lone surrogate as its code ('\\ud800')."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}"
                   for c in bad), exc.end


#: The name of :func:`_escape_error` as an encoding error handler (``errors=`` of ``open``).
ESCAPE = "peacesim.escape"
codecs.register_error(ESCAPE, _escape_error)


def temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def atomic_write(path: Path, data: bytes | str | Callable[[Path], None], *, sync: bool = True) -> None:
    """Write ``data`` (bytes, text, or a function that writes a given path) to ``path`` atomically.

    The data go to a temporary file beside ``path`` (same file system), are flushed to the disk
    and then renamed over ``path``; a link at ``path`` is replaced, not followed. On any failure
    the temporary file is removed and :class:`StorageError` names ``path`` and the cause.
    """
    path = Path(path)
    tmp = temp_name(path)
    try:
        if callable(data):
            data(tmp)
            if sync:
                _fsync(tmp)
        else:
            raw = data.encode("utf-8", ESCAPE) if isinstance(data, str) else data  # a non-UTF-8 name escaped
            with open(tmp, "xb") as fh:
                fh.write(raw)
                fh.flush()
                if sync:
                    os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise storage_error(exc, path, "write") from None
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_temp(name: str) -> bool:
    """A temporary file left by :func:`atomic_write` in a process that was killed."""
    return bool(_TMP.fullmatch(name))


# ------------------------------------------------------------------------------------ names and paths
def slug(text: Any, fallback: str = "unnamed", limit: int = 80) -> str:
    """A safe file name from ``text``: letters, digits, ``_``, ``-`` and ``.``; never a path.

    ``"../../x"`` becomes ``"x"``, ``"/etc/passwd"`` becomes ``"etc_passwd"``; a name that has
    nothing left (``".."``) becomes ``fallback``.
    """
    import unicodedata

    text = str(text)
    # accented letters keep their base letter ("été" -> "ete")
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    s = re.sub(r"[^\w.-]+", "_", plain, flags=re.ASCII)
    s = re.sub(r"_?\.{2,}_?", "_", s)  # no '..' (a parent folder's name)
    s = re.sub(r"_{2,}", "_", s).strip("._-")[:limit].strip("._-")
    if any(c.isalnum() and not any(d.isascii() and d.isalnum() for d in unicodedata.normalize("NFKD", c))
           for c in text):
        # letters of another script were dropped ("日本", "Ł"): a folder of the name's own, not one
        # shared with every name that differs from it only in those letters
        import hashlib

        tag = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        return f"{s or fallback}-{tag}"
    return s or fallback


def inside(root: Path, path: Path) -> Path:
    """``path``, after checking that it resolves to a place inside ``root`` (links followed)."""
    r = Path(root).resolve()
    p = Path(path).resolve()
    if p != r and r not in p.parents:
        raise StorageError(f"{path}: would be written outside {root}; refused")
    return Path(path)


def check_out_path(text: str | os.PathLike | None, option: str = "--out") -> Path:
    """The folder named by ``text`` (``~`` expanded), refusing an empty name and the root of the
    file system."""
    if text is not None and not isinstance(text, (str, os.PathLike)):
        raise InputError(f"{option} {cut(repr(text), 80)}: expected a folder's path (a text or a Path)")
    raw = os.fspath(text) if text is not None else ""
    if isinstance(raw, bytes):
        raise InputError(f"{option} {cut(repr(raw), 80)}: expected a folder's path as text, not bytes")
    if not raw.strip():
        raise InputError(f"{option} {cut(repr(raw), 80)}: an empty path is not allowed; name the folder to write into")
    p = Path(os.path.expanduser(raw))  # '~' as a shell would expand it: a folder named '~' is never made
    resolved = p.resolve()
    if resolved == Path(resolved.anchor):
        raise InputError(f"{option} {cut(raw, 200)}: the root of the file system cannot hold results; "
                         "name a folder inside it")
    if p.exists() and not p.is_dir():
        raise InputError(f"{option}: {cut(raw, 200)} exists and is not a folder")
    if p.is_symlink() and not p.exists():  # mkdir would say 'File exists' of a name that leads nowhere
        raise InputError(f"{option} {cut(raw, 200)}: a link that leads to no folder ({cut(os.readlink(p), 200)}); "
                         "name a folder, or a link to one")
    for parent in resolved.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{option} {cut(raw, 200)}: cannot be created: {parent} is a file, not a folder")
            break
    return p


# ------------------------------------------------------------------------------------ ownership
def read_marker(folder: Path) -> dict[str, Any] | None:
    """The folder's marker, or None when it has none (or an unreadable one)."""
    data = _json_dict(Path(folder) / MARKER)
    if data is None or data.get("peacesim") not in KINDS.values():
        return None
    return data


def write_marker(folder: Path, kind: str, **extra: Any) -> dict[str, Any]:
    data = {"peacesim": KINDS[kind], "format": extra.pop("format", 2), **extra}
    atomic_write(Path(folder) / MARKER, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return data


def _json_dict(path: Path) -> dict | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def owner(folder: Path) -> tuple[str | None, bool]:
    """(kind, legacy) of a folder peacesim wrote: kind is ``"sweep"``, ``"run"`` or None (not ours,
    or empty); ``legacy`` is True for a folder written before the marker existed."""
    folder = Path(folder)
    marker = read_marker(folder)
    if marker is not None:
        kind = next(k for k, v in KINDS.items() if v == marker["peacesim"])
        return kind, False
    m = _json_dict(folder / "manifest.json")
    if m is not None and _SWEEP_SCHEMA <= m.keys():
        return "sweep", True
    o = _json_dict(folder / "outcome.json")
    if o is not None and _RUN_SCHEMA <= o.keys():
        return "run", True
    names = entries(folder)
    if names and all(_VALIDATION.fullmatch(n) for n in names) and any(n in ("quick", "full") for n in names):
        return "validation", True
    if names and all(_CALIBRATION.fullmatch(n) for n in names):
        return "calibration", True
    return None, False


def entries(folder: Path) -> list[str]:
    """Names in ``folder`` other than the lock file (which a refused attempt may leave)."""
    try:
        # (a lock file that is a link or not a plain file is not peacesim's: it is listed)
        return sorted(p.name for p in Path(folder).iterdir()
                      if p.name not in (LOCK, _PIDFILE) or p.is_symlink() or not p.is_file())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise storage_error(exc, folder, "read the folder") from None


def _listing(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(cut(n, 40) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def claim(folder: Path, kind: str, option: str = "--out") -> tuple[bool, bool]:
    """Check that peacesim may write ``kind`` results into ``folder`` (nothing is written).

    Returns (exists_and_ours, legacy). A folder that does not exist, is empty, or is peacesim's
    folder of the same kind may be written; any other folder is refused with one line naming a
    few of the files that are not peacesim's."""
    folder = Path(folder)
    if not folder.exists():
        return False, False
    if not folder.is_dir():
        raise InputError(f"{option} {folder}: exists and is not a folder")
    names = entries(folder)
    if not names:
        return False, False
    found, legacy = owner(folder)
    what = _WHAT
    if found is None:
        raise InputError(f"{option} {folder}: the folder holds files peacesim did not write ({_listing(names)}); "
                         "peacesim writes only into a new or empty folder or one it wrote itself; "
                         "choose another folder")
    if found != kind:
        raise InputError(f"{option} {folder}: the folder holds {what[found]}, not {what[kind]}; choose another folder")
    return True, legacy


def claim_and_mark(folder: Path, kind: str, option: str = "--out") -> None:
    """:func:`claim` ``folder`` for ``kind``, create it and mark it (for folders that hold several
    runs' folders and a report: ``peacesim validate`` and ``calibrate``)."""
    claim(folder, kind, option)
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, folder, "create the folder") from None
    if read_marker(folder) is None:
        write_marker(folder, kind, format=1)


# ------------------------------------------------------------------------------------ the lock
_HELD: dict[int, str] = {}  # fd -> folder, for every lock this process holds
#: Within :func:`kept_locks`: the locks released meanwhile, kept by this process (folder -> fd).
_KEPT: list[dict[str, int]] = []


class kept_locks:
    """Within this block a folder lock this process releases is kept, and the next lock of the
    same folder in this process takes it over, so that no other process takes the folder between
    two steps of one command (a sweep's runs and its figures). Kept locks are released at the end."""

    def __enter__(self) -> kept_locks:
        _KEPT.append({})
        return self

    def __exit__(self, *exc) -> None:
        for fd in _KEPT.pop().values():
            _HELD.pop(fd, None)
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)


def _lock_key(folder: Path) -> str:
    return os.path.realpath(folder)


def inherited_fds() -> list[int]:
    """File descriptors of locks held by this process: a forked child must close them, or the
    lock would outlive this process for as long as the child lives."""
    return list(_HELD)


def close_inherited() -> None:
    """In a forked child: close the lock files inherited from the parent (the parent keeps them)."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class FolderLock:
    """An advisory lock on a results folder, held by one process at a time.

    ``flock`` on ``.peacesim.lock``: the operating system releases it when the process ends,
    whatever ends it. The lock file holds the holder's process id, host, start time and command
    line, so that a refused process can say who holds the folder. Where ``flock`` does not exist,
    a pid file is used and a holder that is no longer alive is ignored.
    """

    def __init__(self, folder: Path, what: str = "process"):
        self.folder = Path(folder)
        self.what = what
        self.fd: int | None = None
        self._pidfile: Path | None = None

    @property
    def path(self) -> Path:
        return self.folder / LOCK

    def _info(self) -> str:
        return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                           "since": now(),
                           "command": " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python",
                                                *sys.argv[1:]])})

    def _refuse(self, info: dict | None) -> StorageError:
        if info and isinstance(info.get("pid"), int):
            host = info.get("host") or "?"
            who = f"process {info['pid']}" + (f" on {host}" if host != socket.gethostname() else "")
            since = f" since {info['since']}" if info.get("since") else ""
            cmd = f" ({cut(str(info['command']), 80)})" if info.get("command") else ""
            holder = f"another peacesim {info.get('what') or 'process'}, {who}{since}{cmd},"
        else:
            holder = "another peacesim process"
        return StorageError(f"{self.folder}: {holder} is using this folder; wait for it to finish or stop it, "
                            "or choose another folder", advised=True)

    def _not_ours(self, what: str) -> StorageError:
        return StorageError(f"{self.path}: {what}, not peacesim's lock file; peacesim does not write through it: "
                            "remove it or choose another folder", advised=True)

    def _read_info(self, path: Path) -> dict | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8") or "null")
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def acquire(self) -> FolderLock:
        """Take the lock without waiting; refuse with one line if another process holds it."""
        if fcntl is None:
            return self._acquire_pidfile()
        if _KEPT and _lock_key(self.folder) in _KEPT[-1]:  # held since an earlier step of this command
            # (the lock file still names the command's first step, 'sweep', and when it began)
            self.fd = _KEPT[-1].pop(_lock_key(self.folder))
            return self
        try:
            # never through a link: the lock file is written to, and a link could lead to any file
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP or self.path.is_symlink():
                raise self._not_ours("is a link") from None
            if exc.errno == errno.EISDIR or (self.path.exists() and not self.path.is_file()):
                raise self._not_ours("is not a plain file") from None
            raise storage_error(exc, self.folder, "use the folder") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise self._not_ours("is not a plain file")
        except BaseException:
            os.close(fd)
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._refuse(self._read_info(self.path)) from None
        except OSError as exc:
            os.close(fd)
            raise storage_error(exc, self.path, "lock") from None
        self.fd = fd
        _HELD[fd] = str(self.folder)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, self._info().encode(), 0)
        except OSError:
            pass  # the lock holds; only the holder's description could not be written (no space)
        return self

    def probe(self) -> None:
        """Refuse now, as :meth:`acquire` would, if another process holds the lock (nothing is kept)."""
        if fcntl is None or not self.path.exists() or (_KEPT and _lock_key(self.folder) in _KEPT[-1]):
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return  # acquire() will say what is wrong
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise self._refuse(self._read_info(self.path)) from None
        except OSError:
            pass
        finally:
            os.close(fd)

    def _acquire_pidfile(self) -> FolderLock:
        path = self.folder / _PIDFILE
        for _ in range(3):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                info = self._read_info(path)
                if info and info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int) \
                        and not _alive(info["pid"]):
                    path.unlink(missing_ok=True)  # its holder was killed
                    continue
                raise self._refuse(info) from None
            except OSError as exc:
                raise storage_error(exc, self.folder, "use the folder") from None
            with os.fdopen(fd, "w") as fh:
                fh.write(self._info())
            self._pidfile = path
            return self
        raise self._refuse(None)

    def release(self) -> None:
        if self.fd is not None and _KEPT:  # kept for the command's next step (kept_locks)
            _KEPT[-1][_lock_key(self.folder)], self.fd = self.fd, None
            return
        if self.fd is not None:
            fd, self.fd = self.fd, None
            _HELD.pop(fd, None)
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # releases the flock
        if self._pidfile is not None:
            try:
                self._pidfile.unlink(missing_ok=True)
            except OSError:
                pass
            self._pidfile = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def remove_files(paths: Iterable[Path]) -> None:
    """Remove the given files (peacesim's own); a missing one is fine, any other fault is one line."""
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except IsADirectoryError:
            continue
        except OSError as exc:
            raise storage_error(exc, p, "remove") from None


def remove_empty_dir(path: Path) -> None:
    try:
        path.rmdir()
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):  # it holds files that are not ours
            raise storage_error(exc, path, "remove") from None


# ------------------------------------------------------------------------------------ before anything is said
def check_writable(folder: Path, what: str = "process") -> None:
    """Refuse now, in one line, a results folder that another peacesim process is using or that cannot
    be created or written (a read-only file system, no permission): before a command says what it is
    about to do or starts its runs. Nothing is left behind: a folder made to find out is removed."""
    folder = Path(folder)
    if folder.is_dir():
        FolderLock(folder, what).probe()
        probe = temp_name(folder / MARKER)  # the name of atomic_write's temporary files
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            os.unlink(probe)
        except OSError as exc:
            raise storage_error(exc, folder, "write into the folder") from None
        return
    whole = folder.absolute()
    missing = [p for p in (whole, *whole.parents) if not p.exists()]
    made: list[Path] = []
    try:
        for p in reversed(missing):  # outermost first
            p.mkdir()
            made.append(p)
    except OSError as exc:
        raise storage_error(exc, folder, "create the folder") from None
    finally:
        for p in reversed(made):  # innermost first
            try:
                p.rmdir()
            except OSError:
                pass
