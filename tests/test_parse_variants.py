"""Realistic variants of real reports that the corpus does not hold: what other portals,
editors and text extraction make of the same tables. Each test asserts the CORRECT
outcome; inputs are built from the real corpus files so the expected cells come from
their hand-checked `.expected.json`.

Tests marked xfail(strict=True) fail today: the reason says what the parser does wrong.
A test that starts passing after a fix turns into an XPASS failure: remove its mark.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from functools import cache
from pathlib import Path

import pytest

from xxgk.parsers import parse_bytes
from xxgk.parsers.dispatch import read_document
from xxgk.parsers.render import render

from conftest import plain, printed_cells

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fixtures" / "corpus"
VARIANTS = ROOT / "fixtures" / "variants"

xfail = pytest.mark.xfail


# ---------------------------------------------------------------- helpers
@cache
def _expected(stem: str) -> dict:
    return json.loads((CORPUS / f"{stem}.expected.json").read_text(encoding="utf-8"))


def expected_cells(stem: str) -> dict:
    return dict(_expected(stem)["cells"])


@cache
def _raw(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@cache
def _doc_rows(name: str) -> tuple:
    """The corpus page as (kind, table, cells/text) tuples, in reading order."""
    data = _raw(name)
    if name.endswith(".html"):
        # Only the article itself (div.TRS_Editor), whatever container the parser picks
        # on the whole page: the variants add their own chrome.
        from selectolax.lexbor import LexborHTMLParser

        article = LexborHTMLParser(data.decode("utf-8")).css_first("div.TRS_Editor").html
        data = f'<html><body><div class="TRS_Editor">{article}</div></body></html>'.encode()
    doc = read_document(data, name=name)
    return tuple(("row", b.table, tuple(b.cells)) if b.cells is not None else ("text", None, b.text)
                 for b in doc.blocks), tuple(sorted(doc.meta.items()))


def doc_blocks(name: str) -> list:
    return [[kind, table, list(x) if kind == "row" else x] for kind, table, x in _doc_rows(name)[0]]


def doc_meta(name: str) -> dict:
    return dict(_doc_rows(name)[1])


def corpus_text(name: str, style: str) -> str:
    return render(read_document(_raw(name), name=name), style)


got_cells = printed_cells


def cell_diff(report, want: dict) -> dict:
    got = got_cells(report)
    wrong = {k: (got.get(k, "missing"), v) for k, v in want.items() if got.get(k, "missing") != v}
    extra = {k: (got[k], "not expected") for k in set(got) - set(want)}
    return {**wrong, **extra}


def assert_cells(report, want: dict) -> None:
    diff = cell_diff(report, want)
    assert not diff, f"{len(diff)} cells differ (got, expected): {dict(sorted(diff.items())[:12])}"


def parse_html(page: str, name: str = "variant.html", encoding: str = "utf-8"):
    return parse_bytes(page.encode(encoding), name=name)


def parse_text(text: str, name: str = "variant.txt"):
    return parse_bytes(text.encode("utf-8"), name=name)


def flagged(report, key: str) -> bool:
    """The parser said something is wrong about this cell (a problem or a failed or
    unevaluated check) - what a cell it cannot read must come with."""
    row = key.split(".")[1]
    col = key.split(".")[2]
    return bool(report.problems) or any(
        c.ok is not True and (c.scope in (row, col) or row in c.detail or col in c.detail)
        for c in report.checks)


def no_silent_wrong(report, want: dict) -> None:
    """Every cell either equals the expected value, or is absent/null while the parser
    reports a problem or failed check."""
    got = {c.key: c for c in report.cells if not c.derived}
    wrong = {}
    for key, value in want.items():
        cell = got.get(key)
        if cell is None or cell.value is None:
            if not flagged(report, key):
                wrong[key] = ("missing/null without a problem", value)
        elif plain(cell.value) != value:
            wrong[key] = (plain(cell.value), value)
    extra = {k: (plain(c.value), "not expected") for k, c in got.items()
             if k not in want and c.value is not None}
    wrong.update(extra)
    assert not wrong, f"{len(wrong)} silent wrong cells (got, expected): {dict(sorted(wrong.items())[:12])}"


# ---------------------------------------------------------------- HTML building
CHROME_TOP = (
    '<div class="header"><div class="logo">平潭综合实验区党工委管委会</div>'
    '<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>'
    '<li><a href="/zwgk/zfxxgk/">政府信息公开</a></li></ul></div>'
    '<div class="position">当前位置：首页 &gt; 政府信息公开 &gt; 政府信息公开年报</div>'
)
CHROME_BOTTOM = (
    '<div class="footer"><p>主办单位：平潭综合实验区党工委管委会办公室</p>'
    '<p>网站标识码：3590000001 闽ICP备12003436号</p></div>'
)


def table_html(rows: list[list[str]], *, td=lambda r, c, text: f"<td>{text}</td>") -> str:
    body = "".join("<tr>" + "".join(td(r, c, html_lib.escape(t)) for c, t in enumerate(row)) + "</tr>"
                   for r, row in enumerate(rows))
    return f'<table border="1" cellspacing="0" style="border-collapse:collapse"><tbody>{body}</tbody></table>'


def body_html(blocks: list, *, split=None, td=None) -> str:
    """Blocks (as doc_blocks gives them) as article HTML; `split(table, row_index, cells)`
    returning True starts a new <table> before that row."""
    out: list[str] = []
    rows: list[list[str]] = []
    current = None
    index = 0

    def close():
        nonlocal rows
        if rows:
            out.append(table_html(rows, td=td) if td else table_html(rows))
        rows = []

    for kind, table, x in blocks:
        if kind == "text":
            close()
            current = None
            out.append(f"<p>{html_lib.escape(x)}</p>")
            continue
        if table != current:
            close()
            current, index = table, 0
        elif split and split(table, index, x):
            close()
        rows.append(list(x))
        index += 1
    close()
    return "\n".join(out)


def page_html(body: str, *, title: str | None, pubdate: str | None = "2024-03-08 15:34",
              source: str | None = "平潭综合实验区管委会办公室", container: str = '<div class="TRS_Editor">',
              head_extra: str = "", charset: str | None = "utf-8", info_line: str | None = None) -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    if title:
        meta += f'<meta name="ArticleTitle" content="{html_lib.escape(title)}">'
    if pubdate:
        meta += f'<meta name="PubDate" content="{pubdate}">'
    if source:
        meta += f'<meta name="ContentSource" content="{html_lib.escape(source)}">'
    page_title = f"<title>{html_lib.escape(title)}_政府信息公开年报_平潭综合实验区党工委管委会</title>" if title else ""
    info = f'<div class="info">{info_line}</div>' if info_line else ""
    heading = f"<h1>{html_lib.escape(title)}</h1>" if title else ""
    return (f"<!DOCTYPE html><html><head>{meta}{head_extra}{page_title}</head><body>{CHROME_TOP}"
            f'<div class="article">{heading}{info}{container}{body}</div></div>{CHROME_BOTTOM}</body></html>')


T23 = "pingtan-2023.html"
T20 = "pingtan-2020.html"
TITLE23 = "平潭综合实验区2023年度政府信息公开工作年度报告"
TITLE20 = "平潭综合实验区2020年度政府信息公开工作年度报告"


def p23(blocks=None, **kw) -> str:
    kw.setdefault("title", TITLE23)
    return page_html(body_html(blocks if blocks is not None else doc_blocks(T23)), **kw)


def p20(blocks=None, **kw) -> str:
    kw.setdefault("title", TITLE20)
    kw.setdefault("pubdate", "2021-03-05 08:58")
    return page_html(body_html(blocks if blocks is not None else doc_blocks(T20)), **kw)


def map_values(blocks: list, fn, tables=(0, 1, 2)) -> list:
    """Apply fn to every value cell (digits) of the given tables."""
    out = []
    for kind, table, x in blocks:
        if kind == "row" and table in tables:
            x = [fn(c) if re.fullmatch(r"[\d.+-]+元?", c) else c for c in x]
        out.append([kind, table, x])
    return out


def t3_row_index(blocks: list, label_part: str) -> int:
    return next(i for i, (k, t, x) in enumerate(blocks) if k == "row" and t == 1
                and any(label_part in c for c in x))


# ================================================================ baseline sanity
def test_rebuilt_clean_page_reads_every_cell():
    """The harness itself: the corpus tables re-emitted as plain HTML read back exactly."""
    report = parse_html(p23())
    assert_cells(report, expected_cells("pingtan-2023"))
    assert (report.template_version, report.year, report.agency) == ("v2021", 2023, "平潭综合实验区")
    assert report.published_date == "2024-03-08"


def test_rebuilt_clean_v2019_page_reads_every_cell():
    report = parse_html(p20())
    assert_cells(report, expected_cells("pingtan-2020"))
    assert (report.template_version, report.year) == ("v2019", 2020)


# ================================================================ encodings and containers
def test_whole_real_page_in_gbk_declared_gb2312():
    """Most county portals still serve GB2312/GBK pages: the real page re-encoded."""
    page = _raw(T23).decode("utf-8").replace('<meta charset="utf-8"', '<meta charset="gb2312"')
    report = parse_bytes(page.encode("gb18030"), name="gbk.html")
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.title == TITLE23 and report.agency == "平潭综合实验区"


def test_gbk_page_without_any_charset_declaration():
    page = p23(charset=None)
    report = parse_bytes(page.encode("gb18030"), name="gbk.html")
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.year == 2023


@pytest.mark.parametrize("container", [
    '<div id="zoom">', '<div id="UCAP-CONTENT">', '<div id="Zoom" class="zoom">',
    '<div class="TRS_UEDITOR trs_paper_default trs_web">', '<div class="bt_content">', '<div class="article-con">',
    '<div class="zw">', '<div id="mainText">', '<div class="news_cont_d_wrap">'])
def test_article_containers_of_other_cms(container):
    """Hanweb (#zoom, bt_content), 开普云 (#UCAP-CONTENT), TRS 新编辑器 (TRS_UEDITOR) and
    plain article divs, inside chrome that also has a sidebar list of other reports."""
    sidebar = ('<div class="content"><ul class="list"><li><a href="/a.htm">平潭综合实验区2022年度政府信息公开工作年度报告</a>'
               '</li><li><a href="/b.htm">平潭综合实验区2021年度政府信息公开工作年度报告</a></li></ul></div>')
    page = p23(container=container, head_extra="").replace(CHROME_TOP, CHROME_TOP + sidebar)
    report = parse_html(page)
    assert_cells(report, expected_cells("pingtan-2023"))


# ================================================================ table shapes
def test_table3_header_and_body_in_separate_tables():
    """Editors often paste the header of table 3 as its own <table>, then the rows."""
    body = body_html(doc_blocks(T23), split=lambda t, i, x: t == 1 and i == 3)
    report = parse_html(page_html(body, title=TITLE23))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_every_table2_block_its_own_table():
    """Table 2 printed as four small tables, one per 第二十条 block (common in Word exports)."""
    body = body_html(doc_blocks(T23), split=lambda t, i, x: t == 0 and i > 0 and x[0].startswith("第二十条"))
    report = parse_html(page_html(body, title=TITLE23))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_table3_split_over_two_tables_mid_rows():
    """A page break in the source document: table 3 continues in a second <table>
    (sometimes repeating the header) after the （四） rows begin."""
    blocks = doc_blocks(T23)
    at = t3_row_index(blocks, "（四）无法提供")
    header = [b for b in blocks if b[0] == "row" and b[1] == 1][:3]
    blocks = blocks[:at] + [["text", None, "（续表）"]] + [[k, 1, x] for k, _, x in header] + blocks[at:]
    report = parse_html(page_html(body_html(blocks), title=TITLE23))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_shanghai_style_header_spans_differ_from_data_spans():
    """Shanghai 2019 style: the header's corner spans 3 grid columns, data labels span 2
    or 4, and some values span 2 columns: values go by their order, not their column."""
    def td(r, c, text):
        if c == 0 and not text.isdigit():
            return f'<td colspan="{2 + (r % 3)}">{text}</td>'
        if text.isdigit() and (r + c) % 4 == 0:
            return f'<td colspan="2">{text}</td>'
        return f"<td>{text}</td>"
    blocks = doc_blocks(T23)
    body = body_html(blocks, td=td)
    report = parse_html(page_html(body, title=TITLE23))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_real_rowspan_layout_of_table3_group_labels():
    """The group labels (三、本年度办理结果 / （三）不予公开 / （四）…) as real rowspans."""
    want = expected_cells("pingtan-2023")
    from xxgk.parsers import schema

    rows = ['<tr><td colspan="3" rowspan="3">（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>'
            '<td colspan="7">申请人情况</td></tr>',
            '<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td><td rowspan="2">总计</td></tr>',
            "<tr><td>商业企业</td><td>科研机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>"]
    spans = {"granted": ('<td rowspan="22">三、本年度办理结果</td>', None),
             "withheld_state_secret": (None, '<td rowspan="8">（三）不予公开</td>'),
             "unable_not_held": (None, '<td rowspan="3">（四）无法提供</td>'),
             "not_processed_petition": (None, '<td rowspan="5">（五）不予处理</td>'),
             "other_no_correction": (None, '<td rowspan="3">（六）其他处理</td>')}
    first = True
    for row in schema.T3_ROWS:
        if row.key == "other_handling":
            continue
        vals = "".join(f"<td>{want[f'table3.{row.key}.{c.key}']}</td>" for c in schema.T3_COLUMNS)
        outer, group = spans.get(row.key, (None, None))
        label = row.label.split("/")[-1].strip()
        if row.key in ("new_received", "carried_over_in", "carried_forward"):
            rows.append(f'<tr><td colspan="3">{label}</td>{vals}</tr>')
            continue
        cells = outer or ""
        first = False
        short = re.sub(r"^（[三四五六]）", "", label)
        if row.key in ("granted", "partially_granted", "outcome_total"):
            cells += f'<td colspan="2">{label}</td>'
        else:
            cells += (group or "") + f"<td>{short}</td>"
        rows.append(f"<tr>{cells}{vals}</tr>")
    assert not first
    blocks = doc_blocks(T23)
    start = t3_row_index(blocks, "（本列数据")
    end = max(i for i, b in enumerate(blocks) if b[0] == "row" and b[1] == 1)
    body = (body_html(blocks[:start]) + '<table border="1">' + "".join(rows) + "</table>"
            + body_html(blocks[end + 1:]))
    report = parse_html(page_html(body, title=TITLE23))
    assert_cells(report, want)


def test_values_printed_with_unit_jian():
    blocks = map_values(doc_blocks(T23), lambda c: c + "件", tables=(1,))
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_values_in_full_width_digits():
    fw = str.maketrans("0123456789.", "０１２３４５６７８９．")
    report = parse_html(p23(map_values(doc_blocks(T23), lambda c: c.translate(fw))))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_label_words_broken_by_br_and_p():
    """Word-exported cells break labels mid-word: 本年新<br>收…, 予以<p>公开</p>."""
    def td(r, c, text):
        if len(text) >= 4 and not text[0].isdigit():
            cut = len(text) // 2
            return f"<td><p>{text[:cut]}<br/>{text[cut:]}</p></td>" if c % 2 else \
                f"<td><p>{text[:cut]}</p><p>{text[cut:]}</p></td>"
        return f"<td>{text}</td>"
    report = parse_html(page_html(body_html(doc_blocks(T23), td=td), title=TITLE23))
    assert_cells(report, expected_cells("pingtan-2023"))


@pytest.mark.parametrize("blank", ["", "/", "—", "无", "－"])
def test_whole_blank_total_column_of_table3(blank):
    """Real reports leave every 总计 of table 3 blank: the totals are null (or derived and
    marked so), never a value shifted in from elsewhere."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 1 and sum(1 for c in b[2] if c.isdigit()) == 7:
            b[2][-1] = blank
    report = parse_html(p23(blocks))
    want = {k: v for k, v in expected_cells("pingtan-2023").items()
            if not (k.startswith("table3.") and k.endswith(".total"))}
    got = got_cells(report)
    assert {k: got.get(k) for k in want if got.get(k) != want[k]} == {}
    for cell in report.cells:
        if cell.key.startswith("table3.") and cell.key.endswith(".total"):
            assert cell.value is None or cell.derived, cell


@pytest.mark.parametrize("blank", ["/", "—", "无", "-"])
def test_null_marks_in_table2_are_null_not_zero(blank):
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 0 and b[2][0] == "规章":
            b[2][1:] = [blank] * 3
    report = parse_html(p23(blocks))
    want = expected_cells("pingtan-2023")
    for col in ("issued_this_year", "repealed_this_year", "in_force"):
        cell = report.cell(f"table2.regulations.{col}")
        assert cell is not None and cell.value is None and cell.raw == blank
        want.pop(f"table2.regulations.{col}")
    got = {k: v for k, v in got_cells(report).items() if not k.startswith("table2.regulations")}
    assert got == want


def test_v2021_other_handling_printed_as_one_row_in_html():
    """hongze-2023 prints （六）其他处理 as one row of a v2021 table; as an HTML page too."""
    blocks = doc_blocks(T23)
    at = t3_row_index(blocks, "1.申请人无正当理由")
    blocks[at:at + 3] = [["row", 1, ["（六）其他处理", "2", "0", "0", "0", "0", "0", "2"]]]
    report = parse_html(p23(blocks))
    want = {k: v for k, v in expected_cells("pingtan-2023").items()
            if not k.startswith(("table3.other_no_correction", "table3.other_fee_unpaid", "table3.other_misc"))}
    want.update({f"table3.other_handling.{c}": v for c, v in zip(
        ("natural_person", "org_commercial", "org_research", "org_public_interest", "org_legal_service",
         "org_other", "total"), (2, 0, 0, 0, 0, 0, 2), strict=True)})
    assert_cells(report, want)
    assert report.template_version == "v2021" and report.status == "ok"
    assert all(c.ok for c in report.checks)


def test_org_subtotal_column_with_its_header():
    """法人或其他组织 printed with a 小计 column after the five organisations."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 1:
            if b[2][:1] == ["商业企业"] or (b[2] and b[2][0].startswith("商业")):
                b[2].append("小计")
            nums = [c for c in b[2] if c.isdigit()]
            if len(nums) == 7:
                i = len(b[2]) - 1
                b[2].insert(i, str(sum(int(x) for x in nums[1:6])))
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))
    assert not [p for p in report.problems if "subtotal" in p]


def test_org_subtotal_column_first_among_organisations():
    """The 小计 printed right after 自然人, before the five organisations (Zhejiang style)."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 1:
            if b[2] and b[2][0].startswith("商业"):
                b[2].insert(0, "小计")
            nums = [c for c in b[2] if c.isdigit()]
            if len(nums) == 7:
                i = len(b[2]) - 6
                b[2].insert(i, str(sum(int(x) for x in nums[1:6])))
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_group_subtotal_rows_are_read_not_keyed():
    """（三）不予公开 / （四）无法提供 / （五）不予处理 printed as rows with their own sums."""
    blocks = doc_blocks(T23)
    want = expected_cells("pingtan-2023")
    from xxgk.parsers import schema
    for group, first in (("（三）不予公开", "1.属于国家秘密"), ("（四）无法提供", "1.本机关不掌握"),
                         ("（五）不予处理", "1.信访举报")):
        at = t3_row_index(blocks, first)
        gkey = {"（三）": "withheld", "（四）": "unable", "（五）": "not_processed"}[group[:3]]
        sums = [sum(want[f"table3.{r}.{c.key}"] for r in schema.T3_GROUPS[gkey]) for c in schema.T3_COLUMNS]
        blocks[at][2] = [c for c in blocks[at][2] if c != group]
        blocks.insert(at, ["row", 1, [group] + [str(s) for s in sums]])
    report = parse_html(p23(blocks))
    assert_cells(report, want)
    assert all(c.ok for c in report.checks)


def test_table3_only_report_reads_table3_and_says_the_rest_is_missing():
    """Some departments print only table 3 (no table 2, table 4 as prose)."""
    blocks = [b for b in doc_blocks(T23) if not (b[0] == "row" and b[1] in (0, 2))]
    report = parse_html(p23(blocks))
    want = {k: v for k, v in expected_cells("pingtan-2023").items() if k.startswith("table3.")}
    assert_cells(report, want)
    assert report.template_version == "v2021"
    assert report.status == "partial" and report.problems


def test_table4_printed_as_three_rows():
    """Table 4 laid out vertically: one row per procedure, five result columns."""
    want = expected_cells("pingtan-2023")
    cols = ("upheld", "corrected", "other", "pending", "total")
    rows = [["项目", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]]
    for key, label in (("review", "行政复议"), ("litigation_direct", "行政诉讼（未经复议直接起诉）"),
                       ("litigation_after_review", "行政诉讼（复议后起诉）")):
        rows.append([label] + [str(want[f"table4.{key}.{c}"]) for c in cols])
    blocks = [b for b in doc_blocks(T23) if not (b[0] == "row" and b[1] == 2)]
    at = next(i for i, b in enumerate(blocks) if b[0] == "text" and b[2].startswith("五、"))
    blocks[at:at] = [["row", 2, r] for r in rows]
    report = parse_html(p23(blocks))
    assert_cells(report, want)


def test_table4_transposed_results_as_rows():
    """Table 4 transposed: rows are 结果维持…总计, columns the three procedures. Either
    read right or flagged; never the values in the wrong keys."""
    want = expected_cells("pingtan-2023")
    cols = ("upheld", "corrected", "other", "pending", "total")
    labels = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
    rows = [["", "行政复议", "行政诉讼（未经复议直接起诉）", "行政诉讼（复议后起诉）"]]
    for col, label in zip(cols, labels, strict=True):
        rows.append([label] + [str(want[f"table4.{k}.{col}"])
                               for k in ("review", "litigation_direct", "litigation_after_review")])
    blocks = [b for b in doc_blocks(T23) if not (b[0] == "row" and b[1] == 2)]
    at = next(i for i, b in enumerate(blocks) if b[0] == "text" and b[2].startswith("五、"))
    blocks[at:at] = [["row", 2, r] for r in rows]
    no_silent_wrong(parse_html(p23(blocks)), want)


def test_note_rows_under_table3_and_table4():
    """注： rows inside the tables (a last row spanning all columns) with numbers in them."""
    blocks = doc_blocks(T23)
    end3 = max(i for i, b in enumerate(blocks) if b[0] == "row" and b[1] == 1)
    blocks.insert(end3 + 1, ["row", 1, ["注：本年度收到申请 81 件，办结 81 件，其中 2 件为其他处理。"]])
    end4 = max(i for i, b in enumerate(blocks) if b[0] == "row" and b[1] == 2)
    blocks.insert(end4 + 1, ["row", 2, ["备注：行政复议 2 件，行政诉讼 7 件。"]])
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_second_statistics_table_after_table4():
    """A second table of numbers (e.g. 政务新媒体 or per-department figures) after table 4,
    before section 五: table 4 keeps its own 15 values."""
    blocks = doc_blocks(T23)
    at = next(i for i, b in enumerate(blocks) if b[0] == "text" and b[2].startswith("五、"))
    extra = [["text", None, "附：各单位依申请公开情况统计表"],
             ["row", 3, ["单位", "收到申请", "办结", "行政复议", "行政诉讼"]],
             ["row", 3, ["实验区管委会办公室", "30", "30", "1", "3"]],
             ["row", 3, ["实验区自然资源局", "51", "51", "1", "4"]]]
    blocks[at:at] = extra
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


@pytest.mark.parametrize("typo,row", [
    ("（二）部份公开（区分处理的，只计这一情形，不计其他情形）", "partially_granted"),
    ("3.其它", "other_misc"),
    ("1.本机关不掌握相关政府信息", "unable_not_held"),
    ("4.保护第三方合法权利", "withheld_third_party"),
    ("一、本年新收政府信息公开申请数", "new_received"),
    ("二、上年结转政府信息公开申请", "carried_over_in"),
    ("四、结转下年度继续办理", "carried_forward"),
])
def test_common_label_variants_and_typos(typo, row):
    """部份/部分, 其它/其他 and clipped labels are everyday variants on real pages."""
    from xxgk.parsers import schema
    label = next(r.label for r in schema.T3_ROWS if r.key == row)
    blocks = doc_blocks(T23)
    key_word = {"partially_granted": "部分公开", "other_misc": "3.其他", "unable_not_held": "不掌握",
                "withheld_third_party": "第三方", "new_received": "本年新收", "carried_over_in": "上年结转",
                "carried_forward": "结转下年"}[row]
    at = t3_row_index(blocks, key_word)
    blocks[at][2] = [typo if key_word in c else c for c in blocks[at][2]]
    assert label
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_other_handling_typo_qita_in_v2019():
    """v2019 （六）其它处理 (其它 for 其他), a frequent spelling on real pages."""
    blocks = doc_blocks(T20)
    at = t3_row_index(blocks, "（六）其他处理")
    blocks[at][2][0] = "（六）其它处理"
    report = parse_html(p20(blocks))
    assert_cells(report, expected_cells("pingtan-2020"))


# ================================================================ metadata
def _without_intro(blocks: list) -> list:
    """The report without its 统计期限 introduction (many reports have none)."""
    return [b for b in blocks if not (b[0] == "text" and "统计期限" in b[2])]


def test_chinese_numeral_year_in_title_names_year_and_agency():
    """二〇二三年 in the title: year from the title, agency from the title (not the
    ContentSource office)."""
    title = "平潭综合实验区二〇二三年度政府信息公开工作年度报告"
    report = parse_html(p23(title=title))
    assert report.year == 2023
    assert report.agency == "平潭综合实验区"


def test_chinese_numeral_year_of_a_late_republished_report():
    """A 2022 report re-dated by a portal migration (page date 2024): only the title,
    in Chinese numerals, gives its year; the page date must not."""
    title = "平潭综合实验区二〇二二年度政府信息公开工作年度报告"
    report = parse_html(p23(_without_intro(doc_blocks(T23)), title=title, pubdate="2024-05-20 10:00"))
    assert report.year == 2022


@pytest.mark.parametrize("title", [
    "2023年度平潭综合实验区政府信息公开工作年度报告",
    "平潭综合实验区政府信息公开工作年度报告（2023年度）",
    "平潭综合实验区政府信息公开工作2023年度报告",
    "平潭综合实验区关于2023年度政府信息公开工作年度报告",
])
def test_title_forms_give_year_and_agency(title):
    report = parse_html(p23(title=title, source=None))
    assert (report.year, report.agency) == (2023, "平潭综合实验区")
    assert_cells(report, expected_cells("pingtan-2023"))


def test_title_as_a_report_on_the_work():
    """"…关于2023年政府信息公开工作情况的报告" (a 报告 to the superior): still the annual report."""
    title = "平潭综合实验区管委会关于2023年政府信息公开工作情况的报告"
    report = parse_html(p23(title=title))
    assert report.year == 2023 and report.template_version == "v2021"
    assert_cells(report, expected_cells("pingtan-2023"))


@pytest.mark.parametrize("line", [
    "发布时间：2024-03-08 15:34:00",
    "发布日期：2024年03月08日",
    "时间：2024/03/08 来源：平潭综合实验区管委会办公室",
    "信息来源：平潭综合实验区管委会办公室 发布时间：2024-03-08",
    "【发布日期：2024-03-08】【字体：大 中 小】",
])
def test_publication_date_from_the_info_line(line):
    report = parse_html(p23(pubdate=None, info_line=line))
    assert report.published_date == "2024-03-08"


def test_publication_date_from_a_hanweb_metadata_table():
    """Hanweb / 江苏 / 浙江 pages: 索引号, 发布机构, 发文日期 in a table above the article,
    labels in one cell and values in the next, no colon."""
    meta = ('<table class="xxgk_table"><tr><td>索 引 号</td><td>014416330/2024-04736</td>'
            "<td>分 类</td><td>政府信息公开年报</td></tr><tr><td>发布机构</td><td>平潭综合实验区管委会办公室</td>"
            "<td>发文日期</td><td>2024-03-08</td></tr><tr><td>文 号</td><td></td><td>有 效 性</td><td>有效</td></tr></table>")
    report = parse_html(p23(pubdate=None, info_line=meta))
    assert report.published_date == "2024-03-08"
    assert_cells(report, expected_cells("pingtan-2023"))


def test_signature_block_with_digit_date():
    blocks = doc_blocks(T23) + [["text", None, "平潭综合实验区管委会办公室"], ["text", None, "2024年3月8日"]]
    report = parse_html(p23(blocks, pubdate=None, title=None, source=None))
    assert report.published_date == "2024-03-08"


def test_signature_block_with_chinese_numeral_date():
    """Word-drafted reports sign off 二〇二四年三月八日."""
    blocks = doc_blocks(T23) + [["text", None, "平潭综合实验区管委会办公室"], ["text", None, "二〇二四年三月八日"]]
    report = parse_html(p23(blocks, pubdate=None, source=None))
    assert report.published_date == "2024-03-08"


def test_signature_with_spaced_date_and_agency():
    blocks = doc_blocks(T23) + [["text", None, "平潭综合实验区管委会办公室"], ["text", None, "2024 年 3 月 8 日"]]
    report = parse_html(p23(blocks, pubdate=None, source=None))
    assert report.published_date == "2024-03-08"


def test_labels_win_over_the_year_v2019_table_in_a_2021_report():
    """A 2021 report that still used the 2019 form: v2019 by labels, flagged."""
    title = "平潭综合实验区2021年度政府信息公开工作年度报告"
    report = parse_html(p20(title=title, pubdate="2022-01-20 09:00"))
    assert report.template_version == "v2019" and report.year == 2021
    assert any("v2019" in p for p in report.problems)
    assert_cells(report, expected_cells("pingtan-2020"))


# ================================================================ text renderings
def text_from_blocks(blocks: list, *, meta: dict | None = None, row=lambda cells: " | ".join(cells) + " |") -> str:
    lines = []
    if meta:
        lines.append(meta["title"])
        lines.append(f"日期: {meta['pubdate']} 来源: {meta.get('source', '')}")
    for kind, _, x in blocks:
        lines.append(x if kind == "text" else row(x))
    return "\n".join(lines) + "\n"


META23 = {"title": TITLE23, "pubdate": "2024-03-08 15:34", "source": "平潭综合实验区管委会办公室"}
META20 = {"title": TITLE20, "pubdate": "2021-03-05 08:58", "source": "平潭县人民政府"}


def check_text(text: str, stem: str, *, year: int) -> None:
    report = parse_text(text)
    assert_cells(report, expected_cells(stem))
    assert report.year == year


def test_tab_separated_browser_copy():
    """A table copied out of a browser into a text file: cells separated by tabs."""
    text = text_from_blocks(doc_blocks(T23), meta=META23, row="\t".join)
    check_text(text, "pingtan-2023", year=2023)


def test_tab_separated_browser_copy_v2019():
    text = text_from_blocks(doc_blocks(T20), meta=META20, row="\t".join)
    check_text(text, "pingtan-2020", year=2020)


def test_every_cell_on_its_own_line_without_pipes():
    """get_text("\\n") / a copy from some browsers: each cell a line of its own, no separators."""
    blocks = doc_blocks(T23)
    lines = [META23["title"], "日期: 2024-03-08"]
    for kind, _, x in blocks:
        lines += [x] if kind == "text" else list(x)
    check_text("\n".join(lines) + "\n", "pingtan-2023", year=2023)


def test_row_label_and_numbers_on_one_line_separated_by_spaces():
    """get_text(" ") per row, or PDF text: "一、本年新收… 80 1 0 0 0 0 81"."""
    text = text_from_blocks(doc_blocks(T23), meta=META23, row=" ".join)
    check_text(text, "pingtan-2023", year=2023)


def test_row_label_and_numbers_on_one_line_v2019():
    text = text_from_blocks(doc_blocks(T20), meta=META20, row=" ".join)
    check_text(text, "pingtan-2020", year=2020)


def test_space_separated_row_with_blank_total_is_not_shifted():
    """A blank 总计 is simply gone in space-separated text: six numbers, not seven. The
    row must not be read as seven columns from elsewhere."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 1 and sum(1 for c in b[2] if c.isdigit()) == 7:
            b[2][-1] = ""
    text = text_from_blocks(blocks, meta=META23, row=lambda cells: " ".join(c for c in cells if c))
    want = {k: v for k, v in expected_cells("pingtan-2023").items() if not (k.startswith("table3.") and k.endswith(".total"))}
    report = parse_text(text)
    got = got_cells(report)
    assert {k for k in want if got.get(k) != want[k]} == set() or report.problems
    for cell in report.cells:
        if cell.key.startswith("table3.") and cell.key.endswith(".total"):
            assert cell.value is None or cell.derived, cell
    no_silent_wrong(report, {**want, **{k: None for k in ()}})


def test_markdown_with_alignment_rules():
    md = corpus_text(T23, "markdown")
    md = re.sub(r"^\|(---\|)+$", lambda m: "|" + ":---|" + ":---:|" * (m.group(0).count("|") - 2), md, flags=re.M)
    assert ":---:" in md
    check_text(md, "pingtan-2023", year=2023)


def test_markdown_with_spaced_rules_and_br_in_cells():
    """markdownify / pandoc output: `| --- | --- |` rules and <br> inside cells."""
    md = corpus_text(T23, "markdown")
    md = re.sub(r"^\|(---\|)+$", lambda m: "| " + " | ".join(["---"] * (m.group(0).count("|") - 1)) + " |", md,
                flags=re.M)
    md = md.replace("商业 企业", "商业<br>企业").replace("（二）部分公开（", "（二）部分公开<br>（")
    md = md.replace("一、本年新收政府信息公开申请数量", "一、本年新收<br>政府信息公开申请数量")
    check_text(md, "pingtan-2023", year=2023)


def test_full_width_pipes():
    text = corpus_text(T23, "pipe").replace("|", "｜")
    check_text(text, "pingtan-2023", year=2023)


def test_pipe_text_with_jian_units_and_full_width_digits():
    fw = str.maketrans("0123456789", "０１２３４５６７８９")
    text = text_from_blocks(map_values(doc_blocks(T23), lambda c: c.translate(fw) + "件", tables=(1,)), meta=META23)
    check_text(text, "pingtan-2023", year=2023)


def test_pipe_text_with_a_hanweb_metadata_table_on_top():
    """Text extracted from a Hanweb page starts with the 索引号/发布机构/发文日期 table."""
    body = text_from_blocks(doc_blocks(T23))
    head = ("索 引 号 | 014416330/2024-04736 | 分 类 | 政府信息公开年报 |\n"
            "发布机构 | 平潭综合实验区管委会办公室 | 发文日期 | 2024-03-08 |\n"
            "文 号 | | 有 效 性 | 有效 |\n" + TITLE23 + "\n")
    report = parse_text(head + body)
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.published_date == "2024-03-08"
    assert report.year == 2023


def test_seed_text_with_chinese_numeral_title():
    seed = (CORPUS / "xihe-minzheng-2020.txt").read_text(encoding="utf-8")
    text = "阜新市细河区民政局二〇二〇年政府信息公开工作年度报告\n" + seed
    report = parse_text(text)
    assert_cells(report, expected_cells("xihe-minzheng-2020"))
    assert report.year == 2020 and report.agency == "阜新市细河区民政局"


def test_seed_text_with_signature_chinese_numeral_date():
    seed = (CORPUS / "xihe-minzheng-2020.txt").read_text(encoding="utf-8")
    lines = [ln if ln != "2021年1月7日" else "二〇二一年一月七日" for ln in seed.splitlines()
             if not ln.startswith("日期")]
    report = parse_text("\n".join(lines) + "\n")
    assert report.published_date == "2021-01-07"
    assert report.agency == "阜新市细河区民政局"


def test_seed_text_tab_separated():
    seed = (CORPUS / "xihe-minzheng-2020.txt").read_text(encoding="utf-8")
    text = "\n".join("\t".join(c.strip() for c in ln.split("|")).rstrip("\t") if "|" in ln else ln
                     for ln in seed.splitlines())
    report = parse_text(text)
    assert_cells(report, expected_cells("xihe-minzheng-2020"))


# ================================================================ PDF text extraction
@xfail(strict=True, reason="pdftotext -layout: values printed above a wrapped label are not attached to it; 42 table 3 cells missing")
def test_pdftotext_layout_text_reads_every_cell():
    """pdftotext -layout style text of hongze-2023.pdf (pdfplumber layout=True, blank
    lines dropped): wrapped labels put some rows' values before their labels."""
    report = parse_bytes((VARIANTS / "hongze-2023.pdftotext-layout.txt").read_bytes(), name="hongze.txt")
    assert_cells(report, expected_cells("hongze-2023"))


def test_pdftotext_layout_text_never_silently_wrong():
    report = parse_bytes((VARIANTS / "hongze-2023.pdftotext-layout.txt").read_bytes(), name="hongze.txt")
    no_silent_wrong(report, expected_cells("hongze-2023"))
    assert report.year == 2023 and report.agency == "淮安市洪泽区人民政府"


def test_pdf_simple_text_never_silently_wrong():
    """pdfplumber's plain extract_text(): rows interleave with wrapped labels."""
    report = parse_bytes((VARIANTS / "hongze-2023.pdfplumber-simple.txt").read_bytes(), name="hongze.txt")
    no_silent_wrong(report, expected_cells("hongze-2023"))


# ================================================================ Word (.docx) with real merges
def _t3_grid(want: dict) -> tuple[list[list[str]], list[tuple[int, int, int, int]]]:
    """Table 3 as the national template lays it out: 3 label columns + 7 value columns,
    with its merged cells (r0, c0, r1, c1)."""
    from xxgk.parsers import schema

    grid = [["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "", "", "申请人情况"] + [""] * 6,
            ["", "", "", "自然人", "法人或其他组织", "", "", "", "", "总计"],
            ["", "", "", "", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", ""]]
    merges = [(0, 0, 2, 2), (0, 3, 0, 9), (1, 3, 2, 3), (1, 4, 1, 8), (1, 9, 2, 9)]
    groups = {"withheld": "（三）不予公开", "unable": "（四）无法提供", "not_processed": "（五）不予处理",
              "other": "（六）其他处理"}
    rows = [r for r in schema.T3_ROWS if f"table3.{r.key}.total" in want]
    start_outcome = len(grid)
    group_start: dict[str, int] = {}
    for row in rows:
        values = [str(want[f"table3.{row.key}.{c.key}"]) for c in schema.T3_COLUMNS]
        r = len(grid)
        label = re.sub(r"^（[三四五六]）", "", row.label)
        group = next((g for g in groups if row.key.startswith(g + "_") and row.key != "other_handling"), None)
        if row.key in ("new_received", "carried_over_in", "carried_forward"):
            grid.append([row.label, "", ""] + values)
            merges.append((r, 0, r, 2))
        elif group is None:
            grid.append(["三、本年度办理结果", row.label, ""] + values)
            merges.append((r, 1, r, 2))
        else:
            group_start.setdefault(group, r)
            grid.append(["三、本年度办理结果", groups[group], label] + values)
    end_outcome = next(i for i, g in enumerate(grid) if g[0].startswith("四、")) - 1
    merges.append((start_outcome + 2, 0, end_outcome, 0))
    for group, r0 in group_start.items():
        r1 = max(i for i, g in enumerate(grid) if g[1] == groups[group])
        merges.append((r0, 1, r1, 1))
    return grid, merges


def _t4_grid(want: dict):
    cols = ("upheld", "corrected", "other", "pending", "total")
    head = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    grid = [["行政复议"] + [""] * 4 + ["行政诉讼"] + [""] * 9,
            head + ["未经复议直接起诉"] + [""] * 4 + ["复议后起诉"] + [""] * 4,
            [""] * 5 + head * 2,
            [str(want[f"table4.{k}.{c}"]) for k in ("review", "litigation_direct", "litigation_after_review")
             for c in cols]]
    merges = [(0, 0, 0, 4), (0, 5, 0, 14), (1, 5, 1, 9), (1, 10, 1, 14)] + [(1, c, 2, c) for c in range(5)]
    return grid, merges


def _docx_report(stem: str, blocks: list, *, title: str, signature: tuple[str, str] | None = None) -> bytes:
    import io

    import docx

    want = expected_cells(stem)
    document = docx.Document()
    for line in title.split("\n"):
        document.add_paragraph(line)

    def add_table(grid, merges):
        table = document.add_table(rows=len(grid), cols=len(grid[0]))
        table.style = "Table Grid"
        cells = [list(row.cells) for row in table.rows]  # table.cell() rebuilds the grid per call
        for r, row in enumerate(grid):
            for c, text in enumerate(row):
                if text:
                    cells[r][c].text = text
        for r0, c0, r1, c1 in merges:
            keep = cells[r0][c0].text
            merged = cells[r0][c0].merge(cells[r1][c1])
            merged.text = keep

    done = set()
    for kind, table, x in blocks:
        if kind == "text":
            document.add_paragraph(x)
        elif table == 1 and 1 not in done:
            add_table(*_t3_grid(want))
            done.add(1)
        elif table == 2 and 2 not in done:
            add_table(*_t4_grid(want))
            done.add(2)
        elif table == 0 and 0 not in done:
            rows = [list(b[2]) for b in blocks if b[0] == "row" and b[1] == 0]
            width = max(len(r) for r in rows)
            grid = [r + [""] * (width - len(r)) for r in rows]
            add_table(grid, [(i, 0, i, width - 1) for i, r in enumerate(rows) if len(r) == 1])
            done.add(0)
    if signature:
        for line in signature:
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_word_report_with_template_merges():
    data = _docx_report("pingtan-2023", doc_blocks(T23), title=TITLE23,
                        signature=("平潭综合实验区管委会办公室", "2024年3月8日"))
    report = parse_bytes(data, name="report.docx")
    assert_cells(report, expected_cells("pingtan-2023"))
    assert (report.template_version, report.year, report.agency) == ("v2021", 2023, "平潭综合实验区")
    assert report.published_date == "2024-03-08"


def test_word_report_v2019_with_template_merges():
    data = _docx_report("pingtan-2020", doc_blocks(T20), title=TITLE20)
    report = parse_bytes(data, name="report.docx")
    want = expected_cells("pingtan-2020")
    assert_cells(report, want)
    assert report.template_version == "v2019"


def test_word_report_title_over_two_paragraphs_and_chinese_date():
    """Word reports put the agency and the title on two lines and sign off in Chinese numerals."""
    data = _docx_report("pingtan-2023", doc_blocks(T23), title="平潭综合实验区\n2023年度政府信息公开工作年度报告",
                        signature=("平潭综合实验区管委会办公室", "二〇二四年三月八日"))
    report = parse_bytes(data, name="report.docx")
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.year == 2023 and report.agency == "平潭综合实验区"
    assert report.published_date == "2024-03-08"


# ================================================================ values as printed
@pytest.mark.parametrize("minus", [
    "\u2212", "\u2013", "－"])
def test_negative_change_with_typographic_minus(minus):
    """Word autocorrects "-18" to a minus sign or an en dash; NFKC leaves U+2212 and U+2013."""
    blocks = map_values(doc_blocks(T20), lambda c: c.replace("-", minus), tables=(0,))
    report = parse_html(p20(blocks))
    assert_cells(report, expected_cells("pingtan-2020"))


def test_thousands_separators_in_values():
    blocks = map_values(doc_blocks(T23), lambda c: f"{int(c):,}" if c.isdigit() else c, tables=(0,))
    assert any("2,629" in b[2] for b in blocks if b[0] == "row")
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_procurement_amount_under_a_wan_yuan_header():
    blocks = doc_blocks(T20)
    for b in blocks:
        if b[0] == "row" and b[2][1:] == ["采购项目数量", "采购总金额"]:
            b[2][2] = "采购总金额（万元）"
        if b[0] == "row" and b[2][0] == "政府集中采购":
            b[2][2] = "7380.28959"
    report = parse_html(p20(blocks))
    assert_cells(report, expected_cells("pingtan-2020"))


def test_procurement_amount_under_a_yuan_header():
    blocks = doc_blocks(T20)
    for b in blocks:
        if b[0] == "row" and b[2][1:] == ["采购项目数量", "采购总金额"]:
            b[2][2] = "采购总金额（元）"
        if b[0] == "row" and b[2][0] == "政府集中采购":
            b[2][2] = "73802895.90"
    report = parse_html(p20(blocks))
    assert_cells(report, expected_cells("pingtan-2020"))


def test_procurement_amount_with_wan_unit_only():
    """"7380.28959万" (万 without 元) in the cell."""
    blocks = doc_blocks(T20)
    for b in blocks:
        if b[0] == "row" and b[2][0] == "政府集中采购":
            b[2][2] = "7380.28959万"
    report = parse_html(p20(blocks))
    assert_cells(report, expected_cells("pingtan-2020"))


def test_fee_amount_under_a_yuan_header_v2021():
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[2][:1] == ["信息内容"] and "本年收费金额" in b[2][1]:
            b[2][1] = "本年收费金额（单位：元）"
        if b[0] == "row" and b[2][0] == "行政事业性收费":
            b[2][1] = "59490886.67"
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_counts_with_notes_in_chinese_brackets():
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[2][0] == "行政许可":
            b[2][1] = "2629（含承诺制审批）"
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.cell("table2.admin_licensing.decisions").note == "含承诺制审批"


# ================================================================ classification
def test_notice_about_compiling_the_annual_report_is_not_a_report():
    """The annual-report column also carries 通知 about compiling the reports; their titles
    name the report and a year, but they hold no report."""
    title = "平潭综合实验区管委会办公室关于做好2023年度政府信息公开工作年度报告编制和发布工作的通知"
    body = ("<p>各片区管理局，区直各部门：</p><p>根据《中华人民共和国政府信息公开条例》规定，现就做好2023年度"
            "政府信息公开工作年度报告编制和发布工作通知如下：</p><p>一、各单位应于2024年1月31日前在门户网站公布本单位"
            "2023年度政府信息公开工作年度报告。</p><p>二、年度报告应按照国办公开办函〔2021〕30号格式编制。</p>"
            "<p>平潭综合实验区管委会办公室</p><p>2023年12月20日</p>")
    report = parse_html(page_html(body, title=title, pubdate="2023-12-20 10:00"))
    assert report.template_version == "not_a_report" and report.cells == []


def test_overview_subheading_named_like_the_table2_heading():
    """Overview sub-headings that repeat a section's name ("（一）主动公开政府信息情况")
    must not swallow the table that follows the real heading."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "text" and b[2] == "（一）主动公开方面":
            b[2] = "（一）主动公开政府信息情况"
    assert any(b[2] == "（一）主动公开政府信息情况" for b in blocks)
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_tables_with_their_heading_inside_the_table():
    """Word exports put "二、主动公开政府信息情况" as the first (merged) row of the table."""
    blocks = doc_blocks(T23)
    out = []
    for i, b in enumerate(blocks):
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if b[0] == "text" and re.match(r"^[二三四]、", b[2]) and nxt and nxt[0] == "row":
            out.append(["row", nxt[1], [b[2]]])
            continue
        out.append(b)
    report = parse_html(p23(out))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_tables_without_any_headings():
    blocks = [b for b in doc_blocks(T23) if not (b[0] == "text" and re.match(r"^[二三四]、", b[2]))]
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_table4_heading_in_its_long_form():
    """"四、因政府信息公开工作被申请行政复议、提起行政诉讼情况" (Shanghai and others)."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "text" and b[2].startswith("四、政府信息公开行政复议"):
            b[2] = "四、因政府信息公开工作被申请行政复议、提起行政诉讼情况"
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


# ================================================================ page metadata
def test_info_line_date_not_taken_from_a_sidebar_before_the_article():
    """A left column listing other items with their dates precedes the article in the DOM."""
    sidebar = ('<div class="left"><h3>最新信息</h3><ul><li><a href="/x.htm">关于开展安全生产检查的通知</a>'
               "<span>更新时间：2024-05-06</span></li></ul></div>")
    page = p23(pubdate=None, info_line="发布时间：2024-03-08 来源：平潭综合实验区管委会办公室")
    page = page.replace(CHROME_TOP, CHROME_TOP + sidebar)
    report = parse_html(page)
    assert report.published_date == "2024-03-08"


def test_title_from_h1_when_meta_and_title_tag_are_generic():
    """No ArticleTitle meta; <title> is the site name; the title is the article's <h1>."""
    page = p23(title=None, pubdate=None)
    page = page.replace('<div class="article">', f'<div class="article"><h1 class="title">{TITLE23}</h1>'
                        '<div class="info">发布日期：2024-03-08</div>')
    page = page.replace("<head>", "<head><title>平潭综合实验区党工委管委会</title>")
    report = parse_html(page)
    assert report.title == TITLE23
    assert (report.year, report.agency, report.published_date) == (2023, "平潭综合实验区", "2024-03-08")


def test_title_tag_with_site_name_after_a_plain_hyphen():
    page = p23(title=None).replace("<head>", f"<head><title>{TITLE23}-平潭综合实验区党工委管委会</title>")
    report = parse_html(page)
    assert report.title == TITLE23
    assert report.agency == "平潭综合实验区"


# ================================================================ more text shapes
def test_pipe_rows_with_leading_pipe_but_no_markdown_rule():
    """html2text-like output: every row "| a | b |", no |---| rule line."""
    text = text_from_blocks(doc_blocks(T23), meta=META23, row=lambda cells: "| " + " | ".join(cells) + " |")
    check_text(text, "pingtan-2023", year=2023)


def test_table4_numbers_on_the_header_line():
    """Table 4 as one line of text: its headers followed by the fifteen numbers."""
    blocks = doc_blocks(T23)
    rows4 = [b for b in blocks if b[0] == "row" and b[1] == 2]
    line = " ".join(" ".join(b[2]) for b in rows4)
    at = blocks.index(rows4[0])
    blocks = [b for b in blocks if b not in rows4]
    blocks.insert(at, ["text", None, line])
    text = text_from_blocks(blocks, meta=META23)
    check_text(text, "pingtan-2023", year=2023)


def _wrapped(blocks: list, *, values_on: str) -> str:
    """PDF text: a label cell longer than 16 characters wraps after 14; the row's numbers
    stand on the first (`values_on="first"`) or the last line of the label."""
    lines = [META23["title"], "日期: 2024-03-08"]
    for kind, _, x in blocks:
        if kind == "text":
            lines.append(x)
            continue
        labels = [c for c in x if not re.fullmatch(r"[\d.]+", c)]
        nums = " ".join(c for c in x if re.fullmatch(r"[\d.]+", c))
        if not nums or not labels or len(labels[-1]) <= 16:
            lines.append(" ".join(x))
            continue
        first = " ".join(labels[:-1] + [labels[-1][:14]])
        tail = labels[-1][14:]
        lines += [first + " " + nums, tail] if values_on == "first" else [first, tail + " " + nums]
    return "\n".join(lines) + "\n"


def test_pdf_text_labels_wrapped_numbers_on_first_line():
    check_text(_wrapped(doc_blocks(T23), values_on="first"), "pingtan-2023", year=2023)


def test_pdf_text_labels_wrapped_numbers_on_last_line():
    check_text(_wrapped(doc_blocks(T23), values_on="last"), "pingtan-2023", year=2023)


def test_pdf_text_labels_wrapped_never_silently_wrong():
    for values_on in ("first", "last"):
        no_silent_wrong(parse_text(_wrapped(doc_blocks(T23), values_on=values_on)), expected_cells("pingtan-2023"))


# ================================================================ text files as researchers hold them
SEED = "xihe-minzheng-2020.txt"


def seed_text() -> str:
    return (CORPUS / SEED).read_text(encoding="utf-8")


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-16"])
def test_seed_text_in_windows_encodings_with_crlf(encoding):
    """Text saved by Windows tools: GBK, UTF-8 with BOM or UTF-16 (Notepad "Unicode"), CRLF."""
    data = seed_text().replace("\n", "\r\n").encode(encoding)
    report = parse_bytes(data, name="seed.txt")
    assert_cells(report, expected_cells("xihe-minzheng-2020"))
    assert report.agency == "阜新市细河区民政局" and report.published_date == "2021-01-08"


def test_pingtan_pipe_text_in_gbk():
    report = parse_bytes(corpus_text(T23, "pipe").encode("gb18030"), name="p.txt")
    assert_cells(report, expected_cells("pingtan-2023"))


def test_text_with_page_breadcrumb_before_the_title():
    """Text extracted from a whole page starts with the breadcrumb, which names the column
    (政府信息公开年报) but is not the title."""
    body = text_from_blocks(doc_blocks(T23))
    head = ("当前位置：首页 > 政府信息公开 > 政府信息公开年报\n" + TITLE23 + "\n"
            "发布时间：2024-03-08 15:34 来源：平潭综合实验区管委会办公室\n")
    report = parse_text(head + body)
    assert report.title == TITLE23
    assert (report.year, report.agency, report.published_date) == (2023, "平潭综合实验区", "2024-03-08")


def test_generic_title_agency_from_the_signature():
    """Department sites title the page "2023年政府信息公开工作年度报告"; the agency signs."""
    blocks = doc_blocks(T23) + [["text", None, "平潭综合实验区财政金融局"], ["text", None, "2024年1月20日"]]
    report = parse_html(p23(blocks, title="2023年政府信息公开工作年度报告", source=None, pubdate=None))
    assert report.agency == "平潭综合实验区财政金融局"
    assert report.published_date == "2024-01-20" and report.year == 2023


def test_generic_title_with_year_in_brackets_agency_from_the_signature():
    blocks = doc_blocks(T23) + [["text", None, "平潭综合实验区财政金融局"], ["text", None, "2024年1月20日"]]
    report = parse_html(p23(blocks, title="政府信息公开工作年度报告（2023年）", source=None, pubdate=None))
    assert report.year == 2023
    assert report.agency == "平潭综合实验区财政金融局"


def test_table4_value_row_opening_with_a_label_cell():
    """The data row of table 4 opens with a label cell (件数 / 数量)."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 2 and all(c.isdigit() for c in b[2]):
            b[2].insert(0, "件数")
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_one_cell_per_line_with_wrapped_long_labels():
    """PDF text with each cell on its own line, long labels wrapped over two lines."""
    lines = [TITLE23, "日期: 2024-03-08"]
    for kind, _, x in doc_blocks(T23):
        if kind == "text":
            lines.append(x)
            continue
        for cell in x:
            lines += [cell[:14], cell[14:]] if len(cell) > 16 else [cell]
    check_text("\n".join(lines) + "\n", "pingtan-2023", year=2023)


def test_table3_with_one_org_column_reads_natural_person_and_total():
    """Simplified table 3: 自然人 | 法人或其他组织 | 总计 (the five organisations not broken
    down). 自然人 and 总计 are determinable; the five organisation cells are not."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 1:
            nums = [c for c in b[2] if c.isdigit()]
            if len(nums) == 7:
                labels = [c for c in b[2] if not c.isdigit()]
                b[2] = labels + [nums[0], str(sum(int(n) for n in nums[1:6])), nums[6]]
            elif b[2] and b[2][0].startswith("商业"):
                b[2] = []
    blocks = [b for b in blocks if not (b[0] == "row" and not b[2])]
    report = parse_html(p23(blocks))
    want = expected_cells("pingtan-2023")
    got = got_cells(report)
    t3 = {k: v for k, v in want.items() if k.startswith("table3.") and k.endswith((".natural_person", ".total"))}
    assert {k: got.get(k, "missing") for k in t3 if got.get(k, "missing") != t3[k]} == {}
    for key, cell in ((c.key, c) for c in report.cells):
        if key.startswith("table3.") and ".org_" in key:
            assert cell.value is None
    assert report.problems


def test_cells_on_lines_of_their_own_separated_by_lone_pipes():
    """Seen on real extracted pages (e.g. a 2019 安康 report): every cell on its own line,
    each followed by a line holding only "|", row ends not marked at all."""
    lines = [TITLE20, "时间:2021-03-05 08:58"]
    for kind, _, x in doc_blocks(T20):
        if kind == "text":
            lines.append(x)
        else:
            for cell in x:
                lines += [cell, "|"]
    check_text("\n".join(lines) + "\n", "pingtan-2020", year=2020)


def test_cells_on_lines_of_their_own_separated_by_lone_pipes_v2021():
    lines = [TITLE23, "时间:2024-03-08 15:34"]
    for kind, _, x in doc_blocks(T23):
        if kind == "text":
            lines.append(x)
        else:
            for cell in x:
                lines += [cell, "|"]
    check_text("\n".join(lines) + "\n", "pingtan-2023", year=2023)


def test_procurement_amount_in_wan_yuan_cell():
    """"160.5964万元" printed in the cell (安康 2019)."""
    blocks = doc_blocks(T20)
    for b in blocks:
        if b[0] == "row" and b[2][0] == "政府集中采购":
            b[2][2] = "7380.28959万元"
    report = parse_html(p20(blocks))
    assert_cells(report, expected_cells("pingtan-2020"))


def test_bulleted_metadata_list_and_document_number_before_the_title():
    """福建 district pages: "• 发布机构:… • 公文生成日期:…", then 时间:, then the 文号 and the
    title repeated in the body."""
    head = ("• 索 引 号:XM02100-0101-2024-00001\n• 备注/文号:岚综管办〔2024〕1号\n"
            "• 发布机构:平潭综合实验区管委会办公室\n• 公文生成日期:2024-03-05\n"
            f"{TITLE23}\n时间:2024-03-08 10:25\n岚综管办〔2024〕1号\n{TITLE23}\n")
    report = parse_text(head + text_from_blocks(doc_blocks(T23)))
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.title == TITLE23
    assert (report.year, report.agency) == (2023, "平潭综合实验区")
    assert report.published_date in ("2024-03-08", "2024-03-05")


def test_generic_title_after_a_column_name_line():
    """Text of a department page: the column name ("政府信息公开") on the line above a title
    that opens with its year; the agency is in the 来源 line."""
    head = "政府信息公开\n2023年政府信息公开工作年度报告\n来源:平潭综合实验区财政金融局 时间:2024-01-20 10:01\n"
    report = parse_text(head + text_from_blocks(doc_blocks(T23)))
    assert report.year == 2023
    assert report.agency == "平潭综合实验区财政金融局"
    assert report.title == "2023年政府信息公开工作年度报告"


# ================================================================ PDF from Word, fault attribution
def test_pdf_from_word_with_borderless_tables():
    """A Word report whose tables have no ruling lines, printed to PDF by LibreOffice
    (prose shortened to keep the file small): tables must be read from the text layout."""
    report = parse_bytes((VARIANTS / "pingtan-2023-word-borderless.pdf").read_bytes(), name="r.pdf")
    assert_cells(report, expected_cells("pingtan-2023"))
    assert (report.template_version, report.year, report.published_date) == ("v2021", 2023, "2024-03-08")


def test_pdf_from_word_with_borderless_tables_never_silently_wrong():
    report = parse_bytes((VARIANTS / "pingtan-2023-word-borderless.pdf").read_bytes(), name="r.pdf")
    no_silent_wrong(report, expected_cells("pingtan-2023"))


def test_identity_failure_from_a_row_the_parse_missed_is_not_blamed_on_the_source():
    """A table 3 row the parser could not read makes I3 fail: that is the parse's fault
    (or unknown), never "source"."""
    blocks = doc_blocks(T23)
    at = t3_row_index(blocks, "（二）部分公开")
    blocks[at][2] = ["（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "19", "1", "0", "0", "0", "0", "20", "7"]
    report = parse_html(p23(blocks))
    assert report.cell("table3.partially_granted.natural_person") is None
    failed = [c for c in report.checks if c.ok is False and c.id == "I3"]
    assert failed and all(c.fault != "source" for c in failed), [(c.scope, c.fault) for c in failed]


def test_borderless_pdf_identity_failures_not_blamed_on_the_source():
    report = parse_bytes((VARIANTS / "pingtan-2023-word-borderless.pdf").read_bytes(), name="r.pdf")
    failed = [c for c in report.checks if c.ok is False]
    assert all(c.fault != "source" for c in failed), [(c.id, c.scope, c.fault) for c in failed]


def test_word_report_with_tables_nested_in_a_layout_table():
    """Word drafts that box the whole report in a one-cell table: the tables nest inside."""
    import io

    import docx

    data = _docx_report("pingtan-2023", doc_blocks(T23), title=TITLE23)
    document = docx.Document(io.BytesIO(data))
    body = document.element.body
    outer = document.add_table(rows=1, cols=1)
    cell = outer.cell(0, 0)
    for tbl in list(body.iterchildren(docx.oxml.ns.qn("w:tbl")))[:-1]:
        cell._tc.append(tbl)
        cell._tc.append(docx.oxml.OxmlElement("w:p"))
    out = io.BytesIO()
    document.save(out)
    report = parse_bytes(out.getvalue(), name="boxed.docx")
    assert_cells(report, expected_cells("pingtan-2023"))


def _xlsx_report(stem: str, blocks: list, *, one_sheet: bool) -> bytes:
    import io

    import openpyxl

    want = expected_cells(stem)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    t2 = [list(b[2]) for b in blocks if b[0] == "row" and b[1] == 0]
    parts = [("二、主动公开政府信息情况", [r + [""] * (4 - len(r)) for r in t2],
              [(i, 0, i, 3) for i, r in enumerate(t2) if len(r) == 1]),
             ("三、收到和处理政府信息公开申请情况", *_t3_grid(want)),
             ("四、政府信息公开行政复议、行政诉讼情况", *_t4_grid(want))]
    row = 1
    for n, (heading, grid, merges) in enumerate(parts):
        if not one_sheet and n:
            sheet = book.create_sheet(heading[2:])
            row = 1
        else:
            sheet.cell(row, 1, heading)
            row += 1
        for r, cells in enumerate(grid):
            for c, text in enumerate(cells):
                if text:
                    sheet.cell(row + r, c + 1, int(text) if text.isdigit() else text)
        for r0, c0, r1, c1 in merges:
            sheet.merge_cells(start_row=row + r0, start_column=c0 + 1, end_row=row + r1, end_column=c1 + 1)
        row += len(grid) + 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("one_sheet", [True, False], ids=["one-sheet", "sheet-per-table"])
def test_statistics_workbook_with_template_merges(one_sheet):
    """The three tables as an Excel attachment (统计表.xlsx), numbers stored as numbers."""
    data = _xlsx_report("pingtan-2023", doc_blocks(T23), one_sheet=one_sheet)
    report = parse_bytes(data, name="2023年政府信息公开工作年度报告统计表.xlsx")
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.template_version == "v2021"


def test_word_spacer_cells_at_row_starts():
    """Word-exported HTML: an empty, borderless spacer <td> opens every row."""
    def td(r, c, text):
        cell = f"<td>{text}</td>"
        return ('<td style="border:none" width="0"></td>' + cell) if c == 0 else cell
    report = parse_html(page_html(body_html(doc_blocks(T23), td=td), title=TITLE23))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_page_footer_numbers_after_a_report_without_sections_five_and_six():
    """A report ending with table 4, on a page whose footer (read with the body of an
    unknown CMS) prints phone numbers and codes with spaces."""
    blocks = doc_blocks(T23)
    at = next(i for i, b in enumerate(blocks) if b[0] == "text" and b[2].startswith("五、"))
    page = page_html(body_html(blocks[:at]), title=TITLE23, container='<div class="xl-main">')
    page = page.replace(CHROME_BOTTOM, '<div class="foot"><p>联系电话：0591 23165385 传真：0591 23165386</p>'
                        "<p>邮编 350400 网站标识码 3590000001</p></div>")
    report = parse_html(page)
    assert_cells(report, expected_cells("pingtan-2023"))


def test_org_subtotal_column_without_a_header_word():
    """Eight values per row and no 小计 header. Here the sums fit a subtotal after 自然人
    and one after the five organisations alike (one 商业企业 applicant): the position is
    not determined, so the organisation cells must be flagged, not guessed."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 1:
            nums = [c for c in b[2] if c.isdigit()]
            if len(nums) == 7:
                i = len(b[2]) - 1
                b[2].insert(i, str(sum(int(x) for x in nums[1:6])))
    report = parse_html(p23(blocks))
    no_silent_wrong(report, expected_cells("pingtan-2023"))


# ================================================================ headings, layout, legacy
def test_table3_under_the_old_heading_name():
    """2019-2020 reports that kept the old heading "三、依申请公开政府信息情况"."""
    blocks = doc_blocks(T20)
    for b in blocks:
        if b[0] == "text" and b[2].startswith("三、收到和处理"):
            b[2] = "三、依申请公开政府信息情况"
    report = parse_html(p20(blocks))
    assert_cells(report, expected_cells("pingtan-2020"))


def test_table3_under_the_old_heading_name_in_pipe_text():
    blocks = doc_blocks(T20)
    for b in blocks:
        if b[0] == "text" and b[2].startswith("三、收到和处理"):
            b[2] = "三、依申请公开政府信息情况"
    check_text(text_from_blocks(blocks, meta=META20), "pingtan-2020", year=2020)


def test_all_three_tables_in_one_html_table_with_heading_rows():
    """The three tables pasted as one <table>, each heading a merged row of it."""
    blocks = doc_blocks(T23)
    out = []
    for i, b in enumerate(blocks):
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if b[0] == "text" and re.match(r"^[三四]、", b[2]) and nxt and nxt[0] == "row":
            out.append(["row", 0, [b[2]]])
        elif b[0] == "row":
            out.append(["row", 0, b[2]])
        else:
            out.append(b)
    report = parse_html(p23(out))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_legacy_report_with_chinese_numeral_year_in_title():
    page = _raw("pingtan-2018.html").decode("utf-8").replace(
        "平潭综合实验区2018年度政府信息公开工作年度报告", "平潭综合实验区二〇一八年度政府信息公开工作年度报告")
    report = parse_bytes(page.encode("utf-8"), name="legacy.html")
    assert (report.template_version, report.year, report.cells) == ("legacy", 2018, [])
    assert report.agency == "平潭综合实验区"


def test_legacy_report_as_pipe_text():
    text = corpus_text("pingtan-2018.html", "pipe")
    report = parse_text(text)
    assert (report.template_version, report.year, report.cells) == ("legacy", 2018, [])


# ================================================================ wrong declarations, several dates
def test_gbk_page_that_declares_utf8():
    """A CMS template declares utf-8 while the article bytes are GBK."""
    page = p23(charset="utf-8")
    report = parse_bytes(page.encode("gb18030"), name="wrong.html")
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.year == 2023 and report.agency == "平潭综合实验区"


def test_utf8_page_that_declares_gb2312():
    """A page re-saved as UTF-8 by a CMS migration keeps its old gb2312 meta."""
    page = p23(charset="gb2312")
    report = parse_bytes(page.encode("utf-8"), name="wrong.html")
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.year == 2023 and report.agency == "平潭综合实验区"


def test_original_page_utf8_declaring_gbk_in_http_equiv():
    page = _raw(T23).decode("utf-8").replace(
        '<meta charset="utf-8"', '<meta http-equiv="Content-Type" content="text/html; charset=gbk"><meta x="utf-8"')
    report = parse_bytes(page.encode("utf-8"), name="wrong.html")
    assert_cells(report, expected_cells("pingtan-2023"))


def test_publication_date_is_the_publishing_date_not_the_drafting_date():
    """信息公开目录 pages print 成文日期 (drafted) before 发布日期 (published)."""
    line = "索引号：XM02100-2024-00001 发布机构：平潭综合实验区管委会办公室 成文日期：2024-01-20 发布日期：2024-03-08"
    report = parse_html(p23(pubdate=None, info_line=line))
    assert report.published_date == "2024-03-08"


def test_publication_date_in_text_after_a_drafting_date():
    head = (f"{TITLE23}\n成文日期：2024-01-20\n发布日期：2024-03-08\n")
    report = parse_text(head + text_from_blocks(doc_blocks(T23)))
    assert report.published_date == "2024-03-08"


# ================================================================ researcher-held text from other tools
def test_v2021_other_handling_subtotal_row_above_its_three_subrows():
    """（六）其他处理 printed with its own sums, then its three sub-rows."""
    blocks = doc_blocks(T23)
    at = t3_row_index(blocks, "1.申请人无正当理由")
    blocks[at][2] = [c for c in blocks[at][2] if c != "（六）其他处理"]
    blocks.insert(at, ["row", 1, ["（六）其他处理", "2", "0", "0", "0", "0", "0", "2"]])
    report = parse_html(p23(blocks))
    want = expected_cells("pingtan-2023")
    got = {k: v for k, v in got_cells(report).items() if not k.startswith("table3.other_handling.")}
    assert got == want
    cell = report.cell("table3.other_handling.natural_person")
    assert cell is not None and cell.value == 2
    assert all(c.ok for c in report.checks)


def test_markdown_from_a_pdf_converter_with_html_tables_inline():
    """PDF-to-markdown tools (MinerU and the like) write tables as inline HTML in the .md."""
    lines = [f"# {TITLE23}", ""]
    current = None
    rows: list[str] = []
    for kind, table, x in doc_blocks(T23) + [["text", None, ""]]:
        if kind == "row" and table == current:
            rows.append("<tr>" + "".join(f"<td>{html_lib.escape(c)}</td>" for c in x) + "</tr>")
            continue
        if rows:
            lines.append("<table>" + "".join(rows) + "</table>")
            lines.append("")
            rows = []
        if kind == "row":
            current = table
            rows.append("<tr>" + "".join(f"<td>{html_lib.escape(c)}</td>" for c in x) + "</tr>")
        else:
            current = None
            lines += [x, ""]
    report = parse_bytes("\n".join(lines).encode("utf-8"), name="report.md")
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.year == 2023


def test_tab_separated_copy_from_excel_with_quoted_multiline_cells():
    """Rows copied out of Excel: tabs between cells, a cell holding a line break is quoted."""
    def row(cells):
        out = []
        for c in cells:
            if len(c) > 16 and not c[0].isdigit():
                c = '"' + c[:12] + "\n" + c[12:] + '"'
            out.append(c)
        return "\t".join(out)
    text = text_from_blocks(doc_blocks(T23), meta=META23, row=row)
    check_text(text, "pingtan-2023", year=2023)


# ================================================================ notes near the tables
def test_note_about_fees_in_yuan_does_not_rescale_the_procurement_amount():
    """A note under table 2 mentions 元 and 金额; the procurement header says 万元."""
    blocks = doc_blocks(T20)
    for b in blocks:
        if b[0] == "row" and b[2][1:] == ["采购项目数量", "采购总金额"]:
            b[2][2] = "采购总金额（万元）"
        if b[0] == "row" and b[2][0] == "政府集中采购":
            b[2][2] = "7380.28959"
    at = next(i for i, b in enumerate(blocks) if b[0] == "text" and b[2].startswith("三、"))
    blocks.insert(at, ["text", None, "注：本年度行政事业性收费收取金额合计120000元，已全部上缴国库。"])
    report = parse_html(p20(blocks))
    assert_cells(report, expected_cells("pingtan-2020"))


def test_prose_note_with_spaced_numbers_after_table4():
    """A paragraph after table 4 (before 五、) whose numbers stand between spaces."""
    blocks = doc_blocks(T23)
    at = next(i for i, b in enumerate(blocks) if b[0] == "text" and b[2].startswith("五、"))
    blocks.insert(at, ["text", None, "注：本年度行政复议 2 件，行政诉讼 7 件，均已办结。"])
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))


def test_prose_note_with_spaced_numbers_after_table3():
    blocks = doc_blocks(T23)
    at = next(i for i, b in enumerate(blocks) if b[0] == "text" and b[2].startswith("四、政府信息公开行政复议"))
    blocks.insert(at, ["text", None, "注：本年度新收申请 81 件，办结 81 件。"])
    report = parse_html(p23(blocks))
    assert_cells(report, expected_cells("pingtan-2023"))
    assert not [p for p in report.problems if "81" in p]


# ================================================================ tables as pandas / spreadsheets hold them
@cache
def _filled_grids(name: str) -> tuple:
    """The page's tables as pandas.read_html makes them: every spanned cell filled with
    the spanning cell's text (labels and values repeated across their spans)."""
    from selectolax.lexbor import LexborHTMLParser

    from xxgk.parsers.html import cell_text

    article = LexborHTMLParser(_raw(name).decode("utf-8")).css_first("div.TRS_Editor")
    grids = []
    for table in article.css("table"):
        grid: dict[tuple[int, int], str] = {}
        for r, tr in enumerate(table.css("tr")):
            c = 0
            for td in (n for n in tr.iter() if n.tag in ("td", "th")):
                while (r, c) in grid:
                    c += 1
                span = int(td.attributes.get("colspan") or 1)
                rows = int(td.attributes.get("rowspan") or 1)
                for dr in range(rows):
                    for dc in range(span):
                        grid[(r + dr, c + dc)] = cell_text(td)
                c += span
        height = max(r for r, _ in grid) + 1
        width = max(c for _, c in grid) + 1
        grids.append(tuple(tuple(grid.get((r, c), "") for c in range(width)) for r in range(height)))
    return tuple(grids)


def _filled_text(name: str, meta: dict, row) -> str:
    blocks = doc_blocks(name)
    grids = _filled_grids(name)
    lines = [meta["title"], f"日期: {meta['pubdate']}"]
    seen = set()
    for kind, table, x in blocks:
        if kind == "text":
            lines.append(x)
        elif table not in seen:
            seen.add(table)
            lines += [row(list(r)) for r in grids[table] if any(r)]
    return "\n".join(lines) + "\n"


def test_pandas_filled_grid_as_markdown():
    """df.to_markdown(index=False) of pandas.read_html tables: spans filled by repetition."""
    def row(cells):
        return "| " + " | ".join(cells) + " |"
    text = _filled_text(T23, META23, row)
    text = re.sub(r"^(\| 第二十条第（一）项.*)$", lambda m: m.group(1) + "\n|" + "---|" * 4, text, count=1, flags=re.M)
    check_text(text, "pingtan-2023", year=2023)


def test_pandas_filled_grid_as_tab_separated():
    check_text(_filled_text(T23, META23, "\t".join), "pingtan-2023", year=2023)


def test_pandas_filled_grid_never_silently_wrong():
    no_silent_wrong(parse_text(_filled_text(T23, META23, "\t".join)), expected_cells("pingtan-2023"))


def test_csv_export_of_the_tables():
    """The tables saved as CSV (comma-separated, quoted where a cell has a comma)."""
    import csv
    import io

    def row(cells):
        out = io.StringIO()
        csv.writer(out).writerow(cells)
        return out.getvalue().rstrip("\r\n")
    check_text(text_from_blocks(doc_blocks(T23), meta=META23, row=row), "pingtan-2023", year=2023)


def test_transitional_report_old_table2_new_table3():
    """A 2021 report that kept the 2019 table 2 but printed the 2021 table 3 (with the three
    （六） sub-rows): each table read by its own labels, nothing keyed wrong."""
    old = doc_blocks(T20)
    new = doc_blocks(T23)
    t2_old = [b for b in old if b[0] == "row" and b[1] == 0]
    first = next(i for i, b in enumerate(new) if b[0] == "row" and b[1] == 0)
    blocks = [b for b in new[:first]] + t2_old + [b for b in new[first:] if not (b[0] == "row" and b[1] == 0)]
    want = {k: v for k, v in expected_cells("pingtan-2020").items() if k.startswith("table2.")}
    want.update({k: v for k, v in expected_cells("pingtan-2023").items() if not k.startswith("table2.")})
    report = parse_html(p23(blocks))
    no_silent_wrong(report, want)
    got = got_cells(report)
    t3 = {k: v for k, v in want.items() if k.startswith("table3.")}
    assert {k: got.get(k, "missing") for k in t3 if got.get(k, "missing") != t3[k]} == {}


def test_text_of_a_whole_page_with_menus_above_the_article():
    """Text extracted from a whole page: the site's menus come first, then the title and
    its 发布日期 line (beyond the first dozen lines)."""
    menus = ["首页", "政务公开", "政府信息公开", "政务服务", "互动交流", "走进平潭", "政府信息公开指南",
             "政府信息公开制度", "法定主动公开内容", "政府信息公开年报", "依申请公开", "无障碍", "长者模式",
             "当前位置：首页 > 政府信息公开 > 政府信息公开年报"]
    head = "\n".join(menus) + f"\n{TITLE23}\n发布日期：2024-03-08 来源：平潭综合实验区管委会办公室\n"
    report = parse_text(head + text_from_blocks(doc_blocks(T23)))
    assert_cells(report, expected_cells("pingtan-2023"))
    assert report.title == TITLE23
    assert (report.year, report.agency, report.published_date) == (2023, "平潭综合实验区", "2024-03-08")


@pytest.mark.parametrize("mark", [
    "①", "<sup>1</sup>", "*", "<sup>注</sup>"])
def test_footnote_mark_in_a_value_cell(mark):
    """A value with a footnote mark ("81①" / "81<sup>1</sup>", the note under the table):
    81 or flagged, never 811."""
    def td(r, c, text):
        if text == "81" and c == 7:
            return f"<td>81{mark}</td>"
        return f"<td>{text}</td>"
    blocks = doc_blocks(T23)
    blocks.insert(t3_row_index(blocks, "四、结转下年度") + 1, ["text", None, "注：①含上级转办申请3件。"])
    report = parse_html(page_html(body_html(blocks, td=td), title=TITLE23))
    no_silent_wrong(report, expected_cells("pingtan-2023"))


def test_generic_title_agency_from_the_content_source():
    report = parse_html(p23(title="2023年政府信息公开工作年度报告", source="平潭综合实验区财政金融局"))
    assert (report.year, report.agency) == (2023, "平潭综合实验区财政金融局")


@pytest.mark.parametrize("line", ["来源：平潭综合实验区财政金融局 发布时间：2024-01-20",
                                  "信息来源：平潭综合实验区财政金融局　　发布日期：2024年01月20日"])
def test_generic_title_agency_from_the_source_line(line):
    report = parse_html(p23(title="2023年政府信息公开工作年度报告", source=None, pubdate=None, info_line=line))
    assert (report.year, report.agency, report.published_date) == (2023, "平潭综合实验区财政金融局", "2024-01-20")


@pytest.mark.parametrize("printed", ["23，10", "4,42", "2,6290"])
def test_comma_inside_a_value_that_is_no_thousands_separator(printed):
    """"23，10" (增23、减10 without signs), a misplaced separator: flagged, never 2310 / 442 / 26290."""
    blocks = doc_blocks(T20)
    for b in blocks:
        if b[0] == "row" and b[2][0] == "其他对外管理服务事项":
            b[2][2] = printed
    report = parse_html(p20(blocks))
    want = expected_cells("pingtan-2020")
    want.pop("table2.other_admin_services.items_change")
    no_silent_wrong(report, want)
    cell = report.cell("table2.other_admin_services.items_change")
    assert cell is None or cell.value is None
    assert report.problems


def _one_line_per_table(name: str, meta: dict) -> str:
    """get_text(" ") of each whole <table>: a table's cells on one line, spaces between."""
    lines = [meta["title"], f"日期: {meta['pubdate']}"]
    current, buf = None, []
    for kind, table, x in doc_blocks(name) + [["text", None, ""]]:
        if kind == "row" and table == current:
            buf += x
            continue
        if buf:
            lines.append(" ".join(buf))
            buf = []
        if kind == "row":
            current, buf = table, list(x)
        else:
            current = None
            lines.append(x)
    return "\n".join(lines) + "\n"


def test_each_table_flattened_to_one_line_v2019():
    check_text(_one_line_per_table(T20, META20), "pingtan-2020", year=2020)


def test_each_table_flattened_to_one_line_v2021():
    check_text(_one_line_per_table(T23, META23), "pingtan-2023", year=2023)


def test_table3_with_the_total_column_printed_first():
    """A reordered table 3: 总计 printed before 自然人 (header says so). Read by the header,
    or flagged; never 总计 keyed as 自然人."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 1:
            if b[2] == ["自然人", "法人或其他组织", "总计"]:
                b[2] = ["总计", "自然人", "法人或其他组织"]
            nums = [i for i, c in enumerate(b[2]) if c.isdigit()]
            if len(nums) == 7:
                cells = b[2]
                b[2] = cells[:nums[0]] + [cells[nums[-1]]] + [cells[i] for i in nums[:-1]]
    report = parse_html(p23(blocks))
    no_silent_wrong(report, expected_cells("pingtan-2023"))


def test_table4_litigation_groups_printed_before_review():
    """Table 4 with 行政诉讼 (直接起诉, 复议后起诉) printed before 行政复议: by the header, or flagged."""
    want = expected_cells("pingtan-2023")
    cols = ("upheld", "corrected", "other", "pending", "total")
    head = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    order = ("litigation_direct", "litigation_after_review", "review")
    rows = [["行政诉讼", "行政复议"], ["未经复议直接起诉", "复议后起诉"] + head, head * 2,
            [str(want[f"table4.{k}.{c}"]) for k in order for c in cols]]
    blocks = [b for b in doc_blocks(T23) if not (b[0] == "row" and b[1] == 2)]
    at = next(i for i, b in enumerate(blocks) if b[0] == "text" and b[2].startswith("五、"))
    blocks[at:at] = [["row", 2, r] for r in rows]
    no_silent_wrong(parse_html(p23(blocks)), want)


def test_group_label_and_first_subrow_label_in_one_cell():
    """A simplified grid: the group label and the first sub-row's label share one cell
    ("（六）其他处理<br>1.申请人…"), as they share a line in PDF text."""
    blocks = doc_blocks(T23)
    for b in blocks:
        if b[0] == "row" and b[1] == 1 and len(b[2]) > 8 and b[2][0].startswith(("（三）", "（四）", "（五）", "（六）")):
            b[2] = [b[2][0] + "\n" + b[2][1]] + b[2][2:]
    def td(r, c, text):
        return "<td>" + text.replace("\n", "<br/>") + "</td>"
    report = parse_html(page_html(body_html(blocks, td=td), title=TITLE23))
    assert_cells(report, expected_cells("pingtan-2023"))


@cache
def _blank_grids(name: str) -> tuple:
    """The page's tables on their full grid, positions covered by a span left blank (what
    grid-keeping HTML-to-text converters write)."""
    from selectolax.lexbor import LexborHTMLParser

    from xxgk.parsers.html import cell_text

    article = LexborHTMLParser(_raw(name).decode("utf-8")).css_first("div.TRS_Editor")
    grids = []
    for table in article.css("table"):
        grid: dict[tuple[int, int], str] = {}
        for r, tr in enumerate(table.css("tr")):
            c = 0
            for td in (n for n in tr.iter() if n.tag in ("td", "th")):
                while (r, c) in grid:
                    c += 1
                span = int(td.attributes.get("colspan") or 1)
                rows = int(td.attributes.get("rowspan") or 1)
                for dr in range(rows):
                    for dc in range(span):
                        grid[(r + dr, c + dc)] = cell_text(td) if (dr, dc) == (0, 0) else ""
                c += span
        height = max(r for r, _ in grid) + 1
        width = max(c for _, c in grid) + 1
        grids.append(tuple(tuple(grid.get((r, c), "") for c in range(width)) for r in range(height)))
    return tuple(grids)


def _grid_text(name: str, meta: dict, row) -> str:
    lines = [meta["title"], f"日期: {meta['pubdate']}"]
    seen = set()
    for kind, table, x in doc_blocks(name):
        if kind == "text":
            lines.append(x)
        elif table not in seen:
            seen.add(table)
            lines += [row(list(r)) for r in _blank_grids(name)[table] if any(r)]
    return "\n".join(lines) + "\n"


def test_grid_aligned_pipe_text_with_blank_span_cells():
    """Every row on the table's full grid: a label spanning three columns is followed by
    two blank cells, a value under a rowspan by a blank below it."""
    check_text(_grid_text(T23, META23, lambda cells: " | ".join(cells) + " |"), "pingtan-2023", year=2023)


def test_grid_aligned_pipe_text_with_blank_span_cells_v2019():
    check_text(_grid_text(T20, META20, lambda cells: " | ".join(cells) + " |"), "pingtan-2020", year=2020)


def test_grid_aligned_text_never_silently_wrong():
    for name, meta, stem in ((T23, META23, "pingtan-2023"), (T20, META20, "pingtan-2020")):
        no_silent_wrong(parse_text(_grid_text(name, meta, lambda cells: " | ".join(cells) + " |")),
                        expected_cells(stem))


def test_html_with_unmerged_blank_cells_instead_of_spans():
    """Word tables drawn without merging: a long label followed by empty, borderless cells
    where a template would use colspan (and empty cells under a label that spans rows)."""
    def table(grid):
        return '<table border="1">' + "".join(
            "<tr>" + "".join(f"<td>{html_lib.escape(c)}</td>" for c in row) + "</tr>" for row in grid) + "</table>"
    blocks = doc_blocks(T23)
    first = next(i for i, b in enumerate(blocks) if b[0] == "row")
    body = "".join(f"<p>{html_lib.escape(b[2])}</p>" for b in blocks[:first] if b[0] == "text")
    for heading, grid in zip(("二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
                              "四、政府信息公开行政复议、行政诉讼情况"), _blank_grids(T23), strict=True):
        body += f"<p>{heading}</p>{table(grid)}"
    report = parse_html(page_html(body + "<p>五、存在的主要问题及改进情况</p><p>无。</p>", title=TITLE23))
    assert_cells(report, expected_cells("pingtan-2023"))
