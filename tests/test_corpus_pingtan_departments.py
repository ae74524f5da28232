"""Department reports from the 平潭 portal's department columns: what their pages print
that the government's own report does not (a table 2 without 规章, totals one row off)."""

from __future__ import annotations

from xxgk.parsers import parse_path

from conftest import CORPUS


def test_nyn_2023_fails_i2_at_the_source_on_the_misplaced_total():
    report = parse_path(CORPUS / "pingtan-nyn-2023.html")
    failed = {(c.id, c.scope): c for c in report.checks if c.ok is False}
    assert set(failed) == {("I2", "new_received"), ("I2", "carried_over_in")}
    assert all(c.fault == "source" for c in failed.values())
    assert report.cell("table3.new_received.total").value == 0
    assert report.cell("table3.carried_over_in.total").value == 7
    other = report.cell("table3.other_handling.total")
    assert other.derived and other.raw is None and other.value == 0


def test_scj_2023_table2_without_a_regulations_row_is_absent_not_zero():
    report = parse_path(CORPUS / "pingtan-scj-2023.html")
    assert report.cell("table2.regulations.issued_this_year") is None
    assert report.cell("table2.normative_documents.in_force").value == 13
    assert any("table2.regulations" in p for p in report.problems)
