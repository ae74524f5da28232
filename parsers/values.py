"""Read one printed cell into a typed value, keeping what was printed.

    read_value("174(社会组织法人登记证)")  -> 174, note "社会组织法人登记证"
    read_value("+23/-10")                 -> change 13, added 23, removed 10
    read_value("73802895.90元", amount=True) -> 7380.28959 (万元)
    read_value("/")                       -> None (blank is not zero)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

# Printed marks that mean "nothing here": the value is null, not zero.
NULL_MARKS = frozenset({"", "/", "\\", "—", "——", "-", "--", "－", "无", "空", "—/—", "–", "…", "x", "X"})

_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
# A whole cell that is a number, optionally signed, with a unit and/or a note in brackets.
_VALUE = re.compile(
    r"^(?P<num>[+-]?\d[\d,]*(?:\.\d+)?)"
    r"(?P<unit>万元|万|元|件|条|项|个|份|次|家)?"
    r"(?:[(\[](?P<note>[^)\]]*)[)\]]?)?$"
)
_GROUPED = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
# Footnote marks printed after a number (81①, 81¹): NFKC would make them digits (811).
_FOOTNOTE = re.compile("[\u2460-\u249b\u24ea-\u24ff\u2776-\u2793\u00b9\u00b2\u00b3\u2070-\u2079]+")
# Minus signs of word processors (U+2212, en dash, small hyphen) before a digit.
_MINUS = re.compile("^[\u2212\u2013\u2012\u2010\u2011\ufe63]" r"(?=\s*\d)")
_CHANGE = re.compile(r"^(?:增|\+)(?P<add>\d+)[/、,，;；](?:减|-)(?P<rem>\d+)$")
_TOO_LONG = Decimal(10) ** 18
# Numbers run together in one cell, a note in brackets after them or not: "230 000023",
# "1 174(社会组织法人登记证)" (never read as 1174).
_RUN_TOGETHER = re.compile(r"^\d+(?:[ \u00a0\u3000]+\d+)+(?:\s*[(\[].*)?$")


# What a decoder puts for bytes it could not read: a number it touches is unknown.
_REPLACEMENT = "\ufffd"

# Characters that print as nothing (zero-width space, soft hyphen, word joiner, BOM).
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")


def clean(text: str) -> str:
    """Collapsed white space, characters as printed: the form raw text is kept in."""
    if not text.isascii() and _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    return " ".join(text.split())  # str.split() knows \u3000 and \xa0 as spaces


def normalize(text: str) -> str:
    """NFKC (full-width digits and brackets to ASCII) and collapsed white space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))).strip()


def compact(text: str) -> str:
    """`normalize` without any white space: the form labels are matched in."""
    return _compact_short(text) if len(text) <= _CACHED_LEN else _compact(text)


def squeeze(text: str) -> str:
    """White space removed, nothing else: cheap enough for whole pages."""
    return _SPACES.sub("", text)




def _compact(text: str) -> str:
    # 其它 and 部份 are everyday variant spellings of the template words on real pages.
    text = _SPACES.sub("", unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)))
    if "其它" in text or "部份" in text:
        text = text.replace("其它", "其他").replace("部份", "部分")
    return text


# Cells and labels repeat within and across reports ("0", "自然人"); whole texts don't,
# and caching them would hold every page in memory.
_CACHED_LEN = 120
_compact_short = lru_cache(maxsize=65536)(_compact)


_CN_DIGITS = str.maketrans("〇零○Ｏ一二三四五六七八九", "0000123456789")
_CN_NUMBER = "〇零○Ｏ一二三四五六七八九十"


def _cn_small(text: str) -> str:
    """"七" -> "7", "十二" -> "12", "二十" -> "20", "三十一" -> "31"."""
    if "十" not in text:
        return text.translate(_CN_DIGITS)
    tens, _, units = text.partition("十")
    return str(int(tens.translate(_CN_DIGITS) or 1) * 10 + int(units.translate(_CN_DIGITS) or 0))


def arabic_dates(text: str) -> str:
    """Years, months and days printed in Chinese numerals as digits:
    "二〇二一年一月七日" -> "2021年1月7日" (titles and signatures print them so)."""
    if not any(ch in text for ch in "〇零○Ｏ"):
        return text
    text = re.sub(r"[一二][〇零○Ｏ一二三四五六七八九]{3}(?=年)",
                  lambda m: m.group().translate(_CN_DIGITS), text)
    return re.sub(rf"(?<=\d年)([{_CN_NUMBER}]{{1,3}})月(?:([{_CN_NUMBER}]{{1,3}})日)?",
                  lambda m: f"{_cn_small(m[1])}月" + (f"{_cn_small(m[2])}日" if m[2] else ""),
                  text)


@dataclass(frozen=True)
class Value:
    value: int | Decimal | None
    note: str | None = None
    problem: str | None = None  # the cell could not be read as one number
    added: int | None = None  # "+23/-10": the two halves
    removed: int | None = None
    unit: str | None = None


def is_value_text(text: str) -> bool:
    return len(text) <= _CACHED_LEN and _is_value_text(text)


@lru_cache(maxsize=65536)
def _is_value_text(text: str) -> bool:
    """Whether a cell reads as a value (a number, a null mark, run-together numbers)
    rather than a label. "1.属于国家秘密" is a label; "174(社会组织…)" is a value.
    A cell that reads as a value once its undecodable bytes (U+FFFD) are set aside is a
    damaged value: it keeps its place among the values, read as nothing."""
    if _REPLACEMENT in text:
        rest = text.replace(_REPLACEMENT, "")
        return not rest.strip() or _is_value_text(rest)
    s = compact(_printed_number(text)[0])
    if s in NULL_MARKS:
        return True
    if _VALUE.match(s) or _CHANGE.match(s):
        return True
    return bool(_RUN_TOGETHER.match(normalize(text)))


def read_value(text: str, *, amount: bool = False) -> Value:
    if len(text) > _CACHED_LEN:
        return Value(None, problem=f"not a number: {clean(text)[:40]!r}…")
    return _read_value(text, amount)


@lru_cache(maxsize=65536)
def _read_value(text: str, amount: bool) -> Value:
    """Type one printed cell. `amount`: a money column, normalised to 万元.
    "+a/-b" (本年增/减) is a net change with its two halves."""
    if _REPLACEMENT in text:
        return Value(None, problem=f"undecodable bytes (U+FFFD) in the cell, not read as a "
                                   f"number: {clean(text)!r}")
    text, footnote = _printed_number(text)
    spaced = normalize(text)
    s = compact(text)
    if s in NULL_MARKS:
        return Value(None, note=footnote)
    if _RUN_TOGETHER.match(spaced):
        return Value(None, problem=f"several numbers run together in one cell: {spaced!r}")
    change = _CHANGE.match(s)
    if change:
        added, removed = int(change["add"]), int(change["rem"])
        return Value(added - removed, added=added, removed=removed)
    match = _VALUE.match(s)
    if not match:
        return Value(None, problem=f"not a number: {spaced!r}")
    if "," in match["num"] and not _GROUPED.fullmatch(match["num"]):
        return Value(None, problem=f"a comma that is no thousands separator: {spaced!r}")
    digits = match["num"].replace(",", "")
    try:
        number = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        return Value(None, problem=f"not a number: {spaced!r}")
    if abs(number) >= _TOO_LONG:
        # No count or amount of a report has 19 digits; a database integer cannot hold it.
        return Value(None, problem=f"a number too long to be a count or amount: {spaced!r}")
    note = "; ".join(n for n in ((match["note"] or "").strip(), footnote) if n) or None
    unit = "万元" if match["unit"] == "万" else match["unit"]
    if amount:
        if unit == "元":
            number = number / Decimal(10000)
        return Value(_plain(number), note=note, unit=unit or None)
    # A fraction or a sign in a count is kept as printed: check I5 reports it.
    return Value(_plain(number), note=note, unit=unit or None)


def _printed_number(text: str) -> tuple[str, str | None]:
    """The cell without footnote marks (kept as a note) and with a typographic minus
    read as "-"."""
    footnote = None
    if _FOOTNOTE.search(text):
        footnote = "footnote mark " + "".join(_FOOTNOTE.findall(text))
        text = _FOOTNOTE.sub("", text)
    if _MINUS.match(text.lstrip()):
        text = _MINUS.sub("-", text.lstrip())
    return text, footnote


def _plain(number: Decimal) -> int | Decimal:
    """Decimal without exponent noise; whole numbers as int."""
    if number == number.to_integral_value():
        return int(number)
    return number.normalize()
