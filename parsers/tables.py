"""Map the rows of a table section onto canonical keys: the one mapper for every format.

Row structure is unreliable across formats (spans lost in text, cells run over lines in
PDF extraction), so a section is read as a stream of tokens: a label token that matches
the next expected rows of the template opens a row; the value tokens after it are that
row's values, in order, until the next row label. Trailing blank padding is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from xxgk.parsers import schema
from xxgk.parsers.document import Block
from xxgk.parsers.model import Cell
from xxgk.parsers.values import clean, compact, is_value_text, read_value

# How far ahead of the last matched row a label may match: missing rows are tolerated,
# but a header word ("其他", "总计") cannot jump to a row far down the table.
WINDOW = 6


@dataclass(slots=True)
class Token:
    text: str
    is_value: bool
    line: int  # index of the source line; tokens of one real row share it
    real_row: bool = True


@dataclass
class RowRead:
    key: str
    label: str
    values: list[Token] = field(default_factory=list)

    def filled(self) -> int:
        return sum(1 for t in self.values if t.text.strip())


@dataclass
class TableRead:
    cells: list[Cell] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rows: dict[str, RowRead] = field(default_factory=dict)
    subtotals: dict[str, list[Cell]] = field(default_factory=dict)  # group -> cells
    # Cells read cleanly: a failed check on them points at the source.
    unclean: set[str] = field(default_factory=set)


# A note or a sentence under a table ("注：本年度新收申请 81 件。") is prose, not a row.
_NOTE = re.compile(r"^\s*(?:注|说明|备注)|.*。")


_WRAPS = 6  # labels this long and longer may wrap onto a second line

# A unit retyped into a row label: "行政许可（件）", "（一）予以公开（件）".
_UNIT = re.compile(r"\((?:件|项|个|条|次|宗|万元|元)\)$")


@lru_cache(maxsize=65536)
def _row_label(text: str) -> str:
    return _UNIT.sub("", compact(text))


def tokens(blocks: Sequence[Block]) -> list[Token]:
    """The section's blocks as tokens. A line of plain text inside a table part holding
    numbers (a row as PDF or browser text extraction gives it: "标签 0 0 1", or one cell
    per line with no pipes) is split on white space into label and value tokens."""
    out: list[Token] = []
    for index, block in enumerate(blocks):
        if block.cells is not None:
            for cell in block.cells:
                out.append(Token(cell, is_value_text(cell), index, block.row_is_real))
            continue
        words = block.text.split()
        if any(is_value_text(w) for w in words) and not _NOTE.match(block.text):
            label = []
            for word in words:
                if is_value_text(word):
                    if label:
                        out.append(Token(" ".join(label), False, index, False))
                        label = []
                    out.append(Token(word, True, index, False))
                else:
                    label.append(word)
            if label:
                out.append(Token(" ".join(label), False, index, False))
        else:
            out.append(Token(block.text, False, index, False))
    return out


def _matches(row: schema.Row, label: str) -> bool:
    return _row_matches(row.patterns, label)


@lru_cache(maxsize=65536)
def _row_matches(patterns: tuple[str, ...], label: str) -> bool:
    return _compiled(patterns).search(label) is not None


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(patterns))


@lru_cache(maxsize=65536)
def _search(pattern: str, label: str) -> bool:
    return re.search(pattern, label) is not None


def read_rows(
    toks: list[Token],
    rows: Sequence[schema.Row],
    width: dict[str, int],
    groups: dict[str, str] | None = None,
) -> tuple[dict[str, RowRead], list[str]]:
    """Assign value tokens to template rows. `width`: values expected per row key;
    `groups`: label pattern -> group name for subtotal rows (read, not keyed)."""
    found: dict[str, RowRead] = {}
    problems: list[str] = []
    last = -1
    current: RowRead | None = None
    for tok in toks:
        if tok.is_value:
            if current is not None:
                current.values.append(tok)
            elif tok.text.strip() and last >= 0:
                problems.append(f"value {tok.text!r} is not under any row label")
            continue
        label = _row_label(tok.text)
        hit = _hit(rows, found, last, label)
        if hit is None and " " in tok.text.strip():
            # Words run together from a flattened table ("…处理决定数量 行政许可"): the
            # row label is the last words.
            words = tok.text.split()
            hit = next((h for k in range(1, len(words)) if (h := _hit(
                rows, found, last, compact("".join(words[-k:])))) is not None), None)
        if hit is not None:
            current = RowRead(rows[hit].key, tok.text)
            found[current.key] = current
            last = hit
            continue
        group = next((g for p, g in (groups or {}).items() if _search(p, label)), None)
        if "\ufffd" in label:
            # A label damaged by undecodable bytes could be any row's: the values after
            # it belong to no row we know (never to the row before).
            if current is not None or last >= 0:
                problems.append(f"row label {clean(tok.text)!r} damaged by undecodable bytes:"
                                " its values are not read")
            current = None
        elif group is not None and last >= 0:
            current = RowRead(group, tok.text)
            found[group] = current
        elif current is not None and label != compact(current.label) and (
                current.values or len(compact(current.label)) < _WRAPS):
            # A header, a heading or an unknown row label ends a row that has cells
            # (blank ones too: a blank row must not take the next row's numbers). Before
            # any, a label after a long one is that label wrapped onto a second line;
            # short labels (规章, 行政许可) do not wrap. A grid that fills spans by
            # repetition prints the same label again: it is still the row's.
            current = None
    return found, problems


def _hit(rows: Sequence[schema.Row], found: dict, last: int, label: str) -> int | None:
    """The row a label opens: the last that matches within the window after the last
    matched row, so that a label run together with its group's ("（六）其他处理
    1.申请人…逾期不补正") is the sub-row's."""
    return max((i for i in _matching_rows(rows, label)
                if last < i <= last + WINDOW and rows[i].key not in found), default=None)


_MATCHING: dict[int, dict[str, tuple[int, ...]]] = {}


def _matching_rows(rows: Sequence[schema.Row], label: str) -> tuple[int, ...]:
    """Indices of the rows whose patterns match `label`, cached per row set (the row
    sets are module constants) and label."""
    cache = _MATCHING.setdefault(id(rows), {})
    found = cache.get(label)
    if found is None:
        if len(cache) > 65536:
            cache.clear()
        found = cache[label] = tuple(i for i, row in enumerate(rows) if _matches(row, label))
    return found


def fit(row: RowRead, n: int) -> tuple[list[Token] | None, str | None]:
    """Exactly `n` value tokens for a row, or a problem saying why not."""
    values = list(row.values)
    while len(values) > n and not values[-1].text.strip():
        values.pop()  # padding to the widest row
    while len(values) > n and not values[0].text.strip():
        values.pop(0)  # empty cells standing where the label's span would be
    if len(values) > n and len(values) % n == 0:
        values = _unrepeat(values, n)
    if len(values) == n:
        return values, None
    if len(values) < n:
        return None, f"row {row.label!r}: {len(values)} of {n} values"
    return None, f"row {row.label!r}: {len(values)} values where {n} are printed"


@lru_cache(maxsize=1024)
def _keys(prefix: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}.{c}" for c in columns)


def _unrepeat(values: list[Token], n: int) -> list[Token]:
    """A grid that fills spans by repetition (pandas read_html) prints a value merged
    over k columns k times: each of the n values repeated k times reads as n values."""
    k = len(values) // n
    runs = [values[i * k:(i + 1) * k] for i in range(n)]
    if k > 1 and all(len({t.text for t in run}) == 1 for run in runs):
        return [run[0] for run in runs]
    return values


def make_cells(key_prefix: str, columns: Sequence[str], values: Sequence[Token], *,
               amounts: Sequence[str] = (), read: TableRead) -> list[Cell]:
    cells = []
    for key, column, tok in zip(_keys(key_prefix, tuple(columns)), columns, values, strict=True):
        value = read_value(tok.text, amount=column in amounts)
        note = value.note
        if value.problem:
            read.problems.append(f"{key}: {value.problem}")
            read.unclean.add(key)
        cells.append(Cell(key, value.value, tok.text, False, note))
        if value.added is not None and column == "items_change":
            cells[-1].note = (
                f"printed {tok.text!r}: net {value.value:+d} (added {value.added}, removed {value.removed})"
            )
            cells.append(Cell(f"{key_prefix}.items_added", value.added, tok.text))
            cells.append(Cell(f"{key_prefix}.items_removed", value.removed, tok.text))
    return cells


# ---------------------------------------------------------------- table 2
_T2_ROWS = {v: tuple(r for r in schema.T2_ROWS if r.key in layout)
            for v, layout in schema.T2_LAYOUT.items()}


def read_table2(blocks: Sequence[Block], version: str) -> TableRead:
    read = TableRead()
    layout = schema.T2_LAYOUT[version]
    rows = _T2_ROWS[version]
    width = {key: len(cols) for key, cols in layout.items()}
    toks = tokens(blocks)
    found, problems = read_rows(toks, rows, width)
    read.rows, read.problems = found, problems
    # A column header (short) that gives the amount in 元; a note below the table does not.
    amount_in_yuan = any("元" in compact(t.text) and "万元" not in compact(t.text)
                         and "金额" in compact(t.text) and len(t.text) <= 20
                         for t in toks if not t.is_value)
    for row in rows:
        hit = found.get(row.key)
        if hit is None:
            continue
        values, problem = fit(hit, len(layout[row.key]))
        if problem:
            read.problems.append(f"table 2 {problem}")
            continue
        if amount_in_yuan:
            values = [_with_yuan(t) for t in values]
        amounts = ("procurement_amount_wan_yuan", "fee_amount_wan_yuan")
        read.cells += make_cells(f"table2.{row.key}", layout[row.key], values,
                                 amounts=amounts, read=read)
    return read


def _with_yuan(tok: Token) -> Token:
    """A bare amount under a header that says 元 is in 元."""
    if re.fullmatch(r"[\d.,]+", compact(tok.text)):
        return Token(tok.text + "元", tok.is_value, tok.line, tok.real_row)
    return tok


# ---------------------------------------------------------------- table 3
T3_GROUP_LABELS = {r"^(\(三\))?不予公开$": "withheld", r"^(\(四\))?无法提供$": "unable",
             r"^(\(五\))?不予处理$": "not_processed"}
T3_COLS = [c.key for c in schema.T3_COLUMNS]


def read_table3(blocks: Sequence[Block], version: str) -> TableRead:
    """Every row the table prints, of either version: a transitional report prints
    v2019's table 2 beside v2021's table 3 with its three （六） sub-rows."""
    read = TableRead()
    rows = schema.T3_ROWS
    toks = tokens(blocks)
    found, problems = read_rows(toks, rows, {r.key: 7 for r in rows}, T3_GROUP_LABELS)
    read.rows, read.problems = found, problems
    subtotal_at = _org_subtotal_column(toks, found)
    header = [compact(t.text) for t in toks[:80] if not t.is_value]
    # A table printing 总计 before 自然人 (header says so) keeps its values in that order.
    total_first = ("总计" in header and "自然人" in header
                   and header.index("总计") < header.index("自然人"))
    has_subrows = any(k in found for k in schema.T3_OTHER_SUBROWS)
    # 自然人 | 法人或其他组织 | 总计: the organisations not broken down.
    one_org_column = "自然人" in header and not any(
        h in header for h in ("商业企业", "科研机构", "社会公益组织", "法律服务机构"))
    if one_org_column:
        read.problems.append("table 3 prints 法人或其他组织 as one column: the five "
                             "organisation columns are not broken down")
    for key, hit in found.items():
        if hit.filled() == 0 and (key in schema.T3_GROUPS or (
                key == "other_handling" and (has_subrows or version == schema.V2021))):
            continue  # a group heading ((三)不予公开, v2021's (六)其他处理), maybe padded
        if one_org_column and (three := fit(hit, 3)[0]) is not None:
            cells = make_cells(f"table3.{key}", ("natural_person", "total"),
                               (three[0], three[2]), read=read)
            (read.subtotals.setdefault(key, []) if key in schema.T3_GROUPS else read.cells).extend(cells)
            continue
        values, problem = _fit7(hit, subtotal_at, read)
        if problem:
            read.problems.append(f"table 3 {problem}")
            continue
        if total_first:
            values = values[1:] + values[:1]
        cells = make_cells(f"table3.{key}", T3_COLS, values, read=read)
        if key in schema.T3_GROUPS:
            read.subtotals[key] = cells
        else:
            read.cells += cells
    return read


def _org_subtotal_column(toks: list[Token], found: dict[str, RowRead]) -> int | None:
    """Where a 法人或其他组织 小计 column stands among the eight values of a row:
    after 自然人 (1) or after the five organisations (6). The header says so; without
    it, the position whose subtotals add up in every eight-value row (rows of zeros
    fit both, and read the same either way)."""
    header = [compact(t.text) for t in toks if not t.is_value]
    if "自然人" in header:
        start = header.index("自然人")
        words = [h for h in header[start:start + 12]
                 if h not in ("法人或其他组织", "申请人情况", "总计")]
        for at in (1, 6):
            if at < len(words) and words[at] in ("小计", "合计"):
                return at
    rows = [[read_value(t.text).value for t in r.values if t.text.strip()]
            for r in found.values() if r.filled() == 8]
    fits = [at for at in (1, 6) if rows and all(
        None not in n and n[at] == sum(n[2:7] if at == 1 else n[1:6]) for n in rows)]
    if len(fits) == 2 and any([v for i, v in enumerate(n) if i != 1]
                              != [v for i, v in enumerate(n) if i != 6] for n in rows):
        return None  # both positions add up and they read differently: do not guess
    return fits[0] if fits else None


def _fit7(hit: RowRead, subtotal_at: int | None, read: TableRead):
    """Seven values, or eight where a 法人或其他组织 subtotal column is printed: the
    subtotal is checked, not keyed."""
    values, problem = fit(hit, 7)
    if values is not None:
        return values, None
    eight, _ = fit(hit, 8)
    if eight is None or subtotal_at is None:
        return None, problem if eight is None else f"row {hit.label!r}: 8 values where 7 are printed"
    numbers = [read_value(t.text).value for t in eight]
    orgs = numbers[2:7] if subtotal_at == 1 else numbers[1:6]
    if None not in orgs and numbers[subtotal_at] is not None and numbers[subtotal_at] != sum(orgs):
        read.problems.append(
            f"table 3 row {hit.label!r}: 法人或其他组织 subtotal {numbers[subtotal_at]} "
            f"but the organisations sum to {sum(orgs)}")
    return [t for i, t in enumerate(eight) if i != subtotal_at], None


# ---------------------------------------------------------------- table 4
T4_COLS = [c.key for c in schema.T4_COLUMNS]


_T4_RESULTS = tuple(
    schema.Row(c.key, c.label, (f"^{c.label}$",)) for c in schema.T4_COLUMNS)
_T4_GROUP_ORDER = (("review", r"^(?!.*诉讼).*行政复议"), ("litigation_direct", r"未经复议"),
                   ("litigation_after_review", r"复议后起诉"))


def read_table4(blocks: Sequence[Block]) -> TableRead:
    """Fifteen values in printed order (复议, 直接起诉, 复议后起诉; five results each),
    or a transposed table: one row per result (结果维持 … 总计), one column per procedure."""
    read = TableRead()
    toks = tokens(blocks)
    transposed = _transposed_table4(toks)
    if transposed is not None:
        for group, values in transposed.items():
            read.cells += make_cells(f"table4.{group}", T4_COLS, values, read=read)
        return read
    first = next((i for i, t in enumerate(toks) if t.is_value and t.text.strip()), None)
    if first is None:
        if any("复议" in t.text for t in toks):
            read.problems.append("table 4: no values found")
        return read
    line = toks[first].line
    same_line_labels = any(not t.is_value for t in toks if t.line == line)
    values = [t for t in toks[:first] if t.is_value and t.line == line and t.real_row
              and not same_line_labels]
    for tok in toks[first:]:
        if not tok.is_value and len(values) >= 15:
            break  # what follows the fifteen values is another table or a note
        if tok.is_value:
            values.append(tok)
    while len(values) > 15 and not values[-1].text.strip():
        values.pop()
    while len(values) > 15 and not values[0].text.strip():
        values.pop(0)  # a spacer cell opening the row
    # Where rows were lost (one cell per line), blank cells between the header and the
    # first number are the leading cells of the data row.
    before = first - 1
    while len(values) < 15 and before >= 0 and toks[before].is_value and values[0] is not toks[before]:
        values.insert(0, toks[before])
        before -= 1
    if len(values) != 15:
        read.problems.append(f"table 4: {len(values)} values where 15 are printed")
        return read
    for r, group in enumerate(_t4_group_order(toks[:first])):
        read.cells += make_cells(f"table4.{group}", T4_COLS, values[r * 5:(r + 1) * 5], read=read)
    return read


def _t4_group_order(header: list[Token]) -> list[str]:
    """The procedures in the order the header prints them (复议 first in the template;
    some tables print 行政诉讼 first)."""
    # (a label damaged by undecodable bytes may be markup turned text: it decides nothing)
    labels = [compact(t.text) for t in header if not t.is_value and "\ufffd" not in t.text]
    review = next((i for i, h in enumerate(labels) if re.search(_T4_GROUP_ORDER[0][1], h)), None)
    litigation = next((i for i, h in enumerate(labels) if "诉讼" in h or "起诉" in h), None)
    order = [g for g, _ in _T4_GROUP_ORDER]
    if review is not None and litigation is not None and litigation < review:
        order = order[1:] + order[:1]
    return order


def _transposed_table4(toks: list[Token]) -> dict[str, list[Token]] | None:
    """{procedure: its five result values} when every result row holds three values."""
    if not any(not a.is_value and b.is_value and compact(a.text) == "结果维持"
               for a, b in zip(toks, toks[1:], strict=False)):
        return None  # the template's layout: 结果维持 heads a column, no values beside it
    found, _ = read_rows(toks, _T4_RESULTS, {r.key: 3 for r in _T4_RESULTS})
    rows = [found.get(r.key) for r in _T4_RESULTS]
    if any(r is None for r in rows):
        return None
    fitted = [fit(r, 3)[0] for r in rows]
    if any(f is None for f in fitted):
        return None
    header = [compact(t.text) for t in toks if not t.is_value][:12]
    order = []
    for label in header:
        for group, pattern in _T4_GROUP_ORDER:
            if group not in order and re.search(pattern, label):
                order.append(group)
    if sorted(order) != sorted(g for g, _ in _T4_GROUP_ORDER):
        order = [g for g, _ in _T4_GROUP_ORDER]
    return {group: [values[i] for values in fitted] for i, group in enumerate(order)}
