"""Truncated PDFs (a download cut by a byte cap or a dropped connection).

The cross-reference table and trailer sit at the end of a PDF, and often the page tree
too (LibreOffice writes it last), so a cut file does not open at all, although its first
pages may have arrived whole. Here the complete objects are kept, the pages that arrived
whole with everything they draw with (contents, fonts, images) are found in reading
order, and a new page tree of those pages and a trailer are appended: pdfium rebuilds the
cross-references by scanning the objects and reads just those pages. A page that lost any
object it draws with ends the kept pages: its text could be missing or drawn in a
substitute font, and a value is never read from half a page. Objects packed in an object
stream (PDF 1.5, as Word writes) count as arrived when the whole stream did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from isal import isal_zlib

_OBJECT = re.compile(rb"(?<![\d])(\d{1,10})\s+(\d{1,5})\s+obj\b")
_REF = re.compile(rb"(\d{1,10})\s+\d{1,5}\s+R\b")
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_PAGES = re.compile(rb"/Type\s*/Pages\b")
_CATALOG = re.compile(rb"/Type\s*/Catalog\b")
_OBJECT_STREAM = re.compile(rb"/Type\s*/ObjStm\b")
# Keys whose objects a page does not draw with: its parent and siblings in the page tree,
# annotations and links (which point at other pages), beads, thumbnails.
_NOT_DRAWN = (b"Parent", b"P", b"Kids", b"Annots", b"B", b"Thumb", b"Dest", b"Dests", b"A",
              b"Outlines", b"First", b"Last", b"Next", b"Prev")
_END_MARK = b"%%EOF"


@dataclass
class Truncated:
    """A cut file made readable: `data` holds only the pages that arrived whole."""

    data: bytes
    pages: int  # pages kept, from the first, in reading order
    total: int | None  # pages the file's own page tree announces, when that arrived


def is_truncated(data: bytes) -> bool:
    """A PDF ends with %%EOF after its last object; a cut download does not. Bytes after
    the %%EOF (a server's error page appended, padding) are not a cut."""
    if not data.startswith(b"%PDF") or _END_MARK in data[-1024:]:
        return False
    return data.rfind(_END_MARK) < data.rfind(b"endobj")


def repair(data: bytes) -> Truncated:
    """The complete objects of `data` with a page tree of its whole pages and a trailer."""
    objects = _complete_objects(data)
    order, total = _page_order(objects)
    kept: list[int] = []
    whole: set[int] = set()  # objects already found whole with all they refer to
    for number in order:
        if number is None or not _drawable(number, objects, whole):
            break
        kept.append(number)
    end = max((span[1] for span in objects.values()), default=0)
    pages, catalog = max(objects, default=0) + 1, max(objects, default=0) + 2
    kids = " ".join(f"{n} {objects[n][2]} R" for n in kept)
    tail = (f"\n{pages} 0 obj\n<</Type/Pages/Kids[{kids}]/Count {len(kept)}>>\nendobj\n"
            f"{catalog} 0 obj\n<</Type/Catalog/Pages {pages} 0 R>>\nendobj\n"
            f"trailer\n<</Size {catalog + 1}/Root {catalog} 0 R>>\n%%EOF\n")
    return Truncated(data[:end] + tail.encode("ascii"), len(kept), total)


def _complete_objects(data: bytes) -> dict[int, tuple[int, int, int, bytes]]:
    """Object number -> (start, end, generation, dictionary bytes) of every object that
    arrived up to its `endobj` (the last definition wins, as in an updated file)."""
    heads = list(_OBJECT.finditer(data))
    objects: dict[int, tuple[int, int, int, bytes]] = {}
    packed = []  # object streams: their objects count as arrived when the stream did
    for k, head in enumerate(heads):
        stop = heads[k + 1].start() if k + 1 < len(heads) else len(data)
        body = data[head.end():stop]
        close = body.rfind(b"endobj")
        if close < 0:
            continue
        stream = body.find(b"stream", 0, close)
        head_dict = body[:stream if stream >= 0 else close]
        span = (head.start(), head.end() + close + 6)
        objects[int(head[1])] = (*span, int(head[2]), head_dict)
        if _OBJECT_STREAM.search(head_dict) and stream >= 0:
            packed.append((span, head_dict, body[stream:close]))
    for span, head_dict, stream in packed:
        for number, text in _packed_objects(head_dict, stream):
            objects.setdefault(number, (*span, 0, text))  # a plain definition wins
    return objects


def inflated(raw: bytes) -> bytes | None:
    """A /FlateDecode stream's bytes, or None when it does not decompress to its end (a cut
    or damaged stream). ISA-L's inflate: zlib's checks (deflate blocks, Adler-32), 2.5x
    faster; inflating every stream of a file was a tenth of reading a 5-page report."""
    inflater = isal_zlib.decompressobj()
    try:
        out = inflater.decompress(raw)
    except isal_zlib.error:
        return None
    return out if inflater.eof else None


def _packed_objects(head: bytes, stream: bytes) -> list[tuple[int, bytes]]:
    """The objects of a whole object stream (PDF 1.5 /ObjStm): numbers and texts."""
    first = re.search(rb"/First\s+(\d+)", head)
    begin = re.match(rb"stream\r?\n", stream)
    if first is None or begin is None:
        return []
    raw = stream[begin.end():].rstrip(b"\r\n")
    raw = raw[: raw.rfind(b"endstream")] if b"endstream" in raw else raw
    if b"/FlateDecode" in head:
        raw = inflated(raw)
        if raw is None:
            return []
    elif b"/Filter" in head:
        return []  # other filters: not looked into
    start = int(first[1])
    pairs = [int(n) for n in raw[:start].split()]
    offsets = list(zip(pairs[::2], pairs[1::2], strict=False))
    return [(number, raw[start + at: start + (offsets[k + 1][1] if k + 1 < len(offsets) else len(raw) - start)])
            for k, (number, at) in enumerate(offsets)]


def _page_order(objects) -> tuple[list[int | None], int | None]:
    """Page object numbers in reading order (None where the tree lost a page), and the
    page count the tree announces. Without a catalog and page tree, file order."""
    catalog = next((o for o in objects.values() if _CATALOG.search(o[3])), None)
    root = _ref_of(catalog[3], b"Pages") if catalog else None
    if root is None or root not in objects:
        return [n for n, o in sorted(objects.items(), key=lambda item: item[1][0])
                if _PAGE.search(o[3])], None
    count = re.search(rb"/Count\s+(\d+)", objects[root][3])
    return _leaves(root, objects), int(count[1]) if count else None


def _leaves(root: int, objects) -> list[int | None]:
    """The page tree's leaves in order, walked without recursion (a tree may be deep)."""
    order: list[int | None] = []
    todo, seen = [root], set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue  # a loop in a damaged tree
        seen.add(node)
        head = objects[node][3] if node in objects else b""
        if not _PAGES.search(head):
            order.append(node if _PAGE.search(head) else None)
            continue
        listed = re.search(rb"/Kids\s*\[([^\]]*)\]", head)
        todo += reversed([int(kid) for kid in _REF.findall(listed[1])] if listed else [])
    return order


def _ref_of(head: bytes, key: bytes) -> int | None:
    match = re.search(rb"/" + key + rb"\s+(\d+)\s+\d+\s+R", head)
    return int(match[1]) if match else None


def _drawable(page: int, objects, whole: set[int]) -> bool:
    """Every object the page draws with (contents, resources and what they refer to,
    resources inherited from its parents too) arrived whole. `whole` holds objects found
    so for earlier pages (fonts are shared) and takes this page's when it is whole."""
    todo, seen = [(page, False)], {page} | whole
    parent = _ref_of(objects[page][3], b"Parent")
    while parent is not None and parent in objects and parent not in seen:
        todo.append((parent, False))  # inherited /Resources, /MediaBox
        seen.add(parent)
        parent = _ref_of(objects[parent][3], b"Parent")
    while todo:
        number, mapped = todo.pop()
        if number not in objects:
            return False
        head = objects[number][3]
        mapped = mapped or b"/ToUnicode" in head
        for ref in map(int, _REF.findall(_without_links(head, mapped))):
            if ref not in seen:
                seen.add(ref)
                todo.append((ref, mapped))
    whole.update(seen)
    return True


def _without_links(head: bytes, mapped: bool) -> bytes:
    """A dictionary without the entries that point away from what a page draws. A font
    with its own /ToUnicode map is read through that map, not through the /CIDSystemInfo
    of its descendant fonts (which writers share between fonts and put last)."""
    keys = b"|".join(_NOT_DRAWN + ((b"CIDSystemInfo",) if mapped else ()))
    return re.sub(rb"/(?:" + keys + rb")(?![A-Za-z])\s*(\[[^\]]*\]|\d+\s+\d+\s+R)", b"", head)
