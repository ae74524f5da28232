"""Well-formed synthetic reports in the national template, for property tests,
benchmarks and generated fixture portals.

    doc = sample_document("v2021", values)   # values: canonical key -> printed text
    html = sample_html("v2021", values, title="某某区2023年政府信息公开工作年度报告")
"""

from __future__ import annotations

import html as html_lib

from xxgk.parsers import schema
from xxgk.parsers.document import Block, Document

T3_HEADER = [
    ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
    ["自然人", "法人或其他组织", "总计"],
    ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"],
]
T4_HEADER = [
    ["行政复议", "行政诉讼"],
    ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "未经复议直接起诉", "复议后起诉"],
    ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 2,
]


def sample_values(version: str, seed: int = 0) -> dict[str, str]:
    """Printed texts for every key of `version`, consistent with checks I1-I4; the
    reports of consecutive seeds also pass X1 (carry-over) and X2 (in force), so a
    series of years made with seeds year-1, year, ... reads as one agency's history."""
    values: dict[str, str] = {}
    for n, key in enumerate(schema.all_keys(version)):
        if key.startswith("table2"):
            values[key] = str((seed * 7 + n * 13) % 500)
    for row in ("regulations", "normative_documents"):
        if version == schema.V2021:
            issued = (seed * 7 + len(row)) % 40 + 5
            values[f"table2.{row}.issued_this_year"] = str(issued)
            values[f"table2.{row}.repealed_this_year"] = str(issued - 3)
            values[f"table2.{row}.in_force"] = str(100 + 3 * seed)
    t3 = [r.key for r in schema.T3_ROWS if version in r.versions
          and not (version == schema.V2021 and r.key == "other_handling")]
    details = [r for r in t3 if r in schema.T3_DETAIL_ROWS or r == "other_handling"]
    for c, col in enumerate(schema.T3_APPLICANTS):
        counts = {r: (seed + c * 3 + i) % 4 for i, r in enumerate(details)}
        counts[details[0]] += 2  # at least as many outcomes as can be carried in
        outcome = sum(counts.values())
        carried_in = (seed - 1 + 2 * c) % 2  # what the previous seed carried forward
        carried_forward = (seed + 2 * c) % 2
        counts.update(new_received=outcome + carried_forward - carried_in,
                      carried_over_in=carried_in, outcome_total=outcome,
                      carried_forward=carried_forward)
        for row, value in counts.items():
            values[f"table3.{row}.{col}"] = str(value)
    for row in t3:
        values[f"table3.{row}.total"] = str(sum(int(values[f"table3.{row}.{c}"])
                                                for c in schema.T3_APPLICANTS))
    for r, row in enumerate(schema.T4_ROWS):
        parts = [(seed + r + i) % 3 for i in range(4)]
        for col, value in zip(("upheld", "corrected", "other", "pending"), parts, strict=True):
            values[f"table4.{row.key}.{col}"] = str(value)
        values[f"table4.{row.key}.total"] = str(sum(parts))
    return values


def sample_document(version: str, values: dict[str, str], *, title: str | None = None) -> Document:
    """The report as a `Document`: headings, header rows and labelled value rows."""
    blocks: list[Block] = []
    if title:
        blocks.append(Block(text=title))
    blocks += [Block(text="一、总体情况"), Block(text="本年度政府信息公开工作总体平稳。"),
               Block(text="二、主动公开政府信息情况")]
    layout = schema.T2_LAYOUT[version]
    for row in schema.T2_ROWS:
        if row.key not in layout:
            continue
        header = ["信息内容"] + [schema.T2_COLUMNS[c].label for c in layout[row.key]]
        blocks += [Block(cells=[f"第二十条第{row.block}项"], table=0), Block(cells=header, table=0),
                   Block(cells=[row.label] + [values.get(f"table2.{row.key}.{c}", "")
                                              for c in layout[row.key]], table=0)]
    blocks.append(Block(text="三、收到和处理政府信息公开申请情况"))
    blocks += [Block(cells=list(h), table=1) for h in T3_HEADER]
    for row in schema.T3_ROWS:
        if version not in row.versions:
            continue
        label = row.label
        if version == schema.V2021 and row.key == "other_handling":
            blocks.append(Block(cells=[label], table=1))  # a group heading only
            continue
        cells = [label] + [values.get(f"table3.{row.key}.{c.key}", "") for c in schema.T3_COLUMNS]
        blocks.append(Block(cells=cells, table=1))
    blocks.append(Block(text="四、政府信息公开行政复议、行政诉讼情况"))
    blocks += [Block(cells=list(h), table=2) for h in T4_HEADER]
    blocks.append(Block(cells=[values.get(f"table4.{r.key}.{c.key}", "")
                               for r in schema.T4_ROWS for c in schema.T4_COLUMNS], table=2))
    blocks += [Block(text="五、存在的主要问题及改进情况"), Block(text="工作还有不足。"),
               Block(text="六、其他需要报告的事项"), Block(text="无。")]
    return Document(blocks=blocks, source_format="text")


def sample_body_html(version: str, values: dict[str, str]) -> str:
    """The report's article body: paragraphs and bordered tables, as CMS editors save them."""
    body: list[str] = []
    open_table: int | None = None
    for block in sample_document(version, values).blocks:
        if block.cells is None:
            if open_table is not None:
                body.append("</table>")
                open_table = None
            body.append(f"<p>{html_lib.escape(block.text)}</p>")
            continue
        if open_table != block.table:
            if open_table is not None:
                body.append("</table>")
            body.append('<table border="1">')
            open_table = block.table
        body.append("<tr>" + "".join(f"<td>{html_lib.escape(c)}</td>" for c in block.cells) + "</tr>")
    if open_table is not None:
        body.append("</table>")
    return "\n".join(body)


def sample_html(version: str, values: dict[str, str], *, title: str, pubdate: str = "2024-01-20",
                source: str = "") -> str:
    """A portal-like article page (TRS_Editor container) holding the report."""
    esc = html_lib.escape
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<meta name="ArticleTitle" content="{esc(title)}"><meta name="PubDate" content="{pubdate}">'
        f'<meta name="ContentSource" content="{esc(source)}"><title>{esc(title)}</title></head>'
        f'<body><div class="nav">首页 &gt; 政府信息公开年报</div><div class="TRS_Editor">'
        + sample_body_html(version, values) + "</div></body></html>"
    )
