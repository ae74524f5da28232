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


def test_zrz_2023_counts_a_business_applicant_in_two_rows_but_in_no_total():
    # （二）部分公开 prints 8 | 1 | ... | 8 and （七）总计 19 | 1 | ... | 19, but 本年新收 has no
    # 商业企业 application: the row sums fail on those two rows and the column identity fails
    # on the 商业企业 column, all at the source.
    report = parse_path(CORPUS / "pingtan-zrz-2023.html")
    failed = {(c.id, c.scope): c for c in report.checks if c.ok is False}
    assert set(failed) == {("I2", "partially_granted"), ("I2", "outcome_total"),
                           ("I1", "org_commercial")}
    assert all(c.fault == "source" for c in failed.values())
    assert report.cell("table3.partially_granted.org_commercial").value == 1
    assert report.cell("table3.partially_granted.total").value == 8
    assert report.cell("table4.litigation_direct.upheld").value == 1
