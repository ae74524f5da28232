"""`Document` -> `Report`: classify, read the three tables, run the checks.

The template version is detected from the labels the report prints, never from its
year; a report whose labels and year disagree is kept, parsed by its labels, and
flagged in `problems`.
"""

from __future__ import annotations

import re

from xxgk.parsers import checks, metadata, schema, sections, tables
from xxgk.parsers.document import Document
from xxgk.parsers.model import NOT_A_REPORT, OK, PARTIAL, Cell, Report
from xxgk.parsers.values import arabic_dates, compact


def detect_version(parts: sections.Sections) -> str | None:
    """v2019 / v2021 from the labels of the table parts; "unknown" for tables without
    version-specific labels; None without tables."""
    labels = "".join(  # markers are labels of four or more characters
        compact(cell) for part in ("table2", "table3") for b in parts.get(part)
        for cell in (b.cells if b.cells is not None else [b.text]) if len(cell) >= 4)
    if "本年新收" not in labels and "第二十条" not in labels:
        return None
    score = {v: sum(m in labels for m in markers) for v, markers in schema.VERSION_MARKERS.items()}
    if score[schema.V2021] == score[schema.V2019]:
        return "unknown"
    return schema.V2021 if score[schema.V2021] > score[schema.V2019] else schema.V2019


def build_report(document: Document, *, path: str) -> Report:
    parts = sections.split(document)
    title = metadata.title(document)
    published = metadata.published_date(document)
    report = Report(
        path=path,
        template_version=NOT_A_REPORT,
        title=title,
        year=metadata.report_year(title, document, published),
        published_date=published,
        agency=metadata.agency(title, document),
        source_format=document.source_format,
        encoding=document.encoding,
        problems=list(document.problems),
        narratives=sections.narratives(parts, document),
        text=document.plain_text(),
    )
    version = detect_version(parts)
    if version is None:
        _classify_without_tables(report, document)
        return report
    if version == "unknown":
        # Table 3 alone reads the same in both versions, but for the （六） sub-rows.
        version = schema.V2021 if (report.year or 0) >= 2021 else schema.V2019
        report.problems.append(f"no labels tell the template version; read as {version} "
                               "by the report year")
    report.template_version = version
    _read_tables(report, parts, version)
    if document.incomplete and report.status == OK:
        report.status = PARTIAL  # the input was cut short (truncated PDF): said in problems
    return report


def _classify_without_tables(report: Report, document: Document) -> None:
    title = arabic_dates(compact(report.title or ""))
    if re.search(r"(通知|函|公告|通报|意见|方案|办法|批复|决定)$", title):
        # 关于做好2023年度政府信息公开工作年度报告编制发布工作的通知: about reports, not one
        report.template_version = report.status = NOT_A_REPORT
        report.year = None
        return
    if not (metadata.names_annual_report(title) and re.search(r"(19|20)\d\d", title)):
        report.template_version = NOT_A_REPORT
        report.status = NOT_A_REPORT
        report.year = None
        return
    if report.year is not None and report.year <= 2018:
        report.template_version = schema.LEGACY
        report.status = OK
        return
    # A report of 2019 or later whose tables we did not find (images, an attachment,
    # a layout we do not know): say so rather than pass it off as complete.
    report.template_version = schema.V2021 if (report.year or 0) >= 2021 else schema.V2019
    report.status = PARTIAL
    report.problems.append(
        f"no canonical tables found; template version {report.template_version} "
        "assumed from the report year, not read from labels")


def _read_tables(report: Report, parts: sections.Sections, version: str) -> None:
    reads = [
        tables.read_table2(parts.get("table2"), version),
        tables.read_table3(parts.get("table3"), version),
        tables.read_table4(parts.get("table4")),
    ]
    for read in reads:
        report.cells += read.cells
        report.problems += read.problems
    _derive_other_handling(report)
    unclean = set().union(*(r.unclean for r in reads))
    report.checks = checks.run(report.cells, unclean=unclean, subtotals=reads[1].subtotals)
    _flag_year_mismatch(report, version)
    present = {c.key for c in report.cells}
    as_one = _other_printed_as_one(report)
    missing = [k for k in schema.all_keys(version) if k not in present
               and not (as_one and k.startswith("table3.other_"))]
    if missing:
        report.status = PARTIAL
        report.problems.append(f"{len(missing)} cells of the {version} template not found, "
                               f"e.g. {', '.join(missing[:3])}")
    elif any(c.raw and "\ufffd" in c.raw for c in report.cells):
        report.status = PARTIAL  # cells damaged by undecodable bytes are there, unread
    else:
        report.status = OK


def _other_printed_as_one(report: Report) -> bool:
    cell = report.cell("table3.other_handling.total")
    return cell is not None and not cell.derived


def _derive_other_handling(report: Report) -> None:
    """v2021 prints （六）其他处理 as three sub-rows; its sum is kept as a derived row."""
    cells = {c.key: c for c in report.cells}
    if "table3.other_handling.total" in cells:
        return
    for column in schema.T3_COLUMNS:
        parts = [cells.get(f"table3.{r}.{column.key}") for r in schema.T3_OTHER_SUBROWS]
        if any(p is None or p.value is None for p in parts):
            continue
        report.cells.append(Cell(
            f"table3.other_handling.{column.key}", sum(p.value for p in parts), None, True,
            "derived: sum of （六）1-3"))


def _flag_year_mismatch(report: Report, version: str) -> None:
    year = report.year
    if year is None:
        return
    if (version == schema.V2021 and year < 2021) or (version == schema.V2019 and year >= 2021):
        report.problems.append(
            f"labels say {version} but the report year is {year}: parsed by its labels")
