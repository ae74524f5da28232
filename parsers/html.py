"""HTML pages as portals serve them -> `Document`.

The report sits in one content container amid portal chrome (menus, footers, scripts).
Tables are rebuilt row by row with colspan/rowspan resolved (selectolax, lexbor): a cell
carried down by rowspan is a group label (kept once) or, for a value, an empty cell in
the rows below, so that values are mapped by their order among the value cells of a
row, never by grid column (header and data rows of real pages span different columns).
"""

from __future__ import annotations

import codecs
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from xxgk.parsers.decode import DecodeError, decode_text
from xxgk.parsers.dispatch import ReadError
from xxgk.parsers.document import Block, Document
from xxgk.parsers.metadata import is_title, labelled_date
from xxgk.parsers.values import clean, compact, is_value_text, normalize

# Content containers of the common government CMSs, most specific first.
CONTAINERS = (
    "div.TRS_Editor", "#zoom", "#UCAP-CONTENT", "div.article_content", "div.article-content",
    "#ivs_content", "div.view", "div.pages_content", "#Zoom", "div.zwxl-content",
    "div.content_text", "div.wz_content", "#content", "div.content", "article", "div.main",
)
# One substring selector (each costs a scan of the tree); the style is checked after.
_NOT_PRINTED = 'style, script, template, [hidden], [style*="isplay"]'
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.I)
_SKIP = {"script", "style", "noscript", "template", "head", "iframe", "select", "button", "svg"}
_BLOCK = {
    "p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "section",
    "article", "dd", "dt", "dl", "tr", "blockquote", "pre", "hr", "center", "form",
}
_META_NAMES = {
    "articletitle": "title", "pubdate": "pubdate", "contentsource": "source",
    "sitename": "site_name", "url": "url", "firstimg": None,
}
# Words of the report body that portal chrome (menus, link lists) does not print.
_REPORT_WORDS = ("本年新收", "行政复议", "总体情况", "主动公开", "依申请", "上年结转", "予以公开",
                 "不予公开")
_SURE = 6
# Elements nested deeper than this are not read (and said so): Chromium's parser stops
# nesting at 512 too, and no report page comes near it.
MAX_DEPTH = 512


def read(data: bytes, *, name: str, content_type: str | None = None) -> Document:
    try:
        decoded = decode_text(data, content_type=content_type)
    except DecodeError as error:
        raise ReadError(str(error)) from None
    text, encoding = decoded.text, decoded.encoding
    # lexbor reads UTF-8: a page that is UTF-8 already, whole, is handed over as it came
    # (a str is encoded back to UTF-8 first, 8% of reading a portal-size page).
    whole = encoding == "utf-8" and not decoded.damage and not data.startswith(codecs.BOM_UTF8)
    tree = LexborHTMLParser(data if whole else text)
    document = Document(source_format="html", encoding=encoding, meta=_page_meta(tree))
    if decoded.damage:
        document.problems.append(decoded.problem())
    container = _content_container(tree)
    if container is None:
        return document
    # What a browser does not print: hidden text ("1470" for 470), style sheets in cells.
    for node in container.css(_NOT_PRINTED):
        style = node.attributes.get("style") or ""
        if node.tag != "-text" and (not style or _HIDDEN_STYLE.search(style)):
            node.decompose()
    # Text with inline HTML tables (markdown from PDF converters): its lines are lines.
    fragment = not _PAGE_TAG.search(text, 0, 200_000)
    _Walker(document, lines=fragment).walk(container)
    # The 来源/日期 line usually sits just outside the article container.
    if "pubdate" not in document.meta or "source" not in document.meta:
        _info_line(tree, document.meta, container)
    return document


def _page_meta(tree: LexborHTMLParser) -> dict[str, str]:
    meta: dict[str, str] = {}
    # <meta> belongs in <head>: the whole page (its body is mostly chrome) is searched
    # only when the head has none of them.
    head = tree.head
    tags = head.css("meta[name]") if head is not None else []
    if not any(_META_NAMES.get((n.attributes.get("name") or "").lower()) for n in tags):
        tags = tree.css("meta[name]")
    for node in tags:
        key = _META_NAMES.get((node.attributes.get("name") or "").lower())
        value = (node.attributes.get("content") or "").strip()
        if key and value:
            meta[key] = value
    title = tree.css_first("title")
    if title is not None and title.text(strip=True):
        meta["page_title"] = normalize(title.text())
    if "title" not in meta:
        # Without an ArticleTitle the article's own heading beats a generic <title>.
        for node in tree.css("h1, h2, h3, .title, .article_title, .bt, .tit")[:30]:
            text = normalize(node.text())
            if is_title(compact(text)):
                meta["heading"] = text
                break
    return meta


def _content_container(tree: LexborHTMLParser) -> LexborNode | None:
    """The container holding the report: of the CMS containers on the page, the one with
    most of the report's words (the first listed wins a tie, so the inner TRS_Editor beats
    its article_content); the whole body when none holds at least half of them (an
    unknown CMS, or a sidebar div.content beside the article)."""
    body = tree.body
    best, best_weight = None, 0
    for selector in CONTAINERS:
        for node in tree.css(selector):
            weight = _report_weight(node)
            if weight > best_weight:
                best, best_weight = node, weight
        if best_weight >= _SURE:
            return best  # the report's own words are there: no need to weigh the rest
    if best is None or (body is not None and best_weight * 2 < _report_weight(body)):
        return body
    return best


def _report_weight(node: LexborNode) -> int:
    text = node.text(deep=True)
    return sum(text.count(word) for word in _REPORT_WORDS)


def _info_line(tree: LexborHTMLParser, meta: dict[str, str], container: LexborNode) -> None:
    """The 来源/日期 line: looked for in the container's nearest ancestors and around it
    first (it sits just outside the article), the whole body after: a portal page is mostly
    chrome, and searching all of its text for one line costs more than reading the report."""
    body = tree.body
    if body is None:
        return
    article = container.text(deep=True, separator=" ").strip()
    # Its nearest ancestors first, up to the window's reach: their text is the article and a
    # few lines more, where the whole page's text is mostly chrome (0.3 ms of a 250 KB page).
    node, searched = container.parent, None
    for _ in range(_ANCESTORS):  # a page nested hundreds deep costs no more than this
        if node is None or node.tag in ("body", "html"):
            break
        near = node.text(deep=True, separator=" ")
        if len(near) > len(article) + 2 * _AROUND:
            break
        # a level that adds only markup adds no line
        if len(near) > (len(article) if searched is None else len(searched)) + _NEW_LINE:
            _info_in(clean(_added(near, searched)), meta)
            searched = near
            if "pubdate" in meta and "source" in meta:
                return
        node = node.parent
    text = body.text(deep=True, separator=" ")
    at = text.find(article[:200]) if article else -1
    if at >= 0:
        _info_in(clean(text[max(0, at - _AROUND):at + len(article) + _AROUND]), meta)
        if "pubdate" in meta and "source" in meta:
            return
    _info_in(clean(text), meta)


# Characters of page text before and after the article searched for its info line next.
_AROUND = 4000
_NEW_LINE = 20  # characters an ancestor must add to the text to be searched
_ANCESTORS = 16  # levels climbed (the portal pages' line is six up)


def _added(near: str, searched: str | None) -> str:
    """The text an ancestor adds around the last one searched (its text is a stretch of
    the ancestor's): searching only that keeps each level's cost to its own lines."""
    at = -1 if searched is None else near.find(searched)
    if at < 0:
        return near
    return near[:at] + " " + near[at + len(searched):]


def _info_in(text: str, meta: dict[str, str]) -> None:
    if "pubdate" not in meta:
        date = labelled_date(text)
        if date:
            meta["pubdate"] = date
    if "source" not in meta:
        match = re.search(r"(?:来源|发布机构|信息来源)\s*[:：]\s*(\S{2,30})", text)
        if match:
            meta["source"] = match.group(1)


_PAGE_TAG = re.compile(r"<(?:html|body|p|div|br)\b", re.I)
_MARKDOWN = re.compile(r"^(?:#{1,6}|>|[-*+])\s+|\*\*")


class _Walker:
    """Depth-first walk emitting prose lines and table rows in reading order."""

    def __init__(self, document: Document, *, lines: bool = False):
        self.document = document
        self.line: list[str] = []
        self.tables = 0
        self.lines = lines  # line breaks in text end a line (text with inline tables)
        self.too_deep = False

    def walk(self, node: LexborNode) -> None:
        # An explicit stack, not recursion: a page nested thousands of levels deep is
        # read like any other (a browser shows it).
        stack = [(node.iter(include_text=True), False)]
        while stack:
            child = next(stack[-1][0], None)
            if child is None:
                if stack.pop()[1]:
                    self._flush()
                continue
            tag = child.tag
            if tag == "-text":
                self._text(child.text_content or "")
            elif tag in _SKIP or tag == "-comment":
                continue
            elif tag == "table" and len(child.css("table")) == 1:
                # (lexbor's css() includes the node itself; a table with tables inside
                # is page layout, walked into below)
                self._flush()
                self._table(child)
            elif len(stack) >= MAX_DEPTH:
                if not self.too_deep:
                    self.too_deep = True
                    self.document.problems.append(
                        f"the page nests elements more than {MAX_DEPTH} levels deep; "
                        "what lies deeper is not read")
            else:
                block = tag in _BLOCK
                if block:
                    self._flush()
                stack.append((child.iter(include_text=True), block))
        self._flush()

    def _text(self, text: str) -> None:
        if self.lines and "\n" in text:
            *done, text = text.split("\n")
            for part in done:
                self.line.append(part)
                self._flush()
        self.line.append(text)

    def _flush(self) -> None:
        text = clean("".join(self.line))
        if self.lines:
            text = _MARKDOWN.sub("", text)
        self.line = []
        if text:
            self.document.blocks.append(Block(text=text))

    def _table(self, table: LexborNode) -> None:
        index = self.tables
        self.tables += 1
        for cells in table_rows(table):
            if any(c.strip() for c in cells):
                self.document.blocks.append(Block(cells=cells, table=index))


def table_rows(table: LexborNode) -> list[list[str]]:
    """The table's rows with spans resolved: cell texts in column order, a colspan cell
    once, a rowspan cell once where it starts (an empty value cell below it)."""
    rows: list[list[str]] = []
    carried: dict[int, tuple[int, str]] = {}  # column -> (rows left, text) from rowspans
    # Only spanning cells have their attributes read (a dict of long styles per cell).
    spanning = {node.mem_id for node in table.css("[colspan], [rowspan]")}
    for tr in table.css("tr"):
        cells: list[str] = []
        column = 0
        tds = [c for c in tr.iter() if c.tag in ("td", "th")]
        taken = 0
        while taken < len(tds) or (carried and max(carried) >= column):
            if column in carried:
                left, text = carried[column]
                # A value merged over rows was printed once, for the first row; a label
                # carried down is a group label, already read where it starts.
                if is_value_text(text) and (column == 0 or carried.get(column - 1) != (left, text)):
                    cells.append("")
                carried = _step(carried, column, left)
                column += 1
                continue
            if taken == len(tds):
                column += 1
                if column > 200:
                    break
                continue
            td = tds[taken]
            taken += 1
            text = cell_text(td)
            span = rowspan = 1
            if td.mem_id in spanning:
                attrs = td.attributes
                span, rowspan = _int_attr(attrs.get("colspan")), _int_attr(attrs.get("rowspan"))
            cells.append(text)
            if rowspan > 1:
                for offset in range(span):
                    carried[column + offset] = (rowspan - 1, text)
            column += span
        rows.append(cells)
    return rows


def _step(carried: dict[int, tuple[int, str]], column: int, left: int):
    carried = dict(carried)
    if left <= 1:
        del carried[column]
    else:
        carried[column] = (left - 1, carried[column][1])
    return carried


def _int_attr(value: str | None) -> int:
    """A span attribute's value, 1 to 100 (65534 is a hostile page, not a table)."""
    if not value:
        return 1
    try:
        return max(1, min(int(value.strip()), 100))
    except ValueError:
        return 1


def cell_text(td: LexborNode) -> str:
    """A cell's text with its <p>/<br> breaks as spaces: "商业</p><p>企业" is read as a
    label either way, while "230</p><p>000023" stays visibly two numbers."""
    # Most cells hold one text in a chain of single elements (<td><p>80</p></td>): its
    # text is the cell's, without walking the cell node by node.
    node = td.child
    while node is not None and node.next is None and node.tag not in ("-text", "sup"):
        node = node.child
    if node is not None and node.next is None and node.tag == "-text":
        return clean(node.text_content or "")
    parts: list[str] = []
    superscript = False
    for node in td.traverse(include_text=True):
        tag = node.tag
        if tag == "-text":
            text = node.text_content or ""
            # 81<sup>1</sup> is 81 with footnote 1, not 811.
            parts.append(f"({text})" if superscript and text.strip() else text)
            superscript = False
        elif tag == "sup":
            superscript = True
        elif tag in _BLOCK:
            parts.append(" ")
    return clean("".join(parts))
