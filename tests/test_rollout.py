"""Rollout orchestration: waves, batches, the failure threshold, unreachable sites retried, resume.

The converge is a plain function here; the field tests in the lab drive real
sites through ansible-runner.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.errors import ConfigError
from provisioner.rollout import EXIT_PARTIAL, EXIT_STOPPED, EXIT_SUCCESS, Outcome, Policy, Wave, replay_sites, run
from provisioner.state import SiteRecord, State


class Field:
    """Sites as a converge sees them: some fail, some stay dark, some wake up after N attempts."""

    def __init__(self, failing: frozenset[str] = frozenset(), dark: dict[str, int] | None = None) -> None:
        self.failing = set(failing)
        self.dark = dict(dark or {})  # site -> attempts it stays unreachable (a large number: switched off)
        self.calls: list[list[str]] = []

    def __call__(self, sites: list[str]) -> dict[str, Outcome]:
        self.calls.append(list(sites))
        out = {}
        for s in sites:
            if self.dark.get(s, 0) > 0:
                self.dark[s] -= 1
                out[s] = Outcome("unreachable", message="ssh: connect timed out")
            elif s in self.failing:
                out[s] = Outcome("failed", failed_task="Install chromium", message="no space left")
            else:
                out[s] = Outcome("changed", changed=3)
        return out


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State(tmp_path / "state.sqlite")


def sites(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:02d}" for i in range(1, n + 1)]


@pytest.mark.parametrize(
    ("batch", "sizes"), [("100%", [10]), ("3", [3, 3, 3, 1]), ("25%", [3, 3, 3, 1]), ("1", [1] * 10), ("50", [10])]
)
def test_batches(batch: str, sizes: list[int]) -> None:
    assert [len(b) for b in Policy(batch=batch).batches(sites("s", 10))] == sizes


@pytest.mark.parametrize("batch", ["0", "-1", "10.5", "abc", "101%", ""])
def test_bad_batches_are_refused(batch: str) -> None:
    with pytest.raises(ConfigError, match="not a batch size"):
        Policy(batch=batch)


def test_waves_in_order_batches_inside(state: State) -> None:
    field = Field()
    run_id = state.begin_run("rollout")
    report = run(state, run_id, [Wave("a", sites("a", 4)), Wave("b", sites("b", 2))], Policy(batch="2"), field)
    assert field.calls == [["a-01", "a-02"], ["a-03", "a-04"], ["b-01", "b-02"]]
    assert report.exit_code == EXIT_SUCCESS
    assert {s: r.wave for s, r in state.results(run_id).items()} == {
        **dict.fromkeys(sites("a", 4), "a"),
        **dict.fromkeys(sites("b", 2), "b"),
    }


def test_unreachable_sites_are_retried_with_backoff_and_kept_apart(state: State) -> None:
    field = Field(failing=frozenset({"a-02"}), dark={"a-03": 1, "a-04": 99})
    slept: list[float] = []
    run_id = state.begin_run("rollout")
    report = run(state, run_id, [Wave("a", sites("a", 5))], Policy(retries=3, backoff=10), field, sleep=slept.append)
    wave = report.waves[0]
    assert wave.status == "done"
    assert wave.with_status("unreachable") == ["a-04"]  # switched off: still dark after its retries
    assert wave.with_status("failed") == ["a-02"]  # failed once, never retried
    assert wave.results["a-03"].status == "changed"  # woke up on the first retry
    assert field.calls[1:] == [["a-03", "a-04"], ["a-04"], ["a-04"]]
    assert slept == [10, 20, 40]
    assert state.results(run_id)["a-04"].attempt == 4
    assert report.exit_code == EXIT_PARTIAL
    assert sorted(state.results(run_id)) == sites("a", 5)  # no site missing from the record


def test_unreachable_sites_never_count_toward_the_threshold(state: State) -> None:
    field = Field(dark=dict.fromkeys(sites("a", 3), 99))
    report = run(state, state.begin_run("rollout"), [Wave("a", sites("a", 4))], Policy(max_fail_percent=10, retries=0), field)
    assert report.waves[0].status == "done"


def test_a_wave_stops_past_the_threshold_and_says_why(state: State) -> None:
    field = Field(failing=frozenset({"a-01", "a-02"}))
    run_id = state.begin_run("rollout")
    report = run(
        state, run_id, [Wave("a", sites("a", 6)), Wave("b", sites("b", 2))], Policy(batch="2", max_fail_percent=30), field
    )
    first, second = report.waves
    assert first.status == "stopped" and "2 of 6 site(s) failed, over the 30% threshold: a-01, a-02" in first.reason
    assert first.not_reached == ["a-03", "a-04", "a-05", "a-06"]
    assert second.status == "not started" and field.calls == [["a-01", "a-02"]]
    assert report.exit_code == EXIT_STOPPED


def test_a_site_the_converge_says_nothing_about_is_recorded_failed(state: State) -> None:
    run_id = state.begin_run("rollout")
    report = run(state, run_id, [Wave("a", ["x", "y"])], Policy(), lambda batch: {"x": Outcome("ok")})
    assert report.waves[0].results["y"].status == "failed"
    assert "no result" in (state.results(run_id)["y"].message or "")


def test_a_resumed_run_converges_only_what_has_not_succeeded(state: State) -> None:
    run_id = state.begin_run("rollout")
    # the earlier process got through wave a's first batch, then was killed
    state.record([SiteRecord(run_id, "a-01", "changed", wave="a"), SiteRecord(run_id, "a-02", "failed", wave="a")])
    field = Field()
    report = run(state, run_id, [Wave("a", sites("a", 3)), Wave("b", sites("b", 1))], Policy(), field)
    assert field.calls == [["a-02", "a-03"], ["b-01"]]
    assert report.exit_code == EXIT_SUCCESS
    assert report.waves[0].results["a-01"].status == "changed"
    assert state.pending(run_id, sites("a", 3) + sites("b", 1)) == []


def test_sites_whose_last_converge_did_not_finish_get_their_handlers_replayed(state: State) -> None:
    """Failed or unreachable last time (in any run), or left unfinished by the run being resumed."""
    older = state.begin_run("rollout")
    state.record(
        [
            SiteRecord(older, "failed-before", "failed", wave="a"),
            SiteRecord(older, "dark-before", "unreachable", wave="a"),
            SiteRecord(older, "fine", "changed", wave="a"),
            SiteRecord(older, "mended", "failed", wave="a"),
        ]
    )
    run_id = state.begin_run("rollout")
    state.record([SiteRecord(run_id, "mended", "ok", wave="a"), SiteRecord(run_id, "fine", "ok", wave="a")])
    everyone = ["failed-before", "dark-before", "fine", "mended", "killed-mid-run"]
    assert replay_sites(state, run_id, everyone, resumed=False) == ["failed-before", "dark-before"]
    # resumed: a site with no result in the run may have been killed while its handlers ran
    assert replay_sites(state, run_id, everyone, resumed=True) == ["failed-before", "dark-before", "killed-mid-run"]


def test_a_site_whose_converge_began_and_never_ended_is_replayed_in_any_later_run(state: State) -> None:
    """The controller killed mid-converge, the run abandoned: the site's earlier success does not hide it."""
    older = state.begin_run("rollout")
    state.record([SiteRecord(older, "cut-off", "changed", wave="a"), SiteRecord(older, "fine", "ok", wave="a")])
    abandoned = state.begin_run("rollout")
    state.started(abandoned, ["cut-off", "fine"])
    state.record([SiteRecord(abandoned, "fine", "ok", wave="a")])  # cut-off: killed before its result came
    fresh = state.begin_run("rollout")
    assert state.unfinished(["cut-off", "fine", "never-seen"]) == ["cut-off"]
    assert replay_sites(state, fresh, ["cut-off", "fine"], resumed=False) == ["cut-off"]
    state.started(fresh, ["cut-off"])
    state.record([SiteRecord(fresh, "cut-off", "changed", wave="a")])
    assert replay_sites(state, state.begin_run("rollout"), ["cut-off", "fine"], resumed=False) == []


def test_the_example_province_rolls_out_one_wave_per_zone() -> None:
    from provisioner import targets

    root = Path(__file__).resolve().parent.parent
    everything = targets.waves(targets.resolve([root / "inventories/bac-ninh"], None, None))
    assert len(everything) == 12 and sum(len(w.sites) for w in everything) == 25
    assert {w.name: len(w.sites) for w in everything}["Khu vực Việt Yên"] == 4
    one = targets.waves(targets.resolve([root / "inventories/bac-ninh"], None, "bac_ninh__hiep_hoa"))
    hiep_hoa = ["hiep-hoa-07840-p01", "hoang-van-07822-p01", "xuan-cam-07870-p01"]
    assert [(w.name, w.sites) for w in one] == [("Khu vực Hiệp Hòa", hiep_hoa)]
