from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.state import SiteRecord, State


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI, in a terminal wide enough that tables are not cut."""
    return subprocess.run(
        [sys.executable, "-c", "from provisioner.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lab", "up", "--os", "buster"], "unknown Debian suite 'buster'"),
        (["lab", "up", "--name", "Xã_Tân"], "is not usable as a lab or site name"),
        (["lab", "up", "--sites", "0"], "at least one site"),
        (["converge", "-i", "inventories/none"], "inventory inventories/none does not exist"),
    ],
)
def test_bad_lab_options_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_verify_print_shows_the_command() -> None:
    done = run("verify", "--print", "-i", "inventories/bac-ninh", "--site", "site01")
    assert done.returncode == 0, done.stderr
    assert "--hosts=ansible://site01" in done.stdout
    assert "inventories/bac-ninh/viet-yen," in done.stdout  # a province folder means its districts
    assert "provisioner/checks" in done.stdout


def test_verify_leaves_the_checks_that_interrupt_a_meeting_to_full() -> None:
    quick = run("verify", "--print", "-i", "inventories/bac-ninh", "--site", "site01")
    full = run("verify", "--print", "--full", "-i", "inventories/bac-ninh", "--site", "site01")
    assert "-m 'not disruptive'" in quick.stdout, quick.stdout
    assert "disruptive" not in full.stdout, full.stdout
    collect = ["--collect-only", "-q", "-m", "disruptive", "--hosts=local://"]
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "provisioner/checks", "-c", "provisioner/checks/pytest.ini", *collect],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {ln.split("::")[1].split("[")[0] for ln in listed.splitlines() if "::" in ln}
    assert names == {
        "test_the_client_comes_back_when_it_exits",
        "test_the_screen_sleeps_only_outside_meeting_hours",
        "test_plugging_the_device_in_makes_it_the_default_again",
        "test_tampering_with_system_files_is_found",
    }


def test_status_shows_each_sites_last_result_and_the_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_STATE_DIR", str(tmp_path))
    with State() as state:
        first = state.begin_run("converge")
        state.record([SiteRecord(first, "dong-lo-p01", "failed", failed_task="Install chromium", message="no space")])
        state.finish_run(first, "failed")
        second = state.begin_run("converge")
        state.record([SiteRecord(second, "dong-lo-p01", "changed", changed=3), SiteRecord(second, "thang-p01", "ok")])
        state.finish_run(second, "succeeded")
    done = run("status")
    assert done.returncode == 0, done.stderr
    rows = {ln.split("│")[1].strip(): ln for ln in done.stdout.splitlines() if ln.startswith("│")}
    assert "changed" in rows["dong-lo-p01"] and second in rows["dong-lo-p01"] and "no space" not in rows["dong-lo-p01"]
    assert " ok " in rows["thang-p01"]
    runs = run("status", "--runs").stdout
    assert first in runs and second in runs and "failed" in runs and "succeeded" in runs


def test_status_says_when_nothing_ran_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_STATE_DIR", str(tmp_path))
    done = run("status")
    assert done.returncode == 0
    assert "no site has a result yet" in done.stdout
