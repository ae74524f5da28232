"""Compliance: did every registered agency publish its report for each year, and on time?

    SELECT * FROM compliance WHERE year = 2024 AND verdict IN ('missing', 'late')
    xxgk check --db reports.db --compliance --year 2024

The `compliance` view has one row per registered agency (agencies.unmatched = 0) and report
year from 2019, the first year of the national template, to the last complete year. The
deadline is D1's (db/checks.py): departments 31 January, people's governments 31 March of
the next year; township and other kinds have none here.

Where no report was found, `reason` says why, from the agency's portal in crawl_portals
(its `health` from the last crawl, else its `status`):

    no_portal             the agency has no portal in the registry
    portal_never_crawled  its portal was never crawled (or is being crawled for the first time)
    portal_blocked        the last crawl met an anti-bot wall
    portal_failing        the last crawl could not read the portal (failing, failed, dead, ...)
    portal_unverified     crawled, but no crawl ever found a report there: the URL may be wrong
    not_published         crawled, and reports were found there, but none for this year:
                          the finding

A crawl status or health is mapped to a reason by PORTAL_STATES. A portal whose reports
moved (health `moved`: the entry answers 404 or its list emptied) counts as failing: its
missing years say nothing about the agency until the new column is crawled.
"""

from __future__ import annotations

# D1's deadlines (db/checks.DEADLINES; a test keeps the two equal). Not imported: db.checks
# imports the summary tables, which import db.schema, which builds this view.
DEADLINES = {"government": "03-31", "department": "01-31"}

FIRST_YEAR = 2019  # the national template (2019 revision of the Regulations)

# crawl_portals status (or health) -> what it says about the portal.
CRAWLED, FAILING, BLOCKED = "crawled", "portal_failing", "portal_blocked"
PORTAL_STATES = {
    "ok": CRAWLED, "partial": CRAWLED, "incomplete": CRAWLED, "empty": CRAWLED,
    "failing": FAILING, "failed": FAILING, "dead": FAILING, "moved": FAILING,
    "js_only": FAILING,
    "blocked": BLOCKED,
}  # fmt: skip
REASONS = ("no_portal", "portal_never_crawled", BLOCKED, FAILING, "portal_unverified",
           "not_published")
VERDICTS = ("on_time", "late", "missing", "date_unknown", "no_deadline")
I_CHECKS = ("I1", "I2", "I3", "I4", "I5")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _deadline_sql() -> str:
    """D1's rule as SQL: the same DEADLINES dict, townships excluded."""
    whens = " ".join(f"WHEN '{kind}' THEN (y.year + 1) || '-{day}'"
                     for kind, day in DEADLINES.items())
    return f"CASE WHEN a.level = 'township' THEN NULL ELSE CASE a.kind {whens} END END"


def _portal_state_sql(column: str) -> str:
    groups: dict[str, list[str]] = {}
    for status, state in PORTAL_STATES.items():
        groups.setdefault(state, []).append(status)
    whens = " ".join(f"WHEN {column} IN {_in(statuses)} THEN '{state}'"
                     for state, statuses in groups.items())
    # A portal being crawled now (or with a status we do not know) that once finished a
    # crawl counts as crawled; one that never did, as never crawled.
    return (f"CASE {whens} WHEN p.last_ok_at IS NOT NULL THEN '{CRAWLED}' "
            "ELSE 'portal_never_crawled' END")


# Verified: a crawl of the agency's portal found reports (verified_at, set by the crawler's
# health check; or reports found in the last run; or stored reports of the agency fetched
# from that portal). Index-friendly: every lookup
# is by agencies.id (reports_agency_year) or a primary key.
_VERIFIED = """(p.verified_at IS NOT NULL OR coalesce(p.reports_found, 0) > 0 OR EXISTS (
        SELECT 1 FROM reports v JOIN documents vd ON vd.id = v.document_id
        WHERE v.agency_id = a.id AND vd.portal_id = a.portal_id))"""

COMPLIANCE_SQL = f"""
WITH RECURSIVE years(year) AS (
    SELECT {FIRST_YEAR}
    UNION ALL
    SELECT year + 1 FROM years WHERE year < CAST(strftime('%Y', 'now') AS INTEGER) - 1
),
grid AS (
    SELECT
        a.id AS agency_id,
        a.name AS agency,
        a.kind AS agency_kind,
        a.level AS agency_level,
        a.province,
        a.city,
        a.county,
        y.year,
        r.id AS report_id,
        r.published_date,
        r.status,
        {_deadline_sql()} AS deadline,
        a.portal_id,
        coalesce(p.health, p.status) AS portal_status,
        CASE WHEN r.id IS NULL THEN {_portal_state_sql("coalesce(p.health, p.status)")}
            END AS portal_state,
        CASE WHEN r.id IS NULL THEN {_VERIFIED} END AS verified
    FROM agencies a
    CROSS JOIN years y
    -- "+is_current": look the report up by (agency_id, year), never by every current one
    LEFT JOIN reports r ON r.agency_id = a.id AND r.year = y.year AND +r.is_current = 1
    LEFT JOIN crawl_portals p ON p.portal_id = a.portal_id
    WHERE a.unmatched = 0
)
SELECT
    agency_id, agency, agency_kind, agency_level, province, city, county, year,
    report_id IS NOT NULL AS found,
    report_id,
    published_date,
    deadline,
    CASE WHEN published_date IS NOT NULL AND deadline IS NOT NULL
        THEN max(0, CAST(julianday(published_date) - julianday(deadline) AS INTEGER))
        END AS days_late,
    status,
    CASE
        WHEN report_id IS NULL THEN 'missing'
        WHEN deadline IS NULL THEN 'no_deadline'
        WHEN published_date IS NULL THEN 'date_unknown'
        WHEN published_date > deadline THEN 'late'
        ELSE 'on_time'
    END AS verdict,
    (SELECT count(*) FROM checks x WHERE x.report_id = grid.report_id
        AND x.check_id IN {_in(I_CHECKS)} AND x.ok = 0) AS i_check_failures,
    CASE
        WHEN report_id IS NOT NULL THEN NULL
        WHEN portal_id IS NULL THEN 'no_portal'
        WHEN portal_state != '{CRAWLED}' THEN portal_state
        WHEN verified THEN 'not_published'
        ELSE 'portal_unverified'
    END AS reason,
    portal_id,
    portal_status
FROM grid
"""

COLUMNS = {
    "agency_id": ("机关编号", "agencies.id", None),
    "agency": ("机关名称", "the registry name of the agency", None),
    "agency_kind": ("机关类别", "government, department, township or other", None),
    "agency_level": ("行政层级", "province, city, county or township", None),
    "province": ("省", "province name", None),
    "city": ("市", "city name", None),
    "county": ("县（区）", "county or district name", None),
    "year": ("报告年度", f"report year, {FIRST_YEAR} to the last complete year", "年"),
    "found": ("已找到", "1 if a current report of this agency and year is stored", None),
    "report_id": ("报告编号", "reports.id of the current report (null when missing)", None),
    "published_date": ("发布日期", "publication date, YYYY-MM-DD", None),
    "deadline": ("法定发布期限",
                 "31 January (departments) or 31 March (governments) of year + 1, as D1", None),
    "days_late": ("逾期天数", "days published after the deadline, 0 when on time", "天"),
    "status": ("解析状态", "parse status of the report: ok or partial", None),
    "verdict": ("结论", "on_time, late, missing, date_unknown (no publication date read) or "
                        "no_deadline (no statutory deadline for this kind)", None),
    "i_check_failures": ("表内检查未通过数", "failed I1-I5 checks of the report", "项"),
    "reason": ("未找到原因", "when missing: no_portal, portal_never_crawled, portal_blocked, "
                           "portal_failing, portal_unverified or not_published (crawled and "
                           "verified, no report: the finding)", None),
    "portal_id": ("门户网站", "the agency's portal id in the registry", None),
    "portal_status": ("门户状态", "the portal's health at the last crawl (ok, moved, empty, "
                                "blocked, js_only, dead, failing), else its crawl status", None),
}


def rows(db, *, year: int | None = None, verdicts=("missing", "late")) -> list[dict]:
    """Compliance rows of one year (all years when None) with these verdicts."""
    marks = ", ".join("?" for _ in verdicts)
    sql = f"SELECT * FROM compliance WHERE verdict IN ({marks})"
    params: list = list(verdicts)
    if year is not None:
        sql += " AND year = ?"
        params.append(year)
    sql += " ORDER BY year, verdict, days_late DESC, agency"
    return list(db.query(sql, params))


def summary(db, *, year: int | None = None) -> list[dict]:
    """Per year: agencies, on time, late, missing and the share published on time."""
    sql = ("SELECT year, count(*) AS agencies, sum(verdict = 'on_time') AS on_time,"
           " sum(verdict = 'late') AS late, sum(verdict = 'missing') AS missing,"
           " round(1.0 * sum(verdict = 'on_time') / count(*), 4) AS on_time_share"
           " FROM compliance" + (" WHERE year = ?" if year is not None else "") +
           " GROUP BY year ORDER BY year")
    return list(db.query(sql, [year] if year is not None else []))


# ------------------------------------------------------------------ the stored rows
#
# COMPLIANCE_SQL computed per query is ~20 µs a row: at a million reports (143,000 agencies
# x 7 years) the canned query and the dashboard chart took seconds. Its rows are stored in
# compliance_rows, recomputed per agency in the transaction of every write that can change
# them (db/summaries.refresh: a report stored or moved, a registry upsert; a crawl's
# portal state: refresh_portal), and whole by `xxgk check` and when a year has ended
# (years_behind, checked by store.open_db). The `compliance` view reads the table.

ROW_COLUMNS = ("agency_id", "agency", "agency_kind", "agency_level", "province", "city",
               "county", "year", "found", "report_id", "published_date", "deadline",
               "days_late", "status", "verdict", "i_check_failures", "reason", "portal_id",
               "portal_status")
# missing first, then late, then the rest (the canned query's order)
VERDICT_ORDER = "CASE verdict WHEN 'missing' THEN 0 WHEN 'late' THEN 1 ELSE 2 END"
ROWS_SQL = f"""CREATE TABLE compliance_rows (
    {', '.join(ROW_COLUMNS[:7])},
    year INTEGER NOT NULL,
    {', '.join(ROW_COLUMNS[8:])},
    PRIMARY KEY (agency_id, year)
) WITHOUT ROWID"""
ROWS_INDEXES = (
    # missing_and_late streams in its ORDER BY, whatever the number of agencies
    f"CREATE INDEX compliance_rows_order ON compliance_rows(year DESC, ({VERDICT_ORDER}),"
    " days_late DESC, agency)",
    # counts per year and verdict (the dashboard, `xxgk check --compliance`), by region too,
    # from the index alone
    "CREATE INDEX compliance_rows_verdict ON compliance_rows(year, verdict, province, city,"
    " county)",
)
VIEW_SQL = f"SELECT {', '.join(ROW_COLUMNS)} FROM compliance_rows"


def last_complete_year(db) -> int:
    return db.execute("SELECT CAST(strftime('%Y', 'now') AS INTEGER) - 1").fetchone()[0]


def refresh(db, agency_ids=None) -> None:
    """Recompute the stored rows of these agencies (all when None), in the caller's
    transaction."""
    if agency_ids is None:
        db.execute("DELETE FROM compliance_rows")
        db.execute(f"INSERT INTO compliance_rows SELECT * FROM ({COMPLIANCE_SQL})")
        return
    ids = sorted({a for a in agency_ids if a is not None})
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        marks = ", ".join("?" for _ in part)
        db.execute(f"DELETE FROM compliance_rows WHERE agency_id IN ({marks})", part)
        db.execute(f"INSERT INTO compliance_rows SELECT * FROM ({COMPLIANCE_SQL})"
                   f" WHERE agency_id IN ({marks})", part)


def refresh_portal(db, portal_id) -> None:
    """After a crawl changed a portal's state: the rows of the agencies it serves."""
    refresh(db, [r[0] for r in db.execute(
        "SELECT id FROM agencies WHERE portal_id = ?", (portal_id,))])


def years_behind(db) -> bool:
    """A year has ended since the rows were stored (or none are while agencies are
    registered): every agency needs its row for it (store.open_db then refreshes all)."""
    newest = db.execute("SELECT max(year) FROM compliance_rows").fetchone()[0]
    if newest is not None:
        return newest < last_complete_year(db)
    return db.execute("SELECT 1 FROM agencies WHERE unmatched = 0 LIMIT 1").fetchone() \
        is not None
