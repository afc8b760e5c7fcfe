"""A rollout on lab sites: a site switched off is kept apart, retried, reported; a resume finishes the job."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.lab import podman, sites
from provisioner.state import State

pytestmark = pytest.mark.lab
LAB = "rollout"


@pytest.fixture(scope="module")
def lab() -> Iterator[sites.Lab]:
    made = sites.up(3, suite="bookworm", lab_name=LAB)
    yield made
    sites.down(LAB)


def rollout(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from provisioner.cli import main; main()", "rollout", "--lab", LAB, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PROVISIONER_STATE_DIR": str(state_dir), "COLUMNS": "200"},
    )


def test_a_switched_off_site_is_retried_reported_and_converged_on_resume(lab: sites.Lab, tmp_path: Path) -> None:
    dark = lab.sites[1]
    podman.podman("stop", "-t", "2", dark.container)
    # only the hostname: enough to converge for real, quick on a never-provisioned site
    first = rollout(tmp_path, "--batch", "1", "--retries", "1", "--backoff", "1", "--tags", "base_hostname")
    assert first.returncode == 4, first.stdout + first.stderr  # partial
    with State(tmp_path / "provisioner.sqlite") as state:
        run_id = state.runs()[0].id
        results = state.results(run_id)
        assert sorted(results) == sorted(s.name for s in lab.sites)  # no site missing from the record
        assert results[dark.name].status == "unreachable" and results[dark.name].attempt == 2
        assert {results[s.name].status for s in lab.sites if s is not dark} == {"changed"}
        assert state.run(run_id).status == "partial"

    podman.podman("start", dark.container)
    sites.up(3, suite="bookworm", lab_name=LAB)  # waits for its sshd again
    again = rollout(tmp_path, "--resume", run_id, "--tags", "base_hostname")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"converging 1 site(s): {dark.name}" in again.stderr
    with State(tmp_path / "provisioner.sqlite") as state:
        assert state.results(run_id)[dark.name].status == "changed"
        assert state.run(run_id).status == "succeeded"
        assert state.integrity() == "ok"
    # the resume converged the dark site alone: the others keep their one result
    with sqlite3.connect(tmp_path / "provisioner.sqlite") as db:
        rows = dict(db.execute("SELECT site, COUNT(*) FROM site_results WHERE run_id = ? GROUP BY site", (run_id,)).fetchall())
    assert rows == {s.name: (3 if s is dark else 1) for s in lab.sites}
