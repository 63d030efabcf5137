"""Whole-run benchmark: ``yulin-gis run`` on a generated city, stage by stage, beside anchors
measured in the same run on the same data.

Generates a plain synthetic grid city (:func:`yulin_gis.sample._city.make_city`,
``mode="grid"``) with ``--compounds`` compounds and ``--pipes`` pipe segments, writes it
like the sample (GeoPackage + DEM, :func:`yulin_gis.sample._datasets.write_city`), then runs the
real CLI path in a child process::

    python -m yulin_gis -q run CITY/yulin_sample.gpkg --dem CITY/yulin_dem.tif --out OUT

and reads each stage's wall and CPU seconds from ``OUT/run_manifest.json``
(``stage_seconds``, recorded by the pipeline itself). The child's total CPU and peak RSS
come from ``os.wait4`` (its own rusage).

Anchors: for every stage, what a competent geopandas user pays for that stage's same work
with the best existing tools, measured now, each in a child process of its own on the
same city (and on the run's own outputs for the later stages): see
``scripts/bench_run_anchors.py`` for the definitions. The goal (issue 16): the whole run
at most 1.5× the sum of the anchors. CPU seconds are compared, never wall seconds: the
machine is shared with other jobs. The run's conservation of compounds is checked row by
row: every input ``compound_id`` exactly once in ``plan.gpkg``.

Usage::

    python scripts/bench_run.py --compounds 100000 --pipes 1000000     # writes benchmarks/run.md
    python scripts/bench_run.py --compounds 5000 --pipes 50000 --out /tmp/run5k.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import header, headline  # noqa: E402


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


def child(cmd: list[str]) -> tuple[str, float, float, float]:
    """Run ``cmd`` in a child; its stdout, CPU seconds, wall seconds and peak RSS (GB).

    The child's own rusage comes from ``os.wait4`` (not the sum over every child so far).
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err,
                                text=True)
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd[:5])} … failed ({proc.returncode}):\n{err.read()[-4000:]}")
    return out, ru.ru_utime + ru.ru_stime, wall, ru.ru_maxrss / 1024**2


def run_cli(paths: dict[str, Path], out: Path, maps: bool) -> dict[str, Any]:
    """``python -m yulin_gis -q run …`` in a child; stage seconds from its manifest."""
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "yulin_gis", "-q", "run", str(paths["gpkg"]),
           "--dem", str(paths["dem"]), "--out", str(out)] + ([] if maps else ["--no-maps"])
    _, cpu, wall, rss = child(cmd)
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    return {"cmd": cmd, "wall": wall, "cpu": cpu, "rss_gb": rss,
            "stages": manifest["stage_seconds"], "options": manifest.get("options", {})}


def analysis_crs(gpkg: Path) -> str:
    """The metric CRS the run projects to (CGCS2000 Gauss–Krüger zone of the compounds)."""
    import pyogrio

    from yulin_gis.crs import gauss_kruger_epsg

    comp = pyogrio.read_dataframe(gpkg, layer="compounds", columns=[]).to_crs("EPSG:4490")
    rep = comp.geometry.representative_point()
    return f"EPSG:{gauss_kruger_epsg(float(rep.x.median()), float(rep.y.median()))}"


def _wall(res: dict[str, Any]) -> str:
    return "–" if res.get("wall") is None else f"{res['wall']:.1f} s"


def _number(text: Any, default: float) -> float:
    """A run option from the manifest (strings; "None": the profile's default)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def _profile_gap() -> float:
    from yulin_gis.profile import load_profile

    return float(load_profile().x.packaging.gap_m)


def run_anchors(stages: list[str], paths: dict[str, Path], out: Path, work: Path,
                options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each stage's anchor in a child of its own (``scripts/bench_run_anchors.py``)."""
    crs = analysis_crs(paths["gpkg"])
    res = {}
    for stage in stages:
        scratch = work / "anchors" / stage
        shutil.rmtree(scratch, ignore_errors=True)
        cmd = [sys.executable, str(ROOT / "scripts" / "bench_run_anchors.py"), stage,
               "--city", str(paths["gpkg"].parent), "--run", str(out), "--crs", crs,
               "--work", str(scratch), "--gap-m", str(_number(options.get("gap_m"), _profile_gap())),
               "--pipe-distance-m", str(_number(options.get("pipe_distance_m"), 30.0))]
        stdout, cpu, _, rss = child(cmd)
        row = json.loads(stdout.strip().splitlines()[-1])
        res[stage] = {**row, "child_cpu_s": cpu, "rss_gb": rss}
        print(f"anchor {stage}: {row['cpu_s']:.2f} CPU-s {json.dumps(row['detail'], ensure_ascii=False)}",
              flush=True)
    return res


def conservation(gpkg: Path, out: Path) -> dict[str, Any]:
    """Every input compound exactly once in the run's plan.gpkg, compared row by row."""
    import pyogrio

    cols = ["compound_id"]
    src = pyogrio.read_dataframe(gpkg, layer="compounds", columns=cols, read_geometry=False)
    got = pyogrio.read_dataframe(out / "plan.gpkg", layer="compounds", columns=cols,
                                 read_geometry=False)
    a = src["compound_id"].astype(str).sort_values().to_numpy()
    b = got["compound_id"].astype(str).sort_values().to_numpy()
    same = len(a) == len(b) and bool((a == b).all())
    return {"input": len(a), "output": len(b), "duplicates": int(got["compound_id"].duplicated().sum()),
            "identical": same}


def table(res: dict[str, Any], anchors: dict[str, dict[str, Any]]) -> tuple[list[str], float, float]:
    """Markdown rows per stage; returns rows, our CPU over the stages and the anchors' sum."""
    rows = ["| stage | ours CPU s | ours wall s | anchor CPU s | ours ÷ anchor | anchor measured (same data) |",
            "|---|---|---|---|---|---|"]
    ours_all = anchor_sum = 0.0
    for stage, secs in res["stages"].items():
        anc = anchors.get(stage)
        ours_all += secs["cpu_s"]
        if anc is None:
            rows.append(f"| {stage} | {secs['cpu_s']:.2f} | {secs['wall_s']:.1f} | – | – | no anchor |")
            continue
        anchor_sum += anc["cpu_s"]
        detail = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                           for k, v in anc["detail"].items())
        rows.append(f"| {stage} | {secs['cpu_s']:.2f} | {secs['wall_s']:.1f} | {anc['cpu_s']:.2f} | "
                    f"{secs['cpu_s'] / max(anc['cpu_s'], 1e-9):.2f} | {detail} |")
    rows.append(f"| **whole run** | **{ours_all:.1f}** | {sum(v['wall_s'] for v in res['stages'].values()):.1f} | "
                f"**{anchor_sum:.1f}** | **{ours_all / anchor_sum:.2f}** | sum of the anchors above |")
    return rows, ours_all, anchor_sum


DEFINITIONS = [
    ("- **validate**: `pyogrio.read_dataframe` of every layer of the input GeoPackage, "
    "`shapely.is_valid`, a duplicate-id check (`Series.duplicated`) and `to_crs` to the "
    "metric CRS. Ours also reads values cell by cell (years such as 1998年, 有/无, aliases), "
    "checks ranges, positions, the DEM coverage and links communities."),
    ("- **survey**: shapely `STRtree.query(predicate=\"dwithin\")` pipes × compounds at the "
    "profile's pipe distance; the DEM read, `rasterio.features.rasterize` of all compound ids "
    "once + `np.bincount` (ANCHORS §5) and the profile's rings (buffer minus footprint) "
    "rasterised in non-overlapping groups + `np.bincount`; STRtree snapping "
    "(`query_nearest` + `line_locate_point`) and `scipy.sparse.csgraph.dijkstra(min_only=True, "
    "limit=cutoff)` from one virtual source per facility kind (ANCHORS §4). Ours also assesses "
    "(tiers, items with evidence, priority, cost)."),
    ("- **packages**: STRtree `dwithin` neighbours at the run's gap + pymetis per community "
    "(k = households / 2,000, contiguous) + `GeoDataFrame.dissolve`, on the compounds the run "
    "packaged (ANCHORS §1). Ours also builds reach edges, shape scores and flags."),
    ("- **plan**: the simplest code giving a year per package: the run's packages sorted per "
    "county by priority, households summed with one groupby `cumsum`, a year per equal yearly "
    "share. Ours also splits pre-2000 / 2001–2005 parts, funds optional items, dates and funds."),
    ("- **utilities**: STRtree `dwithin` 30 m pipes × packaged compounds + pipe length summed "
    "per (compound, utility) with a groupby. Ours also traces upstream/downstream networks, "
    "joint trenches and topology."),
    ("- **outputs**: `pyogrio.write_dataframe` of every layer of the run's `plan.gpkg`, "
    "`DataFrame.to_excel(engine=\"xlsxwriter\")` of every sheet of every workbook the run "
    "wrote and `to_csv` of its CSVs (the frames read before the clock starts). Ours also "
    "styles the workbooks officials sign (Chinese headers, 万元, merged titles)."),
    ("- **maps**: one folium page per web page the run wrote (`prefer_canvas=True`, `GeoJson` "
    "of the same layers, coordinates rounded to 6 decimals, `save()`). Ours also draws the "
    "static PNG maps and charts and the summary page."),
]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compounds", type=int, default=100_000)
    ap.add_argument("--pipes", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None, help="where the city and the run go "
                    "(default /tmp/yulin_bench_run_N)")
    ap.add_argument("--no-maps", action="store_true", help="run with --no-maps")
    ap.add_argument("--out", default="benchmarks/run.md", help="Markdown page written")
    ap.add_argument("--reuse-run", action="store_true", help="measure the anchors against "
                    "the run already in WORKDIR/out (its figures saved in WORKDIR/ours.json)")
    args = ap.parse_args(argv)
    work = Path(args.workdir or f"/tmp/yulin_bench_run_{args.compounds}")
    paths = make_input(work / "city", args.compounds, args.pipes, args.seed)
    saved = work / "ours.json"
    if args.reuse_run and saved.exists():
        res = json.loads(saved.read_text(encoding="utf-8"))
        print(f"reusing the run in {work / 'out'} ({saved})")
    else:
        res = run_cli(paths, work / "out", maps=not args.no_maps)
        saved.write_text(json.dumps(res, ensure_ascii=False), encoding="utf-8")
    print(f"ours: {res['cpu']:.1f} CPU-s, peak RSS {res['rss_gb']:.2f} GB; stages "
          + ", ".join(f"{k} {v['cpu_s']:.2f}" for k, v in res["stages"].items()), flush=True)
    same = conservation(paths["gpkg"], work / "out")
    anchors = run_anchors(list(res["stages"]), paths, work / "out", work, res["options"])
    rows, ours, anc = table(res, anchors)
    print("\n".join(rows))
    print(f"child process: {res['cpu']:.1f} CPU-s, {_wall(res)} wall, peak RSS {res['rss_gb']:.2f} GB")
    print(f"conservation: {same}")
    write_page(args, argv, res, anchors, rows, ours, anc, same)


def write_page(args: argparse.Namespace, argv: list[str] | None, res: dict[str, Any],
               anchors: dict[str, dict[str, Any]], rows: list[str], ours: float, anc: float,
               same: dict[str, Any]) -> None:
    """benchmarks/run.md: the table, the anchors' definitions and the headline."""
    command = "python scripts/bench_run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    ok = "yes" if same["identical"] and not same["duplicates"] else "NO"
    run_cmd = ' '.join(['python -m yulin_gis -q run', 'CITY/yulin_sample.gpkg', '--dem',
                        'CITY/yulin_dem.tif', '--out', 'OUT'] + (['--no-maps'] if args.no_maps else []))
    anchor_rss = max(a["rss_gb"] for a in anchors.values())
    lines = [
        *header("Whole run: `yulin-gis run` stage by stage (issue 16)", command),
        headline(topic="Whole run, yulin-gis run (issue 16)", metric="CPU-s per stage (one run)",
                 data=f"grid city, {args.compounds:,} compounds × {args.pipes:,} pipes",
                 ours=f"{ours:.1f} (stages), {res['cpu']:.1f} (process)",
                 anchor=f"sum of stage anchors measured in the run {anc:.1f}",
                 ratio=f"{ours / anc:.2f}", goal="≤ 1.5",
                 exact=f"every input compound once in plan.gpkg (row by row): {ok}"),
        "",
        (f"Input: a synthetic grid city (`yulin_gis.sample._city.make_city(mode=\"grid\")`), "
         f"{args.compounds:,} compounds, {args.pipes:,} pipe segments, with its DEM, written "
         f"like the sample. The run is the real CLI path in a child process: `{run_cmd}`; each "
         "stage's seconds come from the run's own manifest (`stage_seconds`)."), "",
        ("Metric: **CPU seconds** (`time.process_time`, all threads), never wall time (the "
         "machine is shared). Every anchor is measured in this run, on the same city, in a "
         "child process of its own (`scripts/bench_run_anchors.py`); inputs are read and "
         "projected before its clock starts, except for validate whose work is the reading."),
        "",
        *rows, "",
        (f"Our child process in all: {res['cpu']:.1f} CPU-s (incl. start-up, imports and the "
         f"untimed division filling), {_wall(res)} wall, peak RSS {res['rss_gb']:.2f} GB. "
         f"Anchor children: {sum(a['child_cpu_s'] for a in anchors.values()):.1f} CPU-s in all "
         f"(incl. reading their inputs), peak RSS {anchor_rss:.2f} GB."), "",
        (f"Conservation, row by row: {same['input']:,} input compounds, {same['output']:,} "
         f"rows in plan.gpkg, {same['duplicates']} duplicated, same ids: {ok}."), "",
        (f"Goal (issue 16): whole run ≤ 1.5× the sum of the anchors. This run: "
         f"{ours:.1f} / {anc:.1f} = **{ours / anc:.2f}×** — "
         f"{'met' if ours <= 1.5 * anc else 'not met'}."), "",
        "## The anchors", "",
        ("What a competent geopandas user pays for each stage's same work with the best "
        "existing tools:"), "",
        *DEFINITIONS, "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
