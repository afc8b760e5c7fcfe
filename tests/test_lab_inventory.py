"""The lab stands in for a generated inventory's sites: converge site.yml through it, then verify."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.lab import podman, registrar, sites
from tests.sip_probe import SCRIPT as SIP_PROBE

pytestmark = pytest.mark.lab
LAB = "inv"
ROOT = Path(__file__).resolve().parent.parent
DISTRICT = "bac_giang__hiep_hoa"  # three communes of the example province, one per conferencing profile


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner.cli", *args], capture_output=True, text=True, check=False, cwd=ROOT, timeout=1200
    )


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[list[sites.Site]]:
    done = cli("lab", "up", "--lab", LAB, "--from", "inventories/bac-giang", "--limit", DISTRICT)
    assert done.returncode == 0, done.stderr
    yield sites.status(LAB)
    sites.down(LAB)


def test_lab_up_from_an_inventory_starts_one_stand_in_per_site(stand_ins: list[sites.Site]) -> None:
    assert [s.name for s in stand_ins] == ["dong-lo-p01", "mai-dinh-p01", "thang-p01"]


def test_site_yml_converges_and_verifies_through_the_generated_inventory(stand_ins: list[sites.Site]) -> None:
    converged = cli("converge", "-i", "inventories/bac-giang", "--lab", LAB)
    assert converged.returncode == 0, converged.stdout[-3000:] + converged.stderr[-3000:]
    for s in stand_ins:
        assert s.name in converged.stdout
        # the hostname the registry gave the site, set by the base role
        assert podman.exec_(s.container, "hostname").stdout.strip() == s.name
    # only the lab's stand-ins were touched: no other site of the province appears
    assert "tang-tien-p01" not in converged.stdout
    verified = cli("verify", "-i", "inventories/bac-giang", "--lab", LAB, "--workers", "3")
    assert verified.returncode == 0, verified.stdout[-3000:]
    assert verified.stdout.count("pass") >= len(stand_ins)
    # thang-p01 is a SIP room: the lab's registrar holds its registration (account from the registry)
    assert registrar.registered(sites.SERVICES, "xa0201")
    # mai-dinh-p01 is a vendor room: the lab's package, pinned
    vendor = podman.exec_(sites.container_name(LAB, "mai-dinh-p01"), "dpkg-query", "-W", "conference-vendor-demo")
    assert vendor.stdout.split() == ["conference-vendor-demo", "1.0-1"]


def test_a_lab_run_names_only_the_stand_ins(stand_ins: list[sites.Site]) -> None:
    printed = cli("verify", "--print", "-i", "inventories/bac-giang", "--lab", LAB)
    assert printed.returncode == 0, printed.stderr
    assert "--hosts=ansible://dong-lo-p01,ansible://mai-dinh-p01,ansible://thang-p01" in printed.stdout


def test_the_lab_registrar_checks_passwords(stand_ins: list[sites.Site]) -> None:
    site = sites.container_name(LAB, "thang-p01")
    services = sites.ensure_services()

    def register(password: str) -> str:
        argv = ["python3", "-c", SIP_PROBE, services, str(registrar.PORT), "probe-account", password]
        return podman.exec_(site, *argv, timeout=30).stdout.strip()

    assert register("not-the-password") in ("401", "403")
    assert register(registrar.password()) == "200"
