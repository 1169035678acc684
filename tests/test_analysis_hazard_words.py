"""Why a sweep's report gives no hazard ratio for a factor, said once, in a sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from peacesim.analysis import hazard_ratio, load_results
from peacesim.errors import InputError
from peacesim.sweep_plots import plot_results


def folder(path: Path, agreements_at: set[str]) -> Path:
    """Two values of coordination, 20 seeds each; agreements (half of them relapsing) only at the
    values in ``agreements_at``."""
    runs, eps = [], []
    for dp, value in enumerate(["none", "hierarchical"]):
        for rep in range(20):
            signed = value in agreements_at
            runs.append({"design_point": dp, "replicate": rep, "seed": 100 + rep, "coordination": value,
                         "status": "ok", "error": "", "months": 120, "followup_months": 60,
                         "agreement_reached": signed, "months_to_first_agreement": 20.0 if signed else None,
                         "n_agreements": int(signed), "n_relapses": int(signed and rep % 2 == 0)})
            if signed:
                relapsed = rep % 2 == 0
                eps.append({"design_point": dp, "replicate": rep, "seed": 100 + rep, "coordination": value,
                            "episode": 0, "signed_month": 20, "end_month": 20 + (10 + rep if relapsed else 60),
                            "months_survived": float(10 + rep if relapsed else 60), "relapsed": relapsed,
                            "censored": not relapsed, "end_cause": "relapse" if relapsed else "consolidated",
                            "consolidated": not relapsed})
    path.mkdir()
    pd.DataFrame(runs).to_parquet(path / "runs.parquet")
    pd.DataFrame(eps).to_parquet(path / "episodes.parquet")
    design = [{"design_point": i, "values": {"coordination": v}} for i, v in enumerate(["none", "hierarchical"])]
    (path / "manifest.json").write_text(json.dumps({"name": path.name, "title": "t", "factors": ["coordination"],
                                                    "design": design, "replicates": 20, "master_seed": 1,
                                                    "scenario": "reference"}))
    (path / ".peacesim").write_text(json.dumps({"peacesim": "sweep results", "format": 2, "plot_files": []}))
    return path


@pytest.mark.parametrize("at, why", [
    ({"hierarchical"}, "no hazard ratio for coordination: no agreement was signed at its reference value, "
                       "coordination = none"),
    ({"none"}, "no hazard ratio for coordination: agreements were signed at its reference value, "
               "coordination = none, only"),
])
def test_no_hazard_ratio_says_why_once(tmp_path, monkeypatch, at, why):
    import peacesim.sweep_plots as sp

    monkeypatch.setattr(sp, "_DPI", 20)
    res = load_results(folder(tmp_path / "f", at))
    with pytest.raises(InputError) as info:
        hazard_ratio(res, "coordination")
    assert str(info.value) == why
    report = Path(plot_results(res.path)[-1]).read_text(encoding="utf-8")
    line = next(ln for ln in report.splitlines() if "hazard ratio for coordination" in ln)
    assert line == f"  * N{why[1:]}."
    assert report.lower().count("no hazard ratio") == 1
