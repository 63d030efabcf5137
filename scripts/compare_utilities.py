"""Compare the utilities stage of two checkouts row by row (issue 16: same results, faster).

The state before the utilities stage (validated layers, survey, packages, plan) is made
once from a generated city and pickled; then each checkout (``--base``, default the main
checkout ``/work/main``, and ``--head``, default this one) runs
``yulin_gis.pipeline._stages.utility_stage`` on it in a child process with its own
``PYTHONPATH``, timing the stage in CPU seconds, and pickles what the stage produced:
``topology``, ``traces``, ``pipe_upgrades`` and ``joint_trenches`` (everything the
stage adds to the state; ``plan.gpkg``, the CSVs and the companies' workbooks are written
from these), plus ``isolation_impact`` of every water and gas segment (the stage keeps only
the upgrades' households; this compares the cut-off compounds and bridges too). The frames are compared: same columns, same rows in the same order, equal
values (floats within 1e-9 relative, geometries equal exactly).

Usage::

    python scripts/compare_utilities.py --compounds 5000 --pipes 50000
    python scripts/compare_utilities.py --compounds 20000 --pipes 200000
    python scripts/compare_utilities.py --city /tmp/yulin_bench_run_5000/city
    python scripts/compare_utilities.py --snapshot tests/data/utilities_main   # test data

The snapshot (``tests/test_utilities_main.py``) holds a 150-compound sample city's stage
inputs (GeoParquet, made by the base checkout's survey, packages and plan) and the base
checkout's outputs of the stage on those inputs read back.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ("topology", "traces", "pipe_upgrades", "joint_trenches", "isolation")


def make_city(folder: Path, n: int, pipes: int, seed: int = 0) -> dict[str, Path]:
    """Generate the grid city (as ``scripts/bench_run.py``), kept in ``folder``."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_run import make_input

    return make_input(folder, n, pipes, seed)


def prepare(gpkg: Path, dem: Path | None, state_pkl: Path) -> None:
    """The state before the utilities stage, as ``yulin-gis run`` makes it, pickled."""
    from yulin_gis.io import fill_divisions, validate_input
    from yulin_gis.pipeline import PlanOptions, package_stage, plan_stage, survey_stage
    from yulin_gis.profile import load_profile

    options = PlanOptions()
    layers, _report = validate_input(gpkg, dem=dem)
    if layers is None:
        raise SystemExit(f"{gpkg}: validation failed")
    layers.compounds, _ = fill_divisions(layers.compounds, load_profile(None), unit=options.unit)
    state = plan_stage(package_stage(survey_stage(layers, options)))
    state_pkl.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))


def stage_child(state_pkl: Path, out_pkl: Path) -> None:
    """Run the utilities stage on the pickled state; pickle its outputs and CPU seconds."""
    from yulin_gis.pipeline._stages import utility_stage

    state = pickle.loads(state_pkl.read_bytes())
    t0 = time.process_time()
    state = utility_stage(state)
    cpu = time.process_time() - t0
    out = {"cpu": cpu, "topology": state.topology, "traces": state.extras.get("traces"),
           "pipe_upgrades": state.pipe_upgrades, "joint_trenches": state.joint_trenches,
           "isolation": _isolation_all(state)}
    out_pkl.write_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))


def _isolation_all(state: Any) -> Any:
    """``isolation_impact`` of every water and gas segment (the stage asks only for the
    upgrades'), to compare the cut-off compounds too."""
    from yulin_gis.utilities import build_networks, isolation_impact

    utilities = state.layers.utilities
    if utilities is None:
        return None
    ids = utilities.loc[utilities["utility"].isin(["water_supply", "gas"]), "segment_id"]
    return isolation_impact(build_networks(utilities), ids.astype(str).tolist(),
                            state.compounds, state.layers.utility_nodes)


def run_child(checkout: Path, *args: str) -> float:
    """This script's child mode with ``checkout`` on the path; returns its CPU seconds."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], env=env,
                          cwd=checkout, capture_output=True, text=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"child failed in {checkout}:\n{proc.stderr[-4000:]}")
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def frame_differences(name: str, a: Any, b: Any, rtol: float = 1e-9) -> list[str]:
    """What differs between two frames (empty when equal, row by row)."""
    import numpy as np
    import pandas as pd
    import shapely

    if a is None or b is None:
        return [] if a is None and b is None else [f"{name}: one side is None"]
    out = []
    if list(a.columns) != list(b.columns):
        out.append(f"{name}: columns {list(a.columns)} != {list(b.columns)}")
    if len(a) != len(b):
        return [*out, f"{name}: {len(a)} rows != {len(b)} rows"]
    for col in [c for c in a.columns if c in b.columns]:
        x, y = a[col], b[col]
        if str(x.dtype) != str(y.dtype):
            out.append(f"{name}.{col}: dtype {x.dtype} != {y.dtype}")
        if str(x.dtype) == "geometry" or col == "geometry":
            same = shapely.equals_exact(np.asarray(x.array), np.asarray(y.array), tolerance=0)
            same |= pd.isna(np.asarray(x.array, dtype=object)) & pd.isna(
                np.asarray(y.array, dtype=object))
        elif pd.api.types.is_float_dtype(x.dtype) and pd.api.types.is_float_dtype(y.dtype):
            xv, yv = x.to_numpy(float, na_value=np.nan), y.to_numpy(float, na_value=np.nan)
            same = np.isclose(xv, yv, rtol=rtol, atol=0, equal_nan=True)
        else:
            xv, yv = x.astype(object).to_numpy(), y.astype(object).to_numpy()
            na = pd.isna(xv) & pd.isna(yv)
            same = na | np.array([(p == q) is True or bool(p == q) if not (pd.isna(p) or pd.isna(q))
                                  else False for p, q in zip(xv, yv, strict=True)], bool)
        bad = np.flatnonzero(~np.asarray(same, bool))
        if len(bad):
            i = int(bad[0])
            out.append(f"{name}.{col}: {len(bad)} rows differ, first row {i}: "
                       f"{x.iloc[i]!r} != {y.iloc[i]!r}")
    return out


def compare(base_pkl: Path, head_pkl: Path) -> tuple[list[str], dict[str, Any]]:
    """Differences of every output between the two runs, and the outputs' sizes."""
    a = pickle.loads(base_pkl.read_bytes())
    b = pickle.loads(head_pkl.read_bytes())
    diffs: list[str] = []
    for name in OUTPUTS:
        diffs += frame_differences(name, a[name], b[name])
    sizes = {name: (None if b[name] is None else len(b[name])) for name in OUTPUTS}
    return diffs, {"sizes": sizes, "base_cpu": a["cpu"], "head_cpu": b["cpu"]}


SNAPSHOT_LAYERS = {
    "compounds": ["compound_id", "households", "eligible", "items", "package_id", "plan_year",
                  "status"],
    "packages": ["package_id", "plan_year", "items"],
    "utilities": None, "roads": None, "utility_nodes": None,
}


def make_snapshot(folder: Path, base: Path, n: int = 150, seed: int = 3) -> None:
    """Inputs from the base checkout's stages on a sample city, outputs of its stage."""
    import tempfile

    from yulin_gis.sample import make_city, write_city

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_city(make_city(n, seed=seed), Path(tmp) / "city")
        state = Path(tmp) / "state.pkl"
        run_child(base, "--prepare", str(paths["gpkg"]), str(paths["dem"]), str(state))
        write_snapshot(state, folder)
    run_child(base, "--expected", str(folder))
    print(f"wrote the snapshot to {folder}")


def load_snapshot(folder: Path) -> Any:
    """The state before the utilities stage from a snapshot's inputs (as the test does)."""
    import geopandas as gpd

    from yulin_gis.io import Layers
    from yulin_gis.pipeline import PlanOptions, PlanState
    from yulin_gis.profile import load_profile

    frames = {name: gpd.read_parquet(folder / f"in_{name}.parquet") for name in SNAPSHOT_LAYERS}
    layers = Layers(compounds=frames["compounds"], roads=frames["roads"],
                    utilities=frames["utilities"], utility_nodes=frames["utility_nodes"])
    return PlanState(layers, load_profile(None), PlanOptions(), frames["compounds"],
                     packages=frames["packages"])


def write_snapshot(state_pkl: Path, folder: Path) -> None:
    """The inputs of the utilities stage as GeoParquet (the columns it reads)."""
    state = pickle.loads(state_pkl.read_bytes())
    folder.mkdir(parents=True, exist_ok=True)
    layers = {"compounds": state.compounds, "packages": state.packages,
              "utilities": state.layers.utilities, "roads": state.layers.roads,
              "utility_nodes": state.layers.utility_nodes}
    for name, cols in SNAPSHOT_LAYERS.items():
        frame = layers[name]
        keep = [c for c in (cols or frame.columns) if c in frame.columns and c != "geometry"]
        frame[[*keep, frame.geometry.name]].to_parquet(folder / f"in_{name}.parquet")


def expected_child(folder: Path) -> None:
    """Run the stage on a snapshot's inputs; write its outputs and their dtypes."""
    import json

    from yulin_gis.pipeline._stages import utility_stage

    state = utility_stage(load_snapshot(folder))
    out = {"topology": state.topology, "traces": state.extras.get("traces"),
           "pipe_upgrades": state.pipe_upgrades, "joint_trenches": state.joint_trenches,
           "isolation": _isolation_all(state)}
    dtypes = {}
    for name, frame in out.items():
        frame.to_parquet(folder / f"out_{name}.parquet")
        dtypes[name] = {c: str(t) for c, t in frame.dtypes.items()}
    (folder / "dtypes.json").write_text(json.dumps(dtypes, indent=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compounds", type=int, default=5000)
    ap.add_argument("--pipes", type=int, default=50000)
    ap.add_argument("--city", default=None, help="folder with yulin_sample.gpkg and "
                    "yulin_dem.tif (default: generate /tmp/yulin_bench_run_N/city)")
    ap.add_argument("--base", default="/work/main", help="checkout compared against")
    ap.add_argument("--head", default=str(ROOT), help="checkout under test")
    ap.add_argument("--work", default=None, help="where the pickles go")
    ap.add_argument("--child", nargs=2, metavar=("STATE", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--snapshot", default=None, help="write the test snapshot (a 150-compound "
                    "sample city's stage inputs, and the base checkout's outputs) to this folder")
    ap.add_argument("--expected", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--prepare", nargs=3, metavar=("GPKG", "DEM", "STATE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        stage_child(Path(args.child[0]), Path(args.child[1]))
        return
    if args.prepare:
        gpkg, dem, state = args.prepare
        prepare(Path(gpkg), Path(dem) if dem != "-" else None, Path(state))
        return
    if args.expected:
        expected_child(Path(args.expected).resolve())
        return
    if args.snapshot:
        make_snapshot(Path(args.snapshot).resolve(), Path(args.base))
        return
    if args.city:
        city = Path(args.city)
        paths = {"gpkg": city / "yulin_sample.gpkg", "dem": city / "yulin_dem.tif"}
    else:
        paths = make_city(Path(f"/tmp/yulin_bench_run_{args.compounds}/city"), args.compounds,
                          args.pipes)
    work = Path(args.work or paths["gpkg"].parent.parent / "compare_utilities")
    work.mkdir(parents=True, exist_ok=True)
    state = work / "state.pkl"
    if not state.exists() or state.stat().st_mtime < paths["gpkg"].stat().st_mtime:
        print("preparing the state before the utilities stage (base checkout) ...", flush=True)
        run_child(Path(args.base), "--prepare", str(paths["gpkg"]),
                  str(paths["dem"]) if paths["dem"].exists() else "-", str(state))
    base, head = work / "base.pkl", work / "head.pkl"
    run_child(Path(args.base), "--child", str(state), str(base))
    run_child(Path(args.head), "--child", str(state), str(head))
    diffs, info = compare(base, head)
    print(f"rows: {info['sizes']}")
    print(f"utility_stage CPU-s: base {info['base_cpu']:.2f}, head {info['head_cpu']:.2f} "
          f"({info['base_cpu'] / max(info['head_cpu'], 1e-9):.1f}x faster)")
    if diffs:
        print("DIFFERENT:\n  " + "\n  ".join(diffs))
        raise SystemExit(1)
    print("identical: every output frame, row by row")


if __name__ == "__main__":
    main()
