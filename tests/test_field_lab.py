"""Field tests: a 20-site rollout with 3 PCs switched off and 2 weak links; a rollout killed mid-wave, then resumed.

The fleet is an invented province of 20 sites in two districts (two waves),
stand-ins on Debian 13. The first test converges all of it for real
(``playbooks/site.yml``, every role); the second re-converges it in batches,
is killed (SIGKILL to the controller and its Ansible) in the middle of the
first wave, and is resumed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.lab import podman, sites
from provisioner.state import FINISHED, State
from tests import fleet as fleet_mod

pytestmark = [pytest.mark.lab, pytest.mark.field]
LAB = "field"
STOPPED = ("thu-nghiem-3-p01", "thu-nghiem-12-p01", "thu-nghiem-17-p01")
LOSSY = ("thu-nghiem-5-p01", "thu-nghiem-14-p01")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[fleet_mod.Fleet]:
    made = fleet_mod.up(tmp_path_factory.mktemp("fleet"), LAB, 20, "trixie")
    for name in STOPPED:
        podman.podman("stop", "-t", "2", sites.container_name(LAB, name))
    for name in LOSSY:
        fleet_mod.lossy_link(sites.container_name(LAB, name), 30)
    yield made
    sites.down(LAB)


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


def command(fleet: fleet_mod.Fleet, *args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from provisioner.cli import main; main()",
        "rollout",
        "-i",
        str(fleet.province),
        "--lab",
        LAB,
        *args,
    ]


def environment(state_dir: Path) -> dict[str, str]:
    return {**os.environ, "PROVISIONER_STATE_DIR": str(state_dir), "COLUMNS": "200"}


def rollout(fleet: fleet_mod.Fleet, state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(fleet, *args), capture_output=True, text=True, check=False, env=environment(state_dir))


def successes(state_dir: Path, run_id: str) -> dict[str, int]:
    with sqlite3.connect(state_dir / "provisioner.sqlite") as db:
        rows = db.execute(
            "SELECT site, COUNT(*) FROM site_results WHERE run_id = ? AND status IN ('ok', 'changed') GROUP BY site", (run_id,)
        ).fetchall()
    return dict(rows)


def test_every_reachable_site_converges_and_the_switched_off_ones_are_reported(fleet: fleet_mod.Fleet, state_dir: Path) -> None:
    done = rollout(fleet, state_dir, "--retries", "2", "--backoff", "2")
    assert done.returncode == 4, done.stdout[-4000:] + done.stderr[-4000:]  # partial: some sites stayed unreachable
    with State(state_dir / "provisioner.sqlite") as state:
        run_id = state.runs()[0].id
        results = state.results(run_id)
        assert state.run(run_id).status == "partial"
        assert state.integrity() == "ok"
    assert sorted(results) == sorted(fleet.sites)  # no site missing from the record
    for name in STOPPED:
        assert results[name].status == "unreachable", results[name]
        assert results[name].attempt == 3  # the first try and two retries
    reachable = [s for s in fleet.sites if s not in STOPPED]
    assert {s: results[s].status for s in reachable if results[s].status not in FINISHED} == {}
    report = done.stdout
    for name in fleet.sites:
        assert name in report  # the final tables name every site
    assert report.count("unreachable") >= len(STOPPED)


def test_a_rollout_killed_mid_wave_and_resumed_converges_every_reachable_site_once(
    fleet: fleet_mod.Fleet, state_dir: Path
) -> None:
    started = subprocess.Popen(
        command(fleet, "--batch", "4", "--retries", "2", "--backoff", "2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment(state_dir),
        start_new_session=True,  # its own process group: the kill takes Ansible down with it
    )
    with State(state_dir / "provisioner.sqlite") as state:
        deadline = time.monotonic() + 900
        while True:
            runs = state.runs()
            run_id = runs[0].id if runs and runs[0].kind == "rollout" and runs[0].status == "running" else ""
            if run_id and len(state.results(run_id)) >= 4:  # the first batch of the first wave is recorded
                break
            assert started.poll() is None, "the rollout ended before it could be killed"
            assert time.monotonic() < deadline, "the first batch never finished"
            time.sleep(0.2)
    os.killpg(started.pid, signal.SIGKILL)
    started.wait()

    with State(state_dir / "provisioner.sqlite") as state:
        assert state.run(run_id).status == "interrupted"
        assert state.integrity() == "ok"
        before = state.results(run_id)
    first_wave = [s for s in fleet.sites if int(s.split("-")[2]) > 10]  # Huyện Hiệp Hòa: sites 11-20
    assert 4 <= len(before) < len(first_wave), before  # killed in the middle of the first wave

    again = rollout(fleet, state_dir, "--resume", run_id, "--retries", "2", "--backoff", "2")
    assert again.returncode == 4, again.stdout[-4000:] + again.stderr[-4000:]  # the switched-off sites stay unreachable
    reachable = [s for s in fleet.sites if s not in STOPPED]
    assert successes(state_dir, run_id) == dict.fromkeys(reachable, 1)  # every reachable site converged, once
    with State(state_dir / "provisioner.sqlite") as state:
        results = state.results(run_id)
        assert sorted(results) == sorted(fleet.sites)
        assert {results[s].status for s in STOPPED} == {"unreachable"}
        assert state.run(run_id).status == "partial"
        assert state.integrity() == "ok"
