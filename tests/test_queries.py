"""Every canned query of the published database, run through Datasette on the fixture
database, returns the rows the hand-checked corpus (fixtures/corpus/*.expected.json) says."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette

from xxgk.db import checks as cross_checks
from xxgk.db import queries, store
from xxgk.db.publish import DB_NAME, publish_site
from xxgk.db.screenshot import FIXTURE_AGENCIES, derived_xihe_2021

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"

# The documents these expectations were worked out on. fixtures/corpus keeps growing (the
# 平潭 department reports); a query's exact rows are pinned against this set, so the database
# here is build_fixture_db's, restricted to it.
QUERY_FIXTURES = (
    "hongze-2023.pdf", "pingtan-2018.html", "pingtan-201412-not-a-report.html",
    "pingtan-2020.html", "pingtan-2023.html", "pingtan-list.html", "xihe-minzheng-2020.txt",
)


def query_fixture_db(path: Path) -> Path:
    from xxgk.db.store import load_bytes, open_db, upsert_agency

    db = open_db(path)
    for agency in FIXTURE_AGENCIES:
        upsert_agency(db, **agency)
    for name in QUERY_FIXTURES:
        load_bytes(db, (CORPUS / name).read_bytes(), name=name)
    load_bytes(db, derived_xihe_2021(), name="xihe-minzheng-2021-derived.txt")
    db.close()
    return path


def expected(case: str, key: str):
    return json.loads((CORPUS / f"{case}.expected.json").read_text(encoding="utf-8"))["cells"][key]


def rate(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4)


@pytest.fixture(scope="module")
def datasette(tmp_path_factory) -> Datasette:
    tmp = tmp_path_factory.mktemp("queries")
    site = publish_site(query_fixture_db(tmp / "fixtures.db"), tmp / "site")
    return Datasette(config_dir=site)  # what `datasette site/` serves


def run(datasette: Datasette, name: str, **params) -> list[dict]:
    """The rows of canned query `name` as JSON objects; fails on any Datasette error."""
    response = asyncio.run(datasette.client.get(
        f"/{DB_NAME}/{name}.json", params={"_shape": "objects", **params}))
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_every_canned_query_is_published_with_parameters_and_description(datasette):
    response = asyncio.run(datasette.client.get(f"/{DB_NAME}.json"))
    published = {q["name"]: q for q in response.json()["queries"]}
    assert set(published) == set(queries.QUERIES) and len(published) == 9
    for name, query in published.items():
        assert query["title"] and query["params"] == queries.QUERIES[name]["params"]
        assert "<p>" in query["description_html"] and not query.get("write"), name


def test_region_comparison_defaults_to_the_latest_year_by_applications(datasette):
    rows = run(datasette, "region_comparison")
    assert [(r["agency"], r["year"]) for r in rows] == [
        ("平潭综合实验区", 2023), ("淮安市洪泽区人民政府", 2023)]
    pingtan, hongze = rows
    assert pingtan["new_received"] == expected("pingtan-2023", "table3.new_received.total") == 81
    assert pingtan["disclosure_rate"] == rate(22 + 20, 81)
    assert pingtan["review_total"] == expected("pingtan-2023", "table4.review.total")
    assert pingtan["review_corrected_share"] == rate(1, 2)
    assert pingtan["litigation_total"] == 5 + 2 and pingtan["litigation_corrected_share"] == 0
    assert hongze["disclosure_rate"] == rate(0 + 4, 21)
    assert hongze["review_corrected_share"] is None  # its review total prints 0 (I4 fails)


def test_region_comparison_filters_region_and_year_and_sorts(datasette):
    rows = run(datasette, "region_comparison", year="2020", region="辽宁省")
    assert [(r["agency"], r["county"], r["new_received"]) for r in rows] == [
        ("阜新市细河区民政局", "细河区", 0)]
    by_rate = run(datasette, "region_comparison", year="2023", order_by="disclosure_rate")
    assert [r["disclosure_rate"] for r in by_rate] == [rate(42, 81), rate(4, 21)]
    by_name = run(datasette, "region_comparison", year="2023", order_by="agency")
    assert [r["agency"] for r in by_name] == sorted(r["agency"] for r in by_name)
    assert run(datasette, "region_comparison", region="江苏省")[0]["city"] == "淮安市"


def test_agency_across_years(datasette):
    rows = run(datasette, "agency_across_years", agency="细河区民政局")
    assert [(r["year"], r["published_date"], r["days_after_deadline"]) for r in rows] == [
        (2020, "2021-01-08", -23), (2021, "2022-02-20", 20)]
    pingtan = run(datasette, "agency_across_years", agency="平潭")
    assert [(r["year"], r["template_version"], r["new_received"]) for r in pingtan] == [
        (2018, "legacy", None), (2020, "v2019", 21), (2023, "v2021", 81)]
    assert run(datasette, "agency_across_years", agency="") == []  # no name, no rows


def test_metric_ranking_of_an_overview_column_and_of_a_cell_key(datasette):
    rows = run(datasette, "metric_ranking", metric="new_received")
    assert [(r["rank"], r["agency"], r["value"]) for r in rows] == [
        (1, "平潭综合实验区", 81), (2, "淮安市洪泽区人民政府", 21)]
    assert rows[0]["metric_label"] == "本年新收申请数"
    key = "table2.admin_licensing.decisions"
    rows = run(datasette, "metric_ranking", metric=key, year="2020")
    assert [(r["rank"], r["agency"], r["value"]) for r in rows] == [
        (1, "平潭综合实验区", expected("pingtan-2020", key)),
        (2, "阜新市细河区民政局", expected("xihe-minzheng-2020", key))]
    assert rows[0]["metric_label"] == "行政许可·处理决定数量"
    county = run(datasette, "metric_ranking", metric=key, year="2023", level="county")
    assert [(r["agency"], r["value"]) for r in county] == [
        ("淮安市洪泽区人民政府", expected("hongze-2023", key))]


def test_metric_ranking_of_every_key_gives_each_reports_cell(tmp_path):
    """A key of tables 2-4 is ranked from the wide rows, any other key (one of no wide
    column, here made up) from cells: for every key and year, each ranked report's value
    is its cell's, and every report of the year with a printed value is ranked."""
    path = query_fixture_db(tmp_path / "ranking.db")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO cells (report_id, key, value, raw) SELECT report_id,"
                     " 'table2.admin_licensing.made_up', 7, '7' FROM overview_rows LIMIT 1")
    sql = queries.canned_queries()["metric_ranking"]["sql"]
    printed = conn.execute(
        "SELECT c.key, o.year, c.report_id, c.value FROM cells c"
        " JOIN overview_rows o ON o.report_id = c.report_id WHERE c.value IS NOT NULL").fetchall()
    expected_values: dict = {}
    for key, year, report_id, value in printed:
        expected_values.setdefault((key, year), {})[report_id] = value
    assert {key.split(".")[0] for key, _ in expected_values} == {"table2", "table3", "table4"}
    assert any(key.endswith(".made_up") for key, _ in expected_values)
    for (key, year), values in expected_values.items():
        ranked = conn.execute(sql, {"metric": key, "year": str(year), "level": "",
                                    "region": ""}).fetchall()
        assert {row[-1]: row[-2] for row in ranked} == values, (key, year)
    conn.close()


def test_failing_checks_with_their_detail(datasette):
    rows = run(datasette, "failing_checks")
    found = {(r["agency"], r["year"], r["check_id"], r["scope"], r["fault"]) for r in rows}
    assert found == {
        ("淮安市洪泽区人民政府", 2023, "I4", "review", "source"),  # corpus README: I4 fails
        ("淮安市洪泽区人民政府", 2023, "I4", "litigation_after_review", "source"),
        ("平潭综合实验区", 2020, "I3", "natural_person", "source"),  # I3 fails in the source
        ("平潭综合实验区", 2020, "I3", "total", "source"),
        ("阜新市细河区民政局", 2021, "D1", "publication", "source"),  # the derived late report
        ("阜新市细河区民政局", 2021, "X1", "natural_person", "source"),
        ("阜新市细河区民政局", 2021, "X1", "total", "source"),
    }
    assert all(r["detail"] for r in rows)
    assert {r["check_id"] for r in run(datasette, "failing_checks", check_id="i3")} == {"I3"}
    assert {r["year"] for r in run(datasette, "failing_checks", year="2023")} == {2023}


def test_late_publications(datasette):
    rows = run(datasette, "late_publications")
    assert [(r["agency"], r["year"], r["deadline"], r["published_date"],
             r["days_after_deadline"]) for r in rows] == [
        ("阜新市细河区民政局", 2021, "2022-01-31", "2022-02-20", 20)]
    assert run(datasette, "late_publications", year="2020") == []


def test_carryover_mismatches(datasette):
    rows = run(datasette, "carryover_mismatches", agency="细河区")
    assert [(r["year"], r["next_year"], r["column_key"], r["carried_forward"],
             r["next_carried_over_in"], r["difference"]) for r in rows] == [
        (2020, 2021, "natural_person", 0, 2, 2), (2020, 2021, "total", 0, 2, 2)]
    assert run(datasette, "carryover_mismatches", agency="平潭") == []


def test_search_uses_trigram_fts_from_three_characters(datasette):
    rows = run(datasette, "search_narratives", q="依申请")
    assert rows and all(r["search_mode"].startswith("全文检索") for r in rows)
    assert all("【依申请】" in r["excerpt"] for r in rows)
    assert {r["agency"] for r in rows} >= {"平潭综合实验区", "淮安市洪泽区人民政府"}
    # FTS syntax in the term is plain text, not an error
    assert run(datasette, "search_narratives", q='依申请" OR "x') == []


def test_search_falls_back_to_like_under_three_characters_and_says_so(datasette):
    rows = run(datasette, "search_narratives", q="噪音")
    assert [(r["agency"], r["year"], r["section"]) for r in rows] == [
        ("平潭综合实验区", 2023, "problems")]
    assert "LIKE" in rows[0]["search_mode"] and "【噪音】" in rows[0]["excerpt"]
    percent = run(datasette, "search_narratives", q="%")  # a wildcard is a literal here
    assert percent and all("【%】" in r["excerpt"] for r in percent)
    assert len(percent) < len(run(datasette, "search_narratives", q="公开"))
    assert run(datasette, "search_narratives", q="") == []



def test_search_goes_from_its_hits_to_their_rows_without_statistics(tmp_path):
    """A working database has no ANALYZE statistics; the search must still start from its
    (at most 1,000) hits and look their rows up, never walk every current report (0.5 s at
    a million reports when it did)."""
    path = query_fixture_db(tmp_path / "q.db")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"
                        ).fetchone() is None
    plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {queries.SEARCH_NARRATIVES}",
                                       {"q": "依申请公开"})]
    assert not any(step.startswith("SEARCH r USING INDEX")
                   or step.split(" ")[:2] in (["SCAN", "r"], ["SCAN", "n"]) for step in plan), plan
    assert plan.count("SEARCH r USING INTEGER PRIMARY KEY (rowid=?)") == 2, plan


def test_failing_checks_stream_in_report_order_without_statistics(tmp_path):
    """Without ANALYZE statistics the failing checks still walk the reports in the page's
    order and look each one's failures up; they never gather and sort every failed check
    (43 s at a million reports when they did)."""
    path = query_fixture_db(tmp_path / "q.db")
    conn = sqlite3.connect(path)
    for year in ("", "2021"):
        plan = [r[3] for r in conn.execute(
            f"EXPLAIN QUERY PLAN {queries.FAILING_CHECKS}",
            {"year": year, "check_id": "", "fault": ""})]
        assert plan[0].startswith("SCAN overview_rows USING INDEX overview_rows_year") or \
            plan[0].startswith("SEARCH overview_rows USING INDEX overview_rows_year"), plan
        assert plan[1] == "SEARCH x USING INDEX checks_report (report_id=?)", plan

def test_empty_year_means_the_latest_year_with_table_3_totals(tmp_path):
    # A newer report without table 3 (here: the 2018 legacy report moved to 2024) must not
    # make the first click compare nothing.
    source = query_fixture_db(tmp_path / "fixtures.db")
    with sqlite3.connect(source) as connection:
        connection.execute("UPDATE reports SET year = 2024 WHERE template_version = 'legacy'")
    # An edit by hand bypasses the store: `xxgk check` rebuilds the summary tables.
    db = store.open_db(source)
    cross_checks.refresh(db)
    db.close()
    datasette = Datasette(config_dir=publish_site(source, tmp_path / "site"))
    assert {r["year"] for r in run(datasette, "region_comparison")} == {2023}
    assert {r["year"] for r in run(datasette, "metric_ranking", metric="new_received")} == {2023}
    assert [(r["agency"], r["new_received"])
            for r in run(datasette, "region_comparison", year="2024")] == [("平潭综合实验区", None)]


def test_failing_checks_include_a_report_whose_year_was_not_read(tmp_path):
    """No year given: every failure, a report without a year last; a year given: only its."""
    from xxgk.parsers import model

    db = store.open_db(tmp_path / "q.db")
    document_id, _ = store.add_document(db, b"no year", path="x.txt")
    store.store_report(db, document_id, model.Report(
        path="x.txt", template_version="v2021", agency="某县民政局", year=None,
        cells=[model.Cell("table3.granted.total", 5, "5")],
        checks=[model.Check("I1", "natural_person", False, "1 + 2 != 4", "source")]))
    store.load_bytes(db, (CORPUS / "pingtan-2020.html").read_bytes(), name="p.html")
    sql = queries.FAILING_CHECKS

    def failures(year):
        return [(r[0], r[1]) for r in db.execute(sql, {"year": year, "check_id": "",
                                                       "fault": ""})]

    everything = failures("")
    assert everything[-1] == ("某县民政局", None)
    assert ("平潭综合实验区", 2020) in everything
    assert set(failures("2020")) == {("平潭综合实验区", 2020)}
