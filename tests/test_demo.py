"""`xxgk demo` serves real reports only (fixtures/demo/), and what it stores is what the
corpus's hand-checked expected files say, cell for cell."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from xxgk.scraper import commands

from conftest import CORPUS


def expected_reports() -> dict[tuple[str, int], dict]:
    """(agency, year) -> expected file, for every corpus report with a year."""
    found = {}
    for path in CORPUS.glob("*.expected.json"):
        expected = json.loads(path.read_text(encoding="utf-8"))
        if expected.get("year") and expected["template_version"] != "not_a_report":
            found[(expected["agency"], expected["year"])] = expected
    return found


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    out = CliRunner().invoke(commands.demo, ["--db", str(db)])
    assert out.exit_code == 0, out.output
    assert "0 failures" in out.output  # no list page links a page the demo does not serve
    return db, out.output


def test_every_demo_report_is_a_corpus_report_cell_for_cell(demo_db):
    db, _ = demo_db
    expected = expected_reports()
    con = sqlite3.connect(db)
    reports = con.execute(
        "SELECT id, agency_name, year FROM reports "
        "WHERE is_current AND template_version != 'not_a_report'").fetchall()
    assert len(reports) >= 15
    for report_id, agency, year in reports:
        want = expected.get((agency, year))
        assert want is not None, f"{agency} {year}: not a corpus report (a stub or an invented agency)"
        got = dict(con.execute("SELECT key, value FROM cells WHERE report_id = ? AND NOT derived",
                               (report_id,)).fetchall())
        if want.get("xfail"):  # a known parser gap, flagged in the corpus tests
            continue
        assert got == want["cells"], f"{agency} {year}: cells differ from the expected file"


def test_no_stub_pages_and_no_stub_reports(demo_db):
    db, _ = demo_db
    con = sqlite3.connect(db)
    stubs = con.execute("SELECT count(*) FROM reports WHERE problems LIKE '%no canonical tables%'")
    assert stubs.fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM agencies WHERE name LIKE '%示例%' OR name LIKE '%测试%'"
                       ).fetchone()[0] == 0


def test_the_demo_exercises_a_real_pdf_attachment_and_three_adapters(demo_db):
    db, output = demo_db
    con = sqlite3.connect(db)
    pdf = con.execute("SELECT count(*) FROM reports WHERE source_format = 'pdf' AND status = 'ok'")
    assert pdf.fetchone()[0] == 1
    adapters = {row[0] for row in con.execute("SELECT DISTINCT adapter FROM crawl_portals")}
    assert {"trs_static", "hanweb_jpage", "static_generic"} <= adapters


def test_a_second_demo_run_adds_nothing(demo_db):
    db, _ = demo_db
    again = CliRunner().invoke(commands.demo, ["--db", str(db)])
    assert again.exit_code == 0 and "0 new" in again.output
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
