"""The golden regression cases and how their summaries are computed (shared by the test and the
script that regenerates the stored files)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import peacesim

GOLDEN_DIR = Path(__file__).parent / "golden"
CASES = [("reference", 7), ("reference", 21)]
SERIES_COLUMNS = ["violence", "trust_parties", "implementation", "negotiation_progress", "spoiler_capacity",
                  "public_support"]


def summarise(scenario: str, seed: int) -> dict:
    """A small, stable summary of one run: outcome, episodes, and every 12th month of key series."""
    r = peacesim.run_scenario(scenario, seed=seed)
    s = r.series.iloc[::12]
    return {
        "scenario": scenario,
        "seed": seed,
        "outcome": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.outcome.items()},
        "episodes": json.loads(r.episodes.to_json(orient="records")),
        "phase": s["phase"].astype(str).tolist(),
        "series": {c: [round(float(x), 10) for x in s[c]] for c in SERIES_COLUMNS},
        "event_kinds": r.events["kind"].value_counts().sort_index().to_dict(),
    }


def path_for(scenario: str, seed: int) -> Path:
    return GOLDEN_DIR / f"{scenario}_seed{seed}.json"
