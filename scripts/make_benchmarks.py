"""Assemble BENCHMARKS.md from the pages under benchmarks/ (never edit BENCHMARKS.md by hand).

Each page is written by its own script (``scripts/bench_*.py``) with the command and the
date, and carries a headline comment (:func:`bench_common.headline`). This script reads
them and writes the headline table, one row per page, linking each page. A page without
a headline is listed with its command and flagged, so a stale hand-written page shows.

Usage::

    python scripts/make_benchmarks.py            # writes BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import read_headline

ROOT = Path(__file__).resolve().parents[1]


def _field(text: str, name: str) -> str:
    m = re.search(rf"^{name}: (.+?)\s*$", text, flags=re.MULTILINE)
    return m.group(1).strip() if m else "–"


def build(pages: list[Path]) -> str:
    """The BENCHMARKS.md text for the given pages."""
    lines = [
        "# Benchmarks", "",
        ("Written by `python scripts/make_benchmarks.py` from the pages under `benchmarks/`; "
         "each page is written by its own script (`scripts/bench_*.py`), with its command and "
         "date. Every benchmark runs the anchor from `../shared/ANCHORS.md` beside our code on "
         "the same data in one run where it can (anchors are installed only in the "
         "benchmark's environment, never as runtime dependencies) and compares **CPU "
         "seconds** (the machine's 2 cores are shared with other jobs, so wall seconds are "
         "inflated and not compared). The metric column says how each figure was taken. "
         "Tests never assert timings."), "",
        f"Assembled: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}", "",
        "| topic | metric | data | ours | anchor | ours ÷ anchor | goal | exactness | page date | command |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    missing = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        rel = page.relative_to(ROOT).as_posix()
        command = _field(text, "Command").strip("` ")
        date = _field(text, "Date")
        h = read_headline(text)
        if h is None:
            missing.append(rel)
            title = text.splitlines()[0].lstrip("# ") if text else page.stem
            lines.append(f"| [{title}]({rel}) | – | – | – | – | – | – | – | {date} | `{command}` |")
            continue
        h = {k: str(v).replace("|", "\\|") for k, v in h.items()}  # a "|" would end the cell
        lines.append(f"| [{h['topic']}]({rel}) | {h['metric']} | {h['data']} | {h['ours']} | "
                     f"{h['anchor']} | {h['ratio']} | {h['goal'] or '–'} | {h['exact'] or '–'} | "
                     f"{date} | `{command}` |")
    if missing:
        lines += ["", ("Pages without a headline (not yet written by the current version of "
                       "their script; see the page for its figures): "
                       + ", ".join(f"`{m}`" for m in missing) + ".")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = ap.parse_args(argv)
    order = ["run", "packages", "survey", "overlay", "terrain", "accessibility", "webmap", "engine"]
    pages = sorted((ROOT / "benchmarks").glob("*.md"),
                   key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.stem))
    Path(args.out).write_text(build(pages), encoding="utf-8")
    print(f"wrote {args.out} from {len(pages)} pages")


if __name__ == "__main__":
    main()
