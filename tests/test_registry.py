"""The registry: reading, validation (every kind of error, at its exact place), names and the catalog."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from openpyxl.utils import get_column_letter

from provisioner import inventory
from provisioner.registry import catalog as catalog_mod
from provisioner.registry import names
from provisioner.registry.problems import (
    CommuneInTwoDistrictsError,
    DeviceKindMismatchError,
    DuplicateAddressError,
    DuplicateColumnError,
    DuplicateHostnameError,
    DuplicateSerialError,
    InvalidAddressError,
    InvalidBandwidthError,
    InvalidValueError,
    MissingColumnError,
    MissingFieldError,
    PasswordInRegistryError,
    RegistryInvalidError,
    RegistryProblem,
    UnknownColumnError,
    UnknownDeviceModelError,
    UnknownStatusError,
    UnreadableRegistryError,
)
from tests.registry_fixtures import HEADERS, site, write_csv, write_xlsx

CATALOG = catalog_mod.load()


def col(header: str) -> str:
    return str(get_column_letter(HEADERS.index(header) + 1))


def problems_of(path: Path, out: Path | None = None) -> list[RegistryProblem]:
    out = out or path.parent / "out"
    with pytest.raises(RegistryInvalidError) as caught:
        inventory.build([path], out)
    assert not out.exists(), "an invalid registry must write nothing"
    return caught.value.problems


def only(problems: list[RegistryProblem]) -> RegistryProblem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# -- names ---------------------------------------------------------------------------


def test_names_are_ascii_the_same_from_nfc_and_nfd() -> None:
    for text in ("Xã Đồng Tâm", "Phường Quỳnh Lưu", "Thị trấn Ẳng Nưa", "Đặc khu Phú Quốc"):
        assert names.fold(unicodedata.normalize("NFD", text)) == names.fold(unicodedata.normalize("NFC", text))
        assert names.fold(text).isascii()
    assert names.hostname("Xã Đồng Tâm", "Phòng họp số 1") == "dong-tam-p01"
    assert names.hostname("Xã Đồng Tâm", "1", "07210") == "dong-tam-07210-p01"
    assert names.hostname("Thị trấn Cao Thượng", "Hội trường") == "cao-thuong-hoi-truong"
    assert names.hostname("ĐỒNG TÂM", "01") == names.hostname("đồng tâm", "1")


def test_long_names_become_valid_labels_without_colliding() -> None:
    a = names.hostname("Xã " + "Rất Dài " * 12 + "A", "01")
    b = names.hostname("Xã " + "Rất Dài " * 12 + "B", "01")
    assert len(a) <= 63 and names.is_label(a)
    assert a != b


# -- reading ---------------------------------------------------------------------------


def test_csv_with_bom_semicolons_and_xlsx_with_titles_read_the_same(tmp_path: Path) -> None:
    rows = [site(1), site(2)]
    plain = write_csv(tmp_path / "a.csv", rows)
    bom = write_csv(tmp_path / "b.csv", rows, bom=True)
    semi = tmp_path / "c.csv"
    semi.write_text(plain.read_text(encoding="utf-8").replace(",", ";").replace("Đang lỗi; hỏng", "Đang lỗi, hỏng"), "utf-8")
    xlsx = write_xlsx(tmp_path / "d.xlsx", {"Danh sách": rows})
    seen = []
    for path in (plain, bom, semi, xlsx):
        loaded = inventory.load([path], CATALOG)
        seen.append([(s.hostname, s.host, s.bandwidth_mbps, s.devices["camera"].catalog_id) for s in loaded.sites])
    assert all(s == seen[0] for s in seen), seen
    assert seen[0][0] == ("thu-nghiem-1-p01", "10.99.0.1", 5.0, "logitech-c930e")


def test_english_headers_and_merged_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    english = ["Province", "District", "Commune", "Room", "Management address", "Conferencing profile", "Meeting URL",
               "Operator 1 name", "Operator 1 phone", "Camera model", "Camera status"]  # fmt: skip
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(english)
    ws.append(
        [
            "Bắc Giang",
            "Yên Thế",
            "Xã Một",
            "1",
            "10.0.0.1:2222",
            "webrtc",
            "https://h.example/1",
            "A",
            "0900000001",
            "C930e",
            "Hỏng",
        ]
    )
    ws.append([None, None, "Xã Hai", "1", "10.0.0.2", "webrtc", "https://h.example/2", "B", "900000002", "VC520", "ok"])
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    wb.save(tmp_path / "en.xlsx")
    sites = inventory.load([tmp_path / "en.xlsx"], CATALOG).sites
    assert [(s.province, s.district, s.port) for s in sites] == [("Bắc Giang", "Yên Thế", 2222), ("Bắc Giang", "Yên Thế", None)]
    assert sites[0].devices["camera"].status == "faulty"
    assert sites[1].operators[0].phone == "0900000002"  # the zero a number cell dropped is restored


def test_comment_columns_and_row_numbers_are_ignored(tmp_path: Path) -> None:
    headers = ["STT", *HEADERS, "#Ghi chú riêng"]
    rows = [{**site(1), "STT": "1", "#Ghi chú riêng": "bất kỳ"}]
    assert len(inventory.load([write_csv(tmp_path / "r.csv", rows, headers)], CATALOG).sites) == 1


# -- validation: each kind, at its exact place -----------------------------------------------


@pytest.mark.parametrize(
    ("changes", "kind", "header", "text"),
    [
        ({"Xã/Phường": ""}, MissingFieldError, "Xã/Phường", "is empty"),
        ({"Địa chỉ quản lý": ""}, MissingFieldError, "Địa chỉ quản lý", "is empty"),
        ({"Địa chỉ quản lý": "10.1.2"}, InvalidAddressError, "Địa chỉ quản lý", "not a management address"),
        ({"Địa chỉ quản lý": "pc.xa.example:99999"}, InvalidAddressError, "Địa chỉ quản lý", "port '99999'"),
        ({"Địa chỉ quản lý": "máy tính xã"}, InvalidAddressError, "Địa chỉ quản lý", "neither an IP address"),
        ({"Băng thông (Mbps)": "nhanh"}, InvalidBandwidthError, "Băng thông (Mbps)", "not a bandwidth"),
        ({"Băng thông (Mbps)": "-5"}, InvalidBandwidthError, "Băng thông (Mbps)", "not a bandwidth"),
        ({"Camera": "Camera XYZ-1"}, UnknownDeviceModelError, "Camera", "not in the device catalog"),
        ({"Camera": "Phoenix MT202"}, DeviceKindMismatchError, "Camera", "is a audio"),
        ({"Tình trạng camera": "Tốt lắm"}, UnknownStatusError, "Tình trạng camera", "not a device status"),
        ({"Camera": "", "Tình trạng camera": "Đang sử dụng"}, MissingFieldError, "Camera", "status but no model"),
        ({"Đường truyền chuyên dùng": "có lẽ"}, InvalidValueError, "Đường truyền chuyên dùng", "not yes or no"),
        ({"Phần mềm họp": "zoom"}, InvalidValueError, "Phần mềm họp", "not a conferencing profile"),
        ({"Địa chỉ phòng họp trực tuyến": ""}, MissingFieldError, "Địa chỉ phòng họp trực tuyến", "is empty"),
        ({"Địa chỉ phòng họp trực tuyến": "hop.example"}, InvalidValueError, "Địa chỉ phòng họp trực tuyến", "not a web address"),
        ({"Điện thoại cán bộ 1": "12345"}, InvalidValueError, "Điện thoại cán bộ 1", "not a phone number"),
        ({"Email cán bộ 1": "thu@"}, InvalidValueError, "Email cán bộ 1", "not an e-mail address"),
        ({"Mã xã": "07A10"}, InvalidValueError, "Mã xã", "not a number"),
        ({"Phần mềm họp": "sip", "Địa chỉ MCU": "mcu.example", "Tài khoản": "xa1", "Biến mật khẩu": "mật khẩu 123"},
         InvalidValueError, "Biến mật khẩu", "not a variable name"),
        ({"Phần mềm họp": "sip", "Địa chỉ MCU": "", "Tài khoản": "xa1", "Biến mật khẩu": "vault_xa1"},
         MissingFieldError, "Địa chỉ MCU", "is empty"),
    ],
)  # fmt: skip
def test_each_bad_cell_is_reported_at_its_row_and_column(
    tmp_path: Path, changes: dict[str, str], kind: type[RegistryProblem], header: str, text: str
) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", {"Việt Yên": [site(1), site(2, **changes)]})
    problem = only(problems_of(path))
    assert type(problem) is kind
    # title + blank + header rows, then site 1 on row 4: site 2 is on row 5
    assert str(problem.where) == f"r.xlsx, sheet 'Việt Yên', row 5, column {col(header)} ({header})"
    assert text in problem.detail
    assert problem.hint


def test_duplicate_address_counts_the_port(tmp_path: Path) -> None:
    rows = [site(1, **{"Địa chỉ quản lý": "127.0.0.1:2201"}), site(2, **{"Địa chỉ quản lý": "127.0.0.1:2202"}),
            site(3, **{"Địa chỉ quản lý": "127.0.0.1:2201"})]  # fmt: skip
    problem = only(problems_of(write_csv(tmp_path / "r.csv", rows)))
    assert isinstance(problem, DuplicateAddressError)
    assert str(problem.where) == f"r.csv, row 4, column {col('Địa chỉ quản lý')} (Địa chỉ quản lý)"
    assert "row 2" in problem.detail


def test_duplicate_hostname_after_transliteration(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "Xã Đồng Tâm")
    rows = [site(1, **{"Xã/Phường": "Xã Đồng Tâm"}), site(2, **{"Xã/Phường": nfd, "Huyện/Khu vực": "Huyện Việt Yên"})]
    rows.append(site(3, **{"Xã/Phường": "Phường Dong Tam", "Huyện/Khu vực": "Huyện Yên Thế"}))
    found = problems_of(write_csv(tmp_path / "r.csv", rows))
    dups = [p for p in found if isinstance(p, DuplicateHostnameError)]
    assert [p.where.row for p in dups] == [3, 4]
    assert all("dong-tam-p01" in p.detail and "row 2" in p.detail for p in dups)


def test_a_serial_is_kept_and_one_unit_cannot_be_in_two_rooms(tmp_path: Path) -> None:
    rows = [{**site(1), "Camera serial": "CAM-0001"}, {**site(2), "Camera serial": "cam-0001"}]
    headers = [*HEADERS, "Camera serial"]
    found = problems_of(write_csv(tmp_path / "r.csv", rows, headers))
    dups = [p for p in found if isinstance(p, DuplicateSerialError)]
    assert [(p.where.row, p.where.header) for p in dups] == [(3, "Camera serial")]
    assert "'cam-0001'" in dups[0].detail and "row 2" in dups[0].detail
    sites = inventory.load([write_csv(tmp_path / "ok.csv", rows[:1], headers)], CATALOG).sites
    assert sites[0].devices["camera"].serial == "CAM-0001"


def test_commune_codes_keep_same_named_communes_apart(tmp_path: Path) -> None:
    rows = [site(1, **{"Xã/Phường": "Xã Tân Lập", "Mã xã": "10001"}),
            site(2, **{"Xã/Phường": "Xã Tân Lập", "Mã xã": "20002", "Huyện/Khu vực": "Huyện Khác"})]  # fmt: skip
    sites = inventory.load([write_csv(tmp_path / "r.csv", rows)], CATALOG).sites
    assert [s.hostname for s in sites] == ["tan-lap-10001-p01", "tan-lap-20002-p01"]


def test_commune_under_two_districts(tmp_path: Path) -> None:
    rows = [
        site(1, **{"Xã/Phường": "Xã Vân Hà"}),
        site(2, **{"Xã/Phường": "Xã Vân Hà", "Phòng họp": "02", "Huyện/Khu vực": "Huyện Hiệp Hòa"}),
    ]
    problem = only(problems_of(write_csv(tmp_path / "r.csv", rows)))
    assert isinstance(problem, CommuneInTwoDistrictsError)
    assert str(problem.where) == f"r.csv, row 3, column {col('Huyện/Khu vực')} (Huyện/Khu vực)"
    assert "Huyện Việt Yên" in problem.detail and "row 2" in problem.detail


def test_layout_problems(tmp_path: Path) -> None:
    headers = [h for h in HEADERS if h != "Phần mềm họp"] + ["Mật khẩu", "Băng thông", "Cột lạ"]
    found = problems_of(write_csv(tmp_path / "r.csv", [site(1)], headers))
    kinds = [(type(p), p.where.row, p.where.column) for p in found]
    n = len(HEADERS) - 1
    assert kinds == [
        (MissingColumnError, 1, 0),
        (PasswordInRegistryError, 1, n + 1),
        (DuplicateColumnError, 1, n + 2),
        (UnknownColumnError, 1, n + 3),
    ]


def test_unreadable_files(tmp_path: Path) -> None:
    fake = tmp_path / "r.xlsx"
    fake.write_text("not a workbook")
    assert isinstance(only(problems_of(fake)), UnreadableRegistryError)
    latin = tmp_path / "r.csv"
    latin.write_bytes("Tỉnh/Thành phố,Xã/Phường\n".encode("utf-16"))
    assert isinstance(only(problems_of(latin)), UnreadableRegistryError)
    broken = tmp_path / "r.ods"
    broken.write_text("x")
    assert isinstance(only(problems_of(broken)), UnreadableRegistryError)
    other = tmp_path / "r.numbers"
    other.write_text("x")
    assert "give an .xlsx, .xls or .ods workbook or a .csv file" in (only(problems_of(other)).hint or "")


def test_every_problem_at_once_sorted_by_sheet_row_column(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "r.xlsx",
        {
            "Việt Yên": [site(1, **{"Băng thông (Mbps)": "x", "Camera": "Không rõ"}), site(2, **{"Tình trạng camera": "?"})],
            "Hiệp Hòa": [site(3, **{"Huyện/Khu vực": "Huyện Hiệp Hòa", "Địa chỉ quản lý": "10.99.0.1"})],
        },
    )
    found = problems_of(path)
    assert [(p.where.sheet, p.where.row, p.where.column) for p in found] == [
        ("Việt Yên", 4, HEADERS.index("Băng thông (Mbps)") + 1),
        ("Việt Yên", 4, HEADERS.index("Camera") + 1),
        ("Việt Yên", 5, HEADERS.index("Tình trạng camera") + 1),
        ("Hiệp Hòa", 4, HEADERS.index("Địa chỉ quản lý") + 1),
    ]
    assert isinstance(found[-1], DuplicateAddressError)


def test_unknown_models_can_be_warnings(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [site(1, Camera="Camera Lạ 2000")])
    built = inventory.build([path], tmp_path / "out", unknown_models="warn")
    assert [type(w) for w in built.loaded.warnings] == [UnknownDeviceModelError]
    text = (tmp_path / "out/bac-giang/viet-yen/hosts.yml").read_text()
    assert "model: !unsafe Camera Lạ 2000" in text and "catalog: null" in text


def test_a_bad_registry_leaves_existing_inventories_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    inventory.build([write_csv(tmp_path / "good.csv", [site(1)])], out)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    with pytest.raises(RegistryInvalidError):
        inventory.build([write_csv(tmp_path / "bad.csv", [site(1), site(2, **{"Xã/Phường": ""})])], out)
    assert before == {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}


# -- catalog ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Logitech C930e", "logitech-c930e"),
        ("VC520", "aver-vc520"),
        ("Phoenix MT202", "phoenix-mt202"),
        ("Thiết bị ghép âm thanh MT107", "mt107"),
        ("Intel NUC D34010WYKH", "intel-nuc-d34010wykh"),
        ("Gigabyte B3100", "gigabyte-b3100"),
        ("Tivi 55 inch", "tv-hdmi"),
        ("camera logitech c930e (2019)", "logitech-c930e"),
        ("Máy chiếu Epson", "projector-hdmi"),
        ("Camera", None),
    ],
)
def test_seed_models_are_in_the_catalog(written: str, expected: str | None) -> None:
    assert CATALOG.find(written) == expected


def _usb_ids() -> dict[str, str]:
    path = next((p for p in (Path("/usr/share/misc/usb.ids"), Path("/usr/share/hwdata/usb.ids")) if p.is_file()), None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("usb.ids is missing: scripts/setup.sh installs Debian's usb.ids package")
        pytest.skip("Debian's usb.ids is not installed")
    names_by_id: dict[str, str] = {}
    vendor = ""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line[0] != "\t" and line[:4].isalnum() and line[4:6] == "  ":
            vendor = line[:4]
        elif line.startswith("\t") and not line.startswith("\t\t") and vendor:
            names_by_id[f"{vendor}:{line[1:5]}"] = line[7:].strip()
        elif line[0] != "\t":
            vendor = ""
    return names_by_id


def test_catalog_usb_ids_match_debians_usb_ids() -> None:
    listed = _usb_ids()
    checked = 0
    for dev_id, dev in CATALOG.devices.items():
        for usb in dev.usb:
            assert usb.id in listed, f"{dev_id}: {usb.id} is not in usb.ids"
            assert usb.usb_ids_name == listed[usb.id], f"{dev_id}: usb.ids calls {usb.id} '{listed[usb.id]}'"
            checked += 1
    assert checked >= 15


def test_catalog_has_every_kind_and_a_province_can_add_models(tmp_path: Path) -> None:
    assert {d.kind for d in CATALOG.devices.values()} == {"camera", "audio", "display", "pc"}
    extra = tmp_path / "extra.yml"
    extra.write_text("version: 1\ndevices:\n  cam-x:\n    kind: camera\n    model: X-1000\n    usb: [{id: '1234:abcd'}]\n")
    assert catalog_mod.load(extra).find("x1000") == "cam-x"
    extra.write_text("version: 1\ndevices:\n  cam-x:\n    kind: tivi\n    model: X\n")
    with pytest.raises(catalog_mod.CatalogError, match=r"extra.yml: device catalog is malformed: devices.cam-x.kind"):
        catalog_mod.load(extra)


def test_a_provinces_catalog_is_untrusted_input(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yml"
    pairs = zip("abcdefgh", "bcdefghi", strict=True)
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}]\n" for p, c in pairs)
    extra.write_text("version: 1\n" + laughs + "devices: *i\n")
    with pytest.raises(catalog_mod.CatalogError, match="uses YAML aliases"):
        catalog_mod.load(extra)
    extra.write_bytes(b"version: 1\ndevices: {}\n# \xff\n")
    with pytest.raises(catalog_mod.CatalogError, match="not UTF-8"):
        catalog_mod.load(extra)
    extra.write_text("version: 1\ndevices: {}\n" + "#" * (catalog_mod.MAX_CATALOG_BYTES + 1))
    with pytest.raises(catalog_mod.CatalogError, match="at most"):
        catalog_mod.load(extra)
    extra.write_text("version: 1\ndevices:\n  cam-x:\n    kind: camera\n    model: \"{{ lookup('pipe', 'id') }}\"\n")
    assert catalog_mod.load(extra).devices["cam-x"].model == "{{ lookup('pipe', 'id') }}"  # data: written !unsafe
