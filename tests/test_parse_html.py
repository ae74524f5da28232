"""HTML as real portals serve it: encodings, containers, spans that disagree between
header and data rows, subtotal columns and rows, blank cells."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from xxgk.parsers import parse_bytes
from xxgk.parsers.html import read, table_rows


def page(body: str, *, head: str = "", container: str = 'div id="zoom"') -> str:
    tag = container.split()[0]
    return (f"<html><head>{head}<title>某某市某某区2019年政府信息公开工作年度报告_某某区人民政府</title>"
            f"</head><body><div class='menu'>首页 政务公开 年度报告</div><{container}>{body}</{tag}>"
            "<div class='footer'>主办单位：某某区人民政府办公室</div></body></html>")


def t3_table(*, subtotal_column: bool = False, blank_total_rowspan: bool = False) -> str:
    """A v2019 table 3 in the Shanghai 2019 style: the header spans other columns than
    the values (labels colspan=3 over a 4-column label area), group labels by rowspan."""
    orgs = ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]
    header = ("<tr><td colspan='4' rowspan='3'>（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>"
              "<td colspan='8'>申请人情况</td></tr>"
              "<tr><td rowspan='2'>自然人</td><td colspan='6'>法人或其他组织</td><td rowspan='2'>总计</td></tr>"
              "<tr>" + "".join(f"<td>{o}</td>" for o in orgs)
              + ("<td>小计</td>" if subtotal_column else "") + "</tr>")
    rows = []
    labels = [
        ("<td colspan='4'>一、本年新收政府信息公开申请数量</td>", [5, 1, 0, 0, 0, 1]),
        ("<td colspan='4'>二、上年结转政府信息公开申请数量</td>", [1, 0, 0, 0, 0, 0]),
        ("<td rowspan='19'>三、本年度办理结果</td><td colspan='3'>（一）予以公开</td>", [2, 1, 0, 0, 0, 0]),
        ("<td colspan='3'>（二）部分公开（区分处理的，只计这一情形，不计其他情形）</td>", [1, 0, 0, 0, 0, 0]),
    ]
    withheld = ["1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”", "4.保护第三方合法权益",
                "5.属于三类内部事务信息", "6.属于四类过程性信息", "7.属于行政执法案卷", "8.属于行政查询事项"]
    for i, label in enumerate(withheld):
        group = "<td rowspan='8'>（三）不予公开</td>" if i == 0 else ""
        labels.append((f"{group}<td colspan='2'>{label}</td>", [1 if i == 3 else 0, 0, 0, 0, 0, 0]))
    unable = ["1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作", "3.补正后申请内容仍不明确"]
    for i, label in enumerate(unable):
        group = "<td rowspan='3'>（四）无法提供</td>" if i == 0 else ""
        labels.append((f"{group}<td colspan='2'>{label}</td>", [1 if i == 0 else 0, 0, 0, 0, 0, 0]))
    rejected = ["1.信访举报投诉类申请", "2.重复申请", "3.要求提供公开出版物", "4.无正当理由大量反复申请",
                "5.要求行政机关确认或重新出具已获取信息"]
    for i, label in enumerate(rejected):
        group = "<td rowspan='5'>（五）不予处理</td>" if i == 0 else ""
        labels.append((f"{group}<td colspan='2'>{label}</td>", [0, 0, 0, 0, 0, 1 if i == 0 else 0]))
    labels += [
        ("<td colspan='3'>（六）其他处理</td>", [1, 0, 0, 0, 0, 0]),
        ("<td colspan='3'>（七）总计</td>", [6, 1, 0, 0, 0, 1]),
        ("<td colspan='4'>四、结转下年度继续办理</td>", [0, 0, 0, 0, 0, 0]),
    ]
    for n, (label_html, values) in enumerate(labels):
        cells = [str(v) for v in values]
        if subtotal_column:
            cells.append(str(sum(values[1:])))
        total = f"<td>{sum(values)}</td>"
        if blank_total_rowspan:
            total = "<td rowspan='26'>/</td>" if n == 0 else ""
        rows.append("<tr>" + label_html + "".join(f"<td>{c}</td>" for c in cells) + total + "</tr>")
    return "<table>" + header + "".join(rows) + "</table>"


def test_gbk_page_without_any_charset_declaration():
    html = page("<p>三、收到和处理政府信息公开申请情况</p>" + t3_table())
    report = parse_bytes(html.encode("gbk"), name="gbk.html")
    assert report.encoding == "gb18030"
    assert report.cell("table3.new_received.total").value == 7
    assert report.agency == "某某市某某区" and report.year == 2019


def test_gb2312_meta_with_characters_outside_gb2312_decodes_as_gb18030():
    html = page("<p>三、收到和处理政府信息公开申请情况</p><p>鎔基</p>" + t3_table(),
                head='<meta http-equiv="Content-Type" content="text/html; charset=gb2312">')
    report = parse_bytes(html.encode("gb18030"), name="gb2312.html")
    assert report.encoding == "gb18030" and "鎔基" in report.text


def test_header_spans_differ_from_value_spans_values_map_by_order():
    report = parse_bytes(page("<p>三、收到和处理政府信息公开申请情况</p>" + t3_table()).encode(), name="sh.html")
    assert report.cell("table3.granted.org_commercial").value == 1
    assert report.cell("table3.withheld_third_party.natural_person").value == 1
    assert report.cell("table3.not_processed_petition.org_other").value == 1
    assert report.cell("table3.outcome_total.total").value == 8
    failed = [c for c in report.checks if c.ok is False]
    assert failed == []


def test_subtotal_column_is_checked_not_keyed():
    html = page("<p>三、收到和处理政府信息公开申请情况</p>" + t3_table(subtotal_column=True))
    report = parse_bytes(html.encode(), name="subtotal.html")
    assert report.cell("table3.new_received.org_other").value == 1
    assert report.cell("table3.new_received.total").value == 7
    assert not any("subtotal" in p for p in report.problems)
    assert all(c.ok for c in report.checks if c.id in ("I1", "I2", "I3"))


def test_a_blank_total_merged_down_the_column_is_null_not_zero():
    html = page("<p>三、收到和处理政府信息公开申请情况</p>" + t3_table(blank_total_rowspan=True))
    report = parse_bytes(html.encode(), name="blank.html")
    totals = [report.cell(f"table3.{r}.total") for r in ("new_received", "granted", "carried_forward")]
    assert [c.value for c in totals] == [None, None, None]
    assert totals[0].raw == "/"
    assert report.cell("table3.granted.natural_person").value == 2
    i2 = [c for c in report.checks if c.id == "I2"]
    assert i2 and all(c.ok is None and "blank" in c.detail for c in i2)


def test_rowspan_and_colspan_grid():
    tree = LexborHTMLParser("<table><tr><td rowspan=2>组</td><td colspan=2>标题</td></tr>"
                            "<tr><td>1</td><td>2</td></tr><tr><td colspan=3>3</td></tr></table>")
    assert table_rows(tree.css_first("table")) == [["组", "标题"], ["1", "2"], ["3"]]


def test_containers_of_common_cms(tmp_path):
    for container in ('div id="UCAP-CONTENT"', 'div class="TRS_Editor"', 'div id="zoom"'):
        html = page("<p>一、总体情况</p><p>本年度工作。</p>", container=container)
        document = read(html.encode(), name="x.html")
        assert [b.text for b in document.blocks] == ["一、总体情况", "本年度工作。"], container


def test_run_together_cell_is_a_problem_and_never_a_number():
    html = page("<p>三、收到和处理政府信息公开申请情况</p>"
                + t3_table().replace("<td>7</td>", "<td>7<br>0</td>", 1))
    report = parse_bytes(html.encode(), name="run.html")
    assert report.cell("table3.new_received.total").value is None
    assert any("run together" in p for p in report.problems)


def test_utf8_pages_read_from_their_bytes_as_from_their_text(monkeypatch):
    """A whole UTF-8 page goes to lexbor as bytes (no re-encoding): every corpus page and a
    page with a BOM, a damaged byte or GBK bytes reads block for block as from its text."""
    from pathlib import Path

    from xxgk.parsers import html

    corpus = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
    pages = [p.read_bytes() for p in sorted(corpus.glob("*.html"))]
    body = page(t3_table(), head="<meta charset='utf-8'>")
    pages += [b"\xef\xbb\xbf" + body.encode(), body.encode().replace(b"<td>", b"<td>\xff", 1),
              page(t3_table(), head="<meta charset='gbk'>").encode("gbk")]
    handed = []
    parser = html.LexborHTMLParser

    def spy(source):
        handed.append(type(source))
        return parser(source)

    def blocks(data):
        document = read(data, name="p.html")
        return [(b.text, b.cells, b.table) for b in document.blocks], document.meta

    monkeypatch.setattr(html, "LexborHTMLParser", spy)
    from_bytes = [blocks(data) for data in pages]
    assert handed[:len(pages) - 3] == [bytes] * (len(pages) - 3)  # the corpus is UTF-8
    assert handed[-3:] == [str] * 3
    # The same pages, every one through its text:
    monkeypatch.setattr(html, "LexborHTMLParser", lambda source: parser(
        source.decode("utf-8") if isinstance(source, bytes) else source))
    assert [blocks(data) for data in pages] == from_bytes
