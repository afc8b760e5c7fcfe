"""The readiness check: the module reads a sysfs-like tree, the facts are weighed, the history becomes the survey."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openpyxl import load_workbook

from provisioner.health import reports
from provisioner.health.check import usb_names
from provisioner.health.evaluate import SiteCheck, Status, Verdict, dark, evaluate, serial_index
from provisioner.health.survey import DOWN, NEVER, NO_EQUIPMENT, STABLE, UNSTABLE, Thresholds, summarise, survey, year_bounds
from provisioner.lab import devices, sysfs_fixture
from provisioner.registry import catalog
from provisioner.state import State

ROOT = Path(__file__).resolve().parent.parent

CAMERA = {"model": "Logitech C930e", "label": "Logitech C930e", "usb": ["046d:0843"], "usb_class": ["0e", "01"]}
SPEAKER = {"model": "Jabra Speak 510", "label": "Jabra Speak 510", "usb": ["0b0e:0422"], "usb_class": ["01", "03"]}
MIXER = {"model": "MT107", "label": "MT107", "usb": [], "usb_class": []}  # analog: through the PC's own sound card
HOSTVARS: dict[str, dict[str, Any]] = {
    "xa-a-p01": {
        "site_devices": {
            "pc": {"label": "Intel NUC", "serial": "PC-A-001"},
            "camera": {**CAMERA, "serial": "CAM-A"},
            "audio": SPEAKER,
        }
    },
    "xa-b-p01": {
        "site_devices": {
            "pc": {"label": "Intel NUC", "serial": "PC-B-001"},
            "camera": {**CAMERA, "serial": "CAM-B"},
            "audio": MIXER,
        }
    },
    "xa-c-p01": {"site_devices": {}},
}
HEALTHY_TERMINAL = {
    "uptime_s": 7200,
    "memory": {"total_mib": 4096, "available_mib": 2048},
    "disk": {"total_gib": 100.0, "free_gib": 60.0, "free_percent": 60.0},
    "clock": {"source": "chrony", "synchronised": True},
    "units": {"kiosk.service": "active"},
    "processes": {"pipewire": True, "chromium": True},
    "endpoints": [{"host": "hop.example", "port": 443, "why": "meeting page", "ok": True, "error": ""}],
}


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("site_health", ROOT / "playbooks" / "library" / "site_health.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SITE_HEALTH = _module()


def facts_of(tmp_path: Path, spec: dict[str, Any], **terminal: Any) -> dict[str, Any]:
    """What the module reads from the fixture tree for ``spec``, with a terminal's facts."""
    root = tmp_path / "sys"
    sysfs_fixture.build(str(root), spec)
    return {
        "usb": SITE_HEALTH.usb_devices(str(root)),
        "video": SITE_HEALTH.video_devices(str(root)),
        "sound": SITE_HEALTH.sound_cards(str(root)),
        "dmi": {k: SITE_HEALTH.read(str(root / "class" / "dmi" / "id" / k)) for k in SITE_HEALTH.DMI},
        **HEALTHY_TERMINAL,
        **terminal,
    }


def check(site: str, facts: dict[str, Any]) -> SiteCheck:
    return evaluate(site, HOSTVARS[site], facts, index=serial_index(HOSTVARS), names=usb_names())


def test_the_module_reads_devices_their_video_and_sound_nodes_from_the_tree(tmp_path: Path) -> None:
    facts = facts_of(tmp_path, devices.spec_for("xa-a-p01", HOSTVARS["xa-a-p01"]))
    by_port = {d["port"]: d for d in facts["usb"]}
    assert by_port["1-1"]["id"] == "046d:0843" and by_port["1-1"]["serial"] == "CAM-A"
    assert by_port["1-1"]["interface_classes"] == ["01", "0e"]
    assert by_port["1-2"]["id"] == "0b0e:0422"
    assert [v["usb"] for v in facts["video"]] == ["1-1"]
    cards = {c["usb"]: c for c in facts["sound"]}
    assert cards[""]["playback"] and cards[""]["capture"]  # the PC's own card
    assert cards["1-1"]["capture"] and not cards["1-1"]["playback"]  # the camera's microphones
    assert cards["1-2"]["capture"] and cards["1-2"]["playback"]  # the speakerphone
    assert facts["dmi"]["product_serial"] == "PC-A-001"


def test_a_site_with_the_registrys_devices_is_ready(tmp_path: Path) -> None:
    result = check("xa-a-p01", facts_of(tmp_path, devices.spec_for("xa-a-p01", HOSTVARS["xa-a-p01"])))
    assert {k: v.status for k, v in result.classes.items()} == dict.fromkeys(("camera", "micro", "audio", "terminal"), "ok")
    assert result.drift == () and result.ok


def test_a_removed_camera_is_not_working_and_missing(tmp_path: Path) -> None:
    spec = devices.changed(devices.spec_for("xa-a-p01", HOSTVARS["xa-a-p01"]), catalog.load(), "xa-a-p01", remove=["camera"])
    result = check("xa-a-p01", facts_of(tmp_path, spec))
    assert result.classes["camera"].status == "fail"
    assert "Không thấy camera Logitech C930e (046d:0843)" in result.classes["camera"].causes[0]
    assert [d.kind for d in result.drift] == ["missing"]
    assert result.classes["micro"].status == "ok"  # the speakerphone still hears the room


def test_a_camera_swapped_for_another_model_works_and_is_drift(tmp_path: Path) -> None:
    spec = devices.changed(
        devices.spec_for("xa-a-p01", HOSTVARS["xa-a-p01"]), catalog.load(), "xa-a-p01", swap={"camera": "Logitech C920"}
    )
    result = check("xa-a-p01", facts_of(tmp_path, spec))
    assert result.classes["camera"].status == "ok"
    assert [d.kind for d in result.drift] == ["swapped"]  # another model: its serial is not the question
    assert "Logitech C920 (số serial LAB-CAMERA-xa-a-p01)" in result.drift[0].text and "Logitech C930e" in result.drift[0].text


def test_a_camera_from_another_site_is_reported_moved(tmp_path: Path) -> None:
    spec = devices.changed(
        devices.spec_for("xa-a-p01", HOSTVARS["xa-a-p01"]), catalog.load(), "xa-a-p01", serial={"camera": "CAM-B"}
    )
    result = check("xa-a-p01", facts_of(tmp_path, spec))
    kinds = {d.kind: d.text for d in result.drift}
    assert "CAM-B" in kinds["serial"] and "CAM-A" in kinds["serial"]
    assert "xa-b-p01" in kinds["moved"]


def test_a_mixer_on_the_pcs_own_card_carries_the_rooms_sound(tmp_path: Path) -> None:
    result = check("xa-b-p01", facts_of(tmp_path, devices.spec_for("xa-b-p01", HOSTVARS["xa-b-p01"])))
    assert result.classes["micro"].status == "ok" and result.classes["audio"].status == "ok"


def test_the_terminal_names_each_cause(tmp_path: Path) -> None:
    facts = facts_of(
        tmp_path,
        devices.spec_for("xa-a-p01", HOSTVARS["xa-a-p01"]),
        units={"kiosk.service": "inactive"},
        processes={"pipewire": False, "chromium": False},
        clock={"synchronised": False},
        disk={"free_percent": 3.5},
        memory={"available_mib": 100},
        endpoints=[{"host": "hop.example", "port": 443, "ok": False, "error": "Connection refused"}],
    )
    result = check("xa-a-p01", facts)
    causes = " | ".join(result.classes["terminal"].causes)
    for part in ("kiosk.service (inactive)", "chromium", "hop.example:443 (Connection refused)", "Đồng hồ", "3.5%", "100 MiB"):
        assert part in causes
    assert "pipewire" not in causes  # the sound server is the sound classes' cause
    assert result.classes["micro"].status == "fail" and "pipewire" in result.classes["micro"].causes[0]


def test_a_site_without_equipment_in_the_registry_has_none(tmp_path: Path) -> None:
    result = check("xa-c-p01", facts_of(tmp_path, devices.spec_for("xa-c-p01", {})))
    assert result.classes["camera"].status == "none"


def _history(site: str, camera: list[Status], reachable: list[bool] | None = None) -> list[SiteCheck]:
    out = []
    for i, status in enumerate(camera):
        at = f"2026-03-{i + 1:02d}T01:00:00.000+00:00"
        if reachable and not reachable[i]:
            out.append(dark(site, "Connection timed out", at=at))
        else:
            classes = {"camera": Verdict(status, ("hỏng",) if status == "fail" else ()), "terminal": Verdict("ok")}
            out.append(SiteCheck(site, True, classes, at=at))
    return out


@pytest.mark.parametrize(
    ("camera", "expected"),
    [
        (["ok"] * 10, STABLE),
        (["ok", "fail", *["ok"] * 8], UNSTABLE),  # 10 % of the checks
        (["fail", *["ok"] * 29], STABLE),  # 3 %
        ([*["ok"] * 9, "fail"], DOWN),  # not working at the period's end
        (["none"] * 3, NO_EQUIPMENT),
        ([], NEVER),
    ],
)
def test_survey_statuses_follow_the_documented_thresholds(camera: list[Status], expected: str) -> None:
    assert summarise("s", _history("s", camera), Thresholds(unstable_share=0.05)).statuses["camera"] == expected


def test_a_site_dark_at_its_last_check_has_a_terminal_not_working() -> None:
    line = summarise("s", _history("s", ["ok", "ok", "ok"], reachable=[True, True, False]))
    assert line.statuses["terminal"] == DOWN and line.statuses["camera"] == STABLE
    assert line.overall == DOWN and line.dark == 1 and line.dark_at_last
    assert [i.what for i in line.incidents] == ["Mất kết nối"]


def test_the_state_keeps_each_check_with_its_time(tmp_path: Path) -> None:
    with State(tmp_path / "s.sqlite") as state:
        run = state.begin_run("check")
        checks = [*_history("a", ["ok", "fail"]), dark("b", "No route to host", at="2027-01-02T00:00:00+00:00")]
        state.record_health(run, checks)
        assert state.health(run_id=run) == checks
        assert [c.site for c in state.health(since="2026-01-01", until="2027-01-01")] == ["a", "a"]
        assert state.last_run("check") is not None and state.last_run("check").id == run  # type: ignore[union-attr]


def test_a_year_is_vietnams_calendar_year() -> None:
    since, until = year_bounds(2026)
    assert since == "2025-12-31T17:00:00+00:00" and until == "2026-12-31T17:00:00+00:00"
    assert until <= "2026-12-31T18:00:00.000+00:00"  # 01:00 on 1 January 2027 in Hà Giang


def test_the_survey_workbook_reads_back_with_the_historys_numbers(tmp_path: Path) -> None:
    history = _history("xa-a-p01", ["ok", "fail", "ok", "ok"]) + _history("xa-b-p01", ["ok", "ok", "fail"])
    history += _history("xa-d-p01", ["ok", "ok"], reachable=[True, False])
    sites = ["xa-a-p01", "xa-b-p01", "xa-c-p01", "xa-d-p01"]
    result = survey(2026, sites, history)
    hostvars = {s: {"site_district": "Huyện Mẫu", "site_commune": f"Xã {s[3].upper()}"} for s in sites}
    path = reports.survey(result, hostvars, "Tỉnh Mẫu").write_xlsx(tmp_path / "survey.xlsx")
    book = load_workbook(path)
    totals = {row[0]: row[1:] for row in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    # columns: Ổn định, Không ổn định, Không hoạt động, Không có thiết bị, Chưa kiểm tra
    assert totals["Camera"] == (1, 1, 1, 0, 1)  # d stable, a unstable (1 of 4), b not working, c never checked
    assert totals["Thiết bị đầu cuối VCS"] == (2, 0, 1, 0, 1)  # d was dark at its last check
    rows = {r[2]: r for r in book["Điểm cầu"].iter_rows(min_row=2, values_only=True)}
    assert rows["xa-a-p01"][3:8] == (UNSTABLE, NEVER, NEVER, STABLE, UNSTABLE)
    assert rows["xa-a-p01"][8:] == (4, 0, 1)  # checks, dark, incidents
    assert rows["xa-c-p01"][7] == NEVER
    incidents = list(book["Sự cố"].iter_rows(min_row=2, values_only=True))
    assert len(incidents) == 3 and {r[2] for r in incidents} == {"xa-a-p01", "xa-b-p01", "xa-d-p01"}
    info = [r[0] for r in book["Thông tin"].iter_rows(values_only=True)]
    assert "Số điểm cầu: 4." in info
    assert any(str(line).startswith("Số điểm cầu chưa từng kiểm tra được: 1: xa-c-p01") for line in info)


def test_the_readiness_and_rollout_reports_say_who_where_and_why(tmp_path: Path) -> None:
    from provisioner.state import SiteRecord

    hostvars = {s: {"site_district": "Huyện Mẫu", "site_commune": "Xã Thử"} for s in ("xa-a-p01", "xa-b-p01")}
    with State(tmp_path / "s.sqlite") as state:
        run_id = state.begin_run("check", who="kythuat")
        checks = [*_history("xa-a-p01", ["fail"]), dark("xa-b-p01", "ssh: connect to host x port 22: No route to host")]
        state.record_health(run_id, checks)
        readiness = reports.readiness(state.run(run_id), state.health(run_id=run_id), hostvars)
        rollout_id = state.begin_run("rollout", who="kythuat")
        state.record(
            [SiteRecord(rollout_id, "xa-a-p01", "changed", changed=3), SiteRecord(rollout_id, "xa-b-p01", "unreachable")]
        )
        state.finish_run(rollout_id, "partial")
        rollout = reports.rollout(state.run(rollout_id), state.results(rollout_id), hostvars)
    html = readiness.html()
    assert "do kythuat thực hiện" in html and "hỏng" in html and "No route to host" in html
    assert readiness.tables[0].rows == [["Huyện Mẫu", 2, 0, 1, 1]]  # district: sites, ready, not ready, dark
    book = load_workbook(rollout.write_xlsx(tmp_path / "rollout.xlsx"))
    assert [r[3] for r in book["Điểm cầu"].iter_rows(min_row=2, values_only=True)] == ["Đạt", "Không kết nối"]
    assert list(book["Tổng hợp theo huyện"].iter_rows(min_row=2, values_only=True)) == [("Huyện Mẫu", 2, 1, 0, 1)]


def test_the_same_fault_in_consecutive_checks_is_one_incident() -> None:
    history = _history("s", ["ok", "fail", "fail", "fail", "ok", "fail", "ok", "ok"], reachable=[True] * 6 + [False, True])
    line = summarise("s", history)
    assert [(i.what, i.checks) for i in line.incidents] == [("Camera", 3), ("Camera", 1), ("Mất kết nối", 1)]
    first = line.incidents[0]
    assert first.at == history[1].at and first.until == history[3].at and first.cause == "hỏng"
