"""Allocation reasons in Chinese (未纳入计划原因): the one translation of the reasons the
allocation writes, used by the plan stage and by every workbook."""

from __future__ import annotations

import re

__all__ = ["reason_zh"]


_REASONS: tuple[tuple[str, str, str], ...] = (
    (r"cost ([\d,]+) yuan exceeds the county's largest yearly budget ([\d,]+) yuan", "budget",
     "基础类投资{0}万元超过本县（市、区）最大年度预算{1}万元"),
    (r"([\d,]+) households exceed the county's largest yearly capacity ([\d,]+)", "capacity",
     "{0}户超过本县（市、区）最大年度实施户数{1}户"),
    (r"^time", "time", "工期不足：任何计划年度均不能在细则施行后开工并在期限内完工"),
    (r"pre-2000 part (\S+) of the package not scheduled", "parent",
     "所属片区2000年前建成部分（{0}）未纳入计划"),
    (r"share cap (\d+%): no year with room has enough pre-2000 households", "share",
     "2001—2005年建成户数比例上限（{0}）：各年度均无足够的2000年前户数带入"),
    (r"share cap", "share", "2001—2005年建成部分按年度任务比例纳入，比例已满，顺延至计划期后"),
    (r"higher-priority", "budget", "各年度预算或实施能力已被优先级更高的片区占用"),
)


def _wan(text: str) -> str:
    return f"{float(text.replace(',', '')) / 1e4:,.2f}"


def reason_zh(reason: str) -> tuple[str, str]:
    """``(kind, Chinese text)`` of an allocation reason: kind is ``budget``, ``capacity``,
    ``time``, ``parent`` or ``share`` (``""`` for no reason)."""
    if not reason:
        return "", ""
    for pattern, kind, text in _REASONS:
        m = re.search(pattern, reason)
        if m:
            groups = [_wan(g) if kind == "budget" else g for g in m.groups()]
            return kind, text.format(*groups)
    return "other", reason
