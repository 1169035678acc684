"""A sweep on an existing Dask cluster (``--scheduler``): a scheduler and workers started as a
user starts them, with the ``dask`` command. Its workers must run this version of the model."""

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import peacesim
from peacesim.sweep import run_experiment

EXPERIMENT = """
[experiment]
title = "small"
scenario = "reference"
replicates = 3
master_seed = 11
months = 36
keep_series = true

[vary]
handover_quality = [0.1, 0.8]
"""
DASK = str(Path(sys.executable).parent / "dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    """``(address, add_worker)``: a scheduler on this machine; ``add_worker(pythonpath)`` starts a
    worker, with ``pythonpath`` first on its path when given, and waits until it has joined."""
    from dask.distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = []

    def start(*args, env=None):
        procs.append(subprocess.Popen([DASK, *args], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))

    start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard")
    joined = [0]

    def add_worker(pythonpath: Path | None = None):
        env = dict(os.environ)
        if pythonpath is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), *filter(None, [env.get("PYTHONPATH")])])
        start("worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", env=env)
        joined[0] += 1
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(joined[0], timeout=90)

    try:
        yield address, add_worker
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_a_sweep_on_a_running_cluster_matches_the_serial_one(cluster, tmp_path):
    address, add_worker = cluster
    add_worker()
    exp = tmp_path / "small.toml"
    exp.write_text(EXPERIMENT)
    run_experiment(exp, executor="serial", out=tmp_path / "serial", progress=False)
    run_experiment(exp, executor="dask", scheduler=address, out=tmp_path / "cluster", progress=False)
    for kind in ("runs", "episodes", "series"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "serial" / f"{kind}.parquet"),
                                      pd.read_parquet(tmp_path / "cluster" / f"{kind}.parquet"))


@pytest.mark.parametrize("worker", ["another version", "no peacesim"])
def test_a_worker_that_cannot_run_this_model_is_refused(cluster, tmp_path, worker):
    address, add_worker = cluster
    other = tmp_path / "other"
    if worker == "another version":
        shutil.copytree(Path(peacesim.__file__).parent, other / "peacesim",
                        ignore=shutil.ignore_patterns("__pycache__"))
        with open(other / "peacesim" / "rules.py", "a") as f:
            f.write("\nANOTHER_VERSION = True\n")
        expect = "1 of 2 workers run another version of peacesim's model (tcp://127.0.0.1:"
        then = "install this version on every worker"
    else:  # a peacesim that cannot be imported there
        (other / "peacesim").mkdir(parents=True)
        (other / "peacesim" / "__init__.py").write_text("raise ImportError('not this one')\n")
        expect = "a worker cannot run peacesim's model (ImportError('not this one'))"
        then = "install this version of peacesim on every worker"
    add_worker()
    add_worker(other)
    exp = tmp_path / "small.toml"
    exp.write_text(EXPERIMENT)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "peacesim", "sweep", str(exp), "--out", str(out), "--executor", "dask",
                        "--scheduler", address], capture_output=True, text=True, timeout=180)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"peacesim: error: --scheduler {address}: {expect}"), lines[0]
    assert then in lines[0]
    assert not out.exists()
