"""Re-image on a lab site whose PC was reinstalled (container recreated: new SSH host keys)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.lab import keys, podman, sites
from provisioner.reimage import fingerprints
from provisioner.state import State

pytestmark = pytest.mark.lab
LAB = "reimage"


@pytest.fixture(scope="module")
def reinstalled() -> Iterator[tuple[sites.Site, Path, list[str]]]:
    """A site whose PC was reinstalled while known_hosts still holds the old PC's keys."""
    lab = sites.up(1, suite="bookworm", lab_name=LAB)
    old = lab.sites[0]
    ident = keys.known_host_id(old.address, old.port)
    old_keys = [ln.split(" ", 1)[1] for ln in lab.known_hosts.read_text().splitlines() if ln.split(" ", 1)[0] == ident]
    podman.podman("rm", "-f", "-t", "0", old.container)
    lab = sites.up(1, suite="bookworm", lab_name=LAB)
    site = lab.sites[0]
    new_keys = podman.exec_(site.container, "sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub").stdout.splitlines()
    keys.record_host_keys(lab.known_hosts, site.address, site.port, old_keys)
    yield site, lab.known_hosts, [" ".join(k.split()[:2]) for k in new_keys]
    sites.down(LAB)


def reimage(state_dir: Path, *args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from provisioner.cli import main; main()", "reimage", *args, "--lab", LAB],
        input=answer,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PROVISIONER_STATE_DIR": str(state_dir), "COLUMNS": "200"},
    )


def known(known_hosts: Path, site: sites.Site) -> set[str]:
    ident = keys.known_host_id(site.address, site.port)
    return {ln.split(" ", 1)[1] for ln in known_hosts.read_text().splitlines() if ln.split(" ", 1)[0] == ident}


def test_new_keys_not_trusted_change_nothing(reinstalled: tuple[sites.Site, Path, list[str]], tmp_path: Path) -> None:
    site, known_hosts, new_keys = reinstalled
    before = known(known_hosts, site)
    done = reimage(tmp_path, site.name, answer="n\n")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not trusted; nothing was changed" in done.stderr
    for line in fingerprints(new_keys):
        assert line.split()[0] in done.stdout  # the new fingerprints were shown before asking
    assert known(known_hosts, site) == before


def test_reimage_trusts_converges_verifies_and_records(reinstalled: tuple[sites.Site, Path, list[str]], tmp_path: Path) -> None:
    site, known_hosts, new_keys = reinstalled
    done = reimage(tmp_path, site.name, "--yes")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert known(known_hosts, site) == set(new_keys)
    assert f"Điểm cầu {site.name} đạt" in done.stdout
    with State(tmp_path / "provisioner.sqlite") as state:
        run = state.runs()[0]
        assert run.kind == "reimage" and run.status == "succeeded"
        enrolled = state.enrolments(site.name)
        assert len(enrolled) == 1 and enrolled[0]["keys_changed"] and enrolled[0]["run_id"] == run.id
        assert state.results(run.id)[site.name].status == "changed"
    html = tmp_path / "reports" / f"reimage-{site.name}-{run.id}.html"
    assert html.is_file() and f"Nghiệm thu điểm cầu {site.name}" in html.read_text()
    # A second reimage of the same PC: keys unchanged, nothing to ask.
    again = reimage(tmp_path, site.name)
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    assert "host keys unchanged" in again.stderr
