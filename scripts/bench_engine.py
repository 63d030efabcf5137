"""Benchmark the country-scale engine end to end: LocalEngine vs a 2-worker DaskEngine.

On a folder written by ``scripts/make_country.py`` (partitioned GeoParquet), for each size
(the first N cities of the folder) and each engine, in a fresh process:

1. overlay — pipe × compound pairs within 30 m with lengths, written per partition
   (:func:`yulin_gis.scale._engine.engine_overlay` with ``out_dir``) + per-compound totals;
2. hazard evidence — :func:`yulin_gis.scale._engine.engine_pipe_hazards` (the survey's 5 m);
3. survey — :func:`yulin_gis.survey._assess.assess_compounds` with that evidence (in the client,
   the same code for both engines, timed apart);
4. packaging — :func:`yulin_gis.scale._engine.engine_packages` per county (arterials and rivers
   as barriers).

Peak memory: RSS of the client and of every worker process, sampled with psutil every
0.2 s. The anchor (ANCHORS.md §2) is the single-machine way: ``--engine plain`` runs
:func:`~yulin_gis.utilities._upgrades.pipes_near_compounds` and
:func:`~yulin_gis.survey._hazards.compound_pipe_hazards` once per zone on all of that zone's
compounds and segments (read whole, no tiles).

Usage::

    python scripts/make_country.py --out /tmp/yulin_country
    python scripts/bench_engine.py --folder /tmp/yulin_country --cities 4,16 --engines plain,local,dask
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


def one(folder: Path, cities: int, engine_name: str) -> dict[str, Any]:
    """Run the steps once with one engine on the first ``cities`` batches; return figures."""
    import numpy as np

    from yulin_gis.io import Layers
    from yulin_gis.profile import load_profile
    from yulin_gis.scale import (
        DaskEngine,
        LocalEngine,
        PartitionRef,
        engine_overlay,
        engine_packages,
        engine_pipe_hazards,
        read_manifest,
        read_partitioned,
    )
    from yulin_gis.survey import assess_compounds

    manifest = read_manifest(folder)
    parts = manifest["partitions"]
    refs = [PartitionRef(str(folder), k) for k in sorted(parts)
            if parts[k]["batch"] < cities and parts[k]["n_compounds"]]
    prof = load_profile()
    out: dict[str, Any] = {"engine": engine_name, "cities": cities, "partitions": len(refs),
                           "compounds": sum(parts[r.key]["n_compounds"] for r in refs),
                           "segments": sum(parts[k]["n_owned_utilities"] for k in parts
                                           if parts[k]["batch"] < cities)}
    t = time.perf_counter()
    engine = (DaskEngine(n_workers=2, threads_per_worker=1, memory_limit="6GB") if engine_name == "dask"
              else LocalEngine())
    out["startup_s"] = time.perf_counter() - t
    pids = {"client": os.getpid()}
    if isinstance(engine, DaskEngine):
        for i, (_, pid) in enumerate(sorted(engine.client.run(os.getpid).items())):
            pids[f"worker{i}"] = pid
    cpu0 = _cpu(list(pids.values()))
    steps: dict[str, float] = {}
    with Sampler(pids) as sampler, tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        t0 = time.perf_counter()
        ov = engine_overlay(refs, engine, 30.0, out_dir=Path(tmp) / "pairs")
        steps["overlay_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        hz = engine_pipe_hazards(refs, prof, engine)
        steps["hazards_s"] = time.perf_counter() - t
        t = time.perf_counter()
        comp = read_partitioned(folder, ("compounds",), keys=[r.key for r in refs]).compounds
        surveyed = assess_compounds(Layers(compounds=comp, crs="EPSG:4490"), profile=prof, pipes=hz)
        steps["survey_s"] = time.perf_counter() - t
        t = time.perf_counter()
        other = read_partitioned(folder, ("roads", "rivers"), batches=range(cities), keys=[])
        roads = other.roads
        assert roads is not None and other.rivers is not None
        import geopandas as gpd
        import pandas as pd

        barriers = gpd.GeoDataFrame(pd.concat([roads[roads["road_class"] == "arterial"][["geometry"]],
                                               other.rivers[["geometry"]]], ignore_index=True),
                                    crs="EPSG:4490")
        pk = engine_packages(surveyed, engine, by="county", unit="community_id", barriers=barriers,
                             keep_graph=False, min_households=1000, max_households=3000, gap_m=25.0)
        steps["packages_s"] = time.perf_counter() - t
        steps["total_s"] = time.perf_counter() - t0
    out.update(steps)
    out["cpu_s"] = _cpu(list(pids.values())) - cpu0
    out["peak_rss_mb"] = {k: round(v / 2**20) for k, v in sampler.peak.items()}
    out["pairs"] = ov.n_pairs
    out["hazard_compounds"] = int((hz["hazard_pipes"] > 0).sum())
    out["eligible"] = int(np.asarray(surveyed["eligible"], dtype=bool).sum())
    out["packages"] = len(pk.packages)
    engine.close()
    return out


def _zone_pipes(folder: Path, keys: list[str]) -> Any:
    """Every segment near the zone's compounds, in the zone: its tiles' files with their
    halo copies (which bring the next zone's pipes in), each segment once."""
    import geopandas as gpd
    import pandas as pd

    parts = [gpd.read_parquet(folder / "utilities" / f"{k}.parquet") for k in keys
             if (folder / "utilities" / f"{k}.parquet").exists()]
    util = pd.concat(parts, ignore_index=True).drop_duplicates("_row").sort_values("_row")
    return gpd.GeoDataFrame(util.drop(columns=["_row", "_owned"]).reset_index(drop=True), crs=parts[0].crs)


def plain(folder: Path, cities: int) -> dict[str, Any]:
    """The anchor: the single-machine functions once per zone on whole layers (no tiles,
    but the zone's pipes include those of the next zone within the halo)."""
    from yulin_gis.io import Layers
    from yulin_gis.profile import load_profile
    from yulin_gis.scale import read_manifest, read_partitioned
    from yulin_gis.survey import compound_pipe_hazards
    from yulin_gis.utilities import pipes_near_compounds

    manifest = read_manifest(folder)
    parts = manifest["partitions"]
    zones = sorted({p["epsg"] for p in parts.values() if p["batch"] < cities})
    prof = load_profile()
    out: dict[str, Any] = {"engine": "plain", "cities": cities, "zones": len(zones), "pairs": 0,
                           "hazard_compounds": 0}
    with Sampler({"client": os.getpid()}) as sampler:
        t_ov = t_hz = t_rd = 0.0
        for z in zones:
            keys = [k for k, p in parts.items() if p["epsg"] == z and p["batch"] < cities]
            t = time.perf_counter()
            comp = read_partitioned(folder, ("compounds",), crs=f"EPSG:{z}", keys=keys).compounds
            util = _zone_pipes(folder, keys)
            lay = Layers(compounds=comp, utilities=util, crs=f"EPSG:{z}")
            t_rd += time.perf_counter() - t
            t = time.perf_counter()
            pairs = pipes_near_compounds(lay.compounds, util, distance_m=30.0)
            t_ov += time.perf_counter() - t
            out["pairs"] += len(pairs)
            del pairs
            t = time.perf_counter()
            hz = compound_pipe_hazards(lay.compounds, util, prof)
            t_hz += time.perf_counter() - t
            out["hazard_compounds"] += int((hz["hazard_pipes"] > 0).sum())
            del lay, hz
    out.update({"read_s": t_rd, "overlay_s": t_ov, "hazards_s": t_hz, "total_s": t_ov + t_hz,
                "peak_rss_mb": {"client": round(sampler.peak["client"] / 2**20)}})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=Path("/tmp/yulin_country"))
    ap.add_argument("--cities", default="4,16", help="sizes: first N cities, comma-separated")
    ap.add_argument("--engines", default="plain,local,dask")
    ap.add_argument("--one", action="store_true", help="(internal) one run, JSON on stdout")
    ap.add_argument("--json", type=Path, help="append the results here (JSON lines)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/engine.md"),
                    help="Markdown page written")
    args = ap.parse_args(argv)
    if args.one:
        n, name = int(args.cities), args.engines
        print(json.dumps(plain(args.folder, n) if name == "plain" else one(args.folder, n, name)))
        return 0
    print(f"load average before: {os.getloadavg()}  (shared 2-core machine)", flush=True)
    results = []
    for n in [int(c) for c in args.cities.split(",")]:
        for name in args.engines.split(","):
            proc = subprocess.run([sys.executable, __file__, "--one", "--folder", str(args.folder),
                                   "--cities", str(n), "--engines", name],
                                  capture_output=True, text=True, check=False)
            if proc.returncode:
                print(proc.stderr[-3000:], file=sys.stderr)
                continue
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            res["load_avg"] = os.getloadavg()[0]
            results.append(res)
            print(json.dumps(res), flush=True)
            if args.json:
                with args.json.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(res) + "\n")
        base = {r["engine"]: r for r in results if r["cities"] == n}
        if "local" in base and "dask" in base:
            loc, dsk = base["local"], base["dask"]
            print(f"cities={n}: dask/local wall {dsk['total_s'] / loc['total_s']:.2f}, "
                  f"overlay {dsk['overlay_s'] / loc['overlay_s']:.2f}, "
                  f"hazards {dsk['hazards_s'] / loc['hazards_s']:.2f}, "
                  f"packages {dsk['packages_s'] / loc['packages_s']:.2f}", flush=True)
        if "plain" in base and "local" in base:
            print(f"cities={n}: local engine / plain (overlay+hazards) "
                  f"{(base['local']['overlay_s'] + base['local']['hazards_s']) / base['plain']['total_s']:.2f}")
    if results:
        write_page(args.out, results, "python scripts/bench_engine.py " + " ".join(
            argv if argv is not None else sys.argv[1:]))
    return 0


def write_page(path: Path, results: list[dict[str, Any]], command: str) -> None:
    """benchmarks/engine.md from this run's results (every figure from this run)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_common import header, headline

    rows = [("| cities | engine | overlay s | hazards s | overlay + hazards s | packages s | pairs | "
            "hazard compounds | peak RSS MB (per process) |"), "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r['cities']} | {r['engine']} | {r.get('overlay_s', 0):.1f} | "
                    f"{r.get('hazards_s', 0):.1f} | {r.get('overlay_s', 0) + r.get('hazards_s', 0):.1f} | "
                    f"{r.get('packages_s', float('nan')):.1f} | {r['pairs']:,} | {r['hazard_compounds']:,} | "
                    f"{r.get('peak_rss_mb', {})} |")
    ratios = []
    ratios_same = "–"
    for n in sorted({r["cities"] for r in results}):
        base = {r["engine"]: r for r in results if r["cities"] == n}
        if "plain" in base and "dask" in base:
            d = base["dask"]
            ratios.append(f"{n} cities: {(d['overlay_s'] + d['hazards_s']) / base['plain']['total_s']:.2f}")
        same = {(r["pairs"], r["hazard_compounds"]) for r in base.values()}
        ratios_same = "same pairs and hazard compounds in every engine" if len(same) == 1 else "DIFFERENT results"
    lines = [*header("Scale-out engine: benchmark (ANCHORS §2, issue 8)", command),
             headline(topic="Scale-out engine, dask (§2)", metric="wall s of overlay + hazards, one run",
                      data=", ".join(f"{r['cities']} cities" for r in results if r["engine"] == "plain"),
                      ours="see table", anchor="plain per-zone STRtree (overlay + hazards)",
                      ratio="; ".join(ratios) or "–", goal="≤ 1.2 (dask ÷ plain)",
                      exact=ratios_same),
             "", ("Overlay and hazards per engine, seconds as measured by the engines' own step "
                  "timers (wall; the engines run worker processes, so process CPU time of one "
                  "process is not comparable)."), "", *rows, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
