"""Which inventory sources and which sites a command works on: a province's sites, or their lab stand-ins.

With ``--lab``, the lab's inventory is layered over the province's: it gives
each lab site its loopback address, port and key, and the sites worked on are
only those the lab runs, named one by one, so no command ever reaches for a
real site's address from a lab run.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from provisioner import paths, untrusted
from provisioner.errors import ConfigError
from provisioner.inventory import expand_sources
from provisioner.lab.sites import inventory_path
from provisioner.rollout import Wave


@dataclass(frozen=True)
class Targets:
    sources: list[Path]
    limit: str | None
    hosts: list[str] | None = None  # named one by one (lab runs)


def ansible_env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(paths.project_root() / "ansible.cfg")}


def inventory_hosts(sources: list[Path], limit: str | None = None) -> dict[str, dict[str, object]]:
    """Hosts and their variables as Ansible itself reads ``sources`` (``ansible-inventory --list``)."""
    argv = ["ansible-inventory", "--list"]
    for src in sources:
        argv += ["-i", str(src)]
    if limit:
        argv += ["--limit", limit]
    done = subprocess.run(argv, capture_output=True, text=True, env=ansible_env(), check=False)
    if done.returncode != 0:
        raise ConfigError(
            f"Ansible cannot read the inventory {' '.join(map(str, sources))}: {done.stderr.strip()[-800:]}",
            hint="build it again with 'provisioner inventory build'",
        )
    data = untrusted.loads(done.stdout)  # registry values come back as Unsafe: never templated
    hostvars: dict[str, dict[str, object]] = data.get("_meta", {}).get("hostvars", {})
    return hostvars


def resolve(inventories: list[Path] | None, lab: str | None, limit: str | None) -> Targets:
    """The sources and sites for ``-i ... [--lab NAME] [--limit ...]``; no ``-i`` means the lab's own sites."""
    if not inventories:
        return Targets([inventory_path(lab or "lab")], limit)
    missing = [p for p in inventories if not p.exists()]
    if missing:
        raise ConfigError(f"inventory {missing[0]} does not exist", hint="build it with 'provisioner inventory build REGISTRY'")
    sources = expand_sources(inventories)
    if lab is None:
        return Targets(sources, limit)
    overlay = inventory_path(lab)
    if not overlay.is_file():
        raise ConfigError(f"lab '{lab}' has no sites", hint=f"start them: provisioner lab up --lab {lab} --from {inventories[0]}")
    sources.append(overlay)
    pattern = f"{limit},&{lab}" if limit else lab
    hosts = sorted(inventory_hosts(sources, pattern))
    if not hosts:
        raise ConfigError(
            f"no site of lab '{lab}' matches {limit!r}" if limit else f"lab '{lab}' runs none of these sites",
            hint=f"start them: provisioner lab up --lab {lab} --from {inventories[0]}",
        )
    return Targets(sources, ",".join(hosts), hosts)


def waves(chosen: Targets) -> list[Wave]:
    """The chosen sites as rollout waves: one per district (``site_district``), in the inventory's order of names."""
    hostvars = inventory_hosts(chosen.sources, chosen.limit)
    by_district: dict[str, list[str]] = {}
    for host in sorted(hostvars):
        district = str(hostvars[host].get("site_district") or hostvars[host].get("site_province") or "all")
        by_district.setdefault(district, []).append(host)
    return [Wave(name, sites) for name, sites in sorted(by_district.items())]
