"""A real browser (Debian's headless chromium) opens the dashboard of a served fixture
database and the charts render: each has an SVG with data marks, nothing is fetched from
outside 127.0.0.1, and the page raises no error. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import sqlite3
import struct
import urllib.parse

import pytest
import yaml

from xxgk.db.dashboards import DASHBOARD_SLUG
from xxgk.db.publish import publish_site
from xxgk.db.screenshot import (
    Browser,
    build_fixture_db,
    capture_dashboard,
    external_requests,
    find_chromium,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed"),
]


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory):
    return build_fixture_db(tmp_path_factory.mktemp("browser") / "reports.db")


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def agencies_with_table3(db_path) -> int:
    with sqlite3.connect(db_path) as db:
        (n,) = db.execute("SELECT count(DISTINCT agency) FROM report_overview"
                          " WHERE new_received IS NOT NULL").fetchone()
    return n


def years_with_table3(db_path) -> int:
    with sqlite3.connect(db_path) as db:
        (n,) = db.execute("SELECT count(DISTINCT year) FROM report_overview"
                          " WHERE new_received IS NOT NULL").fetchone()
    return n


def marks(charts: list[dict]) -> dict[str, int]:
    return {c["id"].removeprefix("chart-"): c["marks"] for c in charts if c["svg"]}


def compliance_bars(database, where: str = "1 = 1") -> int:
    """One stacked bar segment per (year, verdict) of the compliance view."""
    with sqlite3.connect(database) as connection:
        return connection.execute(
            f"SELECT count(DISTINCT year || verdict) FROM compliance WHERE {where}").fetchone()[0]


def test_dashboard_charts_render_in_chromium(fixture_db, tmp_path):
    site = publish_site(fixture_db, tmp_path / "site")
    shot = tmp_path / "dashboard.png"
    charts = capture_dashboard(site, shot)  # raises on page errors or external requests
    assert marks(charts) == {
        # one bar per year with a table 3 (2020, 2021, 2023, ...; the 2018 report has none)
        "applications_per_year": years_with_table3(fixture_db),
        "outcome_mix": 6,  # one arc per outcome
        "review_litigation": 12,  # 3 groups x 4 results
        # one bar per agency with a table 3 (at most 15); the count grows with fixtures/corpus
        "top_agencies": min(15, agencies_with_table3(fixture_db)),
        "compliance_by_year": compliance_bars(fixture_db),  # 2019 to the last complete year
    }
    width, height = png_size(shot)
    assert width == 1400 and height > 600 and shot.stat().st_size > 20_000


def test_dashboard_filters_apply_in_chromium(fixture_db, tmp_path):
    site = publish_site(fixture_db, tmp_path / "site")
    filters = urllib.parse.urlencode({"year": "2023", "region": "福建省"})
    charts = capture_dashboard(site, tmp_path / "filtered.png", filters=filters)
    counted = marks(charts)
    assert counted["applications_per_year"] == 1 and counted["top_agencies"] == 1
    assert counted["compliance_by_year"] == 1 == compliance_bars(
        fixture_db, "year = 2023 AND province = '福建省'")
    texts = {c["id"]: c["text"] for c in charts}
    assert "平潭综合实验区" in texts["chart-top_agencies"]
    assert "淮安市" not in texts["chart-top_agencies"]


def test_dashboard_renders_on_a_public_site_without_arbitrary_sql(fixture_db, tmp_path):
    site = publish_site(fixture_db, tmp_path / "site", public=True)
    charts = capture_dashboard(site, tmp_path / "public.png")
    assert len(charts) == 5 and all(n > 0 for n in marks(charts).values())


def test_an_empty_chart_or_an_outside_url_fails_the_check(fixture_db, tmp_path):
    # The same check on a broken copy: a chart whose query finds nothing draws no marks,
    # and a card that loads from outside 127.0.0.1 (as a CDN would) is caught.
    site = publish_site(fixture_db, tmp_path / "site")
    meta = yaml.safe_load((site / "metadata.yml").read_text(encoding="utf-8"))
    board = meta["plugins"]["datasette-dashboards"][DASHBOARD_SLUG]
    board["charts"]["top_agencies"]["query"] = "SELECT 'x' AS agency, 1 AS new_received WHERE 0"
    board["charts"]["cdn"] = {"library": "markdown",
                              "display": "![logo](https://cdn.example.com/logo.png)"}
    (site / "metadata.yml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RuntimeError) as failure:
        capture_dashboard(site, tmp_path / "broken.png", timeout=5)
    assert "charts not drawn" in str(failure.value)
    assert "https://cdn.example.com/logo.png" in str(failure.value)
    assert (tmp_path / "broken.png").exists()  # the evidence is kept


# ------------------------------------------------------------------ one page per agency

LINKS_JS = """Array.from(document.querySelectorAll('a.agency-page'))
  .map(a => ({text: a.innerText, href: a.href}))"""
AGENCY_JS = """(() => {
  const svg = document.querySelector('svg#series');
  const rows = id => Array.from(document.querySelectorAll('#' + id + ' tr')).slice(1)
      .map(tr => Array.from(tr.cells).map(td => td.innerText));
  return {title: document.querySelector('h1') && document.querySelector('h1').innerText,
          points: svg ? svg.querySelectorAll('circle.point').length : 0,
          series: svg ? Array.from(svg.querySelectorAll('g.series'))
              .map(g => g.dataset.series + ':' + g.querySelectorAll('circle').length) : [],
          reports: rows('reports'), failures: rows('failures'), similar: rows('similar'),
          compliance: rows('compliance'),
          originals: Array.from(document.querySelectorAll('a.original')).map(a => a.href)};
})()"""


def test_agency_page_from_report_overview_in_chromium(fixture_db, tmp_path):
    from xxgk.db.publish import start_datasette, stop

    site = publish_site(fixture_db, tmp_path / "site", public=True)
    process, base = start_datasette(site)
    try:
        with Browser(width=1200, height=900) as browser:
            browser.goto(f"{base}reports/report_overview")
            links = browser.wait_for(LINKS_JS, lambda ls: len(ls) >= 4)
            xihe = [link for link in links if link["text"] == "阜新市细河区民政局"]
            assert len(xihe) == 2  # its 2020 and 2021 reports link to one page
            assert xihe[0]["href"] == xihe[1]["href"] and "/-/agency/" in xihe[0]["href"]
            browser.goto(xihe[0]["href"])
            # until the last table is in: on a loaded machine chromium may run the script
            # while it is still parsing the page (seen in CI: no failures rows yet)
            page = browser.wait_for(AGENCY_JS, lambda p: p["points"] > 0 and p["similar"])
            assert page["title"] == "阜新市细河区民政局"
            assert [r[0] for r in page["reports"]] == ["2020", "2021"]
            # 2 years x new_received, outcome_total, disclosed, review, litigation
            assert page["points"] == 10 and "new_received:2" in page["series"]
            assert {(f[0], f[1]) for f in page["failures"]} == {
                ("2021", "D1"), ("2021", "X1")}
            assert any(row[1] == "whole" and float(row[0]) >= 0.8 for row in page["similar"])
            late = [row for row in page["compliance"] if row[0] == "2021"]
            assert late[0][1] == "late" and late[0][5] == "20"
            assert len(page["originals"]) == 2
            browser.goto(page["originals"][0])  # the stored original's record
            assert browser.wait_for("document.body && document.body.innerText",
                                    lambda text: "sha256" in text)
            assert not external_requests(browser.requests), browser.requests
            assert not browser.errors, browser.errors
    finally:
        stop(process)
