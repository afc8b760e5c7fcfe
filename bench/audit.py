"""Outside audit: Lynis on a provisioned lab site and on a bare one, and ssh-audit on the provisioned site's sshd.

Two Debian 12 lab sites start side by side; one is converged with the whole
``site.yml`` (lock-down included), the other is left as debootstrap made it.
Lynis (Debian's package, installed on each through the lab's apt cache) audits
both, and the hardening indexes are printed with the points each lost most.
ssh-audit (Debian's package, on this machine) then talks to the provisioned
site's sshd on its loopback port and must report no failure.

Target: a hardening index >= 85 on the provisioned site; no ssh-audit failure.
Run: ``python bench/audit.py`` (``make bench``). Nothing leaves the lab: the sites
fetch Lynis from the lab's apt cache, and ssh-audit talks to 127.0.0.1.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter

import yaml

from provisioner import proc
from provisioner.lab import podman, sites
from provisioner.runner import run_playbook

LAB = "audit"
BARE, LOCKED = "audit-bare", "audit-site"
TARGET = 85


def lynis(container: str, mirror: str | None) -> tuple[int, Counter[str]]:
    """Install Lynis (from the lab's apt cache) and run it; return the index and the points lost per test.

    A provisioned site already takes apt from the lab's cache; a bare one is pointed at it first.
    """
    if mirror:
        sources = f"Types: deb\nURIs: {mirror}\nSuites: bookworm\nComponents: main\n"
        podman.exec_(
            container,
            "sh",
            "-c",
            "rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* && cat > /etc/apt/sources.list.d/lab.sources",
            input=sources,
        )
    podman.exec_(
        container,
        "sh",
        "-c",
        "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis >/dev/null",
        timeout=600,
    )
    podman.exec_(container, "sh", "-c", "lynis audit system --quick --no-colors > /var/log/lynis-run.txt 2>&1", timeout=900)
    report = podman.exec_(container, "cat", "/var/log/lynis-report.dat").stdout
    index = int(re.search(r"^hardening_index=(\d+)$", report, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return index, lost_points(podman.exec_(container, "cat", "/var/log/lynis.log", timeout=60).stdout)


def lost_points(log: str) -> Counter[str]:
    """Hardening points each Lynis test did not award, from its log."""
    lost: Counter[str] = Counter()
    test = "?"
    for line in log.splitlines():
        if found := re.search(r"Performing test ID (\S+) \((.*)\)", line):
            test = f"{found.group(1)} {found.group(2)}"
        elif found := re.search(r"partial number of hardening points \((\d+) of (\d+)\)", line):
            lost[test] += int(found.group(2)) - int(found.group(1))
    return lost


def ssh_audit(port: int) -> tuple[int, list[str]]:
    """ssh-audit against the site's sshd on loopback: its exit code and its failure lines."""
    exe = proc.require("ssh-audit", package="ssh-audit")
    done = subprocess.run([exe, "--no-colors", "-p", str(port), sites.ADDRESS], capture_output=True, text=True, check=False)
    return done.returncode, [ln.strip() for ln in done.stdout.splitlines() if "(fail)" in ln]


def main() -> None:
    sites.down(LAB)
    started = time.perf_counter()
    lab = sites.up(2, suite="bookworm", lab_name=LAB, names=[BARE, LOCKED], progress=print)
    try:
        print(f"lab up: {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        result = run_playbook("site.yml", [lab.inventory], limit=LOCKED)
        elapsed = time.perf_counter() - started
        print(f"converge of {LOCKED} (site.yml, lock-down included): {elapsed:.0f} s, succeeded={result.succeeded}")
        if not result.succeeded:
            sys.exit(f"the converge failed: {result}")
        group = yaml.safe_load(lab.inventory.read_text())["all"]["children"][LAB]["vars"]
        mirror = str(group["base_apt_mirror"])
        scores = {}
        for name in (BARE, LOCKED):
            started = time.perf_counter()
            index, lost = lynis(sites.container_name(LAB, name), mirror if name == BARE else None)
            scores[name] = index
            print(f"\nLynis on {name}: hardening index {index} ({time.perf_counter() - started:.0f} s); points lost most:")
            for test, points in lost.most_common(12):
                print(f"  -{points:<3} {test}")
        port = next(s.port for s in lab.sites if s.name == LOCKED)
        code, failures = ssh_audit(port)
    finally:
        sites.down(LAB)
    print(f"\nLynis hardening index: bare Debian 12 lab site {scores[BARE]}, provisioned site {scores[LOCKED]}")
    print(f"target >= {TARGET} on the provisioned site: {'met' if scores[LOCKED] >= TARGET else 'MISSED'}")
    print(f"ssh-audit on the provisioned site's sshd: exit {code}, {len(failures)} failure(s)")
    for line in failures:
        print(f"  {line}")
    if failures or scores[LOCKED] < TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
