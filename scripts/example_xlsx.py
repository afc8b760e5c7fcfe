"""Write examples/bac-ninh.xlsx from examples/bac-ninh.csv, laid out as provinces lay out their sheets.

A title above the header row, an instructions sheet, the province and each
zone (Khu vực: a former district, grouping waves) in merged cells down the
rows: the reader must take all of that.

    python scripts/example_xlsx.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "examples" / "bac-ninh.csv"
TARGET = ROOT / "examples" / "bac-ninh.xlsx"
TITLE_ROWS = 2  # a title, then a blank row, above the headers


def main() -> None:
    with SOURCE.open(encoding="utf-8-sig", newline="") as f:
        header, *rows = list(csv.reader(f))
    wb = Workbook()
    guide = wb.active
    assert guide is not None
    guide.title = "Hướng dẫn"
    guide.append(["Mỗi dòng của trang 'Danh sách điểm cầu' là một máy tính phòng họp."])
    guide.append(["Mật khẩu không ghi vào bảng này: ghi tên biến trong Ansible Vault ở cột 'Biến mật khẩu'."])
    ws = wb.create_sheet("Danh sách điểm cầu")
    ws.append(["DANH SÁCH ĐIỂM CẦU HỘI NGHỊ TRUYỀN HÌNH TRỰC TUYẾN CẤP XÃ"])
    ws["A1"].font = Font(bold=True)
    ws.append([])
    ws.append(header)
    for cell in ws[TITLE_ROWS + 1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([int(v) if v.isdigit() and header[i] in ("STT", "Băng thông (Mbps)") else v for i, v in enumerate(row)])
    first = TITLE_ROWS + 2
    last = first + len(rows) - 1
    province_col = header.index("Tỉnh/Thành phố") + 1
    district_col = header.index("Khu vực") + 1
    ws.merge_cells(start_row=first, start_column=province_col, end_row=last, end_column=province_col)
    start = first
    for r in range(first + 1, last + 2):
        if r > last or rows[r - first][district_col - 1] != rows[start - first][district_col - 1]:
            if r - 1 > start:
                ws.merge_cells(start_row=start, start_column=district_col, end_row=r - 1, end_column=district_col)
            start = r
    for col in (province_col, district_col):
        ws.cell(first, col).alignment = Alignment(vertical="center")
    wb.save(TARGET)
    print(f"wrote {TARGET.relative_to(ROOT)}: {len(rows)} sites")


if __name__ == "__main__":
    main()
