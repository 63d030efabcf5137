"""Orchestration (流程): stages, the whole run, output writing and the conservation check.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.pipeline._conservation import (
        check_conservation,
        file_sha256,
    )
    from yulin_gis.pipeline._plan_stage import (
        binding_constraints,
    )
    from yulin_gis.pipeline._progress_run import (
        ProgressResult,
        assess_progress,
    )
    from yulin_gis.pipeline._run import (
        RunResult,
        run,
    )
    from yulin_gis.pipeline._stages import (
        PlanOptions,
        PlanState,
        engine_package_stage,
        engine_survey_stage,
        package_stage,
        plan_stage,
        survey_stage,
    )

_LAZY = {
    "engine_survey_stage": "_stages",
    "engine_package_stage": "_stages",
    "PlanOptions": "_stages",
    "PlanState": "_stages",
    "ProgressResult": "_progress_run",
    "RunResult": "_run",
    "assess_progress": "_progress_run",
    "binding_constraints": "_plan_stage",
    "check_conservation": "_conservation",
    "file_sha256": "_conservation",
    "package_stage": "_stages",
    "plan_stage": "_stages",
    "run": "_run",
    "survey_stage": "_stages",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "PlanOptions",
    "PlanState",
    "ProgressResult",
    "RunResult",
    "assess_progress",
    "binding_constraints",
    "check_conservation",
    "engine_package_stage",
    "engine_survey_stage",
    "file_sha256",
    "package_stage",
    "plan_stage",
    "run",
    "survey_stage",
]
