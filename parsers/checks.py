"""The accounting checks (勾稽关系) I1-I5 of one report. Every result is returned,
passing or not; a failure names the cells and the difference, and says whether the
source or the parse is at fault as far as the cells tell: cells that read cleanly and
still disagree point at the source.
"""

from __future__ import annotations

from decimal import Decimal

from parsers import schema
from parsers.model import Cell, Check

T3_COLS = [c.key for c in schema.T3_COLUMNS]


class _Values:
    def __init__(self, cells: list[Cell], unclean: set[str]):
        self.cells = {c.key: c for c in cells}
        self.unclean = unclean

    def get(self, key: str):
        cell = self.cells.get(key)
        return None if cell is None else cell.value

    def has(self, key: str) -> bool:
        return key in self.cells

    def fault(self, keys: list[str]) -> str:
        return "parse" if any(k in self.unclean for k in keys) else "source"


def _compare(check_id: str, scope: str, left: list[str], right: list[str], v: _Values,
             short=lambda k: k.split(".")[1]) -> Check | None:
    keys = left + right
    if not all(v.has(k) for k in keys):
        return None
    blank = [short(k) for k in keys if v.get(k) is None]
    if blank:
        return Check(check_id, scope, None, f"not checkable: {', '.join(blank)} blank")
    lsum = sum(v.get(k) for k in left)
    rsum = sum(v.get(k) for k in right)
    lhs, rhs = _terms(left, v, short), _terms(right, v, short)
    if lsum == rsum:
        return Check(check_id, scope, True, f"{lhs} = {lsum} = {rhs}")
    diff = lsum - rsum
    return Check(check_id, scope, False, f"{lhs} = {lsum} but {rhs} = {rsum} (differs by {diff:+})",
                 v.fault(keys))


def _terms(keys: list[str], v: _Values, short) -> str:
    """"a 1 + b 2"; in long sums the zero terms are left out, and said to be."""
    shown = [k for k in keys if len(keys) <= 4 or v.get(k) != 0] or keys[:1]
    text = " + ".join(f"{short(k)} {v.get(k)}" for k in shown)
    return text + (f" (+{len(keys) - len(shown)} zero rows)" if len(shown) < len(keys) else "")


def run(cells: list[Cell], *, unclean: set[str] | None = None,
        subtotals: dict[str, list[Cell]] | None = None) -> list[Check]:
    v = _Values(cells, unclean or set())
    checks: list[Check | None] = []
    printed_other_rows = [r for r in schema.T3_OTHER_SUBROWS if v.has(f"table3.{r}.total")]
    details = [r for r in schema.T3_DETAIL_ROWS if r not in schema.T3_OTHER_SUBROWS]
    details += printed_other_rows or ["other_handling"]
    for col in T3_COLS:
        t = f"table3.{{}}.{col}".format
        checks.append(_compare("I1", col, [t("new_received"), t("carried_over_in")],
                               [t("outcome_total"), t("carried_forward")], v))
    for row in schema.T3_ROWS:
        k = f"table3.{row.key}.{{}}".format
        checks.append(_compare("I2", row.key, [k("total")], [k(c) for c in T3_COLS[:6]], v,
                               short=lambda key: key.split(".")[2]))
    for col in T3_COLS:
        t = f"table3.{{}}.{col}".format
        present = [t(r) for r in details if v.has(t(r))]
        if v.has(t("outcome_total")) and present:
            checks.append(_compare("I3", col, [t("outcome_total")], present, v))
    for group, cells in (subtotals or {}).items():
        from parsers.tables import GROUP_CHILDREN

        sub = _Values(cells + list(v.cells.values()), v.unclean)
        for cell in cells:
            col = cell.column
            children = [f"table3.{r}.{col}" for r in GROUP_CHILDREN[group]]
            checks.append(_compare("I3", f"{group} subtotal/{col}", [cell.key], children, sub))
    if printed_other_rows and v.has("table3.other_handling.total") and \
            not v.cells["table3.other_handling.total"].derived:
        for col in T3_COLS:
            t = f"table3.{{}}.{col}".format
            checks.append(_compare("I3", f"other_handling subtotal/{col}", [t("other_handling")],
                                   [t(r) for r in schema.T3_OTHER_SUBROWS], v))
    for row in schema.T4_ROWS:
        k = f"table4.{row.key}.{{}}".format
        checks.append(_compare("I4", row.key, [k("total")],
                               [k(c) for c in ("upheld", "corrected", "other", "pending")], v,
                               short=lambda key: key.split(".")[2]))
    checks.append(_i5(cells))
    return [c for c in checks if c is not None]


def _i5(cells: list[Cell]) -> Check:
    amounts = {"procurement_amount_wan_yuan", "fee_amount_wan_yuan"}
    bad = []
    for cell in cells:
        value = cell.value
        if value is None:
            continue
        column = cell.column
        if column in amounts:
            if value < 0:
                bad.append(f"{cell.key} = {value} (negative amount)")
        elif isinstance(value, Decimal | float) and value != int(value):
            bad.append(f"{cell.key} = {value} (not a whole number)")
        elif value < 0 and column != "items_change":
            bad.append(f"{cell.key} = {value} (negative count)")
    if bad:
        return Check("I5", "all", False, "; ".join(bad), "source")
    return Check("I5", "all", True, f"{sum(c.value is not None for c in cells)} values are "
                 "non-negative whole numbers (items_change signed, amounts decimal)")
