"""The canonical keys of the annual report (shared spec report-schema.md), in one place.

Every label here is the Chinese text the national template prints; the database, the
published metadata and the tests all take their keys and labels from this module.
Row `patterns` are regexes tried on a label after normalisation (NFKC, no white space),
so "（三）不予公开" is seen as "(三)不予公开".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

V2019 = "v2019"
V2021 = "v2021"
LEGACY = "legacy"
NOT_A_REPORT = "not_a_report"
TEMPLATE_VERSIONS = (V2019, V2021, LEGACY, NOT_A_REPORT)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = "件"  # "件" for counts, "万元" for amounts
    kind: str = "int"  # "int", "signed_int" or "decimal"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    patterns: tuple[str, ...]
    versions: tuple[str, ...] = (V2019, V2021)
    block: str | None = None  # table 2: the 第二十条 item


# ---------------------------------------------------------------- table 2
T2_COLUMNS = {
    c.key: c
    for c in (
        Column("made_this_year", "本年新制作数量"),
        Column("published_this_year", "本年新公开数量"),
        Column("published_total", "对外公开总数量"),
        Column("issued_this_year", "本年制发件数"),
        Column("repealed_this_year", "本年废止件数"),
        Column("in_force", "现行有效件数"),
        Column("items_prev_year", "上一年项目数量", "项"),
        Column("items_change", "本年增/减", "项", "signed_int"),
        Column("items_added", "本年增加", "项"),
        Column("items_removed", "本年减少", "项"),
        Column("decisions", "处理决定数量"),
        Column("procurement_projects", "采购项目数量", "个"),
        Column("procurement_amount_wan_yuan", "采购总金额", "万元", "decimal"),
        Column("fee_amount_wan_yuan", "本年收费金额", "万元", "decimal"),
    )
}

T2_ROWS = (
    Row("regulations", "规章", (r"^(?:政府)?规章$",), block="（一）"),
    Row("normative_documents", "规范性文件", (r"规范性文件$",), block="（一）"),
    Row("admin_licensing", "行政许可", (r"^行政许可(?:事项)?$",), block="（五）"),
    Row("other_admin_services", "其他对外管理服务事项", (r"其他对外管理服务",), (V2019,), "（五）"),
    Row("admin_penalty", "行政处罚", (r"^行政处罚(?:事项)?$",), block="（六）"),
    Row("admin_coercion", "行政强制", (r"^行政强制(?:措施|事项)?$",), block="（六）"),
    Row("admin_fees", "行政事业性收费", (r"行政事业性收费",), block="（八）"),
    Row("central_procurement", "政府集中采购", (r"政府集中采购",), (V2019,), "（九）"),
)

# The printed value columns of each table 2 row, in order, per template version.
T2_LAYOUT: dict[str, dict[str, tuple[str, ...]]] = {
    V2019: {
        "regulations": ("made_this_year", "published_this_year", "published_total"),
        "normative_documents": ("made_this_year", "published_this_year", "published_total"),
        "admin_licensing": ("items_prev_year", "items_change", "decisions"),
        "other_admin_services": ("items_prev_year", "items_change", "decisions"),
        "admin_penalty": ("items_prev_year", "items_change", "decisions"),
        "admin_coercion": ("items_prev_year", "items_change", "decisions"),
        "admin_fees": ("items_prev_year", "items_change"),
        "central_procurement": ("procurement_projects", "procurement_amount_wan_yuan"),
    },
    V2021: {
        "regulations": ("issued_this_year", "repealed_this_year", "in_force"),
        "normative_documents": ("issued_this_year", "repealed_this_year", "in_force"),
        "admin_licensing": ("decisions",),
        "admin_penalty": ("decisions",),
        "admin_coercion": ("decisions",),
        "admin_fees": ("fee_amount_wan_yuan",),
    },
}

# ---------------------------------------------------------------- table 3
T3_COLUMNS = (
    Column("natural_person", "自然人"),
    Column("org_commercial", "商业企业"),
    Column("org_research", "科研机构"),
    Column("org_public_interest", "社会公益组织"),
    Column("org_legal_service", "法律服务机构"),
    Column("org_other", "其他"),
    Column("total", "总计"),
)
T3_APPLICANTS = tuple(c.key for c in T3_COLUMNS[:6])

_V21 = (V2021,)
T3_ROWS = (
    Row("new_received", "一、本年新收政府信息公开申请数量", (r"本年新收",)),
    Row("carried_over_in", "二、上年结转政府信息公开申请数量", (r"上年度?结转",)),
    Row("granted", "（一）予以公开", (r"予以公开",)),
    Row("partially_granted", "（二）部分公开", (r"部分公开",)),
    Row("withheld_state_secret", "（三）1.属于国家秘密", (r"国家秘密",)),
    Row("withheld_law_prohibited", "（三）2.其他法律行政法规禁止公开", (r"其他法律", r"法规禁止")),
    Row("withheld_security_stability", "（三）3.危及“三安全一稳定”", (r"三安全", r"一稳定")),
    Row("withheld_third_party", "（三）4.保护第三方合法权益", (r"第三方",)),
    Row("withheld_internal_affairs", "（三）5.属于三类内部事务信息", (r"内部事务",)),
    Row("withheld_process_info", "（三）6.属于四类过程性信息", (r"过程性", r"过程信息")),
    Row("withheld_enforcement_file", "（三）7.属于行政执法案卷", (r"执法案卷",)),
    Row("withheld_admin_inquiry", "（三）8.属于行政查询事项", (r"行政查询",)),
    Row("unable_not_held", "（四）1.本机关不掌握相关政府信息", (r"不掌握",)),
    Row("unable_needs_creation", "（四）2.没有现成信息需要另行制作", (r"另行制作", r"没有现成")),
    Row("unable_unclear", "（四）3.补正后申请内容仍不明确", (r"仍不明确", r"补正后申请")),
    Row("not_processed_petition", "（五）1.信访举报投诉类申请", (r"信访", r"举报投诉")),
    Row("not_processed_duplicate", "（五）2.重复申请", (r"重复申请",)),
    Row("not_processed_publication", "（五）3.要求提供公开出版物", (r"出版物",)),
    Row("not_processed_excessive", "（五）4.无正当理由大量反复申请", (r"大量反复",)),
    Row("not_processed_confirm", "（五）5.要求行政机关确认或重新出具已获取信息", (r"重新出具", r"确认或")),
    Row("other_handling", "（六）其他处理", (r"其他处理",)),
    # Short alternatives too: PDF text wraps these long labels anywhere.
    Row("other_no_correction", "（六）1.申请人无正当理由逾期不补正",
        (r"逾期不补正", r"无正当理由逾期"), _V21),
    Row("other_fee_unpaid", "（六）2.申请人逾期未按收费通知要求缴纳费用",
        (r"缴纳费用", r"收费通知", r"逾期未按"), _V21),
    Row("other_misc", "（六）3.其他", (r"^(\(六\))?(3\.?|3、|\(3\))?其他$",), _V21),
    Row("outcome_total", "（七）总计", (r"^(\(七\)|七、?)?(?:总计|合计)$",)),
    Row("carried_forward", "四、结转下年度继续办理", (r"结转下年",)),
)
T3_OTHER_SUBROWS = ("other_no_correction", "other_fee_unpaid", "other_misc")
# Rows summed by I3 ((一) to (六)), with （六） either one row or its three sub-rows.
T3_DETAIL_ROWS = tuple(r.key for r in T3_ROWS[2:24] if r.key != "other_handling")

# Groups of table 3 whose subtotal rows some reports print (read and checked, not keyed).
T3_GROUPS = {
    "withheld": tuple(r.key for r in T3_ROWS if r.key.startswith("withheld_")),
    "unable": tuple(r.key for r in T3_ROWS if r.key.startswith("unable_")),
    "not_processed": tuple(r.key for r in T3_ROWS if r.key.startswith("not_processed_")),
}

# ---------------------------------------------------------------- table 4
T4_ROWS = (
    Row("review", "行政复议", (r"行政复议",)),
    Row("litigation_direct", "行政诉讼·未经复议直接起诉", (r"未经复议",)),
    Row("litigation_after_review", "行政诉讼·复议后起诉", (r"复议后起诉",)),
)
T4_COLUMNS = (
    Column("upheld", "结果维持"),
    Column("corrected", "结果纠正"),
    Column("other", "其他结果"),
    Column("pending", "尚未审结"),
    Column("total", "总计"),
)

# ---------------------------------------------------------------- versions
# Labels that only one template version prints (matched on normalised text).
VERSION_MARKERS = {
    V2021: ("本年制发件数", "本年废止件数", "现行有效件数", "本年处理决定数量", "本年收费金额",
            "逾期不补正", "缴纳费用"),
    V2019: ("本年新制作数量", "本年新公开数量", "对外公开总数量", "上一年项目数量", "本年增/减",
            "政府集中采购", "采购项目数量", "其他对外管理服务事项"),
}

NARRATIVE_SECTIONS = {
    "overview": "总体情况",
    "problems": "存在的主要问题及改进情况",
    "other_matters": "其他需要报告的事项",
}


@lru_cache(maxsize=8)
def all_keys(version: str) -> tuple[str, ...]:
    """Every key the standard layout of `version` prints, in printed order (tables 2, 3, 4)."""
    keys: list[str] = []
    if version not in T2_LAYOUT:
        return ()
    for row, columns in T2_LAYOUT[version].items():
        keys += [f"table2.{row}.{col}" for col in columns]
    for row in T3_ROWS:
        if version == V2021 and row.key == "other_handling":
            continue  # printed in v2019; in v2021 the sum of its three sub-rows
        if version in row.versions:
            keys += [f"table3.{row.key}.{c.key}" for c in T3_COLUMNS]
    for row in T4_ROWS:
        keys += [f"table4.{row.key}.{c.key}" for c in T4_COLUMNS]
    return tuple(keys)


def label(key: str) -> str:
    """The Chinese label of a key, its row and column labels joined: 行政许可·处理决定数量."""
    table, row_key, col_key = key.split(".")
    if table == "table2":
        row = next(r for r in T2_ROWS if r.key == row_key)
        return f"{row.label}·{T2_COLUMNS[col_key].label}"
    rows, cols = (T3_ROWS, T3_COLUMNS) if table == "table3" else (T4_ROWS, T4_COLUMNS)
    row = next(r for r in rows if r.key == row_key)
    col = next(c for c in cols if c.key == col_key)
    return f"{row.label}·{col.label}"
