"""Each role's first task stops a run on settings that cannot work, naming every problem at once.

A real ``ansible-playbook`` runs each role's input checks (tagged ``always``)
on this machine through the local connection, in check mode and limited to
those checks: nothing on the machine is read or changed beyond that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from provisioner import paths

PLAY = """\
- name: Check one role's settings
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: {role}
"""


def checks(tmp_path: Path, role: str, settings: Mapping[str, object]) -> subprocess.CompletedProcess[str]:
    """Run ``role``'s input checks with ``settings``."""
    (tmp_path / "play.yml").write_text(PLAY.format(role=role))
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    return subprocess.run(
        [
            Path(sys.executable).parent / "ansible-playbook",
            *("-i", "localhost,", "--check", "--tags", "always", "-e", f"@{tmp_path / 'settings.json'}"),
            str(tmp_path / "play.yml"),
        ],
        env={**os.environ, "ANSIBLE_CONFIG": str(paths.project_root() / "ansible.cfg"), "ANSIBLE_LOCALHOST_WARNING": "False"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


GOOD_BASE: dict[str, object] = {
    "base_admin_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTests test"]
}


def test_base_settings_that_work_pass(tmp_path: Path) -> None:
    done = checks(tmp_path, "base", GOOD_BASE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_base_names_every_problem_in_its_settings_at_once(tmp_path: Path) -> None:
    done = checks(
        tmp_path,
        "base",
        {"base_upgrades_window_start": "10:00", "base_admin_authorized_keys": [], "base_locale_default": "fr_FR.UTF-8"},
    )
    assert done.returncode != 0
    assert "The maintenance window 10:00 + 80 min overlaps the meeting hours 07:00-11:45, 13:15-17:30" in done.stdout
    assert "base_admin_authorized_keys is empty" in done.stdout
    assert "base_locale_default (fr_FR.UTF-8) must be one of base_locales (vi_VN.UTF-8, en_US.UTF-8)" in done.stdout


@pytest.mark.parametrize("start", ["25:00", "noon"])
def test_base_rejects_a_window_that_is_not_a_time_of_day(tmp_path: Path, start: str) -> None:
    done = checks(tmp_path, "base", {**GOOD_BASE, "base_upgrades_window_start": start})
    assert done.returncode != 0
    assert f"The maintenance window {start} + 80 min" in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        (
            {"conferencing_client_profile": "webrtc", "conferencing_client_meeting_url": "hop.example/phong"},
            "profile webrtc needs",
        ),
        (
            {
                "conferencing_client_profile": "sip",
                "conferencing_client_sip_registrar": "mcu.hop.example",
                "conferencing_client_sip_account": "xa0001",
                "conferencing_client_sip_password_var": "vault_sip_xa0001",
            },
            "profile sip needs the registrar, the account and a defined vault variable",
        ),
        (
            {
                "conferencing_client_profile": "vendor",
                "conferencing_client_vendor_package": "hop-client",
                "conferencing_client_vendor_version": "1.2",
                "conferencing_client_vendor_command": "/opt/hop/run",
                "conferencing_client_vendor_url": "https://hop.example/hop.deb",
                "conferencing_client_vendor_sha256": "abc",
            },
            "profile vendor needs",
        ),
    ],
)
def test_the_client_checks_the_settings_of_the_sites_profile(tmp_path: Path, settings: dict[str, str], said: str) -> None:
    done = checks(tmp_path, "conferencing_client", settings)
    assert done.returncode != 0
    assert f"localhost: {said}" in done.stdout, done.stdout


def test_a_sip_site_with_its_password_in_the_vault_variable_passes(tmp_path: Path) -> None:
    settings = {
        "conferencing_client_profile": "sip",
        "conferencing_client_sip_registrar": "mcu.hop.example",
        "conferencing_client_sip_account": "xa0001",
        "conferencing_client_sip_password_var": "vault_sip_xa0001",
        "vault_sip_xa0001": "mat-khau-thu",
    }
    done = checks(tmp_path, "conferencing_client", settings)
    assert done.returncode == 0, done.stdout
    assert "mat-khau-thu" not in done.stdout


def test_the_kiosk_names_meeting_hours_it_cannot_read(tmp_path: Path) -> None:
    done = checks(tmp_path, "kiosk", {"kiosk_meeting_hours": ["07:00-11:45", "1pm-5pm"]})
    assert done.returncode != 0
    assert "localhost: kiosk_meeting_hours must be HH:MM-HH:MM ranges, got ['07:00-11:45', '1pm-5pm']" in done.stdout, done.stdout


def test_the_kiosk_accepts_its_defaults(tmp_path: Path) -> None:
    done = checks(tmp_path, "kiosk", {})
    assert done.returncode == 0, done.stdout
