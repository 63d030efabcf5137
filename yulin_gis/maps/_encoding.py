"""The data format of the compact map layers and the Python side of our JavaScript runtime.

Each :class:`~yulin_gis.maps._elements.CompactLayer` writes its layer as one JSON document in
a ``<script type="application/json" class="yulin-data">`` element; the runtime
(``yulin_gis/static/yulinmap.js`` and ``yulinmap.css``, our own code, put once in the page
header by the folium elements) reads it. This module holds the format:
:func:`encode_varints`, :func:`encode_geometry`, :func:`encode_field` and their inverses
used by the tests. The runtime only uses Leaflet's public API, and every piece of user text
reaches the page through ``textContent`` (never ``innerHTML``).

What the runtime does (``window.yulinCompact(map)`` returns one controller per map):

* decodes the compact geometry (quantised integer coordinates, delta-encoded, written as
  variable-length digits of an 89-character alphabet; see :func:`encode_varints`) and the
  columnar attributes (a dictionary of distinct values per field, prefix/suffix-coded when
  long, plus one code per feature; see :func:`encode_field`);
* draws each layer with one style per legend class, never one per feature. Small layers
  (SVG) and labelled layers get one Leaflet object per feature. Canvas layers (above
  ``canvas_threshold`` features) are *packed*: coordinates stay in typed arrays in Web
  Mercator metres, are projected on each view change, simplified to 1 px and drawn class by
  class on one ``L.Canvas`` subclass; hover and click use a uniform grid index and
  point-in-polygon tests, with a highlight outline, tooltip and popup. (Creating tens of
  thousands of ``L.Polygon`` objects is what makes big Leaflet maps slow: mostly garbage
  collection.) Hidden layers are built on first display;
* the controls our elements ask for: legend (with counts), "style by" switch, search and
  title (the layer panel, fullscreen, measurement and minimap are folium's);
* exposes the controller as ``window.yulinMap`` (``map``, ``layers``, ``ready``,
  ``stats()``, ``search(text)``, ``show(layer, feature)``, ``bounds(layer, feature)``,
  ``setStyle(layer, option)``, ``t`` timings) for tests, benchmarks and embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "Formatter",
    "decode_field",
    "decode_geometry",
    "decode_varints",
    "display_value",
    "encode_field",
    "encode_geometry",
    "encode_varints",
    "infer_kind",
    "lonlat_transform",
    "runtime_css",
    "runtime_js",
]

Formatter = str | Callable[[Any], str]

_ALPHABET = np.frombuffer(
    bytes(c for c in range(0x21, 0x7F) if chr(c) not in "\"\\<>&"), dtype=np.uint8
)
_FINAL, _CONT = 70, 19  # 70 final digits + 19 continuation digits = 89 characters
_DECODE = {c: i for i, c in enumerate(_ALPHABET.tobytes().decode("ascii"))}


@cache
def runtime_js() -> str:
    """Return the page runtime (``static/yulinmap.js``)."""
    return resources.files("yulin_gis.maps").joinpath("static/yulinmap.js").read_text("utf-8")


@cache
def runtime_css() -> str:
    """Return the page styles (``static/yulinmap.css``)."""
    return resources.files("yulin_gis.maps").joinpath("static/yulinmap.css").read_text("utf-8")


def encode_varints(values: NDArray[np.integer[Any]] | Sequence[int]) -> str:
    """Encode non-negative integers as variable-length digits of an 89-character alphabet.

    The alphabet is printable ASCII without ``" \\ < > &`` (safe in a JSON string inside a
    ``<script>`` element without escaping). A value is written little-endian as zero or more
    "continuation" digits (base 19, characters 70–88 of the alphabet) and one "final" digit
    (base 70, characters 0–69): values below 70 take one character, below 1,330 two,
    below 25,270 three. Vectorised.
    """
    v = np.asarray(values, dtype=np.int64)
    if v.size == 0:
        return ""
    if v.min() < 0:
        raise ValueError("encode_varints needs non-negative integers (zigzag first)")
    u = v.astype(np.int32) if v.max() < 2**31 else v  # narrower arrays are faster
    n = np.ones(u.size, dtype=np.int8)
    cap = _FINAL
    while True:
        more = u >= cap
        if not more.any():
            break
        n += more
        cap *= _CONT
    width = int(n.max())
    out = np.empty((u.size, width), dtype=np.uint8)
    last, q = n - 1, u
    for j in range(width):  # digit j: (u // 19**j) % 19 + 70, or the final u // 19**j
        nxt = q // _CONT
        out[:, j] = _ALPHABET.take(np.where(last == j, q, q - nxt * _CONT + _FINAL))
        q = nxt
    used = np.arange(width)[None, :] < n[:, None]
    return out[used].tobytes().decode("ascii")


def decode_varints(text: str, zigzag: bool = False) -> NDArray[np.int64]:
    """Decode :func:`encode_varints` output (optionally undoing zigzag signs)."""
    out: list[int] = []
    value, mult = 0, 1
    for ch in text:
        c = _DECODE[ch]
        if c >= _FINAL:
            value += (c - _FINAL) * mult
            mult *= _CONT
            continue
        out.append(value + c * mult)
        value, mult = 0, 1
    arr = np.asarray(out, dtype=np.int64)
    if zigzag:
        arr = (arr >> 1) ^ -(arr & 1)
    return arr


def _zigzag(d: NDArray[np.int64]) -> NDArray[np.int64]:
    return (d << 1) ^ (d >> 63)


def _counts(c: NDArray[np.integer[Any]]) -> str | None:
    """Encode per-item counts, or None when they are all 1 (the page's default)."""
    return None if c.size == 0 or bool(np.all(c == 1)) else encode_varints(c)


# ---------------------------------------------------------------- geometry

def _transformer(wkt: str) -> Any:
    from yulin_gis.crs import transformer

    return transformer(wkt, "EPSG:4326")


def lonlat_transform(gdf: gpd.GeoDataFrame) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """Return a function mapping an (n, 2) array of the layer's x/y to lon/lat (EPSG:4326)."""
    epsg = gdf.crs.to_epsg() if gdf.crs is not None else None
    if epsg in (4326, 4490):  # CGCS2000 equals WGS84 at map scale
        return lambda xy: xy
    tr = _transformer(gdf.crs.to_wkt())

    def _apply(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return _apply


def infer_kind(geoms: NDArray[Any]) -> str | None:
    """Return "point", "line" or "polygon" for shapely geometries of one kind, else None."""
    import shapely

    types = set(shapely.get_type_id(geoms).tolist())
    for kind, ids in (("point", {0, 4}), ("line", {1, 2, 5}), ("polygon", {3, 6})):
        if types <= ids:
            return kind
    return None


def encode_geometry(
    geoms: NDArray[Any], kind: str, to_lonlat: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    decimals: int, shift: Callable[..., tuple[NDArray[np.float64], NDArray[np.float64]]] | None,
) -> tuple[dict[str, Any], NDArray[np.float64]]:
    """Encode drawable geometries; return the page record and each one's lon/lat box.

    The boxes are ``(n, 4)``: west, south, east, north.
    """
    import shapely

    parts = rings = None
    starts: NDArray[Any] = np.arange(len(geoms))
    if kind == "point":
        single = shapely.get_type_id(geoms) == 0
        geoms = np.where(single, geoms, shapely.centroid(geoms))
        xy = shapely.get_coordinates(geoms)
        verts = None
    else:
        if kind == "polygon":  # exteriors counter-clockwise, holes clockwise: "nonzero" fill
            geoms = shapely.orient_polygons(geoms)
        gtype, xy, offsets = shapely.to_ragged_array(geoms, include_z=False)
        if kind == "polygon":
            ring_off = offsets[0]
            keep = np.ones(len(xy), dtype=bool)
            keep[ring_off[1:] - 1] = False  # the page closes rings itself
            xy = xy[keep]
            verts = np.diff(ring_off) - 1
            rings = np.diff(offsets[1])
            parts = np.diff(offsets[2]) if gtype == shapely.GeometryType.MULTIPOLYGON else None
            first_ring = offsets[1][offsets[2][:-1] if parts is not None else starts]
            starts = ring_off[first_ring] - first_ring  # one closing vertex dropped per ring
        else:
            verts = np.diff(offsets[0])
            parts = np.diff(offsets[1]) if gtype == shapely.GeometryType.MULTILINESTRING else None
            starts = offsets[0][offsets[1][:-1] if parts is not None else starts]
    xy = to_lonlat(np.asarray(xy, dtype=np.float64))
    if shift is not None:
        sx, sy = shift(xy[:, 0], xy[:, 1])
        xy = np.column_stack([sx, sy])
    scale = 10 ** decimals
    q = np.rint(xy * scale).astype(np.int64)
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).reshape(-1)
    record = {
        "scale": scale,
        "c": encode_varints(_zigzag(d)),
        "p": None if parts is None else _counts(parts),
        "r": None if rings is None else _counts(rings),
        "v": None if verts is None else encode_varints(verts),
    }
    boxes = np.column_stack([np.minimum.reduceat(xy[:, 0], starts),
                             np.minimum.reduceat(xy[:, 1], starts),
                             np.maximum.reduceat(xy[:, 0], starts),
                             np.maximum.reduceat(xy[:, 1], starts)])
    return record, boxes


def decode_geometry(record: Mapping[str, Any], kind: str, n: int) -> list[Any]:
    """Rebuild shapely geometries (lon/lat) from a layer's encoded geometry record.

    The inverse of the page encoding, used to test it; ring closing vertices are restored.
    """
    import shapely

    sc = float(record["scale"])
    xy = np.cumsum(decode_varints(record["c"], zigzag=True).reshape(-1, 2), axis=0) / sc
    parts = decode_varints(record["p"]) if record.get("p") else np.ones(n, dtype=np.int64)
    rings = decode_varints(record["r"]) if record.get("r") else None
    verts = decode_varints(record["v"]) if record.get("v") else None
    out: list[Any] = []
    ci = pi = vi = 0
    for f in range(n):
        pieces: list[Any] = []
        for _ in range(int(parts[f])):
            if kind == "point":
                pieces.append(shapely.Point(xy[ci]))
                ci += 1
                continue
            nr = int(rings[pi]) if rings is not None else 1
            pi += 1
            coords = []
            for _ in range(nr if kind == "polygon" else 1):
                nv = int(verts[vi]) if verts is not None else 0
                vi += 1
                coords.append(xy[ci:ci + nv])
                ci += nv
            if kind == "polygon":
                pieces.append(shapely.Polygon(coords[0], coords[1:]))
            else:
                pieces.append(shapely.LineString(coords[0]))
        if len(pieces) == 1:
            out.append(pieces[0])
        elif kind == "polygon":
            out.append(shapely.MultiPolygon(pieces))
        else:
            out.append(shapely.MultiLineString(pieces))
    return out


def display_value(value: Any) -> str:
    """Format one attribute value for display (是/否, integers without ".0", 2 decimals)."""
    if isinstance(value, bool | np.bool_):
        return "是" if value else "否"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else f"{f:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def encode_field(series: pd.Series, fmt: Formatter | None) -> dict[str, Any]:
    """Encode one attribute column: distinct display values and one code per feature.

    Returns ``{"dict": [...], "codes": str | None}``; ``codes`` is None when every row has
    its own value in row order (e.g. unique names); missing values map to a ``null`` entry.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    kind = getattr(uniques, "dtype", np.dtype(object)).kind
    raw = uniques.tolist()  # one conversion (iterating an Arrow-backed index is slow)
    if fmt is None and kind in "OTU" and all(type(u) is str for u in raw):
        values: list[str | None] = raw  # text: nothing to format
    elif fmt is None and kind in "iu":
        values = [str(u) for u in raw]
    elif fmt is None:
        values = [display_value(u) for u in raw]
    elif isinstance(fmt, str):
        values = [fmt.format(u) for u in raw]
    else:
        values = [fmt(u) for u in raw]
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(values), codes)
        values.append(None)
    identity = len(values) == len(codes) and bool(np.all(codes == np.arange(len(codes))))
    record: dict[str, Any] = {"dict": values, "codes": None if identity else encode_varints(codes)}
    if len(values) >= _FRONT_MIN:
        coded = _front_code(values)
        if coded is not None:
            record["dict"], record["fc"] = coded, 1
    return record


_FRONT_MIN = 64  # distinct values before prefix/suffix coding is tried
_FRONT_MAX = 40  # longest shared prefix or suffix written (one character each)
_DIGIT_CHARS = [chr(48 + i) for i in range(_FRONT_MAX + 1)]


def _shared_with_previous(texts: list[str]) -> NDArray[np.int64]:
    """For i ≥ 1, the length of the common prefix of ``texts[i]`` and ``texts[i - 1]``, at
    most :data:`_FRONT_MAX` (only that many characters are compared, as fixed-width arrays)."""
    width = max(1, min(_FRONT_MAX, max(map(len, texts))))
    chars = np.array(texts, dtype=f"<U{width}").view(np.uint32).reshape(len(texts), width)
    same = (chars[1:] == chars[:-1]) & (chars[1:] != 0)
    return np.where(same.all(axis=1), width, same.argmin(axis=1)).astype(np.int64)


def _front_code(values: list[str | None]) -> list[str | None] | None:
    """Write each string as (shared prefix, shared suffix) with the previous one + the rest.

    Entry ``chr(48 + p) + chr(48 + s) + middle`` stands for ``prev[:p] + middle +
    prev[len(prev) - s:]``, where ``prev`` is the previous non-null value. Returns None when
    it would not save at least 10 % (or values are not all text).
    """
    idx = [i for i, v in enumerate(values) if v is not None]
    texts = [v for v in values if isinstance(v, str)]
    if len(texts) < 2 or len(texts) != len(idx):
        return None
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    pre = _shared_with_previous(texts)
    # common suffix of the whole strings (their last characters, reversed), then of the rests
    suf = _shared_with_previous([t[:-_FRONT_MAX - 1:-1] for t in texts])
    suf = np.minimum(suf, np.minimum(lens[1:], lens[:-1]) - pre)
    ch = _DIGIT_CHARS
    coded = [ch[0] + ch[0] + texts[0]]
    coded += [ch[p] + ch[q] + c[p:len(c) - q]
              for p, q, c in zip(pre.tolist(), suf.tolist(), texts[1:], strict=True)]
    if sum(map(len, coded)) > 0.9 * int(lens.sum()):  # characters: Chinese text dominates
        return None
    out: list[str | None] = list(values)
    for i, c in zip(idx, coded, strict=True):
        out[i] = c
    return out


def decode_field(record: Mapping[str, Any]) -> list[str | None]:
    """Return a field's distinct display values, undoing prefix/suffix coding."""
    values = list(record["dict"])
    if not record.get("fc"):
        return values
    prev = ""
    for i, v in enumerate(values):
        if v is None:
            continue
        p, q = ord(v[0]) - 48, ord(v[1]) - 48
        prev = prev[:p] + v[2:] + (prev[len(prev) - q:] if q else "")
        values[i] = prev
    return values


