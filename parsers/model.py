"""The parse result: one `Report` per input, made of typed `Cell`s and `Check`s.

This is the contract between the parsers, the database and the CLI. `Report.to_dict()`
is exactly what `xxgk parse --json` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# Parse status of a report, stored in reports.parse_status.
OK = "ok"  # every expected cell was read
PARTIAL = "partial"  # a report, but some expected cells are missing or unreadable
NOT_A_REPORT = "not_a_report"
FAILED = "failed"  # the input could not be read at all
UNSUPPORTED_FORMAT = "unsupported_format"  # e.g. .doc without LibreOffice
NEEDS_OCR = "needs_ocr"  # image-only report

Number = int | float | Decimal


@dataclass(slots=True)
class Cell:
    """One table cell under its canonical key (see shared spec report-schema.md)."""

    key: str  # "table3.new_received.natural_person"
    value: Number | None  # None for blank, "/", "—", "无" and unreadable cells
    raw: str | None  # the text as printed; None only for derived cells
    derived: bool = False  # computed by the parser, not printed
    note: str | None = None  # "174(社会组织法人登记证)" -> "社会组织法人登记证"

    def __reduce__(self):
        # a report's ~200 cells cross from a parse worker to the writer: as plain tuples
        # they pickle in a third of the time of a dataclass's state dicts
        return (Cell, (self.key, self.value, self.raw, self.derived, self.note))

    @property
    def table(self) -> str:
        return self.key.split(".")[0]

    @property
    def row(self) -> str:
        return self.key.split(".")[1]

    @property
    def column(self) -> str:
        return self.key.split(".")[2]

    def to_dict(self) -> dict:
        value = self.value
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        return {
            "key": self.key,
            "value": value,
            "raw": self.raw,
            "derived": self.derived,
            "note": self.note,
        }


@dataclass
class Check:
    """One accounting check (勾稽关系) result, passing or not."""

    id: str  # "I1".."I5" (per report), "X1"/"X2"/"D1" (across reports, in db/)
    scope: str  # the column, row or group checked, e.g. "natural_person"
    ok: bool | None  # None: could not be evaluated (a blank cell), see detail
    detail: str
    fault: str | None = None  # when not ok: "source" or "parse", as far as can be told

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "scope": self.scope,
            "ok": self.ok,
            "detail": self.detail,
            "fault": self.fault,
        }


@dataclass
class Report:
    """Everything read from one document."""

    path: str
    template_version: str  # "v2019" | "v2021" | "legacy" | "not_a_report"
    title: str | None = None
    agency: str | None = None
    year: int | None = None
    published_date: str | None = None  # "YYYY-MM-DD"
    cells: list[Cell] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    status: str = OK
    source_format: str | None = None  # "html", "text", "pdf", "docx", ...
    encoding: str | None = None
    narratives: dict[str, str] = field(default_factory=dict)  # section key -> text
    text: str | None = None  # the document's plain text, kept for search and review
    # The writer's pure share of storing, when a parse worker computed it
    # (db/store.prepare): P1's statements, the similarity shingles, the cells' rows and
    # wide-table rows (with the cell objects they were made from).
    statements: list | None = None
    shingles: dict | None = None
    cell_rows: dict | None = None

    def cell(self, key: str) -> Cell | None:
        index = self.__dict__.get("_index")
        if index is None or len(index) != len(self.cells):
            index = self.__dict__["_index"] = {c.key: c for c in self.cells}
        return index.get(key)

    def values(self) -> dict[str, Number | None]:
        return {c.key: c.value for c in self.cells}

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "template_version": self.template_version,
            "title": self.title,
            "agency": self.agency,
            "year": self.year,
            "published_date": self.published_date,
            "status": self.status,
            "source_format": self.source_format,
            "encoding": self.encoding,
            "cells": [c.to_dict() for c in self.cells],
            "checks": [c.to_dict() for c in self.checks],
            "problems": list(self.problems),
            "narratives": dict(self.narratives),
        }
