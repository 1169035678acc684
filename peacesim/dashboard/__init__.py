"""The classroom dashboard: ``peacesim dashboard [SCENARIO] [--port N] [--host H]``.

A Solara page on Mesa's SolaraViz parts (:mod:`peacesim.dashboard.app`), one model per browser
tab, served on 127.0.0.1 unless told otherwise, with every script, style and font from the
``solara-assets`` package installed beside Solara (nothing is fetched from a CDN) and Solara's
telemetry off. :mod:`peacesim.dashboard.session` holds what the page does, without Solara.
"""

from __future__ import annotations

import os
import socket
import sys
import warnings
from pathlib import Path

from ..errors import InputError

__all__ = ["serve", "server_environment", "DEFAULT_PORT", "DEFAULT_HOST", "assets_dir", "PING_INTERVAL_S",
           "PING_TIMEOUT_S"]

DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"
#: Seconds between the server's keepalive pings to a page, and how long it waits for the answer
#: before it drops the page's connection. The server's own default (20 s) dropped the connection of
#: a page whose browser stalled for some 40 s (a laptop under heavy load): the page reconnects and
#: fetches the state of the whole page again, but a click it sent as the server closed the
#: connection is lost, and the page keeps the month before a Step.
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 300.0


def assets_dir() -> Path:
    """Where solara-assets puts the files Solara would otherwise fetch from a CDN."""
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def server_environment(scenario: str, host: str, port: int) -> dict[str, str]:
    """Environment settings of the Solara server (read by Solara when it is imported)."""
    return {
        "SOLARA_APP": "peacesim.dashboard.app",
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_ASSETS_PROXY": "True",  # serve assets from the local cache that solara-assets fills
        "SOLARA_THEME_LOADER": "plain",
        # a closed tab's model is freed after this long without a connection (Solara's default: 24 h)
        "SOLARA_KERNEL_CULL_TIMEOUT": "20m",
        "PEACESIM_DASHBOARD_SCENARIO": scenario,
    }


def _refuse_cdn() -> None:
    """Make a missing asset an error instead of a request to the CDN: the page must work offline."""
    from solara.server import cdn_helper

    def offline(path):
        raise RuntimeError(f"asset {path} is not installed (solara-assets); peacesim never fetches it from a CDN")

    cdn_helper.get_cdn_url = offline


#: The start of the warning Solara's server gives for every page opened over plain http (it falls
#: back to samesite=lax cookies, which is right for a page that is not embedded in another site):
#: a dozen lines in the terminal per participant that a trainer would take for errors.
COOKIE_WARNING = r"Cookies with samesite=none require https"


def quiet_cookie_warning() -> None:
    """Silence exactly Solara's warning about samesite cookies over http, nothing else."""
    warnings.filterwarnings("ignore", message=COOKIE_WARNING, category=UserWarning)


def _check_port(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InputError(f"--host {host}: not a host name or address of this machine") from None
    fam, kind, proto, _, addr = infos[0]
    with socket.socket(fam, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            raise InputError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); "
                             "choose another port with --port N") from None


#: Hosts that mean "every address of this machine": a browser cannot open them as given.
ANY_HOST = ("0.0.0.0", "::", "")


def room_addresses() -> list[str]:
    """This machine's IPv4 addresses other than the loopback, as participants on the room's
    network would type them (nothing is sent: a UDP socket's connect only picks a route)."""
    found: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    except OSError:
        pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            found.add(s.getsockname()[0])
    except OSError:
        pass
    return sorted(a for a in found if not a.startswith("127.") and a != "0.0.0.0")


def greeting(host: str, port: int) -> str:
    """The line the server prints when it starts: where to open the page. Started with ``--host
    0.0.0.0``, the page opens at 127.0.0.1 here, and participants open this machine's address
    (http://0.0.0.0 is not an address a browser on another machine, or on Windows, can open)."""
    if host not in ANY_HOST:
        return f"peacesim dashboard: open http://{host}:{port} in a browser (Ctrl-C stops it)"
    there = room_addresses()
    others = (" or ".join(f"http://{a}:{port}" for a in there) if there
              else f"http://THIS-MACHINE'S-ADDRESS:{port}")
    return (f"peacesim dashboard: open http://127.0.0.1:{port} in a browser on this machine; participants on the "
            f"room's network open {others} (Ctrl-C stops it)")


def serve(scenario: str = "reference", *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          quiet: bool = False) -> None:
    """Serve the dashboard until interrupted. ``scenario`` is the one a new tab opens with."""
    _check_port(host, port)
    if not assets_dir().is_dir():
        raise InputError(f"the solara-assets package is not installed ({assets_dir()} is missing); "
                         "run 'make venv' so the page needs no internet access")
    os.environ.update(server_environment(scenario, host, port))
    import uvicorn

    _refuse_cdn()
    quiet_cookie_warning()
    if not quiet:
        print(greeting(host, port), flush=True)
    uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning",
                ws_ping_interval=PING_INTERVAL_S, ws_ping_timeout=PING_TIMEOUT_S)
