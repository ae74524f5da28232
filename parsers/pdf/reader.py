"""The entry point: opens the PDF with an engine, reads each page (grids and prose),
asks pdfminer for a second opinion only where pdfium's text is unusable, and checks the
text layer."""

from __future__ import annotations

import io
import os
import re

from xxgk.parsers.dispatch import NeedsOCR, ReadError
from xxgk.parsers.document import Block, Document
from xxgk.parsers.pdf.borderless import _labels_over_pages, _prose
from xxgk.parsers.pdf.lines import _center, _clean_chars
from xxgk.parsers.pdf.model import PageData, Part, Placed
from xxgk.parsers.pdf.pages import _drop_running_lines, _stitch
from xxgk.parsers.pdf.pdfium_engine import _PDFIUM_LOCK, _open_pdfium
from xxgk.parsers.pdf.plumber_engine import _open_pdfplumber, _plumber_page
from xxgk.parsers.pdf.repair import Truncated, inflated, is_truncated, repair
from xxgk.parsers.pdf.ruled import _UNMAPPED, _part, _rules_missing
from xxgk.parsers.pdf.rulings import _grids

MIN_TEXT_CHARS = 20  # fewer characters than this over scanned pages: a scan with a stamp


ENGINES = ("pdfium", "pdfplumber")


def read(data: bytes, *, name: str, engine: str | None = None) -> Document:
    """Bytes of a PDF to a `Document`; NeedsOCR when there is no text layer.

    Characters and rulings come from pdfium (C, ~20x faster) by default, or from
    pdfplumber/pdfminer (`engine="pdfplumber"` or XXGK_PDF_ENGINE=pdfplumber); both feed the
    same grid and row logic, and the tests hold them to the same rows on every fixture.
    A truncated file is read up to its last page that arrived whole (`repair`)."""
    engine = engine or os.environ.get("XXGK_PDF_ENGINE") or "pdfium"
    if engine not in ENGINES:
        raise ValueError(f"unknown PDF engine {engine!r}; one of {ENGINES}")
    cut = None
    if is_truncated(data):
        try:
            cut = repair(data)
        except MemoryError:  # the parse worker's memory limit: its own reason
            raise
        except Exception as error:  # a damaged tail must not become a traceback
            raise ReadError(f"truncated PDF could not be repaired: {_reason(error)}") from None
        if not cut.pages:
            raise ReadError(f"truncated PDF (cut at {len(data)} bytes): no page arrived whole")
        data = cut.data
    broken = _broken_streams(data)
    if broken:
        engine = "pdfplumber"  # pdfminer recovers more of a broken stream than pdfium
    if engine == "pdfium":
        with _PDFIUM_LOCK:  # pdfium is not thread-safe; a crawler may parse in threads
            doc = _read_with(_open_pdfium, data, broken)
    else:
        doc = _read_with(_open_pdfplumber, data, broken)
    if cut is not None:
        _say_truncated(doc, cut)
    return doc


def _say_truncated(doc: Document, cut: Truncated) -> None:
    """A cut file is partial at best: what was read is said, and how much is missing."""
    if cut.total is not None and cut.pages >= cut.total:
        doc.problems.insert(0, f"PDF cut after its last page (its cross-reference table was "
                               f"lost): every page read ({cut.pages})")
        return
    of = f" of {cut.total}" if cut.total is not None else ""
    doc.problems.insert(0, f"truncated PDF: truncated after page {cut.pages}{of}; the pages "
                           "after it did not arrive whole and were not read")
    doc.incomplete = True


def _read_with(opener, data: bytes, broken: int) -> Document:
    try:
        pages, info, close, sound = opener(data)
    except MemoryError:  # the parse worker's memory limit: its own reason
        raise
    except Exception as error:  # both engines raise many types for broken files
        raise ReadError(f"not a readable PDF: {_reason(error)}") from None
    # pdfminer's second opinion: where pdfium could not map glyphs, and where it left a
    # table cell blank in a file it had to repair (text may be lost with an object)
    recheck = _SecondOpinion(data, blanks=not sound) if opener is _open_pdfium else None
    try:
        doc = _read_pdf(pages, info, recheck)
        if broken:
            _distrust_numbers(doc)
            doc.problems.insert(0, f"damaged PDF: {broken} compressed streams do not decompress "
                                   "or fail their checksum; the text that could be recovered was "
                                   "read, but no number is: a damaged stream can draw other digits")
        return doc
    except (NeedsOCR, ReadError):
        raise
    except MemoryError:  # the parse worker's memory limit: its own reason
        raise
    except Exception as error:  # a malformed page must not become a traceback
        raise ReadError(f"PDF could not be read: {_reason(error)}") from None
    finally:
        _quietly(close)
        if recheck is not None:
            _quietly(recheck.close)


def _quietly(close) -> None:
    """Closing a broken file can raise again (pdfplumber walks its pages to close them)."""
    try:
        close()
    except Exception:  # nothing left to report: the read itself has succeeded or failed
        pass


_FLATE_STREAM = re.compile(rb"/FlateDecode[^>]*>>\s*stream\r?\n")


def _broken_streams(data: bytes) -> int:
    """Compressed streams that do not decompress to their end: a damaged file (a cut
    download, a bad copy), where pdfium silently drops the rest of a page's text."""
    if b"/Encrypt" in data:
        return 0  # encrypted streams only decompress after decryption
    broken = 0
    for match in _FLATE_STREAM.finditer(data):
        end = data.find(b"endstream", match.end())
        broken += inflated(data[match.end(): end if end >= 0 else len(data)]) is None
    return broken


# A table cell that holds a number (with its separators, signs and a trailing note mark):
# row labels such as "1.本机关不掌握相关政府信息" hold digits too, and must keep their rows.
_NUMBER_CELL = re.compile(r"^[\s\d.,，+\-−/%（）()]*\d[\s\d.,，+\-−/%（）()]*$")


def _distrust_numbers(doc: Document) -> None:
    """Mark every number cell of a damaged file as unreadable (U+FFFD, as undecodable bytes
    are marked): deflate checks nothing per block, so a flipped byte decodes to other digits,
    and which page's stream drew which cell is not known. Cells are lost, never invented."""
    for block in doc.blocks:
        if block.cells is not None:
            block.cells = [c + "\ufffd" if _NUMBER_CELL.match(c) else c for c in block.cells]


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())[:200]
    if "password" in text.lower():
        return "encrypted (password protected)"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class _SecondOpinion:
    """pdfminer's reading of one page, opened only when pdfium's is in doubt."""

    def __init__(self, data: bytes, *, blanks: bool):
        self.data, self.pdf = data, None
        self.blanks = blanks  # blank table cells are in doubt too (a repaired file)

    def page(self, number: int) -> PageData | None:
        try:
            if self.pdf is None:
                import pdfplumber

                self.pdf = pdfplumber.open(io.BytesIO(self.data))
            return _plumber_page(self.pdf.pages[number - 1])
        except Exception:  # no second opinion on a file pdfminer cannot read
            return None

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()


def _read_checked(page: PageData, recheck: _SecondOpinion | None, problems: list[str]) -> list:
    """A page's items. Where pdfium's text is unusable (glyphs it could not map in a
    table cell, or blank cells in a file it had to repair), pdfminer reads the page too;
    if the two differ, the reading with more characters is kept and it is said. A blank
    cell of a sound file is a blank: pdfminer would read the same page again, ten times
    slower (see README, "Where the time goes")."""
    found: list[str] = []
    items = _read_page(page, found)
    if recheck is not None and _doubtful(items, recheck.blanks):
        other = recheck.page(page.number)
        if other is not None:
            other_found: list[str] = []
            other_items = _read_page(other, other_found)
            if _table_rows(other_items) != _table_rows(items):
                if len(other.chars) > len(page.chars):
                    items, found = other_items, other_found
                found.append(f"page {page.number}: the PDF's two text engines read its tables "
                             "differently (damaged or unusual PDF); the fuller reading was kept")
    problems.extend(found)
    return items


def _doubtful(items: list, blanks: bool) -> bool:
    return any((blanks and cell == "") or _UNMAPPED.search(cell)
               for item in items if isinstance(item, Part) for row in item.rows for cell in row)


def _table_rows(items: list) -> list[list[str]]:
    return [row for item in items if isinstance(item, Part) for row in item.rows]


def _read_pdf(pages_data, info: dict, recheck: _SecondOpinion | None = None) -> Document:
    doc = Document(source_format="pdf")
    pages, heights, scanned = [], [], []
    for page in pages_data:
        pages.append(_read_checked(page, recheck, doc.problems))
        heights.append(page.height)
        if page.scanned:
            scanned.append(page.number)
    _check_text_layer(pages, scanned, doc.problems)
    _drop_running_lines(pages, heights)
    _labels_over_pages(pages, heights)
    doc.blocks = _stitch(pages, doc.problems)
    doc.meta.update(_metadata(doc.blocks, info))
    return doc


def _check_text_layer(pages: list[list], scanned: list[int], problems: list[str]) -> None:
    """No text (or a stamp's worth over scanned pages, or only unmapped glyphs): a scan.
    Text with some pages that are pictures: said in problems (a table may be one)."""
    text = "".join(b.block.text + "".join(b.block.cells or ())
                   for page in pages for b in page if isinstance(b, Placed))
    cells = "".join("".join(r) for page in pages for b in page if isinstance(b, Part) for r in b.rows)
    real = len(re.sub(r"\(cid:\d+\)|\s", "", text + cells))
    if real == 0 or (scanned and real < MIN_TEXT_CHARS):
        raise NeedsOCR(f"PDF has no text layer ({len(scanned)} scanned pages); OCR needed")
    cid = len(re.findall(r"\(cid:\d+\)", text + cells))
    if cid > real:
        raise NeedsOCR("PDF fonts have no Unicode mapping (text is glyph ids); OCR needed")
    empty = [str(i + 1) for i, page in enumerate(pages) if not page]
    if empty:
        problems.append(f"pages without a text layer (images?): {', '.join(empty)}")
    pictured = [str(n) for n in scanned if str(n) not in empty]
    if pictured:
        problems.append(f"pages {', '.join(pictured)} carry a picture over much of the page: "
                        "anything printed in it (a scanned table?) is not read without OCR")


def _read_page(page: PageData, problems: list[str]) -> list:
    """A page's prose lines and unruled rows (`Placed`) and table parts (`Part`), in
    reading order."""
    chars = _clean_chars(page.chars)
    grids = _grids(page.segments)
    loose, owned = [], [[] for _ in grids]
    for char in chars:
        x, y = _center(char)
        for k, grid in enumerate(grids):
            if grid.contains(x, y):
                owned[k].append(char)
                break
        else:
            loose.append(char)
    items: list = []
    for grid, grid_chars in zip(grids, owned, strict=True):
        part = _part(grid, grid_chars, page.number)
        if _rules_missing(grid):
            loose.extend(grid_chars)  # read from word positions like a borderless table
            continue
        problems.extend(part.problems)
        if part.rows:
            items.append(part)
    items.extend(_prose(sorted(loose, key=lambda c: (c["top"], c["x0"]))))
    items.sort(key=lambda item: item.top)
    return items


def _metadata(blocks: list[Block], info: dict) -> dict[str, str]:
    """Only what the text cannot say: the title, agency and year are read from the first
    lines by parsers.metadata, as for every format (a title broken over two lines,
    "洪泽区人民政府" / "2023年…年度报告", is joined there)."""
    created = _pdf_date(info.get("CreationDate"))
    return {"pdf_created": created} if created else {}  # a hint, not the publication date


def _pdf_date(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1", "ignore")
    match = re.match(r"D?:?(\d{4})(\d{2})(\d{2})", str(value or ""))
    return "-".join(match.groups()) if match else None
