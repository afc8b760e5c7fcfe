"""What the lab benchmarks share: the environment they run the CLI in, and a timer around a command."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.fleet import Fleet

ROOT = Path(__file__).resolve().parent.parent
#: The CLI as the benchmarks run it: this interpreter, this checkout.
CLI = [sys.executable, "-c", "from provisioner.cli import main; main()"]


def environment(work: Path) -> dict[str, str]:
    """A state database of the benchmark's own under ``work``; wide tables; this venv's Ansible first."""
    return {
        **os.environ,
        "PROVISIONER_STATE_DIR": str(work / "state"),
        "COLUMNS": "200",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }


def timed(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``argv`` from the project root; its wall time, its result; its output saved in ``log``."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    elapsed = time.perf_counter() - started
    log.write_text(done.stdout + done.stderr)
    return elapsed, done


def start_fleet(prefix: str, lab: str, count: int) -> tuple[Path, dict[str, str], Fleet]:
    """A work folder, the environment to run the CLI in, and ``count`` stand-ins (Debian 13) of an invented province."""
    from tests import fleet as fleet_mod

    work = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    print(f"starting {count} lab sites (Debian 13) in lab '{lab}'; logs in {work}")
    return work, environment(work), fleet_mod.up(work, lab, count, "trixie")
