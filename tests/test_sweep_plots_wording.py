"""Plain English in a sweep's report: '1 setting', '1 replicate', '1 run finished'."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from peacesim.sweep_plots import plot_results


def folder(path: Path, replicates: int, failed: int) -> Path:
    """One setting (no factor), ``replicates`` runs of which the last ``failed`` failed."""
    runs = []
    for rep in range(replicates):
        ok = rep < replicates - failed
        runs.append({"design_point": 0, "replicate": rep, "seed": 10 + rep, "status": "ok" if ok else "failed",
                     "error": "" if ok else "ValueError: boom", "months": 60, "followup_months": 60,
                     "agreement_reached": False if ok else None, "months_to_first_agreement": None,
                     "n_agreements": 0 if ok else None})
    eps = pd.DataFrame({"design_point": pd.Series([], dtype="int64"), "replicate": pd.Series([], dtype="int64"),
                        "seed": pd.Series([], dtype="int64"), "episode": pd.Series([], dtype="int64"),
                        "months_survived": pd.Series([], dtype="float64"), "relapsed": pd.Series([], dtype="bool")})
    path.mkdir()
    pd.DataFrame(runs).to_parquet(path / "runs.parquet")
    eps.to_parquet(path / "episodes.parquet")
    (path / "manifest.json").write_text(json.dumps({"name": path.name, "title": "t", "factors": [],
                                                    "design": [{"design_point": 0, "values": {}}],
                                                    "replicates": replicates, "master_seed": 1,
                                                    "scenario": "reference"}))
    (path / ".peacesim").write_text(json.dumps({"peacesim": "sweep results", "format": 2, "plot_files": []}))
    return path


@pytest.mark.parametrize("replicates, failed, said", [
    (1, 0, "1 setting × 1 replicate (master seed 1); each run lasts 60 months and an agreement is followed for up "
           "to 60 months. 1 run finished."),
    (2, 1, "1 setting × 2 replicates (master seed 1); each run lasts 60 months and an agreement is followed for up "
           "to 60 months. 1 run finished, 1 failed and is left out."),
    (3, 0, "1 setting × 3 replicates (master seed 1); each run lasts 60 months and an agreement is followed for up "
           "to 60 months. 3 runs finished."),
])
def test_the_report_counts_in_plain_english(tmp_path, monkeypatch, replicates, failed, said):
    import peacesim.sweep_plots as sp

    monkeypatch.setattr(sp, "_DPI", 20)
    out = folder(tmp_path / "f", replicates, failed)
    report = Path(plot_results(out)[-1]).read_text(encoding="utf-8")
    assert f"Scenario `reference`; {said}" in report
