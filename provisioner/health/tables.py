"""A report as titled tables, written as HTML and as XLSX (one sheet per table, its header on row 1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from provisioner.atomic import write_atomic

Cell = str | int | float
#: Times in reports are the province's: Vietnam's.
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
#: How a cell's value is coloured (HTML class and XLSX fill).
TONES = {
    "Ổn định": "good",
    "Sẵn sàng": "good",
    "Đạt": "good",
    "Không ổn định": "warn",
    "Thay đổi": "warn",
    "Không hoạt động": "bad",
    "Không kết nối": "bad",
    "Chưa sẵn sàng": "bad",
    "Lỗi": "bad",
    "Chưa kiểm tra": "dim",
}
_FILLS = {"good": "C6EFCE", "warn": "FFEB9C", "bad": "FFC7CE", "dim": "EDEDED"}


def local_time(at: str) -> str:
    """A stored UTC time as people in the province read it: dd/mm/yyyy HH:MM."""
    if not at:
        return ""
    return datetime.fromisoformat(at).astimezone(LOCAL).strftime("%d/%m/%Y %H:%M")


@dataclass
class Table:
    name: str  # the sheet's name (≤ 31 characters)
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Report:
    title: str
    lines: list[str]  # the summary printed above the tables
    tables: list[Table]

    def html(self) -> str:
        return _HTML.render(report=self, tones=TONES)

    def write_html(self, path: Path) -> Path:
        write_atomic(path, self.html())
        return path

    def write_xlsx(self, path: Path) -> Path:
        book = Workbook()
        info = book.active
        assert info is not None
        info.title = "Thông tin"
        _append(info, [self.title])
        info["A1"].font = Font(bold=True, size=14)
        for line in self.lines:
            _append(info, [line])
        info.column_dimensions["A"].width = 100
        for table in self.tables:
            sheet = book.create_sheet(table.name[:31])
            _append(sheet, table.columns)
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for row in table.rows:
                for cell in _append(sheet, row):
                    tone = TONES.get(str(cell.value))
                    if tone:
                        cell.fill = PatternFill("solid", start_color=_FILLS[tone])
            sheet.freeze_panes = "A2"
            for i, name in enumerate(table.columns):
                width = max([len(str(name)), *(len(str(r[i])) for r in table.rows if i < len(r))])
                sheet.column_dimensions[sheet.cell(1, i + 1).column_letter].width = min(60, width + 2)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        book.save(tmp)
        tmp.replace(path)
        return path


def _append(sheet: Worksheet, values: list[Cell] | list[str]) -> tuple[Any, ...]:
    """Append a row whose text stays text: a value from a registry or a site starting with ``=`` is no formula.

    openpyxl stores a string starting with ``=`` as a formula; every string is
    written as a string cell here, and the characters XML cannot carry
    (control characters a site may report) are shown as U+FFFD.
    """
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v for v in values])
    cells: tuple[Any, ...] = sheet[sheet.max_row]
    for cell, value in zip(cells, values, strict=False):
        if isinstance(value, str):
            cell.data_type = "s"
    return cells


_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""\
<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{{ report.title }}</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #999; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #eee; }
.good { background: #c6efce; } .warn { background: #ffeb9c; } .bad { background: #ffc7ce; } .dim { background: #ededed; }
</style></head><body>
<h1>{{ report.title }}</h1>
{% for line in report.lines %}<p>{{ line }}</p>
{% endfor %}
{% for table in report.tables %}<h2>{{ table.name }}</h2>
{% if table.rows %}<table>
<tr>{% for c in table.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in table.rows %}<tr>{% for v in row %}<td class="{{ tones.get(v | string, '') }}">{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>{% else %}<p>(không có)</p>{% endif %}
{% endfor %}</body></html>
""")
