"""Bytes to text for pages and text files, as browsers decode them: BOM, then the
declared charset (HTTP header or <meta>), then charset-normalizer; once the encoding is
known, bytes it cannot read become U+FFFD and are counted and located (`Decoded.damage`).
GB2312 and GBK are decoded as GB18030, their superset, because real pages declare gb2312
and use characters outside it.
"""

from __future__ import annotations

import codecs
import re
import threading
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Decoded:
    """Text decoded as a browser decodes it, and the bytes that could not be read."""

    text: str
    encoding: str
    damage: tuple[tuple[int, int], ...] = ()  # (start, end) byte ranges replaced by U+FFFD

    @property
    def replaced(self) -> int:
        return sum(end - start for start, end in self.damage)

    def problem(self) -> str | None:
        """One line saying how many bytes were replaced and where, or None."""
        if not self.damage:
            return None
        runs = ", ".join(f"{s}" if e - s == 1 else f"{s}-{e - 1}" for s, e in self.damage[:5])
        more = f" and {len(self.damage) - 5} more runs" if len(self.damage) > 5 else ""
        return (f"{self.replaced} undecodable or NUL bytes replaced by U+FFFD ({self.encoding}) at "
                f"byte {runs}{more}; numbers they touch are not read")


def decode(data: bytes, *, content_type: str | None = None, forced: str | None = None,
           fallback: str | None = None) -> tuple[str, str]:
    """(text, encoding used), see `decode_text`."""
    decoded = decode_text(data, content_type=content_type, forced=forced, fallback=fallback)
    return decoded.text, decoded.encoding


def decode_text(data: bytes, *, content_type: str | None = None, forced: str | None = None,
                fallback: str | None = None) -> Decoded:
    """Decode as browsers do, see `_decode`; NUL bytes count as damage too: an HTML
    parser drops them, and "1<NUL>2" must not be read as 12."""
    decoded = _decode(data, content_type=content_type, forced=forced, fallback=fallback)
    if b"\x00" not in data or decoded.encoding.startswith("utf-16"):  # (bytes: memchr)
        return decoded
    nuls = [(m.start(), m.start() + 1) for m in re.finditer(b"\x00", data)]
    return Decoded(decoded.text.replace("\x00", "\ufffd"), decoded.encoding,
                   tuple(sorted(decoded.damage + tuple(nuls))))


def _decode(data: bytes, *, content_type: str | None, forced: str | None,
            fallback: str | None) -> Decoded:
    """Decode as browsers do (WHATWG): `forced`, then BOM, then the declared charsets
    (a wrong declaration is common: one that reads every byte beats one that does not),
    then UTF-8, then charset-normalizer. Once the encoding is known, bytes it cannot
    read become U+FFFD and are listed in `damage`: one bad byte, or a GBK phrase pasted
    into a UTF-8 page, costs that run only. DecodeError only for input that is no text
    in any encoding (and no `fallback` was given)."""
    if forced and canonical(forced):
        return _lenient(data, canonical(forced))
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            decoded = _lenient(data[len(bom):], encoding)
            shift = len(bom)
            return Decoded(decoded.text, encoding,
                           tuple((s + shift, e + shift) for s, e in decoded.damage))
    candidates = list(dict.fromkeys([*declared_charsets(data, content_type), "utf-8"]))
    for encoding in candidates:
        try:
            return Decoded(data.decode(encoding), encoding)
        except UnicodeDecodeError:
            continue
    # No candidate reads every byte: the one that reads nearly all of them is the page's
    # encoding with some damage. GB18030 is weighed too: a GBK page declared UTF-8 reads
    # as UTF-8 with only a few percent of its bytes bad, and as GB18030 with none.
    readings = [_lenient(data, encoding)
                for encoding in dict.fromkeys([*candidates, "gb18030"])]
    best = min(readings, key=lambda d: d.replaced)  # the first of equals: declared first
    if best.replaced <= _TOLERATED * max(1, _non_ascii(data)):
        return best
    detected = _detect(data)
    if detected is not None:
        return _lenient(data, detected)
    if fallback:
        return _lenient(data, fallback)
    raise DecodeError("text in an unknown encoding")


# At most this share of a page's non-ASCII bytes may be undecodable in the encoding it is
# read in: a pasted phrase or flipped bytes, not a page in another encoding.
_TOLERATED = 0.05


def _non_ascii(data: bytes) -> int:
    return len(data) - len(data.translate(None, bytes(range(128))))


def _detect(data: bytes) -> str | None:
    best = from_bytes(data[:200_000]).best()
    encoding = canonical(best.encoding) if best is not None and best.encoding else None
    if encoding != "gb18030" and _looks_chinese_gb(data):
        encoding = "gb18030"
    return encoding


def _lenient(data: bytes, encoding: str) -> Decoded:
    """`data` decoded with U+FFFD for what `encoding` cannot read, and where that was."""
    _runs.damage = damage = []
    try:
        text = data.decode(encoding, errors=_RECORD)
    finally:
        _runs.damage = None
    return Decoded(text, encoding, tuple(damage))


# One error handler for the process; the runs it records are per thread.
_runs = threading.local()
_RECORD = "xxgk-record-damage"


def _record(error: UnicodeDecodeError) -> tuple[str, int]:
    damage = getattr(_runs, "damage", None)
    if damage is not None:
        if damage and damage[-1][1] == error.start:
            damage[-1] = (damage[-1][0], error.end)  # one run, however many bad bytes
        else:
            damage.append((error.start, error.end))
    return "\ufffd", error.end


codecs.register_error(_RECORD, _record)


def _looks_chinese_gb(data: bytes) -> bool:
    """charset-normalizer sometimes names big5 or a Cyrillic code page for short GBK
    text; gb18030 decoding it cleanly with many CJK characters is the better reading."""
    try:
        text = data[:20000].decode("gb18030")
    except UnicodeDecodeError:
        return False
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return cjk > 0.2 * max(1, len(text.strip()))
