"""Property tests of the value reader and the pipe-table rebuilder."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xxgk.parsers import parse_bytes, schema
from xxgk.parsers.render import STYLES, render
from xxgk.parsers.sample import sample_document, sample_values
from xxgk.parsers.values import read_value

PRINTABLE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(PRINTABLE, st.booleans())
def test_read_value_never_raises(text, amount):
    value = read_value(text, amount=amount)
    assert value.value is None or isinstance(value.value, int | Decimal)
    if value.problem:
        assert value.value is None


@given(st.integers(min_value=0, max_value=10**9))
def test_counts_read_back_in_every_printed_form(n):
    full_width = str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for text in (str(n), f" {n}\u00a0", full_width, f"{n:,}", f"{n}(说明)"):
        assert read_value(text).value == n, text


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=1, max_value=99999))
def test_run_together_numbers_are_a_problem_not_a_guess(a, b):
    value = read_value(f"{a} {b:06d}")
    assert value.value is None and "run together" in value.problem


@given(st.text(max_size=300))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_parses_without_raising(text):
    report = parse_bytes(text.encode("utf-8", "surrogatepass"), name="any.txt")
    assert report.template_version in schema.TEMPLATE_VERSIONS


@given(st.text(alphabet="0123456789|/ -—\n无规章总计自然人本年新收行政复议", max_size=400))
@settings(max_examples=150)
def test_pipe_soup_parses_without_raising(text):
    parse_bytes(("三、收到和处理政府信息公开申请情况\n" + text).encode(), name="soup.txt")


@given(st.sampled_from([schema.V2019, schema.V2021]), st.integers(0, 10_000),
       st.sampled_from(STYLES), st.data())
@settings(max_examples=60, deadline=None)
def test_well_formed_tables_parse_back_in_every_style(version, seed, style, data):
    values = sample_values(version, seed)
    # Some cells printed blank or "/": they must come back as null, never as zero.
    blanks = data.draw(st.lists(st.sampled_from(sorted(values)), max_size=5, unique=True))
    for key in blanks:
        values[key] = data.draw(st.sampled_from(["", "/", "—", "无"]))
    year = 2020 if version == schema.V2019 else 2023
    document = sample_document(version, values, title=f"某某县{year}年政府信息公开工作年度报告")
    report = parse_bytes(render(document, style).encode(), name=f"sample.{style}.txt")
    got = {c.key: c for c in report.cells if not c.derived}
    assert set(got) == set(values), report.problems
    for key, text in values.items():
        expected = None if key in blanks else int(text)
        assert got[key].value == expected, (key, text, got[key])
    assert report.template_version == version and report.agency == "某某县"
    if not blanks:
        assert all(c.ok for c in report.checks), [c for c in report.checks if not c.ok]
