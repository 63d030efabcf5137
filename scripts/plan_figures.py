#!/usr/bin/env python
"""Done-when figures of a run's plan.gpkg: unplanned pre-2000 share, low-consent planned
compounds, earliest start vs the profile's effective date.

Usage: python scripts/plan_figures.py OUT_DIR [--profile FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402

from yulin_gis.profile import load_profile  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Print the figures; return 0."""
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--profile", type=Path, default=None)
    a = ap.parse_args(argv)
    prof = load_profile(a.profile)
    comp = gpd.read_file(a.out / "plan.gpkg", layer="compounds")
    pk = gpd.read_file(a.out / "plan.gpkg", layer="packages")
    pre = comp[(comp["tier"] == "priority") & comp["eligible"].astype(bool)]
    consenting = pre[pre["status"] != "consultation"]
    unplanned = consenting[consenting["status"] != "planned"]
    rate = pd.to_numeric(comp["consent_rate"], errors="coerce")
    low = comp[(comp["status"] == "planned") & (rate < prof.consent.threshold - 1e-9)]
    starts = pd.to_datetime(pk["design_start"], errors="coerce").dropna()
    print(f"eligible pre-2000 compounds: {len(pre)}; held for consultation: "
          f"{len(pre) - len(consenting)}; consenting: {len(consenting)}")
    print(f"unplanned consenting pre-2000: {len(unplanned)} "
          f"({len(unplanned) / max(len(consenting), 1):.2%}); households "
          f"{pd.to_numeric(unplanned['households'], errors='coerce').sum():.0f}")
    print(f"planned with known consent below {prof.consent.threshold:.0%}: {len(low)}")
    print(f"earliest design start: {starts.min().date() if len(starts) else '-'}; "
          f"effective date: {prof.x.programme.effective_date}")
    for col in ("basic_overdue", "beyond_programme"):
        if col in pk.columns:
            print(f"packages {col}: {int(pk[col].astype(bool).sum())} of {len(pk)}")
    print("status:", comp["status"].value_counts().to_dict())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
