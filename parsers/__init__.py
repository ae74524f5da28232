"""Parse annual reports (政府信息公开工作年度报告) into canonical typed records.

    from xxgk.parsers import parse_path, parse_bytes
    report = parse_path("fixtures/corpus/pingtan-2023.html")
    report.template_version, report.cell("table3.new_received.total").value
"""

from xxgk.parsers.dispatch import PARSER_VERSION, parse_bytes, parse_path
from xxgk.parsers.model import Cell, Check, Report

__all__ = ["PARSER_VERSION", "Cell", "Check", "Report", "parse_bytes", "parse_path"]
