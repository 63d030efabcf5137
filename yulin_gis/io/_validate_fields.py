"""Field values of the validation stage: reading, range checks and repair summaries (字段校验).

Helpers of :mod:`yulin_gis.io._validate` that read one field of a layer value by value with
the parsers of :mod:`yulin_gis.io._values` (years such as "1998年", numbers such as "1,200",
有/无 as true/false, vocabulary spellings and aliases), check each value's plausible
range, and collect every problem with its file, layer, row and field. Unreadable values
of the critical fields are errors; every other field degrades to unknown (未知, NULL) with
a warning, summarised once per field and kind of repair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from yulin_gis.errors import Problem
from yulin_gis.io import _values as parse

if TYPE_CHECKING:
    import pandas as pd

    from yulin_gis.io._schema import FieldSpec


_PARSERS = {
    "str": parse.parse_str, "int": parse.parse_int, "float": parse.parse_float,
    "bool": parse.parse_bool, "year": parse.parse_year, "ratio": parse.parse_ratio,
}



_MAX_EXAMPLES = 5



class _Collector:
    """Collects problems for one layer, with the location filled in."""

    def __init__(self, source: str, layer: str, problems: list[Problem]) -> None:
        self.source, self.layer, self.problems = source, layer, problems

    def add(self, severity: str, code: str, message: str, row: object = None,
            fld: str | None = None) -> None:
        self.problems.append(Problem(severity, code, message, self.source, self.layer,  # type: ignore[arg-type]
                                     None if row is None else str(row), fld))



#: Fields whose unreadable or out-of-range values stop a run: identity, position and
#: eligibility. Every other field degrades to NULL with a warning.
CRITICAL_FIELDS = frozenset({"name", "lon", "lat", "built_year", "urban_village", "self_built",
                             "renovated_year", "utility", "role"})
#: Vocabularies an unknown spelling cannot be read in (they decide which network a pipe
#: belongs to); every other vocabulary is open: an unknown spelling becomes ``other``.
CLOSED_VOCABULARIES = frozenset({"utility", "node_role"})
#: Required fields whose unknown value makes a compound 待核实 instead of an error.
VERIFY_WHEN_UNKNOWN = {"built_year": "建成年份不详 / built year unknown",
                       "households": "户数不详且无法估算 / households unknown"}


def _parse_field(values: pd.Series, fs: FieldSpec, labels: list[str], col: _Collector,
                 this_year: int, aliases: Mapping[str, str] | None = None) -> list[Any]:
    """Read one field value by value; problems go to ``col`` in row order.

    Each distinct value (same type and value) is read and range-checked once; its value,
    problems and repair tallies are then replayed for every row holding it.
    """
    mapped: list[str] = []
    holders: dict[str, int] = defaultdict(int)
    unknown: dict[str, int] = defaultdict(int)
    raws = values.tolist()
    codes, firsts = _typed_codes(values) or _distinct(raws)
    plain = _plain_text if fs.kind == "str" else _no_shortcut
    outcomes = [plain(raws[i]) or _read_value(raws[i], fs, this_year, aliases) for i in firsts]
    read = np.empty(len(outcomes), dtype=object)
    read[:] = [o[0] for o in outcomes]
    parsed = read[codes].tolist()
    replay = [bool(o[1]) or o[2] is not None for o in outcomes]
    name = fs.name
    for row in (np.flatnonzero(np.asarray(replay)[codes]) if any(replay) else ()):
        _, events, tally, text = outcomes[codes[row]]
        label = labels[row]
        for severity, code, message in events:
            col.add(severity, code, message, label, name)
        if tally == "holder":
            holders[text] += 1
        elif tally == "unknown":
            unknown[text] += 1
        elif tally == "mapped":
            mapped.append(f"{label}: {text}")
    _summaries(fs, col, mapped, holders, unknown)
    return parsed


#: What reading one value gives: the value, its problems (severity, code, message) in
#: order, the repair it counts towards ("holder", "unknown", "mapped" or None) and its text.
_Outcome = tuple[Any, tuple[tuple[str, str, str], ...], str | None, str]


def _typed_codes(values: pd.Series) -> tuple[np.ndarray, list[int]] | None:
    """Codes of the distinct values of a typed column (numbers, booleans, text), else None.

    In such a column equal values have one type, so ``pandas.factorize`` (missing values
    their own code) tells apart what the parsers may read differently, except 0.0 and -0.0:
    float columns holding a zero are left to :func:`_distinct`.
    """
    import pandas as pd

    kind = getattr(values.dtype, "kind", "O")
    if kind == "f" and bool((values == 0).fillna(False).any()):
        return None
    if kind not in "iubf" and not isinstance(values.dtype, pd.StringDtype):
        return None
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes, list(_first_rows(codes, len(uniques)))


def _distinct(raws: list[Any]) -> tuple[list[int], list[int]]:
    """Codes of the distinct values (same type and value) and the first row of each.

    Values that compare equal but may read differently (0.0 and -0.0) or cannot be hashed
    are told apart by a key per value, or not shared at all.
    """
    first: dict[Any, int] = {}
    try:
        codes = [first.setdefault(k, len(first)) for k in zip(map(type, raws), raws, strict=True)]
        if not any(isinstance(k[1], float) and k[1] == 0.0 for k in first):
            return codes, list(_first_rows(codes, len(first)))
    except TypeError:  # an unhashable value
        pass
    first.clear()
    codes = []
    for i, raw in enumerate(raws):
        key = _value_key(raw, i)
        codes.append(first.setdefault(key, len(first)))
    return codes, list(_first_rows(codes, len(first)))


def _first_rows(codes: Any, n: int) -> np.ndarray:
    """The first row holding each of the ``n`` codes (codes numbered in order of appearance)."""
    arr = np.asarray(codes, dtype=np.int64)
    out = np.full(n, len(arr), dtype=np.int64)
    np.minimum.at(out, arr, np.arange(len(arr)))
    return out


def _value_key(raw: Any, row: int) -> Any:
    """A key telling apart every value the parsers may read differently."""
    cls = type(raw)
    if cls is float and raw == 0.0:
        return (cls, raw, str(raw))  # 0.0 and -0.0 compare equal
    try:
        hash(raw)
    except TypeError:
        return ("row", row)  # not shared
    return (cls, raw)


def _no_shortcut(raw: Any) -> None:
    return None


def plain_str(raw: Any) -> str | None:
    """A plain ASCII text value (not blank, no placeholder) trimmed, else None.

    What :func:`yulin_gis.io._values.parse_str` gives such a value (NFKC leaves ASCII as
    is), without its per-value checks: the common case of ids and codes.
    """
    if type(raw) is not str or not raw.isascii():
        return None
    text = raw.strip()
    if not text or text.lower().replace(" ", "") in parse.PLACEHOLDERS:
        return None
    return text


def _plain_text(raw: Any) -> _Outcome | None:
    """The outcome of a :func:`plain_str` value of a text field (nothing to report), else None."""
    text = plain_str(raw)
    return None if text is None else (text, (), None, "")


class _Events(_Collector):
    """A collector recording (severity, code, message) only: the row is added on replay."""

    def __init__(self) -> None:
        super().__init__("", "", [])
        self.events: list[tuple[str, str, str]] = []

    def add(self, severity: str, code: str, message: str, row: object = None,
            fld: str | None = None) -> None:
        self.events.append((severity, code, message))


def _read_value(raw: Any, fs: FieldSpec, this_year: int,
                aliases: Mapping[str, str] | None) -> _Outcome:
    """Read and range-check one value of a field, independent of its row."""
    critical = fs.name in CRITICAL_FIELDS
    vocab = fs.vocabulary or ""
    rec = _Events()
    tally: str | None = None
    text = ""
    value: Any
    if fs.kind == "category":
        value, note = parse.parse_category(raw, vocab, aliases)
    else:
        value, note = _PARSERS[fs.kind](raw)
    if note == "placeholder" and fs.required and fs.name not in VERIFY_WHEN_UNKNOWN:
        rec.add("error", "missing-value", f"required value is a placeholder ({raw!r})")
    elif note == "placeholder":
        tally, text = "holder", str(raw).strip()
        rec.add("warning", "placeholder", f"{raw!r} read as unknown (未知, NULL)")
    elif note == "invalid" and fs.kind == "category" and vocab not in CLOSED_VOCABULARIES:
        value = "other" if "other" in parse.VOCABULARIES[vocab] else None
        tally, text = "unknown", str(raw).strip()
        rec.add("warning", "unknown-value", f"{raw!r} read as {value or 'unknown'}")
    elif note == "invalid":
        expected = f"one of {', '.join(parse.VOCABULARIES[vocab])}" if vocab else f"a {fs.kind}"
        rec.add("error" if critical else "warning", "bad-value",
                f"cannot read {raw!r} as {expected}" + ("" if critical else
                                                        ": read as unknown (NULL)"))
    elif value is None and fs.required and fs.name not in VERIFY_WHEN_UNKNOWN:
        rec.add("error", "missing-value", "required value is blank")
    elif note == "mapped":
        tally, text = "mapped", f"{raw!r} → {value!r}"
    if value is not None and note != "invalid" and not _in_range(
            value, fs, "", rec, this_year, critical):
        value = None
    return value, tuple(rec.events), tally, text


def _counted(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k!r} ×{n}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _summaries(fs: FieldSpec, col: _Collector, mapped: list[str], holders: Mapping[str, int],
               unknown: Mapping[str, int]) -> None:
    """One warning per field and kind of repair (the rows are listed separately)."""
    if mapped:
        more = f" (+{len(mapped) - _MAX_EXAMPLES} more)" if len(mapped) > _MAX_EXAMPLES else ""
        col.add("warning", "value-mapped",
                f"{len(mapped)} value(s) interpreted from text: "
                f"{'; '.join(mapped[:_MAX_EXAMPLES])}{more}", fld=fs.name)
    if holders:
        col.add("warning", "placeholder", f"{sum(holders.values())} placeholder(s) read as "
                f"unknown (未知, NULL): {_counted(holders)}", fld=fs.name)
    if unknown:
        vocab = fs.vocabulary or ""
        to = "other" if "other" in parse.VOCABULARIES[vocab] else "unknown (NULL)"
        col.add("warning", "unknown-value",
                f"{sum(unknown.values())} value(s) not in the {vocab} vocabulary read as {to}: "
                f"{_counted(unknown)}; known values: {', '.join(parse.VOCABULARIES[vocab])}. "
                f"To recognise a spelling add it to the profile table [aliases.{vocab}] "
                f"(e.g. \"{next(iter(unknown))}\" = \"<value>\")", fld=fs.name)


def _in_range(value: Any, fs: FieldSpec, label: str, col: _Collector, this_year: int,
              critical: bool) -> bool:
    """Check a value's plausible range; False when out of range (error when ``critical``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or fs.name in {"lon", "lat"}:
        return True
    if fs.kind == "year" and value > this_year:
        code, text = "future-year", f"year {value} is in the future"
    elif fs.minimum is not None and value < fs.minimum:
        code, text = "out-of-range", f"{value} is below the minimum {fs.minimum:g}"
    elif fs.maximum is not None and value > fs.maximum:
        code, text = "out-of-range", f"{value} is above the maximum {fs.maximum:g}"
    elif fs.kind == "ratio" and not 0.0 <= value <= 1.0:
        code, text = "out-of-range", f"share {value} is outside 0–1"
    else:
        return True
    col.add("error" if critical else "warning", code,
            text + ("" if critical else ": read as unknown (NULL)"), label, fs.name)
    return False

