"""A sweep on an existing Dask cluster whose scheduler goes away mid-sweep (stopped, or its machine
lost) stops with one line saying how far it got, records 'stopped', and the same command resumes;
it ended in a traceback of Dask's, with the manifest still saying 'running'."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
from results_helpers import tiny

from peacesim.sweep import run_experiment


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str, env=None) -> subprocess.Popen:
    code = "import sys; from distributed.cli.dask_{0} import main; sys.argv[0] = 'dask'; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code.format(args[0]), *args[1:]], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a cluster of local processes")
def test_losing_the_dask_scheduler_stops_the_sweep_in_one_line_and_it_resumes(tmp_path):
    import os

    exp = tiny(tmp_path, reps=40)
    out = tmp_path / "o"
    address = f"tcp://127.0.0.1:{_free_port()}"
    # every run takes a while, so the scheduler goes while runs are still to do
    pre = tmp_path / "slow_runs.py"
    pre.write_text("import time\nimport peacesim.sweep as s\nreal = getattr(s.run_one, 'real', s.run_one)\n"
                   "def run_one(*a):\n    time.sleep(0.2)\n    return real(*a)\nrun_one.real = real\ns.run_one = run_one\n")
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__PRELOAD=json.dumps([str(pre)]))
    scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                      "--dashboard-address", "127.0.0.1:0")
    worker = None
    try:
        time.sleep(3)
        worker = _dask("worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
                       "--dashboard-address", "127.0.0.1:0", env=env)
        from dask.distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=60)
        sweep = subprocess.Popen([sys.executable, "-m", "peacesim", "sweep", str(exp), "--executor", "dask",
                                  "--scheduler", address, "--out", str(out), "--quiet", "--no-figures"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and not list((out / "parts").glob("runs-*.arrow")):
            time.sleep(0.1)
        scheduler.kill()
        _, err = sweep.communicate(timeout=120)
    finally:
        for p in (scheduler, worker):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    assert sweep.returncode == 1, err
    said = [line for line in err.splitlines() if line.startswith("peacesim")]
    assert "Traceback" not in err and len(said) == 1, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "stopped"
    assert said[0] == (f"peacesim: the connection to the Dask scheduler was lost: {manifest['runs_done']} of 80 runs "
                       f"are saved in {out}; run the same command again to resume once the scheduler is running again")
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.skipped == manifest["runs_done"] > 0 and res.ran + res.skipped == 80
