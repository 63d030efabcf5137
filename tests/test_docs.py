"""Documentation generated from code stays in step with it."""

from __future__ import annotations

from pathlib import Path

from yulin_gis.io import LAYERS, schema_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_schema_doc_is_current() -> None:
    doc = (ROOT / "docs" / "SCHEMA.md").read_text(encoding="utf-8")
    assert doc == schema_markdown() + "\n", "run: python scripts/make_docs.py"


def test_schema_doc_names_every_required_field() -> None:
    doc = schema_markdown()
    for spec in LAYERS.values():
        for name in spec.required_fields:
            assert f"| `{name}` |" in doc
