"""The layer schema: canonical fields, Chinese header aliases and value vocabularies.

Every input layer is described by a :class:`LayerSpec`. Headers are matched to canonical
English field names through aliases (小区名称 → ``name``, 建成年份 → ``built_year`` ...),
case-, space- and punctuation-insensitively. Categorical values may come in Chinese too
(灰口铸铁 → ``grey_cast_iron``, 燃气 → ``gas``, 幼儿园 → ``kindergarten``): the
vocabularies below map them. Unknown extra columns are kept and carried through.

The full table is rendered for the documentation by :func:`schema_markdown`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "GAP_FIELDS",
    "LAYERS",
    "VOCABULARIES",
    "FieldSpec",
    "LayerSpec",
    "header_key",
    "match_headers",
    "missing_column_problems",
    "require_columns",
    "require_unique_ids",
    "schema_markdown",
]

Kind = Literal["str", "int", "float", "bool", "year", "category", "ratio"]
GeomKind = Literal["polygon", "line", "point", "polygon_or_point"]


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field of a layer.

    Parameters
    ----------
    name
        Canonical English name.
    kind
        How values are parsed: ``str``, ``int``, ``float``, ``bool`` (是/否, 有/无 ...),
        ``year`` ("1998年", "九十年代" ...), ``category`` (mapped through ``vocabulary``)
        or ``ratio`` (0–1; "85%" accepted).
    label_zh
        The Chinese label used in reports and maps.
    aliases
        Other headers accepted for this field (Chinese and English).
    required
        Whether a layer without it is an error.
    vocabulary
        Key of :data:`VOCABULARIES` for ``category`` fields.
    minimum, maximum
        Plausible range; values outside are errors.
    """

    name: str
    kind: Kind
    label_zh: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    vocabulary: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class LayerSpec:
    """An input layer: its geometry kind, id field and fields."""

    name: str
    label_zh: str
    geometry: GeomKind
    id_field: str
    fields: tuple[FieldSpec, ...]
    required_layer: bool = False
    aliases: tuple[str, ...] = field(default=())

    def field(self, name: str) -> FieldSpec:
        """Return the spec of field ``name``."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def required_fields(self) -> tuple[str, ...]:
        """Names of the fields a layer must have."""
        return tuple(f.name for f in self.fields if f.required)

    @property
    def labels_zh(self) -> dict[str, str]:
        """Canonical name → Chinese label, for reports and maps."""
        return {f.name: f.label_zh for f in self.fields}


def _f(name: str, kind: Kind, label: str, *aliases: str, **kw: object) -> FieldSpec:
    return FieldSpec(name, kind, label, (label, *aliases), **kw)  # type: ignore[arg-type]


# --- value vocabularies: canonical value -> accepted spellings (Chinese first) -------------
VOCABULARIES: dict[str, dict[str, tuple[str, ...]]] = {
    "utility": {
        "water_supply": ("给水", "供水", "自来水", "给水管", "供水管", "给水管道", "供水管道", "给水管线",
                         "供水管线", "JS", "water", "water supply"),
        "storm": ("雨水", "雨水管", "雨水管网", "雨水管道", "雨水管线", "YS", "stormwater", "storm drain"),
        "sewer": ("污水", "污水管", "污水管网", "污水管道", "污水管线", "WS", "sewage", "wastewater"),
        "combined_sewer": ("雨污合流", "合流", "合流管", "合流制", "combined", "combined sewer"),
        "gas": ("燃气", "天然气", "燃气管", "燃气管道", "燃气管线", "天然气管道", "煤气", "RQ",
                "natural gas"),
        "power": ("电力", "供电", "电缆", "电力电缆", "电力线", "电力管线", "供电线路", "强电", "路灯", "DL", "高压", "低压", "10kV",
                  "0.4kV", "power", "electricity", "electric"),
        "telecom": ("通信", "弱电", "电信", "通讯", "光缆", "移动", "联通", "铁塔", "通信管线", "通信管道", "TX",
                    "网络", "communications"),
        "cable_tv": ("有线电视", "广电", "广播电视", "cable", "catv"),
    },
    "material": {
        "grey_cast_iron": ("灰口铸铁", "灰铸铁", "灰口铸铁管", "灰铸铁管", "灰口铁", "grey iron",
                           "gray cast iron", "cast_iron_grey"),
        "unlined_cast_iron": ("无内衬铸铁", "无内衬灰口铸铁", "铸铁", "铸铁管", "cast iron", "cast_iron"),
        "ductile_iron": ("球墨铸铁", "球墨铸铁管", "球墨", "球墨管", "球铁", "QT", "ductile iron", "di"),
        "steel": ("钢", "钢管", "无缝钢管", "焊接钢管", "螺旋钢管", "直缝钢管", "普通钢管", "steel pipe",
                  "steel"),
        "steel_plastic": ("钢塑", "钢塑管", "钢塑复合管", "衬塑钢管", "涂塑钢管", "钢丝网骨架塑料复合管",
                          "钢骨架聚乙烯", "steel-plastic composite"),
        "galvanized_steel": ("镀锌钢管", "镀锌管", "镀锌钢", "镀锌", "热镀锌钢管", "galvanised steel",
                             "galvanized"),
        "pe": ("聚乙烯", "PE", "PE管", "HDPE", "HDPE管", "HDPE双壁波纹管", "PE100", "PE80", "高密度聚乙烯",
               "聚乙烯管", "双壁波纹管", "PE-RT", "polyethylene"),
        "ppr": ("PPR", "PP-R", "PPR管", "无规共聚聚丙烯", "聚丙烯", "PP"),
        "pvc": ("PVC", "UPVC", "U-PVC", "PVC-U", "PVC管", "UPVC管", "PVC-M", "PVC-O", "聚氯乙烯",
                "硬聚氯乙烯", "塑料", "塑料管"),
        "grp": ("玻璃钢", "玻璃钢管", "玻璃钢夹砂管", "夹砂玻璃钢管", "FRP", "GRP", "RPM"),
        "brick": ("砖砌", "砖", "砖沟", "砖砌沟", "砖石", "砖混", "masonry"),
        "asbestos_cement": ("石棉水泥", "石棉水泥管", "asbestos cement", "ac"),
        "cement": ("水泥", "水泥管", "cement pipe"),
        "concrete": ("混凝土", "混凝土管", "素混凝土", "平口混凝土管", "砼", "砼管", "素砼",
                     "plain concrete", "concrete"),
        "reinforced_concrete": ("钢筋混凝土", "钢筋混凝土管", "钢筋砼", "钢砼", "钢筋砼管", "RC", "rcp",
                                "承插式钢筋混凝土管", "企口钢筋混凝土管"),
        "clay": ("陶土", "陶土管", "vitrified clay"),
        "copper": ("铜", "铜缆", "铜芯", "铜芯电缆", "铜芯线", "铜线", "YJV", "YJV22", "YJV32", "VV",
                   "VV22", "KVV", "RVV", "BV", "BVR", "YJY", "copper cable"),
        "cable": ("电缆", "电力电缆", "交联电缆", "交联聚乙烯电缆", "低压电缆", "高压电缆", "电缆线",
                  "cable"),
        "fibre": ("光纤", "光缆", "fiber", "optical fibre"),
        "aluminium": ("铝", "铝芯", "铝芯电缆", "YJLV", "YJLV22", "VLV", "铝线", "铝绞线", "钢芯铝绞线", "LGJ", "JKLYJ", "JKLGYJ",
                      "架空线", "架空绝缘线", "架空导线", "架空", "aluminum"),
        "other": ("其他", "其它", "unknown", "未知"),
    },
    "condition": {
        "good": ("良好", "好", "完好"),
        "fair": ("一般", "中", "较好"),
        "poor": ("较差", "差", "破损"),
        "bad": ("严重破损", "很差", "危险", "严重"),
    },
    "road_class": {
        "arterial": ("主干路", "主干道", "快速路", "主路", "城市主干路", "城市快速路", "一级公路", "国道",
                     "省道", "干道", "primary", "trunk", "motorway", "arterial road"),
        "secondary": ("次干路", "次干道", "城市次干路", "二级公路", "县道", "secondary", "tertiary"),
        "branch": ("支路", "街巷", "巷道", "城市支路", "巷", "小巷", "胡同", "乡道", "村道", "三级公路",
                   "四级公路", "residential", "unclassified"),
        "internal": ("小区内部道路", "内部道路", "小区道路", "宅间路", "宅前路", "组团路", "园区道路",
                     "service", "living_street"),
        "other": ("其他", "其它", "人行道", "步行道", "footway", "path"),
    },
    "facility_kind": {
        "kindergarten": ("幼儿园",),
        "nursery": ("托育", "托儿所", "托育机构", "托育服务"),
        "school": ("学校", "小学", "中学", "primary school"),
        "health_station": ("卫生服务站", "社区卫生服务站", "社区卫生服务中心", "卫生站", "诊所", "卫生院", "clinic"),
        "elderly_care": ("养老服务站", "日间照料中心", "养老院", "老年服务站", "养老", "elderly care"),
        "community_service": ("社区服务站", "社区综合服务站", "社区综合服务设施", "社区服务中心", "党群服务中心"),
        "market": ("菜市场", "农贸市场", "便民市场", "市场"),
        "convenience_store": ("便利店", "超市", "小超市", "supermarket"),
        "express_station": ("快递驿站", "快递站", "邮政快递", "邮政所", "菜鸟驿站", "parcel station"),
        "park": ("公园", "广场", "游园", "绿地", "playground"),
        "other": ("其他", "其它"),
    },
    "node_role": {
        "source": ("水源", "水厂", "气源", "门站", "调压站", "source", "plant"),
        "outfall": ("排放口", "排口", "出水口", "污水厂", "outlet", "outfall"),
        "valve": ("阀门", "阀", "valve"),
    },
    "housing_type": {
        "reform": ("房改房",),
        "fundraised": ("集资房",),
        "work_unit": ("单位公房", "公房", "单位宿舍", "单位房", "直管公房", "自管公房", "职工宿舍", "宿舍",
                      "机关宿舍"),
        "affordable": ("经济适用房", "经适房", "经济适用住房", "保障房", "保障性住房", "公租房", "廉租房"),
        "resettlement": ("安置房", "回迁房", "拆迁安置房", "还建房", "征收安置房"),
        "commercial": ("商品房", "商品住宅", "商住", "商住楼"),
        "single_building": ("单栋", "单栋楼", "独栋", "单栋住宅楼", "single building"),
        "self_built": ("自建房", "私房", "私宅", "自建住宅", "私人自建"),
        "other": ("其他", "其它"),
    },
}

# Survey facility-gap and condition fields (DOMAIN.md §5), all boolean (是/否, 有/无).
GAP_FIELDS: tuple[FieldSpec, ...] = (
    _f("has_lift", "bool", "有无电梯", "是否有电梯", "电梯"),
    _f("owners_committee", "bool", "有无业主委员会", "业委会", "业主委员会"),
    _f("maintenance_fund", "bool", "有无维修资金", "维修资金", "专项维修资金"),
    _f("seismic_ok", "bool", "抗震达标", "抗震设防", "抗震情况"),
    _f("roof_leak", "bool", "屋面渗漏", "屋顶漏水"),
    _f("facade_damaged", "bool", "外墙破损", "外墙脱落"),
    _f("stairwell_damaged", "bool", "楼道破损", "楼梯间破损"),
    _f("water_problem", "bool", "供水问题", "供水设施老化"),
    _f("drainage_problem", "bool", "排水问题", "排水不畅", "内涝"),
    _f("power_problem", "bool", "供电问题", "供电设施老化"),
    _f("no_gas", "bool", "未通燃气", "无管道燃气"),
    _f("road_damaged", "bool", "道路破损", "路面破损"),
    _f("overhead_lines_messy", "bool", "架空线杂乱", "飞线", "线缆杂乱"),
    _f("no_fibre", "bool", "未光纤入户", "无光纤"),
    _f("poor_mobile_signal", "bool", "移动信号差", "信号差"),
    _f("fire_facilities_missing", "bool", "消防设施缺失", "消防设施不足"),
    _f("security_missing", "bool", "安防设施缺失", "无监控", "无门禁"),
    _f("no_waste_sorting", "bool", "无垃圾分类设施", "无垃圾分类"),
    _f("illegal_structures", "bool", "有违法建设", "违建"),
    _f("poor_greening", "bool", "绿化差", "绿化缺失"),
    _f("poor_lighting", "bool", "照明不足", "无路灯"),
    _f("no_barrier_free", "bool", "无障碍设施缺失", "缺少无障碍设施"),
    _f("no_elderly_facilities", "bool", "适老设施缺失", "缺少适老设施"),
    _f("parking_shortage", "bool", "停车难", "停车位不足"),
    _f("no_charging", "bool", "无充电设施", "缺少充电桩"),
    _f("no_parcel_lockers", "bool", "无智能快件箱", "无快递柜"),
    _f("no_fitness", "bool", "无健身设施", "缺少健身设施"),
    _f("no_culture_space", "bool", "无文化休闲设施", "缺少活动场地"),
    _f("no_property_room", "bool", "无物业用房",),
    _f("no_party_service", "bool", "无党群服务阵地", "无党群服务站"),
    _f("energy_retrofit_needed", "bool", "需节能改造", "建筑节能差"),
)

_COMPOUND_FIELDS: tuple[FieldSpec, ...] = (
    _f("compound_id", "str", "小区编号", "小区代码", "编号", "序号", "id", "code", required=True),
    _f("name", "str", "小区名称", "小区名", "名称", "项目名称", required=True),
    _f("built_year", "year", "建成年份", "建成年代", "建成时间", "竣工年份", "建设年代", "年代",
       required=True, minimum=1900),
    _f("households", "int", "户数", "住户数", "总户数", "居民户数", required=True, minimum=0,
       maximum=50000),
    _f("address", "str", "地址", "小区地址", "详细地址"),
    _f("buildings", "int", "楼栋数", "栋数", "楼幢数", "幢数", minimum=0, maximum=1000),
    _f("units", "int", "单元数", "楼道数", minimum=0),
    _f("floors", "int", "楼层数", "层数", "最高层数", "楼层", minimum=1, maximum=100),
    _f("floor_area_m2", "float", "建筑面积", "建筑面积(m²)", "建筑面积（平方米）", "总建筑面积",
       "建筑面积(平方米)", minimum=0),
    _f("site_area_m2", "float", "占地面积", "用地面积", "占地面积(m²)", minimum=0),
    _f("housing_type", "category", "房屋类型", "住房类型", "房屋性质", vocabulary="housing_type"),
    _f("community_id", "str", "所属社区", "社区编号", "社区代码", "社区", "community"),
    _f("street", "str", "所属街道", "街道", "乡镇"),
    _f("county", "str", "所属县区", "县区", "县（市、区）", "县市区"),
    _f("property_management", "bool", "有无物业", "物业管理", "是否有物业", "物业"),
    _f("consent_rate", "ratio", "改造意愿", "同意率", "居民同意率", "意愿率"),
    _f("renovated_year", "year", "已改造年份", "改造年份", "已改造", minimum=1990),
    _f("urban_village", "bool", "是否城中村", "城中村"),
    _f("self_built", "bool", "是否自建房片区", "自建房片区", "自建房"),
    _f("lon", "float", "经度", "lng", "longitude", "x坐标", minimum=-180, maximum=180),
    _f("lat", "float", "纬度", "latitude", "y坐标", minimum=-90, maximum=90),
    *GAP_FIELDS,
)

LAYERS: dict[str, LayerSpec] = {
    "compounds": LayerSpec(
        "compounds", "小区", "polygon_or_point", "compound_id", _COMPOUND_FIELDS,
        required_layer=True, aliases=("小区", "老旧小区", "compound", "xiaoqu"),
    ),
    "communities": LayerSpec(
        "communities", "社区", "polygon", "community_id",
        (
            _f("community_id", "str", "社区编号", "社区代码", "代码", "编号", "code", required=True),
            _f("name", "str", "社区名称", "名称", required=True),
            _f("street", "str", "所属街道", "街道", "乡镇街道", required=True),
            _f("county", "str", "所属县区", "县区", "县（市、区）", required=True),
            _f("street_code", "str", "街道代码"),
            _f("county_code", "str", "县区代码"),
        ),
        aliases=("社区", "community"),
    ),
    "streets": LayerSpec(
        "streets", "街道（乡镇）", "polygon", "street_code",
        (
            _f("street_code", "str", "街道代码", "乡镇代码", "代码", "编号", required=True),
            _f("name", "str", "街道名称", "乡镇名称", "名称", required=True),
            _f("county", "str", "所属县区", "县区"),
            _f("county_code", "str", "县区代码"),
        ),
        aliases=("街道", "乡镇", "街道乡镇", "subdistricts", "towns"),
    ),
    "counties": LayerSpec(
        "counties", "县（市、区）", "polygon", "county_code",
        (
            _f("county_code", "str", "县区代码", "行政区划代码", "代码", "adcode", required=True),
            _f("name", "str", "县区名称", "名称", required=True),
        ),
        aliases=("县区", "区县", "county", "districts"),
    ),
    "roads": LayerSpec(
        "roads", "道路", "line", "road_id",
        (
            _f("road_id", "str", "道路编号", "编号", "id", required=True),
            _f("name", "str", "道路名称", "路名", "名称"),
            _f("road_class", "category", "道路等级", "等级", "class", required=True,
               vocabulary="road_class"),
        ),
        aliases=("道路", "road"),
    ),
    "utilities": LayerSpec(
        "utilities", "管线", "line", "segment_id",
        (
            _f("segment_id", "str", "管段编号", "编号", "id", required=True),
            _f("utility", "category", "管线类型", "管线类别", "类型", "type", required=True,
               vocabulary="utility"),
            _f("material", "category", "材质", "管材", vocabulary="material"),
            _f("install_year", "year", "敷设年份", "建设年份", "埋设年代", "敷设年代", minimum=1900),
            _f("diameter_mm", "float", "管径", "管径(mm)", "管径（mm）", "口径", minimum=0,
               maximum=5000),
            _f("owner", "str", "权属单位", "产权单位", "管理单位"),
            _f("condition", "category", "管况", "现状", "状况", vocabulary="condition"),
            _f("road_id", "str", "所在道路编号"),
        ),
        aliases=("管线", "管网", "pipes", "pipe_segments", "utility"),
    ),
    "facilities": LayerSpec(
        "facilities", "公共服务设施", "point", "facility_id",
        (
            _f("facility_id", "str", "设施编号", "编号", "id", required=True),
            _f("kind", "category", "设施类型", "类型", "类别", "type", required=True,
               vocabulary="facility_kind"),
            _f("name", "str", "设施名称", "名称"),
        ),
        aliases=("设施", "公共服务设施", "facility"),
    ),
    "utility_nodes": LayerSpec(
        "utility_nodes", "管网节点", "point", "node_id",
        (
            _f("node_id", "str", "节点编号", "编号", "id", required=True),
            _f("utility", "category", "管线类型", "类型", required=True, vocabulary="utility"),
            _f("role", "category", "节点类型", "作用", required=True, vocabulary="node_role"),
            _f("name", "str", "名称"),
        ),
        aliases=("管网节点", "节点", "nodes"),
    ),
    "rivers": LayerSpec(
        "rivers", "河流", "line", "river_id",
        (
            _f("river_id", "str", "河流编号", "编号", "id", required=True),
            _f("name", "str", "河流名称", "名称"),
        ),
        aliases=("河流", "水系", "river", "waterways"),
    ),
}


_PUNCT = re.compile(r"[\s_\-—:：()（）\[\]【】/\\.,，。·]+")


def header_key(text: object) -> str:
    """Normalise a header or value for matching: NFKC, lower case, no spaces/punctuation."""
    norm = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return _PUNCT.sub("", norm).replace("²", "2")


def match_headers(columns: list[str], spec: LayerSpec) -> tuple[dict[str, str], list[str]]:
    """Map a layer's headers to canonical names.

    Exact canonical names win over aliases; each canonical field takes the first header
    (in column order) that matches it.

    Returns
    -------
    rename : dict
        Original header → canonical field name.
    ambiguous : list of str
        Messages for headers that matched a field already taken (kept unrenamed).
    """
    lookup: dict[str, str] = {}
    for fs in spec.fields:
        for alias in fs.aliases:
            lookup.setdefault(header_key(alias), fs.name)
    for fs in spec.fields:  # names cut to 10 characters by the shapefile format
        lookup.setdefault(header_key(fs.name[:10]), fs.name)
    for fs in spec.fields:  # canonical names take precedence over other fields' aliases
        lookup[header_key(fs.name)] = fs.name
    rename: dict[str, str] = {}
    taken: dict[str, str] = {}
    ambiguous: list[str] = []
    exact = {c for c in columns if c in {fs.name for fs in spec.fields}}
    for col in columns:
        target = col if col in exact else lookup.get(header_key(col))
        if target is None:
            continue
        if target in taken or (target in exact and col != target):
            ambiguous.append(
                f"header {col!r} also matches field {target!r}, already taken by "
                f"{taken.get(target, target)!r}; kept as an extra column"
            )
            continue
        taken[target] = col
        if col != target:
            rename[col] = target
    return rename, ambiguous


def schema_markdown() -> str:
    """Render the schema as Markdown tables (used for docs/SCHEMA.md)."""
    lines = ["# Input layer schema (输入图层字段)", ""]
    for spec in LAYERS.values():
        lines += [
            f"## `{spec.name}` ({spec.label_zh}) — {spec.geometry.replace('_', ' ')}",
            "",
            "| field | 中文 | type | required | accepted headers |",
            "|---|---|---|---|---|",
        ]
        for fs in spec.fields:
            accepted = ", ".join(a for a in fs.aliases if a != fs.label_zh)
            kind = f"{fs.kind} ({fs.vocabulary})" if fs.vocabulary else fs.kind
            lines.append(
                f"| `{fs.name}` | {fs.label_zh} | {kind} | {'yes' if fs.required else ''} | {accepted} |"
            )
        lines.append("")
    lines += [
        "# Unknown values (未知值)", "",
        "These cell texts read as unknown (NULL), with one grouped warning per field: "
        + ", ".join(f"`{p}`" for p in sorted(PLACEHOLDERS)) + ". "
        "In a 有无 (yes/no) column `无` means *no*.", "",
        ("Only identity, position and eligibility fields stop a run when unreadable or out of "
        "range (`name`, `lon`, `lat`, `built_year`, `urban_village`, `self_built`, "
        "`renovated_year`, the pipe `utility` type and node `role`); every other field "
        "becomes NULL with a warning. A compound whose build year is unknown, or whose "
        "households are unknown and cannot be estimated (floor area ÷ "
        "`quantities.m2_per_household`, units × `input.households_per_unit`, buildings × "
        "`input.households_per_building`, 默认值（待确认）), gets status `待核实` and is "
        "never planned. A decade (`1990年代`, `九十年代初`) is read as a year range in "
        "`built_year_min` / `built_year_max` (`built_year` holds a year inside it); "
        "eligibility uses the whole range."), "",
        ("Vocabularies are open except `utility` and `node_role`: an unknown spelling becomes "
        "`other` (or NULL when the vocabulary has no `other`) with a warning naming it. A city "
        "adds its own spellings in the profile, e.g. `[aliases.material]` "
        "`\"水泥砂浆内衬球墨铸铁管\" = \"ductile_iron\"`, merged over the spellings below."), "",
    ]
    lines += ["# Value vocabularies (取值词表)", ""]
    for vname, values in VOCABULARIES.items():
        lines += [f"## {vname}", "", "| value | accepted spellings |", "|---|---|"]
        lines += [f"| `{k}` | {', '.join(v)} |" for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def require_unique_ids(frame: Any, layer: str = "compounds", field: str = "compound_id") -> None:
    """Raise :class:`~yulin_gis.errors.SchemaError` when ``field`` is absent or repeats.

    The guard analysis functions use on frames that did not come through validation.
    """
    from yulin_gis.errors import SchemaError

    if field not in frame.columns:
        raise SchemaError(f"{layer} layer has no {field!r} field")
    ids = frame[field]
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise SchemaError(f"{layer} layer: duplicate {field} "
                          + ", ".join(map(str, dup[:20])))


def _missing(frame: Any, columns: Any) -> list[str]:
    have = set(frame.columns)
    return [str(c) for c in dict.fromkeys(columns) if c not in have]


def missing_column_message(layer: str, column: str, purpose: str = "") -> str:
    """The one wording of a missing-column error: ``layer compounds: missing field 'x' (why)``."""
    return f"layer {layer}: missing field {column!r}" + (f" ({purpose})" if purpose else "")


def missing_column_problems(frame: Any, columns: Any, *, layer: str, purpose: str = "") -> list[Any]:
    """One :class:`~yulin_gis.errors.Problem` (``missing-field``) per absent column.

    For callers that collect problems and raise them together.
    """
    from yulin_gis.errors import Problem

    return [Problem("error", "missing-field", missing_column_message(layer, c, purpose),
                    layer=layer, field=c) for c in _missing(frame, columns)]


def require_columns(frame: Any, columns: Any, *, layer: str, purpose: str = "") -> None:
    """Raise when ``frame`` lacks any of ``columns``: the one required-columns check.

    Parameters
    ----------
    frame
        A (Geo)DataFrame.
    columns
        The column names it needs.
    layer
        The layer's name for the message (``"compounds"``, ``"utilities"``, ``"plan"`` ...).
    purpose
        What the columns are needed for, appended in brackets.

    Raises
    ------
    SchemaError
        Naming the layer and every missing field, e.g.
        ``layer compounds: missing field 'households' (for packages)``.
    """
    from yulin_gis.errors import SchemaError

    missing = _missing(frame, columns)
    if missing:
        raise SchemaError("; ".join(missing_column_message(layer, c, purpose) for c in missing))


PLACEHOLDERS: frozenset[str] = frozenset({
    "不详", "未知", "不明", "暂无", "暂无资料", "暂无数据", "暂缺", "无资料", "无数据", "无",
    "空", "待查", "待定", "待核实", "待补充", "待调查", "未调查", "未填", "未填写", "缺失", "不清楚",
    "-", "--", "---", "—", "——", "/", "//", "\\", "?", "??", "？", "na", "n/a", "#n/a", "n.a.",
    "none", "null", "nil", "nan", "unknown", "x", "xx", "*", "…", "...",
})
"""Cell texts read as an unknown value (compared after NFKC, trimming and lower case)."""


STATUS_ZH = {"excluded": "不纳入改造", "eligible": "符合条件未成片", "packaged": "已成片未排期",
             "planned": "已纳入年度计划", "consultation": "待征求意见", "待核实": "待核实"}
"""Chinese labels of the ``status`` values."""
