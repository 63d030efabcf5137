"""yulin_gis: plan urban old-compound renovation (城镇老旧小区改造) with GIS.

Survey compounds, decide eligibility and renovation items, group them into contiguous
community-based packages (连片规划), schedule annual plans, split costs, hand utilities
their pipeline upgrades, and show it all on offline interactive maps.
"""

from __future__ import annotations

import logging

from yulin_gis.errors import (
    ConservationError,
    CRSError,
    InputFileError,
    OutputError,
    Problem,
    ProfileError,
    SchemaError,
    ValidationError,
    YulinGisError,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "CRSError",
    "ConservationError",
    "InputFileError",
    "OutputError",
    "Problem",
    "ProfileError",
    "SchemaError",
    "ValidationError",
    "YulinGisError",
    "__version__",
]
