"""The one adapter to ansible-runner: arguments built in one place, the project's own typed results out.

No other module imports ``ansible_runner``.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from provisioner import paths, yamlout
from provisioner.errors import RunError

#: Artifact folders kept; older ones are removed so they cannot fill a disk.
KEEP_ARTIFACTS = 20
#: Mitogen's strategy (one persistent interpreter per site, modules run in it, no temp files); "free":
#: each site goes through the tasks at its own pace, none waits for the slowest at every task. The
#: project's own wrapper of Mitogen's ``mitogen_free`` (see its docstring: no pinning to one CPU).
MITOGEN_STRATEGY = "provisioner_free"
STRATEGY_PLUGINS = Path(__file__).resolve().parent / "plugins" / "strategy"


@dataclass(frozen=True)
class SiteResult:
    """One site's outcome in one Ansible run."""

    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    failed_task: str | None = None
    message: str | None = None

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        return "changed" if self.changed else "ok"


@dataclass(frozen=True)
class RunResult:
    """An Ansible run's outcome: the runner's status and every site's result."""

    status: str
    rc: int
    sites: dict[str, SiteResult]
    artifacts: Path
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # what each site's modules returned as facts

    @property
    def succeeded(self) -> bool:
        return self.rc == 0 and all(s.status in ("ok", "changed") for s in self.sites.values())


@dataclass(frozen=True)
class Event:
    """A progress event: a task started, or a site's result for a task."""

    kind: str  # "task" (no host), "start" (a site starts a task), "ok", "changed", "failed", "unreachable", "skipped"
    host: str | None
    task: str | None


@dataclass
class _Collector:
    progress: Callable[[Event], None] | None
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)

    def __call__(self, event: Mapping[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {}) or {}
        host = data.get("host")
        task = data.get("task")
        if kind == "playbook_on_task_start":
            self._emit(Event("task", None, task))
        elif kind == "runner_on_start":
            self._emit(Event("start", host, task))
        elif kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            res = data.get("res", {}) or {}
            msg = str(res.get("msg") or res.get("stderr") or res.get("reason") or "").strip()
            self.failures.setdefault(str(host), (str(task), msg[:2000]))
            self._emit(Event("failed" if kind == "runner_on_failed" else "unreachable", host, task))
        elif kind == "runner_on_ok":
            res = data.get("res") or {}
            changed = bool(res.get("changed"))
            if res.get("ansible_facts"):
                self.facts.setdefault(str(host), {}).update(res["ansible_facts"])
            self._emit(Event("changed" if changed else "ok", host, task))
        elif kind == "runner_on_skipped":
            self._emit(Event("skipped", host, task))
        elif kind == "playbook_on_stats":
            for key, bucket in (
                ("ok", "ok"),
                ("changed", "changed"),
                ("failures", "failed"),
                ("dark", "unreachable"),
                ("skipped", "skipped"),
            ):
                for h, n in (data.get(key) or {}).items():
                    self.stats.setdefault(h, {})[bucket] = int(n)
        return True

    def _emit(self, event: Event) -> None:
        if self.progress:
            self.progress(event)

    def results(self) -> dict[str, SiteResult]:
        out = {}
        for host in sorted(set(self.stats) | set(self.failures)):
            counts = self.stats.get(host, {})
            task, msg = self.failures.get(host, (None, None))
            out[host] = SiteResult(host=host, failed_task=task, message=msg, **counts)
        return out


def mitogen_env(wanted: bool | None = None) -> dict[str, str]:
    """Ansible settings that make Mitogen its strategy, or nothing when it is turned off or not installed.

    ``wanted`` None means the default: on, unless ``PROVISIONER_MITOGEN=0``.
    """
    if wanted is None:
        wanted = os.environ.get("PROVISIONER_MITOGEN", "1").lower() not in ("0", "no", "false", "off")
    if not wanted:
        return {}
    if importlib.util.find_spec("ansible_mitogen") is None:
        return {}
    return {"ANSIBLE_STRATEGY_PLUGINS": str(STRATEGY_PLUGINS), "ANSIBLE_STRATEGY": MITOGEN_STRATEGY}


def _extravars_file(private: Path, extravars: Mapping[str, Any]) -> Path:
    """Extra variables in a file of their own, every string ``!unsafe``.

    What the controller passes (site names from the state database) is data:
    ansible-runner's own ``extravars`` would reach Ansible as trusted YAML,
    where a string holding ``{{ }}`` is a template.
    """
    fd, name = tempfile.mkstemp(prefix="extravars-", suffix=".yml", dir=private)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(yamlout.dumps(dict(extravars), unsafe=True))
    return Path(name)


def run_playbook(
    playbook: str,
    inventory: Sequence[Path],
    *,
    limit: str | None = None,
    tags: str | None = None,
    check: bool = False,
    diff: bool = False,
    forks: int | None = None,
    extravars: Mapping[str, Any] | None = None,
    ssh_key: str | None = None,
    progress: Callable[[Event], None] | None = None,
    quiet: bool = True,
    mitogen: bool | None = None,
) -> RunResult:
    """Run ``playbooks/<playbook>`` from the project against ``inventory``."""
    root = paths.project_root()
    book = root / "playbooks" / playbook
    if not book.is_file():
        raise RunError(f"no playbook {book}")
    for inv in inventory:
        if not Path(inv).exists():
            raise RunError(
                f"inventory {inv} does not exist",
                hint="run 'provisioner lab up' for the lab, or 'provisioner inventory build' for a province",
            )
    private = paths.state_dir() / "runner"
    private.mkdir(parents=True, exist_ok=True)
    given = _extravars_file(private, extravars) if extravars else None
    cmdline = [*(["--tags", tags] if tags else []), *(["--check"] if check else []), *(["--diff"] if diff else [])]
    cmdline += ["-e", f"@{given}"] if given else []
    collector = _Collector(progress)
    kwargs: dict[str, Any] = {
        "private_data_dir": str(private),
        "project_dir": str(root),
        "playbook": str(book),
        "inventory": [str(Path(i).resolve()) for i in inventory],
        "envvars": {
            "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            # ansible-runner turns host key checking off unless told otherwise: sites' keys are always checked
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            **mitogen_env(mitogen),
        },
        "event_handler": collector,
        "quiet": quiet,
        "rotate_artifacts": KEEP_ARTIFACTS,
        # Secrets reach Ansible through ssh_key/passwords, never through files under artifacts.
        "suppress_env_files": True,
    }
    if cmdline:
        kwargs["cmdline"] = shlex.join(cmdline)
    if limit:
        kwargs["limit"] = limit
    if forks:
        kwargs["forks"] = forks
    if ssh_key:
        kwargs["ssh_key"] = ssh_key
    try:
        result = ansible_runner.run(**kwargs)
    except Exception as exc:  # ansible-runner raises plain exceptions for set-up problems
        raise RunError(f"ansible-runner could not run {playbook}: {exc}") from exc
    finally:
        if given:
            given.unlink(missing_ok=True)
    return RunResult(
        status=str(result.status),
        rc=int(result.rc if result.rc is not None else -1),
        sites=collector.results(),
        artifacts=Path(result.config.artifact_dir),
        facts=collector.facts,
    )
