"""Running the packaged site checks (testinfra) over SSH and reading their outcome per site."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioner import paths
from provisioner.errors import VerifyError
from provisioner.state import CheckRecord


@dataclass
class SiteChecks:
    site: str
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed_checks(self) -> list[str]:
        """The checks that failed, each once (a check fails once per parameter it runs with)."""
        return sorted(set(self.failed))


@dataclass(frozen=True)
class VerifyResult:
    sites: dict[str, SiteChecks]
    junit: Path
    returncode: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and all(s.ok for s in self.sites.values())


#: The checks left out unless asked for: each interrupts the room for a moment (see the checks' pytest.ini).
DISRUPTIVE = "disruptive"


def pytest_argv(
    junit: Path, limit: str | None = None, workers: int = 4, hosts: list[str] | None = None, *, full: bool = False
) -> list[str]:
    """The exact command ``verify`` runs (also shown by ``verify --print``); the inventory comes from :func:`env`.

    Without ``full``, the disruptive checks are left out, so a verify is safe while a meeting is on.
    """
    spec = ",".join(f"ansible://{h}" for h in hosts) if hosts else f"ansible://{limit or 'all'}"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        str(paths.checks_dir()),
        "-c",
        str(paths.checks_dir() / "pytest.ini"),
        f"--hosts={spec}",
        f"--junitxml={junit}",
        "-q",
        "--no-header",
        "-rfE",
    ]
    if not full:
        argv += ["-m", f"not {DISRUPTIVE}"]
    if workers > 1:
        argv += ["-n", str(workers)]
    return argv


def env(sources: Sequence[Path]) -> dict[str, str]:
    """The environment the checks run in: the project's ansible.cfg, and the inventory sources in order."""
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(paths.project_root() / "ansible.cfg"),
        "ANSIBLE_INVENTORY": ",".join(str(Path(s).resolve()) for s in sources),
    }


def run_checks(
    sources: Sequence[Path],
    *,
    limit: str | None = None,
    hosts: list[str] | None = None,
    workers: int = 4,
    junit: Path | None = None,
    expected: Sequence[str] = (),
    full: bool = False,
) -> VerifyResult:
    """Run every site check against the sites of ``sources``, ``workers`` checks at a time.

    Each site is reached over one SSH connection, shared by all the checks
    (OpenSSH multiplexing on the control path Ansible uses). A site in
    ``expected`` that no check reached is reported as failed, never left out.
    """
    for src in sources:
        if not Path(src).exists():
            raise VerifyError(f"inventory {src} does not exist")
    junit = junit or paths.state_dir() / "verify" / "junit.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    # testinfra shares one SSH connection per site only when Ansible's control path folder exists
    Path("~/.ansible/cp").expanduser().mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    done = subprocess.run(
        pytest_argv(junit, limit, workers, hosts, full=full),
        cwd=paths.project_root(),
        env=env(sources),
        capture_output=True,
        text=True,
        check=False,
    )
    if not junit.is_file():
        raise VerifyError(
            f"the site checks did not run (pytest exit {done.returncode}):\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    found = parse_junit(junit)
    for site in expected:
        if site not in found:
            found[site] = SiteChecks(site, failed=["no check ran on this site"])
    return VerifyResult(sites=dict(sorted(found.items())), junit=junit, returncode=done.returncode)


def records(run_id: str, result: VerifyResult) -> list[CheckRecord]:
    """The sites' check results as the state database keeps them."""
    return [CheckRecord(run_id, s.site, s.passed, tuple(s.failed_checks), s.skipped) for s in result.sites.values()]


def summary(result: VerifyResult, run_id: str) -> str:
    """A plain-text summary: the verdict, then each failing site with its failed checks."""
    bad = [s for s in result.sites.values() if not s.ok]
    lines = [
        f"verify {run_id}: {len(result.sites) - len(bad)} of {len(result.sites)} site(s) pass every check",
        f"JUnit XML: {result.junit}",
    ]
    for s in bad:
        lines.append(f"{s.site}: {len(s.failed_checks)} check(s) failed, {s.passed} passed")
        lines += [f"  - {name}" for name in s.failed_checks]
    return "\n".join(lines) + "\n"


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
