"""Finding, naming and typing attachments in the shapes real portals serve them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from xxgk.scraper.attachments import (
    attachment_kind,
    encode_url,
    filename_from_disposition,
    find_attachments,
)

ROOT = Path(__file__).resolve().parent.parent
ATTACHMENTS = ROOT / "fixtures" / "attachments"
PAGE = "http://www.hongze.gov.cn/hzqrmzf/zfxxgkndbg/202402/t20240226_8123.html"


def urls(html: str, base: str = PAGE, **kw) -> list[str]:
    return [a.url for a in find_attachments(html, base, **kw)]


def test_trs_relative_attachment():
    html = '<div class="TRS_Editor"><a href="./P020240226585613432176.pdf">洪泽区2023年年报.pdf</a></div>'
    (found,) = find_attachments(html, PAGE)
    assert found.url == "http://www.hongze.gov.cn/hzqrmzf/zfxxgkndbg/202402/P020240226585613432176.pdf"
    assert found.kind_hint == "pdf" and found.name == "洪泽区2023年年报.pdf" and found.how == "href"


def test_trs_month_folder_from_column_page():
    html = '<a href="./202402/P020240226585613432176.pdf">附件</a>'
    assert urls(html, "http://www.x.gov.cn/col/zfxxgknb/index.html") == [
        "http://www.x.gov.cn/col/zfxxgknb/202402/P020240226585613432176.pdf"]


def test_hanweb_downfile_with_showname():
    html = ('<a href="/module/download/downfile.jsp?classid=0&filename=2403081034567a1b2c3d4e.pdf'
            '&showname=平潭2023年度报告.pdf">平潭2023年度报告.pdf</a>')
    (found,) = find_attachments(html, "http://www.pingtan.gov.cn/art/2024/3/8/art_1_2.html")
    assert found.url == (
        "http://www.pingtan.gov.cn/module/download/downfile.jsp?classid=0"
        "&filename=2403081034567a1b2c3d4e.pdf&showname=" + quote("平潭2023年度报告.pdf"))
    assert found.name == "平潭2023年度报告.pdf" and found.kind_hint == "pdf"


def test_hanweb_query_in_page_encoding():
    html = '<a href="/module/download/downfile.jsp?filename=abc.doc&showname=报告.doc">x</a>'
    (url,) = urls(html, encoding="gb18030")
    assert url.endswith("showname=" + quote("报告.doc", encoding="gb18030"))


def test_raw_chinese_and_spaces_in_href_are_encoded():
    html = '<a href="/uploadfiles/2024/洪泽区 2023年 报告.docx">下载</a>'
    (url,) = urls(html)
    assert url == "http://www.hongze.gov.cn/uploadfiles/2024/" + quote("洪泽区 2023年 报告.docx")
    assert " " not in url


def test_existing_escapes_are_not_encoded_twice():
    assert encode_url("http://a.gov.cn/f/%E6%8A%A5%E5%91%8A.pdf") == "http://a.gov.cn/f/%E6%8A%A5%E5%91%8A.pdf"


@pytest.mark.parametrize("attr", [
    """onclick="window.open('/files/2023nb.docx')\"""",
    """onclick="location.href='/files/2023nb.docx'\"""",
    """href="javascript:window.open('/files/2023nb.docx')\"""",
])
def test_onclick_and_javascript_links(attr):
    html = f'<a href="#" {attr}>查看附件</a>' if "onclick" in attr else f"<a {attr}>查看附件</a>"
    (found,) = find_attachments(html, PAGE)
    assert found.url == "http://www.hongze.gov.cn/files/2023nb.docx"
    assert found.kind_hint == "docx" and found.how == "onclick"


def test_pdf_url_in_script():
    html = '<script>var pdfurl = "/u/cms/www/202403/08103344x9ab.pdf"; show(pdfurl);</script>'
    (found,) = find_attachments(html, PAGE)
    assert found.url == "http://www.hongze.gov.cn/u/cms/www/202403/08103344x9ab.pdf"
    assert found.how == "script"


def test_pdfjs_viewer_iframe_gives_the_document():
    html = '<iframe src="/pdfjs/web/viewer.html?file=%2Fu%2Fcms%2F2023nb.pdf"></iframe>'
    (found,) = find_attachments(html, PAGE)
    assert found.url == "http://www.hongze.gov.cn/u/cms/2023nb.pdf"
    assert found.how == "viewer"


def test_extensionless_download_named_by_link_text():
    html = '<a href="/attachment/download?id=123">2023年度报告.pdf</a>'
    (found,) = find_attachments(html, PAGE)
    assert found.kind_hint == "pdf" and found.url.endswith("/attachment/download?id=123")


def test_base_href_is_honoured():
    html = '<head><base href="http://files.x.gov.cn/a/"></head><a href="r.xls">表</a>'
    assert urls(html) == ["http://files.x.gov.cn/a/r.xls"]


def test_pages_menus_mail_and_duplicates_are_not_attachments():
    html = """
      <a href="/col/col123/index.html">政府信息公开年报</a>
      <a href="/download.html">下载中心</a>
      <a href="mailto:a@b.cn">mail</a> <a href="#top">top</a>
      <img src="/images/logo.png"> <img src="/u/scan1.jpg" width="900">
      <a href="/f/a.pdf">a</a> <a href="/f/a.pdf">again</a>
    """
    assert urls(html) == ["http://www.hongze.gov.cn/f/a.pdf"]


def test_report_images_only_on_request():
    html = '<img src="/images/logo.png"><img src="/u/scan1.jpg" width="900"><img src="/i/x.gif" width="20">'
    found = find_attachments(html, PAGE, images=True)
    assert [(a.url, a.kind_hint, a.how) for a in found] == [
        ("http://www.hongze.gov.cn/u/scan1.jpg", "jpg", "img")]


# ---------------------------------------------------------------- Content-Disposition
GBK_NAME = "洪泽区2023年年报.pdf"


@pytest.mark.parametrize("header, name", [
    ("attachment; filename*=UTF-8''%E6%B4%AA%E6%B3%BD.pdf", "洪泽.pdf"),
    ("attachment; filename=\"report.pdf\"; filename*=utf-8''%E6%8A%A5%E5%91%8A.pdf", "报告.pdf"),
    ("attachment; filename*=GBK''%B1%A8%B8%E6.doc", "报告.doc"),
    ("attachment; filename=" + GBK_NAME.encode("gbk").decode("latin-1"), GBK_NAME),
    ("attachment; filename=\"" + GBK_NAME.encode("utf-8").decode("latin-1") + "\"", GBK_NAME),
    (("attachment; filename=" + GBK_NAME).encode("gbk"), GBK_NAME),
    ("attachment; filename=%E6%8A%A5%E5%91%8A.doc", "报告.doc"),
    ("attachment; filename=%B1%A8%B8%E6.doc", "报告.doc"),
    ('attachment; filename="=?UTF-8?B?5oql5ZGKLnBkZg==?="', "报告.pdf"),
    ('attachment; filename="..\\\\..\\\\etc\\\\passwd"', "passwd"),
    ("inline", None),
    ("", None),
    (None, None),
])
def test_filename_from_disposition(header, name):
    assert filename_from_disposition(header) == name


# ---------------------------------------------------------------- type by bytes
def fixture(name: str) -> bytes:
    return (ATTACHMENTS / name).read_bytes()


@pytest.mark.parametrize("name, kind", [
    ("pingtan-2023.pdf", "pdf"), ("pingtan-2023.docx", "docx"), ("pingtan-2023.xlsx", "xlsx"),
    ("pingtan-2023.doc", "doc"), ("scan.png", "image"),
])
def test_kind_by_magic_whatever_the_headers_say(name, kind):
    data = fixture(name)
    assert attachment_kind(data, "application/octet-stream", None, "http://x/download?id=1") == kind
    assert attachment_kind(data, "text/html; charset=gbk", None, "http://x/a.html") == kind


def test_wps_named_ole_file():
    data = fixture("pingtan-2023.doc")
    assert attachment_kind(data, "application/octet-stream",
                           "attachment; filename=\"2023.wps\"", "http://x/d?id=1") == "wps"


def test_error_page_served_as_pdf_is_html():
    page = "<!DOCTYPE html><html><body>文件不存在</body></html>".encode()
    assert attachment_kind(page, "application/pdf", None, "http://x/a.pdf") == "html"


def test_mislabeled_binary_is_unknown_and_empty_is_empty():
    assert attachment_kind(b"\x00\x01\x02garbage" * 10, "application/pdf", None, "http://x/a.pdf") == "unknown"
    assert attachment_kind(b"", "application/pdf", None, "http://x/a.pdf") == "empty"


def test_plain_text_and_zip_archives():
    assert attachment_kind("一、总体情况\n".encode("gbk"), None, None, "http://x/a.txt") == "text"
    assert attachment_kind(b"PK\x03\x04" + b"\x00" * 40 + b"report/a.pdf", None, None, "http://x/a.zip") == "zip"
    assert attachment_kind(b"Rar!\x1a\x07\x00" + b"\x00" * 20, None, None, "http://x/a") == "rar"


# ---------------------------------------------------------------- page vs attachment
def test_stub_page_yields_the_attachment_report():
    from xxgk.parsers.dispatch import parse_bytes, parse_path
    from xxgk.scraper.attachments import pick_report

    stub = parse_bytes("<html><body><p>附件：年报.pdf</p></body></html>".encode(), name="stub.html")
    attachment = parse_path(ROOT / "fixtures" / "corpus" / "hongze-2023.pdf")
    chosen, source = pick_report(stub, [attachment])
    assert chosen is attachment and source == 0
    assert not any("disagree" in p for p in chosen.problems)


def test_page_and_attachment_cross_checked():
    from xxgk.parsers.dispatch import parse_path
    from xxgk.scraper.attachments import disagreements, pick_report

    page = parse_path(ROOT / "fixtures" / "corpus" / "pingtan-2023.html")
    attachment = parse_path(ATTACHMENTS / "pingtan-2023.docx")
    assert disagreements(page, attachment) == []  # the same report in two formats
    changed = next(c for c in attachment.cells if c.key == "table3.new_received.total")
    changed.value, changed.raw = 18, "18"
    chosen, source = pick_report(page, [attachment])
    assert chosen is page and source == "page"
    assert chosen.problems[-1] == (
        "sources disagree: table3.new_received.total: page '81', attachment 1 '18'")


@pytest.mark.parametrize("stem", ["pingtan-2023", "pingtan-2020", "pingtan-2018", "pingtan-list"])
def test_real_portal_pages_have_no_false_attachments(stem):
    """Whole archived pages (menus, banners, footers, scripts): no report attached."""
    html = (ROOT / "fixtures" / "corpus" / f"{stem}.html").read_text("utf-8")
    assert find_attachments(html, "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/index.htm",
                            images=True) == []


def test_report_pictures_come_from_the_article_only():
    html = """<div class="header"><img src="/images/banner.jpg" width="1000"></div>
      <div class="TRS_Editor"><p>年度报告如下：</p><img src="./W020240308.jpg" width="800"></div>"""
    found = find_attachments(html, PAGE, images=True)
    assert [a.url for a in found] == ["http://www.hongze.gov.cn/hzqrmzf/zfxxgkndbg/202402/W020240308.jpg"]


def test_links_without_any_hint_are_skipped_unless_the_page_sits_under_a_download_path():
    """Menu links are dropped before their URLs are processed; a bare relative link on a
    page under /download/ still becomes the download script it joins to."""
    page = ('<html><body><a href="/news/1.html">新闻</a><a href="show.jsp?id=1">附件</a>'
            '<a href="files/a.PDF">年报</a></body></html>')
    plain = find_attachments(page, "http://x.gov.cn/xxgk/b.html")
    assert [(a.url, a.kind_hint) for a in plain] == [("http://x.gov.cn/xxgk/files/a.PDF", "pdf")]
    under = find_attachments(page, "http://x.gov.cn/download/list.html")
    assert [a.url for a in under] == ["http://x.gov.cn/download/show.jsp?id=1",
                                     "http://x.gov.cn/download/files/a.PDF"]
