"""Split a `Document` into the report's parts by their headings: the three tables
(二、三、四) and the prose sections (一、五、六)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xxgk.parsers.document import Block, Document
from xxgk.parsers.values import arabic_dates, compact

# Part -> heading pattern, on compact text. Headings are short lines; the report's
# introduction names every part in one long sentence, which the length cap excludes.
HEADINGS = {
    "overview": r"^[一1][、.]?总体情况",
    "table2": r"主动公开政府信息(情况)?$|^[二2][、.]?主动公开",
    "table3": r"收到和处理政府信息公开申请",
    "table4": r"(行政复议|复议).*(行政诉讼|诉讼)",
    "problems": r"存在的主要问题|主要问题及改进",
    "other_matters": r"其他需要报告的事项",
}
_MAX_HEADING = 40
_CHROME = re.compile(r"主办单位|版权所有|ICP备|网站标识码|公网安备|联系我们|扫一扫|附件下载|关闭窗口|打印本页")
_SIGNATURE_LINE = re.compile(r"^\s*((?!.*(?:日期|时间))[^\s\d，,。：:]{3,30})\s+(\S{8,14})\s*$")
_SIGNATURE_DATE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$")
_SIGNATURE_AT_END = re.compile(r"(?:^|\s)([^\s\d，,。：:；;、）)]{3,30})\s+(\S{8,14})\s*(?:附件下载)?\s*$")


@dataclass
class Sections:
    blocks: dict[str, list[Block]] = field(default_factory=dict)

    def get(self, part: str) -> list[Block]:
        return self.blocks.get(part, [])


_HEADING = re.compile("|".join(f"(?P<{part}>{pattern})" for part, pattern in HEADINGS.items()))


def _heading(block: Block) -> str | None:
    if block.cells is not None and sum(1 for c in block.cells if c) > 1:
        return None  # a table row, not a heading
    raw = block.text if block.cells is None else "".join(block.cells)
    if len(raw) > 3 * _MAX_HEADING:  # prose; spared the normalisation
        return None
    text = compact(raw)
    if not text or len(text) > _MAX_HEADING:
        return None
    match = _HEADING.search(text)
    return match.lastgroup if match else None


def split(document: Document) -> Sections:
    sections = Sections()
    part = "preamble"
    for block in document.blocks:
        heading = _heading(block)
        if heading is not None and heading not in sections.blocks:
            part = heading
            sections.blocks[part] = []
            continue
        sections.blocks.setdefault(part, []).append(block)
    _tables_without_headings(document, sections)
    return sections


def _tables_without_headings(document: Document, sections: Sections) -> None:
    """Reports that print the tables without their headings, or away from them (all
    the text first, then the tables): find each table by what it holds (a table index
    shared by its rows)."""
    missing = [p for p in ("table2", "table3", "table4")
               if not any(b.cells is not None for b in sections.get(p))]
    if not missing:
        return
    by_table: dict[int, list[Block]] = {}
    for block in document.blocks:
        if block.cells is not None and block.table is not None:
            by_table.setdefault(block.table, []).append(block)
    for rows in by_table.values():
        text = compact("".join("".join(b.cells or []) for b in rows))
        part = ("table3" if "本年新收" in text else "table2" if "第二十条" in text or "规章" in text
                else "table4" if "复议" in text else None)
        if part in missing:
            sections.blocks[part] = rows
            missing.remove(part)


def narratives(sections: Sections, document: Document) -> dict[str, str]:
    """The prose parts as text; the signature and the chrome after it are cut."""
    signed_by, signed_on = signature(document)
    out = {}
    for part in ("overview", "problems", "other_matters"):
        lines = []
        for block in sections.get(part):
            if block.cells is not None:
                continue
            text = block.text.strip()
            if (_CHROME.search(text) or re.match(r"^[二三四五六]\s*[、.．]", text)
                    or (len(text) <= 30 and arabic_dates(compact(text)) in (signed_by, signed_on))):
                break
            lines.append(block.text)
        if lines:
            out[part] = "\n".join(lines)
    return out


def signature(document: Document) -> tuple[str | None, str | None]:
    """(agency, date text) of the report's closing signature: a short line naming the
    agency followed by a date line, the last such pair in the document."""
    cached = document.__dict__.get("_signature")
    if cached is not None:
        return cached
    document.__dict__["_signature"] = found = _signature(document)
    return found


def _signature(document: Document) -> tuple[str | None, str | None]:
    lines = [b.text for b in document.blocks if b.cells is None]
    found = (None, None)
    for i in range(1, len(lines)):
        one_line = (_SIGNATURE_LINE.match(lines[i])
                    if 8 < len(lines[i]) <= 60 and "日" in lines[i] else None)
        if one_line and _SIGNATURE_DATE.match(arabic_dates(compact(one_line[2]))):
            found = (compact(one_line[1]), arabic_dates(compact(one_line[2])))  # "局   2024年1月20日"
            continue
        if len(lines[i]) > 20:
            continue
        date = arabic_dates(compact(lines[i]))
        if _SIGNATURE_DATE.match(date):
            agency = compact(lines[i - 1])
            if 2 < len(agency) <= 30 and not re.search(r"\d|[，,。：:]", agency):
                found = (agency, date)
    if found == (None, None) and lines:
        # Text that runs a whole page into one line (an archive's text rendering) ends
        # with the signature: "… 平潭综合实验区市场监督管理局 2017年1月12日".
        tail = _SIGNATURE_AT_END.search(lines[-1][-80:])
        if tail and _SIGNATURE_DATE.match(arabic_dates(compact(tail[2]))):
            found = (compact(tail[1]), arabic_dates(compact(tail[2])))
    return found
