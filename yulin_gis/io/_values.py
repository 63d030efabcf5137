"""Parsing of cell values as planners type them (年份, 户数, 是/否, Chinese categories).

Each parser takes one raw value and returns ``(value, note)``: the parsed value (or
``None`` when the cell is blank), and a note that is ``None`` when the value was already
clean, ``"mapped"`` when it was interpreted from text (reported as a warning), or
``"invalid"`` when it cannot be parsed, or ``"placeholder"`` when the cell holds a
placeholder for an unknown value (不详, 暂无资料, N/A, - ...; read as ``None``).

Unknown is a value: :func:`is_placeholder` recognises the placeholders planners type, and
numbers wrapped in words (``约300户``, ``300余户``, ``1019 户``, ``１２０``, ``1,998``) are read
with the note ``"mapped"``. :func:`parse_year_range` reads a decade as a range of years
(``1990年代`` → 1990–1999, ``九十年代初`` → 1990–1993).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Literal

from yulin_gis.io._schema import PLACEHOLDERS, VOCABULARIES, header_key

__all__ = [
    "PLACEHOLDERS",
    "Note",
    "is_blank",
    "is_placeholder",
    "parse_bool",
    "parse_category",
    "parse_float",
    "parse_int",
    "parse_ratio",
    "parse_str",
    "parse_year",
    "parse_year_range",
]

Note = Literal["mapped", "invalid", "placeholder"] | None


_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9, "十": 10}
_DECADE_POS = {"初": 2, "前期": 2, "早期": 2, "中": 5, "中期": 5, "末": 8, "后期": 8, "晚期": 8}
_TRUE = {"是", "有", "y", "yes", "true", "t", "1", "√", "✓", "✔", "对", "已", "有的",
         "有物业", "有物业管理", "物业公司", "专业物业", "物业管理", "已通", "已安装", "达标"}
_FALSE = {"否", "无", "没有", "n", "no", "false", "f", "0", "×", "✗", "✘", "不", "未", "无的",
          "无物业", "无物业管理", "没有物业", "弃管", "无人管理", "未通", "未安装", "不达标"}


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


def is_placeholder(value: object) -> bool:
    """True for a text placeholder of an unknown value: 不详, 暂无资料, N/A, #N/A, -, — ...

    Blank cells are not placeholders (see :func:`is_blank`).
    """
    if not isinstance(value, str) or not value.strip():
        return False
    return _text(value).lower().replace(" ", "") in PLACEHOLDERS


def _text(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_str(value: object) -> tuple[str | None, Note]:
    """Trim a text value; numbers written as ``12.0`` by spreadsheets become ``"12"``."""
    if is_blank(value):
        return None, None
    if is_placeholder(value):
        return None, "placeholder"
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
    if is_placeholder(value):
        return None, "placeholder"
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
    if re.fullmatch(r"\d,\d{3}(\.0+)?", text):  # 1,998: a year formatted as a number
        return int(text[0] + text[2:5]), "mapped"
    decade = _decade(text)
    if decade is not None:
        if decade[0] < 0:
            return None, "invalid"
        return decade[0] + _DECADE_POS.get(decade[1], 5), "mapped"
    text = _WORDS.sub("", text)
    m = re.fullmatch(r"(\d{4})\s*(年.*|[-/.]\d{1,2}([-/.]\d{1,2})?.*|\.0)", text)
    if m:
        return int(m.group(1)), "mapped"
    m = re.fullmatch(r"([〇零一二三四五六七八九]{4})年?", text)
    if m:
        year = _cn_number(m.group(1))
        return (year, "mapped") if year else (None, "invalid")
    return None, "invalid"


_DECADE_SPAN = {2: (0, 3), 5: (4, 6), 8: (7, 9)}
_WORDS = re.compile(r"^(约|大约|大概|近|共|计|合计)|(左右|余|多|以上|前后|上下|许)$")


def _decade(text: str) -> tuple[int, str] | None:
    """``(first year, position word)`` of a decade text, ``(-1, "")`` when malformed."""
    m = re.fullmatch(r"(?:约|大约)?(?:(\d{2}|\d{4})|([一二三四五六七八九十]+))\s*年代\s*(.*)",
                     text)
    if not m:
        return None
    decade = int(m.group(1)) if m.group(1) else (_cn_number(m.group(2)) or -1)
    if decade < 0:
        return -1, ""
    if decade < 100:
        decade += 1900 if decade >= 30 else 2000
    if decade % 10:
        return -1, ""
    return decade, m.group(3).strip()


def parse_year_range(value: object) -> tuple[int, int] | None:
    """The range of years a decade text covers, or None for anything else.

    ``1990年代`` / ``九十年代`` → (1990, 1999); 初/前期/早期 → first four years (1990–1993),
    中/中期 → 1994–1996, 末/后期/晚期 → 1997–1999. :func:`parse_year` gives the year
    used as the single value (1992, 1995, 1998 or the middle 1995).
    """
    if is_blank(value) or not isinstance(value, str):
        return None
    decade = _decade(_text(value))
    if decade is None or decade[0] < 0:
        return None
    pos = _DECADE_POS.get(decade[1], 5)
    lo, hi = _DECADE_SPAN[pos] if decade[1] else (0, 9)
    return decade[0] + lo, decade[0] + hi


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _number(value: object) -> tuple[float | None, Note]:
    if is_blank(value):
        return None, None
    if is_placeholder(value):
        return None, "placeholder"
    if isinstance(value, bool):
        return None, "invalid"
    if isinstance(value, (int, float)):
        return (None, "invalid") if not math.isfinite(float(value)) else (float(value), None)
    raw = _text(value)
    text = _WORDS.sub("", raw.replace(",", "").replace(" ", ""))
    if re.fullmatch(r"[-+]?\d+(\.\d+)?", text):
        return float(text), ("mapped" if text != raw else None)
    if re.fullmatch(r"[-+]?\d+(\.\d+)?[eE][-+]?\d{1,3}", text):
        number = float(text)
        return (number, "mapped") if math.isfinite(number) else (None, "invalid")
    m = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)\s*(余|多)?(户|栋|幢|座|个|层|人|套|间|部|"
                     r"㎡|m2|平方米|平米|元|万元|mm|毫米|米|m)?(左右|余|多)?", text)
    if m:
        number = float(m.group(1))
        if m.group(3) == "万元":
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
    if is_placeholder(value):
        return None, "placeholder"
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
    if isinstance(value, str) and _text(value) == "无":
        return False, "mapped"  # 有无 columns: 无 means "no", not "unknown"
    if is_placeholder(value):
        return None, "placeholder"
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value), None
    key = _text(value).lower()
    if key in _TRUE:  # 是/否 are the standard answers of a survey form: not a repair
        return True, (None if key in {"true", "1", "是"} else "mapped")
    if key in _FALSE:
        return False, (None if key in {"false", "0", "否"} else "mapped")
    return None, "invalid"


_VOCAB_LOOKUP: dict[str, dict[str, str]] = {}


def parse_category(value: object, vocabulary: str,
                   aliases: Mapping[str, str] | None = None) -> tuple[str | None, Note]:
    """Map a category to its canonical value through :data:`VOCABULARIES`.

    ``aliases`` (spelling → canonical value, e.g. a profile's ``[aliases.material]``)
    are tried before the built-in spellings. An unrecognised spelling returns
    ``(None, "invalid")``; the caller decides whether the vocabulary is open.
    """
    if is_blank(value):
        return None, None
    if is_placeholder(value) and header_key(value) not in _builtin_lookup(vocabulary):
        return None, "placeholder"
    text = _text(value)
    if text in VOCABULARIES[vocabulary]:
        return text, None
    key = header_key(text)
    if aliases:
        extra = {header_key(k): v for k, v in aliases.items()}
        if key in extra:
            return extra[key], "mapped"
    found = _builtin_lookup(vocabulary).get(key)
    return (found, "mapped") if found else (None, "invalid")


def _builtin_lookup(vocabulary: str) -> dict[str, str]:
    lookup = _VOCAB_LOOKUP.get(vocabulary)
    if lookup is None:
        lookup = {}
        for canonical, spellings in VOCABULARIES[vocabulary].items():
            for spelling in spellings:
                lookup.setdefault(header_key(spelling), canonical)
            lookup[header_key(canonical)] = canonical
        _VOCAB_LOOKUP[vocabulary] = lookup
    return lookup
