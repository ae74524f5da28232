"""Pick the reader for an input by its bytes (never trust the extension alone), run it,
and turn whatever happens into a `Report`: a bad input is a report with a reason, never a
traceback.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from xxgk.parsers import model
from xxgk.parsers.document import Document

PARSER_VERSION = "0.1.0"


class ReadError(Exception):
    """The input cannot be read at all (empty, binary, unknown encoding, ...)."""

    status = model.FAILED


class UnsupportedFormat(ReadError):
    """A format we know but cannot read on this machine (e.g. .doc without LibreOffice)."""

    status = model.UNSUPPORTED_FORMAT


class NeedsOCR(ReadError):
    """The report is an image: nothing to read without OCR, and nothing is guessed."""

    status = model.NEEDS_OCR


# format -> "module:function"; each reader is `read(data: bytes, *, name: str) -> Document`.
READERS = {
    "html": "xxgk.parsers.html:read",
    "text": "xxgk.parsers.text:read",
    "pdf": "xxgk.parsers.pdf:read",
    "docx": "xxgk.parsers.office:read_docx",
    "xlsx": "xxgk.parsers.office:read_xlsx",
    "ole": "xxgk.parsers.office:read_legacy",  # .doc / .xls / .wps: converted with LibreOffice
    "image": "xxgk.parsers.office:read_image",
    "rtf": "xxgk.parsers.office:read_rtf",
}

# What the readers import on first use, native libraries among them. A parse worker imports
# them before its memory limit is set: under the limit a shared object that fails to map
# ("libpdfium.so: failed to map segment") would be reported as the file's fault.
ENGINE_MODULES = ("pypdfium2", "pypdfium2.raw", "pdfplumber", "docx", "openpyxl", "PIL.Image")


def engine_modules() -> set[str]:
    """Every reader's module and the libraries the readers load lazily (ENGINE_MODULES)."""
    return {spec.split(":")[0] for spec in READERS.values()} | set(ENGINE_MODULES)


def load_engines() -> None:
    """Import engine_modules() now."""
    for module in engine_modules():
        importlib.import_module(module)


_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def sniff(data: bytes, name: str = "") -> str:
    """The input's format from its first bytes; the name only breaks ties."""
    head = data[:2048]
    if head.startswith(b"%PDF") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"PK\x03\x04"):
        if b"OFD.xml" in data[:65536]:
            return "ofd"
        if b"word/" in data[:65536] or name.lower().endswith(".docx"):
            return "docx"
        if b"xl/" in data[:65536] or name.lower().endswith(".xlsx"):
            return "xlsx"
        return "docx" if b"[Content_Types].xml" in data[:65536] else "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    lowered = head.lower()
    if any(tag in lowered for tag in (b"<html", b"<!doctype html", b"<table", b"<body", b"<div")):
        return "html"
    if b"<table" in data[:2_000_000].lower() and b"</tr>" in data[:2_000_000].lower():
        return "html"  # markdown or text with inline HTML tables (PDF-to-markdown tools)
    if name.lower().endswith((".htm", ".html", ".shtml", ".jhtml")) and b"<" in head:
        return "html"
    return "text"


def _reader(fmt: str):
    module, func = READERS[fmt].split(":")
    return getattr(importlib.import_module(module), func)


def read_document(data: bytes, *, name: str) -> Document:
    """Bytes to a `Document`, or a `ReadError` naming what is wrong."""
    if not data or not data.strip():
        raise ReadError("empty file")
    fmt = sniff(data, name)
    if fmt == "zip":
        raise ReadError("a zip archive that is neither .docx nor .xlsx")
    if fmt == "ofd":
        raise UnsupportedFormat("OFD (版式文档) is not supported; no reader for it here")
    return _reader(fmt)(data, name=name)


def parse_bytes(data: bytes, *, name: str = "-") -> model.Report:
    """Parse one input; every failure becomes a report with status and reason."""
    from xxgk.parsers.report import build_report

    try:
        document = read_document(data, name=name)
        return build_report(document, path=name)
    except ReadError as error:
        return _unread(data, name, error.status, str(error))
    except MemoryError:  # the parse worker's memory limit: its own reason
        raise
    except Exception as error:  # noqa: BLE001 - a reader bug (RecursionError too) costs one input
        return _unread(data, name, model.FAILED, f"parser error: {type(error).__name__}: {error}")


def _unread(data: bytes, name: str, status: str, reason: str) -> model.Report:
    return model.Report(
        path=name,
        template_version="not_a_report",
        status=status,
        problems=[f"{name}: {reason}"],
        source_format=sniff(data, name) if data else None,
    )


def parse_path(path: str | Path) -> model.Report:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        return model.Report(
            path=str(path),
            template_version="not_a_report",
            status=model.FAILED,
            problems=[f"{path}: cannot read file: {error.strerror or error}"],
        )
    return parse_bytes(data, name=str(path))
