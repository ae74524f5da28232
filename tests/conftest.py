"""Shared test helpers: the real corpus (fixtures/corpus, copied from shared/corpus)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fixtures" / "corpus"


def corpus_cases(*suffixes: str) -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix in suffixes)


def corpus_params(*suffixes: str) -> list:
    """corpus_cases as pytest params: a case whose expected file names an "xfail" reason
    (a known parser gap, kept with its true expected values) is a strict xfail, so the
    day the parser reads it right the test says so."""
    return [pytest.param(p, marks=_xfail_mark(p), id=p.name) for p in corpus_cases(*suffixes)]


def _xfail_mark(path: Path) -> tuple:
    expected = CORPUS / f"{path.stem}.expected.json"
    if not expected.exists():
        return ()
    reason = json.loads(expected.read_text(encoding="utf-8")).get("xfail")
    return (pytest.mark.xfail(reason=reason, strict=True),) if reason else ()


def expected_for(path: Path) -> dict:
    return json.loads((CORPUS / f"{path.stem}.expected.json").read_text(encoding="utf-8"))


def corpus_reports() -> list[dict]:
    """The expected files of the corpus documents that are reports (not a letter or a list
    page): what tests counting the corpus's reports or agencies compare against, so adding
    a report to fixtures/corpus does not break them."""
    return [e for e in map(expected_for, corpus_cases(".html", ".txt", ".pdf"))
            if e.get("template_version") != "not_a_report"]


def plain(value):
    """A value as JSON gives it: Decimal amounts as int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def printed_cells(report) -> dict:
    """The cells a report printed (derived ones left out), values as JSON gives them."""
    return {c.key: plain(c.value) for c in report.cells if not c.derived}


@pytest.fixture
def corpus_dir() -> Path:
    return CORPUS
