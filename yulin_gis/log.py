"""Logging and progress helpers shared by all modules."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["configure_logging", "progress"]

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
