"""Cross-report checks X1 (carry-over), X2 (in force) and D1 (deadline) on real parses.

The two-year pairs are the seed report (阜新市细河区民政局, 2020) and a 2021 report made
from it by editing its table 3, parsed by the real parser like any other file.
"""

from __future__ import annotations

import pytest

from xxgk.db import checks, store
from xxgk.parsers import model

from conftest import CORPUS

XIHE = CORPUS / "xihe-minzheng-2020.txt"
AGENCY = "阜新市细河区民政局"


def set_row(text: str, label: str, natural_person: int) -> str:
    """Put `natural_person` in the 自然人 and 总计 columns of the table 3 row `label`."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(label):
            parts = line.split("|")
            numbers = [j for j, p in enumerate(parts) if p.strip().isdigit()]
            parts[numbers[0]] = parts[numbers[6]] = f" {natural_person} "
            lines[i] = "|".join(parts)
    return "\n".join(lines)


def xihe(year: int = 2020, published: str = "2021-01-08", *, carried_in: int = 0,
         granted: int = 0, new: int = 0, carried_forward: int = 0) -> bytes:
    """The seed report, moved to `year` and with table 3 rows edited (I1-I3 kept true)."""
    text = XIHE.read_text(encoding="utf-8")
    if year != 2020:
        text = text.replace("2020年", f"{year}年")
    text = text.replace("日期: 2021-01-08", f"日期: {published}")
    text = set_row(text, "一、本年新收", new)
    text = set_row(text, "二、上年结转", carried_in)
    text = set_row(text, "三、本年度办理结果 | (一)予以公开", granted)
    text = set_row(text, "(七)总计", granted)
    text = set_row(text, "四、结转下年度继续办理", carried_forward)
    return text.encode("utf-8")


@pytest.fixture
def db(tmp_path):
    database = store.open_db(tmp_path / "reports.db")
    yield database
    database.close()


def x1(db) -> dict[str, int | None]:
    return {scope: ok for scope, ok in db.execute(
        "SELECT scope, ok FROM checks WHERE check_id = 'X1'")}


def test_edited_fixture_parses_as_intended():
    from xxgk.parsers import parse_bytes

    report = parse_bytes(xihe(2021, "2022-01-10", carried_in=2, granted=2), name="x.txt")
    assert (report.year, report.agency) == (2021, AGENCY)
    assert report.cell("table3.carried_over_in.natural_person").value == 2
    assert report.failed_checks == []


def test_carry_over_mismatch_is_found_and_shown_per_column(db):
    store.load_bytes(db, xihe(), name="xihe-2020.txt")
    store.load_bytes(db, xihe(2021, "2022-01-10", carried_in=2, granted=2),
                     name="xihe-2021.txt")
    result = x1(db)
    assert result == {"natural_person": 0, "org_commercial": 1, "org_research": 1,
                      "org_public_interest": 1, "org_legal_service": 1, "org_other": 1,
                      "total": 0}
    mismatches = list(db.query(
        "SELECT agency, year, next_year, column_key, column_label, carried_forward,"
        " next_carried_over_in, difference, fault FROM carryover_mismatches"
        " ORDER BY column_key"))
    assert mismatches == [
        {"agency": AGENCY, "year": 2020, "next_year": 2021, "column_key": "natural_person",
         "column_label": "自然人", "carried_forward": 0, "next_carried_over_in": 2,
         "difference": 2, "fault": "source"},
        {"agency": AGENCY, "year": 2020, "next_year": 2021, "column_key": "total",
         "column_label": "总计", "carried_forward": 0, "next_carried_over_in": 2,
         "difference": 2, "fault": "source"},
    ]
    failed = next(db.query("SELECT failed_checks FROM report_overview WHERE year = 2021"))
    assert failed["failed_checks"] == 2


def test_corrected_republication_clears_the_mismatch(db):
    store.load_bytes(db, xihe(), name="xihe-2020.txt")
    store.load_bytes(db, xihe(2021, "2022-01-10", carried_in=2, granted=2),
                     name="xihe-2021.txt")
    assert len(list(db.query("SELECT * FROM carryover_mismatches"))) == 2
    # 2020 republished later with 2 applications still open at the year's end.
    store.load_bytes(db, xihe(2020, "2021-03-01", new=2, carried_forward=2),
                     name="xihe-2020-corrected.txt")
    assert set(x1(db).values()) == {1}
    assert list(db.query("SELECT * FROM carryover_mismatches")) == []
    assert db.execute("SELECT count(*) FROM reports WHERE year = 2020").fetchone() == (2,)


def test_years_that_do_not_follow_each_other_are_not_compared(db):
    store.load_bytes(db, xihe(), name="xihe-2020.txt")
    store.load_bytes(db, xihe(2022, "2023-01-10", carried_in=2, granted=2),
                     name="xihe-2022.txt")
    assert x1(db) == {}


def test_blank_carry_over_is_not_evaluated_not_zero(db):
    store.load_bytes(db, xihe(), name="xihe-2020.txt")
    text = xihe(2021, "2022-01-10").decode("utf-8")
    text = text.replace("二、上年结转政府信息公开申请数量 | 0 |", "二、上年结转政府信息公开申请数量 | / |")
    store.load_bytes(db, text.encode("utf-8"), name="xihe-2021.txt")
    assert x1(db)["natural_person"] is None
    detail = db.execute("SELECT detail FROM checks WHERE check_id = 'X1'"
                        " AND scope = 'natural_person'").fetchone()[0]
    assert "blank" in detail


def test_deadline_for_a_department_is_31_january(db):
    store.load_bytes(db, xihe(published="2021-01-31"), name="on-time.txt")
    store.load_bytes(db, xihe(2021, "2022-02-15"), name="late.txt")
    rows = dict(db.execute("SELECT r.year, c.ok FROM checks c JOIN reports r"
                           " ON r.id = c.report_id WHERE c.check_id = 'D1'").fetchall())
    assert rows == {2020: 1, 2021: 0}
    late = next(db.query("SELECT days_after_deadline, deadline FROM report_overview"
                         " WHERE year = 2021"))
    assert late == {"days_after_deadline": 15, "deadline": "2022-01-31"}


def test_deadline_for_a_government_is_31_march(db):
    agency_id = store.upsert_agency(db, name="阜新市细河区人民政府", kind="government")
    store.load_bytes(db, xihe(published="2021-03-05"), name="gov.txt", agency_id=agency_id)
    assert db.execute("SELECT ok, detail FROM checks WHERE check_id = 'D1'").fetchone() == \
        (1, "published 2021-03-05, deadline 2021-03-31")


def in_force_report(year: int, in_force: int, issued: int, repealed: int) -> model.Report:
    cells = [model.Cell(f"table2.normative_documents.{key}", value, str(value))
             for key, value in (("in_force", in_force), ("issued_this_year", issued),
                                ("repealed_this_year", repealed))]
    return model.Report(path=f"{year}.txt", template_version="v2021", agency=AGENCY,
                        year=year, published_date=f"{year + 1}-01-20", cells=cells)


def test_in_force_count_follows_from_issued_and_repealed(db):
    for year, in_force, issued, repealed, text in (
        (2021, 470, 0, 0, b"a"), (2022, 400, 77, 132, b"b"), (2023, 345, 77, 132, b"c")
    ):
        document_id, _ = store.add_document(db, text, path=f"{year}.txt")
        store.store_report(db, document_id, in_force_report(year, in_force, issued, repealed))
    rows = db.execute("SELECT r.year, c.ok, c.severity, c.detail FROM checks c JOIN reports r"
                      " ON r.id = c.report_id WHERE c.check_id = 'X2'"
                      " AND c.scope = 'normative_documents' ORDER BY r.year").fetchall()
    assert [(y, ok, sev) for y, ok, sev, _ in rows] == [(2022, 0, "soft"), (2023, 1, "soft")]
    assert rows[0][3] == "2021 现行有效 470 + 2022 制发 77 - 废止 132 vs 2022 现行有效 400"


def test_refresh_is_repeatable(db):
    store.load_bytes(db, xihe(), name="xihe-2020.txt")
    store.load_bytes(db, xihe(2021, "2022-01-10", carried_in=2, granted=2),
                     name="xihe-2021.txt")
    before = db.execute("SELECT count(*) FROM checks").fetchone()[0]
    checks.refresh(db)
    checks.refresh(db)
    assert db.execute("SELECT count(*) FROM checks").fetchone()[0] == before
    summary = {row["check_id"]: row for row in checks.summary(db)}
    assert summary["X1"]["failed"] == 2 and summary["X1"]["passed"] == 5


def test_deadline_before_2019_is_31_march_for_every_body(db):
    """Reports on 2018 and before fall under the 2008 Regulations (art. 31): all bodies by
    31 March, so a department's legacy report out in March is on time (the 2019 rules'
    31 January applies from the 2019 reports on). A real legacy report, its date moved."""
    text = (CORPUS / "pingtan-nfj-2017.txt").read_text(encoding="utf-8")
    text = text.replace("2018-01-17", "2018-03-20").replace("2018年1月16日", "2018年3月19日")
    store.load_bytes(db, text.encode("utf-8"), name="nfj-2017.txt")
    kind, year, published = db.execute(
        "SELECT a.kind, r.year, r.published_date FROM reports r"
        " JOIN agencies a ON a.id = r.agency_id").fetchone()
    assert (kind, year, published) == ("department", 2017, "2018-03-20")
    assert db.execute("SELECT ok, detail FROM checks WHERE check_id = 'D1'").fetchone() == \
        (1, "published 2018-03-20, deadline 2018-03-31")
    assert next(db.query("SELECT deadline, days_after_deadline FROM report_overview")) == \
        {"deadline": "2018-03-31", "days_after_deadline": -11}


def test_a_database_checked_with_the_2019_dates_before_2019_is_corrected(tmp_path):
    """Migration m014 re-runs D1 and the overview rows of pre-2019 reports stored before."""
    import sqlite_utils

    from xxgk.db import schema

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    old.execute("PRAGMA foreign_keys = ON")
    old.conn.create_function("reverse_text", 1, lambda text: text[::-1] if text else text)
    schema.migrations.apply(old, stop_before="m014_analysis_deadlines_before_2019")
    text = (CORPUS / "pingtan-nfj-2017.txt").read_text(encoding="utf-8")
    store.load_bytes(old, text.replace("2018-01-17", "2018-03-20").encode("utf-8"),
                     name="nfj-2017.txt")
    # what the old code stored: the 2019 rules' 31 January
    old.execute("UPDATE checks SET ok = 0, detail = 'published 2018-03-20, deadline"
                " 2018-01-31' WHERE check_id = 'D1'")
    old.execute("UPDATE overview_rows SET deadline = '2018-01-31', days_after_deadline = 48")
    old.conn.commit()
    old.close()
    db = store.open_db(path)
    assert db.execute("SELECT ok, detail FROM checks WHERE check_id = 'D1'").fetchone() == \
        (1, "published 2018-03-20, deadline 2018-03-31")
    assert next(db.query("SELECT deadline, days_after_deadline FROM report_overview")) == \
        {"deadline": "2018-03-31", "days_after_deadline": -11}
