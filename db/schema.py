"""The database schema: sqlite-utils migrations, the comparison views, and one dict that
describes every table, view and column (Chinese label, English meaning, unit).

`TABLES` is the single source of truth for documentation: `db/metadata.py` turns it into
Datasette's metadata.yml, so every column a table or view has must be described here
(tests/test_db_schema.py checks that against a real database).

Names are stable: add columns and views, never rename them.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from xxgk.db import compliance, similar
from xxgk.parsers import model
from xxgk.parsers import schema as keys

MIGRATION_SET = "xxgk"
migrations = Migrations(MIGRATION_SET)

REPORT_STATUSES = (
    model.OK,
    model.PARTIAL,
    model.NOT_A_REPORT,
    model.FAILED,
    model.UNSUPPORTED_FORMAT,
    model.NEEDS_OCR,
)
AGENCY_KINDS = ("government", "department", "township", "other")
AGENCY_LEVELS = ("province", "city", "county", "township")
CHECK_IDS = ("I1", "I2", "I3", "I4", "I5", "X1", "X2", "D1", "P1")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _col(zh: str, en: str, unit: str | None = None) -> dict:
    return {"zh": zh, "en": en, "unit": unit}


# ------------------------------------------------------------------ tables
# Each DDL string is executed verbatim by a migration; the descriptions below must match.

AGENCIES_SQL = f"""
CREATE TABLE agencies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    short_name TEXT,
    kind TEXT CHECK (kind IN {_in(AGENCY_KINDS)}),
    level TEXT CHECK (level IN {_in(AGENCY_LEVELS)}),
    province TEXT,
    city TEXT,
    county TEXT,
    division_code TEXT CHECK (division_code GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]'),
    parent_id INTEGER REFERENCES agencies(id),
    portal_id ANY,
    unmatched INTEGER NOT NULL DEFAULT 0 CHECK (unmatched IN (0, 1)),
    created_at TEXT NOT NULL
) STRICT
"""

AGENCY_NAMES_SQL = """
CREATE TABLE agency_names (
    name TEXT PRIMARY KEY,
    agency_id INTEGER NOT NULL REFERENCES agencies(id),
    matched_by TEXT NOT NULL CHECK (matched_by IN ('registry', 'exact', 'suffix', 'new'))
) STRICT
"""

BLOBS_SQL = """
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    compression TEXT NOT NULL CHECK (compression IN ('zlib', 'none')),
    data BLOB NOT NULL
) STRICT
"""

DOCUMENTS_SQL = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    url TEXT,
    path TEXT,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    size INTEGER NOT NULL,
    content_type TEXT,
    encoding TEXT,
    fetched_at TEXT,
    http_status INTEGER,
    etag TEXT,
    last_modified TEXT,
    parent_id INTEGER REFERENCES documents(id),
    portal_id ANY,
    added_at TEXT NOT NULL
) STRICT
"""

REPORTS_SQL = f"""
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL UNIQUE REFERENCES documents(id),
    agency_id INTEGER REFERENCES agencies(id),
    agency_name TEXT,
    agency_assigned INTEGER NOT NULL DEFAULT 0 CHECK (agency_assigned IN (0, 1)),
    year INTEGER CHECK (year BETWEEN 1990 AND 2100),
    template_version TEXT NOT NULL CHECK (template_version IN {_in(keys.TEMPLATE_VERSIONS)}),
    title TEXT,
    published_date TEXT CHECK (published_date GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
    parser_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN {_in(REPORT_STATUSES)}),
    problems TEXT,
    source_format TEXT,
    encoding TEXT,
    cell_count INTEGER NOT NULL DEFAULT 0,
    is_current INTEGER NOT NULL DEFAULT 0 CHECK (is_current IN (0, 1)),
    superseded_by INTEGER REFERENCES reports(id) ON DELETE SET NULL,
    parsed_at TEXT NOT NULL
) STRICT
"""

# Long form. WITHOUT ROWID: the (report, key) primary key is the table, no second copy.
# table/row/column are VIRTUAL generated columns: filterable, but cost no storage.
# value: a number or NULL. `value < ''` says so because SQLite sorts every number before
# every text and blob (and a CHECK that is NULL passes); typeof(value) IN (...) said the
# same at twice the cost of the whole insert of a report's ~200 cells.
CELLS_VALUE_CHECK = "CHECK (value < '')"
CELLS_SQL = f"""
CREATE TABLE cells (
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value ANY {CELLS_VALUE_CHECK},
    raw TEXT,
    note TEXT,
    derived INTEGER NOT NULL DEFAULT 0 CHECK (derived IN (0, 1)),
    table_key TEXT GENERATED ALWAYS AS (substr(key, 1, instr(key, '.') - 1)) VIRTUAL,
    row_key TEXT GENERATED ALWAYS AS (
        substr(substr(key, instr(key, '.') + 1), 1,
               instr(substr(key, instr(key, '.') + 1), '.') - 1)) VIRTUAL,
    column_key TEXT GENERATED ALWAYS AS (
        substr(substr(key, instr(key, '.') + 1),
               instr(substr(key, instr(key, '.') + 1), '.') + 1)) VIRTUAL,
    PRIMARY KEY (report_id, key)
) STRICT, WITHOUT ROWID
"""

CELL_KEYS_SQL = """
CREATE TABLE cell_keys (
    key TEXT PRIMARY KEY,
    table_key TEXT NOT NULL,
    row_key TEXT NOT NULL,
    column_key TEXT NOT NULL,
    label TEXT,
    row_label TEXT,
    column_label TEXT,
    unit TEXT,
    kind TEXT,
    row_order INTEGER,
    column_order INTEGER
) STRICT
"""

# The printed rows of each table, in order: the wide views walk it to list a report's
# rows in printed order without sorting, so a page of them comes back at once.
KEY_ROWS_SQL = """
CREATE TABLE key_rows (
    table_key TEXT NOT NULL,
    row_order INTEGER NOT NULL,
    row_key TEXT NOT NULL,
    row_label TEXT,
    PRIMARY KEY (table_key, row_order),
    UNIQUE (table_key, row_key)
) STRICT
"""

CHECKS_SQL = f"""
CREATE TABLE checks (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    check_id TEXT NOT NULL CHECK (check_id IN {_in(CHECK_IDS)}),
    scope TEXT NOT NULL,
    ok INTEGER CHECK (ok IN (0, 1)),
    severity TEXT NOT NULL DEFAULT 'hard' CHECK (severity IN ('hard', 'soft')),
    detail TEXT,
    fault TEXT CHECK (fault IN ('source', 'parse')),
    other_report_id INTEGER REFERENCES reports(id) ON DELETE CASCADE
) STRICT
"""

NARRATIVES_SQL = """
CREATE TABLE narratives (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    section TEXT NOT NULL,
    heading TEXT,
    text TEXT NOT NULL,
    UNIQUE (report_id, section)
) STRICT
"""

INDEXES_SQL = (
    "CREATE INDEX agencies_parent ON agencies(parent_id)",
    "CREATE INDEX agencies_region ON agencies(province, city, county)",
    "CREATE INDEX agencies_division ON agencies(division_code)",
    "CREATE INDEX agency_names_agency ON agency_names(agency_id)",
    "CREATE INDEX documents_url ON documents(url, version)",
    "CREATE INDEX documents_path ON documents(path, version)",
    "CREATE INDEX documents_sha256 ON documents(sha256)",
    "CREATE INDEX documents_parent ON documents(parent_id)",
    "CREATE INDEX reports_agency_year ON reports(agency_id, year)",
    "CREATE INDEX reports_current ON reports(is_current, year)",
    "CREATE INDEX reports_status ON reports(status)",
    "CREATE INDEX checks_report ON checks(report_id, check_id)",
    "CREATE INDEX checks_failed ON checks(check_id, ok)",
    "CREATE INDEX checks_other ON checks(other_report_id)",
)


@migrations()
def m001_core(db: Database) -> None:
    for sql in (
        AGENCIES_SQL,
        AGENCY_NAMES_SQL,
        BLOBS_SQL,
        DOCUMENTS_SQL,
        REPORTS_SQL,
        CELLS_SQL,
        CELL_KEYS_SQL,
        CHECKS_SQL,
        NARRATIVES_SQL,
        *INDEXES_SQL,
    ):
        db.execute(sql)


@migrations()
def m002_narratives_fts(db: Database) -> None:
    # The default unicode61 tokenizer treats a run of Chinese as one token, so it cannot
    # find 依申请 inside a sentence; trigram matches any substring of 3+ characters.
    db["narratives"].enable_fts(["text"], tokenize="trigram", create_triggers=True)


@migrations()
def m003_views(db: Database) -> None:
    create_views(db)


@migrations()
def m004_faster_wide_views(db: Database) -> None:
    # Views hold no data: every change to VIEWS gets a migration that recreates them all.
    create_views(db)


@migrations()
def m005_no_cells_key_index(db: Database) -> None:
    # An index on cells(key, ...) touches ~200 pages per stored report (one per key) and
    # made loading ~35% slower, while a full scan of cells (WITHOUT ROWID, compact) for
    # one key takes ~25 ms at 5,000 reports. The views look cells up by (report_id, key),
    # the primary key. At national scale, CREATE INDEX cells_key ON cells(key, value)
    # once after a bulk load; nothing here depends on its absence.
    db.execute("DROP INDEX IF EXISTS cells_key_value")


@migrations()
def m006_streaming_wide_views(db: Database) -> None:
    db.execute(KEY_ROWS_SQL)
    create_views(db)  # they read key_rows, which db.store.open_db fills


@migrations()
def m007_agency_lookups(db: Database) -> None:
    # Matching a report's 细河区民政局 to 阜新市细河区民政局 is a suffix search: on the
    # reversed name it becomes a prefix search, which an index answers (no full scan of
    # a national registry per new name).
    db.execute("ALTER TABLE agency_names ADD COLUMN reversed TEXT")
    db.execute("UPDATE agency_names SET reversed = reverse_text(name)")
    db.execute("CREATE INDEX agency_names_reversed ON agency_names(reversed)")
    # Every registry upsert looks for unmatched names it now explains: few rows, indexed.
    db.execute("CREATE INDEX agencies_unmatched ON agencies(id) WHERE unmatched = 1")


@migrations()
def m008_pipeline_withdrawn(db: Database) -> None:
    # A known report whose URL now answers 404/410 on revalidation is kept, marked with
    # the day it disappeared (issue 10).
    db.execute("ALTER TABLE documents ADD COLUMN withdrawn_at TEXT")


@migrations()
def m008_national_summary_tables(db: Database) -> None:
    # The views computed every number from cells per query: ~1 s for report_overview at
    # 20,000 reports, a minute at a million. They now read tables kept current by every
    # write (db/summaries.py); filled here from the data already stored.
    from xxgk.db import summaries

    summaries.create_tables(db)
    create_views(db)
    summaries.rebuild(db)


@migrations()
def m009_national_bytes_apart(db: Database) -> None:
    # The raw bytes may now live in a companion file (db/archive.py), which a foreign key
    # cannot reach: documents.sha256 keeps naming them, without REFERENCES blobs. SQLite
    # cannot drop a constraint; rewriting the table's stored CREATE statement is the
    # documented way for a change that leaves the stored rows as they are, and it is
    # instant where copying a national documents table would not be.
    _rewrite_table_sql(db, "documents", " REFERENCES blobs(sha256)", "")


def _rewrite_table_sql(db: Database, table: str, old: str, new: str) -> None:
    """Replace `old` by `new` in `table`'s stored CREATE statement, rows untouched (nothing
    to do when the statement has no `old`): SQLite's documented way to change a constraint
    that every stored row meets, instant where rebuilding a national table is not."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                     (table,)).fetchone()[0]
    if old not in sql:
        return
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    try:
        db.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                   (sql.replace(old, new), table))
        db.execute(f"PRAGMA schema_version = {version + 1}")  # every connection re-reads it
    finally:
        db.execute("PRAGMA writable_schema = OFF")


@migrations()
def m010_national_empty_totals_index(db: Database) -> None:
    from xxgk.db import summaries

    for sql in summaries.EMPTY_TOTALS_INDEXES:
        db.execute(sql)


# ------------------------------------------------------------------ analysis (issue 12)

SIMILAR_REPORTS_SQL = f"""
CREATE TABLE similar_reports (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    other_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    section TEXT NOT NULL CHECK (section IN {_in(similar.SECTIONS)}),
    similarity REAL NOT NULL CHECK (similarity BETWEEN 0 AND 1),
    estimate REAL,
    method TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    CHECK (report_id < other_id),
    UNIQUE (report_id, other_id, section)
) STRICT
"""

# The MinHash values of each report's sections, and their LSH bands (db/similar.py).
SIMILAR_SIGNATURES_SQL = """
CREATE TABLE similar_signatures (
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    section TEXT NOT NULL,
    shingles INTEGER NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (report_id, section)
) STRICT, WITHOUT ROWID
"""

SIMILAR_BUCKETS_SQL = """
CREATE TABLE similar_buckets (
    bucket INTEGER NOT NULL,
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    PRIMARY KEY (bucket, report_id)
) STRICT, WITHOUT ROWID
"""

# The crawler's table of portal states, as scraper/state.py creates it: the compliance view
# reads it, so a database that was only ever loaded (never crawled) has it too, empty.
CRAWL_PORTALS_COLUMNS = {
    "portal_id": str, "agency": str, "agency_id": int, "status": str, "last_run_id": int,
    "last_started_at": str, "last_finished_at": str, "last_ok_at": str,
    "pages_fetched": int, "not_modified": int, "list_pages": int, "reports_found": int,
    "new_reports": int, "changed_reports": int, "failures": int, "capped": int,
    "last_error": str,
    # the two health columns (scraper/health.py) the compliance view reads; the crawler adds
    # the others when it first runs
    "health": str, "verified_at": str,
}  # fmt: skip

P1_COLUMNS_SQL = (
    "ALTER TABLE checks ADD COLUMN quote TEXT",
    "ALTER TABLE checks ADD COLUMN cell_key TEXT",
    "ALTER TABLE checks ADD COLUMN stated_value ANY",
    "ALTER TABLE checks ADD COLUMN cell_value ANY",
)


@migrations()
def m011_analysis_compliance_similar_prose(db: Database) -> None:
    _allow_check_ids(db, CHECK_IDS)
    for sql in P1_COLUMNS_SQL:
        db.execute(sql)
    for sql in (SIMILAR_REPORTS_SQL, SIMILAR_SIGNATURES_SQL, SIMILAR_BUCKETS_SQL):
        db.execute(sql)
    db.execute("CREATE INDEX similar_reports_other ON similar_reports(other_id)")
    db.execute("CREATE INDEX similar_reports_closest ON similar_reports(similarity)")
    db.execute("CREATE INDEX similar_buckets_report ON similar_buckets(report_id)")
    db["crawl_portals"].create(CRAWL_PORTALS_COLUMNS, pk="portal_id", if_not_exists=True)
    db.execute("DROP VIEW IF EXISTS compliance")
    db.execute(f"CREATE VIEW compliance AS {compliance.COMPLIANCE_SQL}")


@migrations()
def m012_national_compliance_rows(db: Database) -> None:
    """The compliance view's rows stored (db/compliance.py): computed per query they took
    seconds at a million reports."""
    db.execute(compliance.ROWS_SQL)
    for sql in compliance.ROWS_INDEXES:
        db.execute(sql)
    compliance.refresh(db)
    db.execute("DROP VIEW IF EXISTS compliance")
    db.execute(f"CREATE VIEW compliance AS {compliance.VIEW_SQL}")


# The search index of narratives is written once per commit, not once per store. FTS5 writes
# its pending terms to disk at every SAVEPOINT, and each store is one (store.Batch): with the
# index written by the insert trigger, every report became a segment of its own to merge,
# 2.5 ms a report. Inserted rows are now listed in narratives_unindexed, and
# store.index_narratives adds them to the index just before each COMMIT (0.5 ms a report).
# A row deleted before it was indexed is only taken off the list.
NARRATIVES_DEFERRED_INDEX_SQL = (
    "CREATE TABLE IF NOT EXISTS narratives_unindexed (id INTEGER PRIMARY KEY)",
    """CREATE TRIGGER narratives_ai AFTER INSERT ON narratives BEGIN
  INSERT OR IGNORE INTO narratives_unindexed (id) VALUES (new.id);
END""",
    """CREATE TRIGGER narratives_ad AFTER DELETE ON narratives BEGIN
  INSERT INTO narratives_fts (narratives_fts, rowid, text) SELECT 'delete', old.id, old.text
    WHERE NOT EXISTS (SELECT 1 FROM narratives_unindexed WHERE id = old.id);
  DELETE FROM narratives_unindexed WHERE id = old.id;
END""",
    """CREATE TRIGGER narratives_au AFTER UPDATE ON narratives BEGIN
  INSERT INTO narratives_fts (narratives_fts, rowid, text) SELECT 'delete', old.id, old.text
    WHERE NOT EXISTS (SELECT 1 FROM narratives_unindexed WHERE id = old.id);
  DELETE FROM narratives_unindexed WHERE id = old.id;
  INSERT OR IGNORE INTO narratives_unindexed (id) VALUES (new.id);
END""",
)


@migrations()
def m013_national_deferred_search_index(db: Database) -> None:
    for trigger in ("narratives_ai", "narratives_ad", "narratives_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for sql in NARRATIVES_DEFERRED_INDEX_SQL:
        db.execute(sql)


@migrations()
def m014_analysis_deadlines_before_2019(db: Database) -> None:
    """D1 and the overview's deadline for reports on 2018 and before: 31 March for every
    body (2008 Regulations), where the 2019 dates had been applied."""
    from xxgk.db import checks

    agency_ids = [r[0] for r in db.execute(
        "SELECT DISTINCT agency_id FROM reports WHERE year < ? AND agency_id IS NOT NULL",
        (checks.FIRST_YEAR_2019_RULES,))]
    if agency_ids:
        checks.refresh(db, agency_ids)


@migrations()
def m015_national_search_index_automerge(db: Database) -> None:
    """FTS5 merges 16 index segments of a level at a time, not 4: each commit of a load adds
    a segment, and at a million reports the default merged each report's terms ~7 times over
    (the search index went from 0.4 to 1.4 ms a report over a few thousand loaded); with 16
    about 3 times (0.3-0.4 ms). Searches read a few more segments: 8-44 ms at a million."""
    db.execute("INSERT INTO narratives_fts (narratives_fts, rank) VALUES ('automerge', 16)")


@migrations()
def m016_national_cheaper_cells_check(db: Database) -> None:
    """cells.value's CHECK from typeof(value) IN ('integer', 'real', 'null') to the same
    rule at a fraction of the cost (see CELLS_SQL): 0.3-0.4 ms less a stored report. The
    table is not rebuilt (at a million reports that rewrites 200 million rows): safe because
    the new rule accepts exactly the rows the old one did."""
    _rewrite_table_sql(db, "cells", "CHECK (typeof(value) IN ('integer', 'real', 'null'))",
                       CELLS_VALUE_CHECK)


@migrations()
def m017_national_countable_wide_views(db: Database) -> None:
    create_views(db)  # the wide views without their ORDER BY (see _stored_wide_sql)


@migrations()
def m018_national_pairs_in_index_order(db: Database) -> None:
    # similar_pairs lists pairs closest first, ties in this index's order (see queries.py)
    db.execute("DROP INDEX IF EXISTS similar_reports_closest")
    db.execute("CREATE INDEX similar_reports_closest ON similar_reports"
               "(similarity, section, report_id, other_id)")


def _allow_check_ids(db: Database, check_ids) -> None:
    """Widen the CHECK on checks.check_id: SQLite cannot alter a constraint, so the table is
    rebuilt with its rows, indexes and the views that read it (their SQL as stored)."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'checks'").fetchone()[0]
    old = sql[sql.index("check_id IN ("):]
    old = old[:old.index(")") + 1]
    new = f"check_id IN {_in(check_ids)}"
    if old == new:
        return  # a database made with these ids already
    views = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'").fetchall()
    indexes = db.execute("SELECT sql FROM sqlite_master WHERE type = 'index'"
                         " AND tbl_name = 'checks' AND sql IS NOT NULL").fetchall()
    for name, _ in views:
        db.execute(f"DROP VIEW {name}")
    db.execute(sql.replace("CREATE TABLE checks", "CREATE TABLE checks_widened", 1)
               .replace(old, new))
    db.execute("INSERT INTO checks_widened SELECT * FROM checks")
    db.execute("DROP TABLE checks")
    db.execute("ALTER TABLE checks_widened RENAME TO checks")
    for (index_sql,) in indexes:
        db.execute(index_sql)
    for _, view_sql in views:
        db.execute(view_sql)


def create_views(db: Database) -> None:
    """(Re)create every view: views hold no data, so replacing them is always safe."""
    for name, sql in VIEWS.items():
        db.execute(f"DROP VIEW IF EXISTS {name}")
        db.execute(f"CREATE VIEW {name} AS {sql}")


# ------------------------------------------------------------------ cell keys


def cell_key_rows() -> list[dict]:
    """Every canonical key with its Chinese labels and order, from parsers.schema."""
    rows = []
    t2_columns = list(keys.T2_COLUMNS.values())
    for r_order, row in enumerate(keys.T2_ROWS):
        for c_order, col in enumerate(t2_columns):
            if _t2_has(row.key, col.key):
                rows.append(_key_row("table2", row, col, r_order, c_order))
    for table, rws, cols in (
        ("table3", keys.T3_ROWS, keys.T3_COLUMNS),
        ("table4", keys.T4_ROWS, keys.T4_COLUMNS),
    ):
        for r_order, row in enumerate(rws):
            for c_order, col in enumerate(cols):
                rows.append(_key_row(table, row, col, r_order, c_order))
    return rows


def key_row_rows() -> list[dict]:
    """Every printed row of tables 2-4 with its label and position, from parsers.schema."""
    return [
        {"table_key": table, "row_order": order, "row_key": row.key, "row_label": row.label}
        for table, rows in (("table2", keys.T2_ROWS), ("table3", keys.T3_ROWS),
                            ("table4", keys.T4_ROWS))
        for order, row in enumerate(rows)
    ]


def _t2_has(row: str, col: str) -> bool:
    layouts = [layout.get(row, ()) for layout in keys.T2_LAYOUT.values()]
    if col in ("items_added", "items_removed"):
        return any("items_change" in cols for cols in layouts)
    return any(col in cols for cols in layouts)


def _key_row(table: str, row, col, r_order: int, c_order: int) -> dict:
    key = f"{table}.{row.key}.{col.key}"
    return {
        "key": key,
        "table_key": table,
        "row_key": row.key,
        "column_key": col.key,
        "label": keys.label(key),
        "row_label": row.label,
        "column_label": col.label,
        "unit": col.unit,
        "kind": col.kind,
        "row_order": r_order,
        "column_order": c_order,
    }


# ------------------------------------------------------------------ views


def _cell(key: str, alias: str | None = None, report: str = "r.id") -> str:
    alias = alias or key.split(".")[1]
    return f"(SELECT value FROM cells WHERE report_id = {report} AND key = '{key}') AS {alias}"


def _sum(table: str, rows, column: str, alias: str) -> str:
    key_list = ", ".join(f"'{table}.{r}.{column}'" for r in rows)
    return f"(SELECT sum(value) FROM cells WHERE report_id = r.id AND key IN ({key_list})) AS {alias}"


_WITHHELD = [r.key for r in keys.T3_ROWS if r.key.startswith("withheld_")]
_UNABLE = [r.key for r in keys.T3_ROWS if r.key.startswith("unable_")]
_NOT_PROCESSED = [r.key for r in keys.T3_ROWS if r.key.startswith("not_processed_")]

# Art. 49-50 of the Regulations: departments publish by 31 January, people's governments
# (their own report) by 31 March of the following year; for 2018 and before the 2008
# Regulations (art. 31): all by 31 March (db/checks.py, D1, has the same dates and year;
# tests/test_db_checks.py compares the two). Other kinds: no fixed deadline.
DEADLINE_SQL = """CASE
        WHEN a.kind IN ('government', 'department') AND r.year < 2019
            THEN (r.year + 1) || '-03-31'
        WHEN a.kind = 'government' THEN (r.year + 1) || '-03-31'
        WHEN a.kind = 'department' THEN (r.year + 1) || '-01-31'
    END"""

REPORT_OVERVIEW_SQL = f"""
SELECT
    t.*,
    CASE WHEN t.outcome_total > 0
        THEN round(1.0 * (coalesce(t.granted, 0) + coalesce(t.partially_granted, 0))
                   / t.outcome_total, 4) END AS disclosure_rate,
    CASE WHEN t.review_total > 0
        THEN round(1.0 * t.review_corrected / t.review_total, 4) END AS review_corrected_share,
    CASE WHEN t.litigation_total > 0
        THEN round(1.0 * t.litigation_corrected / t.litigation_total, 4)
        END AS litigation_corrected_share
FROM (
    SELECT
        r.id AS report_id,
        r.agency_id,
        coalesce(a.name, r.agency_name) AS agency,
        a.kind AS agency_kind,
        a.level AS agency_level,
        a.province,
        a.city,
        a.county,
        a.division_code,
        r.year,
        r.template_version,
        r.status,
        r.published_date,
        {DEADLINE_SQL} AS deadline,
        CAST(julianday(r.published_date) - julianday({DEADLINE_SQL}) AS INTEGER)
            AS days_after_deadline,
        {_cell("table3.new_received.total", "new_received")},
        {_cell("table3.carried_over_in.total", "carried_over_in")},
        {_cell("table3.outcome_total.total", "outcome_total")},
        {_cell("table3.carried_forward.total", "carried_forward")},
        {_cell("table3.granted.total", "granted")},
        {_cell("table3.partially_granted.total", "partially_granted")},
        {_sum("table3", _WITHHELD, "total", "withheld_total")},
        {_sum("table3", _UNABLE, "total", "unable_total")},
        {_sum("table3", _NOT_PROCESSED, "total", "not_processed_total")},
        {_cell("table3.other_handling.total", "other_handling_total")},
        {_cell("table4.review.total", "review_total")},
        {_cell("table4.review.corrected", "review_corrected")},
        (SELECT sum(value) FROM cells WHERE report_id = r.id AND key IN
            ('table4.litigation_direct.total', 'table4.litigation_after_review.total'))
            AS litigation_total,
        (SELECT sum(value) FROM cells WHERE report_id = r.id AND key IN
            ('table4.litigation_direct.corrected', 'table4.litigation_after_review.corrected'))
            AS litigation_corrected,
        (SELECT count(*) FROM checks WHERE report_id = r.id AND ok = 0) AS failed_checks,
        r.cell_count,
        r.document_id,
        coalesce(d.url, d.path) AS source
    FROM reports r
    LEFT JOIN agencies a ON a.id = r.agency_id
    JOIN documents d ON d.id = r.document_id
    WHERE r.is_current = 1
) t
"""


def _wide_sql(table: str, columns: list[tuple[str, str]]) -> str:
    """One row per current report and printed row of `table`, its columns looked up in cells.

    Every value is a primary-key lookup (report_id, key), walked in the order of the
    reports_current index and key_rows, so the rows come out already in (year, report,
    printed row) order: a page of the view is answered without computing all of it.
    """
    prefix = f"'{table}.' || k.row_key || '."
    lookups = ",\n    ".join(
        f"(SELECT value FROM cells WHERE report_id = r.id AND key = {prefix}{key}') AS {key}"
        for key, _ in columns
    )
    in_row = (f"FROM cells WHERE report_id = r.id AND key > {prefix}'"
              f" AND key < '{table}.' || k.row_key || '/'")
    return f"""
SELECT
    r.id AS report_id,
    coalesce(a.name, r.agency_name) AS agency,
    r.year,
    r.template_version,
    k.row_key,
    k.row_label,
    k.row_order,
    {lookups},
    (SELECT max(derived) {in_row}) AS any_derived
FROM reports r
JOIN key_rows k ON k.table_key = '{table}'
LEFT JOIN agencies a ON a.id = r.agency_id
WHERE r.is_current = 1 AND EXISTS (SELECT 1 {in_row})
ORDER BY r.year, r.id, k.row_order
"""


T2_WIDE_COLUMNS = [(c.key, c.label) for c in keys.T2_COLUMNS.values()]
T3_WIDE_COLUMNS = [(c.key, c.label) for c in keys.T3_COLUMNS]
T4_WIDE_COLUMNS = [(c.key, c.label) for c in keys.T4_COLUMNS]

CARRYOVER_SQL = """
SELECT
    x.id AS check_row_id,
    coalesce(a.name, r1.agency_name) AS agency,
    r0.year AS year,
    r1.year AS next_year,
    x.scope AS column_key,
    k.column_label,
    c0.value AS carried_forward,
    c1.value AS next_carried_over_in,
    c1.value - c0.value AS difference,
    x.fault,
    x.detail,
    r0.id AS report_id,
    r1.id AS next_report_id
FROM checks x
JOIN reports r1 ON r1.id = x.report_id
JOIN reports r0 ON r0.id = x.other_report_id
LEFT JOIN agencies a ON a.id = r1.agency_id
LEFT JOIN cells c0 ON c0.report_id = r0.id AND c0.key = 'table3.carried_forward.' || x.scope
LEFT JOIN cells c1 ON c1.report_id = r1.id AND c1.key = 'table3.carried_over_in.' || x.scope
LEFT JOIN cell_keys k ON k.key = 'table3.carried_forward.' || x.scope
WHERE x.check_id = 'X1' AND x.ok = 0
"""

# What the views computed from cells before the summary tables (db/summaries.py) held it;
# the summary tables are filled from exactly these queries.
SOURCE_VIEWS: dict[str, str] = {
    "report_overview": REPORT_OVERVIEW_SQL,
    "table2_wide": _wide_sql("table2", T2_WIDE_COLUMNS),
    "table3_wide": _wide_sql("table3", T3_WIDE_COLUMNS),
    "table4_wide": _wide_sql("table4", T4_WIDE_COLUMNS),
    "carryover_mismatches": CARRYOVER_SQL,
}


# ------------------------------------------------------------------ descriptions

_REPORT_ID = _col("报告编号", "reports.id of the report")
_AGENCY = _col("机关名称", "agency name (registry name, else as printed in the report)")
_YEAR = _col("报告年度", "report year (the year reported on, not the publication year)", "年")
_TEMPLATE = _col("模板版本", "template version: v2019, v2021, legacy or not_a_report")


def _wide_columns(table: str, columns: list[tuple[str, str]], units: dict) -> dict:
    described = {
        "report_id": _REPORT_ID,
        "agency": _AGENCY,
        "year": _YEAR,
        "template_version": _TEMPLATE,
        "row_key": _col("行键", f"canonical row key of {table}"),
        "row_label": _col("行名称", "the row's Chinese label as the national template prints it"),
        "row_order": _col("行序", "the row's position in the printed table, from 0"),
    }
    for key, zh in columns:
        described[key] = _col(zh, f"value of column {key} (null when blank or not printed)",
                              units.get(key, "件"))
    described["any_derived"] = _col(
        "含推算值", "1 if any value in the row was computed by the parser, not printed")
    return described


# The crawler's tables, created by scraper/state.py when a crawl first runs (a database
# built by `xxgk load` alone has none); described here so that they are published.
# crawl_portals is in every database since m008 (the compliance view reads it), with the
# columns of CRAWL_PORTALS_COLUMNS; the crawler adds its health columns when it first runs.
CRAWL_TABLES = ("crawl_runs", "portal_discoveries")
CRAWLER_ADDED_COLUMNS = {"crawl_portals": ("health_reason", "adapter", "entry_url",
                                           "entry_params", "entry_source", "reports_seen")}

TABLES: dict[str, dict] = {
    "agencies": {
        "zh": "机关",
        "en": "one row per agency; names found in reports are normalised onto registry rows",
        "columns": {
            "id": _col("机关编号", "agency id"),
            "name": _col("机关全称", "full name, e.g. 阜新市细河区民政局"),
            "short_name": _col("简称", "short name as reports often print it, e.g. 细河区民政局"),
            "kind": _col("机关类别", "government, department, township or other"),
            "level": _col("行政层级", "province, city, county (county/district) or township"),
            "province": _col("省", "province name"),
            "city": _col("市", "prefecture-level city name"),
            "county": _col("县（区）", "county or district name"),
            "division_code": _col("行政区划代码", "6-digit administrative division code"),
            "parent_id": _col("上级机关", "agencies.id of the parent agency"),
            "portal_id": _col("门户网站", "id of the crawler's portal this agency belongs to"),
            "unmatched": _col("未匹配", "1: a name seen only in reports, matched to no registry agency"),
            "created_at": _col("创建时间", "when the row was created (UTC, ISO 8601)"),
        },
    },
    "agency_names": {
        "zh": "机关名称对照",
        "en": "every spelling of an agency name seen, normalised, and the agency it means",
        "columns": {
            "name": _col("名称", "normalised name (NFKC, no white space)"),
            "agency_id": _col("机关编号", "agencies.id"),
            "matched_by": _col("匹配方式",
                               "registry (the registry's own name), exact, suffix (a report's "
                               "short name ending a registry name) or new (unmatched)"),
            "reversed": _col("倒序名称", "the name reversed, so suffix matches use an index"),
        },
    },
    "blobs": {
        "zh": "原始文件内容",
        "en": "raw bytes of every document, content-addressed, zlib-compressed; empty once "
              "they are moved to the archive file (xxgk archive) and in a published snapshot "
              "(xxgk publish --with-raw keeps them)",
        "columns": {
            "sha256": _col("SHA-256", "hex SHA-256 of the uncompressed bytes"),
            "size": _col("大小", "uncompressed size", "字节"),
            "compression": _col("压缩方式", "zlib or none"),
            "data": _col("内容", "the (compressed) bytes"),
        },
    },
    "documents": {
        "zh": "文件",
        "en": "every fetched or loaded file; never deleted, a changed page is a new version",
        "columns": {
            "id": _col("文件编号", "document id"),
            "url": _col("网址", "URL it was fetched from"),
            "path": _col("路径", "local path it was loaded from"),
            "version": _col("版本", "1, 2, ... per URL (or path) as its bytes change"),
            "sha256": _col("SHA-256", "hex SHA-256 of the bytes; blobs.sha256, in this file"
                                      " or in its archive file <name>.archive.db"),
            "size": _col("大小", "size of the bytes", "字节"),
            "content_type": _col("内容类型", "HTTP Content-Type"),
            "encoding": _col("编码", "detected text encoding"),
            "fetched_at": _col("抓取时间", "when it was fetched (UTC, ISO 8601)"),
            "http_status": _col("HTTP状态码", "HTTP status of the fetch"),
            "etag": _col("ETag", "HTTP ETag validator"),
            "last_modified": _col("Last-Modified", "HTTP Last-Modified validator"),
            "parent_id": _col("来源页面", "documents.id of the page that linked to it (attachments)"),
            "portal_id": _col("门户网站", "id of the crawler's portal"),
            "added_at": _col("入库时间", "when the row was stored (UTC, ISO 8601)"),
            "withdrawn_at": _col("撤下时间", "when the URL first answered 404/410 on revalidation"
                                             " (UTC, ISO 8601); empty while it is online"),
        },
    },
    "reports": {
        "zh": "年度报告",
        "en": "one row per parsed document version; is_current marks the version in use",
        "columns": {
            "id": _col("报告编号", "report id"),
            "document_id": _col("文件编号", "documents.id it was parsed from"),
            "agency_id": _col("机关编号", "agencies.id (null when no agency name was found)"),
            "agency_name": _col("报告中的机关名称", "agency name as printed in the report"),
            "agency_assigned": _col("指定机关",
                                    "1: agency given at load time (kept on re-parse), "
                                    "0: matched from agency_name"),
            "year": _YEAR,
            "template_version": _TEMPLATE,
            "title": _col("标题", "report title"),
            "published_date": _col("发布日期", "publication date, YYYY-MM-DD"),
            "parser_version": _col("解析器版本", "parsers.PARSER_VERSION that produced the row"),
            "status": _col("解析状态",
                           "ok, partial, not_a_report, failed, unsupported_format or needs_ocr"),
            "problems": _col("问题", "JSON list of problems the parser reported"),
            "source_format": _col("文件格式", "html, text, pdf, docx, ..."),
            "encoding": _col("编码", "text encoding the parser used"),
            "cell_count": _col("单元格数", "number of cells read", "个"),
            "is_current": _col("当前版本",
                               "1 for the version in use for its agency and year (a corrected "
                               "re-publication supersedes; both are kept)"),
            "superseded_by": _col("被替代为", "reports.id of the version that supersedes it"),
            "parsed_at": _col("解析时间", "when it was parsed (UTC, ISO 8601)"),
        },
    },
    "cells": {
        "zh": "表格数据（长表）",
        "en": "every table cell of every report, one row per (report, canonical key)",
        "columns": {
            "report_id": _REPORT_ID,
            "key": _col("指标键", "canonical key table.row.column, e.g. table3.granted.total"),
            "value": _col("数值", "the number (null when blank, '/', '—' or '无'); "
                                  "amounts in 万元, counts in 件", None),
            "raw": _col("原文", "the text as printed (null only for derived values)"),
            "note": _col("附注", "note printed beside the number, e.g. 社会组织法人登记证"),
            "derived": _col("推算值", "1: computed by the parser, not printed"),
            "table_key": _col("表", "table2, table3 or table4"),
            "row_key": _col("行键", "canonical row key"),
            "column_key": _col("列键", "canonical column key"),
        },
    },
    "cell_keys": {
        "zh": "指标说明",
        "en": "every canonical key with its Chinese labels, unit and printed order",
        "columns": {
            "key": _col("指标键", "canonical key table.row.column"),
            "table_key": _col("表", "table2, table3 or table4"),
            "row_key": _col("行键", "canonical row key"),
            "column_key": _col("列键", "canonical column key"),
            "label": _col("指标名称", "row and column labels joined, e.g. 行政许可·处理决定数量"),
            "row_label": _col("行名称", "row label as the template prints it"),
            "column_label": _col("列名称", "column label as the template prints it"),
            "unit": _col("单位", "unit of the values: 件, 项, 个 or 万元"),
            "kind": _col("类型", "int, signed_int or decimal"),
            "row_order": _col("行序", "row position in the printed table"),
            "column_order": _col("列序", "column position in the printed table"),
        },
    },
    "key_rows": {
        "zh": "表格行说明",
        "en": "the printed rows of tables 2-4 in order, with their Chinese labels",
        "columns": {
            "table_key": _col("表", "table2, table3 or table4"),
            "row_order": _col("行序", "the row's position in the printed table, from 0"),
            "row_key": _col("行键", "canonical row key"),
            "row_label": _col("行名称", "the row's label as the national template prints it"),
        },
    },
    "checks": {
        "zh": "勾稽关系检查",
        "en": "every check result: I1-I5 within a report, X1/X2 across years, D1 deadline",
        "columns": {
            "id": _col("编号", "row id"),
            "report_id": _col("报告编号", "reports.id checked (for X1/X2: the later year)"),
            "check_id": _col("检查项", "I1-I5, X1, X2 or D1 (see the shared schema spec)"),
            "scope": _col("范围", "the column, row or group checked"),
            "ok": _col("通过", "1 passed, 0 failed, null could not be evaluated"),
            "severity": _col("严重程度", "hard (an identity) or soft (expected, not required)"),
            "detail": _col("说明", "what was compared, with the numbers"),
            "fault": _col("责任方", "when failed: source (the published report) or parse"),
            "other_report_id": _col("对比报告", "X1/X2: reports.id of the earlier year"),
        },
    },
    "crawl_runs": {
        "zh": "抓取记录",
        "en": "one row per crawl run (xxgk crawl / demo): when, what it fetched, what failed",
        "columns": {
            "id": _col("编号", "run id"),
            "started_at": _col("开始时间", "UTC, ISO 8601"),
            "finished_at": _col("结束时间", "UTC, ISO 8601; empty while running or if killed"),
            "status": _col("状态", "running, finished, incomplete (--max-duration), interrupted"),
            "pid": _col("进程号", "process id of the crawl"),
            "hostname": _col("主机", "machine that ran the crawl"),
            "registry": _col("登记表", "the portal registry file used"),
            "portals": _col("门户", "JSON list of the portal ids crawled"),
            "max_duration": _col("时限", "--max-duration in seconds", "秒"),
            "requests": _col("请求数", "HTTP requests sent", "次"),
            "pages_fetched": _col("抓取页数", "pages fetched with a body", "页"),
            "not_modified": _col("未变更", "answers 304 Not Modified", "次"),
            "new_reports": _col("新报告", "new report documents", "份"),
            "changed_reports": _col("变更报告", "report pages whose bytes changed (new version)", "份"),
            "unchanged": _col("未变报告", "report pages fetched again with the same bytes", "份"),
            "failures": _col("失败数", "requests that failed after retries", "次"),
            "revalidated": _col("复查数", "known articles and attachments requested again", "份"),
            "revalidated_unchanged": _col("复查未变", "of those, answered 304 or the same bytes", "份"),
            "revalidated_changed": _col("复查变更", "of those, with new bytes (a new version, parsed)", "份"),
            "withdrawn": _col("已撤下", "of those, answering 404/410: marked withdrawn, kept", "份"),
            "parse_failures": _col("解析失败", "documents whose parse timed out, hit the memory "
                                               "limit or crashed (recorded failed)", "份"),
            "retried": _col("重试数", "articles and attachments that failed in an earlier run "
                                      "(within 30 days) and were never stored, asked for again", "份"),
            "summary": _col("摘要", "JSON per-portal summary with failure reasons"),
        },
    },
    "crawl_portals": {
        "zh": "门户抓取状态",
        "en": "the last crawl status of each registered portal",
        "columns": {
            "portal_id": _col("门户", "registry id of the portal"),
            "agency": _AGENCY,
            "agency_id": _col("机关编号", "agencies.id"),
            "status": _col("状态", "ok, partial, failing, incomplete, failed or blocked"),
            "last_run_id": _col("最近抓取", "crawl_runs.id of the last run"),
            "last_started_at": _col("最近开始", "UTC, ISO 8601"),
            "last_finished_at": _col("最近结束", "UTC, ISO 8601"),
            "last_ok_at": _col("最近成功", "UTC, ISO 8601, last run with status ok"),
            "pages_fetched": _col("抓取页数", "pages fetched in the last run", "页"),
            "not_modified": _col("未变更", "304 answers in the last run", "次"),
            "list_pages": _col("列表页", "list pages read in the last run", "页"),
            "reports_found": _col("发现报告", "report links found in the last run", "份"),
            "new_reports": _col("新报告", "new reports in the last run", "份"),
            "changed_reports": _col("变更报告", "changed reports in the last run", "份"),
            "failures": _col("失败数", "failed requests in the last run", "次"),
            "capped": _col("达到上限", "1 if the list-page cap stopped the last run"),
            "last_error": _col("最近错误", "the reason of the last failure"),
            "health": _col("健康状态", "ok, moved, empty, blocked, js_only, dead or failing (last run)"),
            "health_reason": _col("状态说明", "why the portal has that health, with the URL"),
            "adapter": _col("适配器", "the adapter that crawled the entry"),
            "entry_url": _col("入口地址", "the report column crawled (registry or discovered)"),
            "entry_params": _col("适配器参数", "JSON adapter parameters of the entry"),
            "entry_source": _col("入口来源", "registry, discovered or rediscovered (after a move)"),
            "reports_seen": _col("报告链接数", "report links the last run saw on the portal's lists", "个"),
            "verified_at": _col("最近验证", "UTC, ISO 8601, last run that found reports"),
        },
    },
    "portal_discoveries": {
        "zh": "门户自动发现",
        "en": "what discovery found from each portal's home page; the crawl reuses it",
        "columns": {
            "portal_id": _col("门户", "registry id of the portal"),
            "home": _col("首页", "the page discovery started from"),
            "status": _col("结果", "ok, empty, js_only, blocked, dead or not_found"),
            "adapter": _col("适配器", "the CMS family's adapter"),
            "entry_url": _col("入口地址", "the report column found"),
            "params": _col("适配器参数", "JSON adapter parameters read from the page"),
            "reports": _col("报告链接数", "report links on the column's first list page", "个"),
            "requests": _col("请求数", "HTTP requests discovery used", "次"),
            "reason": _col("说明", "why nothing usable was found"),
            "moved_from": _col("原入口", "the entry URL that had moved, for a rediscovery"),
            "discovered_at": _col("发现时间", "UTC, ISO 8601"),
            "run_id": _col("抓取编号", "crawl_runs.id of the run that discovered it"),
        },
    },
    "narratives": {
        "zh": "报告正文",
        "en": "prose sections of each report, full-text searchable (trigram)",
        "columns": {
            "id": _col("编号", "row id"),
            "report_id": _REPORT_ID,
            "section": _col("章节键", "overview, problems, other_matters; full_text for a "
                                      "legacy report, whose prose has no fixed sections"),
            "heading": _col("章节", "总体情况, 存在的主要问题及改进情况, 其他需要报告的事项 or 全文"),
            "text": _col("正文", "the section's text"),
        },
    },
    "report_overview": {
        "zh": "报告概览",
        "en": "one row per current report: agency, region, timing and the key totals",
        "columns": {
            "report_id": _REPORT_ID,
            "agency_id": _col("机关编号", "agencies.id"),
            "agency": _AGENCY,
            "agency_kind": _col("机关类别", "government, department, township or other"),
            "agency_level": _col("行政层级", "province, city, county or township"),
            "province": _col("省", "province name"),
            "city": _col("市", "city name"),
            "county": _col("县（区）", "county or district name"),
            "division_code": _col("行政区划代码", "6-digit administrative division code"),
            "year": _YEAR,
            "template_version": _TEMPLATE,
            "status": _col("解析状态", "parse status"),
            "published_date": _col("发布日期", "publication date, YYYY-MM-DD"),
            "deadline": _col("法定发布期限",
                             "31 January (departments) or 31 March (governments) of year + 1"),
            "days_after_deadline": _col("逾期天数",
                                        "days published after the deadline (negative: early)", "天"),
            "new_received": _col("本年新收申请数", "table3.new_received.total", "件"),
            "carried_over_in": _col("上年结转申请数", "table3.carried_over_in.total", "件"),
            "outcome_total": _col("办理结果总计", "table3.outcome_total.total", "件"),
            "carried_forward": _col("结转下年度继续办理", "table3.carried_forward.total", "件"),
            "granted": _col("予以公开", "table3.granted.total", "件"),
            "partially_granted": _col("部分公开", "table3.partially_granted.total", "件"),
            "withheld_total": _col("不予公开合计", "sum of the eight （三） rows, total column", "件"),
            "unable_total": _col("无法提供合计", "sum of the three （四） rows, total column", "件"),
            "not_processed_total": _col("不予处理合计", "sum of the five （五） rows, total column",
                                        "件"),
            "other_handling_total": _col("其他处理", "table3.other_handling.total", "件"),
            "review_total": _col("行政复议总计", "table4.review.total", "件"),
            "review_corrected": _col("行政复议结果纠正", "table4.review.corrected", "件"),
            "litigation_total": _col("行政诉讼总计", "direct + after-review litigation totals",
                                     "件"),
            "litigation_corrected": _col("行政诉讼结果纠正", "corrected, both litigation groups",
                                         "件"),
            "failed_checks": _col("未通过检查数", "number of failed checks of this report", "项"),
            "cell_count": _col("单元格数", "number of cells read", "个"),
            "document_id": _col("文件编号", "documents.id"),
            "source": _col("来源", "URL or path of the document"),
            "disclosure_rate": _col("公开率", "(granted + partially_granted) / outcome_total",
                                    "比例"),
            "review_corrected_share": _col("行政复议纠错率", "review corrected / review total",
                                           "比例"),
            "litigation_corrected_share": _col("行政诉讼纠错率",
                                               "litigation corrected / litigation total", "比例"),
        },
    },
    "table2_wide": {
        "zh": "主动公开情况（宽表）",
        "en": "table 2 of each current report, one row per 第二十条 item",
        "columns": _wide_columns("table2", T2_WIDE_COLUMNS,
                                 {c.key: c.unit for c in keys.T2_COLUMNS.values()}),
    },
    "table3_wide": {
        "zh": "依申请公开情况（宽表）",
        "en": "table 3 of each current report, one row per printed row, seven applicant columns"
              " (ORDER BY year, report_id, row_order for the printed order)",
        "columns": _wide_columns("table3", T3_WIDE_COLUMNS, {}),
    },
    "table4_wide": {
        "zh": "行政复议、行政诉讼情况（宽表）",
        "en": "table 4 of each current report, one row per group",
        "columns": _wide_columns("table4", T4_WIDE_COLUMNS, {}),
    },
    "carryover_mismatches": {
        "zh": "结转数不一致",
        "en": "X1 failures: carried_forward of year N differs from carried_over_in of year N+1",
        "columns": {
            "check_row_id": _col("检查编号", "checks.id"),
            "agency": _AGENCY,
            "year": _col("年度", "year N", "年"),
            "next_year": _col("下一年度", "year N+1", "年"),
            "column_key": _col("列键", "table 3 applicant column"),
            "column_label": _col("列名称", "the column's Chinese label"),
            "carried_forward": _col("结转下年度（N年）", "table3.carried_forward of year N", "件"),
            "next_carried_over_in": _col("上年结转（N+1年）", "table3.carried_over_in of year N+1",
                                         "件"),
            "difference": _col("差额", "next_carried_over_in - carried_forward", "件"),
            "fault": _col("责任方", "source or parse, as far as can be told"),
            "detail": _col("说明", "the check's detail"),
            "report_id": _col("N年报告编号", "reports.id of year N"),
            "next_report_id": _col("N+1年报告编号", "reports.id of year N+1"),
        },
    },
}

# ------------------------------------------------------------------ summary tables
# Filled by db/summaries.py from SOURCE_VIEWS and kept current by every write (m008).

# The table 4 cells the dashboard's review/litigation chart sums (not the total column).
T4_SUMMED_KEYS = [(row.key, col.key) for row in keys.T4_ROWS for col in keys.T4_COLUMNS
                  if col.key != "total"]
T4_SUMMED = [f"t4_{row}_{col}" for row, col in T4_SUMMED_KEYS]
# The report_overview columns summed per year and region for the dashboard.
OVERVIEW_SUMMED = ("new_received", "granted", "partially_granted", "withheld_total",
                   "unable_total", "not_processed_total", "other_handling_total")
OVERVIEW_COLUMNS = tuple(TABLES["report_overview"]["columns"])
CARRYOVER_COLUMNS = tuple(TABLES["carryover_mismatches"]["columns"])
WIDE_COLUMNS = {"table2": T2_WIDE_COLUMNS, "table3": T3_WIDE_COLUMNS, "table4": T4_WIDE_COLUMNS}


def _t4_label(row: str, col: str) -> str:
    return keys.label(f"table4.{row}.{col}") or f"table4.{row}.{col}"


def _summary_descriptions() -> dict:
    t4_values = {f"t4_{r}_{c}": _col(_t4_label(r, c), f"table4.{r}.{c}", "件")
                 for r, c in T4_SUMMED_KEYS}
    t4_sums = {f"t4_{r}_{c}": _col(_t4_label(r, c) + "合计", f"sum of table4.{r}.{c}", "件")
               for r, c in T4_SUMMED_KEYS}
    t4_counts = {f"t4_{r}_{c}_n": _col(_t4_label(r, c) + "报告数",
                                    f"reports with a value in table4.{r}.{c}", "份")
                 for r, c in T4_SUMMED_KEYS}
    overview = TABLES["report_overview"]["columns"]
    described = {
        "overview_rows": {
            "zh": "报告概览（汇总表）",
            "en": "report_overview stored: one row per current report, kept current by every "
                  "load, crawl and reparse; plus the table 4 cells the dashboard sums",
            "columns": {**overview, **t4_values},
        },
        "overview_totals": {
            "zh": "按年度和地区汇总",
            "en": "running sums of current reports per year and region name (region '' is "
                  "the whole country), kept current by every write; the dashboard reads it",
            "columns": {
                "year": _col("报告年度", "report year; 0 when unknown", "年"),
                "region": _col("地区", "a province, city or county name; '' for all"),
                "reports": _col("报告数", "current reports", "份"),
                "n_new_received": _col("有申请数的报告数",
                                       "current reports with table3.new_received.total", "份"),
                **{c: _col(overview[c]["zh"] + "合计", f"sum of report_overview.{c}", "件")
                   for c in OVERVIEW_SUMMED},
                **t4_sums, **t4_counts,
            },
        },
        "agency_totals": {
            "zh": "按机关汇总",
            "en": "per agency and year (year -1: all years) the sum of new applications of "
                  "its current reports, kept current by every write; top agencies read it",
            "columns": {
                "year": _col("报告年度", "report year; 0 unknown; -1 all years together", "年"),
                "agency_key": _col("机关键", "agency name, '' when none"),
                "agency": _AGENCY,
                "province": _col("省", "province name"),
                "city": _col("市", "city name"),
                "county": _col("县（区）", "county or district name"),
                "reports": _col("报告数", "current reports", "份"),
                "n_new_received": _col("有申请数的报告数",
                                       "current reports with table3.new_received.total", "份"),
                "new_received": _col("本年新收申请数合计", "sum of new_received", "件"),
            },
        },
        "carryover_rows": {
            "zh": "结转数不一致（汇总表）",
            "en": "carryover_mismatches stored, kept current with the X1 checks",
            "columns": {"check_row_id": TABLES["carryover_mismatches"]["columns"]["check_row_id"],
                        "agency_id": _col("机关编号", "agencies.id of the later report"),
                        **TABLES["carryover_mismatches"]["columns"]},
        },
    }
    for table, columns in WIDE_COLUMNS.items():
        wide = TABLES[f"{table}_wide"]["columns"]
        described[f"{table}_wide_rows"] = {
            "zh": TABLES[f"{table}_wide"]["zh"] + "（汇总表）",
            "en": f"every printed row of {table} of every report with cells (current or "
                  "not), rebuilt from cells whenever they change",
            "columns": {c: wide[c] for c in ("report_id", "row_order", "row_key", "row_label",
                                             *(k for k, _ in columns), "any_derived")},
        }
    return described


TABLES.update(_summary_descriptions())


def _overview_view_sql() -> str:
    return f"SELECT {', '.join(OVERVIEW_COLUMNS)} FROM overview_rows"


def _stored_wide_sql(table: str) -> str:
    """Every stored row of every current report. No ORDER BY: SQLite does not flatten a
    view that sorts into an aggregate over it, so the count(*) Datasette runs for every
    table page built each of a year's 2.8 million rows, agency name and all (1.2-1.4 s at
    a million reports; 0.25 s flattened). Read by year (reports_current) or report, rows
    still come in (year, report, printed row) order, from the indexes; an ORDER BY
    year, report_id, row_order says so for sure (WIDE_ORDER, used by `xxgk export`)."""
    values = ", ".join(f"w.{key}" for key, _ in WIDE_COLUMNS[table])
    return f"""
SELECT
    r.id AS report_id,
    coalesce(a.name, r.agency_name) AS agency,
    r.year,
    r.template_version,
    w.row_key,
    w.row_label,
    w.row_order,
    {values},
    w.any_derived
FROM reports r
JOIN {table}_wide_rows w ON w.report_id = r.id
LEFT JOIN agencies a ON a.id = r.agency_id
WHERE r.is_current = 1
"""


WIDE_ORDER = "year, report_id, row_order"


# The views downstream code and analysts read: same names and columns as SOURCE_VIEWS,
# now over the summary tables.
VIEWS: dict[str, str] = {
    "report_overview": _overview_view_sql(),
    "table2_wide": _stored_wide_sql("table2"),
    "table3_wide": _stored_wide_sql("table3"),
    "table4_wide": _stored_wide_sql("table4"),
    "carryover_mismatches": f"SELECT {', '.join(CARRYOVER_COLUMNS)} FROM carryover_rows",
    # over compliance_rows (db/compliance.py), kept current like the summary tables
    "compliance": compliance.VIEW_SQL,
}


# ------------------------------------------------------------------ analysis (issue 12)

TABLES["checks"]["en"] = ("every check result: I1-I5 within a report, X1/X2 across years, "
                          "D1 deadline, P1 prose against tables")
TABLES["checks"]["columns"]["check_id"] = _col(
    "检查项", "I1-I5, X1, X2, D1 or P1 (see the shared schema spec; P1: parsers/prose.py)")
TABLES["checks"]["columns"].update({
    "quote": _col("原文语句", "P1: the overview sentence stating the figure, as printed"),
    "cell_key": _col("对应指标键", "P1: the table cell compared (keys summed joined by +)"),
    "stated_value": _col("正文数字", "P1: the number the sentence states", "件"),
    "cell_value": _col("表格数字", "P1: the table's value (null when a cell is blank)", "件"),
})
TABLES.update({
    "similar_reports": {
        "zh": "雷同报告",
        "en": "pairs of reports whose prose repeats one another once numbers and agency "
              "names are removed (MinHash/LSH candidates, exact Jaccard of 5-grams)",
        "columns": {
            "id": _col("编号", "row id"),
            "report_id": _col("报告编号", "reports.id of one report (the smaller id)"),
            "other_id": _col("相似报告编号", "reports.id of the other report (the larger id)"),
            "section": _col("章节", "overview, problems, other_matters or whole (all the prose)"),
            "similarity": _col("相似度", "Jaccard index of the normalised character 5-gram sets,"
                                        " 0-1", "比例"),
            "estimate": _col("估计相似度", "the MinHash estimate that made them candidates",
                             "比例"),
            "method": _col("方法", "how it was computed, e.g. minhash64-lsh16x4+jaccard-5gram"),
            "computed_at": _col("计算时间", "UTC, ISO 8601"),
        },
    },
    "similar_signatures": {
        "zh": "相似度签名",
        "en": "the MinHash signature of each report section compared (db/similar.py)",
        "columns": {
            "report_id": _REPORT_ID,
            "section": _col("章节", "overview, problems, other_matters or whole"),
            "shingles": _col("片段数", "distinct character 5-grams of the normalised text", "个"),
            "signature": _col("签名", "64 MinHash values, uint32, native byte order"),
        },
    },
    "similar_buckets": {
        "zh": "相似度分桶",
        "en": "LSH index: one row per report section and band (16 bands of 4 MinHash values)",
        "columns": {
            "bucket": _col("桶", "63-bit hash of section, band number and the band's values"),
            "report_id": _REPORT_ID,
        },
    },
    "narratives_unindexed": {
        "zh": "待编入全文索引的正文",
        "en": "narratives stored in the transaction under way and not yet in narratives_fts "
              "(written to the index just before each commit; empty in a committed file)",
        "columns": {"id": _col("正文编号", "narratives.id")},
    },
    "compliance": {
        "zh": "年报发布合规情况",
        "en": "one row per registered agency and year from 2019 to the last complete year: "
              "published, on time or late, or missing and why",
        "columns": {name: _col(zh, en, unit)
                    for name, (zh, en, unit) in compliance.COLUMNS.items()},
    },
    "compliance_rows": {
        "zh": "年报发布合规情况（汇总表）",
        "en": "compliance stored: one row per registered agency and year, recomputed for an "
              "agency by every write that can change it (a report, the registry, its portal's "
              "crawl state) and for all when a year ends; the compliance view reads it",
        "columns": {name: _col(zh, en, unit)
                    for name, (zh, en, unit) in compliance.COLUMNS.items()},
    },
})

VIEW_NAMES = tuple(VIEWS)
