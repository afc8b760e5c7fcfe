"""Running the packaged site checks (testinfra) over SSH and reading their outcome per site."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from provisioner import paths
from provisioner.errors import VerifyError


@dataclass
class SiteChecks:
    site: str
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class VerifyResult:
    sites: dict[str, SiteChecks]
    junit: Path
    returncode: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and all(s.ok for s in self.sites.values())


def pytest_argv(inventory: Path, junit: Path, limit: str | None = None, workers: int = 4) -> list[str]:
    """The exact command ``verify`` runs (also shown by ``verify --print``)."""
    hosts = f"ansible://{limit}" if limit else "ansible://all"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        str(paths.checks_dir()),
        "-c",
        str(paths.checks_dir() / "pytest.ini"),
        f"--hosts={hosts}",
        f"--ansible-inventory={inventory}",
        f"--junitxml={junit}",
        "-q",
        "--no-header",
        "-rfE",
    ]
    if workers > 1:
        argv += ["-n", str(workers)]
    return argv


def run_checks(inventory: Path, *, limit: str | None = None, workers: int = 4, junit: Path | None = None) -> VerifyResult:
    """Run every site check against the inventory's sites, ``workers`` SSH connections at a time."""
    if not inventory.exists():
        raise VerifyError(f"inventory {inventory} does not exist")
    junit = junit or paths.state_dir() / "verify" / "junit.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    env = {**os.environ, "ANSIBLE_CONFIG": str(paths.project_root() / "ansible.cfg")}
    done = subprocess.run(
        pytest_argv(inventory, junit, limit, workers),
        cwd=paths.project_root(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if not junit.is_file():
        raise VerifyError(
            f"the site checks did not run (pytest exit {done.returncode}):\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    return VerifyResult(sites=parse_junit(junit), junit=junit, returncode=done.returncode)


def parse_junit(junit: Path) -> dict[str, SiteChecks]:
    """Per-site counts from pytest's JUnit XML (test ids carry ``[ansible://SITE...]``)."""
    sites: dict[str, SiteChecks] = defaultdict(lambda: SiteChecks(site=""))
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        prop = case.find("properties/property[@name='site']")
        site = prop.get("value", "?") if prop is not None else "?"
        entry = sites[site]
        entry.site = site
        if case.find("failure") is not None or case.find("error") is not None:
            entry.failed.append(name.split("[", 1)[0])
        elif case.find("skipped") is not None:
            entry.skipped += 1
        else:
            entry.passed += 1
    return dict(sorted(sites.items()))
