"""The accounting checks (勾稽关系) I1-I5 of one report. Every result is returned,
passing or not; a failure names the cells and the difference, and says whether the
source or the parse is at fault as far as the cells tell: cells that read cleanly and
still disagree point at the source.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from xxgk.parsers import schema
from xxgk.parsers.model import Cell, Check

T3_COLS = [c.key for c in schema.T3_COLUMNS]
T4_PARTS = ("upheld", "corrected", "other", "pending")
AMOUNTS = {"procurement_amount_wan_yuan", "fee_amount_wan_yuan"}


class Rule(NamedTuple):
    """left sum = right sum, over canonical keys; `names` say the keys briefly."""

    id: str
    scope: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    names: dict[str, str]
    passing: str  # the detail of a pass, without numbers


def _rule(check_id: str, scope: str, left, right, name) -> Rule:
    names = {k: name(k) for k in (*left, *right)}

    def side(keys):
        return f"the sum of {len(keys)} rows" if len(keys) > 4 else " + ".join(names[k] for k in keys)

    return Rule(check_id, scope, tuple(left), tuple(right), names,
                f"{side(left)} = {{}} = {side(right)}")


def _row(key: str) -> str:
    return key.split(".")[1]


def _col(key: str) -> str:
    return key.split(".")[2]


@lru_cache(maxsize=16)
def plan(other_rows: tuple[str, ...]) -> tuple[Rule, ...]:
    """The I1-I4 rules for a report whose （六） is printed as `other_rows`."""
    details = [r for r in schema.T3_DETAIL_ROWS if r not in schema.T3_OTHER_SUBROWS]
    details += list(other_rows) or ["other_handling"]
    rules = []
    for col in T3_COLS:
        t = f"table3.{{}}.{col}".format
        rules.append(_rule("I1", col, [t("new_received"), t("carried_over_in")],
                           [t("outcome_total"), t("carried_forward")], _row))
    for row in schema.T3_ROWS:
        k = f"table3.{row.key}.{{}}".format
        rules.append(_rule("I2", row.key, [k("total")], [k(c) for c in T3_COLS[:6]], _col))
    for col in T3_COLS:
        t = f"table3.{{}}.{col}".format
        rules.append(_rule("I3", col, [t("outcome_total")], [t(r) for r in details], _row))
    if other_rows:
        for col in T3_COLS:
            t = f"table3.{{}}.{col}".format
            rules.append(_rule("I3", f"other_handling subtotal/{col}", [t("other_handling")],
                               [t(r) for r in schema.T3_OTHER_SUBROWS], _row))
    for row in schema.T4_ROWS:
        k = f"table4.{row.key}.{{}}".format
        rules.append(_rule("I4", row.key, [k("total")], [k(c) for c in T4_PARTS], _col))
    return tuple(rules)


def evaluate(rule: Rule, values: dict, unclean: set[str]) -> Check | None:
    """None where the report does not print the cells the rule needs (a partial
    table, or a row the report omits: I3 then sums the detail rows it printed)."""
    right = [k for k in rule.right if k in values] if rule.id == "I3" else rule.right
    try:
        lvals = [values[k] for k in rule.left]
        rvals = [values[k] for k in right]
    except KeyError:
        return None
    if not right:
        return None
    if None in lvals or None in rvals:
        keys = (*rule.left, *right)
        blank = [rule.names[k] for k in keys if values[k] is None]
        return Check(rule.id, rule.scope, None, f"not checkable: {', '.join(blank)} blank")
    lsum = sum(lvals)
    rsum = sum(rvals)
    if lsum == rsum:
        if len(right) == len(rule.right):
            return Check(rule.id, rule.scope, True, rule.passing.format(lsum))
        return Check(rule.id, rule.scope, True, f"{lsum} = {rsum} (sum of the {len(right)} "
                     "printed rows)")
    missing = len(rule.right) - len(right)
    # Rows the parse did not read may hold the difference: the parse is suspect first.
    fault = "parse" if missing or any(k in unclean for k in (*rule.left, *right)) else "source"
    detail = (f"{_terms(rule.left, rule, values)} = {lsum} but {_terms(right, rule, values)} "
              f"= {rsum} (differs by {lsum - rsum:+})")
    if missing:
        detail += f"; {missing} detail rows were not read"
    return Check(rule.id, rule.scope, False, detail, fault)


def _terms(keys, rule: Rule, values: dict) -> str:
    """"a 1 + b 2"; in long sums the zero terms are left out, and said to be."""
    shown = [k for k in keys if len(keys) <= 4 or values[k] != 0] or list(keys[:1])
    text = " + ".join(f"{rule.names[k]} {values[k]}" for k in shown)
    return text + (f" (+{len(keys) - len(shown)} zero rows)" if len(shown) < len(keys) else "")


def run(cells: list[Cell], *, unclean: set[str] | None = None,
        subtotals: dict[str, list[Cell]] | None = None) -> list[Check]:
    unclean = unclean or set()
    values = {c.key: c.value for c in cells}
    other_rows = tuple(r for r in schema.T3_OTHER_SUBROWS if f"table3.{r}.total" in values)
    derived = any(c.derived for c in cells if c.key == "table3.other_handling.total")
    rules = [r for r in plan(other_rows) if not (derived and r.scope.startswith("other_handling"))]
    for group, group_cells in (subtotals or {}).items():
        values.update((c.key, c.value) for c in group_cells)
        for cell in group_cells:
            col = _col(cell.key)
            rules.append(_rule("I3", f"{group} subtotal/{col}", [cell.key],
                               [f"table3.{r}.{col}" for r in schema.T3_GROUPS[group]], _row))
    checks = [evaluate(rule, values, unclean) for rule in rules]
    checks.append(_i5(cells))
    return [c for c in checks if c is not None]


def _i5(cells: list[Cell]) -> Check:
    bad = []
    for cell in cells:
        value = cell.value
        if value is None or (type(value) is int and value >= 0):
            continue
        column = _col(cell.key)
        if column in AMOUNTS:
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
