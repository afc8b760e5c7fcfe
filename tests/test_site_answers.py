"""What a site reports is untrusted: bounded and typed, a hostile answer is that site's error, and reports show text as text."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from provisioner.health import facts, reports
from provisioner.health.check import weigh
from provisioner.lab import devices
from provisioner.runner import RunResult, SiteResult
from provisioner.state import State
from tests.test_health import HOSTVARS, facts_of

#: Text a USB device or a PC's firmware can carry: valid text, shown and stored as it is.
LYING_PRODUCT = "<script>alert('x')</script> {{ lookup('pipe', 'id') }} =HYPERLINK(\"http://x.example\",\"y\")"
GOOD = "xa-a-p01"


def _healthy(tmp_path: Path) -> dict[str, Any]:
    return facts_of(tmp_path, devices.spec_for(GOOD, HOSTVARS[GOOD]))


def _hostile(base: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Answers a site must not get away with, each with the field its error names."""

    def with_(path: tuple[str | int, ...], value: Any) -> Any:
        answer: Any = copy.deepcopy(base)
        node: Any = answer
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return answer

    return {
        "huge": (with_(("usb", 0, "product"), "A" * 100_000), "usb.0.product"),
        "control": (with_(("dmi", "product_serial"), "PC\x1b[2J\x00"), "dmi.product_serial"),
        "not-utf8": (with_(("usb", 0, "serial"), b"\xff\xfe".decode("utf-8", "surrogateescape")), "usb.0.serial"),
        "wrong-type": (with_(("disk", "free_percent"), "60"), "disk.free_percent"),
        "bool-as-text": (with_(("clock", "synchronised"), "yes"), "clock.synchronised"),
        "bad-usb-id": (with_(("usb", 0, "id"), "{{ x }}"), "usb.0.id"),
        "too-many": (with_(("usb",), [base["usb"][0]] * 1000), "usb"),
        "not-a-map": ([1, 2, 3], ""),
        "nan": (with_(("disk", "free_percent"), float("nan")), "disk.free_percent"),
    }


def test_a_hostile_answer_is_that_sites_error_and_no_other_verdict_changes(tmp_path: Path) -> None:
    healthy = _healthy(tmp_path)
    hostile = _hostile(healthy)
    answers = {GOOD: healthy} | {f"xa-{name}": answer for name, (answer, _) in hostile.items()}
    hostvars = {**HOSTVARS, **{site: HOSTVARS[GOOD] for site in answers if site != GOOD}}
    result = RunResult(
        "successful", 0, {s: SiteResult(s, ok=1) for s in answers}, tmp_path, {s: {"site_health": a} for s, a in answers.items()}
    )
    checks = weigh(sorted(answers), result, hostvars, names={})
    assert checks[GOOD].ok and checks[GOOD].error == ""
    for name, (_, field) in hostile.items():
        check = checks[f"xa-{name}"]
        assert not check.ok and check.reachable, name
        assert check.error.startswith("Kiểm tra lỗi: Máy trả lời"), (name, check.error)
        assert field in check.error and len(check.error) < 400, (name, check.error)
        assert check.facts == {}  # nothing of a hostile answer is kept
    with State(tmp_path / "s.sqlite") as state:  # stored and read back whole: one row per site, none lost
        run_id = state.begin_run("check", who="kythuat")
        state.record_health(run_id, checks.values())
        assert {c.site: c.error for c in state.health(run_id=run_id)} == {s: c.error for s, c in checks.items()}


def test_text_a_device_lies_with_is_kept_as_text_escaped_in_html_and_never_a_formula(tmp_path: Path) -> None:
    answer = _healthy(tmp_path)
    answer["usb"][0]["product"] = LYING_PRODUCT
    answer["endpoints"][0]["error"] = "<script>alert(1)</script> =cmd|' /C calc'!A0"
    answer["endpoints"][0]["ok"] = False
    parsed = facts.parse(answer)
    assert parsed["usb"][0]["product"] == LYING_PRODUCT
    hostvars = {GOOD: {**HOSTVARS[GOOD], "site_district": "=1+1", "site_commune": "@SUM(A1)"}}
    result = RunResult("successful", 0, {GOOD: SiteResult(GOOD, ok=1)}, tmp_path, {GOOD: {"site_health": answer}})
    check = weigh([GOOD], result, hostvars, names={})[GOOD]
    assert any("<script>alert(1)</script> =cmd|" in c for c in check.classes["terminal"].causes)
    with State(tmp_path / "s.sqlite") as state:
        run_id = state.begin_run("check", who="<b>kythuat</b>")
        state.record_health(run_id, [check])
        (stored,) = state.health(run_id=run_id)
        assert stored.facts["usb"][0]["product"] == LYING_PRODUCT
        report = reports.readiness(state.run(run_id), [stored], hostvars)
    html = report.html()
    assert ("<script>" not in html and "&lt;script&gt;" not in html) or "<b>kythuat</b>" not in html
    assert "<b>kythuat</b>" not in html and "&lt;b&gt;kythuat&lt;/b&gt;" in html
    book = load_workbook(report.write_xlsx(tmp_path / "r.xlsx"))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert {c.value for c in risky} >= {"=1+1", "@SUM(A1)"}
    assert all(c.data_type == "s" for c in cells), [(c.coordinate, c.value) for c in cells if c.data_type != "s"]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@A1", "\tx", '=HYPERLINK("http://x.example")'])
def test_no_text_cell_becomes_a_formula(tmp_path: Path, value: str) -> None:
    from provisioner.health.tables import Report, Table

    book = load_workbook(Report(value, [value], [Table("t", [value], [[value, 1]])]).write_xlsx(tmp_path / "t.xlsx"))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type == "s" and c.value == value for c in cells if c.value != 1)
