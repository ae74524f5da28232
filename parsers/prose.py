"""Check P1: the figures the overview (总体情况) states against the report's own tables.

    statements(overview_text, cells, year=2023) -> [Statement(kind, quote, stated, ...)]

Rules for the common phrasings of both templates, each tied to table cells:

    全年共收到政府信息公开申请81件 / 受理…申请21件        table3.new_received.total
    收到依申请公开事项1项, …申请7份, 未收到…申请 (0)      table3.new_received.total
    办结…81件                                            table3.outcome_total.total
    予以公开…件, 部分公开…件, 予以公开及部分公开…件         granted, partially_granted (sum)
    不予公开 / 无法提供 / 不予处理 / 其他处理…件            the sums of their table-3 rows
    行政复议案件2件、行政诉讼案件7件                       table4 review, litigation totals

A statement is checked only when it is unambiguous. A clause is skipped when it speaks of
another time (累计, 以来, 同比, 上年, another year's number, a month or quarter), of a
change (增长, 减少), of a part (其中 or an applicant type before a received count, 维持 or
纠正 before a review count), or lists several counts between the keyword and its number;
a number that is approximate (约, 近, 余, 多) or a range is never read; percentages and
Chinese numerals are not matched at all. Figures with no table cell (主动公开…条: table 2
has no total) are not checked. A table cell left blank makes the statement not checkable
(ok is None), never a zero.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from xxgk.parsers import schema

# An outcome group (不予公开, 无法提供, 不予处理) is the sum of its table-3 rows' totals.
_GROUPS = {
    prefix: tuple(f"table3.{row.key}.total" for row in schema.T3_ROWS
                  if row.key.startswith(prefix))
    for prefix in ("withheld_", "unable_", "not_processed_")
}


@dataclass(frozen=True)
class Rule:
    kind: str
    pattern: re.Pattern
    keys: tuple[str, ...]  # the cells summed
    exclude: re.Pattern | None = None  # in the text between keyword and number
    alone: bool = False  # the clause must hold no other count (…5件、网络申请70件: parts)
    zero: bool = False  # the phrase states none at all (未收到…申请): the number is 0


@dataclass(frozen=True)
class Statement:
    kind: str
    quote: str  # the sentence as printed
    stated: int
    cell_key: str  # the key, or the keys summed joined with " + "
    cell_value: int | float | None
    ok: bool | None  # None: a cell is blank or missing, not checkable

    @property
    def detail(self) -> str:
        shown = "blank" if self.cell_value is None else _show(self.cell_value)
        verdict = {True: "agrees", False: "differs", None: "not checkable"}[self.ok]
        return f"「{self.quote}」 states {self.stated}; {self.cell_key} = {shown} ({verdict})"


def _show(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_N = r"(?<![\d.约近超逾~～至到-])(?P<n>\d+)(?![\d.])"
_FILLER = r"(?:的|申请|政府信息公开申请)?(?:共计|总计|合计|共)?"
_PARTS = re.compile(r"自然人|法人|企业|机构|组织|公民|个人|其中|结转|上年|办理中")


def _rule(kind: str, head: str, keys, exclude: str | None = None, unit: str = "件",
          filler: str = _FILLER, alone: bool = False) -> Rule:
    pattern = re.compile(f"{head}(?P<mid>[^，。；：\\d]{{0,30}}?){filler}{_N}{unit}")
    return Rule(kind, pattern, keys, re.compile(exclude) if exclude else None, alone)


RULES = (
    _rule("new_received", r"(?:收到|接收|受理|新收|接到)", ("table3.new_received.total",),
          exclude=r"自然人|法人|企业|机构|组织|公民|个人|结转|上年|办理中|办结|复议|诉讼",
          filler="(?:申请|公开事项)(?:数量)?(?:共计|总计|合计|共)?", alone=True,
          unit="(?:件|份|项)"),
    Rule("new_received", re.compile(
        r"(?:未|没有)(?:收到|接到|受理)过?(?P<mid>[^，。；：\d]{0,20}?)"
        r"(?:申请|公开事宜|公开事项)"), ("table3.new_received.total",),
        re.compile(r"复议|诉讼|自然人|法人|企业|机构|组织"), zero=True),
    _rule("outcome_total", r"办结", ("table3.outcome_total.total",),
          exclude=r"结转|上年|率"),
    _rule("granted_and_partially", r"(?<!不)予以公开(?:及|和|与|、|以及)部分公开",
          ("table3.granted.total", "table3.partially_granted.total")),
    _rule("granted", r"(?<!不)予以公开(?![及和与、以部])", ("table3.granted.total",)),
    _rule("partially_granted", r"(?<![及和与、])部分公开", ("table3.partially_granted.total",)),
    _rule("withheld", r"不予公开", _GROUPS["withheld_"]),
    _rule("unable", r"无法提供", _GROUPS["unable_"]),
    _rule("not_processed", r"不予处理", _GROUPS["not_processed_"]),
    _rule("other_handling", r"其他处理", ("table3.other_handling.total",)),
    _rule("review", r"行政复议(?:案件|申请)?", ("table4.review.total",),
          exclude=r"维持|纠正|驳回|其他|尚未|诉讼", unit="(?:件|起)"),
    _rule("litigation", r"行政诉讼(?:案件)?",
          ("table4.litigation_direct.total", "table4.litigation_after_review.total"),
          exclude=r"维持|纠正|驳回|其他|尚未|复议后|未经", unit="(?:件|起)"),
)
_ZERO_RULES = tuple(rule for rule in RULES if rule.zero)

# A clause that speaks of another time or a change, not of this year's figure.
_OTHER_TIME = re.compile(
    r"累计|以来|历年|同比|环比|较上年|比上年|上年|去年|前年|往年|增长|下降|减少|增加|上升|"
    r"月份|\d+月|季度|上半年|下半年|截至|截止|至今|近\d*年|年均|平均|占比|分别")
_COUNT = re.compile(r"\d+(?:件|起|条|个|份|项)")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)年")
_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"[^。；;！？!?\n]+")
_CLAUSE = re.compile(r"[^，,]+")


def clauses(text: str):
    """(sentence as printed, normalised clause) pairs of a prose section."""
    for sentence in _SENTENCE.finditer(text):
        printed = sentence.group().strip()
        for clause in _CLAUSE.finditer(printed):
            yield printed, _SPACE.sub("", unicodedata.normalize("NFKC", clause.group()))


def statements(text: str, cells: dict[str, object], *, year: int | None) -> list[Statement]:
    """The unambiguous figure statements of `text` (an overview), checked against `cells`
    (key -> value; a blank cell is None)."""
    found = []
    skipped: dict[str, bool] = {}  # sentence -> names another year (asked once per sentence)
    for sentence, clause in clauses(text or ""):
        if _OTHER_TIME.search(clause):
            continue
        if sentence not in skipped:
            skipped[sentence] = _other_year(sentence, year)
        if skipped[sentence]:
            continue
        # every rule but the zero ones reads a number: most clauses have none
        for rule in RULES if _DIGIT.search(clause) else _ZERO_RULES:
            for match in rule.pattern.finditer(clause):
                mid = match.group("mid")
                if rule.exclude is not None and rule.exclude.search(mid):
                    continue
                if _lists_counts(clause, match) or (rule.alone and len(_COUNT.findall(clause)) > 1):
                    continue
                stated = 0 if rule.zero else int(match.group("n"))
                found.append(_compare(rule, sentence, stated, cells))
    return found


def _other_year(sentence: str, year: int | None) -> bool:
    """The sentence names a year, and not (only) the report's."""
    years = {int(y) for y in _YEAR.findall(sentence)}
    return bool(years) and (year is None or years != {year})


def _lists_counts(clause: str, match: re.Match) -> bool:
    """Another count between this keyword and its number (…申请5件、信函申请…): a list of
    parts whose numbers cannot be told apart safely."""
    if "n" not in match.re.groupindex:
        return False
    return bool(_COUNT.search(clause[match.start():match.start("n")]))


def _compare(rule: Rule, sentence: str, stated: int, cells: dict) -> Statement:
    keys = rule.keys
    values = [cells.get(k) for k in keys]
    label = " + ".join(keys) if len(keys) <= 2 else _group_label(keys)
    if any(v is None for v in values):
        return Statement(rule.kind, sentence, stated, label, None, None)
    total = sum(values)
    return Statement(rule.kind, sentence, stated, label, total, total == stated)


def _group_label(keys: tuple[str, ...]) -> str:
    """table3.withheld_*.total: the rows of one outcome group, summed."""
    prefix = next(p for p, rows in _GROUPS.items() if rows == keys)
    return f"table3.{prefix}*.total ({len(keys)} rows)"
