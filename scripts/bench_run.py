"""Whole-run benchmark: ``yulin-gis run`` on a generated city, stage by stage, beside the anchors.

Generates a plain synthetic grid city (:func:`yulin_gis.sample._city.make_city`,
``mode="grid"``) with ``--compounds`` compounds and ``--pipes`` pipe segments, writes it
like the sample (GeoPackage + DEM, :func:`yulin_gis.sample._datasets.write_city`), then runs the
real CLI path in a child process::

    python -m yulin_gis -q run CITY/yulin_sample.gpkg --dem CITY/yulin_dem.tif --out OUT

and reads each stage's wall and CPU seconds from ``OUT/run_manifest.json``
(``stage_seconds``, recorded by the pipeline itself). The child's total CPU comes from
``resource.getrusage(RUSAGE_CHILDREN)`` and its peak RSS from ``ru_maxrss``.

Anchors: for each stage, what the best existing tool pays for that stage's core work,
taken from ``../shared/ANCHORS.md`` (measured on the same kind of machine) and scaled
linearly from the anchor's size to this run's size where they differ (the anchors are
O(N) or O(N log N)); a stage with no comparable tool shows "–". The goal (issue 16): the
whole run at most 1.5× the sum of the anchors. CPU seconds are compared, never wall
seconds: the machine is shared with other jobs.

Usage::

    python scripts/bench_run.py --compounds 100000 --pipes 1000000     # writes benchmarks/run.md
    python scripts/bench_run.py --compounds 10000 --pipes 100000 --out /tmp/run10k.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import header, headline  # noqa: E402

# (anchor description, CPU seconds, size it was measured at: compounds, pipes) — ANCHORS.md
ANCHORS: dict[str, list[tuple[str, float, int, int]]] = {
    "validate": [],
    "survey": [
        ("§2 shapely STRtree dwithin, pipes × compounds (pipe evidence)", 6.8, 100_000, 1_000_000),
        ("§5 rasterize + bincount, footprints", 2.9, 100_000, 0),
        ("§5 rasterize + bincount, 100 m rings (41 groups)", 9.8, 100_000, 0),
        ("§4 STRtree snapping + scipy csgraph Dijkstra, 6 kinds", 1.2 + 0.162, 100_000, 0),
    ],
    "packages": [
        ("§1 graph building (STRtree)", 2.0, 50_000, 0),
        ("§1 pymetis by community", 1.1, 50_000, 0),
    ],
    "plan": [],
    "utilities": [
        ("§2 shapely STRtree dwithin 30 m, pipes × compounds", 6.8, 100_000, 1_000_000),
    ],
    "outputs": [],
    "maps": [
        ("§3 compact-encoding prototype, generate", 0.9, 50_000, 0),
    ],
}


def scaled_anchor(stage: str, n: int, pipes: int) -> tuple[float | None, str]:
    """Sum of a stage's anchors scaled to ``n`` compounds (and ``pipes``), with a note."""
    parts = ANCHORS.get(stage, [])
    if not parts:
        return None, "–"
    total, notes = 0.0, []
    for label, secs, at_n, at_pipes in parts:
        factor = max(n / at_n, pipes / at_pipes if at_pipes else 0.0)
        total += secs * factor
        notes.append(f"{label}: {secs:g} s at {at_n:,}" + (f" × {at_pipes:,}" if at_pipes else "")
                     + (f" (× {factor:.2f})" if abs(factor - 1) > 1e-9 else ""))
    return total, "; ".join(notes)


def make_input(folder: Path, n: int, pipes: int, seed: int) -> dict[str, Path]:
    """Generate and write the city once (kept in ``folder`` for later runs)."""
    from yulin_gis.sample import make_city, write_city

    marker = folder / "bench_run.json"
    want = {"compounds": n, "pipes": pipes, "seed": seed}
    if marker.exists() and json.loads(marker.read_text()) == want:
        return {"gpkg": folder / "yulin_sample.gpkg", "dem": folder / "yulin_dem.tif"}
    if folder.exists():
        shutil.rmtree(folder)
    t0 = time.process_time()
    city = make_city(n, seed, n_pipes=pipes, mode="grid")
    paths = write_city(city, folder, survey=False)
    marker.write_text(json.dumps(want))
    print(f"generated {n:,} compounds, {len(city.utilities):,} pipe segments in "
          f"{time.process_time() - t0:.1f} CPU-s -> {folder}", flush=True)
    return paths


def run_cli(paths: dict[str, Path], out: Path, maps: bool) -> dict[str, Any]:
    """``python -m yulin_gis -q run …`` in a child; stage seconds from its manifest."""
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "yulin_gis", "-q", "run", str(paths["gpkg"]),
           "--dem", str(paths["dem"]), "--out", str(out)] + ([] if maps else ["--no-maps"])
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    return {"cmd": cmd, "wall": wall,
            "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
            "rss_gb": r1.ru_maxrss / 1024**2, "stages": manifest["stage_seconds"]}


def table(res: dict[str, Any], n: int, pipes: int) -> tuple[list[str], float, float]:
    """Markdown rows per stage; returns rows, our CPU total over stages with an anchor, anchors' sum."""
    rows = ["| stage | ours CPU s | ours wall s | anchor CPU s (scaled) | ours ÷ anchor | anchor (ANCHORS.md) |",
            "|---|---|---|---|---|---|"]
    ours_all = anchor_sum = 0.0
    for stage, secs in res["stages"].items():
        anchor, note = scaled_anchor(stage, n, pipes)
        ours_all += secs["cpu_s"]
        ratio = "–"
        if anchor:
            anchor_sum += anchor
            ratio = f"{secs['cpu_s'] / anchor:.2f}"
        rows.append(f"| {stage} | {secs['cpu_s']:.1f} | {secs['wall_s']:.1f} | "
                    f"{'–' if anchor is None else f'{anchor:.1f}'} | {ratio} | {note} |")
    rows.append(f"| **whole run** | **{ours_all:.1f}** | {sum(v['wall_s'] for v in res['stages'].values()):.1f} | "
                f"**{anchor_sum:.1f}** | **{ours_all / anchor_sum:.2f}** | sum of the anchors above |")
    return rows, ours_all, anchor_sum


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compounds", type=int, default=100_000)
    ap.add_argument("--pipes", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None, help="where the city and the run go "
                    "(default /tmp/yulin_bench_run_N)")
    ap.add_argument("--no-maps", action="store_true", help="run with --no-maps")
    ap.add_argument("--out", default="benchmarks/run.md", help="Markdown page written")
    args = ap.parse_args(argv)
    work = Path(args.workdir or f"/tmp/yulin_bench_run_{args.compounds}")
    paths = make_input(work / "city", args.compounds, args.pipes, args.seed)
    res = run_cli(paths, work / "out", maps=not args.no_maps)
    rows, ours, anchors = table(res, args.compounds, args.pipes)
    print("\n".join(rows))
    print(f"child process: {res['cpu']:.1f} CPU-s, {res['wall']:.1f} s wall, peak RSS {res['rss_gb']:.2f} GB")
    command = "python scripts/bench_run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        *header("Whole run: `yulin-gis run` stage by stage (issue 16)", command),
        headline(topic="Whole run, yulin-gis run (issue 16)", metric="CPU-s per stage (one run)",
                 data=f"grid city, {args.compounds:,} compounds × {args.pipes:,} pipes",
                 ours=f"{ours:.1f} (stages), {res['cpu']:.1f} (process)",
                 anchor=f"sum of stage anchors {anchors:.1f}", ratio=f"{ours / anchors:.2f}",
                 goal="≤ 1.5", exact="every input compound once (conservation check in the run)"),
        "",
        (f"Input: a synthetic grid city (`yulin_gis.sample._city.make_city(mode=\"grid\")`), "
         f"{args.compounds:,} compounds, {args.pipes:,} pipe segments, with its DEM, written "
         "like the sample. The run is the real CLI path in a child process: "
         f"`{' '.join(['python -m yulin_gis -q run', 'CITY/yulin_sample.gpkg', '--dem', 'CITY/yulin_dem.tif', '--out', 'OUT'] + (['--no-maps'] if args.no_maps else []))}`; "
         "each stage's seconds come from the run's own manifest (`stage_seconds`)."), "",
        ("Metric: **CPU seconds** of the stage (`time.process_time` inside the run), never "
         "wall time (the machine is shared). Anchors are the ANCHORS.md figures for the "
         "stage's core work, scaled linearly to this size where measured at another size "
         "(noted); stages without a comparable tool show –, and still count on our side of "
         "the whole-run ratio."), "",
        *rows, "",
        (f"Child process in all: {res['cpu']:.1f} CPU-s (incl. start-up and imports), "
         f"{res['wall']:.1f} s wall, peak RSS {res['rss_gb']:.2f} GB."), "",
        (f"Goal (issue 16): whole run ≤ 1.5× the sum of the anchors. This run: "
         f"{ours:.1f} / {anchors:.1f} = **{ours / anchors:.2f}×** — "
         f"{'met' if ours <= 1.5 * anchors else 'not met'}."), "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
