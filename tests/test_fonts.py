"""The CJK font: matplotlib's cache refreshed when a font appears later; one warning."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import pytest

import yulin_gis.fonts as fonts


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A font manager whose cached list has no CJK font (as after ``demo`` on a fresh
    machine before fonts-noto-cjk was installed), with its cache in ``tmp_path``."""
    import matplotlib
    from matplotlib import font_manager

    manager = font_manager.fontManager
    without = [f for f in manager.ttflist if not fonts._FILE_HINT.search(Path(f.fname).name)]
    monkeypatch.setattr(manager, "ttflist", without)
    monkeypatch.setattr(matplotlib, "get_cachedir", lambda: str(tmp_path))
    monkeypatch.setattr(logging.getLogger("matplotlib.font_manager"), "level", logging.NOTSET)
    fonts.cjk_font_family.cache_clear()
    yield manager
    fonts.cjk_font_family.cache_clear()
    manager._findfont_cached.cache_clear()


def test_cache_without_cjk_font_is_refreshed(fresh, tmp_path: Path) -> None:
    assert fonts.system_cjk_font_files(), "fonts-noto-cjk must be installed for this test"
    assert fonts._pick(f.name for f in fresh.ttflist) is None
    family = fonts.cjk_font_family()
    assert family is not None and "CJK" in family
    cache = next(tmp_path.glob("fontlist-*.json"))
    names = {f["name"] for f in json.loads(cache.read_text())["ttflist"]}
    assert family in names  # later processes read the refreshed cache


def test_no_cjk_font_one_warning_and_no_glyph_warnings(
        fresh, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        tmp_path: Path) -> None:
    from yulin_gis.reports import _charts as charts

    monkeypatch.setattr(fonts, "system_cjk_font_files", list)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING):
            assert fonts.cjk_font_family() is None
            fig = charts._figure(3, 2)
            ax = fig.add_subplot()
            ax.set_title("玉林市老旧小区改造计划")
            fig.savefig(tmp_path / "t.png")
            assert fonts.cjk_font_family() is None  # cached: no second warning
    font_lines = [r for r in caplog.records if "font" in r.getMessage().lower()]
    assert len(font_lines) == 1, [r.getMessage() for r in font_lines]
    assert not [w for w in caught if "missing from" in str(w.message)]
