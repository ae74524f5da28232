"""Check P1: the overview's figures against the report's own tables, on the real corpus,
on phrasings that must not be checked, and on a corpus report whose prose was altered."""

from __future__ import annotations

import pytest

from xxgk.db import prose_checks, store
from xxgk.parsers import parse_bytes
from xxgk.parsers.prose import statements

from conftest import CORPUS, expected_for

TABLE_REPORTS = ["pingtan-2020.html", "pingtan-2023.html", "hongze-2023.pdf",
                 "xihe-minzheng-2020.txt"]


def parsed(name: str):
    report = parse_bytes((CORPUS / name).read_bytes(), name=name)
    return report, {c.key: c.value for c in report.cells}


CORPUS_TABLE_REPORTS = [p.name for p in sorted(CORPUS.iterdir())
                        if p.suffix in (".html", ".txt", ".pdf")
                        and expected_for(p).get("template_version") in ("v2019", "v2021")]
# pingtan-nyn-2023 prints 0 under 总计 of 本年新收 (6 + 1 in the columns; the corpus notes
# the misprint); its overview says 7 were received: P1 catches the contradiction.
SOURCE_CONTRADICTIONS = {"pingtan-nyn-2023.html": {("new_received", 7, 0)}}


@pytest.mark.parametrize("name", CORPUS_TABLE_REPORTS)
def test_corpus_prose_agrees_with_its_tables(name):
    report, cells = parsed(name)
    found = statements(report.narratives.get("overview", ""), cells, year=report.year)
    failed = {(s.kind, s.stated, s.cell_value) for s in found if s.ok is False}
    assert failed == SOURCE_CONTRADICTIONS.get(name, set()), [s.detail for s in found]
    expected = expected_for(CORPUS / name)["cells"]
    for s in found:  # the table side is the hand-checked value, not just the parse
        keys = [k for k in s.cell_key.split(" + ")]
        if all(k in expected for k in keys):
            assert s.cell_value == sum(expected[k] for k in keys), s.detail


def test_most_corpus_reports_state_a_checked_figure():
    checked = 0
    for name in CORPUS_TABLE_REPORTS:
        report, cells = parsed(name)
        found = statements(report.narratives.get("overview", ""), cells, year=report.year)
        checked += any(s.ok is not None for s in found)
    assert len(CORPUS_TABLE_REPORTS) >= 14 and checked / len(CORPUS_TABLE_REPORTS) > 0.75


def test_pingtan_2023_states_every_common_figure():
    report, cells = parsed("pingtan-2023.html")
    found = {s.kind: s for s in statements(report.narratives["overview"], cells, year=2023)}
    assert set(found) == {"new_received", "outcome_total", "granted_and_partially", "withheld",
                          "unable", "not_processed", "other_handling", "review", "litigation"}
    received = found["new_received"]
    assert received.stated == 81 and received.cell_key == "table3.new_received.total"
    assert "各类政府信息公开申请共计81件" in received.quote
    assert found["litigation"].cell_key == ("table4.litigation_direct.total + "
                                            "table4.litigation_after_review.total")
    assert found["litigation"].stated == 7 and found["review"].stated == 2


CELLS = {"table3.new_received.total": 81, "table3.outcome_total.total": 81,
         "table3.granted.total": 22, "table3.partially_granted.total": 20,
         "table4.review.total": 2, "table4.litigation_direct.total": 5,
         "table4.litigation_after_review.total": 2}


@pytest.mark.parametrize("text", [
    "截至2023年底，累计收到政府信息公开申请300件。",          # cumulative
    "2022年收到政府信息公开申请50件。",                       # another year
    "全年收到政府信息公开申请约80件。",                       # approximate
    "全年收到政府信息公开申请80余件。",
    "全年收到政府信息公开申请70-90件。",                      # a range
    "收到政府信息公开申请同比增长20件。",                     # a change
    "其中收到自然人申请80件。",                               # a part
    "收到当面申请5件、网络申请70件、信函申请6件。",            # a list of parts
    "上年结转政府信息公开申请3件。",
    "予以公开率为51.85%。",                                  # a percentage
    "行政复议案件中维持1件。",                                # a sub-total of results
    "行政复议、行政诉讼分别为2件、7件。",
    "全年收到政府信息公开申请八十一件。",                      # Chinese numerals: not read
    "1-9月共办结申请60件。",                                  # part of the year
    "未收到行政复议申请。",                                    # not an information request
    "办理依申请公开19件。",                                   # 办理 may include carried-over
])
def test_ambiguous_statements_are_not_checked(text):
    assert statements(text, CELLS, year=2023) == []


@pytest.mark.parametrize("text, kind, stated", [
    ("2023年，我局未收到过信息公开申请。", "new_received", 0),
    ("本年度收到依申请公开事项1项。", "new_received", 1),
    ("2023年，我局共收到政府信息公开申请7份。", "new_received", 7),
    ("2023年全区受理政府信息公开申请81件，均在法定期限答复。", "new_received", 81),
    ("全年共收到政府信息公开申请81件。", "new_received", 81),
    ("本年度共办结81件。", "outcome_total", 81),
    ("其中予以公开22件，部分公开20件。", "granted", 22),
    ("因政府信息公开引起的行政复议案件2件、行政诉讼案件7件。", "review", 2),
])
def test_common_phrasings_are_read(text, kind, stated):
    cells = {**CELLS, "table3.new_received.total": stated} if kind == "new_received" else CELLS
    found = {s.kind: s for s in statements(text, cells, year=2023)}
    assert found[kind].stated == stated and found[kind].ok is True


def test_a_blank_cell_makes_the_statement_not_checkable():
    found = statements("全年共收到政府信息公开申请81件。", {"table3.new_received.total": None},
                       year=2023)
    assert len(found) == 1 and found[0].ok is None and "blank" in found[0].detail


def altered_pingtan_2023() -> bytes:
    html = (CORPUS / "pingtan-2023.html").read_bytes().decode("utf-8")
    assert html.count("各类政府信息公开申请共计81件") == 1
    return html.replace("各类政府信息公开申请共计81件", "各类政府信息公开申请共计91件").encode("utf-8")


def test_a_changed_prose_number_fails_p1_on_that_statement_only(tmp_path):
    db = store.open_db(tmp_path / "r.db")
    _, report_id = store.load_bytes(db, altered_pingtan_2023(), name="pingtan-2023-altered.html")
    rows = {r["scope"]: r for r in db.query(
        "SELECT scope, ok, fault, quote, cell_key, stated_value, cell_value, detail FROM checks"
        " WHERE report_id = ? AND check_id = 'P1'", [report_id])}
    failed = [scope for scope, r in rows.items() if r["ok"] == 0]
    assert failed == ["new_received"]
    row = rows["new_received"]
    assert (row["stated_value"], row["cell_value"], row["cell_key"], row["fault"]) == \
        (91, 81, "table3.new_received.total", "source")
    assert "共计91件" in row["quote"] and "91" in row["detail"]
    assert all(r["ok"] == 1 for scope, r in rows.items() if scope != "new_received")
    assert len(rows) == 9


def test_p1_is_recomputed_from_the_stored_rows(tmp_path):
    db = store.open_db(tmp_path / "r.db")
    for name in TABLE_REPORTS:
        store.load_bytes(db, (CORPUS / name).read_bytes(), name=name)
    before = db.execute("SELECT report_id, scope, ok, stated_value FROM checks"
                        " WHERE check_id = 'P1' ORDER BY 1, 2").fetchall()
    db.execute("DELETE FROM checks WHERE check_id = 'P1'")
    assert prose_checks.refresh(db) == len(before) > 0
    after = db.execute("SELECT report_id, scope, ok, stated_value FROM checks"
                       " WHERE check_id = 'P1' ORDER BY 1, 2").fetchall()
    assert after == before
    share = prose_checks.coverage(db)
    assert share == {"reports": 4, "checked": 3}  # xihe-minzheng-2020 states no table figure
