"""What the web maps of one run share (:class:`MapCache`): layers built once, encoded once.

The CLI writes an overview, one map per county and one per utility company. Most layers are
the same on several of them (boundaries on every map, the compounds and packages on the
overview and every utility map, the networks on the overview and the county maps), so
each is built, reprojected and encoded once and its page record reused. Per-county and
per-company layers are built once per county or company. A page made with the cache is
the same page as one made without it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from yulin_gis.maps._assets import RasterOverlay
    from yulin_gis.maps._layer_data import MapLayer

__all__ = ["MapCache"]

T = TypeVar("T")


class MapCache:
    """Layers and encodings shared by several maps of the same data.

    Give one cache to every :func:`yulin_gis.plan_map` call on one source (as the CLI
    does for its overview, per-county and per-utility maps); each layer is then built,
    reprojected and encoded once. Entries are keyed by object identity: the source's
    GeoDataFrames must not be changed in place while the cache is in use (make a new
    cache after changing them).

    Example::

        cache = MapCache()
        for county in ("玉州区", "福绵区"):
            save_map(plan_map(result, county=county, cache=cache), f"maps/{county}.html")
    """

    def __init__(self) -> None:
        self._built: dict[Hashable, tuple[Any, Any]] = {}
        self._encoded: dict[tuple[int, int, Any], tuple[MapLayer, Any]] = {}
        self._rasters: dict[tuple[int, Any], tuple[RasterOverlay, dict[str, Any]]] = {}

    def built(self, key: Hashable, keep: Any, make: Callable[[], T]) -> T:
        """Return ``make()``, made once per ``key``; ``keep`` (the objects whose identity
        the key holds) is kept alive with the entry so their ids stay unique."""
        hit = self._built.get(key)
        if hit is None:
            hit = self._built[key] = (keep, make())
        return hit[1]  # type: ignore[no-any-return]

    def encoded(self, layer: MapLayer, decimals: int, shift: Any) -> tuple[
            dict[str, Any], NDArray[np.float64], list[str]]:
        """:func:`~yulin_gis.maps._layer_data.encode_layer` of ``layer``, once per layer
        object; the record is a fresh (shallow) copy each time."""
        from yulin_gis.maps._layer_data import encode_layer

        key = (id(layer), decimals, shift)
        hit = self._encoded.get(key)
        if hit is None or hit[0] is not layer:
            hit = self._encoded[key] = (layer, encode_layer(layer, decimals, shift))
        record, boxes, skipped = hit[1]
        return dict(record), boxes, list(skipped)

    def raster(self, overlay: RasterOverlay, shift: Any) -> dict[str, Any]:
        """:func:`~yulin_gis.maps._assets.raster_overlay_payload`, once per overlay."""
        from yulin_gis.maps._assets import raster_overlay_payload

        key = (id(overlay), shift)
        hit = self._rasters.get(key)
        if hit is None or hit[0] is not overlay:
            hit = self._rasters[key] = (overlay, raster_overlay_payload(overlay, shift))
        return dict(hit[1])
