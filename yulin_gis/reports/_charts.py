"""Plan charts (PNG) and a one-page offline HTML summary (改造计划概要).

Charts are drawn with matplotlib's object API on an Agg canvas (no pyplot, no global
backend switch), with Chinese labels in an installed CJK font (Noto Sans CJK and the like,
found through ``matplotlib.font_manager``); without one, the charts still render (glyphs
may show as boxes) and a warning is logged once. PNGs carry no timestamp, so the same
input gives the same bytes. The HTML summary embeds the images as ``data:`` URIs and
escapes every piece of text.
"""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from yulin_gis.planning import FUNDER_LABELS_ZH, FUNDERS, FUNDING_COLUMNS

__all__ = [
    "chart_coverage",
    "chart_funding",
    "chart_households_cost",
    "chart_progress",
    "cjk_font_family",
    "plan_charts",
    "write_plan_summary_html",
]

logger = logging.getLogger(__name__)

def cjk_font_family() -> str | None:
    """Return the family name of an installed font with Chinese glyphs, or None
    (:func:`yulin_gis.fonts.cjk_font_family`)."""
    from yulin_gis.fonts import cjk_font_family as find

    return find()


def _figure(width: float = 9.0, height: float = 4.8) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _rc() -> dict[str, Any]:
    family = cjk_font_family()
    rc: dict[str, Any] = {"axes.unicode_minus": False}
    if family:
        rc["font.family"] = [family, "DejaVu Sans"]
    return rc


def _save(fig: Any, path: str | Path) -> Path:
    from yulin_gis.io import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    return target


def _draw(path: str | Path, draw: Any, width: float = 9.0, height: float = 4.8) -> Path:
    import warnings

    import matplotlib

    with matplotlib.rc_context(_rc()), warnings.catch_warnings():  # type: ignore[arg-type]
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        fig = _figure(width, height)
        draw(fig)
        fig.tight_layout()
        return _save(fig, path)


def _grouped_bars(ax: Any, table: pd.DataFrame, ylabel: str) -> None:
    """Bars per row (x) and column (series), side by side."""
    n = max(1, table.shape[1])
    width = 0.8 / n
    xs = range(len(table.index))
    for k, col in enumerate(table.columns):
        ax.bar([x - 0.4 + width * (k + 0.5) for x in xs], table[col].to_numpy(), width,
               label=str(col))
    ax.set_xticks(list(xs), [str(i) for i in table.index])
    ax.set_ylabel(ylabel)
    if table.shape[1]:
        ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def chart_households_cost(totals: pd.DataFrame, path: str | Path) -> Path:
    """Households and cost (万元) per county, one bar per plan year.

    Parameters
    ----------
    totals
        ``PlanResult.totals``: ``county, plan_year, households, cost_yuan``.
    path
        Target PNG.
    """
    hh = totals.pivot_table(index="county", columns="plan_year", values="households",
                            aggfunc="sum", fill_value=0).sort_index()
    cost = totals.pivot_table(index="county", columns="plan_year", values="cost_yuan",
                              aggfunc="sum", fill_value=0).sort_index() / 1e4
    hh.columns = [f"{c}年" for c in hh.columns]
    cost.columns = [f"{c}年" for c in cost.columns]

    def draw(fig: Any) -> None:
        a1, a2 = fig.subplots(1, 2)
        _grouped_bars(a1, hh, "户数")
        a1.set_title("各县（市、区）分年度改造户数")
        _grouped_bars(a2, cost, "投资（万元）")
        a2.set_title("各县（市、区）分年度改造投资")

    return _draw(path, draw, width=12.0)


def chart_funding(funding: pd.DataFrame, path: str | Path) -> Path:
    """Cost by funder (居民 / 管线单位 / 政府, 万元) per county, stacked.

    Parameters
    ----------
    funding
        Rows with ``county`` and :data:`yulin_gis.planning._funding.FUNDING_COLUMNS` (e.g. from
        :func:`yulin_gis.planning._funding.funding_by_county_year`); summed over years.
    """
    sums = funding.groupby("county")[list(FUNDING_COLUMNS)].sum().sort_index() / 1e4

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        bottom = [0.0] * len(sums)
        for funder, col in zip(FUNDERS, FUNDING_COLUMNS, strict=True):
            vals = sums[col].to_list()
            ax.bar([str(i) for i in sums.index], vals, 0.6, bottom=bottom,
                   label=FUNDER_LABELS_ZH[funder])
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.set_ylabel("万元")
        ax.set_title("改造资金来源（谁受益、谁出资）")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)

    return _draw(path, draw)


def chart_coverage(coverage_by_year: pd.DataFrame, path: str | Path) -> Path:
    """Cumulative share of pre-2000 households in the plan, by year, per county and city.

    Parameters
    ----------
    coverage_by_year
        ``PlanResult.coverage_by_year``: ``county, plan_year, pre2000_households,
        pre2000_covered``.
    """
    cy = coverage_by_year.sort_values(["county", "plan_year"])
    city = cy.groupby("plan_year")[["pre2000_households", "pre2000_covered"]].sum()

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        for county, sub in cy.groupby("county", sort=True):
            rate = (sub["pre2000_covered"] / sub["pre2000_households"].where(
                sub["pre2000_households"] > 0)).fillna(1.0) * 100
            ax.plot(sub["plan_year"].astype(str), rate, marker="o", label=str(county))
        if len(city):
            rate = (city["pre2000_covered"] / city["pre2000_households"].where(
                city["pre2000_households"] > 0)).fillna(1.0) * 100
            ax.plot(city.index.astype(str), rate, marker="s", color="black", linewidth=2.5,
                    label="全市")
        ax.axhline(100, color="grey", linestyle="--", linewidth=1)
        ax.set_ylim(0, 105)
        ax.set_ylabel("2000年前建成小区户数覆盖率（%）")
        ax.set_title("2000年底前建成老旧小区累计纳入改造计划比例")
        if len(cy):
            ax.legend(fontsize=8, ncol=2)
        ax.grid(alpha=0.3)

    return _draw(path, draw)


def chart_progress(assessment: pd.DataFrame, path: str | Path) -> Path:
    """Completion rate (%) per county in rank order, with the score written beside.

    Parameters
    ----------
    assessment
        From :func:`yulin_gis.planning._progress.assess_counties`.
    """
    a = assessment.reset_index(drop=True)

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        labels = [str(c) for c in a["county"]][::-1]
        rates = (a["completion_rate"].fillna(0) * 100).to_list()[::-1]
        bars = ax.barh(labels, rates, color="#4c78a8")
        for bar, score in zip(bars, a["score"].to_list()[::-1], strict=True):
            text = "—" if pd.isna(score) else f"{score:.1f}分"
            ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, text,
                    va="center", fontsize=8)
        ax.set_xlim(0, 115)
        ax.set_xlabel("完成率（%）")
        ax.set_title("各县（市、区）改造完成率与考核得分")
        ax.grid(axis="x", alpha=0.3)

    return _draw(path, draw)


def plan_charts(plan: Any, out_dir: str | Path, funding: pd.DataFrame | None = None,
                assessment: pd.DataFrame | None = None) -> dict[str, Path]:
    """Draw every chart that the inputs allow into ``out_dir``.

    Returns
    -------
    dict
        Chart key (``households_cost``, ``funding``, ``coverage``, ``progress``) → PNG.
    """
    out = Path(out_dir)
    charts = {
        "households_cost": chart_households_cost(plan.totals, out / "plan_households_cost.png"),
        "coverage": chart_coverage(plan.coverage_by_year, out / "plan_coverage.png"),
    }
    if funding is not None and len(funding):
        charts["funding"] = chart_funding(funding, out / "plan_funding.png")
    if assessment is not None and len(assessment):
        charts["progress"] = chart_progress(assessment, out / "plan_progress.png")
    return charts


_CSS = """body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;
color:#222;max-width:1200px}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #bbb;
padding:3px 8px}th{background:#eef}td.n{text-align:right}img{max-width:100%;
border:1px solid #ddd;margin:6px 0}.facts td:first-child{font-weight:bold}"""


def _cell(value: Any) -> tuple[str, bool]:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "", False
    if isinstance(value, bool):
        return ("是" if value else "否"), False
    if isinstance(value, int | float):
        return (f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"), True
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat(), False
    return str(value), False


def _table_html(frame: pd.DataFrame, max_rows: int) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for rec in frame.head(max_rows).itertuples(index=False):
        cells = []
        for v in rec:
            text, numeric = _cell(v.item() if hasattr(v, "item") else v)
            cls = ' class="n"' if numeric else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<p>……另有{len(frame) - max_rows}行</p>" if len(frame) > max_rows else "")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def write_plan_summary_html(
    path: str | Path,
    *,
    title: str = "城镇老旧小区改造年度计划概要",
    images: Mapping[str, str | Path | bytes] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    facts: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    max_rows: int = 200,
) -> Path:
    """Write a one-page offline HTML summary: facts, charts (embedded) and tables.

    Parameters
    ----------
    path
        Target ``.html``.
    title
        Page title.
    images
        Caption → PNG (a path or the bytes), embedded as ``data:image/png;base64``.
    tables
        Caption → table (headers as shown), at most ``max_rows`` rows each.
    facts
        Label → value, shown first (e.g. 全覆盖: 否, 尚需追加预算: …).
    notes
        Paragraphs shown at the end (assumptions, sources).

    Returns
    -------
    pathlib.Path
        The written file. All text is HTML-escaped; nothing is loaded from the network.
    """
    from yulin_gis.io import atomic_path

    parts = [(f"<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
              f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
              f"<h1>{html.escape(title)}</h1>")]
    if facts:
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_cell(v)[0])}</td></tr>"
                       for k, v in facts.items())
        parts.append(f'<table class="facts">{rows}</table>')
    for caption, image in (images or {}).items():
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        b64 = base64.b64encode(data).decode("ascii")
        parts.append(f"<h2>{html.escape(str(caption))}</h2>"
                     f'<img alt="{html.escape(str(caption), quote=True)}" '
                     f'src="data:image/png;base64,{b64}">')
    for caption, frame in (tables or {}).items():
        parts.append(f"<h2>{html.escape(str(caption))}</h2>{_table_html(frame, max_rows)}")
    parts += [f"<p>{html.escape(str(n))}</p>" for n in notes]
    parts.append("</body></html>\n")
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text("".join(parts), encoding="utf-8")
    return target
