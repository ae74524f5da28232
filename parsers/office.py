"""Word, Excel and legacy Office readers -> `Document`, shaped as the HTML reader shapes
tables: a cell spanning columns appears once in its row; a cell spanning rows appears
once where it starts (a label is not repeated below; a value leaves an empty cell below,
so it is never counted twice).

.doc / .wps / .xls / .et are converted with LibreOffice headless (when `soffice` is
installed) to .docx / .xlsx in a temporary directory and read like those. Images are
reports that need OCR: nothing is guessed from them.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from xxgk.parsers.dispatch import NeedsOCR, ReadError, UnsupportedFormat
from xxgk.parsers.document import Block, Document
from xxgk.parsers.pdf import without_label_padding
from xxgk.parsers.values import is_value_text

SOFFICE_TIMEOUT = 180  # seconds; a first start of LibreOffice builds its profile
# A report section heading (not a row label such as 三、本年度办理结果 or 四、结转下年度…)
_HEADING = re.compile(r"^[一二三四五六七八九十]+、.{0,30}(情况|问题|事项)")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Text a reader does not see printed: the second copy of a drawing, text a tracked
# deletion or move took away.
_NOT_PRINTED = {_FALLBACK, f"{_W}del", f"{_W}moveFrom"}


def _guarded(func, *args):
    """Malformed XML inside a file that opened (a bad span value, a broken cell) is a
    read error with its reason, never a traceback."""
    try:
        return func(*args)
    except ReadError:
        raise
    except MemoryError:  # the parse worker's memory limit: its own reason
        raise
    except Exception as error:
        raise ReadError(f"malformed document content: {type(error).__name__}: {error}") from None


def _value_like(text: str) -> bool:
    """A value cell as the mapper will see it (the same test, so rows split alike)."""
    return bool(text) and is_value_text(text)


# An Office file unpacks to a few MB of XML; more than this is a zip bomb, read by nobody.
# (Below it, a part that still explodes when parsed meets the parse worker's memory limit.)
MAX_UNPACKED = 256 * 1024 * 1024


def _refuse_bombs(data: bytes, kind: str) -> None:
    """Refuse a zip whose parts unpack to more than a report could hold, from the sizes
    the archive declares (zipfile stops reading a part at its declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # the reader says what is wrong
    total = sum(p.file_size for p in parts)
    if total > MAX_UNPACKED:
        raise ReadError(f"{kind} unpacks to {total / 2**20:.0f} MB (more than "
                        f"{MAX_UNPACKED // 2**20} MB): a zip bomb, not read")


# ---------------------------------------------------------------- .docx
def read_docx(data: bytes, *, name: str) -> Document:
    import docx

    _refuse_bombs(data, "Word document")
    try:
        word = docx.Document(io.BytesIO(_plain_word_type(data)))
    except MemoryError:  # the parse worker's memory limit: its own reason
        raise
    except Exception as error:  # python-docx raises KeyError, BadZipFile, XML errors...
        raise ReadError(f"not a readable .docx: {type(error).__name__}: {error}") from None
    doc = Document(source_format="docx")
    _guarded(_body, word.element.body, doc, [0])
    if not any((b.text or "").strip() or b.cells for b in doc.blocks):
        if _has_media(data, "word/media/"):
            raise NeedsOCR("Word document holds only images (a scan); OCR needed")
        raise ReadError("; ".join(["Word document has no text", *doc.problems]))
    return doc


_WORD_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_WORD_VARIANTS = (  # same XML, other labels: python-docx refuses them by content type
    b"application/vnd.ms-word.document.macroEnabled.main+xml",
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    b"application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
)


def _plain_word_type(data: bytes) -> bytes:
    """A .docm / .dotx / .dotm relabelled as a plain document (the body is the same)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            types = archive.read("[Content_Types].xml")
            if not any(v in types for v in _WORD_VARIANTS):
                return data
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
                for item in archive.infolist():
                    body = archive.read(item.filename)
                    if item.filename == "[Content_Types].xml":
                        for variant in _WORD_VARIANTS:
                            body = body.replace(variant, _WORD_MAIN)
                    copy.writestr(item, body)
            return out.getvalue()
    except (zipfile.BadZipFile, KeyError):
        return data  # python-docx will say what is wrong


# Layout tables boxed in layout tables (and content controls in content controls) are
# read this many levels deep; deeper ones are skipped with a problem, never a crash.
MAX_NESTING = 32


def _body(element, doc: Document, counter: list[int], depth: int = 0) -> None:
    """Paragraphs and tables in body order (content controls looked into)."""
    if depth > MAX_NESTING:
        problem = (f"Word tables or content controls nested more than {MAX_NESTING} levels "
                   "deep: what lies deeper is not read")
        if problem not in doc.problems:
            doc.problems.append(problem)
        return
    for child in element.iterchildren():
        tag = child.tag
        if tag == f"{_W}p":
            text = _paragraph_text(child)
            if text:
                doc.blocks.append(Block(text=text))
        elif tag == f"{_W}tbl":
            _docx_table(child, doc, counter, depth)
        elif tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                _body(content, doc, counter, depth + 1)


def _hidden_run(node) -> bool:
    """Text formatted hidden (w:vanish) is not printed: "1470" must not be read for 470."""
    run = node.getparent()
    props = run.find(f"{_W}rPr") if run is not None else None
    return props is not None and props.find(f"{_W}vanish") is not None


def _paragraph_text(p) -> str:
    """Text of a paragraph, text boxes included once: Word stores a drawing twice (the
    mc:Choice and its mc:Fallback), the fallback copy is skipped."""
    parts = []
    for node in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen"):
        if any(a.tag in _NOT_PRINTED for a in node.iterancestors()) or _hidden_run(node):
            continue
        if node.tag == f"{_W}t":
            text = node.text or ""
            # A raised footnote mark after a number: 81 with note 1, not 811.
            parts.append(f"({text})" if text.strip() and _superscript(node) else text)
        elif node.tag == f"{_W}noBreakHyphen":
            parts.append("-")  # Word's non-breaking hyphen, typed as a minus sign
        else:
            parts.append("  ")  # a tab keeps "局名<tab>日期" two words apart
    return "  ".join(" ".join(chunk.split()) for chunk in "".join(parts).split("  ")).strip()


def _superscript(node) -> bool:
    run = node.getparent()
    props = run.find(f"{_W}rPr") if run is not None else None
    align = props.find(f"{_W}vertAlign") if props is not None else None
    return align is not None and align.get(f"{_W}val") == "superscript"


def _tc_text(tc) -> str:
    """A cell's paragraphs joined by spaces: "商业 企业" still reads as a label, and
    "230" over "000023" stays visibly two numbers."""
    texts = [_paragraph_text(p) for p in tc.iter(f"{_W}p")]
    return " ".join(t for t in texts if t)


def _docx_table(tbl, doc: Document, counter: list[int], depth: int = 0) -> None:
    if _is_layout_frame(tbl):
        _frame(tbl, doc, counter, depth)
        return
    table = counter[0]
    counter[0] += 1
    if any(next(tc.iter(f"{_W}tbl"), None) is not None for tc in tbl.iter(f"{_W}tc")):
        doc.problems.append(f"Word table {table + 1}: a table nested in a data cell is read "
                            "as that cell's text")
    above: dict[int, str] = {}  # grid column -> text of the cell a vMerge continues
    raw = []
    for tr in _children(tbl, "tr"):
        cells: list[tuple[int, str, int]] = []
        column = _grid_before(tr)
        for tc in _children(tr, "tc"):
            span, merge = _tc_span(tc)
            if merge == "continue":
                if _value_like(above.get(column, "")):
                    # the value was printed once, for the first row
                    cells.append((column, "", column + span - 1))
            else:
                text = _tc_text(tc)
                cells.append((column, text, column + span - 1))
                for offset in range(span):
                    above[column + offset] = text if offset == 0 else ""
            column += span
        raw.append(cells)
    for cells in without_label_padding(raw):
        if any(c.strip() for c in cells):
            doc.blocks.append(Block(cells=cells, table=table))


def _is_layout_frame(tbl) -> bool:
    """A table with a table inside one of its cells boxes content (drafts that frame the
    whole report in a one-cell table): its cells hold paragraphs and tables, not values.
    A cell of its own holding a number makes it a data table: read as body, its blank
    cells would vanish and shift the numbers after them."""
    cells = [tc for tr in _children(tbl, "tr") for tc in _children(tr, "tc")]
    return any(next(_children(tc, "tbl"), None) is not None for tc in cells) and not any(
        _value_like(_paragraph_text(p)) for tc in cells for p in _children(tc, "p"))


def _frame(tbl, doc: Document, counter: list[int], depth: int) -> None:
    """A layout table read as body: each cell's paragraphs and nested tables in order,
    cells left to right, rows top to bottom (a cell's text would merge whole tables)."""
    for tr in _children(tbl, "tr"):
        for tc in _children(tr, "tc"):
            _body(tc, doc, counter, depth + 1)


def _children(element, tag: str):
    """Direct `w:tag` children, also those wrapped in content controls (w:sdt)."""
    for child in element.iterchildren():
        if child.tag == f"{_W}{tag}":
            yield child
        elif child.tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                yield from _children(content, tag)


def _grid_before(tr) -> int:
    props = tr.find(f"{_W}trPr")
    node = props.find(f"{_W}gridBefore") if props is not None else None
    return int(node.get(f"{_W}val", "0")) if node is not None else 0


def _tc_span(tc) -> tuple[int, str | None]:
    props = tc.find(f"{_W}tcPr")
    if props is None:
        return 1, None
    span_node, merge_node = props.find(f"{_W}gridSpan"), props.find(f"{_W}vMerge")
    span = int(span_node.get(f"{_W}val", "1")) if span_node is not None else 1
    merge = None
    if merge_node is not None:
        merge = merge_node.get(f"{_W}val") or "continue"  # <w:vMerge/> means continue
    return max(span, 1), merge


def _has_media(data: bytes, prefix: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(n.startswith(prefix) for n in archive.namelist())
    except zipfile.BadZipFile:
        return False


# ---------------------------------------------------------------- .xlsx
# A report's sheet has a hundred rows and a dozen columns; a cell far out (XFD1048576)
# must not make the reader walk seventeen billion empty ones.
MAX_ROWS, MAX_COLUMNS = 5000, 200


def _extent(sheet) -> tuple[int, int]:
    """The last row and column holding a cell, within the bounds: iter_rows makes a cell
    object for every position up to max_row x max_column, empty or not."""
    if sheet.max_row <= MAX_ROWS and sheet.max_column <= MAX_COLUMNS:
        return sheet.max_row, sheet.max_column
    inside = [(r, c) for r, c in sheet._cells if r <= MAX_ROWS and c <= MAX_COLUMNS]
    return max((r for r, _ in inside), default=1), max((c for _, c in inside), default=1)
def read_xlsx(data: bytes, *, name: str) -> Document:
    import openpyxl

    _refuse_bombs(data, "workbook")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        # the same cells as written: a formula whose result was never saved reads as
        # None above, which must be reported, not taken for a blank
        formulas = openpyxl.load_workbook(io.BytesIO(data), data_only=False)
    except MemoryError:  # the parse worker's memory limit: its own reason
        raise
    except Exception as error:  # openpyxl raises many types for broken files
        raise ReadError(f"not a readable .xlsx: {type(error).__name__}: {error}") from None
    doc = Document(source_format="xlsx")
    table = 0
    for sheet, written in zip(book.worksheets, formulas.worksheets, strict=True):
        if sheet.sheet_state != "visible":
            continue  # hidden helper sheets hold scratch numbers, not the report
        _guarded(_report_unsaved_formulas, sheet, written, doc)
        if not re.fullmatch(r"(sheet|工作表|表)\s*\d*", sheet.title.strip(), re.I):
            # a sheet named for its table (收到和处理政府信息公开申请情况) heads it
            doc.blocks.append(Block(text=sheet.title.strip()))
        table = _guarded(_sheet, sheet, doc, table)
    if not doc.blocks:
        if _has_media(data, "xl/media/"):
            raise NeedsOCR("workbook holds only images (a scan); OCR needed")
        raise ReadError("workbook has no cell text")
    return doc


def _report_unsaved_formulas(sheet, written, doc: Document) -> None:
    last_row, last_column = _extent(written)
    for row in written.iter_rows(max_row=last_row, max_col=last_column):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("=") \
                    and sheet[cell.coordinate].value is None:
                doc.problems.append(
                    f"{sheet.title}!{cell.coordinate}: formula {cell.value[:40]!r} without a "
                    "saved result (left empty)")


def _sheet(sheet, doc: Document, table: int) -> int:
    """One sheet's rows. A row with a single filled text cell is a title, heading or
    paragraph (prose), unless it follows table rows and is short (a caption such as
    第二十条第（五）项, or a label whose values are blank)."""
    run: list[list[tuple[int, str, int]]] = []  # the table being read
    if sheet.max_row > MAX_ROWS or sheet.max_column > MAX_COLUMNS:
        doc.problems.append(
            f"sheet {sheet.title}: cells reach row {sheet.max_row}, column {sheet.max_column}; "
            f"only the first {MAX_ROWS} rows and {MAX_COLUMNS} columns are read")
    for cells, blanks in _sheet_rows(sheet):
        filled = [c for c in cells if c[1]]
        lone = not blanks and len(filled) == 1 and not _value_like(filled[0][1])
        text = filled[0][1] if lone else ""
        if lone and (not run or _HEADING.match(text) or len(text) > 40):
            table = _flush(run, doc, table)
            doc.blocks.append(Block(text=text))
            continue
        run.append(filled if lone else cells)
    return _flush(run, doc, table)


def _flush(run: list, doc: Document, table: int) -> int:
    """A table's rows as blocks, label padding dropped as in every reader."""
    if not run:
        return table
    for cells in without_label_padding(run):
        doc.blocks.append(Block(cells=cells, table=table))
    run.clear()
    return table + 1


def _sheet_rows(sheet) -> list[tuple[list[tuple[int, str, int]], bool]]:
    """Non-empty rows as (column, text, last column) cells, merged ranges resolved as the
    HTML reader resolves spans, and whether a merged value left a blank in the row."""
    below, texts, rows = _merges(sheet), {}, []
    ends = {(m.min_row, m.min_col): m.max_col for m in sheet.merged_cells.ranges}
    last_row, last_column = _extent(sheet)
    grid = sheet.iter_rows(max_row=last_row, max_col=last_column)
    for r, row in enumerate(grid, start=1):
        cells, keep, blanks = [], 0, False  # trailing empties are padding; merged blanks are not
        if sheet.row_dimensions[r].hidden:
            continue  # a hidden row is not printed (a draft row, a scratch total)
        for c, cell in enumerate(row, start=1):
            if sheet.column_dimensions[_column_letter(c)].hidden:
                continue
            if (r, c) in below:
                top = below[(r, c)]
                if top is not None and _value_like(texts.get(top, "")):
                    # the value was printed once, for the first row
                    cells.append((c, "", ends.get(top, c)))
                    keep, blanks = len(cells), True
                continue
            texts[(r, c)] = _xl_text(cell.value)
            cells.append((c, texts[(r, c)], ends.get((r, c), c)))
            keep = len(cells) if texts[(r, c)] else keep
        cells = cells[:keep]
        if any(text for _, text, _ in cells):
            rows.append((cells, blanks))
    return rows


def _merges(sheet) -> dict[tuple[int, int], tuple[int, int] | None]:
    """Every cell of a merged range but its top-left: (row, col) -> the top-left where the
    cell is the range's first column below its first row (a rowspan), else None (skipped)."""
    below: dict[tuple[int, int], tuple[int, int] | None] = {}
    for merged in sheet.merged_cells.ranges:
        top = (merged.min_row, merged.min_col)
        for r in range(merged.min_row, min(merged.max_row, MAX_ROWS) + 1):
            for c in range(merged.min_col, min(merged.max_col, MAX_COLUMNS) + 1):
                if (r, c) != top:
                    below[(r, c)] = top if r > top[0] and c == top[1] else None
    return below


def _xl_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        # 15 significant digits: what Excel shows, without binary noise (0.1+0.2)
        return format(Decimal(format(value, ".15g")).normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return " ".join(str(value).split())


# ---------------------------------------------------------------- .doc / .wps / .xls
def read_legacy(data: bytes, *, name: str) -> Document:
    """OLE2 Office files, converted by LibreOffice; without it, an honest refusal."""
    kind = _ole_kind(data, name)
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise UnsupportedFormat(
            f"legacy {kind} needs LibreOffice (soffice) to convert it; not installed"
        )
    target = "xlsx" if kind in ("xls", "et") else "docx"
    converted = convert(data, kind, target, soffice, _INFILTER[target])
    reader = read_xlsx if target == "xlsx" else read_docx
    doc = reader(converted, name=name)
    doc.source_format = kind
    return doc


def _ole_kind(data: bytes, name: str) -> str:
    """Which Office program wrote an OLE2 file: its stream names say it."""
    head = data[: 1 << 20]
    if "EncryptedPackage".encode("utf-16-le") in head:
        raise ReadError("encrypted (password-protected) Office document")
    if "WordDocument".encode("utf-16-le") in head:
        return "wps" if name.lower().endswith(".wps") else "doc"
    if "Workbook".encode("utf-16-le") in head or "Book".encode("utf-16-le") in head:
        return "et" if name.lower().endswith(".et") else "xls"
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in ("doc", "wps", "xls", "et"):
        return suffix
    raise UnsupportedFormat("OLE2 file that is neither Word nor Excel (e.g. .ppt or .msg)")


# Named import filters: without one LibreOffice falls back to importing a damaged file
# as plain text, and its binary garbage would be parsed as a (non-)report.
_INFILTER = {"docx": "MS Word 97", "xlsx": "MS Excel 97"}


def convert(data: bytes, kind: str, target: str, soffice: str, infilter: str | None = None) -> bytes:
    """`data` (a .doc, .xls, ...) converted by LibreOffice headless to `target`."""
    with tempfile.TemporaryDirectory(prefix="xxgk-soffice-") as tmp:
        source = Path(tmp) / f"input.{kind}"
        source.write_bytes(data)
        profile = Path(tmp) / "profile"  # a private profile: parallel runs don't collide
        command = [
            soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
            *([f"--infilter={infilter}"] if infilter else []),
            "--convert-to", target, "--outdir", tmp, str(source),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=SOFFICE_TIMEOUT, check=False,
                           env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired:
            raise ReadError(f"LibreOffice did not convert the .{kind} within "
                            f"{SOFFICE_TIMEOUT} s") from None
        output = Path(tmp) / f"input.{target}"
        if not output.exists():
            raise ReadError(f"LibreOffice could not convert the .{kind} (damaged or encrypted?)")
        return output.read_bytes()


def read_rtf(data: bytes, *, name: str) -> Document:
    """RTF (what some portals' editors export): converted by LibreOffice like .doc."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise UnsupportedFormat("RTF needs LibreOffice (soffice) to convert it; not installed")
    doc = read_docx(convert(data, "rtf", "docx", soffice, "Rich Text Format"), name=name)
    doc.source_format = "rtf"
    return doc


# ---------------------------------------------------------------- images
def read_image(data: bytes, *, name: str) -> Document:
    kind = _image_kind(data)
    raise NeedsOCR(f"the report is an image ({kind}); OCR needed, nothing is guessed")


def _image_kind(data: bytes) -> str:
    for magic, kind in ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"),
                        (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF")):
        if data.startswith(magic):
            return kind
    return "WEBP" if data[8:12] == b"WEBP" else "image"


def _column_letter(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(column)
