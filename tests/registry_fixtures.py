"""Registries for tests: one valid row to start from, written as CSV or XLSX."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook

HEADERS = [
    "Tỉnh/Thành phố", "Huyện/Khu vực", "Mã xã", "Xã/Phường", "Phòng họp", "Địa chỉ quản lý",
    "Đường truyền chuyên dùng", "Đường truyền internet dự phòng", "Băng thông (Mbps)",
    "Thiết bị giải mã", "Tình trạng thiết bị giải mã", "Camera", "Tình trạng camera",
    "Thiết bị âm thanh", "Tình trạng thiết bị âm thanh", "Thiết bị hiển thị", "Tình trạng thiết bị hiển thị",
    "Cán bộ vận hành 1", "Điện thoại cán bộ 1", "Email cán bộ 1", "Cán bộ vận hành 2", "Điện thoại cán bộ 2",
    "Phần mềm họp", "Địa chỉ phòng họp trực tuyến", "Địa chỉ MCU", "Tài khoản", "Biến mật khẩu",
]  # fmt: skip


def site(n: int = 1, **changes: str) -> dict[str, str]:
    """A valid row for site ``n`` (invented people, numbers and addresses), with ``changes`` by header."""
    row = {
        "Tỉnh/Thành phố": "Tỉnh Bắc Giang",
        "Huyện/Khu vực": "Huyện Việt Yên",
        "Mã xã": "",
        "Xã/Phường": f"Xã Thử Nghiệm {n}",
        "Phòng họp": "01",
        "Địa chỉ quản lý": f"10.99.0.{n}",
        "Đường truyền chuyên dùng": "Có",
        "Đường truyền internet dự phòng": "Không",
        "Băng thông (Mbps)": "5",
        "Thiết bị giải mã": "Intel NUC D34010WYKH",
        "Tình trạng thiết bị giải mã": "Đang sử dụng",
        "Camera": "Logitech C930e",
        "Tình trạng camera": "Đang sử dụng",
        "Thiết bị âm thanh": "Phoenix MT202",
        "Tình trạng thiết bị âm thanh": "Đang sử dụng",
        "Thiết bị hiển thị": "Tivi 55 inch",
        "Tình trạng thiết bị hiển thị": "Đang sử dụng",
        "Cán bộ vận hành 1": "Nguyễn Văn Thử",
        "Điện thoại cán bộ 1": f"0900 000 {n:03d}",
        "Email cán bộ 1": f"thu{n}@xa.example",
        "Cán bộ vận hành 2": "",
        "Điện thoại cán bộ 2": "",
        "Phần mềm họp": "webrtc",
        "Địa chỉ phòng họp trực tuyến": f"https://hop.example/phong/{n}",
        "Địa chỉ MCU": "",
        "Tài khoản": "",
        "Biến mật khẩu": "",
    }
    unknown = set(changes) - set(row)
    assert not unknown, f"not a fixture column: {unknown}"
    row.update(changes)
    return row


def write_csv(path: Path, rows: Sequence[dict[str, str]], headers: Sequence[str] = HEADERS, *, bom: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        w = csv.writer(f)
        w.writerow(headers)
        for row in rows:
            w.writerow([row.get(h, "") for h in headers])
    return path


def write_xlsx(
    path: Path, sheets: dict[str, Sequence[dict[str, str]]], headers: Sequence[str] = HEADERS, *, title: bool = True
) -> Path:
    """One sheet per entry; each with a title row and a blank row above the headers when ``title``."""
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        if title:
            ws.append(["DANH SÁCH ĐIỂM CẦU"])
            ws.append([])
        ws.append(list(headers))
        for row in rows:
            ws.append([row.get(h, "") for h in headers])
    wb.save(path)
    return path
