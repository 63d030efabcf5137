"""What every plan document says about itself: the 参数与口径 sheet and the notes.

:func:`parameters_frame` lists every value of the policy profile with its source (a
seed clause, or ``默认值（待确认）``); :func:`plan_notes` gives the 编制说明 lines,
including whether the plan was bound by a budget (:func:`budget_constrained`).
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pandas as pd

from yulin_gis.reports._labels import UNCONSTRAINED_ZH, zh_text

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
_SKIP = {"name_en", "reason_en", "note", "trigger", "code"}


_TERMS_ZH = {
    "5min": "5分钟生活圈", "10min": "10分钟生活圈", "15min": "15分钟生活圈",
    "city": "全市", "county": "县（市、区）", "package": "片区", "compound": "小区",
    "plan": "计划下达前", "design": "方案设计至开工前", "basic": "开工至基础类完工",
    "construction": "施工期间", "completion": "竣工验收前", "long_term": "竣工后长期",
    "year": "计划年度内", "lift": "加装电梯", "acceptance": "竣工验收", "utility": "管线",
    "surface": "道路铺装", "building": "建筑本体", "seismic_not_ok": "抗震不达标",
}


def profile_labels(profile: Any) -> dict[str, str]:
    """Code → Chinese for the profile's items, departments and companies, the survey's
    field names and the profile's own terms (生活圈, duty scopes and times, phases)."""
    from yulin_gis.io import LAYERS

    labels = {f.name: f.label_zh for spec in LAYERS.values() for f in spec.fields}
    labels.update(_TERMS_ZH)
    labels.update({c: it.name_zh for c, it in profile.items.items()})
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
    clauses = _comment_clauses(profile.path.read_text(encoding="utf-8"))
    rows = []
    for section, body in raw.items():
        for path, value in _flatten(section, body):
            if path.rsplit(".", 1)[-1] in _SKIP or ".trigger." in path:
                continue
            rows.append((path, _text(value), "", _nearest(clauses, path)))
    return rows


_CLAUSE = re.compile(r"§\s*([一二三四五六七八九十]+(?:\([一二三四五六七八九十\d]+\))*(?:\d)?)")


_ASSUMED_WORDS = ("unconfirmed", "no figure", "typical", "editable", "default", "Calibrated")


def _nearest(clauses: dict[str, str], path: str) -> str:
    """The source of ``path``: its own, else its nearest enclosing table's, else assumed."""
    parts = path.split(".")
    for k in range(len(parts), 0, -1):
        found = clauses.get(".".join(parts[:k]))
        if found:
            return found
    return ASSUMED


def _comment_clauses(text: str) -> dict[str, str]:
    """Seed clauses cited in the TOML comments: ``[eligibility]  # seed §四(一)``.

    A table header's clause applies to its keys; a key's own comment overrides it, and
    a comment saying ``unconfirmed`` marks the value as assumed.
    """
    out: dict[str, str] = {}
    table = ""
    for line in text.splitlines():
        code, _, comment = line.partition("#")
        code = code.strip()
        header = re.fullmatch(r"\[+([^\]]+)\]+", code)
        key = header.group(1).strip() if header else (
            f"{table}.{code.split('=', 1)[0].strip()}" if "=" in code and table else "")
        if header:
            table = key
        clauses = _CLAUSE.findall(comment)
        if key and any(w in comment for w in _ASSUMED_WORDS):
            out[key] = ASSUMED
        elif key and clauses:
            out[key] = "实施细则 " + "、".join(clauses)
    return out


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
    rows = [r for r in rows if str(r[0]).rsplit(".", 1)[-1] not in _SKIP]
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
