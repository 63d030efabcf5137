"""Reports (成果表): workbooks for counties, departments and utility companies, and charts.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.reports._charts import (
        chart_progress,
        cjk_font_family,
        plan_charts,
        write_plan_summary_html,
    )
    from yulin_gis.reports._company_workbooks import (
        write_company_workbooks,
    )
    from yulin_gis.reports._docmeta import (
        budget_constrained,
        parameters_frame,
        plan_notes,
        profile_labels,
    )
    from yulin_gis.reports._duties import (
        load_duties,
    )
    from yulin_gis.reports._labels import (
        UNCONSTRAINED_ZH,
        official_frame,
        official_value,
        wan,
        zh_text,
    )
    from yulin_gis.reports._plan_workbooks import (
        HEADER_ROW,
        PLAN_COLUMNS_ZH,
        funding_table,
        plan_table,
        summary_tables,
        write_city_summary_workbook,
        write_plan_workbooks,
        write_workbook,
    )
    from yulin_gis.reports._schemes import (
        management_model,
        safe_name,
        write_scheme_workbooks,
    )
    from yulin_gis.reports._task_lists import (
        department_tasks,
        item_table,
        quantity_display,
        utility_tasks,
        verification_table,
        write_survey_workbook,
        write_task_workbooks,
    )

_LAZY = {
    "verification_table": "_task_lists",
    "HEADER_ROW": "_plan_workbooks",
    "PLAN_COLUMNS_ZH": "_plan_workbooks",
    "UNCONSTRAINED_ZH": "_labels",
    "budget_constrained": "_docmeta",
    "chart_progress": "_charts",
    "cjk_font_family": "_charts",
    "department_tasks": "_task_lists",
    "funding_table": "_plan_workbooks",
    "item_table": "_task_lists",
    "load_duties": "_duties",
    "management_model": "_schemes",
    "official_frame": "_labels",
    "official_value": "_labels",
    "parameters_frame": "_docmeta",
    "plan_charts": "_charts",
    "plan_notes": "_docmeta",
    "plan_table": "_plan_workbooks",
    "profile_labels": "_docmeta",
    "quantity_display": "_task_lists",
    "safe_name": "_schemes",
    "summary_tables": "_plan_workbooks",
    "utility_tasks": "_task_lists",
    "wan": "_labels",
    "write_city_summary_workbook": "_plan_workbooks",
    "write_company_workbooks": "_company_workbooks",
    "write_plan_summary_html": "_charts",
    "write_plan_workbooks": "_plan_workbooks",
    "write_scheme_workbooks": "_schemes",
    "write_survey_workbook": "_task_lists",
    "write_task_workbooks": "_task_lists",
    "write_workbook": "_plan_workbooks",
    "zh_text": "_labels",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "HEADER_ROW",
    "PLAN_COLUMNS_ZH",
    "UNCONSTRAINED_ZH",
    "budget_constrained",
    "chart_progress",
    "cjk_font_family",
    "department_tasks",
    "funding_table",
    "item_table",
    "load_duties",
    "management_model",
    "official_frame",
    "official_value",
    "parameters_frame",
    "plan_charts",
    "plan_notes",
    "plan_table",
    "profile_labels",
    "quantity_display",
    "safe_name",
    "summary_tables",
    "utility_tasks",
    "verification_table",
    "wan",
    "write_city_summary_workbook",
    "write_company_workbooks",
    "write_plan_summary_html",
    "write_plan_workbooks",
    "write_scheme_workbooks",
    "write_survey_workbook",
    "write_task_workbooks",
    "write_workbook",
    "zh_text",
]
