"""The CJK font for Chinese text in charts and static maps (matplotlib).

:func:`cjk_font_family` finds an installed font with Chinese glyphs. Matplotlib caches
its font list (``fontlist-*.json`` in its cache folder); a CJK font installed after the
cache was made (e.g. ``yulin-gis demo`` run before ``scripts/test.sh`` installs
fonts-noto-cjk) is invisible to it. When no CJK font is in the list but the system has
one, the new font files are added and the cache rewritten, so this and later runs use
it. Without any CJK font, one warning line is logged and matplotlib's per-glyph
"missing from font" warnings are silenced (the text still renders, as boxes).
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

__all__ = ["CJK_FONT_CANDIDATES", "cjk_font_family", "system_cjk_font_files"]

logger = logging.getLogger(__name__)

CJK_FONT_CANDIDATES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
    "Hiragino Sans GB", "Noto Sans CJK JP", "Noto Serif CJK SC", "AR PL UMing CN",
)
"""Font families tried, in order, for Chinese text."""

_FAMILY_HINT = re.compile(r"CJK|Han Sans|Han Serif|WenQuanYi|YaHei|SimHei|SimSun|PingFang|"
                          r"Hei|Song|Kai|Ming", re.IGNORECASE)
_FILE_HINT = re.compile(r"cjk|wqy|wenquanyi|sourcehan|simhei|simsun|msyh|yahei|pingfang|"
                        r"ukai|uming|droidsansfallback", re.IGNORECASE)


def _pick(names: Iterable[str]) -> str | None:
    """The preferred CJK family among ``names``, or None."""
    present = set(names)
    for family in CJK_FONT_CANDIDATES:
        if family in present:
            return family
    return next((n for n in sorted(present) if _FAMILY_HINT.search(n)), None)


def system_cjk_font_files() -> list[str]:
    """Font files on the system that look like CJK fonts (by file name)."""
    from matplotlib import font_manager

    return sorted(f for f in font_manager.findSystemFonts() if _FILE_HINT.search(Path(f).name))


def _refresh_cache() -> bool:
    """Add CJK font files matplotlib's cached list lacks, and rewrite the cache.

    Returns True when fonts were added.
    """
    import matplotlib
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = {f.fname for f in manager.ttflist}
    new = [f for f in system_cjk_font_files() if f not in known]
    if not new:
        return False
    for path in new:
        try:
            manager.addfont(path)
        except (OSError, RuntimeError, ValueError) as exc:  # a broken font file
            logger.debug("font %s skipped: %s", path, exc)
    cache = Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"
    try:
        font_manager.json_dump(manager, cache)
    except OSError as exc:
        logger.debug("matplotlib font cache %s not rewritten: %s", cache, exc)
    logger.info("matplotlib's font cache lacked %d CJK font file(s) installed later: refreshed",
                len(new))
    return True


def _silence_glyph_warnings() -> None:
    """One warning is enough: hide matplotlib's per-glyph and findfont messages."""
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


@functools.lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """Return the family name of an installed font with Chinese glyphs, or None.

    Refreshes matplotlib's font cache first when the system has a CJK font it does not
    know. Without any, logs one warning and silences the per-glyph warnings.
    """
    from matplotlib import font_manager

    family = _pick(f.name for f in font_manager.fontManager.ttflist)
    if family is None and _refresh_cache():
        family = _pick(f.name for f in font_manager.fontManager.ttflist)
    if family is None:
        logger.warning("no CJK font found (install fonts-noto-cjk): Chinese text in charts and "
                       "static maps will show as boxes")
        _silence_glyph_warnings()
    return family
