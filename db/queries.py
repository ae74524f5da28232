"""The canned queries of the published database: the common comparisons in one click.

    from xxgk.db.queries import canned_queries
    metadata["databases"]["reports"]["queries"] = canned_queries()

Every query is a read-only SELECT over the views of db/schema.py. Datasette passes a
parameter the visitor left empty as '', so an optional filter reads `(:x = '' OR ...)`.
The output keys are report_overview's column names; each query's description lists what
they mean, from db/schema.TABLES (the one source of descriptions).
"""

from __future__ import annotations

from html import escape

from xxgk.db import compliance, schema

# The numeric columns of report_overview a ranking may use (a canonical cell key such as
# table2.admin_licensing.decisions works too).
OVERVIEW_METRICS = (
    "new_received", "carried_over_in", "outcome_total", "carried_forward", "granted",
    "partially_granted", "withheld_total", "unable_total", "not_processed_total",
    "other_handling_total", "review_total", "review_corrected", "litigation_total",
    "litigation_corrected", "disclosure_rate", "review_corrected_share",
    "litigation_corrected_share", "days_after_deadline", "failed_checks",
)  # fmt: skip

# The key totals every comparison shows, in this order.
_TOTALS = (
    "new_received", "carried_over_in", "outcome_total", "granted", "partially_granted",
    "disclosure_rate", "withheld_total", "unable_total", "not_processed_total",
    "carried_forward", "review_total", "review_corrected", "review_corrected_share",
    "litigation_total", "litigation_corrected", "litigation_corrected_share", "failed_checks",
)  # fmt: skip
_TOTALS_SQL = ", ".join(_TOTALS)

# A region parameter matches a province, city or county name; '' matches everything.
_REGION = "(:region = '' OR :region IN (province, city, county))"
_YEAR_OR_ALL = "(:year = '' OR year = CAST(:year AS INTEGER))"
# Empty year: the latest year with table-3 totals, so the first click compares something
# (the newest reports are often partial or not yet parsed into tables).
# (Read from the running totals, db/summaries.py: a scan of report_overview is ~1 s at a
# million reports.)
_LATEST = "(SELECT max(year) FROM overview_totals WHERE region = '' AND n_new_received > 0)"
_YEAR_OR_LATEST = f"year = coalesce(CAST(nullif(:year, '') AS INTEGER), {_LATEST})"

REGION_COMPARISON = f"""
SELECT agency, agency_level, province, city, county, year, {_TOTALS_SQL},
       days_after_deadline, report_id
FROM report_overview
WHERE {_YEAR_OR_LATEST} AND {_REGION}
ORDER BY
  CASE WHEN :order_by = 'agency' THEN agency END,
  CASE :order_by
    WHEN 'disclosure_rate' THEN disclosure_rate
    WHEN 'review_corrected_share' THEN review_corrected_share
    WHEN 'litigation_corrected_share' THEN litigation_corrected_share
    WHEN 'outcome_total' THEN outcome_total
    WHEN 'review_total' THEN review_total
    WHEN 'litigation_total' THEN litigation_total
    WHEN 'days_after_deadline' THEN days_after_deadline
    WHEN 'failed_checks' THEN failed_checks
    WHEN 'agency' THEN NULL
    ELSE new_received
  END DESC NULLS LAST,
  agency
"""

AGENCY_ACROSS_YEARS = f"""
SELECT agency, year, template_version, published_date, days_after_deadline, {_TOTALS_SQL},
       report_id
FROM report_overview
WHERE :agency != '' AND agency IN (
    -- the matching names first, from the one row per agency of agency_totals (a LIKE
    -- over every report would scan them all); then each agency's rows by index
    SELECT agency FROM agency_totals WHERE year = -1 AND agency LIKE '%' || :agency || '%')
ORDER BY agency, year
"""

_METRIC_CASE = "CASE :metric\n" + "".join(
    f"    WHEN '{m}' THEN {m}\n" for m in OVERVIEW_METRICS
) + "  END"

def _wide_lookup(table: str, columns: list[str]) -> str:
    """The key's value in `table`'s wide rows (one narrow row per printed row), for a
    column of them."""
    pick = "".join(f" WHEN '{c}' THEN w.{c}" for c in columns)
    return (f"WHEN k.table_key = '{table}' AND k.column_key IN"
            f" ({', '.join(repr(c) for c in columns)})\n"
            f"      THEN (SELECT CASE k.column_key{pick} END\n"
            f"            FROM {table}_wide_rows w"
            f" WHERE w.report_id = o.report_id AND w.row_key = k.row_key)")


# A table 2-4 key's value comes from its wide rows: a year of county reports is ~60,000
# lookups, in cells ~8 KB of a report's 200 cells each, in the wide rows a few hundred
# bytes (at a million reports the cells lookups read ~500 MB, over Datasette's second when
# not cached). Any other key (table 1, a key of no wide column) from cells.
_CELL_VALUE = ("CASE\n" + "".join(
    f"    {_wide_lookup(table, [c for c, _ in columns])}\n"
    for table, columns in schema.WIDE_COLUMNS.items())
    + "    ELSE (SELECT value FROM cells c WHERE c.report_id = o.report_id AND c.key = :metric)"
    "\n  END")
# The key's parts as the key registry (cell_keys, filled at every store) has them; one row
# of NULLs for an overview column or an unregistered key, which then come from cells.
_METRIC_KEY = """metric_key AS (
  SELECT r.table_key, r.row_key, r.column_key
  FROM (SELECT :metric AS key) m LEFT JOIN cell_keys r ON r.key = m.key
)"""

# {metric_labels} is filled in from TABLES by canned_queries().
# The value is computed once per report (MATERIALIZED: referenced three times, the CASE
# and its cell lookup ran three times a row), the first RANKED_ROWS by value kept with a
# top-N sort, and only they are ranked: a rank counts the reports with a greater value,
# all of which are among them, so the ranks are those of the whole year. Datasette shows
# at most max_returned_rows (2,000) of a canned query anyway.
RANKED_ROWS = 2000
METRIC_RANKING = f"""
WITH chosen AS MATERIALIZED (
  SELECT o.report_id, o.agency, o.agency_level, o.province, o.city, o.county, o.year,
         {_METRIC_CASE} AS metric_value
  FROM report_overview o
  WHERE o.year = coalesce(CAST(nullif(:year, '') AS INTEGER), {_LATEST})
    AND (:level = '' OR o.agency_level = :level)
    AND {_REGION}
  ORDER BY o.report_id  -- a cell key is then looked up in cells' own order: few pages read
),
{_METRIC_KEY},
ranked AS MATERIALIZED (
  SELECT report_id, agency, agency_level, province, city, county, year,
         coalesce(metric_value, {_CELL_VALUE}) AS value
  FROM chosen o, metric_key k
),
top AS (
  -- report_id breaks ties: which of the reports tied at the cut are shown is then the
  -- same whatever plan SQLite chooses
  SELECT * FROM ranked WHERE value IS NOT NULL ORDER BY value DESC, report_id
  LIMIT {RANKED_ROWS}
)
SELECT rank() OVER (ORDER BY value DESC) AS rank, agency, agency_level, province, city, county,
       year, :metric AS metric,
       coalesce({{metric_labels}}, (SELECT label FROM cell_keys WHERE key = :metric), :metric)
         AS metric_label,
       value, report_id
FROM top
ORDER BY rank, agency, report_id
"""

# Walks the current reports in (year DESC, agency) order by index and looks up each one's
# failed checks, so the first page comes back without sorting every failure there is.
FAILING_CHECKS = """
SELECT o.agency, o.year, x.check_id, x.scope, x.severity,
       x.detail, x.fault, o.report_id, x.other_report_id, o.source
FROM report_overview o
-- CROSS JOIN: reports in the ORDER BY's order (overview_rows_year), their failed checks
-- looked up, streamed to the page; whatever the statistics say. Without ANALYZE (a working
-- database) SQLite gathered and sorted every failed check instead: 43 s at a million.
CROSS JOIN checks x ON x.report_id = o.report_id
WHERE x.ok = 0
  -- a range, not "(:year = '' OR ...)": the index then starts at that year (a report
  -- whose year was not read, NULL, comes last when no year is given)
  AND (o.year BETWEEN coalesce(CAST(nullif(:year, '') AS INTEGER), -1)
                  AND coalesce(CAST(nullif(:year, '') AS INTEGER), 9999)
       OR (o.year IS NULL AND :year = ''))
  AND (:check_id = '' OR x.check_id = upper(:check_id))
  AND (:fault = '' OR x.fault = :fault)
ORDER BY o.year DESC, o.agency, x.check_id, x.scope
"""

LATE_PUBLICATIONS = f"""
SELECT agency, agency_kind, agency_level, province, city, county, year, deadline,
       published_date, days_after_deadline, source, report_id
FROM report_overview
WHERE days_after_deadline > 0 AND {_YEAR_OR_ALL} AND {_REGION}
ORDER BY days_after_deadline DESC, agency
"""

CARRYOVER = """
SELECT agency, year, next_year, column_key, column_label, carried_forward,
       next_carried_over_in, difference, fault, detail, report_id, next_report_id
FROM carryover_mismatches
WHERE (:agency = '' OR agency LIKE '%' || :agency || '%')
  AND (:year = '' OR year = CAST(:year AS INTEGER) OR next_year = CAST(:year AS INTEGER))
ORDER BY agency, year, column_key
"""

# Trigram FTS finds any substring of three or more characters; a shorter term has no
# trigram, so it is looked up with LIKE instead and the search_mode column says which ran.
# The term is quoted as one FTS phrase, so a visitor's AND/OR/NEAR/* are plain text.
# The excerpt is cut around the term with instr/substr, not FTS5's snippet(): snippet
# re-tokenises every matching text and took ~90% of the time.
# Bounded at national size: the index gives the SEARCH_HITS most recently stored matching
# sections (by rowid, descending: FTS5 walks its doclists backwards and stops), which are
# then joined and sorted; joining and sorting every match of a common term took 1.4 s at
# 150,000 reports. A LIKE scan reads at most the LIKE_SCAN most recently stored sections
# (every section of a million reports would take ~10 s).
SEARCH_HITS = 1000
LIKE_SCAN = 100_000
SEARCH_NARRATIVES = rf"""
WITH term AS (SELECT trim(:q) AS q),
hits AS (
  SELECT rowid AS id, '全文检索 trigram FTS' AS search_mode FROM narratives_fts
  WHERE narratives_fts MATCH '"' || replace((SELECT q FROM term), '"', '""') || '"'
    AND length((SELECT q FROM term)) >= 3
  ORDER BY rowid DESC LIMIT {SEARCH_HITS}
),
recent AS (  -- a rowid range: nothing at all for a longer term
  SELECT id, text FROM narratives
  WHERE id > (SELECT max(id) FROM narratives) - CASE WHEN length((SELECT q FROM term))
                                                   BETWEEN 1 AND 2 THEN {LIKE_SCAN} ELSE 0 END
  ORDER BY id DESC
),
like_hits AS (
  SELECT id, '少于3个字：在最近存入的 {LIKE_SCAN:,} 段正文中用 LIKE 匹配'
              || ' (under 3 characters: LIKE over the newest {LIKE_SCAN:,} sections)'
           AS search_mode
  FROM recent
  WHERE text LIKE '%' || replace(replace(replace((SELECT q FROM term),
      '\', '\\'), '%', '\%'), '_', '\_') || '%' ESCAPE '\'
  LIMIT {SEARCH_HITS}
)
SELECT h.search_mode, r.id AS report_id,
       coalesce(a.name, r.agency_name) AS agency, r.year, n.section, n.heading,
       '…' || replace(substr(n.text, max(1, instr(n.text, (SELECT q FROM term)) - 24), 60),
                      (SELECT q FROM term), '【' || (SELECT q FROM term) || '】') || '…'
         AS excerpt
FROM (SELECT * FROM hits UNION ALL SELECT * FROM like_hits) h
-- CROSS JOIN: from the (at most 1,000) hits to their rows, whatever the statistics say.
-- Without ANALYZE (a working database) SQLite walked every current report instead: 0.5 s
-- at a million.
CROSS JOIN narratives n ON n.id = h.id
CROSS JOIN reports r ON r.id = n.report_id
LEFT JOIN agencies a ON a.id = r.agency_id
WHERE r.is_current = 1
ORDER BY r.year DESC, agency, n.section
"""

COMPLIANCE = f"""
SELECT agency, agency_kind, agency_level, province, city, county, year, verdict, reason,
       published_date, deadline, days_late, status, i_check_failures, portal_id,
       portal_status, report_id
FROM compliance
WHERE {_YEAR_OR_ALL} AND {_REGION}
  AND (:verdict = '' OR verdict = :verdict)
ORDER BY year DESC,
  {compliance.VERDICT_ORDER},
  days_late DESC, agency
"""

# Each pair once (report_id < other_id), both agencies and years, closest first; pairs of
# one agency's versions of the same year (a corrected re-publication) are not copies.
SIMILAR_PAIRS = """
SELECT s.similarity, s.section,
       coalesce(a1.name, r1.agency_name) AS agency, r1.year,
       coalesce(a2.name, r2.agency_name) AS other_agency, r2.year AS other_year,
       CASE WHEN r1.agency_id = r2.agency_id THEN '同一机关 same agency'
            ELSE '不同机关 other agency' END AS relation,
       s.report_id, s.other_id, s.method
FROM similar_reports s
-- CROSS JOIN: from the pairs, closest first (similar_reports_closest), to their reports,
-- whatever the statistics say; without ANALYZE SQLite walked every current report. The
-- order is the index's own, ties included: a template copied by thousands of agencies
-- makes hundreds of thousands of pairs at 1.0, and ordering those by agency name sorted
-- them all (over Datasette's 1 s at a million reports).
CROSS JOIN reports r1 ON r1.id = s.report_id
CROSS JOIN reports r2 ON r2.id = s.other_id
LEFT JOIN agencies a1 ON a1.id = r1.agency_id
LEFT JOIN agencies a2 ON a2.id = r2.agency_id
WHERE r1.is_current = 1 AND r2.is_current = 1
  AND NOT (r1.agency_id IS r2.agency_id AND r1.year IS r2.year)
  AND (:section = '' OR s.section = :section)
  AND (:year = '' OR CAST(:year AS INTEGER) IN (r1.year, r2.year))
  AND (:agency = '' OR coalesce(a1.name, r1.agency_name) LIKE '%' || :agency || '%'
       OR coalesce(a2.name, r2.agency_name) LIKE '%' || :agency || '%')
ORDER BY s.similarity DESC, s.section DESC, s.report_id DESC, s.other_id DESC
"""

_LEVELS = "province 省级, city 市级, county 县级, township 乡镇"

QUERIES: dict[str, dict] = {
    "region_comparison": {
        "title": "地区内机关对比 Compare the agencies of a region",
        "sql": REGION_COMPARISON,
        "params": ["year", "region", "order_by"],
        "about": "某地区（省、市或县区名称，留空为全部）某年度（留空为有申请数据的最新年度）所有机关的关键"
                 "指标：申请数、公开率、行政复议和行政诉讼纠错率。order_by 可选 new_received"
                 "（默认）、disclosure_rate、review_corrected_share、litigation_corrected_share、"
                 "outcome_total、review_total、litigation_total、days_after_deadline、"
                 "failed_checks、agency。 Every agency of a region in one year, key totals, "
                 "disclosure rate and the share corrected in review and litigation.",
        "columns": ("agency", "agency_level", *_TOTALS, "days_after_deadline"),
    },
    "agency_across_years": {
        "title": "单个机关历年对比 One agency across years",
        "sql": AGENCY_ACROSS_YEARS,
        "params": ["agency"],
        "about": "输入机关名称的一部分（如 细河区民政局），列出其历年报告的关键指标。"
                 " Type part of an agency's name: its reports year by year.",
        "columns": ("year", "template_version", "published_date", *_TOTALS),
    },
    "metric_ranking": {
        "title": "指标排名 Ranking of a metric",
        "sql": METRIC_RANKING,
        "params": ["metric", "year", "level", "region"],
        "about": "某年度（留空为有申请数据的最新年度）、某层级（" + _LEVELS + "；留空为全部）内按指标从高到低"
                 "排名。metric 可为 " + "、".join(OVERVIEW_METRICS) + "，或任一指标键，如 "
                 "table2.admin_licensing.decisions（见 cell_keys 表）。 Rank agencies of one "
                 "level and year by a report_overview column or any canonical cell key.",
        "columns": ("rank", "metric_label", "value"),
    },
    "failing_checks": {
        "title": "未通过勾稽检查的报告 Reports failing checks",
        "sql": FAILING_CHECKS,
        "params": ["year", "check_id", "fault"],
        "about": "当前报告中未通过的检查（I1-I5 表内勾稽，X1/X2 跨年度，D1 发布期限，P1 正文与表格"
                 "数字不符）及说明；"
                 "fault 为 source（报告本身）或 parse（解析）。 Every failed check with its "
                 "detail; filter by year, check id and fault.",
        "columns": ("check_id", "detail", "fault"),
    },
    "late_publications": {
        "title": "逾期发布的报告 Late publications",
        "sql": LATE_PUBLICATIONS,
        "params": ["year", "region"],
        "about": "发布日期晚于法定期限的报告：部门为次年1月31日，人民政府本级为次年3月31日"
                 "（条例第四十九、五十条）；2018年度及以前的报告按2008年条例第三十一条，一律为次年"
                 "3月31日。 Reports published after the statutory deadline (31 January for "
                 "departments, 31 March for governments; 31 March for all before 2019).",
        "columns": ("deadline", "published_date", "days_after_deadline"),
    },
    "carryover_mismatches": {
        "title": "跨年度结转数不一致 Carry-over mismatches",
        "sql": CARRYOVER,
        "params": ["agency", "year"],
        "about": "N年“结转下年度继续办理”与N+1年“上年结转”不相等的机关和列（检查 X1）。"
                 " Carried forward in year N differs from carried over in year N+1 (X1).",
        "table": "carryover_mismatches",
        "columns": ("carried_forward", "next_carried_over_in", "difference"),
    },
    "search_narratives": {
        "title": "全文检索报告正文 Search the narrative sections",
        "sql": SEARCH_NARRATIVES,
        "params": ["q"],
        "about": "在“总体情况”“存在的主要问题及改进情况”“其他需要报告的事项”中检索。三个字"
                 "及以上用 trigram 全文索引；一两个字的检索词没有三元组，改用 LIKE 子串匹配，"
                 "search_mode 列会注明。结果为最近存入的至多 1,000 段匹配正文（一两个字只查最近存入的"
                 "100,000 段），按年度、机关排序。 Full-text search with the trigram index; "
                 "terms under three characters fall back to LIKE, and search_mode says so. "
                 "At most the 1,000 most recently stored matching sections (a 1-2 character "
                 "term: within the newest 100,000 sections), sorted by year and agency.",
        "columns": ("search_mode", "excerpt"),
    },
    "missing_and_late": {
        "title": "年报发布合规情况 Who published, late or not at all",
        "sql": COMPLIANCE,
        "params": ["year", "region", "verdict"],
        "about": "每个登记机关自2019年至上一完整年度每年一行：是否找到报告、发布日期、法定期限"
                 "（部门次年1月31日，人民政府次年3月31日）、逾期天数、表内检查未通过数；未找到时"
                 "说明原因（无门户、从未抓取、门户失败或被拦截、门户未验证、已抓取并验证但无报告）。"
                 "verdict 可选 missing、late、on_time、date_unknown、no_deadline。"
                 " Every registered agency and year: found, on time, late or missing and why.",
        "table": "compliance",
        "columns": ("verdict", "reason", "days_late", "i_check_failures"),
    },
    "similar_pairs": {
        "title": "雷同报告 Copy-paste reports",
        "sql": SIMILAR_PAIRS,
        "params": ["year", "section", "agency"],
        "about": "正文去掉数字和机关名称后高度相同的报告对（同一机关往年报告只改数字，或其他机关"
                 "报告只改名称），相似度最高的在前（同分时 whole 全文在前）。section 可选 overview、problems、"
                 "other_matters、whole。 Pairs of reports whose prose repeats one another once "
                 "numbers and agency names are removed, closest first.",
        "table": "similar_reports",
        "columns": ("similarity", "section", "method"),
    },
}


def _description_html(query: dict, tables: dict) -> str:
    """The query's text plus what its main output columns mean (from db.schema.TABLES)."""
    described = {**tables.get(query.get("table", "report_overview"), {}).get("columns", {})}
    extra = {
        "rank": {"zh": "名次", "en": "rank, 1 = highest (ties share a rank)"},
        "metric_label": {"zh": "指标名称", "en": "the metric's Chinese label"},
        "value": {"zh": "数值", "en": "the metric's value"},
        "check_id": {"zh": "检查项", "en": "I1-I5, X1, X2, D1 or P1"},
        "detail": {"zh": "说明", "en": "what was compared, with the numbers"},
        "fault": {"zh": "责任方", "en": "source (the report) or parse"},
        "search_mode": {"zh": "检索方式", "en": "trigram FTS, or LIKE for terms under 3 characters"},
        "excerpt": {"zh": "摘录", "en": "the matching passage, match in 【】 (FTS)"},
    }
    items = []
    for column in query["columns"]:
        info = described.get(column) or extra.get(column)
        if info:
            unit = f"（{info['unit']}）" if info.get("unit") else ""
            items.append(f"<li><code>{column}</code> {escape(info['zh'])}{escape(unit)}: "
                         f"{escape(info['en'])}</li>")
    return (f"<p>{escape(query['about'])}</p>"
            f"<details><summary>列说明 Columns</summary><ul>{''.join(items)}</ul></details>")


def canned_queries(tables: dict | None = None) -> dict:
    """The `queries:` block of metadata.yml: title, SQL, parameters, description (HTML)."""
    if tables is None:
        from xxgk.db.schema import TABLES as tables
    overview = tables.get("report_overview", {}).get("columns", {})
    labels = "CASE :metric " + " ".join(
        f"WHEN '{m}' THEN '{overview[m]['zh']}'" for m in OVERVIEW_METRICS if m in overview
    ) + " END"
    return {
        name: {
            "title": query["title"],
            "sql": query["sql"].replace("{metric_labels}", labels).strip(),
            "params": list(query["params"]),
            "description_html": _description_html(query, tables),
            "hide_sql": True,  # analysts see parameters and results first; "show" reveals it
        }
        for name, query in QUERIES.items()
    }
