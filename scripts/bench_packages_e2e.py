"""The whole ``make_packages`` call against the anchor pipeline, and the row-by-row check.

Used by ``scripts/bench_packages.py`` (issue 16):

* **end to end**: ``make_packages`` (neighbour graph, reach edges, solve, package
  polygons, Polsby–Popper, flags) against what a pymetis user pays for the same job in
  one process on the same layout: ``shapely.STRtree.query(predicate="dwithin")``
  neighbours, pymetis per community (k = households / 2,000, contiguous, ufactor 500)
  and ``GeoDataFrame.dissolve`` for the package polygons. CPU seconds
  (``time.process_time``), the minimum of N repeats, both sides alternating.
* **same packages**: the current code against the reference implementation (the
  modules at :data:`reference_impl.REFERENCE_COMMIT`, before the speed-ups), compared
  row by row: every compound's package id and reason, every package's row (totals,
  flags, compactness) and its polygon (``equals_exact``, tolerance 0).
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely
from bench_common import headline
from bench_packages import GAP_M, make_layout, run_pymetis

from yulin_gis.packaging import make_packages


def anchor_pipeline(g: Any) -> Any:
    """STRtree neighbours + pymetis per community + dissolve (the pymetis user's whole job)."""
    geoms = np.asarray(g.geometry.values)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=GAP_M)
    keep = left < right
    comm = pd.factorize(g["community_id"])[0]
    label = run_pymetis(g, left[keep], right[keep], comm, None)
    return g[["households", "geometry"]].assign(label=label).dissolve("label", aggfunc="sum")


def _cpu(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    c0 = time.process_time()
    out = fn(*args, **kw)
    return out, time.process_time() - c0


def end_to_end(sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    """Min-of-N CPU seconds of the anchor pipeline and of make_packages per size."""
    rows = []
    small = make_layout(400)
    anchor_pipeline(small)
    make_packages(small, gap_m=GAP_M, absorb_gap_m=60.0)
    for n in sizes:
        g = make_layout(n)
        a_t, o_t = [], []
        for _ in range(repeats):
            anc, t = _cpu(anchor_pipeline, g)
            a_t.append(t)
            res, t = _cpu(make_packages, g, gap_m=GAP_M, absorb_gap_m=60.0)
            o_t.append(t)
        row = {"N": len(g), "anchor": min(a_t), "ours": min(o_t), "anchor_all": a_t, "ours_all": o_t,
               "anchor_packages": len(anc), "packages": res.summary["n_packages"],
               "solve": res.summary["solve_seconds"], "flagged": res.summary["n_flagged"]}
        rows.append(row)
        print(f"e2e N={n:,}: anchor {row['anchor']:.2f} CPU-s, make_packages {row['ours']:.2f} "
              f"CPU-s, ratio {row['ours'] / row['anchor']:.2f}", flush=True)
    return rows


def compare_reference(sizes: list[int]) -> list[dict[str, Any]]:
    """Current make_packages against the reference commit, row by row."""
    from reference_impl import REFERENCE_COMMIT, load_reference

    if not sizes:
        return []
    ref = load_reference(["adjacency", "packages"])["packages"]
    out = []
    for n in sizes:
        g = make_layout(n)
        g["eligible"] = np.arange(len(g)) % 9 != 0  # some not eligible
        (a, ta), (b, tb) = _cpu(ref.make_packages, g, gap_m=GAP_M), _cpu(make_packages, g, gap_m=GAP_M)
        ids_same = bool(a.assignments.equals(b.assignments))
        table_same = bool(a.packages.drop(columns="geometry").equals(b.packages.drop(columns="geometry")))
        geom_same = bool(shapely.equals_exact(a.packages.geometry.values, b.packages.geometry.values, 0).all())
        row = {"N": len(g), "commit": REFERENCE_COMMIT[:10], "compounds": len(b.assignments),
               "packages": len(b.packages), "ids": ids_same, "table": table_same, "geom": geom_same,
               "ref_cpu": ta, "cpu": tb}
        out.append(row)
        print(f"reference N={n:,}: assignments identical {ids_same}, package rows {table_same}, "
              f"polygons {geom_same}; CPU {ta:.2f} -> {tb:.2f} s", flush=True)
    return out


def e2e_markdown(e2e: list[dict[str, Any]], same: list[dict[str, Any]], command: str,
                 total: float) -> str:
    """The top of benchmarks/packages.md: whole call vs anchor, and the reference check."""
    ok = [r for r in same if r["ids"] and r["table"] and r["geom"]]
    checked = ", ".join(f"{r['N']:,}" for r in same)
    lines = [
        "# Packaging benchmark (ANCHORS §1, issue 16)", "",
        headline(
            topic="Packaging, whole make_packages call (§1)",
            metric=f"CPU-s, min of {len(e2e[0]['ours_all']) if e2e else 0}",
            data="synthetic block city, " + ", ".join(f"{r['N']:,}" for r in e2e) + " compounds",
            ours="; ".join(f"{r['N'] // 1000}k: {r['ours']:.2f}" for r in e2e),
            anchor="STRtree + pymetis per community + dissolve: "
                   + "; ".join(f"{r['N'] // 1000}k: {r['anchor']:.2f}" for r in e2e),
            ratio="; ".join(f"{r['N'] // 1000}k: {r['ours'] / r['anchor']:.2f}" for r in e2e),
            goal="≤ 1.5",
            exact=(f"same packages as before the speed-ups at {checked} "
                   f"(row by row): {'yes' if len(ok) == len(same) else 'NO'}; 0 over ceiling, "
                   "0 non-contiguous") if same else ""),
        f"Command: `{command}`  ",
        f"Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}  ",
        (f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (load "
         f"average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}), Python "
         f"{platform.python_version()}; whole script {total:.0f} s wall."), "",
        "## Whole `make_packages` call against the anchor pipeline", "",
        ("Synthetic block city of ANCHORS §1 (communities of ~250 compounds). Ours: the public "
         "call `make_packages(g, gap_m=21, absorb_gap_m=60)` — neighbour graph, reach edges, "
         "solve, package polygons, Polsby–Popper (10 m closing), flags. Anchor: STRtree "
         "`dwithin` 21 m neighbours + pymetis per community + `GeoDataFrame.dissolve`. "
         "**Metric: CPU seconds (`time.process_time`), minimum of "
         f"{len(e2e[0]['ours_all']) if e2e else 0} alternating repeats**, one process, same data."),
        "",
        "| N | anchor CPU s | make_packages CPU s | ours ÷ anchor | goal | packages (ours / pymetis) | flagged | all repeats (anchor / ours) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in e2e:
        ratio = r["ours"] / r["anchor"]
        lines.append(
            f"| {r['N']:,} | {r['anchor']:.2f} | {r['ours']:.2f} | **{ratio:.2f}** | "
            f"≤ 1.5 {'met' if ratio <= 1.5 else 'not met'} | {r['packages']:,} / {r['anchor_packages']:,} | "
            f"{r['flagged']} | {', '.join(f'{x:.2f}' for x in r['anchor_all'])} / "
            f"{', '.join(f'{x:.2f}' for x in r['ours_all'])} |")
    if same:
        lines += [
            "", "## Same packages as before the speed-ups", "",
            ("The reference is `make_packages` as it was at commit "
             f"`{same[0]['commit']}` (loaded from git by `scripts/reference_impl.py`, never "
             "copied into the package); every 9th compound not eligible. Compared row by row: "
             "assignments (every compound's package id and reason), package rows (totals, "
             "priority, flags, compactness) and polygons (`equals_exact`, tolerance 0)."), "",
            "| N | compounds | packages | assignments identical | package rows identical | polygons identical | CPU s before → now |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in same:
            yn = {True: "yes", False: "**no**"}
            lines.append(f"| {r['N']:,} | {r['compounds']:,} | {r['packages']:,} | {yn[r['ids']]} | "
                         f"{yn[r['table']]} | {yn[r['geom']]} | {r['ref_cpu']:.2f} → {r['cpu']:.2f} |")
    return "\n".join(lines) + "\n"
