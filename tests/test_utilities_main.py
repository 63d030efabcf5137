"""The utilities stage gives the main branch's results (commit 0582e1e), row by row.

``tests/data/utilities_main`` holds a 150-compound sample city's inputs of the stage (made
by main's survey, packages and plan stages) and main's outputs of the stage on them
(``python scripts/compare_utilities.py --snapshot tests/data/utilities_main`` with main as
the base checkout). Every frame the stage makes — topology, traces, pipe upgrades, joint
trenches — and the isolation impact of every water and gas segment must have the same
columns, dtypes and rows in the same order, floats within 1e-9 relative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from yulin_gis.io import Layers
from yulin_gis.pipeline import PlanOptions, PlanState
from yulin_gis.profile import load_profile

DATA = Path(__file__).parent / "data" / "utilities_main"
OUTPUTS = ("topology", "traces", "pipe_upgrades", "joint_trenches", "isolation")


@pytest.fixture(scope="module")
def produced() -> dict[str, Any]:
    from yulin_gis.pipeline._stages import utility_stage
    from yulin_gis.utilities import build_networks, isolation_impact

    frames = {name: gpd.read_parquet(DATA / f"in_{name}.parquet")
              for name in ("compounds", "packages", "utilities", "roads", "utility_nodes")}
    layers = Layers(compounds=frames["compounds"], roads=frames["roads"],
                    utilities=frames["utilities"], utility_nodes=frames["utility_nodes"])
    state = utility_stage(PlanState(layers, load_profile(None), PlanOptions(),
                                    frames["compounds"], packages=frames["packages"]))
    util = frames["utilities"]
    ids = util.loc[util["utility"].isin(["water_supply", "gas"]), "segment_id"].astype(str)
    return {"topology": state.topology, "traces": state.extras["traces"],
            "pipe_upgrades": state.pipe_upgrades, "joint_trenches": state.joint_trenches,
            "isolation": isolation_impact(build_networks(util), ids.tolist(), state.compounds,
                                          layers.utility_nodes)}


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Row-wise equality: geometries exactly, floats within 1e-9 relative, NA with NA."""
    if isinstance(a.dtype, gpd.array.GeometryDtype):
        return shapely.equals_exact(np.asarray(a.array), np.asarray(b.array), tolerance=0) | (
            a.isna().to_numpy() & b.isna().to_numpy())
    if pd.api.types.is_float_dtype(a.dtype):
        return np.isclose(a.to_numpy(float, na_value=np.nan), b.to_numpy(float, na_value=np.nan),
                          rtol=1e-9, atol=0, equal_nan=True)
    x, y = a.astype(object).to_numpy(), b.astype(object).to_numpy()
    na = pd.isna(x) & pd.isna(y)
    return na | np.array([not (pd.isna(p) or pd.isna(q)) and p == q for p, q in zip(x, y, strict=True)],
                         bool)


@pytest.mark.parametrize("name", OUTPUTS)
def test_stage_frames_equal_main(produced: dict[str, Any], name: str) -> None:
    dtypes = json.loads((DATA / "dtypes.json").read_text(encoding="utf-8"))[name]
    reader = gpd.read_parquet if "geometry" in dtypes.values() else pd.read_parquet
    want = reader(DATA / f"out_{name}.parquet")
    got = produced[name]
    assert len(want) > 0
    assert list(got.columns) == list(want.columns)
    assert {c: str(t) for c, t in got.dtypes.items()} == dtypes
    assert len(got) == len(want)
    for col in want.columns:
        same = _same(want[col], got[col].reset_index(drop=True))
        assert same.all(), f"{name}.{col}: row {int(np.flatnonzero(~same)[0])} differs"
