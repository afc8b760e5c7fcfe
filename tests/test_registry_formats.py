"""Registries as provinces have them: .xls and .ods, Windows-1258 CSV, TCVN3 text, and files too large to be one."""

from __future__ import annotations

import time
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import xlwt
from openpyxl import Workbook

from provisioner import inventory
from provisioner.registry import read as reader
from provisioner.registry.problems import LegacyEncodingError, RegistryInvalidError, RegistryNotice, RegistryTooLargeError
from tests.registry_fixtures import HEADERS, site, write_csv

#: Vietnamese tones as combining marks (grave, acute, tilde, hook above, dot below): Windows-1258 has them as such.
TONES = "\u0300\u0301\u0303\u0309\u0323"
ROWS = [site(1), site(2, **{"Xã/Phường": "Xã Tăng Tiến", "Cán bộ vận hành 1": "Nguyễn Thị Hằng"})]


def _built(path: Path) -> dict[str, str]:
    """Each site's hosts.yml text, by hostname: what the registry became."""
    out = path.parent / f"out-{path.suffix[1:]}"
    inventory.build([path], out)
    return {p.relative_to(out).as_posix(): p.read_text().split("\n", 2)[2] for p in sorted(out.rglob("*.yml"))}


def write_xls(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    """Excel 97-2003, as an old office PC saves it (xlwt writes BIFF8)."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Danh sách")
    sheet.write(0, 0, "DANH SÁCH ĐIỂM CẦU")
    for c, header in enumerate(HEADERS):
        sheet.write(2, c, header)
    for r, row in enumerate(rows, start=3):
        for c, header in enumerate(HEADERS):
            sheet.write(r, c, row.get(header, ""))
    book.save(str(path))
    return path


def write_ods(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    """OpenDocument, as LibreOffice saves it: a zip of XML, the mimetype first and stored."""

    def line(cells: Sequence[str]) -> str:
        return (
            "<table:table-row>"
            + "".join(
                f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p></table:table-cell>'
                if c
                else "<table:table-cell/>"
                for c in cells
            )
            + "</table:table-row>"
        )

    body = "".join(
        [line(["DANH SÁCH ĐIỂM CẦU"]), line([]), line(HEADERS), *(line([r.get(h, "") for h in HEADERS]) for r in rows)]
    )
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Danh sách">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return path


def cp1258(text: str) -> bytes:
    """Text as Excel on Vietnamese Windows saves it: Windows-1258, tones as combining marks where it has no letter."""
    out = bytearray()
    for c in unicodedata.normalize("NFC", text):
        try:
            out += c.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", c)
            letter = unicodedata.normalize("NFC", "".join(p for p in parts if p not in TONES))
            out += letter.encode("cp1258") + "".join(p for p in parts if p in TONES).encode("cp1258")
    return bytes(out)


def test_xls_and_ods_give_what_the_same_xlsx_rows_give(tmp_path: Path) -> None:
    from tests.registry_fixtures import write_xlsx

    expected = _built(write_xlsx(tmp_path / "r.xlsx", {"Danh sách": ROWS}))
    assert _built(write_xls(tmp_path / "r.xls", ROWS)) == expected
    assert _built(write_ods(tmp_path / "r.ods", ROWS)) == expected


def test_a_windows_1258_csv_is_read_and_said_so(tmp_path: Path) -> None:
    utf8 = write_csv(tmp_path / "utf8.csv", ROWS)
    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes(cp1258(utf8.read_text(encoding="utf-8")))
    with pytest.raises(UnicodeDecodeError):
        legacy.read_bytes().decode("utf-8")
    got = reader.read(legacy, "legacy.csv")
    assert not got.problems
    assert [type(n) for n in got.notices] == [RegistryNotice] and "Windows-1258" in str(got.notices[0])
    assert [r.cells for r in got.rows] == [r.cells for r in reader.read(utf8).rows]
    built = inventory.build([legacy], tmp_path / "out")
    assert any(isinstance(w, RegistryNotice) for w in built.loaded.warnings)


def test_tcvn3_text_in_a_unicode_sheet_is_refused_with_its_place_and_reading(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [site(1), site(2, **{"Xã/Phường": "X· T¨ng TiÕn", "Cán bộ vận hành 1": "NguyÔn V¨n A"})])
    with pytest.raises(RegistryInvalidError) as caught:
        inventory.build([path], tmp_path / "out")
    found = caught.value.problems
    assert {type(p) for p in found} == {LegacyEncodingError}
    assert [(p.where.row, p.where.header) for p in found] == [(3, "Xã/Phường"), (3, "Cán bộ vận hành 1")]
    assert "reads 'Xã Tăng Tiến'" in str(found[0]) and "reads 'Nguyễn Văn A'" in str(found[1])
    assert "UniKey" in (found[0].hint or "")
    assert not (tmp_path / "out").exists()


def _refused(path: Path, within: float = 30.0) -> RegistryTooLargeError:
    start = time.monotonic()
    with pytest.raises(RegistryInvalidError) as caught:
        inventory.build([path], path.parent / "out")
    assert time.monotonic() - start < within
    (problem,) = caught.value.problems
    assert isinstance(problem, RegistryTooLargeError), problem
    assert not (path.parent / "out").exists()
    return problem


def test_a_registry_of_100000_rows_is_refused(tmp_path: Path) -> None:
    rows = [site(1)] * 100_000
    problem = _refused(write_csv(tmp_path / "r.csv", rows))
    assert f"at most {reader.MAX_ROWS}" in str(problem)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Danh sách")
    sheet.append(HEADERS)
    row = [site(1)[h] for h in HEADERS]
    for _ in range(reader.MAX_ROWS + 20):
        sheet.append(row)
    book.save(tmp_path / "big.xlsx")
    assert "rows or more" in str(_refused(tmp_path / "big.xlsx"))


def test_a_workbook_that_inflates_to_gigabytes_is_refused_unopened(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    chunk = b"<c><v>0</v></c>" * 65536
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, z.open("xl/worksheets/sheet1.xml", "w") as f:
        for _ in range(1024**3 // len(chunk) + 1):
            f.write(chunk)
    assert bomb.stat().st_size < reader.MAX_FILE_BYTES
    assert "unpacks to 1024 MiB; a registry workbook unpacks to at most 256 MiB" in str(_refused(bomb))


def test_a_sheet_that_claims_a_million_empty_rows_costs_a_bounded_reader(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    sheet.append([site(1)[h] for h in HEADERS])
    sheet["XFD1048576"] = "x"  # two cells far apart: a dense reader would hold 17 billion
    book.save(tmp_path / "sparse.xlsx")
    problem = _refused(tmp_path / "sparse.xlsx")
    assert "MiB of memory" in str(problem) or "rows or more" in str(problem)
