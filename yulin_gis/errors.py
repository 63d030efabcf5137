"""The error family of yulin_gis.

Every error raised on purpose by the toolkit derives from :class:`YulinGisError`, and each
subclass also inherits the matching built-in exception, so callers can catch either
``yulin_gis.SchemaError`` or plain ``ValueError``.

Problems found while reading or validating input are collected as :class:`Problem`
records first and raised once, together, as :class:`ValidationError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "CRSError",
    "ConservationError",
    "DatabaseError",
    "InputFileError",
    "OutputError",
    "Problem",
    "ProfileError",
    "SchemaError",
    "ValidationError",
    "YulinGisError",
]

Severity = Literal["error", "warning"]


class YulinGisError(Exception):
    """Root of all errors raised by yulin_gis on purpose."""


class SchemaError(YulinGisError, ValueError):
    """A layer lacks a required field, or holds values that cannot be used."""


class InputFileError(YulinGisError, OSError):
    """An input file is missing, unreadable, truncated or of an unknown type."""


class CRSError(YulinGisError, ValueError):
    """A coordinate reference system is missing, unknown or contradicts the coordinates."""


class ProfileError(YulinGisError, ValueError):
    """The policy profile (政策配置) is missing a key, mistyped or contradictory."""


class OutputError(YulinGisError, OSError):
    """An output could not be written (folder not writable, disk full, ...)."""


class DatabaseError(YulinGisError, OSError):
    """A PostgreSQL/PostGIS database cannot be reached, logged into or used (names host:port)."""


class ConservationError(YulinGisError, AssertionError):
    """An input compound is missing from, or duplicated in, the outputs."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in the input, located as precisely as possible.

    Parameters
    ----------
    severity
        ``"error"`` (the run cannot go on) or ``"warning"`` (repaired or only reported).
    code
        A short stable identifier such as ``"missing-field"`` or ``"duplicate-id"``.
    message
        A sentence a planner can act on.
    file, layer, row, field
        Where the problem is: the file path, the layer name, the row's id (or its
        1-based row number when there is no id) and the field name.
    """

    severity: Severity
    code: str
    message: str
    file: str | None = None
    layer: str | None = None
    row: str | None = None
    field: str | None = None

    def location(self) -> str:
        """Return ``file › layer › row › field`` with the parts that are known."""
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.layer:
            parts.append(f"layer {self.layer}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field:
            parts.append(f"field {self.field}")
        return " › ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{self.severity.upper()} [{self.code}] {where}: {self.message}" if where else (
            f"{self.severity.upper()} [{self.code}] {self.message}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-serialisable dict."""
        return asdict(self)


class ValidationError(YulinGisError, ValueError):
    """Input validation found one or more errors; all of them are in :attr:`problems`."""

    def __init__(self, problems: Iterable[Problem], header: str = "Input validation failed") -> None:
        self.problems: Sequence[Problem] = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"{header}: {len(errors)} error(s)"]
        from yulin_gis.io import group_lines  # one line per field and problem

        grouped = group_lines(errors)
        lines += [f"  - {line}" for line in grouped[:50]]
        if len(grouped) > 50:
            lines.append(f"  ... and {len(grouped) - 50} more")
        super().__init__("\n".join(lines))
