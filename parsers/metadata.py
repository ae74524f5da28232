"""Title, agency, report year and publication date of a report.

The report year comes from the title (the page date is the publication date; the report
year is usually the year before). The agency comes from the title, else the closing
signature, else the page's 来源; a short county-level name ("细河区民政局") is completed
with its city where the page itself names it ("阜新市细河区…").
"""

from __future__ import annotations

import re

from xxgk.parsers import sections
from xxgk.parsers.document import Document
from xxgk.parsers.values import arabic_dates, compact, squeeze

_TITLE_WORDS = re.compile(r"(政府信息公开|政务公开|信息公开|信息工作公开).{0,12}(年度报告|年报|工作报告)")
# Older titles that name no 报告: "平潭县卫生局2011年度政府信息公开",
# "平潭县卫生局2013年度政府信息公开情况总结". Only with an agency before the year, so a
# menu item ("2022年度政府信息公开") is not taken for a title.
_SUMMARY_TITLE = re.compile(
    r"^(.{2,30}?)(?:20\d\d|19\d\d)年度?(?:政府信息公开|政务公开)(?:工作)?(?:情况总结|工作总结)?$")
# A field label in front of the title, as text renderings of a page write it ("标题: …").
_TITLE_LABEL = re.compile(r"^(?:标题|题目|文章标题)\s*[:：]\s*")
_YEAR_IN_TITLE = re.compile(r"(20\d\d|19\d\d)年")
_DATE = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})")
_COUNTY = re.compile(r"^(.{2,8}?(?:区|县|旗|市))")


_AGENCY_END = re.compile(r"(政府|局|委|委员会|办|办公室|院|署|厅|部|会|中心|区|县|市|旗|镇|乡|街道|馆|所|队)$")


def is_title(line: str) -> bool:
    """A report title names its year; breadcrumbs and menu items (政府信息公开年报) do not."""
    return bool(names_annual_report(line) and _YEAR_IN_TITLE.search(arabic_dates(line))
                and len(line) <= 60 and not re.search(r"首页|当前位置|>|»", line))


def names_annual_report(text: str) -> bool:
    """The words of an annual report's title (政府信息公开…年度报告, or an older
    "<agency><year>年度政府信息公开[情况总结]")."""
    if _TITLE_WORDS.search(text):
        return True
    match = _SUMMARY_TITLE.match(arabic_dates(text))
    return bool(match and _AGENCY_END.search(match.group(1)))


def title(document: Document) -> str | None:
    meta = document.meta
    if meta.get("title"):
        return compact(meta["title"])
    lines = [_TITLE_LABEL.sub("", compact(b.text)) if len(b.text) <= 100 else ""
             for b in document.blocks[:15] if b.cells is None]
    for i, line in enumerate(lines):
        if is_title(line):
            # A title broken over two lines: "洪泽区人民政府" / "2023年…年度报告".
            previous = lines[i - 1] if i > 0 else ""
            if (_YEAR_FIRST.match(arabic_dates(line)) and 2 < len(previous) <= 25
                    and _AGENCY_END.search(previous) and not _DATE.search(previous)):
                return previous + line
            return line
    for candidate in (meta.get("heading"), meta.get("page_title")):
        for part in re.split(r"[_|｜]|\s[-—–]\s|[-—–]", compact(candidate or "")):
            if is_title(part):
                return part
    return None


_YEAR_FIRST = re.compile(r"^(?:20\d\d|19\d\d)年")




def report_year(title_text: str | None, document: Document, published: str | None) -> int | None:
    if title_text:
        match = _YEAR_IN_TITLE.search(arabic_dates(title_text))
        if match:
            return int(match.group(1))
    text = compact(document.plain_text()[:3000])
    match = re.search(r"统计期限自(\d{4})年", text) or re.search(r"^(\d{4})年[,，]", text)
    if match:
        return int(match.group(1))
    for block in document.blocks[:40]:
        match = re.match(r"^\s*(20\d\d)\s*年", block.text)
        if match and block.cells is None:
            return int(match.group(1))
    if published:
        return int(published[:4]) - 1
    return None


_DATE_TEXT = r"(\d{4}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2})"
# Publication labels first; a bare 日期/时间 only where it is no 成文日期 (drafted) or
# 更新时间 (a sidebar item's date).
_PUBDATE_LABELS = (
    re.compile(r"(?:发布日期|发布时间|公开日期|发文日期|发布于)\s*[:：|]?\s*" + _DATE_TEXT),
    re.compile(r"(?<![成印更生创修撰])(?:日期|时间)\s*[:：]\s*" + _DATE_TEXT),
)


def labelled_date(text: str) -> str | None:
    """The publication date a page's info line or metadata table gives, as ISO."""
    for pattern in _PUBDATE_LABELS:
        match = pattern.search(text)
        if match:
            return iso_date(match.group(1))
    return None


def published_date(document: Document) -> str | None:
    date = iso_date(document.meta.get("pubdate"))
    if date:
        return date
    date = labelled_date("\n".join(document.text_lines(40)))
    if date:
        return date
    _, signed = sections.signature(document)
    return iso_date(signed)


def iso_date(text: str | None) -> str | None:
    if not text:
        return None
    match = _DATE.search(text)
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    if not (1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def agency(title_text: str | None, document: Document) -> str | None:
    signed, _ = sections.signature(document)
    source = document.meta.get("source") or _labelled_source(document)
    source = compact(source) if source and not _NOT_AN_AGENCY.search(source) else None
    name = _agency_from_title(title_text) if title_text else None
    if name and signed and signed.endswith(name) and len(signed) > len(name):
        name = signed  # "财政金融局2023年…" signed "平潭综合实验区财政金融局"
    if name:
        # A title that abbreviates the name the page prints in full: "平潭县广电局" /
        # 来源 "平潭县广播电视事业局"; "平潭市场监督管理局" / signed "平潭综合实验区市场监督管理局".
        name = next((full for full in (signed, source) if full and _abbreviates(name, full)), name)
    if not name and signed and source and signed in (source + "办公室", source + "办"):
        name = source  # a department's report signed by its office
    name = name or signed or source
    if not name and document.meta.get("site_name"):
        name = compact(document.meta["site_name"])
    if not name:
        return None
    return complete_with_city(name, document)


def _abbreviates(short: str, full: str) -> bool:
    """`short` is `full` with characters left out, same first and last character (so a
    government is not taken for its 办公室, which signs its report)."""
    if not (3 <= len(short) < len(full) and short[0] == full[0] and short[-1] == full[-1]):
        return False
    rest = iter(full)
    return all(ch in rest for ch in short)


# 来源 lines that name the website, not an agency.
_NOT_AN_AGENCY = re.compile(r"^\s*(本网|本站|网站|原创|转载)")


def _labelled_source(document: Document) -> str | None:
    """来源/发布机构 in the page's info line, as text extraction keeps it."""
    # An empty field ("发布机构: " then the next line "栏目: …") names no agency: a
    # capture that is itself a label (ends in a colon) is not taken.
    match = re.search(r"(?:来源|发布机构|信息来源)\s*[:：|]\s*([^\s|:：]{2,30})(?![^\s|]*[:：])",
                      "\n".join(document.text_lines(40)))
    return match.group(1) if match else None


def _agency_from_title(title_text: str) -> str | None:
    text = arabic_dates(compact(title_text)).removeprefix("关于")
    match = re.match(r"^(.{2,40}?)(?:关于)?(?:20\d\d|19\d\d)年", text)
    if match and not re.search(r"关于|印发|转发|政府信息公开|年度报告|工作", match.group(1)):
        return match.group(1)
    match = re.match(r"^(?:20\d\d|19\d\d)年度?(.{2,40}?)(?:政府信息公开|政务公开)", text)
    if match:
        return match.group(1)
    match = re.match(r"^(.{2,40}?)(?:政府信息公开|政务公开)", text)
    if match and not _YEAR_FIRST.match(text):
        return match.group(1)  # "…政府信息公开工作2023年度报告", "…年度报告（2023年度）"
    return None


def complete_with_city(name: str, document: Document) -> str:
    """"细河区民政局" + a page that says "阜新市细河区…" -> "阜新市细河区民政局"."""
    county = _COUNTY.match(name)
    if not county or not county.group(1).endswith(("区", "县", "旗")):
        return name  # already starts with its city, or not a county-level name
    token = county.group(1)
    text = document.plain_text()
    start = text.find(token)
    while start >= 0:
        # Most prefecture-level city names are two characters + 市 (阜新市, 淮安市).
        city = squeeze(text[max(0, start - 8):start])[-3:]
        if re.fullmatch(r"[\u4e00-\u9fff]{2}[市州盟]", city):
            return city + name
        start = text.find(token, start + 1)
    return name
