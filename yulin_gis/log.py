"""Logging and progress helpers shared by all modules."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["StageTimer", "configure_logging", "progress"]

T = TypeVar("T")


def configure_logging(verbosity: int = 0) -> None:
    """Send the package's log records to stderr.

    Parameters
    ----------
    verbosity
        ``0`` shows warnings and info, ``>0`` debug, ``<0`` errors only.
    """
    level = logging.INFO if verbosity == 0 else logging.DEBUG if verbosity > 0 else logging.ERROR
    logger = logging.getLogger("yulin_gis")
    logger.setLevel(level)
    if not any(getattr(h, "_yulin_gis", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._yulin_gis = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm progress bar shown only when logging at INFO on a TTY."""
    show = logging.getLogger("yulin_gis").isEnabledFor(logging.INFO) and sys.stderr.isatty()
    if not show:
        yield from iterable
        return
    from tqdm import tqdm

    yield from tqdm(iterable, desc=desc, total=total, leave=False)


class StageTimer:
    """Times the stages of a run (wall and CPU seconds) and shows one progress bar for them.

    The bar (tqdm) appears only when logging at INFO and stderr is a terminal (so never
    under ``-q`` or in a pipe); each stage's time is logged at DEBUG and kept in
    :attr:`seconds` for the run summary and the manifest.

    Parameters
    ----------
    stages
        The stage names expected, in order (for the bar's total).
    """

    def __init__(self, stages: Sequence[str]) -> None:
        self.seconds: dict[str, dict[str, float]] = {}
        self._bar: Any = None
        show = logging.getLogger("yulin_gis").isEnabledFor(logging.INFO) and sys.stderr.isatty()
        if show and stages:
            from tqdm import tqdm

            self._bar = tqdm(total=len(stages), desc="run", unit="stage", leave=False)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Time the block as stage ``name``."""
        if self._bar is not None:
            self._bar.set_description(name)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            took = {"wall_s": round(time.perf_counter() - wall, 3),
                    "cpu_s": round(time.process_time() - cpu, 3)}
            self.seconds[name] = took
            logging.getLogger("yulin_gis.run").debug("stage %s: %.1f s", name, took["wall_s"])
            if self._bar is not None:
                self._bar.update(1)

    def close(self) -> str:
        """Close the bar; return a one-line summary ``stage 1.2 s, …, total 3.4 s``."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        total = sum(v["wall_s"] for v in self.seconds.values())
        parts = [f"{k} {v['wall_s']:.1f} s" for k, v in self.seconds.items()]
        return ", ".join([*parts, f"total {total:.1f} s"])
