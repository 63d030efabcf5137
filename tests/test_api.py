"""The public API: every exported name resolves."""

from __future__ import annotations

import yulin_gis


def test_every_public_name_resolves() -> None:
    for name in yulin_gis.__all__:
        assert getattr(yulin_gis, name) is not None, name


def test_errors_inherit_builtins() -> None:
    assert issubclass(yulin_gis.SchemaError, ValueError)
    assert issubclass(yulin_gis.InputFileError, OSError)
    assert issubclass(yulin_gis.ValidationError, yulin_gis.YulinGisError)
