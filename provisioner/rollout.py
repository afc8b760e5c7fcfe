"""Rollouts that survive the field: waves by district, batches, a failure threshold, unreachable sites retried.

The orchestration only: it is handed a function that converges a list of
sites and returns each one's status (in production, one ansible-runner run
through :mod:`provisioner.runner`), and the state database it records every
result in. Unreachable sites are kept apart from failed ones: they are retried
with backoff at the end of their wave and never count toward the threshold.
A rollout given the id of an interrupted run converges only the sites that
have not yet succeeded in it.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from provisioner.errors import ConfigError
from provisioner.state import FINISHED, Result, SiteRecord, State

#: Exit codes: every site converged; some sites failed or stayed unreachable; a wave was stopped.
EXIT_SUCCESS, EXIT_PARTIAL, EXIT_STOPPED = 0, 4, 5

_BATCH = re.compile(r"^([1-9][0-9]*)(%?)$")


@dataclass(frozen=True)
class Outcome:
    """One site's result from one converge of a batch."""

    status: str  # ok, changed, failed, unreachable
    changed: int = 0
    failed_task: str | None = None
    message: str | None = None

    @classmethod
    def of(cls, result: Result) -> Outcome:
        """A converge's result (the runner's, or one the state database recorded) as a rollout weighs it."""
        return cls(result.status, result.changed, result.failed_task, result.message)


ConvergeBatch = Callable[[list[str]], dict[str, Outcome]]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Wave:
    name: str
    sites: list[str]


@dataclass(frozen=True)
class Policy:
    batch: str = "100%"  # N sites, or N% of the wave, at a time
    max_fail_percent: float = 100.0  # a wave stops when more than this share of its sites failed
    retries: int = 2  # extra attempts for unreachable sites
    backoff: float = 30.0  # seconds before the first retry; doubled each time

    def __post_init__(self) -> None:
        if not _BATCH.match(self.batch) or (self.batch.endswith("%") and int(self.batch[:-1]) > 100):
            raise ConfigError(
                f"--batch {self.batch!r} is not a batch size", hint="give a number of sites (10) or a percentage (25%)"
            )
        if not 0 <= self.max_fail_percent <= 100:
            raise ConfigError(f"--max-fail {self.max_fail_percent} is not a percentage", hint="give 0 to 100")
        if self.retries < 0 or self.backoff < 0:
            raise ConfigError("retries and backoff cannot be negative", hint="give 0 to turn retries off")

    def batches(self, sites: Sequence[str]) -> list[list[str]]:
        """``sites`` cut into batches, in order."""
        number, percent = _BATCH.match(self.batch).groups()  # type: ignore[union-attr]
        size = max(1, math.ceil(len(sites) * int(number) / 100)) if percent else int(number)
        return [list(sites[i : i + size]) for i in range(0, len(sites), size)]


@dataclass
class WaveReport:
    name: str
    sites: list[str]
    results: dict[str, Outcome] = field(default_factory=dict)
    status: str = "not started"  # not started, done, stopped
    reason: str = ""

    def with_status(self, *statuses: str) -> list[str]:
        return [s for s in self.sites if s in self.results and self.results[s].status in statuses]

    @property
    def not_reached(self) -> list[str]:
        """Sites the wave never converged (it stopped first)."""
        return [s for s in self.sites if s not in self.results]


@dataclass
class Report:
    run_id: str
    waves: list[WaveReport]

    @property
    def exit_code(self) -> int:
        if any(w.status != "done" for w in self.waves):
            return EXIT_STOPPED
        if any(w.with_status("failed", "unreachable") for w in self.waves):
            return EXIT_PARTIAL
        return EXIT_SUCCESS


def _quiet(_: str) -> None:
    return None


def run(
    state: State,
    run_id: str,
    waves: Sequence[Wave],
    policy: Policy,
    converge: ConvergeBatch,
    *,
    progress: Progress = _quiet,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Converge ``waves`` in order under ``policy``, recording every result under ``run_id``."""
    report = Report(run_id, [WaveReport(w.name, list(w.sites)) for w in waves])
    earlier = state.results(run_id)
    for wave in report.waves:
        # a resumed run: what already succeeded stays done
        wave.results.update({s: Outcome.of(earlier[s]) for s in wave.sites if s in earlier and earlier[s].status in FINISHED})
        todo = state.pending(run_id, wave.sites)
        progress(f"wave {wave.name}: {len(todo)} of {len(wave.sites)} site(s) to converge")
        for batch in policy.batches(todo):
            _converge(state, run_id, wave, batch, converge, attempt=1)
            failed = wave.with_status("failed")
            if len(failed) * 100 > policy.max_fail_percent * len(wave.sites):
                wave.status = "stopped"
                wave.reason = (
                    f"{len(failed)} of {len(wave.sites)} site(s) failed, over the {policy.max_fail_percent:g}% threshold: "
                    + ", ".join(failed)
                )
                progress(f"wave {wave.name} stopped: {wave.reason}")
                return report
        for attempt in range(2, policy.retries + 2):
            unreachable = wave.with_status("unreachable")
            if not unreachable:
                break
            delay = policy.backoff * 2 ** (attempt - 2)
            progress(f"wave {wave.name}: retrying {len(unreachable)} unreachable site(s) in {delay:g} s (attempt {attempt})")
            sleep(delay)
            _converge(state, run_id, wave, unreachable, converge, attempt=attempt)
        wave.status = "done"
    return report


def replay_sites(state: State, run_id: str, sites: Sequence[str], *, resumed: bool) -> list[str]:
    """The ``sites`` whose handlers a converge must run again, whatever it changes (``site.yml`` replays them).

    A converge that failed, lost its site or was interrupted may have written
    settings whose services were never restarted; the next converge finds the
    settings in place and notifies nothing. So: a site whose latest result is
    failed or unreachable; a site whose latest converge began and gave no
    result (in any run, resumed or abandoned); and in a resumed run, a site it
    has no result for (runs recorded before starts were).
    """
    latest = state.last_results(sites)
    in_run = state.results(run_id)
    unfinished = set(state.unfinished(sites))
    return [
        s
        for s in sites
        if (s in latest and latest[s].status in ("failed", "unreachable")) or s in unfinished or (resumed and s not in in_run)
    ]


def _converge(state: State, run_id: str, wave: WaveReport, sites: list[str], converge: ConvergeBatch, *, attempt: int) -> None:
    found = converge(sites)
    results = {s: found.get(s) or Outcome("failed", message="the converge gave no result for this site") for s in sites}
    state.record(SiteRecord.of(run_id, s, o, wave=wave.name, attempt=attempt) for s, o in results.items())
    wave.results.update(results)
