"""Truncated PDFs (a download cut by the byte cap or a dropped connection): the pages that
arrived whole are read, the report is partial and says after which page the file was cut,
and no value is read that the whole file does not print.

The cuts are made here from the real fixture PDFs: hongze-2023.pdf (the published report,
page tree first, fonts shared from the end), the same file with its objects packed in an
object stream (qpdf, as Word writes) and a LibreOffice export (page tree last)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xxgk.parsers.dispatch import parse_bytes
from xxgk.parsers.pdf import read

from conftest import CORPUS, expected_for, printed_cells

ATTACHMENTS = Path(__file__).resolve().parent.parent / "fixtures" / "attachments"
HONGZE = CORPUS / "hongze-2023.pdf"
PACKED = ATTACHMENTS / "hongze-2023.objstm.pdf"  # objects in a PDF 1.5 object stream


def cuts(data: bytes, percents) -> list[bytes]:
    return [data[: len(data) * p // 100] for p in percents]


def test_the_packed_copy_reads_every_cell_whole():
    assert b"/ObjStm" in PACKED.read_bytes()
    report = parse_bytes(PACKED.read_bytes(), name=PACKED.name)
    assert report.status == "ok"
    assert printed_cells(report) == expected_for(HONGZE)["cells"]


@pytest.mark.parametrize("path", [HONGZE, PACKED], ids=["published", "object-stream"])
def test_every_cut_reads_only_true_cells_and_says_where_it_was_cut(path):
    data, want = path.read_bytes(), expected_for(HONGZE)["cells"]
    statuses, pages = set(), set()
    for cut in cuts(data, range(60, 100, 2)):
        report = parse_bytes(cut, name="hongze-2023.pdf")
        statuses.add(report.status)
        got = printed_cells(report)
        assert {k: v for k, v in got.items() if want.get(k) != v} == {}  # nothing invented
        said = " ".join(report.problems)
        if report.status == "failed":
            assert "truncated PDF" in said and "no page arrived whole" in said
            continue
        assert report.status == "partial", said  # never ok: pages are missing
        page = int(re.search(r"truncated after page (\d) of 5", said)[1])
        assert 1 <= page < 5
        pages.add(page)
        if page == 3:  # table 2 whole, table 3 up to its rows on page 4
            assert all(got.get(k) == v for k, v in want.items() if k.startswith("table2."))
            assert sum(k.startswith("table3.") for k in got) >= 60
    assert {"partial", "failed"} <= statuses
    assert {1, 3} <= pages  # cuts on the first and on the fourth page


def test_cut_in_the_cross_reference_table_reads_every_page():
    data = HONGZE.read_bytes()
    report = parse_bytes(data[:-40], name="hongze-2023.pdf")
    assert report.status == "ok"
    assert printed_cells(report) == expected_for(HONGZE)["cells"]
    assert any("every page read (5)" in p for p in report.problems)


@pytest.mark.parametrize("engine", ["pdfium", "pdfplumber"])
def test_both_engines_read_the_same_pages_of_a_cut_file(engine):
    data = HONGZE.read_bytes()
    cut = data[: len(data) * 97 // 100]
    document = read(cut, name="cut.pdf", engine=engine)
    whole = read(data, name="whole.pdf", engine=engine)
    assert document.incomplete
    assert "truncated after page 3 of 5" in document.problems[0]
    rows = [b.cells for b in document.blocks if b.cells is not None]
    whole_rows = [b.cells for b in whole.blocks if b.cells is not None]
    assert rows and rows == whole_rows[: len(rows)]  # the same rows, up to the cut


def test_libreoffice_export_cut_before_its_first_page_is_one_clear_line():
    """LibreOffice writes the pages and their tree last: a cut before them loses all."""
    data = (ATTACHMENTS / "pingtan-2023.pdf").read_bytes()
    first = data.index(b"/Type/Page")
    report = parse_bytes(data[:first], name="pingtan-2023.pdf")
    assert report.status == "failed"
    assert report.problems == [f"pingtan-2023.pdf: truncated PDF (cut at {first} bytes): "
                               "no page arrived whole"]
    assert report.cells == []


def test_libreoffice_export_cut_before_its_page_tree_reads_the_first_page():
    """Without the page tree the pages are taken in file order, up to the first that did
    not arrive whole; how many pages the file had is not known."""
    data = (ATTACHMENTS / "pingtan-2023.pdf").read_bytes()
    whole = printed_cells(parse_bytes(data, name="pingtan-2023.pdf"))
    report = parse_bytes(data[: data.rindex(b"/Type/Pages") - 100], name="pingtan-2023.pdf")
    assert report.status == "partial"
    assert report.problems[0].startswith("truncated PDF: truncated after page 1; ")
    got = printed_cells(report)
    assert got and {k: v for k, v in got.items() if whole.get(k) != v} == {}


def test_libreoffice_export_cut_after_its_page_tree_reads_every_cell():
    data = (ATTACHMENTS / "pingtan-2023.pdf").read_bytes()
    report = parse_bytes(data[: data.rindex(b"trailer")], name="pingtan-2023.pdf")
    assert report.status == "ok"
    assert printed_cells(report) == printed_cells(parse_bytes(data, name="pingtan-2023.pdf"))


def deep_tree_pdf(depth: int) -> bytes:
    """A one-page PDF whose page sits `depth` levels down its page tree, cut before its
    cross-reference table (no xref, no trailer)."""
    text = b"BT /F1 12 Tf 72 700 Td (Annual report 2023) Tj ET"
    objects = [b"<</Type/Catalog/Pages 3 0 R>>",
               b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    for level in range(depth):
        kid = 3 + level + 1
        objects.append(b"<</Type/Pages/Kids[%d 0 R]/Count 1%s>>"
                       % (kid, b"" if level == 0 else b"/Parent %d 0 R" % (2 + level)))
    page, contents = 3 + depth, 4 + depth
    objects.append(b"<</Type/Page/Parent %d 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 2 0 R>>>>"
                   b"/Contents %d 0 R>>" % (page - 1, contents))
    objects.append(b"<</Length %d>>stream\n%s\nendstream" % (len(text), text))
    body = b"".join(b"%d 0 obj\n%s\nendobj\n" % (k + 1, o) for k, o in enumerate(objects))
    return b"%PDF-1.7\n" + body


def test_a_deep_page_tree_is_walked_without_recursion():
    document = read(deep_tree_pdf(3000), name="deep.pdf")
    assert "every page read (1)" in document.problems[0]
    assert "Annual report 2023" in document.plain_text()


def test_bytes_after_the_end_mark_are_not_a_cut():
    data = HONGZE.read_bytes()
    report = parse_bytes(data + b"<html>" + b" " * 4000 + b"</html>", name="hongze-2023.pdf")
    assert report.status == "ok"
    assert not any("truncated" in p or "cut" in p for p in report.problems)
    assert printed_cells(report) == expected_for(HONGZE)["cells"]
