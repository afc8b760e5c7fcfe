"""The state database: runs and site results survive interruptions; a resume knows what is left."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provisioner.errors import StateError
from provisioner.state import SiteRecord, State


def test_a_run_records_each_sites_latest_result(tmp_path: Path) -> None:
    with State(tmp_path / "s.sqlite") as state:
        run = state.begin_run("rollout", {"district": ["bac_giang__hiep_hoa"]})
        state.record([SiteRecord(run, "a", "unreachable", attempt=1), SiteRecord(run, "b", "changed", changed=5)])
        state.record([SiteRecord(run, "a", "ok", attempt=2)])
        results = state.results(run)
        assert results["a"].status == "ok" and results["a"].attempt == 2
        assert results["b"].changed == 5
        state.finish_run(run, "succeeded")
        assert state.run(run).status == "succeeded"
        assert state.run(run).args == {"district": ["bac_giang__hiep_hoa"]}


def test_pending_lists_sites_not_yet_succeeded_in_order(tmp_path: Path) -> None:
    with State(tmp_path / "s.sqlite") as state:
        run = state.begin_run("rollout")
        state.record([SiteRecord(run, "a", "changed"), SiteRecord(run, "b", "failed", failed_task="Install", message="boom")])
        assert state.pending(run, ["c", "b", "a"]) == ["c", "b"]


def test_last_results_span_runs(tmp_path: Path) -> None:
    with State(tmp_path / "s.sqlite") as state:
        first = state.begin_run("rollout")
        state.record([SiteRecord(first, "a", "failed"), SiteRecord(first, "b", "ok")])
        second = state.begin_run("reimage")
        state.record([SiteRecord(second, "a", "changed")])
        last = state.last_results()
        assert {s: r.status for s, r in last.items()} == {"a": "changed", "b": "ok"}
        assert last["a"].run_id == second
        assert list(state.last_results(["b", "zz"])) == ["b"]


def test_unknown_statuses_are_refused(tmp_path: Path) -> None:
    with State(tmp_path / "s.sqlite") as state:
        run = state.begin_run("rollout")
        with pytest.raises(sqlite3.IntegrityError):
            state.record([SiteRecord(run, "a", "done")])
        assert state.results(run) == {}


def test_an_unknown_run_says_how_to_list_runs(tmp_path: Path) -> None:
    with State(tmp_path / "s.sqlite") as state, pytest.raises(StateError, match="provisioner status --runs"):
        state.run("nope")


def test_a_corrupt_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="cannot be used"):
        State(path)
    assert path.read_bytes().startswith(b"this is not a database")


WRITER = """
import sys
from provisioner.state import SiteRecord, State
state = State(__import__('pathlib').Path(sys.argv[1]))
run = state.begin_run('rollout')
print(run, flush=True)
i = 0
while True:
    state.record([SiteRecord(run, f'site{i:05d}', 'changed', changed=i)])
    i += 1
"""


def test_a_killed_writer_leaves_the_database_sound_and_the_run_interrupted(tmp_path: Path) -> None:
    """The controller killed mid-run: everything recorded stays, nothing is torn, the run reads as interrupted."""
    path = tmp_path / "s.sqlite"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    run = writer.stdout.readline().strip()
    time.sleep(1.0)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with State(path) as state:
        assert state.integrity() == "ok"
        recorded = state.results(run)
        assert len(recorded) > 10
        # results were written in order: no gap before the last one recorded
        assert sorted(recorded) == [f"site{i:05d}" for i in range(len(recorded))]
        assert state.run(run).status == "interrupted"
        resumed = state.reopen_run(run)
        assert resumed.status == "running"
        state.finish_run(run, "succeeded")
        assert state.run(run).status == "succeeded"


def test_a_live_run_cannot_be_taken_over(tmp_path: Path) -> None:
    with State(tmp_path / "s.sqlite") as state:
        run = state.begin_run("rollout")
        with pytest.raises(StateError, match="still running"):
            state.reopen_run(run)


def test_check_results_keep_each_sites_latest_verdict(tmp_path: Path) -> None:
    from provisioner.state import CheckRecord

    with State(tmp_path / "s.sqlite") as state:
        first = state.begin_run("verify")
        state.record_checks([CheckRecord(first, "a", 20, ("test_chrony_syncs",), 1), CheckRecord(first, "b", 21)])
        second = state.begin_run("verify")
        state.record_checks([CheckRecord(second, "a", 21)])
        last = state.last_checks()
        assert last["a"].ok and last["a"].run_id == second
        assert last["b"].ok and last["b"].run_id == first
        assert state.last_checks(["a"]) == {"a": last["a"]}
        older = sqlite3.connect(tmp_path / "s.sqlite").execute(
            "SELECT failed, failed_checks FROM check_results WHERE run_id=? AND site='a'", (first,)
        )
        assert older.fetchone() == (1, '["test_chrony_syncs"]')


def test_a_run_left_by_an_exception_is_marked_interrupted(tmp_path: Path) -> None:
    with State(tmp_path / "s.sqlite") as state:
        run = state.begin_run("rollout")
        with pytest.raises(KeyboardInterrupt), state.running(run):
            raise KeyboardInterrupt
        assert state.run(run).status == "interrupted"
        assert state.reopen_run(run).status == "running"


def test_a_version_1_database_gains_the_check_results_table(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with State(path) as state:
        run = state.begin_run("converge")
        state.record([SiteRecord(run, "a", "ok")])
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE check_results")
        db.execute("PRAGMA user_version=1")
    with State(path) as state:
        assert state.results(run)["a"].status == "ok"
        assert state.last_checks() == {}
        assert state.integrity() == "ok"
