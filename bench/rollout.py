"""Benchmark: re-converging 20 lab sites with stock ansible-playbook and with `provisioner rollout`; verify of 20 sites.

In one run, on one fleet (an invented province of 20 sites in two districts,
stand-ins on Debian 13, see tests/fleet.py):

1. `provisioner rollout` converges the fleet for real (timed, for the record);
2. stock `ansible-playbook playbooks/site.yml` re-converges it: forks 5, no
   pipelining, the linear strategy, Ansible's default SSH arguments, no Mitogen;
3. `provisioner rollout` re-converges it as shipped (waves by district,
   Mitogen, pipelining, forks 20);
4. `provisioner verify` checks the 20 sites (the checks safe during a
   meeting, what a provincial rollout runs), then `verify --full` (also the
   checks that interrupt the room: kill the client, blank the screen...).

Both re-converges must change nothing. Targets: rollout >= 5x faster than
stock; verify <= 60 s (the --full figure is printed too).

    python bench/rollout.py [--sites 20] [--keep]
    python bench/rollout.py --on WORK   # again, on the fleet a --keep run left (its work folder)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import CLI, environment, start_fleet, timed  # noqa: E402

from provisioner import targets  # noqa: E402
from provisioner.lab import sites  # noqa: E402
from provisioner.state import State  # noqa: E402

LAB = "bench-fleet"
TARGET_RATIO = 5.0
TARGET_VERIFY_S = 60.0
#: Stock Ansible as it ships: what ansible.cfg would say with none of the project's settings.
STOCK = {
    "ANSIBLE_FORKS": "5",
    "ANSIBLE_PIPELINING": "False",
    "ANSIBLE_STRATEGY": "linear",
    "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=60s",
    "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.default",
    "ANSIBLE_HOST_KEY_CHECKING": "True",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="leave the fleet running afterwards")
    parser.add_argument("--on", type=Path, metavar="WORK", help="the work folder of a kept fleet: time it again, as it is")
    args = parser.parse_args()

    if args.on:
        work, env, args.keep = args.on, environment(args.on), True
        province = next((args.on / "inventories").iterdir())
    else:
        work, env, fleet = start_fleet("bench-rollout", LAB, args.sites)
        province = fleet.province
    cli = CLI
    try:
        chosen = targets.resolve([province], LAB, None)
        if not args.on:
            first, done = timed([*cli, "rollout", "-i", str(province), "--lab", LAB], env, work / "first.log")
            print(f"first converge (provisioner rollout, fresh sites): {first:.0f} s, exit {done.returncode}")
            if done.returncode != 0:
                sys.exit(f"the first converge failed: see {work / 'first.log'}")

        inv = [a for src in chosen.sources for a in ("-i", str(src))]
        stock_argv = ["ansible-playbook", *inv, "--limit", chosen.limit or LAB, "playbooks/site.yml"]
        stock_env = {**env, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), **STOCK}
        stock, done = timed(stock_argv, stock_env, work / "stock.log")
        changed = sum(int(n) for n in re.findall(r"changed=(\d+)", done.stdout))
        print(
            f"stock ansible-playbook (forks 5, no pipelining, linear): {stock:.1f} s, exit {done.returncode}, changed {changed}"
        )

        ours, done = timed([*cli, "rollout", "-i", str(province), "--lab", LAB], env, work / "rollout.log")
        with State(work / "state" / "provisioner.sqlite") as state:
            ours_changed = sum(r.changed for r in state.results(state.runs()[0].id).values())
        print(
            f"provisioner rollout (waves, Mitogen, pipelining, forks 20): {ours:.1f} s, "
            f"exit {done.returncode}, changed {ours_changed}"
        )

        checked = 0.0
        for label, extra in (("", []), (" --full", ["--full"])):
            took, done = timed(
                [*cli, "verify", "-i", str(province), "--lab", LAB, *extra], env, work / f"verify{label.strip()}.log"
            )
            verdict = next((ln for ln in done.stdout.splitlines() if ln.startswith("verify ")), done.stdout[-300:])
            sites_n = len(chosen.hosts or [])
            print(f"provisioner verify{label} of {sites_n} sites: {took:.1f} s, exit {done.returncode}: {verdict}")
            checked = checked or took

        ratio = stock / ours
        print(
            f"rollout is {ratio:.1f}x faster than stock (target >= {TARGET_RATIO:.0f}x): "
            + ("met" if ratio >= TARGET_RATIO else "MISSED")
        )
        print(
            f"verify {checked:.1f} s (target <= {TARGET_VERIFY_S:.0f} s): " + ("met" if checked <= TARGET_VERIFY_S else "MISSED")
        )
    finally:
        if not args.keep:
            sites.down(LAB)


if __name__ == "__main__":
    main()
