"""Bytes to text for pages and text files: BOM, then the declared charset (HTTP header
or <meta>), then charset-normalizer. GB2312 and GBK are decoded as GB18030, their
superset, because real pages declare gb2312 and use characters outside it.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_GB_FAMILY = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "euc-cn", "hz-gb-2312", "gb18030"}


class DecodeError(ValueError):
    pass


def canonical(charset: str | None) -> str | None:
    """A Python codec name for a declared charset, GB* widened to gb18030."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    if name in _GB_FAMILY or name.startswith("gb"):
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_charsets(data: bytes, content_type: str | None = None) -> list[str]:
    """The charsets the server (Content-Type) and the page (<meta>) declare, in that order."""
    found = []
    if content_type:
        match = _HEADER_CHARSET.search(content_type)
        if match and canonical(match.group(1)):
            found.append(canonical(match.group(1)))
    match = _META_CHARSET.search(data[:4096])
    if match and canonical(match.group(1).decode("ascii", "replace")):
        found.append(canonical(match.group(1).decode("ascii", "replace")))
    return found


def decode(data: bytes, *, content_type: str | None = None, forced: str | None = None,
           fallback: str | None = None) -> tuple[str, str]:
    """(text, encoding used): `forced`, then BOM, then the declared charsets (a wrong
    declaration is common: the next is tried), then UTF-8, then charset-normalizer.
    Without a `fallback` encoding, bytes no detector can read raise DecodeError."""
    if forced and canonical(forced):
        return data.decode(canonical(forced), errors="replace"), canonical(forced)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace"), encoding
    for declared in declared_charsets(data, content_type):
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            continue
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:200_000]).best()
    encoding = canonical(best.encoding) if best is not None and best.encoding else None
    if encoding != "gb18030" and _looks_chinese_gb(data):
        encoding = "gb18030"
    encoding = encoding or fallback
    if encoding is None:
        raise DecodeError("text in an unknown encoding")
    return data.decode(encoding, errors="replace"), encoding


def _looks_chinese_gb(data: bytes) -> bool:
    """charset-normalizer sometimes names big5 or a Cyrillic code page for short GBK
    text; gb18030 decoding it cleanly with many CJK characters is the better reading."""
    try:
        text = data[:20000].decode("gb18030")
    except UnicodeDecodeError:
        return False
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return cjk > 0.2 * max(1, len(text.strip()))
