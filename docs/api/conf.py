"""Sphinx configuration of the yulin_gis API reference (built by scripts/build_docs.sh).

Sphinx with autodoc and napoleon: napoleon ships with Sphinx and reads the numpydoc
sections the code already uses, so the reference needs one dependency and no network;
``-W -n`` turns every warning, and every cross-reference that does not resolve, into an
error.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

project = "yulin_gis"
author = "yulin_gis developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_preprocess_types = False
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
html_theme = "alabaster"
exclude_patterns = ["_build"]
language = "en"
# Offline build: names of other libraries (pandas, geopandas, shapely ...) cannot be
# resolved without intersphinx inventories fetched over the network; everything of
# yulin_gis itself must resolve.
nitpick_ignore_regex = [
    (r"py:.*", (r"(pandas|pd|geopandas|gpd|numpy|np|networkx|nx|shapely|pyproj|folium|matplotlib"
               r"|rasterio|pathlib|os|datetime|collections|typing|dask|openpyxl|xlsxwriter)(\..*)?")),
    (r"py:.*", (r"(Path|DataFrame|GeoDataFrame|GeoSeries|Series|Graph|ndarray|date|datetime"
               r"|Callable|Mapping|Sequence|Iterable|Collection|Any|Literal|ArrayLike)")),
]
napoleon_use_ivar = True
nitpick_ignore_regex += [(r"py:.*", r"(csr_matrix|scipy(\..*)?)")]


def _resolve_by_name(app, env, node, contnode):
    """Resolve ``yulin_gis.module.name`` and bare ``name`` to the one documented object.

    Public names are documented once, as ``yulin_gis.<name>``; docstrings may cite them by
    their module path (``yulin_gis.packaging._packages.make_packages``) or, inside a module, bare.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    last = target.rsplit(".", 1)[-1]
    domain = env.get_domain("py")
    names = [name for name, *_ in domain.get_objects()]
    hits = [n for n in names if n == f"yulin_gis.{last}"] or [
        n for n in names if n.endswith(f".{last}") and n.startswith("yulin_gis.")
        and n.count(".") == 2]
    if len(hits) != 1:
        return None
    node["reftarget"] = hits[0]
    return domain.resolve_xref(env, node.get("refdoc"), app.builder, node.get("reftype"),
                               hits[0], node, contnode)


def setup(app):
    app.connect("missing-reference", _resolve_by_name)
