"""Labels for documents officials sign: Chinese words, 万元, whole units, 是/否.

Every workbook the toolkit writes passes its tables through :func:`official_frame`, so
that a cell never shows a code (``water_supply``), an English reason, ``True``/``nan``
or float noise (``7.99999999954``). English stays only in ``plan.gpkg``'s field codes.

The rules are driven by the Chinese header of each column:

* money — a header with ``(元)``/``（元）`` (not a unit price): divided by 10,000, two
  decimals, header rewritten to ``(万元)``;
* whole units — lengths (米), areas (平方米), households, counts: rounded to integers;
* rates — headers with 率 or 占比 holding values in [0, 1]: percent, two decimals,
  header suffixed ``(%)``;
* any other float: two decimals;
* text: codes and English reasons translated by :func:`zh_text`; bool → 是/否.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from yulin_gis.io import VOCABULARIES

__all__ = [
    "BOOL_ZH",
    "GOV_SOURCES_ZH",
    "UNCONSTRAINED_ZH",
    "USER_TEXT_HEADERS",
    "VOCAB_ZH",
    "money_header",
    "official_frame",
    "official_value",
    "unit_note",
    "wan",
    "yes_no",
    "zh_text",
]

GOV_SOURCES_ZH: dict[str, str] = {
    "central": "中央补助资金", "region": "自治区资金", "city_county": "市县财政资金",
    "special_bonds": "地方政府专项债券", "social": "社会资本/金融",
}
"""Government funding sources (DOMAIN §6), code → Chinese, in table order; the codes
match the profile's ``[funding_sources]``."""

UNCONSTRAINED_ZH = "不受预算约束，仅按时限与产能安排"
"""Said in every title or note of a plan made without an explicit budget."""

BOOL_ZH = {True: "是", False: "否"}
"""Booleans as officials write them."""

_FIXED: dict[str, str] = {
    # vocabulary spellings that are not Chinese in schema.VOCABULARIES
    "pvc": "聚氯乙烯", "pe": "聚乙烯",
    # pipe-upgrade scopes, tiers, statuses, classes, units
    "package": "片区内", "trunk": "上下游干管",
    "priority": "重点改造（2000年底前）", "share": "按比例纳入（2001—2005年）",
    "excluded": "不纳入改造", "eligible": "符合条件未成片", "packaged": "已成片未排期",
    "planned": "已纳入年度计划", "validated": "已校验",
    "basic": "基础类", "improve": "完善类", "upgrade": "提升类",
    "m": "米", "m2": "平方米", "household": "户", "compound": "个", "lift": "部",
    "unknown": "不详", "yes": "是", "no": "否", "true": "是", "false": "否",
    "households": "户数", "compounds": "小区数", "floor_area": "建筑面积",
}

VOCAB_ZH: dict[str, str] = {
    **{code: spellings[0] for vocab in VOCABULARIES.values() for code, spellings in vocab.items()},
    **_FIXED,
}
"""Code → Chinese for every vocabulary of :data:`yulin_gis.io._schema.VOCABULARIES` and the
pipeline's own codes (scopes, tiers, statuses, item classes, units)."""

_CJK = r"\u3400-\u9fff"
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r) for p, r in (
        # packaging (yulin_gis.packaging._packages)
        (r"未成片 / not packaged: ", "未成片："),
        (r"未排入计划 / not scheduled: ", "未排入计划："),
        (r"disconnected piece below floor: no neighbour within reach",
         "孤立片段户数低于下限，周边无可合并小区"),
        (r"island: no neighbour within reach", "孤立小区，周边无可合并小区"),
        (r"below floor: neighbouring packages full", "户数低于下限，相邻片区已满"),
        (r"unit total below floor", "所在社区（单元）总户数低于下限"),
        (r"single compound above ceiling", "单个小区户数超过片区上限"),
        (r"above ceiling: no contiguous split", "户数超过上限且无法连片拆分"),
        (r"no geometry: cannot be placed", "无空间位置，无法成片"),
        (r"\bnot eligible\b", "不符合改造条件"),
        (r"\(households\)", "（户数）"),
        # plan allocation (yulin_gis.planning._allocation)
        (r"cost ([\d,.]+) yuan exceeds the county's largest yearly budget ([\d,.]+) yuan",
         r"投资\1元超过本县区最大年度预算\2元"),
        (r"([\d,.]+) households exceed the county's largest yearly capacity ([\d,.]+)",
         r"\1户超过本县区最大年度改造能力\2户"),
        ((r"2001–2005 share cap (\d+%): deferred beyond the last plan year \(its pre-2000 part "
          r"is planned\)"),
         r"2001—2005年建成部分按年度任务比例（\1）纳入，比例已满，顺延至计划期后（其2000年前部分已纳入计划）"),
        ((r"2001–2005 share cap (\d+%): no year with room has enough pre-2000 households "
          r"to take its 2001–2005 households"),
         r"2001—2005年建成户数比例上限（\1）：各年度均无足够的2000年前户数带入"),
        (r"budget or capacity of every plan year taken by higher-priority packages",
         "各年度预算或改造能力已由优先级更高的片区占用"),
        (r"package (\S+) not in the plan", r"片区\1未纳入计划"),
        (r"not in a package", "未成片"),
        # schedule (yulin_gis.planning._schedule)
        (r"start (\d{4}-\d\d-\d\d) after the (\d{4}-\d\d-\d\d) deadline",
         r"开工\1晚于期限\2"),
        (r"basic works end (\d{4}-\d\d-\d\d) after the (\d{4}-\d\d-\d\d) deadline",
         r"基础类完工\1晚于期限\2"),
        # survey evidence (yulin_gis.survey._assess)
        (rf"([{_CJK}]+步行) / walk to \w+ (\d+) m > (\d+) m", r"\1\2米（标准\3米）"),
        (r"低洼易涝 low-lying: rel_elev (-?[\d.]+) m, low_share ([\d.]+)",
         r"低洼易涝（相对周边高程\1米，低洼占比\2）"),
        (r"(\d+) m内无", r"\1米内无"),
        (r"(\d+), (\d+) m\b", r"\1年，\2米"),
    ))
_BILINGUAL = re.compile(rf"\s*/\s*[^{_CJK}\[\]；;|（）()]*[A-Za-z][^{_CJK}\[\]；;|]*")
_CODE_PREFIX = re.compile(r"(^|\s\|\s)([a-z][a-z0-9_]*): ")
_CODE_LIST = re.compile(r"^[a-z][a-z0-9_]*(?:=[\d.]+)?(?:,[a-z][a-z0-9_]*(?:=[\d.]+)?)*$")


def yes_no(value: Any) -> str:
    """是/否 for a truthy value; blank for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return "是" if bool(value) else "否"


def wan(yuan: Any) -> float | None:
    """Yuan → 万元 with two decimals (None for a missing value)."""
    try:
        v = float(yuan)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else round(v / 10_000.0, 2) + 0.0


def zh_text(text: str, labels: Mapping[str, str] | None = None) -> str:
    """Translate a code, a list of codes or an English/bilingual reason into Chinese.

    Translations are remembered per ``labels`` (a text is translated once per run,
    however many cells show it).

    Parameters
    ----------
    text
        A cell's text.
    labels
        Extra code → Chinese (e.g. item codes → item names), checked before the vocabulary.
    """
    seen = _translations(labels)
    if seen is None:
        return _zh_text(text, labels)
    out = seen.get(text)
    if out is None:
        out = seen[text] = _zh_text(text, labels)
    return out


_CACHES: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
_CACHE_LIMIT = 200_000


def _translations(labels: Mapping[str, str] | None) -> dict[str, str] | None:
    """The remembered translations for ``labels`` (None when labels are not hashable)."""
    try:
        key = tuple(labels.items()) if labels else ()
        cache = _CACHES.get(key)
    except TypeError:
        return None
    if cache is None or len(cache) > _CACHE_LIMIT:
        if len(_CACHES) > 16:
            _CACHES.clear()
        cache = _CACHES[key] = {}
    return cache


def _zh_text(text: str, labels: Mapping[str, str] | None) -> str:
    def get(code: str) -> str:
        if labels and code in labels:
            return labels[code]
        return VOCAB_ZH.get(code, code)

    key = text.strip()
    if (labels and key in labels) or key in VOCAB_ZH:
        return get(key)
    if _CODE_LIST.match(key) and ("," in key or "=" in key):
        parts = [p.partition("=") for p in key.split(",")]
        return "、".join(get(c) + (f"{_num(q)}" if q else "") for c, _, q in parts)
    out = text
    for pattern, repl in _REASONS:
        out = pattern.sub(repl, out)
    out = _CODE_PREFIX.sub(lambda m: f"{m.group(1)}{get(m.group(2))}：", out)
    out = _BILINGUAL.sub("", out)
    return out.replace(" | ", "；")


def _num(q: str) -> str:
    v = float(q)
    return str(round(v)) if abs(v - round(v)) < 1e-6 else f"{v:.2f}"


def money_header(header: str) -> bool:
    """True for a header of an amount in yuan (not a unit price)."""
    return ("(元)" in header or "（元）" in header) and "单价" not in header


_WHOLE = ("(米)", "（米）", "(m)", "面积", "(m²)", "平方米", "户数", "楼栋数", "小区数", "片区数",
          "管段数", "(项)", "项数", "任务数", "(个)", "(部)", "(户)", "长度")
_RATE = ("率", "占比")


def _header_kind(header: str) -> str:
    if money_header(header):
        return "money"
    if any(h in header for h in _RATE) and "%" not in header:
        return "rate"
    if any(h in header for h in _WHOLE) and "年份" not in header:
        return "whole"
    return "other"


def official_value(value: Any, kind: str = "other",
                   labels: Mapping[str, str] | None = None) -> Any:
    """One cell as officials read it (see the module docstring for ``kind``)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, str | list | tuple | dict):
        value = value.item()  # numpy scalar
    if isinstance(value, bool):
        return BOOL_ZH[value]
    if isinstance(value, str):
        return zh_text(value, labels)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, int | float):
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return None
        if kind == "money":
            return round(v / 10_000.0, 2) + 0.0
        if kind == "rate":
            return round(v * 100.0, 2) + 0.0
        if kind == "whole" or isinstance(value, int):
            return round(v)
        r = round(v, 2) + 0.0
        return int(r) if r == int(r) and abs(r) < 1e15 else r
    return zh_text(str(value), labels)


def _rate_header(header: str) -> str:
    return f"{header}(%)"


USER_TEXT_HEADERS = frozenset({
    "小区名称", "名称", "地址", "小区编号", "片区编号", "管段编号", "道路名称", "道路编号", "统筹编号",
    "权属单位", "所属社区", "所属街道", "所属县区", "社区", "街道", "县（市、区）", "社区代码", "单位",
    "涉及小区", "涉及管段", "责任单位", "内容",
})
"""Headers of columns holding the user's own text (names, addresses, ids): written as
given, never translated (a name is data, not a code)."""


def official_frame(frame: pd.DataFrame,
                   labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` (Chinese headers) converted cell by cell for officials.

    Money columns become 万元 (header ``(元)`` → ``(万元)``), rates in [0, 1] become
    percent (header + ``(%)``), whole-unit columns integers, other floats two decimals,
    booleans 是/否 and text Chinese (:func:`zh_text`). Columns stay in order.
    """
    out: dict[str, list[Any]] = {}
    seen = _translations(labels)  # repeated texts are translated once
    for header in frame.columns:
        col = frame[header]
        name, kind = _column_kind(str(header), col)
        values = col.tolist()
        if name in USER_TEXT_HEADERS:
            out[name] = [v if isinstance(v, str) else official_value(v, kind, labels)
                         for v in values]
        elif seen is None:
            out[name] = [zh_text(v, labels) if isinstance(v, str)
                         else official_value(v, kind, labels) for v in values]
        else:
            out[name] = [(seen[v] if v in seen else seen.setdefault(v, _zh_text(v, labels)))
                         if isinstance(v, str) else official_value(v, kind, labels)
                         for v in values]
    return pd.DataFrame(out, index=range(len(frame)))  # columns in the dict's order


@functools.lru_cache(maxsize=4096)
def _header_rule(header: str) -> tuple[str, str]:
    """(kind, header as written) before the rate check."""
    kind = _header_kind(header)
    if kind == "money":
        return kind, header.replace("(元)", "(万元)").replace("（元）", "（万元）")
    return kind, header


def _column_kind(header: str, col: pd.Series) -> tuple[str, str]:
    """(header as written, kind) of one column: a rate column stays a rate only when
    it holds no text and every number is in [0, 1]."""
    kind, name = _header_rule(header)
    if kind != "rate":
        return name, kind
    if col.dtype.kind in "fiu":
        nums = col.to_numpy(dtype=float)
        fits = bool(np.all(np.isnan(nums) | ((nums >= 0) & (nums <= 1))))
    else:
        numeric = pd.to_numeric(col, errors="coerce")
        texts = col.map(lambda v: isinstance(v, str) and v.strip() != "")
        fits = not texts.any() and bool(
            ((numeric >= 0) & (numeric <= 1)).where(numeric.notna(), True).all())
    return (_rate_header(name), kind) if fits else (name, "other")


def unit_note(frame: pd.DataFrame) -> str:
    """The 单位 line of a table: ``单位：万元、户``… from its headers (after conversion)."""
    headers = " ".join(str(c) for c in frame.columns)
    units = [u for u, hint in (("万元", "万元"), ("户", "户数"), ("个", "小区数"), ("个", "片区数"),
                               ("个", "任务数"), ("米", "(米)"), ("平方米", "平方米"))
             if hint in headers]
    return "单位：" + "、".join(dict.fromkeys(units)) if units else ""
