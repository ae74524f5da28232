"""Summary tables kept current by every write, so published queries read rows, not cells.

At national size (about a million reports, two hundred cells each) a view that looks its
numbers up in `cells` for every report cannot answer within Datasette's one-second limit.
The views of db/schema.py therefore read these tables, which db/store.py updates for the
reports a write touches, inside the same transaction:

- `overview_rows`: report_overview, one row per current report, plus the table 4 cells the
  dashboard sums;
- `table2_wide_rows` / `table3_wide_rows` / `table4_wide_rows`: every printed row of every
  report with cells (current or not: a report becoming current moves no rows);
- `carryover_rows`: carryover_mismatches, one row per failed X1 check;
- `overview_totals` (per year and region) and `agency_totals` (per agency and year, and
  over all years): running sums the dashboard charts read instead of a million rows.

`refresh` recomputes the rows of some reports and moves the running sums by the
difference (old rows subtracted, new rows added); `rebuild` recomputes everything, for a
migration, a bulk load or `xxgk check`.
"""

from __future__ import annotations

from functools import lru_cache

from sqlite_utils import Database

from xxgk.db import compliance, schema

WIDE = schema.WIDE_COLUMNS
T4_KEYS = schema.T4_SUMMED_KEYS
T4_COLUMNS = schema.T4_SUMMED
SUMMED = schema.OVERVIEW_SUMMED
OVERVIEW_COLUMNS = schema.OVERVIEW_COLUMNS
CARRYOVER_COLUMNS = schema.CARRYOVER_COLUMNS


# ------------------------------------------------------------------ tables

def _overview_rows_sql() -> str:
    columns = ",\n    ".join(f"{c} ANY" for c in OVERVIEW_COLUMNS[1:] + tuple(T4_COLUMNS))
    return f"CREATE TABLE overview_rows (\n    report_id INTEGER PRIMARY KEY,\n    {columns}\n) STRICT"


def _wide_rows_sql(table: str) -> str:
    columns = ",\n    ".join(f"{key} ANY" for key, _ in WIDE[table])
    return f"""CREATE TABLE {table}_wide_rows (
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    row_order INTEGER NOT NULL,
    row_key TEXT NOT NULL,
    row_label TEXT,
    {columns},
    any_derived INTEGER,
    PRIMARY KEY (report_id, row_order)
) STRICT, WITHOUT ROWID"""


def _overview_totals_sql() -> str:
    sums = ",\n    ".join(
        [f"{c} ANY NOT NULL DEFAULT 0" for c in SUMMED]
        + [f"{c} ANY NOT NULL DEFAULT 0" for c in T4_COLUMNS]
        + [f"{c}_n INTEGER NOT NULL DEFAULT 0" for c in T4_COLUMNS])
    return f"""CREATE TABLE overview_totals (
    year INTEGER NOT NULL,
    region TEXT NOT NULL,
    reports INTEGER NOT NULL DEFAULT 0,
    n_new_received INTEGER NOT NULL DEFAULT 0,
    {sums},
    PRIMARY KEY (year, region)
) STRICT, WITHOUT ROWID"""


AGENCY_TOTALS_SQL = """CREATE TABLE agency_totals (
    year INTEGER NOT NULL,
    agency_key TEXT NOT NULL,
    agency TEXT,
    province TEXT,
    city TEXT,
    county TEXT,
    reports INTEGER NOT NULL DEFAULT 0,
    n_new_received INTEGER NOT NULL DEFAULT 0,
    new_received ANY NOT NULL DEFAULT 0,
    PRIMARY KEY (year, agency_key)
) STRICT, WITHOUT ROWID"""

def _carryover_rows_sql() -> str:
    columns = ",\n    ".join(f"{c} ANY" for c in CARRYOVER_COLUMNS[1:])
    return (f"CREATE TABLE carryover_rows (\n    check_row_id INTEGER PRIMARY KEY,\n"
            f"    agency_id INTEGER,\n    {columns}\n) STRICT")


# Each index is here because a published query's plan needs it (see the README, "national").
INDEXES = (
    # report_overview by year (canned queries' year filter; failing_checks walks it in
    # year DESC, agency order, so its ORDER BY streams instead of sorting every failure)
    "CREATE INDEX overview_rows_year ON overview_rows(year DESC, agency)",
    # one agency across years (agency_across_years, the agency page)
    "CREATE INDEX overview_rows_agency ON overview_rows(agency, year)",
    # keeping the rows current: all reports of an agency
    "CREATE INDEX overview_rows_agency_id ON overview_rows(agency_id, year)",
    # late_publications: the latest first, streamed
    "CREATE INDEX overview_rows_late ON overview_rows(days_after_deadline DESC, agency)",
    # top agencies: the first 15 of one year (or all years) by applications
    "CREATE INDEX agency_totals_top ON agency_totals(year, new_received DESC, agency)",
    # carryover_mismatches in the canned query's order, streamed
    "CREATE INDEX carryover_rows_agency ON carryover_rows(agency, year, column_key)",
    "CREATE INDEX carryover_rows_agency_id ON carryover_rows(agency_id)",
)
# What each refresh deletes, found without a scan of a million rows (m010).
EMPTY_TOTALS_INDEXES = (
    "CREATE INDEX IF NOT EXISTS overview_totals_empty ON overview_totals(year)"
    " WHERE reports = 0",
    "CREATE INDEX IF NOT EXISTS agency_totals_empty ON agency_totals(year)"
    " WHERE reports = 0",
    # each refresh replaces the carry-over rows of its reports (a scan: 6 ms at 80,000)
    "CREATE INDEX IF NOT EXISTS carryover_rows_report ON carryover_rows(next_report_id)",
)


def create_tables(db: Database) -> None:
    for sql in (_overview_rows_sql(), *(_wide_rows_sql(t) for t in WIDE),
                _overview_totals_sql(), AGENCY_TOTALS_SQL, _carryover_rows_sql(), *INDEXES):
        db.execute(sql)


# ------------------------------------------------------------------ computing rows

def _overview_select(where: str) -> str:
    """The rows of overview_rows for the current reports matching `where` (on r)."""
    # "+r.is_current": the reports are found by `where` (their ids), never by walking the
    # index of every current report, which made each store cost O(reports).
    base = schema.REPORT_OVERVIEW_SQL.replace(
        "WHERE r.is_current = 1", f"WHERE +r.is_current = 1 AND ({where})")
    assert base != schema.REPORT_OVERVIEW_SQL
    t4 = ",\n    ".join(
        f"(SELECT value FROM cells WHERE report_id = o.report_id"
        f" AND key = 'table4.{row}.{col}') AS t4_{row}_{col}" for row, col in T4_KEYS)
    return f"SELECT o.*,\n    {t4}\nFROM ({base}) o"


def _carryover_select(where: str) -> str:
    """The carryover rows of the later reports matching `where` (on x.report_id)."""
    base = schema.CARRYOVER_SQL.replace(
        "coalesce(a.name, r1.agency_name) AS agency,",
        "r1.agency_id AS agency_id, coalesce(a.name, r1.agency_name) AS agency,")
    # "+x.ok": look the checks up by report (checks_report), not every failed X1 check.
    assert "WHERE x.check_id = 'X1' AND x.ok = 0" in base
    if where != "1":
        base = base.replace("WHERE x.check_id = 'X1' AND x.ok = 0",
                            "WHERE x.check_id = 'X1' AND +x.ok = 0")
    return f"{base} AND ({where})"


def _wide_rows(db: Database, cells) -> dict[str, list[tuple]]:
    """The wide rows of `cells` ((report_id, key, value, derived) in primary-key order):
    one row per report and printed row, its columns pivoted.

    Done in Python over one ordered scan: the cells of a (report, table, row) are adjacent
    in key order, so no sort is needed, where SQL's GROUP BY over a generated or joined
    row key sorts every cell (~5x slower at a million reports)."""
    return _pivot(_wide_layout(db), cells)


def spec_wide_rows(cell_rows: list[tuple]) -> dict[str, list[tuple]]:
    """The wide rows of one report's cells (store._cell_rows: in key order), report id 0,
    laid out as the spec prints its rows: what a parse worker computes for the writer
    (store.prepare) when every key is the spec's, so that the database's layout cannot
    differ."""
    return _pivot(_spec_layout(), ((0, c[0], c[1], c[-1]) for c in cell_rows))


@lru_cache(maxsize=1)
def _spec_layout() -> dict:
    return _layout((r["table_key"], r["row_order"], r["row_key"], r["row_label"])
                   for r in schema.key_row_rows())


def _pivot(layout: dict, cells) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {table: [] for table in WIDE}
    current = None
    values: list = []
    derived = 0
    for report_id, key, value, is_derived in cells:
        table, _, rest = key.partition(".")
        row, _, column = rest.partition(".")
        group = (report_id, table, row)
        if group != current:
            if current is not None:
                _emit(out, layout, current, values, derived)
            current, derived = group, 0
            values = [None] * len(WIDE.get(table, ()))
        position = layout["columns"].get(table, {}).get(column)
        if position is not None:
            values[position] = value
        derived = max(derived, is_derived)
    if current is not None:
        _emit(out, layout, current, values, derived)
    return out


def _wide_layout(db: Database) -> dict:
    """Columns and printed rows of the wide tables, kept on the connection's Database
    between reports (store._register_new_keys forgets it when it adds a row)."""
    layout = getattr(db, "_xxgk_wide_layout", None)
    if layout is None:
        layout = db._xxgk_wide_layout = _read_wide_layout(db)
    return layout


def forget_wide_layout(db: Database) -> None:
    db.__dict__.pop("_xxgk_wide_layout", None)


def _read_wide_layout(db: Database) -> dict:
    return _layout(db.execute("SELECT table_key, row_order, row_key, row_label FROM key_rows"))


def _layout(rows) -> dict:
    """Each wide table's column positions, and (table, row) -> (order, label) of `rows`,
    (table_key, row_order, row_key, row_label) tuples."""
    return {
        "columns": {t: {key: i for i, (key, _) in enumerate(cols)} for t, cols in WIDE.items()},
        "rows": {(t, r): (order, label) for t, order, r, label in rows},
    }


def _emit(out, layout, group, values, derived) -> None:
    report_id, table, row = group
    printed = layout["rows"].get((table, row))
    if table in out and printed is not None:
        out[table].append((report_id, printed[0], row, printed[1], *values, derived))


def _insert_wide(db: Database, rows: dict[str, list[tuple]]) -> None:
    for table, items in rows.items():
        if items:
            marks = ", ".join("?" for _ in items[0])
            db.conn.executemany(f"INSERT INTO {table}_wide_rows VALUES ({marks})", items)


@lru_cache(maxsize=8)  # built once: every store runs them
def _totals_upserts(source_filter: str, sign: int) -> tuple[str, str]:
    """Move overview_totals and agency_totals by `sign` times the overview rows matching
    `source_filter` (on o). A report counts once for each distinct region name it is in,
    as `:region IN (province, city, county)` counts it."""
    def total(column: str) -> str:
        return f"{sign} * coalesce(sum(o.{column}), 0)"

    sums = [total(c) for c in SUMMED] + [total(c) for c in T4_COLUMNS] + [
        f"{sign} * count(o.{c})" for c in T4_COLUMNS]
    names = list(SUMMED) + T4_COLUMNS + [f"{c}_n" for c in T4_COLUMNS]
    updates = ", ".join(f"{n} = {n} + excluded.{n}" for n in ["reports", "n_new_received", *names])
    region = """CASE p.part WHEN 0 THEN '' WHEN 1 THEN o.province WHEN 2 THEN o.city
                  ELSE o.county END"""
    overview = f"""
WITH parts(part) AS (VALUES (0), (1), (2), (3))
INSERT INTO overview_totals (year, region, reports, n_new_received, {', '.join(names)})
SELECT coalesce(o.year, 0), {region}, {sign} * count(*), {sign} * count(o.new_received),
       {', '.join(sums)}
FROM overview_rows o, parts p
WHERE ({source_filter}) AND (p.part = 0
    OR p.part = 1 AND coalesce(o.province, '') != ''
    OR p.part = 2 AND coalesce(o.city, '') != '' AND o.city IS NOT o.province
    OR p.part = 3 AND coalesce(o.county, '') != '' AND o.county IS NOT o.province
       AND o.county IS NOT o.city)
GROUP BY 1, 2
ON CONFLICT (year, region) DO UPDATE SET {updates}
"""
    keep_region = ", ".join(
        f"{c} = CASE WHEN excluded.reports > 0 THEN excluded.{c} ELSE {c} END"
        for c in ("agency", "province", "city", "county"))
    agencies = f"""
WITH slots(slot) AS (VALUES (0), (1))
INSERT INTO agency_totals (year, agency_key, agency, province, city, county, reports,
                           n_new_received, new_received)
SELECT CASE s.slot WHEN 0 THEN coalesce(o.year, 0) ELSE -1 END, coalesce(o.agency, ''),
       o.agency, o.province, o.city, o.county, {sign} * count(*),
       {sign} * count(o.new_received), {total('new_received')}
FROM overview_rows o, slots s
WHERE ({source_filter})
GROUP BY 1, 2
ON CONFLICT (year, agency_key) DO UPDATE SET reports = reports + excluded.reports,
    n_new_received = n_new_received + excluded.n_new_received,
    new_received = new_received + excluded.new_received, {keep_region}
"""
    return overview, agencies


_PICKED = "o.report_id IN (SELECT id FROM temp.summary_ids)"


def refresh(db: Database, *, report_ids=(), agency_ids=()) -> None:
    """Recompute the overview and carry-over rows of these reports and of every report of
    these agencies, and move the running totals by the difference. Call it inside the
    transaction that changed them, after the change."""
    agency_ids = sorted({a for a in agency_ids if a is not None})
    ids = {r for r in report_ids if r is not None}
    if agency_ids:
        marks = ", ".join("?" for _ in agency_ids)
        # Only current reports have overview and carry-over rows; those a report had while
        # it was current are found through the rows themselves. (All of an agency's reports made
        # each store cost O(its reports): one report posted at 400 addresses, 400 rows.)
        ids.update(r[0] for r in db.execute(
            f"SELECT id FROM reports WHERE agency_id IN ({marks}) AND +is_current = 1",
            agency_ids))
        ids.update(r[0] for r in db.execute(
            f"SELECT report_id FROM overview_rows WHERE agency_id IN ({marks})"
            f" UNION SELECT next_report_id FROM carryover_rows WHERE agency_id IN ({marks})",
            agency_ids * 2))
    if agency_ids and _has_compliance_rows(db):
        compliance.refresh(db, agency_ids)
    if not ids:
        return
    db.execute("CREATE TEMP TABLE IF NOT EXISTS summary_ids (id INTEGER PRIMARY KEY)")
    db.execute("DELETE FROM temp.summary_ids")
    db.conn.executemany("INSERT INTO temp.summary_ids (id) VALUES (?)", [(i,) for i in ids])
    for sql in _totals_upserts(_PICKED, -1):
        db.execute(sql)
    db.execute("DELETE FROM overview_rows WHERE report_id IN (SELECT id FROM temp.summary_ids)")
    _insert_overview(db, "r.id IN (SELECT id FROM temp.summary_ids)")
    for sql in _totals_upserts(_PICKED, 1):
        db.execute(sql)
    db.execute("DELETE FROM overview_totals WHERE reports = 0")
    db.execute("DELETE FROM agency_totals WHERE reports = 0")
    # From the few ids to their rows by index (CROSS JOIN fixes the order): with the ids
    # as an IN list SQLite scanned the table.
    db.execute(f"DELETE FROM carryover_rows WHERE check_row_id IN ({PICKED_CARRYOVER_ROWS})")
    _insert_carryover(db, "x.report_id IN (SELECT id FROM temp.summary_ids)")


# "+s.id": next_report_id is an ANY column (no affinity); compared with an INTEGER column
# SQLite converts it, and then cannot use its index: it scanned every carry-over row (11 ms
# a store at a million reports, when the test below accepted any plan naming the index).
PICKED_CARRYOVER_ROWS = ("SELECT c.check_row_id FROM temp.summary_ids s CROSS JOIN"
                         " carryover_rows c ON c.next_report_id = +s.id")


def _has_compliance_rows(db: Database) -> bool:
    """compliance_rows exists (from migration m012 on; earlier migrations call refresh)."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'compliance_rows'").fetchone() \
        is not None


def _insert_overview(db: Database, where: str) -> None:
    columns = ", ".join(OVERVIEW_COLUMNS + tuple(T4_COLUMNS))
    db.execute(f"INSERT INTO overview_rows ({columns}) {_overview_select(where)}")


def _insert_carryover(db: Database, where: str) -> None:
    columns = ", ".join(("agency_id",) + CARRYOVER_COLUMNS)
    db.execute(f"INSERT INTO carryover_rows ({columns}) "
               f"SELECT {columns} FROM ({_carryover_select(where)})")


def refresh_wide(db: Database, report_id: int, cells: list[tuple] | None = None, *,
                 prepared: dict[str, list[tuple]] | None = None) -> None:
    """Rebuild the wide rows of one report from its cells (after they changed): `cells`,
    the (key, value, ..., derived) rows just stored (store._cell_rows: in key order), or
    else read back; `prepared`: the same rows as spec_wide_rows made them from those cells
    in a parse worker."""
    for table in WIDE:
        db.execute(f"DELETE FROM {table}_wide_rows WHERE report_id = ?", (report_id,))
    if prepared is not None:
        _insert_wide(db, {table: [(report_id, *row[1:]) for row in rows]
                          for table, rows in prepared.items()})
        return
    if cells is None:
        rows = db.execute("SELECT report_id, key, value, derived FROM cells"
                          " WHERE report_id = ? ORDER BY key", (report_id,))
    else:
        rows = ((report_id, c[0], c[1], c[-1]) for c in cells)
    _insert_wide(db, _wide_rows(db, rows))


def rebuild(db: Database, *, wide: bool = True, chunk: int = 50_000, progress=None) -> None:
    """Recompute every summary table from reports, cells and checks (the wide rows only
    if `wide`: they depend on cells alone).

    The wide rows are built in chunks of report ids, so each GROUP BY sorts one chunk's
    cells, not the whole table."""
    for table in ("overview_rows", "overview_totals", "agency_totals", "carryover_rows"):
        db.execute(f"DELETE FROM {table}")
    _insert_overview(db, "1")
    for sql in _totals_upserts("1", 1):
        db.execute(sql)
    _insert_carryover(db, "1")
    if _has_compliance_rows(db):
        compliance.refresh(db)
    if wide:
        rebuild_wide(db, chunk=chunk, progress=progress)


def rebuild_wide(db: Database, *, chunk: int = 20_000, progress=None) -> None:
    for table in WIDE:
        db.execute(f"DELETE FROM {table}_wide_rows")
    last = db.execute("SELECT coalesce(max(id), 0) FROM reports").fetchone()[0]
    for start in range(0, last + 1, chunk):
        _insert_wide(db, _wide_rows(db, db.execute(
            "SELECT report_id, key, value, derived FROM cells"
            " WHERE report_id BETWEEN ? AND ? ORDER BY report_id, key",
            (start, start + chunk - 1))))
        if progress:
            progress(min(start + chunk, last), last)
