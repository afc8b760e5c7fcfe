"""``provisioner check``: run ``playbooks/check.yml`` and weigh each site's facts against the registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.errors import SiteAnswerError
from provisioner.health import facts as site_facts
from provisioner.health.evaluate import Limits, SiteCheck, Verdict, dark, evaluate, serial_index
from provisioner.registry import catalog as catalog_mod
from provisioner.runner import Event, RunResult, run_playbook
from provisioner.state import now
from provisioner.targets import Targets, inventory_hosts


@dataclass(frozen=True)
class CheckRun:
    checks: dict[str, SiteCheck]  # by site, every expected site present
    hostvars: dict[str, dict[str, Any]]  # the province's sites (all of them: drift looks across sites)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())


def usb_names() -> dict[str, str]:
    """USB ID → the catalog's model name (to name a device found in another's place)."""
    catalog = catalog_mod.load()
    return {u.id: dev.label for dev in catalog.devices.values() for u in dev.usb}


def weigh(
    expected: list[str],
    result: RunResult,
    hostvars: Mapping[str, Mapping[str, Any]],
    *,
    limits: Limits | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, SiteCheck]:
    """Every expected site's check from one run of check.yml (a site with no result is dark)."""
    at = now()
    index = serial_index(hostvars)
    names = usb_names() if names is None else names
    out = {}
    for site in expected:
        answer = (result.facts.get(site) or {}).get("site_health")
        outcome = result.sites.get(site)
        if answer is not None:
            try:
                facts = site_facts.parse(answer)
            except SiteAnswerError as exc:  # this site's answer only: the others are weighed as usual
                why = f"Kiểm tra lỗi: {exc.message}"
                out[site] = SiteCheck(site, True, {"terminal": Verdict("fail", (why,))}, error=why, at=at)
                continue
            out[site] = evaluate(site, hostvars.get(site, {}), facts, index=index, names=names, limits=limits, at=at)
        elif outcome is not None and outcome.status == "failed":
            why = f"Kiểm tra lỗi: {outcome.message}"
            out[site] = SiteCheck(site, True, {"terminal": Verdict("fail", (why,))}, error=why, at=at)
        else:
            why = (outcome.message if outcome else None) or "không có kết quả"
            out[site] = dark(site, why, at=at)
    return out


def run(
    chosen: Targets,
    *,
    progress: Callable[[Event], None] | None = None,
    limits: Limits | None = None,
    mitogen: bool | None = None,
) -> CheckRun:
    """Check the chosen sites once."""
    hostvars = inventory_hosts(chosen.sources)  # every site: drift looks across them
    # the sites checked: Ansible's own reading of --limit (groups, patterns), asked only when there is one
    expected = chosen.hosts or sorted(inventory_hosts(chosen.sources, chosen.limit) if chosen.limit else hostvars)
    # Always in check mode: whatever the playbook holds, Ansible itself keeps the run from changing a site.
    # Without Mitogen unless asked: for one task a site, starting its interpreter on each site costs more
    # than it saves (bench/check.py: 17.4 s with it, 8.4 s without, for 20 sites).
    result = run_playbook(
        "check.yml",
        chosen.sources,
        limit=chosen.limit,
        check=True,
        forks=max(1, min(50, len(expected))),
        progress=progress,
        mitogen=False if mitogen is None else mitogen,
    )
    return CheckRun(weigh(expected, result, hostvars, limits=limits), hostvars)
