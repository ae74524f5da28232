"""Checks across reports (勾稽关系 between years, and the publication deadline).

- X1: carried_forward of year N = carried_over_in of year N+1, per table 3 column.
- X2 (soft): in_force(N) = in_force(N-1) + issued_this_year(N) - repealed_this_year(N),
  for 规章 and 规范性文件 where both years use the 2021 template.
- D1: departments publish by 31 January of the next year, people's governments their own
  report by 31 March (Regulations on Open Government Information, art. 49-50).

Only current reports take part. Results go to `checks`, replacing earlier cross-report
results of the same agencies, so `refresh` can run any number of times.
"""

from __future__ import annotations

from sqlite_utils import Database

from xxgk.db import summaries
from xxgk.parsers import schema as keys

CROSS_CHECKS = ("X1", "X2", "D1")
X2_ROWS = ("regulations", "normative_documents")
DEADLINES = {"government": "03-31", "department": "01-31"}
# Reports on 2018 and before fall under the 2008 Regulations (art. 31): every administrative
# body by 31 March. The 2019 Regulations (in force from 15 May 2019) set the dates above.
FIRST_YEAR_2019_RULES = 2019
DEADLINE_2008_RULES = "03-31"


def refresh(db: Database, agency_ids: list[int] | None = None, *,
            report_ids: list[int] = ()) -> int:
    """Recompute X1, X2 and D1 for these agencies (all when None); return rows written.

    The summary tables (db/summaries.py) of these agencies' reports and of `report_ids`
    are brought up to date in the same transaction: the failed-check counts change."""
    from xxgk.db.store import transaction  # store imports this module

    # Each branch writes before it reads, so the write lock is taken (waiting for another
    # writer if need be) before the transaction has read anything that could go stale.
    # (store.transaction, not sqlite-utils' atomic(): inside a store it is a savepoint, and
    # atomic() names each one with a getrandom call.)
    with transaction(db):
        everything = agency_ids is None
        if everything:
            db.execute(f"DELETE FROM checks WHERE check_id IN {_in(CROSS_CHECKS)}")
            agency_ids = [r[0] for r in db.execute(
                "SELECT DISTINCT agency_id FROM reports WHERE agency_id IS NOT NULL")]
        else:
            agency_ids = sorted(set(agency_ids))
            _delete(db, agency_ids)
        rows = []
        for agency_id in agency_ids:
            rows += _agency_checks(db, agency_id)
        db.conn.executemany(
            "INSERT INTO checks (report_id, check_id, scope, ok, severity, detail, fault,"
            " other_report_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if everything:
            summaries.rebuild(db, wide=False)  # cells did not change
        else:
            summaries.refresh(db, report_ids=report_ids, agency_ids=agency_ids)
    return len(rows)


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _delete(db: Database, agency_ids: list[int]) -> None:
    marks = ", ".join("?" for _ in agency_ids)
    db.execute(
        f"DELETE FROM checks WHERE check_id IN {_in(CROSS_CHECKS)} AND report_id IN"
        f" (SELECT id FROM reports WHERE agency_id IN ({marks}))",
        agency_ids,
    )


def _agency_checks(db: Database, agency_id: int) -> list[tuple]:
    kind, level = db.execute(
        "SELECT kind, level FROM agencies WHERE id = ?", (agency_id,)).fetchone()
    reports = db.execute(
        # "+is_current": look the agency up by its index, not every current report.
        "SELECT id, year, template_version, status, published_date FROM reports"
        " WHERE agency_id = ? AND +is_current = 1 AND year IS NOT NULL ORDER BY year",
        (agency_id,),
    ).fetchall()
    rows = [_deadline(r, kind, level) for r in reports]
    by_year = {r[1]: r for r in reports}
    for report in reports:
        earlier = by_year.get(report[1] - 1)
        if earlier is None:
            continue
        rows += _carryover(db, earlier, report)
        rows += _in_force(db, earlier, report)
    return rows


def _values(db: Database, report_id: int, prefix: str) -> dict[str, tuple]:
    """key -> (value, derived) of the report's cells under a key prefix."""
    return {
        key: (value, derived)
        for key, value, derived in db.execute(
            "SELECT key, value, derived FROM cells WHERE report_id = ? AND key > ? AND key < ?",
            (report_id, prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)),
        )
    }


def _carryover(db: Database, earlier: tuple, later: tuple) -> list[tuple]:
    """X1, stored on the later report, pointing at the earlier one."""
    if keys.LEGACY in (earlier[2], later[2]) or keys.NOT_A_REPORT in (earlier[2], later[2]):
        return []  # legacy reports have no table 3
    forward = _values(db, earlier[0], "table3.carried_forward.")
    carried_in = _values(db, later[0], "table3.carried_over_in.")
    rows = []
    for column in (c.key for c in keys.T3_COLUMNS):
        cf, cf_derived = forward.get(f"table3.carried_forward.{column}", (None, 0))
        ci, ci_derived = carried_in.get(f"table3.carried_over_in.{column}", (None, 0))
        detail = (f"{earlier[1]} 结转下年度继续办理 {column} = {_show(cf)}; "
                  f"{later[1]} 上年结转 {column} = {_show(ci)}")
        if cf is None or ci is None:
            rows.append((later[0], "X1", column, None, "hard", detail + " (blank: not evaluated)",
                         None, earlier[0]))
            continue
        ok = cf == ci
        parse_suspect = cf_derived or ci_derived or "partial" in (earlier[3], later[3])
        fault = None if ok else ("parse" if parse_suspect else "source")
        rows.append((later[0], "X1", column, int(ok), "hard", detail, fault, earlier[0]))
    return rows


def _in_force(db: Database, earlier: tuple, later: tuple) -> list[tuple]:
    """X2 (soft), for the 2021 template only: the 2019 one prints no in-force count."""
    if earlier[2] != keys.V2021 or later[2] != keys.V2021:
        return []
    before = _values(db, earlier[0], "table2.")
    after = _values(db, later[0], "table2.")
    rows = []
    for row in X2_ROWS:
        prev = before.get(f"table2.{row}.in_force", (None, 0))[0]
        issued = after.get(f"table2.{row}.issued_this_year", (None, 0))[0]
        repealed = after.get(f"table2.{row}.repealed_this_year", (None, 0))[0]
        current = after.get(f"table2.{row}.in_force", (None, 0))[0]
        detail = (f"{earlier[1]} 现行有效 {_show(prev)} + {later[1]} 制发 {_show(issued)}"
                  f" - 废止 {_show(repealed)} vs {later[1]} 现行有效 {_show(current)}")
        if None in (prev, issued, repealed, current):
            rows.append((later[0], "X2", row, None, "soft", detail + " (blank: not evaluated)",
                         None, earlier[0]))
            continue
        ok = prev + issued - repealed == current
        rows.append((later[0], "X2", row, int(ok), "soft", detail, None if ok else "source",
                     earlier[0]))
    return rows


def _deadline(report: tuple, kind: str | None, level: str | None) -> tuple:
    report_id, year, _template, _status, published = report
    suffix = DEADLINES.get(kind) if level != "township" else None
    if suffix is not None and year < FIRST_YEAR_2019_RULES:
        suffix = DEADLINE_2008_RULES
    if suffix is None:
        return (report_id, "D1", "publication", None, "hard",
                f"no statutory deadline known for agency kind {kind!r}", None, None)
    deadline = f"{year + 1}-{suffix}"
    if published is None:
        return (report_id, "D1", "publication", None, "hard",
                f"deadline {deadline}; publication date unknown", None, None)
    ok = published <= deadline
    detail = f"published {published}, deadline {deadline}"
    return (report_id, "D1", "publication", int(ok), "hard", detail,
            None if ok else "source", None)


def _show(value) -> str:
    return "blank" if value is None else str(value)


def summary(db: Database) -> list[dict]:
    """Per check id: how many passed, failed and could not be evaluated."""
    return list(db.query(
        "SELECT check_id, count(*) AS total, sum(ok = 1) AS passed, sum(ok = 0) AS failed,"
        " sum(ok IS NULL) AS not_evaluated,"
        " sum(ok = 0 AND fault = 'source') AS source_fault,"
        " sum(ok = 0 AND fault = 'parse') AS parse_fault"
        " FROM checks GROUP BY check_id ORDER BY check_id"
    ))


def failures(db: Database, *, limit: int | None = 50) -> list[dict]:
    """Failed checks of current reports, newest years first."""
    sql = ("SELECT c.check_id, coalesce(a.name, r.agency_name) AS agency, r.year, c.scope,"
           " c.severity, c.fault, c.detail, r.id AS report_id"
           " FROM checks c JOIN reports r ON r.id = c.report_id"
           " LEFT JOIN agencies a ON a.id = r.agency_id"
           " WHERE c.ok = 0 AND r.is_current = 1"
           " ORDER BY r.year DESC, agency, c.check_id, c.scope")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return list(db.query(sql))
