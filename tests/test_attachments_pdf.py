"""The PDF reader on hand-drawn PDFs: each test draws one difficulty real reports have
(missing borders, white boxes behind prose, merged cells, text over a border, a table
split over pages, no text layer) and asserts the rows the reader gives the mapper."""

from __future__ import annotations

import pytest

from xxgk.parsers.dispatch import NeedsOCR, ReadError, parse_bytes
from xxgk.parsers.pdf import read

PAGE_H = 842


@pytest.fixture(autouse=True, params=["pdfium", "pdfplumber"])
def engine(request, monkeypatch):
    """Every test runs on both character/ruling engines: they must give the same rows."""
    monkeypatch.setenv("XXGK_PDF_ENGINE", request.param)
    return request.param


class Page:
    """PDF drawing in top-down coordinates (as pdfplumber reports them). `rotate=90`
    makes a landscape page as scanners and some exporters do: /Rotate 90 on a portrait
    MediaBox, content drawn sideways so that it reads upright when displayed."""

    def __init__(self, rotate: int = 0):
        self.ops: list[str] = []
        self.rotate = rotate
        self.height = 595 if rotate in (90, 270) else PAGE_H  # the displayed page's height

    def text(self, x: float, top: float, text: str, size: float = 10) -> Page:
        baseline = self.height - top - size * 0.8
        self.ops.append(f"BT /F1 {size} Tf {x} {baseline:.2f} Td ({text}) Tj ET")
        return self

    def slanted(self, x: float, top: float, text: str, size: float = 40) -> Page:
        """Text at 45 degrees, as a watermark is set."""
        k = 0.7071
        self.ops.append(f"BT /F1 {size} Tf {k} {k} {-k} {k} {x} {self.height - top} Tm ({text}) Tj ET")
        return self

    def line(self, x0: float, top0: float, x1: float, top1: float) -> Page:
        self.ops.append(f"0 0 0 RG 0.5 w {x0} {self.height - top0} m {x1} {self.height - top1} l S")
        return self

    def white_box(self, x0: float, top: float, x1: float, bottom: float) -> Page:
        self.ops.append(f"1 1 1 rg {x0} {self.height - bottom} {x1 - x0} {bottom - top} re f 0 0 0 rg")
        return self

    def grid(self, xs, ys, skip=()) -> Page:
        """Rulings at xs/ys; `skip` holds ("v", x, top, bottom) / ("h", y, x0, x1) gaps."""
        for x in xs:
            self._cut("v", x, ys[0], ys[-1], skip)
        for y in ys:
            self._cut("h", y, xs[0], xs[-1], skip)
        return self

    def _cut(self, kind, pos, lo, hi, skip):
        gaps = sorted((g[2], g[3]) for g in skip if g[0] == kind and g[1] == pos)
        start = lo
        for a, b in [*gaps, (hi, hi)]:
            if a > start:
                if kind == "v":
                    self.line(pos, start, pos, a)
                else:
                    self.line(start, pos, a, pos)
            start = max(start, b)


def pdf(*pages: Page) -> bytes:
    """A minimal valid PDF (Helvetica, one content stream per page)."""
    objects = ["<</Type/Catalog/Pages 2 0 R>>", None, "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    kids = []
    for page in pages:
        turn = {90: "0 1 -1 0 595 0", 270: f"0 -1 1 0 0 {PAGE_H}"}.get(page.rotate)
        ops = page.ops if turn is None else [f"q {turn} cm", *page.ops, "Q"]
        stream = "\n".join(ops).encode("latin-1")
        objects.append(f"<</Length {len(stream)}>>stream\n".encode() + stream + b"\nendstream")
        objects.append(
            f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 {PAGE_H}]/Rotate {page.rotate}"
            f"/Resources<</Font<</F1 3 0 R>>>>/Contents {len(objects)} 0 R>>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<</Type/Pages/Kids[{' '.join(kids)}]/Count {len(kids)}>>"
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        body = body if isinstance(body, bytes) else body.encode("latin-1")
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def rows(document) -> list[list[str]]:
    return [b.cells for b in document.blocks if b.cells is not None]


def prose(document) -> list[str]:
    return [b.text for b in document.blocks if b.cells is None]


def table_page(top: float = 100) -> Page:
    """A 3x3 ruled table: header, then two data rows."""
    ys = [top, top + 20, top + 40, top + 60]
    page = Page().grid([100, 250, 350, 450], ys)
    for k, (label, a, b) in enumerate((("item", "first", "second"), ("rules", "12", "0"),
                                       ("licences", "550", "7"))):
        page.text(105, ys[k] + 5, label).text(255, ys[k] + 5, a).text(355, ys[k] + 5, b)
    return page


def test_ruled_table_rows_and_prose_around_it():
    page = table_page().text(100, 60, "Report heading").text(100, 200, "after the table")
    document = read(pdf(page), name="t.pdf")
    assert rows(document) == [["item", "first", "second"], ["rules", "12", "0"],
                              ["licences", "550", "7"]]
    assert prose(document) == ["Report heading", "after the table"]
    assert [b.text or b.cells[0] for b in document.blocks][:2] == ["Report heading", "item"]
    assert document.problems == []


def test_cell_without_top_border_keeps_its_text():
    # hongze-2023 page 3: the top rule starts right of the label column.
    page = Page().grid([100, 250, 350], [100, 130, 160], skip=[("h", 100, 100, 250)])
    page.text(105, 105, "label").text(255, 105, "head").text(105, 135, "rules").text(255, 135, "4119")
    document = read(pdf(page), name="t.pdf")
    assert rows(document) == [["label", "head"], ["rules", "4119"]]


def test_white_boxes_behind_prose_are_not_a_table():
    page = Page()
    for k in range(4):  # a word processor's white background box behind each line
        page.white_box(70, 100 + 27 * k, 520, 127 + 27 * k).text(75, 105 + 27 * k, f"line {k} 12 3")
    document = read(pdf(page), name="t.pdf")
    assert rows(document) == []
    assert len(prose(document)) == 4


def test_value_spanning_rows_is_not_copied():
    page = Page().grid([100, 250, 350], [100, 120, 140, 160], skip=[("h", 140, 250, 350)])
    page.text(105, 105, "head").text(255, 105, "count")
    page.text(105, 125, "first").text(105, 145, "second").text(255, 135, "9")
    document = read(pdf(page), name="t.pdf")
    assert rows(document) == [["head", "count"], ["first", "9"], ["second", ""]]
    assert any("spans several rows" in p for p in document.problems)


def test_label_spanning_rows_appears_once_as_in_html():
    page = Page().grid([100, 200, 300, 400], [100, 120, 140], skip=[("h", 120, 100, 200)])
    page.text(105, 115, "group").text(205, 105, "sub one").text(305, 105, "1")
    page.text(205, 125, "sub two").text(305, 125, "2")
    document = read(pdf(page), name="t.pdf")
    assert rows(document) == [["group", "sub one", "1"], ["sub two", "2"]]


def test_number_over_a_border_is_kept_whole_and_reported():
    page = Page().grid([100, 250, 300, 400], [100, 120])
    page.text(105, 105, "fees").text(280, 105, "7730.28").text(360, 105, "5")
    document = read(pdf(page), name="t.pdf")
    cells = rows(document)[0]
    assert "7730.28" in cells  # never "7730." in one cell and "28" in the next
    assert any("crosses a cell border" in p for p in document.problems)


def test_numbers_with_a_gap_stay_visibly_two():
    page = Page().grid([100, 250, 400], [100, 120])
    page.text(105, 105, "rules").text(255, 105, "230").text(300, 105, "000023")
    cells = rows(read(pdf(page), name="t.pdf"))[0]
    assert cells == ["rules", "230 000023"]  # the mapper flags it; nothing is guessed


def test_table_split_over_pages_is_stitched_and_repeated_header_dropped():
    first = table_page(top=700).text(100, 800, "- 1 -")
    second = Page().grid([100, 250, 350, 450], [72, 92, 112])
    second.text(105, 77, "item").text(255, 77, "first").text(355, 77, "second")
    second.text(105, 97, "fees").text(255, 97, "3").text(355, 97, "1")
    document = read(pdf(first, second), name="t.pdf")
    tables = {b.table for b in document.blocks if b.cells is not None}
    assert len(tables) == 1
    assert rows(document)[-2:] == [["licences", "550", "7"], ["fees", "3", "1"]]
    assert "- 1 -" not in prose(document)


def test_row_cut_by_page_break_is_joined():
    first = table_page(top=700)
    second = Page().grid([100, 250, 350, 450], [72, 92, 112])
    second.text(105, 77, "tail")
    second.text(105, 97, "fees").text(255, 97, "3").text(355, 97, "1")
    document = read(pdf(first, second), name="t.pdf")
    assert ["licencestail", "550", "7"] in rows(document)
    assert any("page break joined" in p for p in document.problems)


def test_table_after_prose_on_next_page_is_a_new_table():
    first = table_page(top=700)
    second = table_page(top=200).text(100, 100, "Another section")
    document = read(pdf(first, second), name="t.pdf")
    assert len({b.table for b in document.blocks if b.cells is not None}) == 2


def test_unruled_rows_become_rows_not_prose():
    page = Page().text(100, 100, "rules").text(300, 100, "12").text(400, 100, "0")
    document = read(pdf(page, Page().text(100, 100, "x" * 30)), name="t.pdf")
    assert rows(document) == [["rules", "12", "0"]]
    assert document.blocks[0].row_is_real is False


def test_unruled_label_spanning_rows_wraps_past_the_row_beside_it():
    """Word prints a label spanning two rows on lines that fall between the next row's
    lines: each wrapped piece joins the cell in its column, not the row just above it."""
    page = (Page().text(100, 100, "Total").text(160, 100, "granted").text(300, 100, "22")
            .text(400, 100, "0").text(100, 112, "of")
            .text(160, 119, "partly").text(300, 119, "19").text(400, 119, "1")
            .text(100, 124, "results").text(160, 131, "open").text(100, 160, "After the table"))
    document = read(pdf(page), name="t.pdf")
    assert rows(document) == [["Totalofresults", "granted", "22", "0"], ["partlyopen", "19", "1"]]
    assert prose(document) == ["After the table"]


def test_unruled_label_wrapped_past_the_page_foot_joins_its_row():
    first = (Page().text(100, 100, "Heading").text(100, 770, "not").text(300, 770, "0")
             .text(400, 770, "1").text(100, 782, "yet"))
    second = Page().text(100, 72, "done").text(100, 90, "next").text(300, 90, "2").text(400, 90, "3")
    document = read(pdf(first, second), name="t.pdf")
    assert [(b.table, b.cells) for b in document.blocks if b.cells is not None] == [
        (0, ["notyetdone", "0", "1"]), (0, ["next", "2", "3"])]
    assert prose(document) == ["Heading"]


def test_page_without_text_is_needs_ocr():
    page = Page().grid([100, 250, 400], [100, 120, 140])
    with pytest.raises(NeedsOCR):
        read(pdf(page), name="scan.pdf")
    report = parse_bytes(pdf(page), name="scan.pdf")
    assert report.status == "needs_ocr" and report.cells == []


@pytest.mark.parametrize("data", [b"%PDF-1.4\n garbage", pdf(table_page())[:200]])
def test_broken_pdf_is_one_line_failure(data):
    with pytest.raises(ReadError):
        read(data, name="broken.pdf")
    report = parse_bytes(data, name="broken.pdf")
    assert report.status in ("failed", "needs_ocr")
    assert len(report.problems) == 1 and "\n" not in report.problems[0]


@pytest.mark.parametrize("rotate", [90, 270])
def test_rotated_landscape_page_reads_upright(rotate):
    page = Page(rotate=rotate).grid([100, 250, 350, 450, 700], [100, 120, 140])
    for k, cells in enumerate((("item", "first", "second", "third"), ("rules", "12", "0", "7"))):
        for x, text in zip((105, 255, 355, 455), cells, strict=True):
            page.text(x, 105 + 20 * k, text)
    page.text(100, 60, "landscape heading")
    document = read(pdf(page), name="t.pdf")
    assert rows(document) == [["item", "first", "second", "third"], ["rules", "12", "0", "7"]]
    assert prose(document) == ["landscape heading"]


def test_overprinted_fake_bold_is_read_once():
    page = Page().grid([100, 250, 350], [100, 120])
    page.text(105, 105, "rules").text(105.3, 105.2, "rules")
    page.text(255, 105, "12").text(255.3, 105, "12")  # drawn twice: not 1122
    assert rows(read(pdf(page), name="t.pdf")) == [["rules", "12"]]


def test_kangxi_radicals_read_as_ideographs():
    from xxgk.parsers.pdf import _clean_chars

    chars = [{"text": t, "x0": 10.0 * k, "x1": 10.0 * k + 9, "top": 5.0, "bottom": 14.0,
              "size": 9.0} for k, t in enumerate("⼀⼆三")]
    assert "".join(c["text"] for c in _clean_chars(chars)) == "一二三"


def test_running_head_does_not_cut_a_table_over_pages():
    first = table_page(top=700).text(250, 30, "Agency annual report")
    second = Page().text(250, 30, "Agency annual report").grid([100, 250, 350, 450], [72, 92])
    second.text(105, 77, "fees").text(255, 77, "3").text(355, 77, "1")
    document = read(pdf(first, second), name="t.pdf")
    assert len({b.table for b in document.blocks if b.cells is not None}) == 1
    assert "Agency annual report" not in prose(document)


def test_numbers_stacked_in_one_cell_are_not_joined():
    # the rule between two rows is missing in the value column: "4" over "1", not 41
    page = Page().grid([100, 250, 350], [100, 120, 140], skip=[("h", 120, 250, 350)])
    page.text(105, 105, "first").text(105, 125, "second")
    page.text(290, 105, "4").text(290, 125, "1")
    cells = rows(read(pdf(page), name="t.pdf"))
    assert cells[0] == ["first", "4 1"]  # the mapper reports it; nothing is guessed


def test_long_number_wrapped_in_a_narrow_cell_is_one_number():
    page = Page().grid([100, 250, 290], [100, 130])
    page.text(105, 105, "fees").text(252, 102, "5949.08", size=9).text(252, 114, "8667", size=9)
    assert rows(read(pdf(page), name="t.pdf")) == [["fees", "5949.088667"]]


def test_page_that_is_a_picture_is_reported_when_other_text_exists():
    text_page = table_page().text(100, 60, "Report heading")
    picture = Page()
    picture.ops.append("q 500 0 0 700 50 60 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\xff\xff\x00 EI Q")
    document = read(pdf(text_page, picture), name="t.pdf")
    assert rows(document)  # the text page is read
    assert any("pages 2 carry a picture" in p or "without a text layer" in p
               for p in document.problems)


def test_double_rules_make_no_empty_sliver_cells():
    page = Page().grid([100, 250, 253.5, 350, 450, 453.5], [100, 120, 123.5, 140])
    page.text(105, 105, "item").text(260, 105, "first").text(355, 105, "second")
    page.text(105, 127, "rules").text(260, 127, "12").text(355, 127, "0")
    assert rows(read(pdf(page), name="t.pdf")) == [["item", "first", "second"], ["rules", "12", "0"]]


def test_slanted_watermark_over_a_table_is_not_read_into_cells():
    page = table_page().slanted(200, 170, "2023 COPY")
    assert rows(read(pdf(page), name="t.pdf")) == [
        ["item", "first", "second"], ["rules", "12", "0"], ["licences", "550", "7"]]


def test_columns_ruled_rows_not_are_read_from_word_positions():
    page = Page().grid([100, 250, 320, 390], [100, 180])  # no rule between the rows
    for k, (label, a, b) in enumerate((("rules", "12", "0"), ("licences", "550", "7"),
                                       ("penalties", "4119", "3"), ("fees", "1", "2"))):
        page.text(105, 105 + 18 * k, label).text(290, 105 + 18 * k, a).text(360, 105 + 18 * k, b)
    assert rows(read(pdf(page), name="t.pdf")) == [
        ["rules", "12", "0"], ["licences", "550", "7"], ["penalties", "4119", "3"], ["fees", "1", "2"]]


def test_rows_ruled_columns_not_are_read_from_word_positions():
    page = Page()
    for y in (100, 120, 140):
        page.line(100, y, 450, y)
    page.text(105, 105, "rules").text(290, 105, "12").text(360, 105, "0")
    page.text(105, 125, "licences").text(290, 125, "550").text(360, 125, "7")
    assert rows(read(pdf(page), name="t.pdf")) == [["rules", "12", "0"], ["licences", "550", "7"]]


# ---------------------------------------------------------------- property: any table back
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)
LABELS = st.lists(WORDS, min_size=1, max_size=2).map(" ".join)
VALUES = st.one_of(st.integers(0, 99999).map(str), st.just("/"),
                   st.decimals(0, 9999, places=2).map(str))


@st.composite
def tables(draw, blanks: bool = False):
    width = draw(st.integers(1, 6))
    height = draw(st.integers(1, 8))
    values = st.one_of(VALUES, st.just("")) if blanks else VALUES
    table = [[draw(LABELS)] + [draw(values) for _ in range(width)] for _ in range(height)]
    return [row for row in table if any(row[1:])] or [[draw(LABELS), "1"]]


def render(table: list[list[str]], ruled: bool) -> bytes:
    xs = [60, 200] + [200 + 55 * (k + 1) for k in range(len(table[0]) - 1)]
    ys = [100 + 20 * k for k in range(len(table) + 1)]
    page = Page().grid(xs, ys) if ruled else Page()
    for r, row in enumerate(table):
        for c, text in enumerate(row):
            page.text(xs[c] + 4, ys[r] + 5, text)
    return pdf(page)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), ruled=st.booleans())
def test_any_table_reads_back_cell_for_cell(table, ruled):
    document = read(render(table, ruled), name="t.pdf")
    assert rows(document) == table


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(blanks=True))
def test_blank_cells_of_a_ruled_table_stay_in_place(table):
    """A blank is an empty cell where it was printed, never a shifted neighbour."""
    got = rows(read(render(table, ruled=True), name="t.pdf"))
    assert got == [row[:1] + row[1:] for row in table]
