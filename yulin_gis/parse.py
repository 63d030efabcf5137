"""Parsing of cell values as planners type them (年份, 户数, 是/否, Chinese categories).

Each parser takes one raw value and returns ``(value, note)``: the parsed value (or
``None`` when the cell is blank), and a note that is ``None`` when the value was already
clean, ``"mapped"`` when it was interpreted from text (reported as a warning), or
``"invalid"`` when it cannot be parsed (reported as an error).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from typing import Literal

from yulin_gis.schema import VOCABULARIES, header_key

__all__ = [
    "Note",
    "is_blank",
    "parse_bool",
    "parse_category",
    "parse_float",
    "parse_int",
    "parse_ratio",
    "parse_str",
    "parse_year",
]

Note = Literal["mapped", "invalid"] | None

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9, "十": 10}
_DECADE_POS = {"初": 2, "前期": 2, "早期": 2, "中": 5, "中期": 5, "末": 8, "后期": 8, "晚期": 8}
_TRUE = {"是", "有", "y", "yes", "true", "t", "1", "√", "✓", "✔", "对", "已", "有的"}
_FALSE = {"否", "无", "没有", "n", "no", "false", "f", "0", "×", "✗", "✘", "不", "未", "无的"}


def is_blank(value: object) -> bool:
    """True for None, NaN, NaT, pandas NA and whitespace-only strings."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        import pandas as pd

        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def _text(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_str(value: object) -> tuple[str | None, Note]:
    """Trim a text value; numbers written as ``12.0`` by spreadsheets become ``"12"``."""
    if is_blank(value):
        return None, None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None
    return _text(value), None


def _cn_number(text: str) -> int | None:
    """Read small Chinese numerals: 九十 → 90, 一九九八 → 1998, 八 → 8."""
    if not text or any(ch not in _CN_DIGITS for ch in text):
        return None
    if "十" not in text:
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def parse_year(value: object) -> tuple[int | None, Note]:
    """Parse a year: ``1998``, ``"1998年"``, ``"1998年5月"``, ``"1998-05-01"``,
    ``"一九九八年"``, ``"九十年代"`` / ``"90年代末"`` (decade → a year inside it: 初 2,
    中 5, 末 8, else 5), dates and datetimes.
    """
    if is_blank(value):
        return None, None
    if isinstance(value, bool):
        return None, "invalid"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.year, None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not value.is_integer():
            return None, "invalid"
        return int(value), None
    text = _text(value)
    if re.fullmatch(r"\d{4}", text):
        return int(text), None
    m = re.fullmatch(r"(?:(\d{2}|\d{4})|([一二三四五六七八九十]+))\s*年代\s*(.*)", text)
    if m:
        if m.group(1):
            decade = int(m.group(1))
        else:
            decade = _cn_number(m.group(2)) or -1
        if decade < 0:
            return None, "invalid"
        if decade < 100:
            decade += 1900 if decade >= 30 else 2000
        if decade % 10:
            return None, "invalid"
        pos = _DECADE_POS.get(m.group(3).strip(), 5)
        return decade + pos, "mapped"
    m = re.fullmatch(r"(\d{4})\s*(年.*|[-/.]\d{1,2}([-/.]\d{1,2})?.*|\.0)", text)
    if m:
        return int(m.group(1)), "mapped"
    m = re.fullmatch(r"([〇零一二三四五六七八九]{4})年?", text)
    if m:
        year = _cn_number(m.group(1))
        return (year, "mapped") if year else (None, "invalid")
    return None, "invalid"


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _number(value: object) -> tuple[float | None, Note]:
    if is_blank(value):
        return None, None
    if isinstance(value, bool):
        return None, "invalid"
    if isinstance(value, (int, float)):
        return (None, "invalid") if not math.isfinite(float(value)) else (float(value), None)
    raw = _text(value)
    text = raw.replace(",", "").replace(" ", "")
    if re.fullmatch(r"[-+]?\d+(\.\d+)?", text):
        return float(text), ("mapped" if text != raw else None)
    if re.fullmatch(r"[-+]?\d+(\.\d+)?[eE][-+]?\d{1,3}", text):
        number = float(text)
        return (number, "mapped") if math.isfinite(number) else (None, "invalid")
    m = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)\s*(户|栋|幢|个|层|人|㎡|m2|平方米|平米|元|万元|mm|毫米|米|m)?",
                     text)
    if m:
        number = float(m.group(1))
        if m.group(2) == "万元":
            number *= 10_000
        return number, "mapped"
    return None, "invalid"


def parse_float(value: object) -> tuple[float | None, Note]:
    """Parse a number: ``1234.5``, ``"1,234.5"``, ``"1234㎡"``, ``"12万元"``, ``"1.2e4"``.

    ``inf`` and ``nan`` typed as text are invalid.
    """
    return _number(value)


def parse_int(value: object) -> tuple[int | None, Note]:
    """Parse a whole number: ``120``, ``"1,200"``, ``"1，200"``, ``"120户"``."""
    number, note = _number(value)
    if number is None:
        return None, note
    if not float(number).is_integer():
        return None, "invalid"
    return int(number), note


def parse_ratio(value: object) -> tuple[float | None, Note]:
    """Parse a share in 0–1: ``0.85``, ``"85%"``, ``85`` (read as per cent, reported)."""
    if is_blank(value):
        return None, None
    if isinstance(value, str) and _text(value).endswith("%"):
        number, note = _number(_text(value)[:-1])
        return (None, "invalid") if number is None else (number / 100.0, "mapped")
    number, note = _number(value)
    if number is None:
        return None, note
    if 1.0 < number <= 100.0:
        return number / 100.0, "mapped"
    return number, note


def parse_bool(value: object) -> tuple[bool | None, Note]:
    """Parse yes/no: 是/否, 有/无, √/×, Y/N, true/false, 1/0."""
    if is_blank(value):
        return None, None
    if isinstance(value, bool):
        return value, None
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value), None
    key = _text(value).lower()
    if key in _TRUE:
        return True, (None if key in {"true", "1"} else "mapped")
    if key in _FALSE:
        return False, (None if key in {"false", "0"} else "mapped")
    return None, "invalid"


_VOCAB_LOOKUP: dict[str, dict[str, str]] = {}


def parse_category(value: object, vocabulary: str) -> tuple[str | None, Note]:
    """Map a category to its canonical value through :data:`VOCABULARIES`."""
    if is_blank(value):
        return None, None
    lookup = _VOCAB_LOOKUP.get(vocabulary)
    if lookup is None:
        lookup = {}
        for canonical, spellings in VOCABULARIES[vocabulary].items():
            for spelling in spellings:
                lookup.setdefault(header_key(spelling), canonical)
            lookup[header_key(canonical)] = canonical
        _VOCAB_LOOKUP[vocabulary] = lookup
    text = _text(value)
    if text in VOCABULARIES[vocabulary]:
        return text, None
    found = lookup.get(header_key(text))
    return (found, "mapped") if found else (None, "invalid")
