"""Every real report of the corpus parses to every cell of its hand-checked
.expected.json, with its metadata, in HTML and in the three text renderings."""

from __future__ import annotations

import pytest

from xxgk.parsers import parse_bytes, parse_path
from xxgk.parsers.dispatch import read_document
from xxgk.parsers.render import STYLES, render

from conftest import CORPUS, corpus_params, expected_for, printed_cells

CASES = corpus_params(".html", ".txt")


def assert_matches_expected(report, expected, *, page_meta: bool = True) -> None:
    got = printed_cells(report)
    want = expected["cells"]
    wrong = {k: (got.get(k, "missing"), v) for k, v in want.items() if got.get(k, "missing") != v}
    assert not wrong, f"{len(wrong)} cells differ (got, expected): {wrong}"
    assert set(got) == set(want), f"cells not in expected: {sorted(set(got) - set(want))}"
    for key in expected.get("nulls", []):
        assert report.cell(key).value is None
    assert report.template_version == expected["template_version"]
    assert report.year == expected["year"]
    if page_meta:  # a list page names its agency only in <meta>, which text loses
        assert report.agency == expected["agency"]


@pytest.mark.parametrize("path", CASES)
def test_corpus_report_cells_and_metadata(path):
    expected = expected_for(path)
    report = parse_path(path)
    assert_matches_expected(report, expected)
    assert report.published_date == expected["published_date"]
    if expected.get("title"):
        assert report.title == expected["title"]
    for key, raw in expected.get("raw", {}).items():
        assert report.cell(key).raw == raw
    for key, note in expected.get("cell_notes", {}).items():
        if key.endswith("items_change"):
            assert "+23/-10" in report.cell(key).note and "13" in report.cell(key).note
        else:
            assert report.cell(key).note == note


@pytest.mark.parametrize("path", corpus_params(".pdf"))
def test_corpus_pdf_cells_and_metadata(path):
    """Real PDFs of the corpus (as published, or as a public repository keeps them)."""
    expected = expected_for(path)
    report = parse_path(path)
    assert report.source_format == "pdf"
    assert_matches_expected(report, expected)
    assert report.published_date == expected["published_date"]
    if expected.get("title"):
        assert report.title == expected["title"]
    failed = sorted((c.id, c.scope) for c in report.checks if c.ok is False)
    assert failed == sorted(tuple(f) for f in expected.get("failed_checks", failed))


@pytest.mark.parametrize("path", corpus_params(".html"))
@pytest.mark.parametrize("style", STYLES)
def test_text_renderings_parse_to_the_same_cells(path, style):
    expected = expected_for(path)
    text = render(read_document(path.read_bytes(), name=path.name), style)
    report = parse_bytes(text.encode("utf-8"), name=f"{path.stem}.{style}.txt")
    assert report.source_format == "text"
    assert_matches_expected(report, expected, page_meta=expected["template_version"] != "not_a_report")


def test_pingtan_2020_fails_i3_at_the_source_as_printed():
    report = parse_path(CORPUS / "pingtan-2020.html")
    failed = {(c.id, c.scope): c for c in report.checks if c.ok is False}
    assert set(failed) == {("I3", "natural_person"), ("I3", "total")}
    assert "= 20" in failed["I3", "natural_person"].detail
    assert "= 26" in failed["I3", "natural_person"].detail
    assert "differs by -6" in failed["I3", "total"].detail
    assert all(c.fault == "source" for c in failed.values())
    assert {c.id for c in report.checks} >= {"I1", "I2", "I3", "I4", "I5"}
    assert report.status == "ok"


def test_v2021_other_handling_is_derived_never_printed():
    report = parse_path(CORPUS / "pingtan-2023.html")
    cell = report.cell("table3.other_handling.natural_person")
    assert cell.derived and cell.raw is None and cell.value == 2
    assert all(c.ok for c in report.checks)


def test_seed_values_with_notes_and_two_part_change():
    report = parse_path(CORPUS / "xihe-minzheng-2020.txt")
    prev = report.cell("table2.admin_licensing.items_prev_year")
    assert (prev.value, prev.note) == (174, "社会组织法人登记证")
    assert report.cell("table2.admin_licensing.items_change").value == 13
    assert report.cell("table2.admin_licensing.items_added").value == 23
    assert report.cell("table2.admin_licensing.items_removed").value == 10
    assert report.cell("table2.admin_licensing.decisions").value == 187
    assert "我局及时有效的主动公开信息56条" in report.narratives["overview"]
    assert report.narratives["other_matters"] == "无其他需要报告的事项"


def test_procurement_in_yuan_is_normalised_to_wan_yuan():
    report = parse_path(CORPUS / "pingtan-2020.html")
    cell = report.cell("table2.central_procurement.procurement_amount_wan_yuan")
    assert float(cell.value) == 7380.28959 and cell.raw == "73802895.90元"


def test_legacy_and_not_a_report_emit_no_cells():
    legacy = parse_path(CORPUS / "pingtan-2018.html")
    letter = parse_path(CORPUS / "pingtan-201412-not-a-report.html")
    listing = parse_path(CORPUS / "pingtan-list.html")
    assert (legacy.template_version, legacy.cells) == ("legacy", [])
    assert (letter.status, letter.cells, letter.year) == ("not_a_report", [], None)
    assert (listing.status, listing.cells) == ("not_a_report", [])
