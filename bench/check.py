"""Benchmark: `provisioner check` (the readiness check) on 20 lab sites.

In one run, on one fleet (an invented province of 20 sites in two districts,
stand-ins on Debian 13, see tests/fleet.py), each site given its registry's
devices as a lab fixture tree:

1. `provisioner check` of the 20 sites as shipped (SSH with pipelining and
   persistent connections), run twice: the first opens the connections, the
   second is what a province sees when it checks again within two minutes;
2. the same through Mitogen (`--mitogen`);
3. `provisioner check` with 3 sites switched off (their PCs dark).

With --converge the sites are first provisioned (site.yml), so the checks find
ready rooms; without it they find bare PCs (client not running), which costs
the check the same work. Target: <= 30 s for 20 sites.

    python bench/check.py [--sites 20] [--converge] [--keep]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import CLI, start_fleet, timed  # noqa: E402

from provisioner.lab import podman, sites  # noqa: E402

LAB = "bench-check"
TARGET_S = 30.0


def summary(done: subprocess.CompletedProcess[str]) -> str:
    return next((ln.strip() for ln in done.stdout.splitlines() if ln.startswith("Số điểm cầu")), done.stdout[-200:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--converge", action="store_true", help="provision the sites first (about 10 minutes)")
    parser.add_argument("--keep", action="store_true", help="leave the fleet running afterwards")
    args = parser.parse_args()

    work, env, fleet = start_fleet("bench-check", LAB, args.sites)
    cli = CLI
    check = [*cli, "check", "-i", str(fleet.province), "--lab", LAB, "--out", str(work)]
    try:
        if args.converge:
            took, done = timed([*cli, "rollout", "-i", str(fleet.province), "--lab", LAB], env, work / "converge.log")
            print(f"converge (provisioner rollout): {took:.0f} s, exit {done.returncode}")
        figures = {}
        for name, extra in (("first", []), ("again", []), ("Mitogen", ["--mitogen"])):
            took, done = timed([*check, *extra], env, work / f"check-{name.replace(' ', '-')}.log")
            figures[name] = took
            print(f"provisioner check of {args.sites} sites ({name}): {took:.1f} s, exit {done.returncode}: {summary(done)}")
        for name in fleet.sites[:3]:
            podman.podman("stop", "-t", "2", sites.container_name(LAB, name))
        took, done = timed(check, env, work / "check-dark.log")
        figures["3 dark"] = took
        print(f"provisioner check with 3 sites switched off: {took:.1f} s, exit {done.returncode}: {summary(done)}")
        worst = max(v for k, v in figures.items() if k != "Mitogen")
        verdict = "met" if worst <= TARGET_S else "MISSED"
        print(f"slowest check as shipped {worst:.1f} s for {args.sites} sites (target <= {TARGET_S:.0f} s): {verdict}")
    finally:
        if not args.keep:
            sites.down(LAB)


if __name__ == "__main__":
    main()
