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


def printed_cells(report) -> dict:
    """The cells a report printed (derived ones left out), values as JSON gives them."""
    out = {}
    for cell in report.cells:
        if cell.derived:
            continue
        value = cell.value
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        out[cell.key] = value
    return out


@pytest.fixture
def corpus_dir() -> Path:
    return CORPUS
