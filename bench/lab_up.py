"""Benchmark: `lab up --sites 10` with the image cached. Target: <= 30 s, each site with its own host keys."""

from __future__ import annotations

import time

from provisioner.lab import image, sites

LAB = "bench"
COUNT = 10
TARGET_S = 30.0


def main() -> None:
    image.ensure_base("bookworm", print)
    sites.ensure_services(print)
    sites.down(LAB)
    started = time.perf_counter()
    lab = sites.up(COUNT, suite="bookworm", lab_name=LAB)
    elapsed = time.perf_counter() - started
    try:
        keys = [
            {ln.split()[2] for ln in lab.known_hosts.read_text().splitlines() if ln.startswith(f"[127.0.0.1]:{s.port} ")}
            for s in lab.sites
        ]
        distinct = len({frozenset(k) for k in keys if k})
    finally:
        sites.down(LAB)
    verdict = "met" if elapsed <= TARGET_S and distinct == COUNT else "MISSED"
    print(f"lab up --sites {COUNT} (image cached): {elapsed:.1f} s, target <= {TARGET_S:.0f} s: {verdict}")
    print(f"sites with their own host keys: {distinct}/{COUNT}, each reached over SSH with host key checking on")


if __name__ == "__main__":
    main()
