"""Input and output: readers (files), schema and aliases, validation, value parsing, spreadsheets and atomic writes (输入输出与校验).

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.io._divisions import (
        COMMUNITY_UNKNOWN,
        county_from_address,
        fill_divisions,
        match_community,
    )
    from yulin_gis.io._filenames import (
        safe_filename,
    )
    from yulin_gis.io._input_rules import (
        InputRules,
        parse_input_rules,
    )
    from yulin_gis.io._layers import (
        LAYER_NAMES,
        Layers,
    )
    from yulin_gis.io._postgis import (
        is_database_url,
        mask_url,
        open_database,
        parse_database_url,
        read_postgis_input,
    )
    from yulin_gis.io._postgis_publish import (
        publish_gpkg,
    )
    from yulin_gis.io._raw import RawLayer
    from yulin_gis.io._readers import (
        atomic_path,
        read_input,
        read_table,
        write_gpkg,
    )
    from yulin_gis.io._schema import (
        GAP_FIELDS,
        LAYERS,
        STATUS_ZH,
        VOCABULARIES,
        header_key,
        match_headers,
        missing_column_problems,
        require_columns,
        require_unique_ids,
        schema_markdown,
    )
    from yulin_gis.io._spreadsheet import (
        formula_like,
        save_workbook,
    )
    from yulin_gis.io._unknowns import (
        VERIFY_STATUS,
    )
    from yulin_gis.io._validate import (
        ValidationReport,
        load_layers,
        validate_input,
    )
    from yulin_gis.io._validation_report import (
        group_lines,
        write_validation_report,
    )
    from yulin_gis.io._values import (
        parse_bool,
        parse_category,
        parse_float,
        parse_int,
        parse_ratio,
        parse_str,
        parse_year,
    )
    from yulin_gis.io._xlsx import (
        Book,
        Sheet,
        Style,
    )

_LAZY = {
    "STATUS_ZH": "_schema",
    "RawLayer": "_raw",
    "COMMUNITY_UNKNOWN": "_divisions",
    "GAP_FIELDS": "_schema",
    "InputRules": "_input_rules",
    "LAYERS": "_schema",
    "LAYER_NAMES": "_layers",
    "Layers": "_layers",
    "VERIFY_STATUS": "_unknowns",
    "VOCABULARIES": "_schema",
    "ValidationReport": "_validate",
    "atomic_path": "_readers",
    "county_from_address": "_divisions",
    "fill_divisions": "_divisions",
    "formula_like": "_spreadsheet",
    "group_lines": "_validation_report",
    "header_key": "_schema",
    "is_database_url": "_postgis",
    "load_layers": "_validate",
    "mask_url": "_postgis",
    "match_community": "_divisions",
    "match_headers": "_schema",
    "missing_column_problems": "_schema",
    "open_database": "_postgis",
    "parse_bool": "_values",
    "parse_category": "_values",
    "parse_database_url": "_postgis",
    "parse_float": "_values",
    "parse_input_rules": "_input_rules",
    "parse_int": "_values",
    "parse_ratio": "_values",
    "parse_str": "_values",
    "parse_year": "_values",
    "publish_gpkg": "_postgis_publish",
    "read_input": "_readers",
    "read_postgis_input": "_postgis",
    "read_table": "_readers",
    "require_columns": "_schema",
    "require_unique_ids": "_schema",
    "safe_filename": "_filenames",
    "save_workbook": "_spreadsheet",
    "Book": "_xlsx",
    "Sheet": "_xlsx",
    "Style": "_xlsx",
    "schema_markdown": "_schema",
    "validate_input": "_validate",
    "write_gpkg": "_readers",
    "write_validation_report": "_validation_report",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "COMMUNITY_UNKNOWN",
    "GAP_FIELDS",
    "LAYERS",
    "LAYER_NAMES",
    "STATUS_ZH",
    "VERIFY_STATUS",
    "VOCABULARIES",
    "Book",
    "InputRules",
    "Layers",
    "RawLayer",
    "Sheet",
    "Style",
    "ValidationReport",
    "atomic_path",
    "county_from_address",
    "fill_divisions",
    "formula_like",
    "group_lines",
    "header_key",
    "is_database_url",
    "load_layers",
    "mask_url",
    "match_community",
    "match_headers",
    "missing_column_problems",
    "open_database",
    "parse_bool",
    "parse_category",
    "parse_database_url",
    "parse_float",
    "parse_input_rules",
    "parse_int",
    "parse_ratio",
    "parse_str",
    "parse_year",
    "publish_gpkg",
    "read_input",
    "read_postgis_input",
    "read_table",
    "require_columns",
    "require_unique_ids",
    "safe_filename",
    "save_workbook",
    "schema_markdown",
    "validate_input",
    "write_gpkg",
    "write_validation_report",
]
