"""Benchmark: the utilities stage of ``yulin-gis run`` beside its anchor (ANCHORS.md §2), one process.

Generates the grid city of ``scripts/bench_run.py`` (:func:`yulin_gis.sample.make_city`,
``mode="grid"``; kept in ``/tmp/yulin_bench_run_N/city``), runs the stages before the
utilities once (survey, packages, plan; not timed; the state is cached as a pickle beside
the city), then times in this process, in CPU seconds (``time.process_time``), min of
``--repeat``:

* ours: ``utility_stage`` — what the pipeline calls: ``build_networks``,
  ``topology_report``, ``trace_package``, ``utility_upgrade_plan`` (with the overlay
  ``pipes_near_compounds`` and ``renewal_risk``), ``isolation_impact`` and
  ``joint_trenches`` — on a fresh copy of the state each time;
* the anchor (ANCHORS.md §2): ``shapely.STRtree.query(predicate="dwithin", distance=30)``
  of the compounds against the pipes, then the pipes' lengths totalled per (compound,
  utility) with a pandas ``groupby``.

One more run times each public call on its own (the breakdown table). The page goes to
``benchmarks/utilities.md``.

Usage::

    python scripts/bench_utilities.py                              # 5,000 × 50,000
    python scripts/bench_utilities.py --compounds 20000 --pipes 200000
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import header, headline  # noqa: E402
from bench_run import make_input  # noqa: E402
from compare_utilities import prepare  # noqa: E402


def anchor(state: Any, distance_m: float = 30.0) -> int:
    """STRtree ``dwithin`` pairs and the pipes' lengths per (compound, utility)."""
    import pandas as pd
    import shapely

    pipes = state.layers.utilities
    geoms = pipes.geometry.to_numpy()
    comp = state.compounds
    ci, si = shapely.STRtree(geoms).query(comp.geometry.to_numpy(), predicate="dwithin",
                                          distance=distance_m)
    pairs = pd.DataFrame({"compound_id": comp["compound_id"].to_numpy()[ci],
                          "utility": pipes["utility"].to_numpy()[si],
                          "length_m": shapely.length(geoms)[si]})
    totals = pairs.groupby(["compound_id", "utility"])["length_m"].sum()
    return len(totals)


def ours(state: Any) -> Any:
    """The pipeline's utilities stage."""
    from yulin_gis.pipeline._stages import utility_stage

    return utility_stage(state)


def breakdown(state: Any) -> list[tuple[str, float]]:
    """CPU seconds of each public call of the stage, in the stage's order."""
    from yulin_gis.pipeline._stages import _profile_owners, _with_isolation
    from yulin_gis.utilities import (
        build_networks,
        joint_trenches,
        topology_report,
        trace_package,
        utility_upgrade_plan,
    )

    layers, out = state.layers, []

    def timed(name: str, fn: Any) -> Any:
        t0 = time.process_time()
        res = fn()
        out.append((name, time.process_time() - t0))
        return res

    nets = timed("build_networks", lambda: build_networks(layers.utilities))
    timed("topology_report", lambda: topology_report(nets))
    traces = timed("trace_package", lambda: trace_package(nets, state.packages,
                                                          layers.utility_nodes))
    years = {str(p): int(y) for p, y in zip(state.packages["package_id"],
                                            state.packages["plan_year"], strict=True)
             if str(y).strip() not in {"", "nan", "<NA>"}}
    us = state.profile.x.utilities
    up = timed("utility_upgrade_plan", lambda: utility_upgrade_plan(
        state.compounds, layers.utilities, packages=state.packages, plan_years=years,
        distance_m=state.options.pipe_distance_m, as_of_year=state.profile.survey.as_of_year,
        traces=traces, unit_costs=us.unit_costs, funding_shares=us.funding))
    up = _profile_owners(up, state.profile)
    up = timed("isolation_impact (_with_isolation)", lambda: _with_isolation(up, nets, state))
    timed("joint_trenches", lambda: joint_trenches(up, layers.roads, packages=state.packages,
                                                   compounds=state.compounds))
    return out


def best(fn: Any, state_pkl: Path, repeat: int) -> float:
    """Min CPU seconds of ``fn(state)`` over ``repeat`` fresh states."""
    times = []
    for _ in range(repeat):
        state = pickle.loads(state_pkl.read_bytes())
        t0 = time.process_time()
        fn(state)
        times.append(time.process_time() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compounds", type=int, default=5000)
    ap.add_argument("--pipes", type=int, default=50000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "utilities.md"))
    args = ap.parse_args(argv)
    work = Path(f"/tmp/yulin_bench_run_{args.compounds}")
    paths = make_input(work / "city", args.compounds, args.pipes, args.seed)
    state_pkl = work / "compare_utilities" / "state.pkl"  # shared with compare_utilities.py
    state_pkl.parent.mkdir(parents=True, exist_ok=True)
    if not state_pkl.exists() or state_pkl.stat().st_mtime < paths["gpkg"].stat().st_mtime:
        print("survey, packages and plan once (not timed) ...", flush=True)
        prepare(paths["gpkg"], paths["dem"], state_pkl)
    state = pickle.loads(state_pkl.read_bytes())
    n_up = len(ours(state).pipe_upgrades)  # warm-up (imports), and the sizes
    n_pairs = anchor(state)
    t_ours = best(ours, state_pkl, args.repeat)
    t_anchor = best(anchor, state_pkl, args.repeat)
    parts = breakdown(pickle.loads(state_pkl.read_bytes()))
    ratio = t_ours / t_anchor
    data = (f"grid city, {args.compounds:,} compounds × {len(state.layers.utilities):,} pipes, "
            f"{len(state.packages):,} packages")
    rows = [f"| | CPU s (min of {args.repeat}) | ratio |", "|---|---|---|",
            f"| ours: `utility_stage` ({n_up:,} upgrades) | {t_ours:.2f} | {ratio:.2f} |",
            (f"| anchor: STRtree `dwithin` 30 m + groupby ({n_pairs:,} totals) | {t_anchor:.2f} "
            "| 1.00 |")]
    part_rows = ["| public call | CPU s (one run) |", "|---|---|",
                 *[f"| `{name}` | {secs:.2f} |" for name, secs in parts]]
    print("\n".join([*rows, "", *part_rows]))
    command = "python scripts/bench_utilities.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    lines = [
        *header("Utilities stage (管线改造) beside STRtree dwithin + groupby (issue 16)", command),
        headline(topic="Utilities stage of yulin-gis run (issue 16)",
                 metric=f"CPU-s, min of {args.repeat}", data=data, ours=f"{t_ours:.2f}",
                 anchor=f"{t_anchor:.2f} (STRtree dwithin 30 m + groupby)",
                 ratio=f"{ratio:.2f}",
                 exact="same rows as main 0582e1e (scripts/compare_utilities.py)"),
        "",
        (f"Data: {data} (`make_city(mode=\"grid\")`, seed {args.seed}); the state before the "
        "stage comes from the survey, packages and plan stages, run once and not timed."), "",
        ("Ours is the pipeline's `utility_stage`: networks and topology, traces of every "
        "package, the upgrade plan (overlay, renewal risk, choice per segment), the "
        "households cut off while each water or gas upgrade is isolated, and the joint "
        "trenches. The anchor (ANCHORS.md §2) is only the overlay's core: "
        "`STRtree.query(predicate=\"dwithin\", distance=30)` and the lengths per (compound, "
        "utility). Both run in this process on the same data."), "",
        *rows, "", *part_rows, "",
        ("Results are the same as the main branch's (commit 0582e1e) row by row: "
        "`python scripts/compare_utilities.py --compounds N --pipes M` runs the stage of "
        "both checkouts on one state and compares every frame it produces."), "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
