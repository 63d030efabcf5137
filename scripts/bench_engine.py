"""Benchmark the country-scale engine: overlay + hazards against the plain per-zone anchor.

On a folder written by ``scripts/make_country.py`` (partitioned GeoParquet), for each size
(the first N cities of the folder) and each engine, in a fresh process:

* ``local`` / ``dask`` (2 worker processes × 1 thread): one
  :func:`yulin_gis.scale._engine.engine_overlay_hazards` call — pairs within 30 m with
  clipped lengths written per partition, per-compound totals, the survey's 5 m pipe-hazard
  evidence; then (timed apart) the survey on the client and
  :func:`yulin_gis.scale._engine.engine_packages` per county;
* ``plain`` — the anchor (ANCHORS.md §2): per zone, read the zone's tiles whole, then
  :func:`~yulin_gis.utilities._upgrades.pipes_near_compounds` and
  :func:`~yulin_gis.survey._hazards.compound_pipe_hazards` once on all of it (no tiles);
* ``local-before`` / ``dask-before`` — the previous implementation (``--baseline``, a
  checkout of main at 0582e1e): ``engine_overlay`` then ``engine_pipe_hazards``.

CPU seconds are user + system of every process involved (client, dask workers); wall
seconds are printed beside them. Results are compared row by row through order-independent
digests of every pair, every compound's totals and hazard evidence and every package
assignment. The page ``benchmarks/engine.md`` is written from the run.

Usage::

    python scripts/make_country.py --out /tmp/yulin_country2
    python scripts/bench_engine.py --folder /tmp/yulin_country2 --cities 4,16 \
        --engines plain,local,dask,local-before --baseline /work/main
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil


class Sampler:
    """Peak RSS per process, sampled in a thread."""

    def __init__(self, pids: dict[str, int], every: float = 0.2) -> None:
        self.pids, self.every = pids, every
        self.peak = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        procs = {name: psutil.Process(pid) for name, pid in self.pids.items()}
        while not self._stop.is_set():
            for name, proc in procs.items():
                with contextlib.suppress(psutil.Error):
                    self.peak[name] = max(self.peak[name], proc.memory_info().rss)
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


SEGMENT_COLS = ("segment_id", "utility", "material", "install_year", "condition", "_row")
PAIR_KEY = ["compound_id", "segment_id", "utility", "distance_m", "length_in_m"]


def _row_hashes(frame: Any, index: bool = False) -> Any:
    """One uint64 per row from every value (floats bit for bit; strings as Python str)."""
    import numpy as np
    import pandas as pd

    plain = frame.reset_index() if index else frame
    plain = plain.astype({c: object for c in plain.columns if not pd.api.types.is_numeric_dtype(plain[c])
                          or pd.api.types.is_bool_dtype(plain[c])})
    return pd.util.hash_pandas_object(plain, index=False).to_numpy(dtype=np.uint64)


def _combine(parts: list[Any]) -> str:
    """Order-independent digest of rows hashed in pieces (sum and xor of the row hashes)."""
    import numpy as np

    total, xor = np.uint64(0), np.uint64(0)
    for h in parts:
        if len(h):
            total = np.uint64(total + h.sum(dtype=np.uint64))
            xor = np.uint64(xor ^ np.bitwise_xor.reduce(h))
    return f"{int(total):016x}{int(xor):016x}"


def _digest(frame: Any, index: bool = False) -> str:
    """Order-independent digest of a frame's rows."""
    return _combine([_row_hashes(frame, index)])


def _pairs_digest(paths: list[Path]) -> tuple[int, str, int]:
    """Pairs count, digest of the pair files (as strings/floats) and their bytes on disk."""
    import pandas as pd

    parts = [_row_hashes(pd.read_parquet(p, columns=PAIR_KEY)) for p in paths]
    return sum(len(h) for h in parts), _combine(parts), sum(p.stat().st_size for p in paths)


def _refs(folder: Path, cities: int) -> tuple[list[Any], dict[str, Any]]:
    from yulin_gis.scale import PartitionRef, read_manifest

    parts = read_manifest(folder)["partitions"]
    refs = [PartitionRef(str(folder), k) for k in sorted(parts)
            if parts[k]["batch"] < cities and parts[k]["n_compounds"]]
    sel = {k: p for k, p in parts.items() if p["batch"] < cities}
    info = {"cities": cities, "partitions": len(refs),
            "compounds": sum(p["n_compounds"] for p in sel.values()),
            "segments": sum(p["n_owned_utilities"] for p in sel.values()),
            "halo_copies": sum(p["n_utilities"] - p["n_owned_utilities"] for p in sel.values())}
    return refs, info


def _start(engine_name: str) -> tuple[Any, dict[str, int]]:
    from yulin_gis.scale import DaskEngine, LocalEngine

    dask = engine_name.startswith("dask")
    engine = DaskEngine(n_workers=2, threads_per_worker=1, memory_limit="6GB") if dask else LocalEngine()
    pids = {"client": os.getpid()}
    if dask:
        for i, (_, pid) in enumerate(sorted(engine.client.run(os.getpid).items())):
            pids[f"worker{i}"] = pid
    return engine, pids


def one(folder: Path, cities: int, engine_name: str) -> dict[str, Any]:
    """One engine on the first ``cities`` batches: overlay + hazards in one call, then the
    survey and the packages; ``*-before`` runs the previous implementation's two calls
    (``engine_overlay`` then ``engine_pipe_hazards``; PYTHONPATH set to its checkout)."""
    import numpy as np

    from yulin_gis.profile import load_profile
    from yulin_gis.scale import engine_overlay, engine_pipe_hazards

    refs, out = _refs(folder, cities)
    out["engine"] = engine_name
    prof = load_profile()
    t = time.perf_counter()
    engine, pids = _start(engine_name)
    out["startup_s"] = time.perf_counter() - t
    with Sampler(pids) as sampler, tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        cpu0, t0 = _cpu(list(pids.values())), time.perf_counter()
        if engine_name.endswith("-before"):
            ov = engine_overlay(refs, engine, 30.0, out_dir=Path(tmp) / "pairs")
            hz = engine_pipe_hazards(refs, prof, engine)
        else:
            from yulin_gis.scale import engine_overlay_hazards

            ov = engine_overlay_hazards(refs, prof, engine, 30.0, out_dir=Path(tmp) / "pairs")
            hz = ov.hazards
        out["call_wall_s"] = time.perf_counter() - t0
        out["call_cpu_s"] = _cpu(list(pids.values())) - cpu0
        out["call_peak_rss_mb"] = {k: round(v / 2**20) for k, v in sampler.peak.items()}
        out["read_cpu_s"] = getattr(ov, "read_cpu_s", None)  # not measured by the previous code
        n, out["pairs_digest"], out["pair_bytes"] = _pairs_digest(ov.paths)
        assert n == ov.n_pairs
        out["pairs"] = ov.n_pairs
        out["hazard_compounds"] = int((hz["hazard_pipes"] > 0).sum())
        out["hazards_digest"] = _digest(hz, index=True)
        out["totals_digest"] = _digest(ov.totals, index=True)
        if not engine_name.endswith("-before"):
            out.update(_survey_packages(folder, cities, refs, engine, pids, hz, prof))
    engine.close()
    out["eligible"] = out.get("eligible", np.nan)
    return out


def _survey_packages(folder: Path, cities: int, refs: list[Any], engine: Any, pids: dict[str, int],
                     hz: Any, prof: Any) -> dict[str, Any]:
    """The survey on the client, then ``engine_packages`` per county (timed apart)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from yulin_gis.io import Layers
    from yulin_gis.scale import engine_packages, read_partitioned
    from yulin_gis.survey import assess_compounds

    out: dict[str, Any] = {}
    cpu0, t = _cpu(list(pids.values())), time.perf_counter()
    comp = read_partitioned(folder, ("compounds",), keys=[r.key for r in refs]).compounds
    surveyed = assess_compounds(Layers(compounds=comp, crs="EPSG:4490"), profile=prof, pipes=hz)
    out["survey_wall_s"] = time.perf_counter() - t
    cpu1, t = _cpu(list(pids.values())), time.perf_counter()
    other = read_partitioned(folder, ("roads", "rivers"), batches=range(cities), keys=[])
    roads, rivers = other.roads, other.rivers
    assert roads is not None and rivers is not None
    barriers = gpd.GeoDataFrame(pd.concat([roads[roads["road_class"] == "arterial"][["geometry"]],
                                           rivers[["geometry"]]], ignore_index=True), crs="EPSG:4490")
    pk = engine_packages(surveyed, engine, by="county", unit="community_id", barriers=barriers,
                         keep_graph=False, min_households=1000, max_households=3000, gap_m=25.0)
    out["packages_wall_s"] = time.perf_counter() - t
    out["survey_cpu_s"], out["packages_cpu_s"] = cpu1 - cpu0, _cpu(list(pids.values())) - cpu1
    out["eligible"] = int(np.asarray(surveyed["eligible"], dtype=bool).sum())
    out["packages"] = len(pk.packages)
    out["packages_digest"] = _digest(pk.assignments[["compound_id", "package_id"]])
    return out


def _zone_layers(folder: Path, keys: list[str], epsg: int) -> tuple[Any, Any]:
    """A zone's compounds and every segment near them, in the zone, each once, input order
    (the tiles' files with their halo copies, which bring the next zone's pipes in); the
    same columns the engine's tasks read."""
    import geopandas as gpd
    import pandas as pd

    comp = pd.concat([gpd.read_parquet(folder / "compounds" / f"{k}.parquet",
                                       columns=["compound_id", "_row", "geometry"]) for k in keys],
                     ignore_index=True).sort_values("_row", kind="stable")
    parts = [gpd.read_parquet(folder / "utilities" / f"{k}.parquet", columns=[*SEGMENT_COLS, "geometry"])
             for k in keys if (folder / "utilities" / f"{k}.parquet").exists()]
    util = pd.concat(parts, ignore_index=True).drop_duplicates("_row").sort_values("_row", kind="stable")
    return (gpd.GeoDataFrame(comp.drop(columns="_row").reset_index(drop=True), crs=epsg),
            gpd.GeoDataFrame(util.drop(columns="_row").reset_index(drop=True), crs=epsg))


def plain(folder: Path, cities: int) -> dict[str, Any]:
    """The anchor: read each zone whole (same columns as the engine reads), then
    ``pipes_near_compounds`` + ``compound_pipe_hazards`` once per zone (no tiles)."""
    import pandas as pd

    from yulin_gis.profile import load_profile
    from yulin_gis.scale import read_manifest
    from yulin_gis.survey import compound_pipe_hazards
    from yulin_gis.utilities import overlay_totals, pipes_near_compounds

    parts = read_manifest(folder)["partitions"]
    zones = sorted({p["epsg"] for p in parts.values() if p["batch"] < cities})
    prof = load_profile()
    _, out = _refs(folder, cities)
    out.update({"engine": "plain", "zones": len(zones)})
    cpu = dict.fromkeys(("read", "overlay", "hazards"), 0.0)
    wall = dict.fromkeys(("read", "overlay", "hazards"), 0.0)
    pair_hashes, hz_hashes, totals = [], [], []
    n_pairs = n_hz = 0

    def clock(step: str, c: float, w: float) -> tuple[float, float]:
        cpu[step] += time.process_time() - c
        wall[step] += time.perf_counter() - w
        return time.process_time(), time.perf_counter()

    with Sampler({"client": os.getpid()}) as sampler:
        for z in zones:
            keys = sorted(k for k, p in parts.items() if p["epsg"] == z and p["batch"] < cities and p["n_compounds"])
            c, w = time.process_time(), time.perf_counter()
            comp, util = _zone_layers(folder, keys, z)
            c, w = clock("read", c, w)
            pairs = pipes_near_compounds(comp, util, distance_m=30.0)
            c, w = clock("overlay", c, w)
            hz = compound_pipe_hazards(comp, util, prof)
            clock("hazards", c, w)
            pair_hashes.append(_row_hashes(pairs[PAIR_KEY]))  # digests apart: RSS stays the anchor's
            hz_hashes.append(_row_hashes(hz, index=True))
            totals.append(overlay_totals(pairs))
            n_pairs += len(pairs)
            n_hz += int((hz["hazard_pipes"] > 0).sum())
            del comp, util, pairs, hz
    for step in cpu:
        out[f"{step}_cpu_s"], out[f"{step}_wall_s"] = cpu[step], wall[step]
    out["call_cpu_s"] = sum(cpu.values())
    out["call_wall_s"] = sum(wall.values())
    out["call_peak_rss_mb"] = {"client": round(sampler.peak["client"] / 2**20)}
    wide = pd.concat(totals).fillna(0.0)
    from yulin_gis.utilities import UTILITY_TYPES

    cols = [u for u in UTILITY_TYPES if u in wide.columns]
    wide = wide[cols + sorted(set(wide.columns) - {*cols, "total"}) + ["total"]].sort_index()
    out.update({"pairs": n_pairs, "pairs_digest": _combine(pair_hashes), "hazard_compounds": n_hz,
                "hazards_digest": _combine(hz_hashes), "totals_digest": _digest(wide, index=True)})
    return out


def _run_one(folder: Path, n: int, name: str, baseline: Path | None) -> dict[str, Any] | None:
    """One engine in a fresh process (the ``*-before`` engines with the baseline checkout)."""
    env = dict(os.environ)
    if name.endswith("-before"):
        if baseline is None:
            raise SystemExit(f"{name} needs --baseline (a checkout of the previous implementation)")
        env["PYTHONPATH"] = str(baseline)
    proc = subprocess.run([sys.executable, __file__, "--one", "--folder", str(folder), "--cities", str(n),
                           "--engines", name], capture_output=True, text=True, check=False, env=env)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
        return None
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["load_avg"] = os.getloadavg()[0]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=Path("/tmp/yulin_country"))
    ap.add_argument("--cities", default="4,16", help="sizes: first N cities, comma-separated")
    ap.add_argument("--engines", default="plain,local,dask,local-before",
                    help="plain (anchor), local, dask, and the previous implementation's "
                         "local-before / dask-before (needs --baseline)")
    ap.add_argument("--baseline", type=Path, help="checkout of the previous implementation (main at 0582e1e)")
    ap.add_argument("--one", action="store_true", help="(internal) one run, JSON on stdout")
    ap.add_argument("--json", type=Path, help="append the results here (JSON lines)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/engine.md"), help="Markdown page written")
    ap.add_argument("--page-from", type=Path, help="only write the page from the JSON lines of one run")
    args = ap.parse_args(argv)
    command = "python scripts/bench_engine.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.page_from:
        lines = args.page_from.read_text(encoding="utf-8").splitlines()
        write_page(args.out, [json.loads(x) for x in lines if x.strip()], command)
        return 0
    if args.one:
        n, name = int(args.cities), args.engines
        print(json.dumps(plain(args.folder, n) if name == "plain" else one(args.folder, n, name)))
        return 0
    print(f"load average before: {os.getloadavg()}  (shared 2-core machine)", flush=True)
    results = []
    for n in [int(c) for c in args.cities.split(",")]:
        for name in args.engines.split(","):
            res = _run_one(args.folder, n, name, args.baseline)
            if res is None:
                continue
            results.append(res)
            print(json.dumps(res), flush=True)
            if args.json:
                with args.json.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(res) + "\n")
    if results:
        write_page(args.out, results, command)
    return 0


def _same(rows: list[dict[str, Any]], key: str) -> str:
    vals = {r[key] for r in rows if key in r}
    return "–" if not vals else ("identical" if len(vals) == 1 else "**DIFFERENT**")


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def _size(r: dict[str, Any]) -> str:
    return f"{r['compounds'] / 1000:.0f}k × {r['segments'] / 1e6:.2f}M"


def _table(results: list[dict[str, Any]]) -> list[str]:
    rows = [("| size | engine | CPU s | wall s | CPU ÷ plain | wall ÷ plain | reading CPU s | "
            "CPU s without reading | ÷ plain without reading | pairs | pair files MB | peak RSS MB |"),
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in sorted({r["cities"] for r in results}):
        base = {r["engine"]: r for r in results if r["cities"] == n}
        pl = base.get("plain")
        for r in base.values():
            read = r.get("read_cpu_s")
            rest = None if read is None else r["call_cpu_s"] - read
            ratio, ratio_rest = "– | –", "–"
            if pl:
                ratio = f"{r['call_cpu_s'] / pl['call_cpu_s']:.2f} | {r['call_wall_s'] / pl['call_wall_s']:.2f}"
                if rest is not None:
                    ratio_rest = f"{rest / (pl['call_cpu_s'] - pl['read_cpu_s']):.2f}"
            mb = f"{r['pair_bytes'] / 1e6:.0f}" if "pair_bytes" in r else "– (in memory)"
            rows.append(f"| {_size(r)} | {r['engine']} | {r['call_cpu_s']:.1f} | {r['call_wall_s']:.1f} | {ratio} | "
                        f"{_num(read)} | {_num(rest)} | {ratio_rest} | {r['pairs']:,} | {mb} | "
                        f"{', '.join(f'{k} {v:,}' for k, v in r['call_peak_rss_mb'].items())} |")
    return rows


def _identity(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for n in sorted({r["cities"] for r in results}):
        rows = [r for r in results if r["cities"] == n]
        engines = ", ".join(r["engine"] for r in rows)
        r0 = rows[0]
        lines.append(
            f"- {_size(r0)} ({engines}): {r0['pairs']:,} pairs — every row (ids, utility, distance, "
            f"clipped length; order-independent digest of each row, floats bit for bit) "
            f"{_same(rows, 'pairs_digest')}; per-compound totals {_same(rows, 'totals_digest')}; "
            f"hazard evidence of every compound (every column) {_same(rows, 'hazards_digest')}, "
            f"{r0['hazard_compounds']:,} compounds with hazardous pipes; packages of every compound "
            f"{_same(rows, 'packages_digest')} ("
            + ", ".join(f"{r['engine']}: {r['packages']:,} packages, {r['eligible']:,} eligible"
                        for r in rows if "packages" in r) + ").")
    return lines


def _headline_fields(results: list[dict[str, Any]]) -> dict[str, str]:
    n = max(r["cities"] for r in results)
    base = {r["engine"]: r for r in results if r["cities"] == n}
    pl = base.get("plain")
    ours = "; ".join(f"{e} {base[e]['call_cpu_s']:.1f} CPU-s ({base[e]['call_wall_s']:.1f} s wall)"
                     for e in ("dask", "local") if e in base)
    ratio = "–"
    if pl:
        ratio = "; ".join(f"{e} {base[e]['call_cpu_s'] / pl['call_cpu_s']:.2f} CPU "
                          f"({base[e]['call_wall_s'] / pl['call_wall_s']:.2f} wall)"
                          for e in ("dask", "local") if e in base)
    rows = list(base.values())
    exact = ("same pairs, totals, hazards and packages row for row in every engine"
             if all(_same(rows, k) in ("identical", "–") for k in
                    ("pairs_digest", "totals_digest", "hazards_digest", "packages_digest"))
             else "DIFFERENT results")
    return {"data": f"{_size(base[next(iter(base))])} ({n} cities)", "ours": ours,
            "anchor": (f"plain per-zone pipes_near_compounds + compound_pipe_hazards incl. its read: "
                       f"{pl['call_cpu_s']:.1f} CPU-s ({pl['call_wall_s']:.1f} s wall)") if pl else "–",
            "ratio": ratio, "exact": exact}


def write_page(path: Path, results: list[dict[str, Any]], command: str) -> None:
    """benchmarks/engine.md from this run's results (every figure from this run)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_common import header, headline

    big = max(results, key=lambda r: r["cities"])
    lines = [*header("Scale-out engine: overlay + hazards vs the plain per-zone anchor (ANCHORS §2, "
                     "issue 16 goal 6)", command),
             headline(topic="Scale-out engine, dask (§2)",
                      metric="CPU s (client + workers) of overlay + hazards incl. reading Parquet, one run",
                      goal="≤ 1.2 (engine ÷ plain, CPU)", **_headline_fields(results)),
             "", "## What is compared", "",
             ("Data: `scripts/make_country.py` — grid cities of 12,500 compounds and 312,500 pipe "
              "segments at four longitudes (one city astride the 109.5°E zone boundary) and four "
              "latitudes, written city by city as partitioned GeoParquet (20 km tiles, 30 m halo). "
              f"The largest size here: {big['compounds']:,} compounds, {big['segments']:,} segments, "
              f"{big['partitions']} partitions with compounds, {big['halo_copies']:,} halo copies of "
              "segments. The first 4 cities lie in 4 zones."),
             "",
             ("- **engine** (`local`, `dask` = LocalCluster of 2 worker processes × 1 thread): one "
              "`engine_overlay_hazards` call — each task reads its partition's Parquet once (the "
              "columns used), runs `pipes_near_compounds` (30 m, clipped lengths) and "
              "`compound_pipe_hazards` (5 m), writes its pairs to Parquet; the client gathers "
              "totals and hazards. CPU = user + system of the client (with dask's scheduler and "
              "nannies) and the workers, from the call's start to its return; cluster start-up "
              "and the workers' imports are outside (`startup_s` in the JSON). The local cluster's "
              "workers run without the dashboard's samplers and with glibc's adaptive malloc "
              "(no `MALLOC_TRIM_THRESHOLD_`; see `DaskEngine`)."),
             ("- **plain** (the anchor, ANCHORS.md §2): per zone, read the zone's tiles whole (same "
              "columns, each segment once), then `pipes_near_compounds` + `compound_pipe_hazards` "
              "once on all its compounds and segments — no tiles, no pairs written."),
             *([("- **local-before**: the previous implementation (main at 0582e1e): `engine_overlay` "
                "then `engine_pipe_hazards`, each reading every partition whole.")]
               if any(r["engine"].endswith("-before") for r in results) else []),
             ("- *reading CPU s*: plain's read step; for the engines the CPU the tasks spent in "
              "`load_partition`. *Without reading* subtracts it on both sides."),
             "", "## Overlay + hazards", "", *_table(results), "",
             "## Identical results", "", *_identity(results), ""]
    sp = [r for r in results if "packages_wall_s" in r]
    if sp:
        lines += ["## Survey and packages (same run, after the call)", "",
                  ("| size | engine | survey wall s | survey CPU s | packages wall s | packages CPU s | "
                  "startup s | load avg |"), "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {_size(r)} | {r['engine']} | {r['survey_wall_s']:.1f} | {r['survey_cpu_s']:.1f} | "
                  f"{r['packages_wall_s']:.1f} | {r['packages_cpu_s']:.1f} | {r['startup_s']:.1f} | "
                  f"{r['load_avg']:.1f} |" for r in sp]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
