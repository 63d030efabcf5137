"""What every plan document says about itself: the 参数与口径 sheet and the notes.

:func:`parameters_frame` lists every value of the policy profile with its source (a
seed clause, or ``默认值（待确认）``); :func:`plan_notes` gives the 编制说明 lines,
including whether the plan was bound by a budget (:func:`budget_constrained`).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterator
from typing import Any

import pandas as pd

from yulin_gis.labels import UNCONSTRAINED_ZH, zh_text

__all__ = ["ASSUMED", "budget_constrained", "parameters_frame", "plan_notes", "profile_labels"]

logger = logging.getLogger(__name__)

ASSUMED = "默认值（待确认）"
"""Source of a value no document gives."""

_SECTION_ZH = {
    "profile": "基本信息", "eligibility": "改造对象", "exclusions": "排除条件", "consent": "居民意愿",
    "survey": "摸底调查", "quantities": "工程量估算", "hazards": "管线隐患判定",
    "waterlogging": "内涝风险", "life_circle": "生活圈", "priority": "优先级评分",
    "schedule": "时间安排", "plan": "计划年度", "departments": "责任部门",
    "utility_companies": "专业经营单位", "items": "改造内容目录", "duties": "部门职责",
    "programme": "实施期限", "funding_sources": "政府资金来源", "packaging": "片区划分",
    "phases": "工期", "assessment": "考核", "utilities": "管线", "measures": "工程量口径",
}
_SKIP = {"name_en", "reason_en", "note", "trigger"}


def profile_labels(profile: Any) -> dict[str, str]:
    """Code → Chinese for the profile's items, departments and companies."""
    labels = {c: it.name_zh for c, it in profile.items.items()}
    labels.update(profile.departments)
    labels.update(profile.utility_companies)
    return labels


def _flatten(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _flatten(f"{path}.{key}", sub)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for k, sub in enumerate(value, start=1):
            yield from _flatten(f"{path}[{k}]", sub)
    else:
        yield path, value


def _walk_file(profile: Any) -> list[tuple[str, str, str, str]]:
    """Rows from the profile's TOML when the profile has no ``parameters_table``."""
    if profile.path is None:
        return []
    with open(profile.path, "rb") as fh:
        raw = tomllib.load(fh)
    rows = []
    for section, body in raw.items():
        for path, value in _flatten(section, body):
            if path.rsplit(".", 1)[-1] in _SKIP or ".trigger." in path:
                continue
            rows.append((path, _text(value), "", ASSUMED))
    return rows


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)


def parameters_frame(profile: Any) -> pd.DataFrame:
    """The 参数与口径 sheet: 序号, 类别, 参数代码, 取值, 单位, 来源 — every profile value.

    Uses the profile's own ``parameters_table()`` (which reads its ``[sources]``) when it
    has one; otherwise every value of the TOML file is listed as ``默认值（待确认）``.
    Values that are codes (items, departments, companies, vocabularies) are shown in
    Chinese; the key path stays in the code column (参数代码).
    """
    table = getattr(profile, "parameters_table", None)
    rows = [tuple(r) for r in table()] if callable(table) else _walk_file(profile)
    labels = profile_labels(profile)
    out = []
    for k, (name, value, unit, source) in enumerate(rows, start=1):
        code = str(name).split("：", 1)[-1]
        section = code.split(".", 1)[0].split("[", 1)[0]
        shown = "、".join(zh_text(part, labels) for part in str(value).split("、"))
        out.append({"序号": k, "类别": _SECTION_ZH.get(section, "其他"), "参数代码": code,
                    "取值": _code_values(shown, labels), "单位": zh_text(str(unit), labels),
                    "来源": str(source) or ASSUMED})
    return pd.DataFrame(out, columns=["序号", "类别", "参数代码", "取值", "单位", "来源"])


def _code_values(text: str, labels: dict[str, str]) -> str:
    """``a=x；b=y`` pairs with code keys shown as their Chinese names."""
    if "=" not in text:
        return text
    parts = []
    for pair in text.split("；"):
        key, sep, val = pair.partition("=")
        parts.append(f"{zh_text(key.strip(), labels)}{'：' if sep else ''}{zh_text(val, labels)}")
    return "；".join(parts)


def budget_constrained(plan: Any, packages: Any = None, option: Any = None) -> bool:
    """Whether the plan was bound by an explicit budget.

    Reads a ``budget_source`` attribute of the plan, or a ``budget_source`` column of the
    packages (values ``explicit``/``given``/``option``/``table`` or Chinese 给定/预算表
    mean explicit); else an explicit ``option`` (``--budget``) means constrained.
    """
    source = getattr(plan, "budget_source", None)
    if source is None and packages is not None and "budget_source" in getattr(packages, "columns", ()):
        vals = [str(v) for v in packages["budget_source"].dropna().unique()]
        source = vals[0] if vals else None
    if source is not None:
        text = str(source).lower()
        return any(w in text for w in ("explicit", "given", "option", "table", "csv", "给定",
                                        "预算表", "指定"))
    return option is not None


def plan_notes(profile: Any, *, constrained: bool) -> list[str]:
    """The 编制说明 lines of a plan workbook."""
    notes = [
        f"依据：{profile.source}。",
        "金额单位为万元，保留两位小数；户数、个数为整数，长度以米、面积以平方米取整。",
        "所属社区、街道为名称，社区代码单列；改造内容、材质、管线类型、道路等级等均为中文。",
        "参数取值及来源见“参数与口径”表；标注“默认值（待确认）”者须由主管部门确认。",
    ]
    if constrained:
        notes.append("年度计划按给定的年度预算安排。")
    else:
        notes.append(f"本计划未给定年度预算，{UNCONSTRAINED_ZH}。")
    return notes
