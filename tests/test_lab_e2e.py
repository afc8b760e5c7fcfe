"""End to end on lab sites: lab up, converge, verify; break a site and watch the checks catch it."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.errors import PortTakenError
from provisioner.lab import podman, sites
from provisioner.runner import run_playbook
from provisioner.verify import run_checks

pytestmark = pytest.mark.lab
LAB = "e2e"


@pytest.fixture(scope="module")
def lab() -> Iterator[sites.Lab]:
    made = sites.up(2, suite="bookworm", lab_name=LAB)
    yield made
    sites.down(LAB)


def _host_keys(known_hosts: Path, port: int) -> set[str]:
    return {ln.split()[2] for ln in known_hosts.read_text().splitlines() if ln.startswith(f"[127.0.0.1]:{port} ")}


def test_each_site_has_its_own_host_keys(lab: sites.Lab) -> None:
    first, second = (_host_keys(lab.known_hosts, s.port) for s in lab.sites)
    assert first and second
    assert not first & second


def test_a_wrong_host_key_is_refused(lab: sites.Lab, tmp_path: Path) -> None:
    site = lab.sites[0]
    other = lab.sites[1]
    forged = tmp_path / "known_hosts"
    # site01's port, but site02's keys: an impostor from site01's point of view.
    forged.write_text(
        "".join(
            f"[127.0.0.1]:{site.port} {' '.join(ln.split()[1:])}\n"
            for ln in lab.known_hosts.read_text().splitlines()
            if ln.startswith(f"[127.0.0.1]:{other.port} ")
        )
    )
    done = subprocess.run(
        [
            "ansible",
            site.name,
            "-i",
            str(lab.inventory),
            "-m",
            "ansible.builtin.ping",
            "-e",
            f"ansible_ssh_common_args='-o UserKnownHostsFile={forged} -o StrictHostKeyChecking=yes'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "UNREACHABLE" in done.stdout
    assert "Host key verification failed" in done.stdout + done.stderr


def test_converge_verify_then_a_broken_site_fails_its_checks(lab: sites.Lab) -> None:
    first = run_playbook("site.yml", [lab.inventory])
    assert first.succeeded, first.sites
    assert {s.status for s in first.sites.values()} == {"changed"}
    again = run_playbook("site.yml", [lab.inventory])
    assert {s.changed for s in again.sites.values()} == {0}, "second converge changed something"

    checked = run_checks([lab.inventory], workers=2, full=True)
    assert checked.ok, {s.site: s.failed for s in checked.sites.values()}
    assert sorted(checked.sites) == sorted(s.name for s in lab.sites)

    # Someone re-enables password logins on site01 by hand.
    broken = lab.sites[0]
    podman.exec_(
        broken.container,
        "sh",
        "-c",
        "sed -i 's/^PasswordAuthentication no/PasswordAuthentication yes/; "
        "s/^AuthenticationMethods publickey/AuthenticationMethods any/' /etc/ssh/sshd_config "
        "&& systemctl reload ssh",
    )
    caught = run_checks([lab.inventory], workers=2)
    assert not caught.ok
    assert caught.sites[lab.sites[1].name].ok
    assert "test_password_login_is_refused" in caught.sites[broken.name].failed
    assert "test_sshd_effective_settings" in caught.sites[broken.name].failed

    # A converge puts it right.
    repaired = run_playbook("site.yml", [lab.inventory], limit=broken.name)
    assert repaired.sites[broken.name].changed > 0
    assert run_checks([lab.inventory], limit=broken.name, workers=1).ok


def test_a_taken_port_is_reported_and_nothing_starts() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortTakenError, match=f"127.0.0.1:{port}"):
            sites.up(1, lab_name="porttest", base_port=port - 1)
    assert sites.status("porttest") == []
