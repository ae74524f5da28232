"""Attachments of report pages: finding their links, naming them, telling their type.

Pure functions (no network), called by the crawler:

    find_attachments(html, base_url)     -> [Attachment(url, name, kind_hint, how), ...]
    attachment_kind(data, content_type, content_disposition, url) -> "pdf" | "docx" | ...
    filename_from_disposition(header)    -> "洪泽区2023年报告.pdf" | None

Links come in the shapes real portals print: TRS `./202402/P020240226....pdf`, Hanweb
`/module/download/downfile.jsp?classid=0&filename=<hex>.pdf&showname=<name>`, hrefs with
raw Chinese and spaces, `onclick="window.open('...')"`, pdf.js viewers (`viewer.html?
file=...`), `var pdfurl = "..."` in scripts, and extension-less links whose text names the
file. The type of what was fetched is decided by its bytes first: portals serve PDFs as
application/octet-stream, Word files as text/html, and error pages with status 200.
"""

from __future__ import annotations

import email.header
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, quote, unquote, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser

# Extensions of documents a report may be published as (archives kept: they get recorded).
DOC_EXTENSIONS = ("pdf", "doc", "docx", "wps", "xls", "xlsx", "et", "ofd", "rtf", "zip", "rar", "7z")
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp")
# Kinds the parsers can read (parsers.dispatch.READERS formats, legacy split out).
READABLE_KINDS = ("pdf", "docx", "xlsx", "doc", "xls", "wps", "et", "image", "html", "text")

_EXT = "|".join(DOC_EXTENSIONS)
_EXT_AT_END = re.compile(rf"\.({_EXT})$", re.I)
_IN_SCRIPT = re.compile(
    rf"""["']([^"'<>\s]{{0,300}}?\.(?:{_EXT})(?:\?[^"'<>\s]*)?)["']""", re.I
)
_OPEN_CALL = re.compile(
    r"""(?:window\.open|location(?:\.href)?\s*=|location\.assign|download\w*|openFile\w*)"""
    r"""\s*\(?\s*["']([^"']+)["']""", re.I
)
_DOWNLOAD_PATH = re.compile(r"(downfile|download|getfile|attach|fujian|file\.jsp|showfile)", re.I)
_NAME_PARAMS = ("showname", "filename", "fileName", "name", "title", "realname", "file")
_ICON_WORDS = re.compile(r"icon|logo|banner|ewm|qrcode|erweima|wx|weixin|share|arrow|bg", re.I)


@dataclass(frozen=True)
class Attachment:
    url: str  # absolute, safe to request (raw Chinese and spaces percent-encoded)
    name: str | None  # the file's name as the page gives it (showname, link text, path)
    kind_hint: str | None  # extension the link names ("pdf", "doc", ...); bytes decide later
    how: str  # "href", "onclick", "viewer", "embed", "script", "img": where it was found


# ---------------------------------------------------------------- finding links
def find_attachments(html: str, base_url: str, *, images: bool = False,
                     encoding: str = "utf-8") -> list[Attachment]:
    """Attachment links of a page, in page order, each once. `images=True` adds large
    <img> of the page (reports published as scans); `encoding` is the page's, which a
    browser uses for raw non-ASCII in query strings."""
    tree = LexborHTMLParser(html)
    base = _base(tree, base_url)
    every_link = under_download_path(base)
    found: dict[str, Attachment] = {}
    for how, raw, text in _candidates(tree, images):
        if not (every_link or how == "img" or may_be_attachment(raw, text)):
            continue
        attachment = _attachment(how, raw, text, base, encoding)
        if attachment is not None and attachment.url not in found:
            found[attachment.url] = attachment
    return list(found.values())


# What a link needs somewhere in its URL or text to be kept by _attachment: an extension
# (maybe with a %2e dot), a download path, a viewer. Links without any (a portal page's
# hundreds of menu links) are dropped before their URLs are joined, encoded and split:
# ~20 ms a 370 KB portal page otherwise, on the crawl's event loop.
# The crawler tests a page's bytes for the same hints before parsing it for links.
LINK_HINTS = (*(f".{ext}" for ext in DOC_EXTENSIONS), "%2e", "download", "downfile", "getfile",
              "attach", "fujian", "file.jsp", "showfile", "viewer", "pdfjs", "preview")


def under_download_path(url: str) -> bool:
    """A page under a download path: its relative links may be files without any hint of
    their own."""
    return bool(_DOWNLOAD_PATH.search(urlsplit(url).path))


def may_be_attachment(raw: str, text: str) -> bool:
    low = f"{raw} {text}".lower()
    return any(hint in low for hint in LINK_HINTS)


def _base(tree, base_url: str) -> str:
    node = tree.css_first("base[href]")
    href = (node.attributes.get("href") or "").strip() if node else ""
    return urljoin(base_url, href) if href else base_url


def _candidates(tree, images: bool):
    """(how, raw url, link text) in page order. Pictures only from the article itself
    (portal chrome is full of banners and icons); document links from anywhere (many
    portals list attachments below the article, outside its container)."""
    article = _article(tree) if images else None
    # mem_id: selectolax makes a new Python object for a node at each access
    pictures = {n.mem_id for n in article.css("img")} if article is not None else None
    for node in tree.css("a, area, button, span, div, li, td, input, iframe, embed, object, img"):
        attrs = node.attributes
        text = " ".join((node.text(deep=True) or "").split()) if node.tag in ("a", "area") else ""
        href = (attrs.get("href") or "").strip()
        if href.lower().startswith("javascript:"):
            yield from (("onclick", url, text) for url in _OPEN_CALL.findall(href))
        elif href and node.tag in ("a", "area"):
            yield "href", href, text
        for url in _OPEN_CALL.findall(attrs.get("onclick") or ""):
            yield "onclick", url, text
        source = attrs.get("src") or attrs.get("data") or ""
        if node.tag in ("iframe", "embed", "object") and source:
            yield "embed", source.strip(), ""
        if images and node.tag == "img" and source and _large_image(attrs) \
                and (pictures is None or node.mem_id in pictures):
            yield "img", source.strip(), attrs.get("alt") or ""
    for script in tree.css("script"):
        for url in _IN_SCRIPT.findall(script.text() or ""):
            yield "script", url, ""


def _article(tree):
    """The report's content container, as the HTML reader finds it."""
    from xxgk.parsers.html import CONTAINERS

    for selector in CONTAINERS:
        node = tree.css_first(selector)
        if node is not None:
            return node
    return None


def _large_image(attrs: dict) -> bool:
    """A picture that can be a report page: not an icon, logo or QR code."""
    source = attrs.get("src") or ""
    if _ICON_WORDS.search(source) or source.startswith("data:"):
        return False
    for name in ("width", "height"):
        value = re.match(r"\d+", attrs.get(name) or "")
        if value and int(value.group()) < 200:
            return False
    return True


def _attachment(how: str, raw: str, text: str, base: str, encoding: str) -> Attachment | None:
    raw = raw.strip().replace("\\/", "/")
    if not raw or raw.startswith(("#", "mailto:", "tel:", "data:")):
        return None
    viewer = _viewer_file(raw)
    if viewer:
        raw, how = viewer, "viewer"
    url = encode_url(urljoin(base, raw), encoding)
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    name = _name(url, text)
    kind = _kind_hint(url, name, text)
    if how == "img":
        return Attachment(url, name, _path_extension(url) or "image", how)
    if kind is None and not _download_link(url, text, how):
        return None
    return Attachment(url, name, kind, how)


def _download_link(url: str, text: str, how: str) -> bool:
    """No extension anywhere: a download script (downfile.jsp?id=...) still counts when
    the link says it is a file, so menus like /download.html are left out."""
    parts = urlsplit(url)
    if how == "embed" or not _DOWNLOAD_PATH.search(parts.path):
        return False
    if parts.query:
        return True
    page = re.search(r"\.(s?html?|jhtml|php|aspx?)$", parts.path, re.I)
    return not page and bool(re.search(r"附件|下载|报告|年报", text))


def _viewer_file(raw: str) -> str | None:
    """pdf.js and similar viewers: the document is the `file=` parameter."""
    parts = urlsplit(raw)
    if not re.search(r"viewer|pdfjs|preview", parts.path, re.I):
        return None
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key.lower() in ("file", "url", "src") and value:
            return value
    return None


def _name(url: str, text: str) -> str | None:
    """showname/filename parameters first (Hanweb), then the link text, then the path."""
    query = dict(parse_qsl(urlsplit(url).query))
    for key in _NAME_PARAMS:
        value = query.get(key)
        if value and not re.fullmatch(r"[0-9a-fA-F]{16,}(\.\w+)?", value):
            return value.strip()
    text = text.strip()
    if text and len(text) <= 200:
        return text
    stem = unquote(PurePosixPath(urlsplit(url).path).name)
    return stem or None


def _kind_hint(url: str, name: str | None, text: str) -> str | None:
    parts = urlsplit(url)
    for candidate in (parts.path, *(v for _, v in parse_qsl(parts.query)), name or "", text):
        match = _EXT_AT_END.search(unquote(candidate).strip())
        if match:
            return match.group(1).lower()
    return None


def _path_extension(url: str) -> str | None:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower().lstrip(".")
    return suffix or None


def encode_url(url: str, encoding: str = "utf-8") -> str:
    """Percent-encode what a browser would before sending: raw Chinese, spaces, `|`.
    Existing %XX escapes are kept; the path is UTF-8, the query the page's encoding."""
    parts = urlsplit(url.strip())
    path = quote(parts.path, safe="/%:@!$&'()*+,;=~-._")
    query = quote(parts.query, safe="=&%:@!$'()*+,;/?~-._", encoding=encoding, errors="replace")
    host = parts.netloc.encode("idna").decode("ascii") if not parts.netloc.isascii() else parts.netloc
    return urlunsplit((parts.scheme, host, path, query, ""))


# ---------------------------------------------------------------- naming
def filename_from_disposition(header: str | bytes | None) -> str | None:
    """The file name a Content-Disposition header gives: `filename*=UTF-8''...` (RFC 6266)
    first, then `filename=` as sent (quoted, percent-encoded UTF-8, MIME-encoded, or raw
    GBK bytes, which arrive here as Latin-1 text). Only the last path component is kept."""
    if not header:
        return None
    text = _header_text(header)
    extended = re.search(r"filename\*\s*=\s*([\w-]+)?'[^']*'([^;]+)", text, re.I)
    if extended:
        charset = extended.group(1) or "utf-8"
        name = unquote(extended.group(2).strip().strip('"'), encoding=_codec(charset),
                       errors="replace")
        return _basename(name)
    plain = re.search(r"""filename\s*=\s*("([^"]*)"|'([^']*)'|[^;]+)""", text, re.I)
    if not plain:
        return None
    name = plain.group(2) if plain.group(2) is not None else plain.group(3) or plain.group(1)
    return _basename(_decode_name(name.strip()))


def _header_text(header: str | bytes) -> str:
    """Raw header bytes decoded UTF-8, else GB18030; a str that is Latin-1 mojibake of
    such bytes (what HTTP clients make of raw GBK) is decoded the same way."""
    if isinstance(header, bytes):
        raw = header
    else:
        try:
            raw = header.encode("latin-1")
        except UnicodeEncodeError:
            return header  # already real text
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _decode_name(name: str) -> str:
    if name.startswith("=?") and "?=" in name:
        parts = email.header.decode_header(name)
        return "".join(p.decode(c or "utf-8", "replace") if isinstance(p, bytes) else p
                       for p, c in parts)
    if re.search(r"%[0-9A-Fa-f]{2}", name):
        for codec in ("utf-8", "gb18030"):
            try:
                return unquote(name, encoding=codec, errors="strict")
            except UnicodeDecodeError:
                continue
    return name


def _codec(charset: str) -> str:
    charset = charset.lower()
    return "gb18030" if charset in ("gbk", "gb2312", "gb18030", "cp936") else charset


def _basename(name: str) -> str | None:
    name = re.split(r"[\\/]", name.strip())[-1].strip()
    return name or None


# ---------------------------------------------------------------- type
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def attachment_kind(data: bytes, content_type: str | None, content_disposition: str | None,
                    url: str) -> str:
    """What a fetched body is: the bytes decide, headers and URL only break ties.

    Returns "pdf", "docx", "xlsx", "doc", "xls", "wps", "et", "ole" (another OLE2 file),
    "ofd", "zip", "rar", "7z", "image", "html" (often an error or login page served in
    place of the file), "text", "empty" or "unknown"."""
    if not data or not data.strip():
        return "empty"
    named = _named_extension(content_disposition, url)
    by_bytes = _kind_from_bytes(data, named)
    if by_bytes is not None:
        return by_bytes
    if _looks_textual(data):
        mime = (content_type or "").split(";")[0].strip().lower()
        return "html" if "html" in mime and b"<" in data[:4096] else "text"
    # Every binary format we read has a signature; bytes without one are not what the
    # headers claim (a truncated or mislabeled body), whatever Content-Type says.
    return "unknown"


def _named_extension(content_disposition: str | None, url: str) -> str | None:
    name = filename_from_disposition(content_disposition) or ""
    for candidate in (name, urlsplit(url).path, *(v for _, v in parse_qsl(urlsplit(url).query))):
        match = re.search(r"\.(\w{2,5})$", unquote(candidate).strip())
        if match:
            return match.group(1).lower()
    return None


def _kind_from_bytes(data: bytes, named: str | None) -> str | None:
    head = data[:2048]
    if head.startswith(b"%PDF") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(data, named)
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in lowered[:512] \
            or (lowered.startswith(b"<") and any(t in lowered for t in (b"<body", b"<div", b"<table", b"<script"))):
        return "html"
    return None


def _zip_kind(data: bytes) -> str:
    window = data[:65536] + data[-65536:]
    if b"word/" in window:
        return "docx"
    if b"xl/" in window:
        return "xlsx"
    if b"OFD.xml" in window or b"Doc_0/" in window:
        return "ofd"
    return "zip"


def _ole_kind(data: bytes, named: str | None) -> str:
    window = data[: 1 << 20]
    if "WordDocument".encode("utf-16-le") in window:
        return "wps" if named == "wps" else "doc"
    if "Workbook".encode("utf-16-le") in window or "Book".encode("utf-16-le") in window:
        return "et" if named == "et" else "xls"
    return "ole"


def _looks_textual(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > 2:
        return False
    for codec in ("utf-8", "gb18030"):
        if sample.decode(codec, "replace").count("\ufffd") <= 2:  # a cut last character
            return True
    return False


# ---------------------------------------------------------------- page vs attachment
DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # issue 5: larger attachments are recorded as too large


def disagreements(first, second, names: tuple[str, str] = ("page", "attachment")) -> list[str]:
    """Cells that two reports (`parsers.model.Report`) both print, with different values:
    "table3.new_received.total: page '21', attachment '12'"."""
    theirs = {c.key: c for c in second.cells if not c.derived}
    out = []
    for cell in first.cells:
        other = theirs.get(cell.key)
        if other is not None and not cell.derived and other.value != cell.value:
            out.append(f"{cell.key}: {names[0]} {cell.raw!r}, {names[1]} {other.raw!r}")
    return out


def pick_report(page, attachments: list):
    """The one report a report page yields, from the page and its attachments' reports.

    The page itself when it printed the tables; else the attachment with the most cells
    (a stub page linking to its PDF). Every other attachment that is a report is
    cross-checked against the chosen one and disagreements go to its `problems`.
    Returns (report, source) with source "page" or the index of the attachment."""
    candidates = [("page", page)] + list(enumerate(attachments))
    readable = [(s, r) for s, r in candidates if r.template_version in ("v2019", "v2021")]
    if not readable:
        legacy = [(s, r) for s, r in candidates if r.template_version == "legacy"]
        readable = legacy or [("page", page)]
    source, chosen = readable[0] if readable[0][0] == "page" and page.cells else max(
        readable, key=lambda item: len(item[1].cells))
    def name(src) -> str:
        return "page" if src == "page" else f"attachment {src + 1}"

    for other_source, other in readable:
        if other is chosen:
            continue
        for line in disagreements(chosen, other, (name(source), name(other_source))):
            chosen.problems.append(f"sources disagree: {line}")
    return chosen, source
