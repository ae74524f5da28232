"""Characters into words and visual lines: overprinted copies and slanted text left out,
spacing read as a reader sees it (CJK runs without spaces, numbers never run together)."""

from __future__ import annotations

import re
import unicodedata

from xxgk.parsers.values import is_value_text

_CJK = r"\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"


_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")


_PAGE_NUMBER = re.compile(r"^[-—–－\s]*(第\s*)?\d{1,4}\s*(页)?\s*([/／共]\s*\d+\s*页?)?[-—–－\s]*$")


_ENUMERATED = re.compile(r"^(（|\(|[一二三四五六七八九十]+、|\d+[.．、]|第|信息内容|申请人)")


_SECTION = re.compile(r"^[一二三四五六七八九十]+、\S")


def _skewed(a: float, b: float, c: float, d: float) -> bool:
    """Text set at a slant (neither level nor a quarter turn): watermarks and the ring of
    a seal, which lie over table cells and are no part of any cell."""
    return (abs(a) > 0.05 * abs(b) and abs(b) > 0.05 * abs(a)) or \
        (abs(c) > 0.05 * abs(d) and abs(d) > 0.05 * abs(c))


def _clean_chars(chars: list[dict]) -> list[dict]:
    """Drop overprinted copies (fake bold draws each glyph twice, a hair apart: "11" from
    one "1" would be a wrong number) and read Kangxi radicals (⼀, ⼆: what some CJK fonts
    map their glyphs to) as the ideographs they stand for."""
    kept: list[dict] = []
    seen: dict[tuple[str, int], list[dict]] = {}
    for char in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        text = char["text"]
        if "\u2e80" <= text <= "\u2fdf":
            char = {**char, "text": unicodedata.normalize("NFKC", char["text"])}
            text = char["text"]
        row = round(char["top"])
        near = seen.get((text, row - 1)), seen.get((text, row)), seen.get((text, row + 1))
        if near == (None, None, None) or not _overprinted(char, *near):
            seen.setdefault((text, row), []).append(char)
            kept.append(char)
    return kept


def _overprinted(char: dict, *near: list[dict] | None) -> bool:
    """A copy of a glyph already kept: within a fraction of its own width ("ii" or "11"
    are a width apart)."""
    tolerance = 0.3 * max(char["x1"] - char["x0"], 0.5)
    return any(abs(o["x0"] - char["x0"]) <= tolerance and abs(o["top"] - char["top"]) <= tolerance
               for others in near if others for o in others)


def _center(char: dict) -> tuple[float, float]:
    return (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2


def _value_like(text: str) -> bool:
    """A value cell as the mapper will see it (the same test, so rows split alike)."""
    return bool(text) and is_value_text(text)


def _lines(chars: list[dict]) -> list[list[dict]]:
    """Characters grouped into visual lines, top to bottom."""
    lines: list[list[dict]] = []
    bottom = 0.0  # lowest bottom of the current line: a line of mixed fonts (numbers in
    # Times, labels in SimSun) is judged by all of it, not by its first character
    for char in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        center = (char["top"] + char["bottom"]) / 2
        if lines and center < bottom - 0.25 * (char["bottom"] - char["top"]):
            lines[-1].append(char)
            bottom = max(bottom, char["bottom"])
            continue
        lines.append([char])
        bottom = char["bottom"]
    return [sorted(line, key=lambda c: c["x0"]) for line in lines]


def _line_text(line: list[dict]) -> str:
    out = []
    for prev, char in zip([None, *line], line, strict=False):
        if prev is not None and _spaced(prev, char):
            out.append(" ")
        out.append(char["text"])
    return "".join(out)


def _spaced(prev: dict, char: dict) -> bool:
    """A visible gap: half an em (CJK and digits: a number is split rather than run into
    its neighbour), a fifth of one between Latin letters (word spacing)."""
    gap = char["x0"] - prev["x1"]
    if prev["text"].isascii() and prev["text"].isalpha() and char["text"].isascii():
        return gap > 0.2 * char["size"]
    return gap > 0.5 * char["size"]


def _text(chars: list[dict]) -> str:
    return _CJK_SPACE.sub("", _line_text(chars)).strip()


def _pieces(line: list[dict], wide: float = 1.5) -> list[list[dict]]:
    """A line cut where the gap is `wide` ems or more: the columns of a borderless table."""
    pieces = [[line[0]]]
    for prev, char in zip(line, line[1:], strict=False):
        if char["x0"] - prev["x1"] >= wide * char["size"]:
            pieces.append([])
        pieces[-1].append(char)
    return pieces


def _bottom(chars: list[dict]) -> float:
    return max(c["bottom"] for c in chars)
