"""The conservation check and the run manifest.

Every input compound must appear in the output ``compounds`` layer exactly once, either
used (with its package and plan year) or with the reason it was excluded. The check runs
at the end of every command; failing it is an error, never a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yulin_gis.errors import ConservationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_conservation", "file_sha256", "write_manifest"]

logger = logging.getLogger(__name__)


def check_conservation(input_ids: Iterable[str], compounds: pd.DataFrame,
                       used_statuses: Collection[str] = ("planned",),
                       reason_fields: tuple[str, ...] = ("exclusion_reason",)) -> None:
    """Raise :class:`ConservationError` unless every input id appears exactly once.

    Parameters
    ----------
    input_ids
        The ``compound_id`` of every input compound.
    compounds
        The output compounds table; must hold ``compound_id`` and ``status``.
    used_statuses
        Statuses of compounds that went all the way through the stages that ran; every
        other compound must carry a reason.
    reason_fields
        Fields of which at least one must be non-blank for a compound whose status is
        not in ``used_statuses`` (its exclusion reason).
    """
    wanted = list(input_ids)
    out_ids = compounds["compound_id"].astype(str)
    counts = out_ids.value_counts()
    problems = []
    missing = sorted(set(map(str, wanted)) - set(counts.index))
    if missing:
        problems.append(f"{len(missing)} input compound(s) missing from the output: "
                        f"{', '.join(missing[:20])}")
    dupes = sorted(counts[counts > 1].index)
    if dupes:
        problems.append(f"{len(dupes)} compound(s) appear more than once: {', '.join(dupes[:20])}")
    extra = sorted(set(counts.index) - set(map(str, wanted)))
    if extra:
        problems.append(f"{len(extra)} output compound(s) not in the input: {', '.join(extra[:20])}")
    if "status" not in compounds.columns or compounds["status"].isna().any():
        problems.append("some output compounds have no status")
    else:
        used = compounds["status"].isin(list(used_statuses))
        present = [f for f in reason_fields if f in compounds.columns]
        if present:
            reasons = compounds[present].fillna("").astype(str).agg("".join, axis=1)
            unexplained = compounds.loc[~used & (reasons.str.strip() == ""), "compound_id"]
            if len(unexplained):
                problems.append(f"{len(unexplained)} compound(s) not used and without a "
                                f"reason: {', '.join(unexplained.astype(str)[:20])}")
    if problems:
        raise ConservationError("conservation check failed: " + "; ".join(problems))
    logger.info("conservation check passed: %d compounds, each exactly once", len(wanted))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("yulin_gis", "geopandas", "shapely", "pyogrio", "pyproj", "rasterio",
                "networkx", "folium", "numpy", "pandas"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_manifest(out_dir: Path, inputs: Iterable[Path], options: Mapping[str, Any],
                    outputs: Iterable[Path], *, notes: Iterable[str] = (),
                    timings: Mapping[str, Mapping[str, float]] | None = None) -> Path:
    """Write ``run_manifest.json`` last, so its presence marks a complete run.

    It records the inputs' hashes, the options, library versions, what could not be
    computed (``notes``), the wall and CPU seconds of each stage (``timings``) and the
    outputs' hashes, so a run can be reproduced and a partial run detected. Output paths
    are relative to ``out_dir`` (POSIX separators), so the folder can be moved or zipped.
    """
    import os

    from yulin_gis.io import atomic_path

    def describe(path: Path, relative: bool = False) -> dict[str, Any]:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        return {(Path(os.path.relpath(p.resolve(), out_dir.resolve())).as_posix() if relative
                 else str(p)): {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
                for p in files}

    manifest = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.items()},
        "versions": _versions(),
        "inputs": {k: v for p in inputs for k, v in describe(Path(p)).items()},
        "notes": list(notes),
        "outputs": {k: v for p in outputs for k, v in describe(Path(p), True).items()},
        "stage_seconds": {k: dict(v) for k, v in (timings or {}).items()},
    }
    target = out_dir / "run_manifest.json"
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str),
                       encoding="utf-8")
    return target
