"""Shared bits of the benchmark scripts: the page header and the machine-readable headline.

Every page under ``benchmarks/`` is written by its own script. Each page carries one
headline comment that ``scripts/make_benchmarks.py`` reads to build ``BENCHMARKS.md``::

    <!-- headline: {"topic": "...", "metric": "CPU-s, min of 3", "ours": "...", ...} -->
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from typing import Any

HEADLINE = "<!-- headline: "


def header(title: str, command: str) -> list[str]:
    """Title, command, date and machine lines of a page."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        f"# {title}", "",
        f"Command: `{command.strip()}`  ",
        f"Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}  ",
        (f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (load "
         f"average at the end {load}), Python {platform.python_version()}. Ratios use CPU "
         "seconds measured in the same run (wall seconds are inflated by the other jobs)."),
        "",
    ]


def headline(*, topic: str, metric: str, data: str, ours: str, anchor: str, ratio: str,
             goal: str = "", exact: str = "") -> str:
    """The headline comment of a page (one line of JSON inside an HTML comment)."""
    fields: dict[str, Any] = {"topic": topic, "metric": metric, "data": data, "ours": ours,
                              "anchor": anchor, "ratio": ratio, "goal": goal, "exact": exact}
    return HEADLINE + json.dumps(fields, ensure_ascii=False) + " -->"


def read_headline(text: str) -> dict[str, Any] | None:
    """The headline of a page, or None when it has none."""
    for line in text.splitlines():
        if line.startswith(HEADLINE) and line.endswith("-->"):
            return json.loads(line[len(HEADLINE):-3].strip())
    return None
