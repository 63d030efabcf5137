"""The survey on the embedded sample finds exactly what the generator planted."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from yulin_gis.datasets import get_path
from yulin_gis.survey import assess_compounds
from yulin_gis.validate import load_layers


@pytest.fixture(scope="module")
def surveyed() -> tuple[pd.DataFrame, dict]:
    layers = load_layers(get_path("gpkg"), dem=get_path("dem"))
    truth = json.loads(get_path("truth").read_text(encoding="utf-8"))
    return assess_compounds(layers).set_index("compound_id"), truth


def test_hazard_compounds_match_the_planted_ones(surveyed) -> None:
    assessed, truth = surveyed
    found = set(assessed.index[assessed["hazard_pipes"].fillna(0) > 0])
    assert found == set(truth["hazard_compounds"])


def test_planted_hazard_segments_are_named_as_evidence(surveyed) -> None:
    assessed, truth = surveyed
    evidence = assessed["evidence"].fillna("").astype(str)
    missing = [(cid, seg) for cid, hazards in truth["hazard_compounds"].items()
               for seg in hazards.values() if seg not in evidence[cid]]
    assert missing == []


def test_planted_low_lying_compounds_are_flagged(surveyed) -> None:
    assessed, truth = surveyed
    risky = assessed["waterlogging_risk"].fillna(False).astype(bool)
    assert truth["low_lying"]
    assert all(risky[cid] for cid in truth["low_lying"])


@pytest.mark.parametrize("kind", ["kindergarten", "health_station"])
def test_planted_service_gaps_are_found(surveyed, kind: str) -> None:
    assessed, truth = surveyed
    planted = truth["service_gaps"][kind]
    assert planted
    gap = assessed[f"gap_{kind}"].fillna(False).astype(bool)
    assert all(gap[cid] for cid in planted)
    # planted: no facility of the kind within 1.5 km straight, so none within 1.5 km walking
    walk = assessed.loc[planted, f"walk_{kind}_m"]
    assert (walk.isna() | (walk >= truth["service_gap_radius_m"])).all()


def test_every_compound_has_a_tier_and_reason(surveyed) -> None:
    assessed, _ = surveyed
    assert assessed["tier"].isin(["priority", "share", "excluded"]).all()
    assert (assessed["tier_reason"].fillna("").str.len() > 0).all()
