"""The lab stands in for a generated inventory's sites: converge site.yml through it, then verify."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from provisioner.health.survey import DOWN, STABLE, UNSTABLE
from provisioner.lab import podman, registrar, sites
from provisioner.state import State
from tests.sip_probe import SCRIPT as SIP_PROBE

pytestmark = pytest.mark.lab
LAB = "inv"
ROOT = Path(__file__).resolve().parent.parent
DISTRICT = "bac_ninh__hiep_hoa"  # three communes of the example province, one per conferencing profile


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=1200,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[list[sites.Site]]:
    done = cli("lab", "up", "--lab", LAB, "--from", "inventories/bac-ninh", "--limit", DISTRICT)
    assert done.returncode == 0, done.stderr
    yield sites.status(LAB)
    sites.down(LAB)


def test_lab_up_from_an_inventory_starts_one_stand_in_per_site(stand_ins: list[sites.Site]) -> None:
    assert [s.name for s in stand_ins] == ["hiep-hoa-07840-p01", "hoang-van-07822-p01", "xuan-cam-07870-p01"]


def test_site_yml_converges_and_verifies_through_the_generated_inventory(stand_ins: list[sites.Site]) -> None:
    converged = cli("converge", "-i", "inventories/bac-ninh", "--lab", LAB)
    assert converged.returncode == 0, converged.stdout[-3000:] + converged.stderr[-3000:]
    for s in stand_ins:
        assert s.name in converged.stdout
        # the hostname the registry gave the site, set by the base role
        assert podman.exec_(s.container, "hostname").stdout.strip() == s.name
    # only the lab's stand-ins were touched: no other site of the province appears
    assert "tang-tien-p01" not in converged.stdout
    verified = cli("verify", "-i", "inventories/bac-ninh", "--lab", LAB, "--workers", "3")
    assert verified.returncode == 0, verified.stdout[-3000:]
    assert verified.stdout.count("pass") >= len(stand_ins)
    # hiep-hoa-07840-p01 is a SIP room: the lab's registrar holds its registration (account from the registry)
    assert registrar.registered(sites.SERVICES, "xa0201")
    # xuan-cam-07870-p01 is a vendor room: the lab's package, pinned
    vendor = podman.exec_(sites.container_name(LAB, "xuan-cam-07870-p01"), "dpkg-query", "-W", "conference-vendor-demo")
    assert vendor.stdout.split() == ["conference-vendor-demo", "1.0-1"]


def test_a_lab_run_names_only_the_stand_ins(stand_ins: list[sites.Site]) -> None:
    printed = cli("verify", "--print", "-i", "inventories/bac-ninh", "--lab", LAB)
    assert printed.returncode == 0, printed.stderr
    assert "--hosts=ansible://hiep-hoa-07840-p01,ansible://hoang-van-07822-p01,ansible://xuan-cam-07870-p01" in printed.stdout


def test_the_lab_registrar_checks_passwords(stand_ins: list[sites.Site]) -> None:
    site = sites.container_name(LAB, "hiep-hoa-07840-p01")
    services = sites.ensure_services()

    def register(password: str) -> str:
        argv = ["python3", "-c", SIP_PROBE, services, str(registrar.PORT), "probe-account", password]
        return podman.exec_(site, *argv, timeout=30).stdout.strip()

    assert register("not-the-password") in ("401", "403")
    assert register(registrar.password()) == "200"


def test_the_readiness_check_and_the_survey_from_its_history(stand_ins: list[sites.Site], tmp_path: Path) -> None:
    """Converged rooms are ready; a camera unplugged, a camera swapped, a PC switched off are each reported."""
    env = {"PROVISIONER_STATE_DIR": str(tmp_path / "state")}
    args = ("-i", "inventories/bac-ninh", "--lab", LAB)
    first = cli("check", *args, env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "sẵn sàng: 3; chưa sẵn sàng: 0; không kết nối: 0" in first.stdout
    assert cli("lab", "devices", "hoang-van-07822-p01", "--lab", LAB, "--remove", "camera").returncode == 0
    assert cli("lab", "devices", "hiep-hoa-07840-p01", "--lab", LAB, "--swap", "camera=Logitech C920").returncode == 0
    podman.podman("stop", "-t", "2", sites.container_name(LAB, "xuan-cam-07870-p01"))
    second = cli("check", *args, env=env)
    assert second.returncode == 1, second.stdout[-3000:]
    assert "sẵn sàng: 1; chưa sẵn sàng: 1; không kết nối: 1" in second.stdout
    with State(tmp_path / "state" / "provisioner.sqlite") as state:
        run = state.last_run("check")
        assert run is not None
        last = {c.site: c for c in state.health(run_id=run.id)}
    assert last["hoang-van-07822-p01"].classes["camera"].status == "fail"
    assert [d.kind for d in last["hoang-van-07822-p01"].drift] == ["missing"]
    assert last["hiep-hoa-07840-p01"].classes["camera"].status == "ok"
    swapped = last["hiep-hoa-07840-p01"].drift
    assert [d.kind for d in swapped] == ["swapped"] and "Logitech C920" in swapped[0].text
    assert not last["xuan-cam-07870-p01"].reachable and "Connection refused" in last["xuan-cam-07870-p01"].error
    year = run.started_at[:4]
    survey = cli("report", "survey", "--year", year, *args, "--out", str(tmp_path), env=env)
    assert survey.returncode == 0, survey.stderr[-2000:]
    book = load_workbook(tmp_path / f"survey-{year}.xlsx")
    rows = {r[2]: r for r in book["Điểm cầu"].iter_rows(min_row=2, values_only=True)}
    # Camera, Micro, Âm thanh, Thiết bị đầu cuối VCS, chung; checks, dark, incidents
    assert rows["hoang-van-07822-p01"][3:11] == (DOWN, STABLE, STABLE, STABLE, DOWN, 2, 0, 1)
    assert rows["hiep-hoa-07840-p01"][3:11] == (STABLE, STABLE, STABLE, STABLE, STABLE, 2, 0, 0)
    assert rows["xuan-cam-07870-p01"][3:11] == (STABLE, STABLE, STABLE, DOWN, DOWN, 2, 1, 1)
    drift = {(r[2], r[4]) for r in book["Thay đổi thiết bị"].iter_rows(min_row=2, values_only=True)}
    assert drift == {("hoang-van-07822-p01", "Thiếu"), ("hiep-hoa-07840-p01", "Bị thay")}
    assert UNSTABLE not in {v for r in rows.values() for v in r}
    readiness = cli("report", "readiness", *args, "--out", str(tmp_path), env=env)
    assert readiness.returncode == 0 and (tmp_path / f"readiness-{run.id}.html").is_file()
