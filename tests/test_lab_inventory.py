"""The lab stands in for a generated inventory's sites: converge site.yml through it, then verify."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.lab import podman, sites

pytestmark = pytest.mark.lab
LAB = "inv"
ROOT = Path(__file__).resolve().parent.parent
DISTRICT = "bac_giang__yen_the"  # two communes of the example province


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
    assert [s.name for s in stand_ins] == ["cau-go-p01", "dong-tam-p01"]


def test_site_yml_converges_and_verifies_through_the_generated_inventory(stand_ins: list[sites.Site]) -> None:
    converged = cli("converge", "-i", "inventories/bac-giang", "--lab", LAB)
    assert converged.returncode == 0, converged.stdout[-3000:] + converged.stderr[-3000:]
    for s in stand_ins:
        assert s.name in converged.stdout
        # the hostname the registry gave the site, set by the base role
        assert podman.exec_(s.container, "hostname").stdout.strip() == s.name
    # only the lab's stand-ins were touched: no other site of the province appears
    assert "tang-tien-p01" not in converged.stdout
    verified = cli("verify", "-i", "inventories/bac-giang", "--lab", LAB, "--workers", "2")
    assert verified.returncode == 0, verified.stdout[-3000:]
    assert verified.stdout.count("pass") >= len(stand_ins)


def test_a_lab_run_names_only_the_stand_ins(stand_ins: list[sites.Site]) -> None:
    printed = cli("verify", "--print", "-i", "inventories/bac-giang", "--lab", LAB)
    assert printed.returncode == 0, printed.stderr
    assert "--hosts=ansible://cau-go-p01,ansible://dong-tam-p01" in printed.stdout
