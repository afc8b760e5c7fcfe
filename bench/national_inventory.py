"""Benchmark: inventories for every commune in the country, from one registry.

34 provinces and 3,321 communes (real names and codes from the PyPI package
``vietnam-provinces``), two rooms each: 6,642 sites. The registry is written
as CSV and as XLSX; ``provisioner inventory build`` runs on each in a fresh
process, and the wall time and the process's peak memory (max RSS) are
printed. Targets on this machine: ≤ 3 s and ≤ 200 MB. Every hostname is then
checked to be a valid DNS label and unique.

    python bench/national_inventory.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provisioner import yamlout

TARGET_SECONDS = 3.0
TARGET_MB = 200.0
HEADERS = [
    "Tỉnh/Thành phố", "Mã xã", "Xã/Phường", "Phòng họp", "Địa chỉ quản lý", "Đường truyền chuyên dùng",
    "Đường truyền internet dự phòng", "Băng thông (Mbps)", "Thiết bị giải mã", "Tình trạng thiết bị giải mã",
    "Camera", "Tình trạng camera", "Thiết bị âm thanh", "Tình trạng thiết bị âm thanh", "Thiết bị hiển thị",
    "Tình trạng thiết bị hiển thị", "Cán bộ vận hành 1", "Điện thoại cán bộ 1", "Cán bộ vận hành 2",
    "Điện thoại cán bộ 2", "Phần mềm họp", "Địa chỉ phòng họp trực tuyến", "Địa chỉ MCU", "Tài khoản", "Biến mật khẩu",
]  # fmt: skip
PCS = ["Intel NUC D34010WYKH", "Gigabyte B3100", "Intel NUC 11", "Lenovo ThinkCentre M70q"]
CAMERAS = ["Logitech C930e", "VC520", "Logitech C920", "AVer CAM520"]
AUDIO = ["Phoenix MT202", "Thiết bị ghép âm thanh MT107", "Jabra Speak 510"]
STATUSES = ["Đang sử dụng", "Đang sử dụng", "Đang sử dụng", "Đang lỗi, hỏng", "Thay thế"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Lan", "Minh", "Nam", "Phương", "Thảo"]


def registry_rows() -> list[list[str]]:
    from vietnam_provinces import Province, Ward

    provinces = {int(p.code): p.name for p in Province.iter_all()}
    rows: list[list[str]] = []
    for i, ward in enumerate(sorted(Ward.iter_all(), key=lambda w: int(w.code))):
        code = f"{int(ward.code):05d}"
        for room in (1, 2):
            n = 2 * i + room
            sip = n % 4 == 0
            rows.append([
                provinces[int(ward.province_code)], code, ward.name, f"{room:02d}",
                f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", "Có", "Có" if n % 3 else "Không", str(5 + n % 3 * 5),
                PCS[n % 4], STATUSES[n % 5], CAMERAS[n % 4], STATUSES[(n + 1) % 5], AUDIO[n % 3], STATUSES[(n + 2) % 5],
                "Tivi 55 inch", "Đang sử dụng",
                f"{FAMILY[n % 8]} Văn {GIVEN[n % 12]}", f"0900{n:06d}", f"{FAMILY[(n + 3) % 8]} Thị {GIVEN[(n + 5) % 12]}",
                f"0901{n:06d}", "sip" if sip else "webrtc", "" if sip else f"https://hop.example/phong/{code}-{room}",
                "mcu.example:5060" if sip else "", f"xa{code}p{room}" if sip else "", f"vault_sip_{code}_{room}" if sip else "",
            ])  # fmt: skip
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        w.writerows(rows)


def write_xlsx(path: Path, rows: list[list[str]]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Danh sách điểm cầu")
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    wb.save(path)


def timed_build(registry: Path, out: Path) -> tuple[float, float]:
    """Run the real CLI in a fresh process; return (seconds, peak MB of that process)."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "provisioner.cli", "inventory", "build", str(registry), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"build failed ({child.returncode}):\n{stderr[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def check_hostnames(out: Path) -> tuple[int, int]:
    from provisioner.registry.names import is_label

    hosts: list[str] = []
    for path in sorted(out.rglob("hosts.yml")):
        doc = yamlout.load(path.read_text(encoding="utf-8"))
        stack = [doc["all"]]
        while stack:
            group = stack.pop()
            hosts.extend((group.get("hosts") or {}).keys())
            stack.extend((group.get("children") or {}).values())
    invalid = [h for h in hosts if not is_label(h)]
    if invalid:
        raise SystemExit(f"{len(invalid)} invalid hostnames, e.g. {invalid[:5]}")
    if len(set(hosts)) != len(hosts):
        raise SystemExit("duplicate hostnames")
    return len(hosts), len(list(out.rglob("hosts.yml")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="write the registries and inventories here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = registry_rows()
        communes = len({r[1] for r in rows})
        provinces = len({r[0] for r in rows})
        print(f"registry: {provinces} provinces, {communes} communes, {len(rows)} sites")
        csv_path, xlsx_path = work / "national.csv", work / "national.xlsx"
        write_csv(csv_path, rows)
        write_xlsx(xlsx_path, rows)
        results = {}
        for label, path in (("csv", csv_path), ("xlsx", xlsx_path)):
            out = work / f"inventories-{label}"
            seconds, mb = timed_build(path, out)
            hosts, files = check_hostnames(out)
            results[label] = (seconds, mb)
            verdict = "meets" if seconds <= TARGET_SECONDS and mb <= TARGET_MB else "MISSES"
            print(
                f"{label:4}: {seconds:5.2f} s, peak {mb:6.1f} MB, {hosts} hosts (valid, unique) in {files} inventories"
                f" — {verdict} the target (≤ {TARGET_SECONDS:.0f} s, ≤ {TARGET_MB:.0f} MB)"
            )
            seconds2, _ = timed_build(path, out)
            print(f"      rebuild with nothing changed: {seconds2:5.2f} s")
        csv_s, xlsx_s = results["csv"][0], results["xlsx"][0]
        print(f"xlsx/csv time ratio in this run: {xlsx_s / csv_s:.2f}")


if __name__ == "__main__":
    main()
