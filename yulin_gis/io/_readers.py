"""Readers and atomic writers.

Readers return raw layers (headers and values as found in the file) keyed by canonical
layer name; :mod:`yulin_gis.io._validate` turns them into canonical, checked layers.

Supported inputs:

* GeoPackage: layers named ``compounds``, ``communities``, ``roads``, ``utilities``,
  ``facilities`` (Chinese names such as 小区 / 社区 / 道路 / 管线 / 设施 accepted);
* shapefile, with attributes decoded from the ``.cpg`` file, else the DBF language
  byte, else GBK (the usual encoding of Chinese CAD/GIS exports);
* GeoJSON;
* an Excel (``.xlsx``) or CSV survey table (摸底调查表) with lon/lat columns;
* a folder holding any of the above, one file per layer, named after the layer.

Writers go through :func:`atomic_path`: a file is written under a temporary name in the
target folder and renamed into place only when complete, so a crash never leaves a
half-written output that looks complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from yulin_gis.errors import InputFileError, OutputError, Problem
from yulin_gis.io._raw import RawLayer, layer_name_for
from yulin_gis.io._schema import LAYERS, header_key

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = [
    "RawLayer",
    "atomic_path",
    "dbf_encoding",
    "detect_header_row",
    "drop_blank_rows",
    "drop_totals_rows",
    "read_input",
    "read_table",
    "read_vector",
    "write_gpkg",
]

logger = logging.getLogger(__name__)

VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".fgb", ".gml", ".kml", ".zip"}
TABLE_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".csv", ".txt"}

# DBF language driver ids (byte 29 of the header) -> Python codec.
_LDID = {
    0x4D: "gbk", 0x7A: "gbk", 0x4E: "cp949", 0x4F: "big5", 0x4C: "cp936",
    0x57: "cp1252", 0x03: "cp1252", 0x01: "cp437", 0x02: "cp850", 0x58: "cp1252",
    0x59: "cp1252", 0x64: "cp852", 0x65: "cp866", 0x7B: "euc_jp", 0x7C: "cp874",
    0xC8: "cp1250", 0xC9: "cp1251", 0xCA: "cp1254", 0xCB: "cp1253",
}


def dbf_encoding(shp_path: Path) -> str:
    """Return the attribute encoding of a shapefile.

    Order: the ``.cpg`` file; the DBF language byte; GBK (documented default for Chinese
    data, whose exporters often write neither).
    """
    for cpg in (shp_path.with_suffix(".cpg"), shp_path.with_suffix(".CPG")):
        if cpg.exists():
            text = cpg.read_text(encoding="ascii", errors="ignore").strip().lower()
            aliases = {"936": "gbk", "cp936": "gbk", "gb2312": "gbk", "65001": "utf-8",
                       "utf8": "utf-8", "ansi 1252": "cp1252", "1252": "cp1252"}
            return aliases.get(text, text or "gbk")
    dbf = shp_path.with_suffix(".dbf")
    if dbf.exists():
        with dbf.open("rb") as fh:
            header = fh.read(32)
        if len(header) >= 30 and header[29] in _LDID:
            return _LDID[header[29]]
    return "gbk"


def _check_shapefile_parts(path: Path) -> None:
    missing = [s for s in (".shx", ".dbf") if not path.with_suffix(s).exists()
               and not path.with_suffix(s.upper()).exists()]
    if missing:
        raise InputFileError(
            f"{path}: shapefile is incomplete, missing {', '.join(missing)} beside the .shp"
        )


def read_vector(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read one vector layer with pyogrio.

    Raises
    ------
    InputFileError
        When the file is missing, truncated, of an unknown type, or the layer is absent.
    """
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found")
    kwargs: dict[str, object] = {}
    if path.suffix.lower() == ".shp":
        _check_shapefile_parts(path)
        kwargs["encoding"] = dbf_encoding(path)
    try:
        return pyogrio.read_dataframe(path, layer=layer, **kwargs)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        where = f"{path}" + (f" layer {layer}" if layer else "")
        raise InputFileError(f"{where}: cannot be read as a GIS layer ({exc})") from exc


def _read_csv(path: Path, encoding: str) -> pd.DataFrame:
    """Read a CSV; a first line narrower than the rows (a bare title line) is kept as a
    row, so that :func:`detect_header_row` can find the real header below it.

    Tables are read with ``keep_default_na=False``: only empty cells are missing, and
    "N/A", "#N/A", "NULL", "NA" stay text, so that validation reports them as
    placeholders (and a compound named "NA" keeps its name)."""
    import csv

    import pandas as pd

    frame = pd.read_csv(path, dtype=object, encoding=encoding, keep_default_na=False,
                        na_values=[""])
    if isinstance(frame.index, pd.RangeIndex):
        return frame
    with path.open(encoding=encoding, newline="") as fh:
        width = max((len(row) for row in csv.reader(fh)), default=0)
    raw = pd.read_csv(path, dtype=object, encoding=encoding, header=None,
                      keep_default_na=False, na_values=[""], names=list(range(width)))
    names = [str(v) if isinstance(v, str) and v.strip() else f"Unnamed: {j}"
             for j, v in enumerate(raw.iloc[0])]
    out = raw.iloc[1:].reset_index(drop=True)
    out.columns = pd.Index(names)
    return out


def read_table(path: str | Path, sheet: str | int | None = 0) -> pd.DataFrame:
    """Read an Excel or CSV survey table (CSV: UTF-8 with or without BOM, else GBK)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".txt"}:
            try:
                return _read_csv(path, "utf-8-sig")
            except UnicodeDecodeError:
                return _read_csv(path, "gbk")
        return pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=object,  # type: ignore[return-value]
                             keep_default_na=False, na_values=[""])
    except Exception as exc:
        hint = ("; old Excel 97–2003 (.xls) files are not read: save it as .xlsx or CSV in "
                "Excel or WPS") if suffix == ".xls" else ""
        raise InputFileError(f"{path}: cannot be read as a table ({exc}){hint}") from exc


def _read_gpkg(path: Path, problems: list[Problem]) -> dict[str, RawLayer]:
    import pyogrio

    try:
        listed = pyogrio.list_layers(path)
    except Exception as exc:
        raise InputFileError(f"{path}: not a readable GeoPackage ({exc})") from exc
    out: dict[str, RawLayer] = {}
    for layer_name, _geom in listed:
        name = layer_name_for(str(layer_name))
        if name is None:
            if str(layer_name) not in {"layer_styles"}:
                problems.append(Problem("warning", "unknown-layer",
                                        "layer not used by yulin_gis; ignored",
                                        file=str(path), layer=str(layer_name)))
            continue
        if name in out:
            problems.append(Problem("warning", "duplicate-layer",
                                    f"a second layer for {name!r}; ignored",
                                    file=str(path), layer=str(layer_name)))
            continue
        frame = read_vector(path, layer=str(layer_name))
        out[name] = RawLayer(name, frame, f"{path}:{layer_name}")
    return out


_HEADER_SCAN_ROWS = 10


def _known_headers(name: str) -> set[str]:
    spec = LAYERS[name]
    keys = {header_key(a) for fs in spec.fields for a in (fs.name, *fs.aliases)}
    return keys - {""}


def _header_score(cells: list[object], known: set[str]) -> int:
    return len({header_key(c) for c in cells if isinstance(c, str)} & known)


def _scan_header(frame: pd.DataFrame, known: set[str]) -> tuple[int | None, int]:
    """The best header row (None = pandas' header) and its count of known headers."""
    best, best_score = None, _header_score([str(c) for c in frame.columns], known)
    for i in range(min(_HEADER_SCAN_ROWS, len(frame))):
        score = _header_score(list(frame.iloc[i]), known)
        if score > max(best_score, 1):
            best, best_score = i, score
    return best, best_score


def detect_header_row(frame: pd.DataFrame, layer: str) -> int | None:
    """Find the real header row of a table with a title or merged group row above it.

    Returns the 0-based data row holding more known headers of ``layer`` (at least two)
    than the header pandas took, or None when the first row is the header.
    """
    return _scan_header(frame, _known_headers(layer))[0]


def _pick_sheet(path: Path, name: str, problems: list[Problem] | None) -> pd.DataFrame:
    """The first sheet, or, when it holds fewer than two known headers, the sheet that
    holds most (a cover or notes sheet first in the workbook)."""
    import pandas as pd

    known = _known_headers(name)
    first = read_table(path)
    if path.suffix.lower() in {".csv", ".txt"} or _scan_header(first, known)[1] >= 2:
        return first
    try:
        sheets: dict[str, pd.DataFrame] = {
            str(k): v for k, v in pd.read_excel(path, sheet_name=None, dtype=object,
                                                keep_default_na=False, na_values=[""]).items()}
    except Exception:  # the first sheet was readable: keep it
        return first
    ranked = sorted(((_scan_header(f, known)[1], -i, n) for i, (n, f)
                     in enumerate(sheets.items())), reverse=True)
    score, order, sheet = ranked[0]
    if score < 2 or order == 0:
        return first
    if problems is not None:
        problems.append(Problem("warning", "sheet-chosen", f"the first sheet holds no "
                                f"{name} table; read sheet {sheet!r} instead",
                                file=str(path), layer=name))
    return sheets[sheet]


def _sub_header(frame: pd.DataFrame, row: int, known: set[str]) -> bool:
    """True when ``row`` below a header holds only header cells (a merged two-row header
    such as 坐标 over 经度 | 纬度): known headers and blanks, no data."""
    if row >= len(frame):
        return False
    cells = list(frame.iloc[row])
    texts = [c for c in cells if not (c is None or (isinstance(c, float) and c != c)
                                      or (isinstance(c, str) and not c.strip()))]
    return bool(texts) and all(isinstance(c, str) and header_key(c) in known for c in texts)


def _promote_header(frame: pd.DataFrame, row: int, known: set[str] | None = None) -> pd.DataFrame:
    import pandas as pd

    if known and _sub_header(frame, row + 1, known):
        below = frame.iloc[row + 1]
        merged = frame.iloc[row].copy()
        for j, cell in enumerate(below):
            if isinstance(cell, str) and cell.strip():
                merged.iloc[j] = cell
        frame = frame.copy()
        frame.iloc[row + 1] = merged
        row += 1

    names = [str(v).strip() if isinstance(v, str) and v.strip() else f"Unnamed: {j}"
             for j, v in enumerate(frame.iloc[row])]
    for j, name in enumerate(names):  # a header merged down over two rows sits above
        above = [frame.iloc[r, j] for r in range(row - 1, max(row - 3, -1), -1)]
        above.append(frame.columns[j])
        text = next((str(v).strip() for v in above if isinstance(v, str) and v.strip()
                     and not str(v).startswith("Unnamed:")), None)
        if name.startswith("Unnamed:") and text is not None:
            names[j] = text
    out = frame.iloc[row + 1:].reset_index(drop=True)
    out.columns = pd.Index(names)
    return out


def drop_blank_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """Drop rows with no value and no geometry (blank rows typed or left below a table).

    Returns the frame and the 1-based numbers of the dropped data rows.
    """
    if len(frame) == 0:
        return frame, []
    rows = np.arange(len(frame))  # rows still blank in every column seen so far
    for col in frame.columns:
        series = frame[col].iloc[rows]
        if col == "geometry":
            blank = np.fromiter((g is None or getattr(g, "is_empty", False) for g in series),
                                dtype=bool, count=len(series))
        elif series.dtype == object or str(series.dtype) == "string":
            text = series.astype("string").str.strip()
            blank = (series.isna() | text.eq("").fillna(True)).to_numpy(dtype=bool)
        else:
            blank = series.isna().to_numpy(dtype=bool)
        rows = rows[blank]
        if len(rows) == 0:
            return frame, []
    keep = np.ones(len(frame), dtype=bool)
    keep[rows] = False
    return frame[keep].reset_index(drop=True), [int(i) + 1 for i in rows]


_TOTALS = {"合计", "总计", "小计", "共计", "累计", "总数", "合计数", "total", "totals", "sum", "subtotal"}


#: An ASCII text holding one of these can never read as a totals word (digits and letters
#: outside t, o, a, l, s, u, m, b survive :func:`header_key`).
_NOT_TOTALS_ASCII = re.compile(r"[0-9cdefghijknpqrvwxyz]", re.IGNORECASE)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_totals_word(text: str) -> bool:
    """``header_key(text)`` is a totals word (合计, total ...), with a quick ASCII refusal."""
    if text.isascii() and _NOT_TOTALS_ASCII.search(text):
        return False
    return header_key(text) in _TOTALS


def drop_totals_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """Drop totals rows (合计 / 总计 / 小计) typed at the bottom of a table.

    A row is a totals row when one of its first three columns reads 合计 (or 总计, 小计,
    共计, total ...) and it has no geometry. Returns the frame and the 1-based numbers of
    the dropped data rows.
    """
    cols = [c for c in frame.columns if c != "geometry"][:3]
    if not cols or len(frame) == 0:
        return frame, []
    hit = np.zeros(len(frame), dtype=bool)
    for c in cols:
        values = frame[c].tolist()
        totals = set(filter(_is_totals_word, set(filter(_is_str, values))))
        if totals:
            hit |= np.array([_is_str(v) and v in totals for v in values], dtype=bool)
    if "geometry" in frame.columns and hit.any():
        rows = np.flatnonzero(hit)
        geoms = frame["geometry"].iloc[rows]
        hit[rows] = [g is None or getattr(g, "is_empty", False) for g in geoms]
    if not hit.any():
        return frame, []
    return frame[~hit].reset_index(drop=True), [int(i) + 1 for i in np.flatnonzero(hit)]


def _read_one(path: Path, name: str, problems: list[Problem] | None = None) -> RawLayer:
    import pandas as pd

    if path.suffix.lower() in TABLE_SUFFIXES:
        frame = _pick_sheet(path, name, problems)
        row = detect_header_row(frame, name)
        known = _known_headers(name)
        if row is None and _sub_header(frame, 0, known):  # pandas' header + a merged second row
            frame = _promote_header(pd.concat([frame.columns.to_frame().T, frame]), 0, known)
            row = -1
        elif row is not None:
            frame = _promote_header(frame, row, known)
        if row is not None and problems is not None:
            problems.append(Problem(
                "warning", "header-row", f"headers found in spreadsheet row {row + 2} "
                f"(rows above it are a title or merged group headers and are skipped; a "
                f"second header row of merged cells is read with it)", file=str(path),
                layer=name))
        return RawLayer(name, frame, str(path), from_table=True)
    return RawLayer(name, read_vector(path), str(path))


def read_input(path: str | Path, problems: list[Problem] | None = None) -> dict[str, RawLayer]:
    """Read every layer an input path holds.

    Parameters
    ----------
    path
        A GeoPackage, a single compound layer (shapefile, GeoJSON), a survey table
        (xlsx/csv), a folder of files named after the layers, or a PostGIS URL
        ``postgresql://USER@HOST:PORT/DBNAME?schema=NAME`` (see :mod:`yulin_gis.io._postgis`).
    problems
        A list that receives warnings (e.g. layers that are ignored).

    Raises
    ------
    InputFileError
        When the path is missing, of an unknown type, or unreadable.
    DatabaseError
        When a PostGIS URL cannot be reached or used.
    """
    problems = problems if problems is not None else []
    if isinstance(path, str) and path.lower().startswith(("postgresql:", "postgres:")):
        from yulin_gis.io._postgis import read_postgis_input

        return read_postgis_input(path, problems=problems)
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: input not found")
    if path.is_dir():
        out: dict[str, RawLayer] = {}
        for child in sorted(path.iterdir()):
            suffix = child.suffix.lower()
            if suffix not in VECTOR_SUFFIXES | TABLE_SUFFIXES or suffix == ".zip":
                continue
            name = layer_name_for(child.stem)
            if name is None or name in out:
                problems.append(Problem("warning", "unknown-layer",
                                        "file name matches no layer (or a second file for "
                                        "one); ignored", file=str(child)))
                continue
            out[name] = _read_one(child, name, problems)
        if not out:
            raise InputFileError(f"{path}: folder holds no layer files named after a layer "
                                 "(compounds, communities, roads, utilities, facilities)")
        return out
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        return _read_gpkg(path, problems)
    if suffix in VECTOR_SUFFIXES | TABLE_SUFFIXES:
        name = layer_name_for(path.stem) or "compounds"
        return {name: _read_one(path, name, problems)}
    raise InputFileError(
        f"{path}: unknown file type {suffix!r}; expected .gpkg, .shp, .geojson, .xlsx or .csv"
    )


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On an exception the temporary file is removed and ``target`` is left untouched.

    Raises
    ------
    OutputError
        When the folder cannot be created or written.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part" + target.suffix,
                                        dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target.parent}: cannot write output here ({exc})") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"{target}: nothing was written")
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise OutputError(f"{target}: cannot be put in place ({exc})") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_gpkg(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path,
               finish: Callable[[Path], object] | None = None) -> Path:
    """Write several layers into one GeoPackage atomically (all or nothing).

    Parameters
    ----------
    layers
        Layer name → frame, written in this order.
    path
        Target ``.gpkg``.
    finish
        Called with the temporary file after the layers are written and before it is
        renamed into place (e.g. to add QGIS default styles).
    """
    import pyogrio

    path = Path(path)
    with atomic_path(path) as tmp:
        for name, frame in layers.items():
            try:
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
            except Exception as exc:
                raise OutputError(f"{path}: writing layer {name} failed ({exc})") from exc
        if finish is not None:
            finish(tmp)
    logger.info("wrote %s (%s)", path, ", ".join(layers))
    return path
