"""Text renderings in the shapes researchers hold: rows lost, numbers on one line,
subtotal rows, full-width digits and thousands separators."""

from __future__ import annotations

from xxgk.parsers import parse_bytes
from xxgk.parsers.render import render
from xxgk.parsers.sample import sample_document, sample_values


def seed_like(version: str = "v2019", **changes: str) -> str:
    values = sample_values(version, seed=5)
    values.update(changes)
    title = "某某市某某县民政局2020年政府信息公开工作年度报告"
    return render(sample_document(version, values, title=title), "pipe"), values


def test_table4_as_fifteen_numbers_after_its_header_on_one_line():
    text, values = seed_like()
    lines = text.splitlines()
    start = lines.index("四、政府信息公开行政复议、行政诉讼情况")
    end = lines.index("五、存在的主要问题及改进情况")
    numbers = " ".join(values[k] for k in values if k.startswith("table4."))
    lines[start + 1:end] = ["行政复议 行政诉讼 结果维持 结果纠正 其他结果 尚未审结 总计 " + numbers]
    report = parse_bytes("\n".join(lines).encode(), name="t4.txt")
    got = {c.key: str(c.value) for c in report.cells if c.table == "table4"}
    assert got == {k: v for k, v in values.items() if k.startswith("table4.")}


def test_group_subtotal_row_is_read_and_checked_not_keyed():
    text, values = seed_like()
    cols = ["natural_person", "org_commercial", "org_research", "org_public_interest",
            "org_legal_service", "org_other", "total"]
    rows = [*("withheld_state_secret", "withheld_law_prohibited",
                        "withheld_security_stability", "withheld_third_party",
                        "withheld_internal_affairs", "withheld_process_info",
                        "withheld_enforcement_file", "withheld_admin_inquiry")]
    sums = [sum(int(values[f"table3.{r}.{c}"]) for r in rows) for c in cols]
    sums[0] += 1  # the printed subtotal is off by one for 自然人
    subtotal = "（三）不予公开 | " + " | ".join(map(str, sums)) + " |"
    text = text.replace("（三）1.属于国家秘密 |", subtotal + "\n（三）1.属于国家秘密 |", 1)
    report = parse_bytes(text.encode(), name="subtotal.txt")
    assert not any(c.key.startswith("table3.withheld.") for c in report.cells)
    sub = {c.scope: c for c in report.checks if "subtotal" in c.scope}
    assert sub["withheld subtotal/natural_person"].ok is False
    assert "differs by +1" in sub["withheld subtotal/natural_person"].detail
    assert sub["withheld subtotal/total"].ok is True
    assert sub["withheld subtotal/org_commercial"].ok is True
    assert report.status == "ok"


def test_full_width_digits_separators_and_signed_changes():
    text, _ = seed_like(**{
        "table2.admin_licensing.items_prev_year": "１，２３４",
        "table2.admin_penalty.items_change": "-18",
        "table2.central_procurement.procurement_amount_wan_yuan": "251000元",
    })
    report = parse_bytes(text.encode(), name="forms.txt")
    assert report.cell("table2.admin_licensing.items_prev_year").value == 1234
    assert report.cell("table2.admin_licensing.items_prev_year").raw == "１，２３４"
    assert report.cell("table2.admin_penalty.items_change").value == -18
    assert float(report.cell("table2.central_procurement.procurement_amount_wan_yuan").value) == 25.1
    i5 = next(c for c in report.checks if c.id == "I5")
    assert i5.ok is True


def test_negative_count_fails_i5_as_printed():
    text, _ = seed_like(**{"table3.granted.natural_person": "-2"})
    report = parse_bytes(text.encode(), name="neg.txt")
    assert report.cell("table3.granted.natural_person").value == -2
    i5 = next(c for c in report.checks if c.id == "I5")
    assert i5.ok is False and "table3.granted.natural_person = -2" in i5.detail


def test_labels_of_one_version_and_year_of_another_are_flagged():
    values = sample_values("v2021", seed=1)
    doc = sample_document("v2021", values, title="某某县2019年政府信息公开工作年度报告")
    report = parse_bytes(render(doc, "cells").encode(), name="mismatch.txt")
    assert report.template_version == "v2021" and report.year == 2019
    assert any("labels say v2021 but the report year is 2019" in p for p in report.problems)


def test_agency_and_year_from_the_common_title_forms():
    from xxgk.parsers.document import Document
    from xxgk.parsers.metadata import agency, report_year

    cases = {
        "平潭综合实验区2023年度政府信息公开工作年度报告": ("平潭综合实验区", 2023),
        "2023年度北京市东城区民政局政府信息公开工作年度报告": ("北京市东城区民政局", 2023),
        "北京市东城区民政局关于2022年政府信息公开工作年度报告": ("北京市东城区民政局", 2022),
        "某县人民政府办公室2021年度政府信息公开工作年度报告（更正）": ("某县人民政府办公室", 2021),
    }
    for title, (name, year) in cases.items():
        assert (agency(title, Document()), report_year(title, Document(), None)) == (name, year)


def test_browser_copy_one_cell_per_line_without_pipes():
    values = sample_values("v2021", seed=7)
    doc = sample_document("v2021", values, title="某某县2023年政府信息公开工作年度报告")
    lines = []
    for block in doc.blocks:
        lines += block.cells if block.cells is not None else [block.text]
    report = parse_bytes("\n".join(lines).encode(), name="copied.txt")
    got = {c.key: str(c.value) for c in report.cells if not c.derived}
    assert got == values, report.problems


def test_chinese_numeral_year_in_title():
    from xxgk.parsers.document import Document
    from xxgk.parsers.metadata import agency, report_year

    title = "某某区人民政府二〇二三年政府信息公开工作年度报告"
    assert report_year(title, Document(), None) == 2023
    assert agency(title, Document()) == "某某区人民政府"
