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
    "group_lines",
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


def group_lines(problems: Iterable[Problem], examples: int = 5) -> list[str]:
    """One line per (severity, code, file, layer, field): count, first row ids, message.

    A problem without a row in a group (a field-level summary) gives the group's message;
    otherwise the first row's message is quoted as the example. Errors come first.
    """
    groups: dict[tuple[str, ...], list[Problem]] = {}
    for p in problems:
        key: tuple[str, ...] = (p.severity, p.code, p.file or "", p.layer or "", p.field or "")
        groups.setdefault(key, []).append(p)
    lines = []
    order = sorted(groups, key=lambda k: (k[0] != "error",))
    for key in order:
        group = groups[key]
        rows = [p.row for p in group if p.row is not None]
        summary = next((p for p in group if p.row is None), None)
        first = summary or group[0]
        where = Problem(first.severity, first.code, "", first.file, first.layer, None,
                        first.field).location()
        head = f"{first.severity.upper()} [{first.code}] {where}: " if where else (
            f"{first.severity.upper()} [{first.code}] ")
        if summary is not None or not rows:
            text = first.message
        elif len(rows) == 1:
            text = f"row {rows[0]}: {first.message}"
        else:
            text = f"e.g. row {rows[0]}: {first.message}"
        if len(rows) > 1 or (rows and summary is not None):
            more = f" (+{len(rows) - examples} more)" if len(rows) > examples else ""
            text += f" — {len(rows)} row(s): {', '.join(rows[:examples])}{more}"
        lines.append(head + text)
    return lines


class ValidationError(YulinGisError, ValueError):
    """Input validation found one or more errors; all of them are in :attr:`problems`."""

    def __init__(self, problems: Iterable[Problem], header: str = "Input validation failed") -> None:
        self.problems: Sequence[Problem] = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"{header}: {len(errors)} error(s)"]
        grouped = group_lines(errors)
        lines += [f"  - {line}" for line in grouped[:50]]
        if len(grouped) > 50:
            lines.append(f"  ... and {len(grouped) - 50} more")
        super().__init__("\n".join(lines))
