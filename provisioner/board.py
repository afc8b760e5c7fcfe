"""The live view of a rollout: every district's progress, and what each site being converged is doing.

It is fed by the rollout (batches started, results) and by the runner's
events (a task started, a site's result for it), and rendered by rich's
``Live``. Only the sites being converged are listed one by one, so a wave of
sixty sites still fits a technician's terminal; the final tables per district
are printed by the CLI once the rollout ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from provisioner.rollout import Outcome, Wave
from provisioner.runner import Event

#: How each state of a site is coloured.
STYLES = {
    "waiting": "dim",
    "converging": "cyan",
    "retrying": "cyan",
    "ok": "green",
    "changed": "yellow",
    "failed": "red",
    "unreachable": "magenta",
}
FINAL = ("ok", "changed", "failed", "unreachable")


@dataclass
class _Site:
    wave: str
    state: str = "waiting"
    attempt: int = 0
    tasks: int = 0
    changed: int = 0
    task: str = ""
    started: float = 0.0


class Board:
    """What a rollout is doing now; render it with ``rich.live.Live(board)``."""

    def __init__(self, run_id: str, waves: Sequence[Wave], *, shown: int = 12) -> None:
        self.run_id = run_id
        self.waves = [w.name for w in waves]
        self.sites = {s: _Site(w.name) for w in waves for s in w.sites}
        self.shown = shown
        self._lock = threading.Lock()
        self._active: list[str] = []

    def done_before(self, outcomes: dict[str, Outcome]) -> None:
        """Sites a resumed run had already converged."""
        with self._lock:
            for name, got in outcomes.items():
                if name in self.sites:
                    self.sites[name].state = got.status

    def batch_started(self, names: Sequence[str]) -> None:
        with self._lock:
            self._active = list(names)
            for name in names:
                site = self.sites[name]
                site.attempt += 1
                site.state = "retrying" if site.attempt > 1 else "converging"
                site.tasks = site.changed = 0
                site.task, site.started = "", time.monotonic()

    def event(self, ev: Event) -> None:
        """A runner event: a site started a task, or finished one."""
        with self._lock:
            site = self.sites.get(ev.host or "")
            if site is None:
                return
            if ev.kind == "start":
                site.task = ev.task or ""
                return
            site.tasks += 1
            if ev.kind == "changed":
                site.changed += 1

    def batch_done(self, outcomes: dict[str, Outcome]) -> None:
        with self._lock:
            for name, got in outcomes.items():
                if name in self.sites:
                    self.sites[name].state = got.status
            self._active = []

    def counts(self, wave: str) -> dict[str, int]:
        found = dict.fromkeys(("sites", "waiting", "busy", *FINAL), 0)
        for site in self.sites.values():
            if site.wave == wave:
                found["sites"] += 1
                found["busy" if site.state in ("converging", "retrying") else site.state] += 1
        return found

    def __rich__(self) -> RenderableType:
        with self._lock:
            return Group(self._districts(), self._working())

    def _districts(self) -> Table:
        table = Table(
            "district", "sites", "busy", "ok", "changed", "failed", "unreachable", "waiting", title=f"Rollout {self.run_id}"
        )
        for wave in self.waves:
            c = self.counts(wave)
            table.add_row(
                wave,
                str(c["sites"]),
                _n(c["busy"], "cyan"),
                _n(c["ok"], "green"),
                _n(c["changed"], "yellow"),
                _n(c["failed"], "red"),
                _n(c["unreachable"], "magenta"),
                _n(c["waiting"], "dim"),
            )
        return table

    def _working(self) -> Table:
        table = Table("site", "state", "tasks", "changed", "time", "now", box=None, pad_edge=False)
        busy = [n for n in self._active if self.sites[n].state in ("converging", "retrying")]
        now = time.monotonic()
        for name in busy[: self.shown]:
            site = self.sites[name]
            state = f"{site.state} ({site.attempt})" if site.attempt > 1 else site.state
            table.add_row(
                name,
                Text(state, style=STYLES[site.state]),
                str(site.tasks),
                str(site.changed),
                f"{now - site.started:.0f} s",
                site.task[:60],
            )
        if len(busy) > self.shown:
            table.add_row(f"… and {len(busy) - self.shown} more", "", "", "", "", "")
        return table


def _n(count: int, style: str) -> Text:
    return Text(str(count) if count else "", style=style)
