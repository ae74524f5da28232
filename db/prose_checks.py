"""Check P1 in the database: each unambiguous figure statement of a report's overview,
stored in `checks` with the sentence, the cell key and both numbers (parsers/prose.py has
the rules).

    write(db, report_id)      # after a report's cells and narratives are stored
    refresh(db)               # every report again (xxgk check)
"""

from __future__ import annotations

from decimal import Decimal

from xxgk.parsers import model, prose
from xxgk.parsers import schema as keys

CHECKED_TEMPLATES = (keys.V2019, keys.V2021)  # legacy reports have no tables


def statements(db, report_id: int) -> list[prose.Statement]:
    """The P1 statements of a stored report, from its stored overview and cells."""
    row = db.execute("SELECT year, template_version FROM reports WHERE id = ?",
                     (report_id,)).fetchone()
    if row is None or row[1] not in CHECKED_TEMPLATES:
        return []
    overview = db.execute("SELECT text FROM narratives WHERE report_id = ? AND section = ?",
                          (report_id, "overview")).fetchone()
    if overview is None:
        return []
    cells = dict(db.execute(
        "SELECT key, value FROM cells WHERE report_id = ? AND key > 'table3.' AND key < 'table5'",
        (report_id,)))
    return prose.statements(overview[0], cells, year=row[0])


def report_statements(report: model.Report) -> list[prose.Statement]:
    """The same statements from a parsed report, before it is stored: what a parse worker
    computes so that the single writer only stores them (the rules are the stored
    report's: its overview as stored, the first reading of a cell, its year)."""
    overview = report.narratives.get("overview")
    if report.template_version not in CHECKED_TEMPLATES or not (overview and overview.strip()):
        return []
    cells = {}
    for cell in report.cells:
        if "table3." < cell.key < "table5" and cell.key not in cells:
            cells[cell.key] = sql_number(cell.value)
    return prose.statements(overview, cells, year=report.year)


def sql_number(value):
    """A cell value as stored: Decimals become int when whole (187), float otherwise."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def write(db, report_id: int, found: list[prose.Statement] | None = None) -> int:
    """Replace the report's P1 rows (`found`: the statements a worker computed with
    report_statements; else read from the stored report); return how many were stored."""
    db.execute("DELETE FROM checks WHERE report_id = ? AND check_id = 'P1'", (report_id,))
    if found is None:
        found = statements(db, report_id)
    if not found:
        return 0
    status = db.execute("SELECT status FROM reports WHERE id = ?", (report_id,)).fetchone()[0]
    # A partial parse may have misread the cell; a clean one leaves the report at fault.
    fault = "parse" if status == model.PARTIAL else "source"
    db.conn.executemany(
        "INSERT INTO checks (report_id, check_id, scope, ok, severity, detail, fault, quote,"
        " cell_key, stated_value, cell_value) VALUES (?, 'P1', ?, ?, 'hard', ?, ?, ?, ?, ?, ?)",
        [(report_id, s.kind, None if s.ok is None else int(s.ok), s.detail,
          fault if s.ok is False else None, s.quote, s.cell_key, s.stated, s.cell_value)
         for s in found])
    return len(found)


def refresh(db) -> int:
    """P1 for every stored report again; return the statements stored."""
    from xxgk.db.store import transaction

    with transaction(db):
        ids = [r[0] for r in db.execute(
            f"SELECT id FROM reports WHERE template_version IN {_in(CHECKED_TEMPLATES)}")]
        return sum(write(db, report_id) for report_id in ids)


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def coverage(db) -> dict:
    """How many current table reports have at least one P1 statement checked (ok not null)."""
    row = db.execute(
        "SELECT count(*), sum(EXISTS (SELECT 1 FROM checks c WHERE c.report_id = r.id"
        " AND c.check_id = 'P1' AND c.ok IS NOT NULL))"
        f" FROM reports r WHERE r.is_current = 1 AND r.template_version IN"
        f" {_in(CHECKED_TEMPLATES)}").fetchone()
    return {"reports": row[0], "checked": row[1] or 0}
