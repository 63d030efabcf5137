"""Regenerate docs/SCHEMA.md from yulin_gis.io._schema (run after changing the schema)."""

from __future__ import annotations

from pathlib import Path

from yulin_gis.io import schema_markdown

if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "SCHEMA.md"
    target.write_text(schema_markdown() + "\n", encoding="utf-8")
    print(f"wrote {target}")
