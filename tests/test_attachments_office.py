"""Word and Excel readers on small documents built here, one difficulty each."""

from __future__ import annotations

import copy
import io

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn

from xxgk.parsers.dispatch import NeedsOCR, ReadError
from xxgk.parsers.office import read_docx, read_xlsx


def docx_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def rows(document) -> list[list[str]]:
    return [b.cells for b in document.blocks if b.cells is not None]


def grid_doc(values: list[list[str]]):
    document = docx.Document()
    document.add_paragraph("三、收到和处理政府信息公开申请情况")
    table = document.add_table(rows=len(values), cols=len(values[0]))
    for r, row in enumerate(values):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.add_paragraph("四、政府信息公开行政复议、行政诉讼情况")
    return document, table


def test_docx_paragraphs_and_tables_in_body_order():
    document, _ = grid_doc([["规章", "1", "2"]])
    got = read_docx(docx_bytes(document), name="a.docx")
    kinds = [("row" if b.cells is not None else b.text) for b in got.blocks]
    assert kinds == ["三、收到和处理政府信息公开申请情况", "row", "四、政府信息公开行政复议、行政诉讼情况"]


def test_docx_vertical_merge_value_not_copied_label_once():
    document, table = grid_doc([["（三）不予公开", "1.属于国家秘密", "7"],
                                ["", "2.其他法律行政法规禁止公开", ""]])
    table.cell(0, 0).merge(table.cell(1, 0))
    table.cell(0, 2).merge(table.cell(1, 2))
    table.cell(0, 2).text = "7"
    assert rows(read_docx(docx_bytes(document), name="a.docx")) == [
        ["（三）不予公开", "1.属于国家秘密", "7"], ["2.其他法律行政法规禁止公开", ""]]


def test_docx_horizontal_merge_appears_once():
    document, table = grid_doc([["行政复议", "", ""], ["结果维持", "结果纠正", "总计"]])
    table.cell(0, 0).merge(table.cell(0, 2))
    table.cell(0, 0).text = "行政复议"
    assert rows(read_docx(docx_bytes(document), name="a.docx"))[0] == ["行政复议"]


def test_docx_rows_inside_content_controls_are_read():
    document, table = grid_doc([["规章", "1", "2"], ["行政规范性文件", "3", "4"]])
    tr = table.rows[1]._tr
    sdt = tr.makeelement(qn("w:sdt"), {})
    content = sdt.makeelement(qn("w:sdtContent"), {})
    sdt.append(content)
    tr.addprevious(sdt)
    content.append(tr)
    assert rows(read_docx(docx_bytes(document), name="a.docx")) == [
        ["规章", "1", "2"], ["行政规范性文件", "3", "4"]]


def test_docx_tables_nested_in_a_layout_table_read_as_the_body():
    """A draft boxed in a one-cell table: its paragraphs and the tables nested in the
    cell come out in order, each nested table with its own rows and index."""
    document, table = grid_doc([["规章", "1", "2"]])
    body = document.element.body
    content = [c for c in body.iterchildren() if c.tag in (qn("w:p"), qn("w:tbl"))]
    frame = document.add_table(rows=1, cols=1).cell(0, 0)._tc
    for child in content:
        frame.append(child)
    got = read_docx(docx_bytes(document), name="a.docx")
    kinds = [(b.table, b.cells) if b.cells is not None else b.text for b in got.blocks]
    assert kinds == ["三、收到和处理政府信息公开申请情况", (0, ["规章", "1", "2"]),
                     "四、政府信息公开行政复议、行政诉讼情况"]


def test_docx_table_nested_in_a_data_cell_is_said_not_read_as_body():
    """A data table (numbers in its own cells) with a small table in one cell is no
    layout frame: read as body its blank cells would vanish and shift the numbers."""
    document, table = grid_doc([["规章", "", "2"]])
    inner = document.add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "注"
    table.cell(0, 0)._tc.append(inner._tbl)
    table.cell(0, 0)._tc.append(docx.oxml.OxmlElement("w:p"))
    got = read_docx(docx_bytes(document), name="a.docx")
    assert rows(got) == [["规章 注", "", "2"]]
    assert any("nested" in p for p in got.problems)


def test_docx_text_box_fallback_is_not_read_twice():
    document = docx.Document()
    paragraph = document.add_paragraph("标题")
    fallback = paragraph._p.makeelement(
        "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback", {})
    fallback.append(copy.deepcopy(paragraph.runs[0]._r))
    paragraph._p.append(fallback)
    got = read_docx(docx_bytes(document), name="a.docx")
    assert [b.text for b in got.blocks] == ["标题"]


def test_docx_of_images_only_needs_ocr(tmp_path):
    from PIL import Image

    picture = tmp_path / "scan.png"
    Image.new("RGB", (200, 100), "white").save(picture)
    document = docx.Document()
    document.add_picture(str(picture))
    with pytest.raises(NeedsOCR):
        read_docx(docx_bytes(document), name="a.docx")


def test_docx_not_a_zip_is_read_error():
    with pytest.raises(ReadError):
        read_docx(b"PK\x03\x04 not really a zip", name="a.docx")


def xlsx_bytes(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_merged_ranges_numbers_and_headings():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["二、主动公开政府信息情况"])
    sheet.append(["信息内容", "本年收费金额（单位：万元）"])
    sheet.append(["行政事业性收费", 0.1 + 0.2])
    sheet.append(["行政许可", 550.0])
    sheet.append(["（三）不予公开", "1.属于国家秘密", 7])
    sheet.append([None, "2.其他法律行政法规禁止公开", None])
    sheet.merge_cells("A5:A6")
    sheet.merge_cells("C5:C6")
    got = read_xlsx(xlsx_bytes(book), name="a.xlsx")
    assert got.blocks[0].text == "二、主动公开政府信息情况" and got.blocks[0].cells is None
    assert rows(got) == [
        ["信息内容", "本年收费金额（单位：万元）"],
        ["行政事业性收费", "0.3"],  # not 0.30000000000000004
        ["行政许可", "550"],
        ["（三）不予公开", "1.属于国家秘密", "7"],
        ["2.其他法律行政法规禁止公开", ""],  # the merged value is not copied down
    ]


def test_xlsx_hidden_sheet_skipped_and_unsaved_formula_reported():
    book = openpyxl.Workbook()
    book.active.append(["规章", "=1+1", 3])
    hidden = book.create_sheet("scratch")
    hidden.append(["规章", 999, 999])
    hidden.sheet_state = "hidden"
    got = read_xlsx(xlsx_bytes(book), name="a.xlsx")
    assert rows(got) == [["规章", "", "3"]]  # a formula openpyxl wrote has no saved value
    assert any("formula" in p for p in got.problems)


def test_xlsx_broken_is_read_error():
    with pytest.raises(ReadError):
        read_xlsx(b"PK\x03\x04" + b"\x00" * 100, name="a.xlsx")


def test_docx_malformed_span_is_read_error_not_traceback():
    document, table = grid_doc([["规章", "1"]])
    properties = table.rows[0]._tr.tc_lst[0].get_or_add_tcPr()
    properties.append(properties.makeelement(qn("w:gridSpan"), {qn("w:val"): "x"}))
    with pytest.raises(ReadError, match="malformed"):
        read_docx(docx_bytes(document), name="a.docx")


def test_macro_enabled_word_file_is_read():
    import zipfile

    document, _ = grid_doc([["规章", "1", "2"]])
    source, out = zipfile.ZipFile(io.BytesIO(docx_bytes(document))), io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                body = body.replace(
                    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                    b"application/vnd.ms-word.document.macroEnabled.main+xml")
                assert b"macroEnabled" in body
            copy.writestr(item, body)
    assert rows(read_docx(out.getvalue(), name="a.docm")) == [["规章", "1", "2"]]


def test_xlsx_sheets_named_for_their_tables_head_them():
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    book.active.append(["规章", 1, 2])
    named = book.create_sheet("收到和处理政府信息公开申请情况")
    named.append(["一、本年新收政府信息公开申请数量", 1, 0, 0, 0, 0, 0, 1])
    got = read_xlsx(xlsx_bytes(book), name="a.xlsx")
    kinds = [b.text if b.cells is None else "row" for b in got.blocks]
    assert kinds == ["row", "收到和处理政府信息公开申请情况", "row"]


def test_docx_blank_first_value_column_stays_in_place_and_label_padding_goes():
    document, table = grid_doc([["（三）不予公开", "1.属于国家秘密", "", "3"],
                                ["（六）其他处理", "", "", "4"]])
    assert rows(read_docx(docx_bytes(document), name="a.docx")) == [
        ["（三）不予公开", "1.属于国家秘密", "", "3"], ["（六）其他处理", "", "4"]]


def test_xlsx_blank_first_value_column_stays_in_place_and_label_padding_goes():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([None, "（三）不予公开", "1.属于国家秘密", None, 3])
    sheet.append([None, "（六）其他处理", None, None, 4])
    assert rows(read_xlsx(xlsx_bytes(book), name="a.xlsx")) == [
        ["（三）不予公开", "1.属于国家秘密", "", "3"], ["（六）其他处理", "", "4"]]
