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


def expected_for(path: Path) -> dict:
    return json.loads((CORPUS / f"{path.stem}.expected.json").read_text(encoding="utf-8"))


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
