"""Outside audit: Lynis on a provisioned lab site and on a bare one, and ssh-audit on the provisioned site's sshd.

Two kinds of lab site, each as a pair (one converged with the whole
``site.yml``, lock-down included; one left as debootstrap made it):

- Debian 12 **VMs** (QEMU, KVM where the machine has it): a kernel of their
  own, so the sysctls, auditd and module settings the lock-down makes are the
  site's, as on a room PC. The target is judged here.
- Debian 12 **containers**, the lab's usual sites: they share the host's
  kernel, so Lynis reads the host's sysctls there; printed for comparison.

Lynis (Debian's package, installed on each through the lab's apt cache) audits
each site, and the hardening indexes are printed with the points each lost most.
ssh-audit (Debian's package, on this machine) then talks to each provisioned
site's sshd on its loopback port and must report no failure.

Target: a hardening index >= 85 on the provisioned VM; no ssh-audit failure.
Run: ``python bench/audit.py [--on vm|container|both]`` (``make bench``).
Nothing leaves the lab: the sites fetch Lynis from the lab's apt cache, and
ssh-audit talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from provisioner import paths, proc, yamlout
from provisioner.lab import podman, sites, vm
from provisioner.runner import run_playbook

LAB = "audit"
BARE, LOCKED = "audit-bare", "audit-site"
VM_LAB = "audit-vm"
VM_BARE, VM_LOCKED = "audit-vm-bare", "audit-vm-site"
TARGET = 85

Shell = vm.Shell


def in_container(container: str) -> Shell:
    return lambda command, stdin, timeout: podman.exec_(container, "sh", "-c", command, input=stdin, timeout=timeout)


def lynis(run: Shell, mirror: str | None) -> tuple[int, Counter[str]]:
    """Install Lynis (from the lab's apt cache) and run it; return the index and the points lost per test.

    A provisioned site already takes apt from the lab's cache; a bare one is pointed at it first.
    """
    if mirror:
        sources = f"Types: deb\nURIs: {mirror}\nSuites: bookworm\nComponents: main\n"
        run("rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* && cat > /etc/apt/sources.list.d/lab.sources", sources, 60)
    run("apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis >/dev/null", None, 600)
    run("lynis audit system --quick --no-colors > /var/log/lynis-run.txt 2>&1", None, 3600)  # an emulated VM: slow
    report = run("cat /var/log/lynis-report.dat", None, 60).stdout
    index = int(re.search(r"^hardening_index=(\d+)$", report, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return index, lost_points(run("cat /var/log/lynis.log", None, 60).stdout)


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


def converge(inventory: Path, site: str) -> None:
    started = time.perf_counter()
    result = run_playbook("site.yml", [inventory], limit=site)
    print(
        f"converge of {site} (site.yml, lock-down included): {time.perf_counter() - started:.0f} s, succeeded={result.succeeded}"
    )
    if not result.succeeded:
        sys.exit(f"the converge of {site} failed: {result.sites}")


def score(pair: dict[str, Shell], mirror: str, bare: str) -> dict[str, int]:
    scores = {}
    for name, run in pair.items():
        started = time.perf_counter()
        index, lost = lynis(run, mirror if name == bare else None)
        scores[name] = index
        print(f"\nLynis on {name}: hardening index {index} ({time.perf_counter() - started:.0f} s); points lost most:")
        for test, points in lost.most_common(12):
            print(f"  -{points:<3} {test}")
    return scores


def audit_containers() -> tuple[dict[str, int], list[str]]:
    """The container pair: the lab's usual sites (the host's kernel)."""
    sites.down(LAB)
    started = time.perf_counter()
    lab = sites.up(2, suite="bookworm", lab_name=LAB, names=[BARE, LOCKED], progress=print)
    try:
        print(f"lab up: {time.perf_counter() - started:.0f} s")
        converge(lab.inventory, LOCKED)
        group = yamlout.load(lab.inventory.read_text())["all"]["children"][LAB]["vars"]
        scores = score(
            {n: in_container(sites.container_name(LAB, n)) for n in (BARE, LOCKED)}, str(group["base_apt_mirror"]), BARE
        )
        _, failures = ssh_audit(next(s.port for s in lab.sites if s.name == LOCKED))
    finally:
        sites.down(LAB)
    return scores, failures


def audit_vms() -> tuple[dict[str, int], list[str]]:
    """The VM pair: kernels of their own, as room PCs have."""
    folder = paths.lab_dir() / VM_LAB
    key = paths.lab_dir() / "id_ed25519"
    known_hosts, inventory = folder / "known_hosts", folder / "hosts.yml"
    started = time.perf_counter()
    services = sites.ensure_services(print)
    disk = vm.ensure_disk("bookworm", key.with_suffix(".pub").read_text(), print)
    ports = sites.free_ports(2)
    machines = [vm.start(name, port, disk, folder) for name, port in zip((VM_BARE, VM_LOCKED), ports, strict=True)]
    try:
        vm.trust(machines, known_hosts)
        vm.write_inventory(inventory, VM_LAB, machines, services=services, key=key, known_hosts=known_hosts)
        shells = {m.name: vm.over_ssh(m.port, key, known_hosts) for m in machines}
        for run in shells.values():
            vm.wait_for_ssh(run)
        print(f"VMs up: {time.perf_counter() - started:.0f} s")
        group = yamlout.load(inventory.read_text())["all"]["children"][VM_LAB]["vars"]
        mirror = str(group["base_apt_mirror"])
        # the bare VM is audited while the other converges (emulated CPUs are slow)
        with ThreadPoolExecutor(max_workers=1) as pool:
            bare = pool.submit(score, {VM_BARE: shells[VM_BARE]}, mirror, VM_BARE)
            converge(inventory, VM_LOCKED)
            scores = bare.result()
        scores |= score({VM_LOCKED: shells[VM_LOCKED]}, mirror, VM_BARE)
        _, failures = ssh_audit(machines[1].port)
    finally:
        for m in machines:
            vm.stop(m)
    return scores, failures


def main() -> None:
    # a kill stops the VMs too (their `finally`), not only Ctrl-C
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--on", choices=("vm", "container", "both"), default="both", help="which kind of lab site to audit")
    args = parser.parse_args()
    results: dict[str, tuple[dict[str, int], list[str]]] = {}
    if args.on in ("vm", "both"):
        results["vm"] = audit_vms()
    if args.on in ("container", "both"):
        results["container"] = audit_containers()
    print()
    failed = False
    for kind, (scores, failures) in results.items():
        bare, locked = (VM_BARE, VM_LOCKED) if kind == "vm" else (BARE, LOCKED)
        print(f"Lynis hardening index ({kind}s): bare Debian 12 site {scores[bare]}, provisioned site {scores[locked]}")
        print(f"ssh-audit on the provisioned {kind}'s sshd: {len(failures)} failure(s)")
        for line in failures:
            print(f"  {line}")
        failed = failed or bool(failures)
    if "vm" in results:
        index = results["vm"][0][VM_LOCKED]
        print(f"target >= {TARGET} on the provisioned VM (a room PC's stand-in): {'met' if index >= TARGET else 'MISSED'}")
        failed = failed or index < TARGET
    if "container" in results:
        print("(a container shares the host's kernel: its sysctl, mount and auditd points cannot be earned there)")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
