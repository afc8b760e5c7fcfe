"""Inventories from the registry: layout, determinism, minimal rewrites, Ansible accepting them, the CLI."""

from __future__ import annotations

import csv
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from provisioner import inventory, untrusted, yamlout
from provisioner.registry import catalog as catalog_mod
from provisioner.registry.read import read
from tests.registry_fixtures import site, write_csv

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "bac-ninh.xlsx"  # the province after the 2025 reform: communes, zones, no districts
PRE_REFORM = ROOT / "tests" / "fixtures" / "bac-giang-2024.csv"  # a registry of before: districts


def files_of(out: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}


def hostnames(out: Path) -> set[str]:
    found: set[str] = set()
    for path in out.rglob("hosts.yml"):
        stack = [yamlout.load(path.read_text())["all"]]
        while stack:
            group = stack.pop()
            found |= set((group.get("hosts") or {}).keys())
            stack.extend((group.get("children") or {}).values())
    return found


def test_layout_groups_and_host_variables(tmp_path: Path) -> None:
    sip = {"Phần mềm họp": "sip", "Địa chỉ MCU": "mcu.example:5060", "Tài khoản": "xa2", "Biến mật khẩu": "vault_sip_xa2"}
    rows = [site(1), site(2, **{"Huyện/Khu vực": "Huyện Hiệp Hòa", "Địa chỉ phòng họp trực tuyến": "", **sip})]
    out = tmp_path / "out"
    inventory.build([write_csv(tmp_path / "r.csv", rows)], out)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.yml")) == [
        "bac-giang/hiep-hoa/group_vars/bac_giang/registry.yml",
        "bac-giang/hiep-hoa/group_vars/bac_giang__hiep_hoa/registry.yml",
        "bac-giang/hiep-hoa/hosts.yml",
        "bac-giang/province.yml",
        "bac-giang/viet-yen/group_vars/bac_giang/registry.yml",
        "bac-giang/viet-yen/group_vars/bac_giang__viet_yen/registry.yml",
        "bac-giang/viet-yen/hosts.yml",
    ]
    doc = yamlout.load((out / "bac-giang/hiep-hoa/hosts.yml").read_text())
    commune = doc["all"]["children"]["bac_giang"]["children"]["bac_giang__hiep_hoa"]["children"][
        "bac_giang__hiep_hoa__thu_nghiem_2"
    ]
    assert commune["vars"] == {"site_commune": "Xã Thử Nghiệm 2"}
    host = commune["hosts"]["thu-nghiem-2-p01"]
    assert host["ansible_host"] == "10.99.0.2"
    assert host["site_room"] == "01"
    assert host["site_links"] == {"dedicated_line": True, "backup_internet": False, "bandwidth_mbps": 5}
    assert host["site_devices"]["camera"]["usb"] == ["046d:0843"]
    assert host["site_devices"]["camera"]["settings"]["v4l2_controls"]["power_line_frequency"] == 1
    assert host["site_devices"]["audio"]["settings"] == {"echo_cancellation": "device"}
    assert host["site_operators"] == [{"name": "Nguyễn Văn Thử", "phone": "0900000002", "email": "thu2@xa.example"}]
    assert host["site_client"] == {"profile": "sip", "mcu": "mcu.example:5060", "account": "xa2", "password_var": "vault_sip_xa2"}
    assert "site_source" not in host  # rows moving in the sheet must not rewrite inventories


def test_builds_are_byte_identical_and_a_rebuild_rewrites_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    inventory.build([EXAMPLE], a)
    inventory.build([EXAMPLE], b)
    assert {k: v[0] for k, v in files_of(a).items()} == {k: v[0] for k, v in files_of(b).items()}
    before = files_of(a)
    again = inventory.build([EXAMPLE], a)
    assert not again.plan.pending
    assert files_of(a) == before


def test_only_the_changed_district_is_rewritten_and_no_site_is_renamed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    rows = [site(1), site(2), site(3, **{"Huyện/Khu vực": "Huyện Yên Thế"})]
    inventory.build([write_csv(tmp_path / "r.csv", rows)], out)
    names_before = hostnames(out)
    before = files_of(out)
    rows.insert(1, site(9, **{"Huyện/Khu vực": "Huyện Yên Thế"}))  # a new site, in the middle of the sheet
    built = inventory.build([write_csv(tmp_path / "r.csv", rows)], out)
    after = files_of(out)
    assert [str(p) for p in built.plan.changed] == ["bac-giang/yen-the/hosts.yml"]
    assert hostnames(out) == names_before | {"thu-nghiem-9-p01"}
    viet_yen = [k for k in before if k.startswith("bac-giang/viet-yen/")]
    assert all(after[k] == before[k] for k in viet_yen)


def test_a_district_gone_from_the_registry_loses_only_generated_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    inventory.build([write_csv(tmp_path / "r.csv", [site(1), site(2, **{"Huyện/Khu vực": "Huyện Yên Thế"})])], out)
    own = out / "bac-giang/yen-the/group_vars/bac_giang/vault.yml"
    own.write_text("---\nvault_x: written by a person\n")
    built = inventory.build([write_csv(tmp_path / "r.csv", [site(1)])], out)
    assert sorted(str(p) for p in built.plan.removed) == [
        "bac-giang/yen-the/group_vars/bac_giang/registry.yml",
        "bac-giang/yen-the/group_vars/bac_giang__yen_the/registry.yml",
        "bac-giang/yen-the/hosts.yml",
    ]
    assert own.is_file()
    assert not (out / "bac-giang/yen-the/hosts.yml").exists()


def test_check_writes_nothing_and_diff_names_the_district(tmp_path: Path) -> None:
    out = tmp_path / "out"
    inventory.build([write_csv(tmp_path / "r.csv", [site(1), site(2, **{"Huyện/Khu vực": "Huyện Yên Thế"})])], out)
    before = files_of(out)
    path = write_csv(tmp_path / "r.csv", [site(1), site(2, **{"Huyện/Khu vực": "Huyện Yên Thế", "Băng thông (Mbps)": "10"})])
    checked = inventory.build([path], out, write=False)
    assert files_of(out) == before
    diffs = inventory.diff(checked.plan)
    assert list(diffs) == ["bac-giang/yen-the"]
    assert (
        "-                  site_links: {dedicated_line: true, backup_internet: false, bandwidth_mbps: 5}"
        in diffs["bac-giang/yen-the"]
    )
    assert (
        "+                  site_links: {dedicated_line: true, backup_internet: false, bandwidth_mbps: 10}"
        in diffs["bac-giang/yen-the"]
    )


def test_ansible_accepts_the_example_inventory() -> None:
    sources = inventory.expand_sources([ROOT / "inventories" / "bac-ninh"])
    assert sources[0].name == "province.yml" and len(sources) == 13
    argv = ["ansible-inventory", "--list", *[a for s in sources for a in ("-i", str(s))]]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    assert "WARNING" not in done.stderr, done.stderr
    data = untrusted.loads(done.stdout)
    hostvars = data["_meta"]["hostvars"]
    assert len(hostvars) == len(read(EXAMPLE).rows) == 25
    host = hostvars["viet-yen-07777-hoi-truong"]
    assert host["site_province"] == "Tỉnh Bắc Ninh"
    assert host["site_district"] == "Khu vực Việt Yên"
    assert host["site_commune"] == "Phường Việt Yên" and host["site_commune_code"] == "07777"
    assert host["site_devices"]["camera"]["status_text"] == "Đang lỗi, hỏng"
    assert "viet-yen-07777-hoi-truong" in data["bac_ninh__viet_yen__viet_yen_07777"]["hosts"]
    # the province-wide settings kept by hand beside province.yml reach every district
    assert {v["conferencing_client_vendor_package"] for v in hostvars.values()} == {"hnth-client"}
    # a district folder given alone brings its province along
    alone = inventory.expand_sources([ROOT / "inventories" / "bac-ninh" / "yen-the"])
    assert [p.name for p in alone] == ["province.yml", "yen-the"]


def test_the_checked_in_example_is_what_the_registry_builds() -> None:
    built = inventory.build([EXAMPLE], ROOT / "inventories", write=False)
    assert not built.plan.pending, "run: provisioner inventory build examples/bac-ninh.xlsx --out inventories"


def test_the_csv_and_xlsx_examples_hold_the_same_sites() -> None:
    def strip(files: dict[Path, str]) -> dict[Path, list[str]]:
        return {p: [ln for ln in t.splitlines() if "Generated by" not in ln] for p, t in files.items()}

    catalog = catalog_mod.load()
    csv_files = inventory.render(inventory.load([ROOT / "examples" / "bac-ninh.csv"], catalog), catalog)
    xlsx_files = inventory.render(inventory.load([EXAMPLE], catalog), catalog)
    assert strip(csv_files) == strip(xlsx_files)


def test_the_examples_communes_are_the_reformed_provinces_own() -> None:
    """Real names and 5-digit codes (Decision 19/2025/QĐ-TTg), as vietnam-provinces has them; invented sites."""
    from vietnam_provinces import Province, Ward

    (province,) = [p for p in Province.iter_all() if p.name == "Bắc Ninh"]
    official = {f"{int(w.code):05d}": w.name for w in Ward.iter_all() if int(w.province_code) == int(province.code)}
    assert len(official) == 99
    rows = read(EXAMPLE).rows
    assert {r.get("province") for r in rows} == {"Tỉnh Bắc Ninh"}
    assert all(official[r.get("commune_code")] == r.get("commune") for r in rows), [r.cells for r in rows]
    assert all(r.get("district").startswith("Khu vực ") for r in rows)  # zones: the former districts, grouping waves


def test_registries_of_both_shapes_build(tmp_path: Path) -> None:
    """Before the reform: province → district → commune. After: province → commune, zones optional."""
    before = inventory.build([PRE_REFORM], tmp_path / "before")
    districts = "hiep-hoa lang-giang luc-nam luc-ngan son-dong tan-yen thanh-pho-bac-giang viet-yen yen-dung yen-the"
    assert sorted({inventory.district_of(s) for s in before.loaded.sites}) == [f"bac-giang/{d}" for d in districts.split()]
    without_zones = tmp_path / "no-zones.csv"
    with EXAMPLE.with_suffix(".csv").open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    zone = header.index("Khu vực")
    with without_zones.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([[c for i, c in enumerate(r) if i != zone] for r in [header, *rows]])
    after = inventory.build([without_zones], tmp_path / "after")
    assert {inventory.district_of(s) for s in after.loaded.sites} == {"bac-ninh/toan-tinh"}
    assert len(after.loaded.sites) == 25


def test_yaml_round_trips_any_string() -> None:
    alphabet = string.printable + "Đđàáảãạăằắẳẵặâầấẩẫậ:#-?[]{},'\"\\ \u2028\x7f\x85é日\ufeff\u00a0"
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    samples = [
        "yes",
        "No",
        "01",
        "0e",
        "1.0",
        "~",
        "null",
        "-x",
        "a: b",
        "x:",
        "http://a/b",
        "=",
        "<<",
        ".5",
        "2024-01-01",
        "1:20",
    ]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(3000)]
    from ansible.parsing.yaml.loader import AnsibleLoader  # type: ignore[import-untyped]

    for s in samples:
        doc = {"k": s, "l": [s, s], "m": {"a": s}, s or "empty": [1, 2.5, True, None]}
        assert yaml.safe_load(yamlout.dumps(doc)) == doc, repr(s)
        unsafe = yamlout.dumps(doc, unsafe=True)
        assert yamlout.load(unsafe) == doc, repr(s)
        assert AnsibleLoader(unsafe).get_single_data() == doc, repr(s)  # Ansible's own reading: the same text, typed


def test_cli_rejects_a_bad_registry_with_places_and_exit_2(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [site(1, **{"Băng thông (Mbps)": "nhanh"}), site(2, Camera="Camera Lạ")])
    done = subprocess.run(
        [sys.executable, "-m", "provisioner.cli", "inventory", "build", str(path), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "2 problem(s) in r.csv; nothing was written" in done.stderr
    assert "r.csv, row 2, column I (Băng thông (Mbps)): 'nhanh' is not a bandwidth in Mbps" in done.stderr
    assert "r.csv, row 3, column L (Camera): 'Camera Lạ' is not in the device catalog" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag", ["--check", "--diff"])
def test_cli_check_and_diff_on_the_example(flag: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "provisioner.cli", "inventory", "build", str(EXAMPLE), "--out", str(ROOT / "inventories"), flag],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "everything up to date" in done.stdout
