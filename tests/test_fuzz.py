"""Damaged and hostile inputs (issue 11): corpus mutation and hypothesis.

The bar: no traceback (nor a reader bug caught by the last-resort guard, "parser error"),
every input gets a result, and no value the undamaged original does not print: damage
may lose cells, never invent them.

CI runs a small derandomized profile (well under a minute); `XXGK_FUZZ=big` runs many
more random examples: `XXGK_FUZZ=big python -m pytest -q tests/test_fuzz.py`.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xxgk.parsers import model, parse_bytes
from xxgk.parsers.html import MAX_DEPTH
from xxgk.parsers.html import read as read_html

from conftest import CORPUS, ROOT

BIG = os.environ.get("XXGK_FUZZ") == "big"
ATTACHMENTS = ROOT / "fixtures" / "attachments"
STATUSES = {model.OK, model.PARTIAL, model.NOT_A_REPORT, model.FAILED,
            model.UNSUPPORTED_FORMAT, model.NEEDS_OCR}


def fuzz(examples: int):
    """Hypothesis settings: `examples` derandomized in CI, 20x as many at random when big."""
    return settings(max_examples=examples * 20 if BIG else examples, derandomize=not BIG,
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


PAGES = ["pingtan-2023.html", "pingtan-2020.html", "pingtan-2018.html", "pingtan-list.html"]
TEXTS = ["xihe-minzheng-2020.txt"]
PDFS = ["hongze-2023.pdf", "pingtan-2023.pdf"]
OFFICE = ["pingtan-2023.docx", "pingtan-2023.xlsx"]


def source(name: str) -> bytes:
    path = CORPUS / name if (CORPUS / name).exists() else ATTACHMENTS / name
    return path.read_bytes()


@cache
def original(name: str) -> model.Report:
    return parse_bytes(source(name), name=name)


def assert_sound(report: model.Report, name: str, *, same_place: bool = True) -> None:
    """A result, no reader bug, and no value the undamaged original does not print:
    under the same key (`same_place`), or, where the damage moved text (a span cut out
    or repeated, so that a table-2 row may now stand under table 4's heading), anywhere
    in the original."""
    assert report.status in STATUSES
    assert not any("parser error" in p for p in report.problems), report.problems
    if report.status == model.FAILED:
        assert report.problems, "a failure names its reason"
    json.dumps(report.to_dict(), ensure_ascii=False)  # what `xxgk parse --json` prints
    printed = {c.key: c.value for c in original(name).cells}
    anywhere = {c.value for c in original(name).cells}
    for cell in report.cells:
        if cell.value is None:
            continue
        if same_place:
            assert cell.key in printed and printed[cell.key] == cell.value, \
                f"{name}: {cell.key} = {cell.value} (raw {cell.raw!r}); original: " \
                f"{printed.get(cell.key, 'no such cell')}"
        elif not cell.derived:
            assert cell.value in anywhere, \
                f"{name}: {cell.key} = {cell.value} (raw {cell.raw!r}) is nowhere in the original"


def parsed(data: bytes, name: str) -> model.Report:
    return parse_bytes(data, name=name)


# ------------------------------------------------------------------ corpus mutations

@pytest.mark.parametrize("name", PAGES + TEXTS)
def test_truncated_at_every_region(name):
    data = source(name)
    steps = 40 if BIG else 12
    for i in range(1, steps):
        cut = len(data) * i // steps
        assert_sound(parsed(data[:cut], name), name)


@pytest.mark.parametrize("name", PDFS + OFFICE)
def test_truncated_attachments(name):
    data = source(name)
    for fraction in (0.1, 0.5, 0.9, 0.99):
        assert_sound(parsed(data[:int(len(data) * fraction)], name), name)


def _flip(data: bytes, positions: list[int]) -> bytes:
    """Each chosen byte with its high bit flipped: an ASCII digit becomes a byte no
    decoder reads, a multi-byte character loses its shape. (A digit turned into another
    digit is damage nobody can see, and prints a value the page then really prints.)"""
    out = bytearray(data)
    for position in positions:
        out[position % len(out)] ^= 0x80
    return bytes(out)


@given(st.sampled_from(PAGES + TEXTS), st.lists(st.integers(min_value=0), min_size=1, max_size=50))
@fuzz(40)
def test_flipped_bytes(name, positions):
    assert_sound(parsed(_flip(source(name), positions), name), name)


def test_fifty_flipped_bytes_lose_no_page():
    """The issue's case: 50 flipped bytes cost the cells they touch, not the report."""
    for seed, name in enumerate(["pingtan-2023.html", "pingtan-2020.html"] * 5):
        data = source(name)
        positions = [(seed * 7919 + k * 104729) % len(data) for k in range(50)]
        report = parsed(_flip(data, positions), name)
        assert_sound(report, name)
        assert report.status in (model.OK, model.PARTIAL), report.problems
        assert any("replaced by U+FFFD" in p for p in report.problems)
        assert len(report.cells) > len(original(name).cells) // 2


@given(st.sampled_from(PAGES + TEXTS), st.integers(min_value=0), st.integers(1, 4000),
       st.integers(2, 4))
@fuzz(40)
def test_repeated_span(name, start, length, times):
    data = source(name)
    start %= len(data)
    span = data[start:start + length]
    assert_sound(parsed(data[:start] + span * times + data[start + length:], name), name,
                 same_place=False)


@given(st.sampled_from(PAGES + TEXTS), st.integers(min_value=0), st.integers(1, 20000))
@fuzz(40)
def test_cut_chunk(name, start, length):
    data = source(name)
    start %= len(data)
    assert_sound(parsed(data[:start] + data[start + length:], name), name, same_place=False)


@given(st.sampled_from(PAGES + TEXTS), st.lists(st.integers(min_value=0), min_size=1, max_size=8))
@fuzz(30)
def test_nul_bytes(name, positions):
    data = bytearray(source(name))
    for position in sorted(positions, reverse=True):
        data[position % len(data):position % len(data)] = b"\x00"
    assert_sound(parsed(bytes(data), name), name)


def test_nul_inside_a_number_is_not_read_as_the_number():
    data = source("xihe-minzheng-2020.txt")
    at = data.index(b"| 187") + 3  # table2.admin_licensing.decisions, "187(...)"
    report = parsed(data[:at] + b"\x00" + data[at:], "xihe-minzheng-2020.txt")
    cell = report.cell("table2.admin_licensing.decisions")
    assert cell is not None and cell.value is None and "\ufffd" in cell.raw
    assert report.status == model.PARTIAL
    assert any("1 undecodable or NUL bytes" in p for p in report.problems)


# ------------------------------------------------------------------ encodings

def _as_gbk(name: str) -> bytes:
    return source(name).decode("utf-8").replace('charset="utf-8"', 'charset="gbk"') \
        .encode("gb18030")


@pytest.mark.parametrize("case", [
    "utf8-bom-on-gbk", "utf16-bom-on-utf8", "meta-gbk-on-utf8", "meta-utf8-on-gbk",
    "header-big5-on-utf8", "header-utf8-on-gbk",
])
@pytest.mark.parametrize("name", ["pingtan-2023.html", "pingtan-2020.html"])
def test_bom_and_declaration_mismatches(case, name):
    data, content_type = {
        "utf8-bom-on-gbk": (b"\xef\xbb\xbf" + _as_gbk(name), None),
        "utf16-bom-on-utf8": (b"\xff\xfe" + source(name), None),
        "meta-gbk-on-utf8": (source(name).replace(b'charset="utf-8"', b'charset="gbk"'), None),
        "meta-utf8-on-gbk": (source(name).decode().encode("gb18030"), None),
        "header-big5-on-utf8": (source(name), "text/html; charset=big5"),
        "header-utf8-on-gbk": (_as_gbk(name), "text/html; charset=utf-8"),
    }[case]
    try:
        document = read_html(data, name=name, content_type=content_type)
    except Exception as error:  # a ReadError is a result; anything else a bug
        assert type(error).__name__ == "ReadError", error
        return
    from xxgk.parsers.report import build_report

    report = build_report(document, path=name)
    assert_sound(report, name)
    if case in ("meta-gbk-on-utf8", "meta-utf8-on-gbk", "header-big5-on-utf8",
                "header-utf8-on-gbk"):
        # A wrong declaration is common: the encoding that reads every byte wins.
        assert {c.key: c.value for c in report.cells} == \
            {c.key: c.value for c in original(name).cells}


def test_one_invalid_byte_before_table_3_costs_nothing():
    data = source("pingtan-2023.html")
    at = data.index("三、收到和处理".encode())
    report = parsed(data[:at] + b"\xff" + data[at:], "pingtan-2023.html")
    assert report.status == model.OK
    assert [c.to_dict() for c in report.cells] == \
        [c.to_dict() for c in original("pingtan-2023.html").cells]
    assert f"1 undecodable or NUL bytes replaced by U+FFFD (utf-8) at byte {at}; numbers " \
           "they touch are not read" in report.problems


def test_a_gbk_phrase_in_a_utf8_page_keeps_every_cell_outside_it():
    data = source("pingtan-2023.html")
    at = data.index("三、收到和处理".encode())
    pasted = "（本节由另一模板保存）".encode("gbk")
    report = parsed(data[:at] + pasted + data[at:], "pingtan-2023.html")
    assert [c.to_dict() for c in report.cells] == \
        [c.to_dict() for c in original("pingtan-2023.html").cells]
    assert any("undecodable" in p and f"at byte {at}" in p for p in report.problems)


def test_a_gbk_run_over_a_number_flags_that_number_only():
    data = source("pingtan-2023.html")
    cell = next(c for c in original("pingtan-2023.html").cells
                if c.key == "table3.new_received.natural_person")
    row = data.index("本年新收政府信息公开申请数量".encode())
    at = data.index(f">{cell.raw}<".encode(), row) + 1
    damaged = data[:at] + "共".encode("gbk") + data[at:]  # B9 B2: no UTF-8 at all
    report = parsed(damaged, "pingtan-2023.html")
    read = report.cell("table3.new_received.natural_person")
    assert read.value is None and "\ufffd" in read.raw
    assert any("table3.new_received.natural_person: undecodable bytes" in p
               for p in report.problems)
    others = {c.key: c.value for c in report.cells if c.key != read.key}
    assert others == {c.key: c.value for c in original("pingtan-2023.html").cells
                      if c.key != read.key}
    assert report.status == model.PARTIAL


def test_no_text_at_all_is_an_unknown_encoding_or_binary():
    report = parsed(os.urandom(20000).replace(b"<", b"."), "random.txt")
    assert report.status == model.FAILED
    assert any(("unknown encoding" in p) or ("binary" in p) for p in report.problems)


# ------------------------------------------------------------------ hostile structure

@given(st.integers(min_value=0), st.sampled_from(["colspan", "rowspan"]),
       st.sampled_from(["65534", "2147483648", "-3", "1e9", "０"]))
@fuzz(30)
def test_huge_spans(which, attribute, value):
    name = "pingtan-2023.html"
    data = source(name)
    cells = [m.start() for m in re.finditer(rb"<td\b", data)]
    at = cells[which % len(cells)] + 3
    assert_sound(parsed(data[:at] + f' {attribute}="{value}"'.encode() + data[at:], name), name)


@pytest.mark.parametrize("tag,depth", [("div", 5000), ("span", 50000), ("table", 3000),
                                       ("font", 2000), ("td", 4000)])
def test_deep_nesting(tag, depth):
    name = "pingtan-2023.html"
    opener = {"table": "<table><tr><td>", "td": "<td>"}.get(tag, f"<{tag}>")
    closer = {"table": "</td></tr></table>", "td": "</td>"}.get(tag, f"</{tag}>")
    page = source(name).decode()
    body = page.index("<body")
    body = page.index(">", body) + 1
    end = page.rindex("</body>")
    nested = page[:body] + opener * depth + page[body:end] + closer * depth + page[end:]
    report = parsed(nested.encode(), name)
    assert_sound(report, name)


def test_deep_nesting_is_said_in_problems():
    page = "<html><body>" + "<div>" * 2000 + "本年新收 5" + "</div>" * 2000 + "</body></html>"
    report = parsed(page.encode(), "deep.html")
    assert f"the page nests elements more than {MAX_DEPTH} levels deep; what lies deeper " \
           "is not read" in report.problems


def test_word_tables_nested_in_tables():
    import docx

    word = docx.Document()
    cell = word.add_table(rows=1, cols=1).rows[0].cells[0]
    for _ in range(40):
        cell = cell.add_table(rows=1, cols=1).rows[0].cells[0]
    cell.paragraphs[0].text = "本年新收政府信息公开申请数量"
    out = io.BytesIO()
    word.save(out)
    report = parsed(out.getvalue(), "nested.docx")
    assert report.status in STATUSES and report.cells == []
    assert any("nested more than" in p for p in report.problems), report.problems


@pytest.mark.parametrize("suffix", [".html", ".pdf", ".docx", ".xlsx", ".txt", ".doc"])
@given(data=st.binary(min_size=1, max_size=5000),
       head=st.sampled_from([b"", b"%PDF-1.7\n", b"PK\x03\x04", b"<html><body><table>",
                             b"\xef\xbb\xbf"]))
@fuzz(15)
def test_random_bytes_named_as_documents(suffix, data, head):
    report = parsed(head + data, f"random{suffix}")
    assert report.status in STATUSES
    assert not any("parser error" in p for p in report.problems), report.problems
    assert not [c for c in report.cells if c.value is not None]


# ------------------------------------------------------------------ zip bombs

def _bomb(kind: str, part: str, megabytes: int) -> bytes:
    """A real .docx/.xlsx whose `part` is replaced by `megabytes` MB of XML white space
    (deflate packs it about 1000:1)."""
    original_bytes = source(f"pingtan-2023.{kind}")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original_bytes)) as archive, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in archive.infolist():
            if item.filename != part:
                bomb.writestr(item, archive.read(item.filename))
                continue
            body = archive.read(part)
            with bomb.open(part, "w", force_zip64=True) as stream:
                head, tail = body[:body.index(b">", body.index(b"<w:body") if kind == "docx"
                                              else body.index(b"<sheetData")) + 1], \
                    body[body.index(b">", body.index(b"<w:body") if kind == "docx"
                                    else body.index(b"<sheetData")) + 1:]
                stream.write(head)
                chunk = b" " * 2**20
                for _ in range(megabytes):
                    stream.write(chunk)
                stream.write(tail)
    return out.getvalue()


@pytest.mark.parametrize("kind,part", [("docx", "word/document.xml"),
                                       ("xlsx", "xl/worksheets/sheet1.xml")])
def test_zip_bombs_are_refused(kind, part):
    bomb = _bomb(kind, part, 300)
    assert len(bomb) < 2 * 2**20
    report = parsed(bomb, f"bomb.{kind}")
    assert report.status == model.FAILED
    assert any("a zip bomb, not read" in p for p in report.problems), report.problems


def test_billion_laughs_in_a_word_document():
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)) + b"]>"
    original_bytes = source("pingtan-2023.docx")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original_bytes)) as archive, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as evil:
        for item in archive.infolist():
            body = archive.read(item.filename)
            if item.filename == "word/document.xml":
                body = laughs + body[body.index(b"<w:document"):].replace(
                    b"<w:t>", b"<w:t>&lol9;", 1)
            evil.writestr(item, body)
    report = parsed(out.getvalue(), "laughs.docx")
    assert report.status in STATUSES
    assert not any("parser error" in p for p in report.problems)
    assert "lol" * 1000 not in (report.text or "")


def test_a_cell_at_the_far_corner_of_a_sheet():
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(source("pingtan-2023.xlsx")))
    book.worksheets[0]["XFD1048576"] = "x"
    out = io.BytesIO()
    book.save(out)
    report = parsed(out.getvalue(), "far.xlsx")
    assert_sound(report, "pingtan-2023.xlsx")
    assert any("only the first 5000 rows and 200 columns are read" in p
               for p in report.problems)


def test_flipped_bytes_in_a_pdf_content_stream():
    import random

    name = "pingtan-2023.pdf"
    data = bytearray(source(name))
    rng = random.Random(3)
    for _ in range(20):
        data[rng.randrange(len(data))] ^= 0x80
    assert_sound(parsed(bytes(data), name), name)
