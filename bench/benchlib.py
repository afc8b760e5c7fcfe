"""What the lab benchmarks share: the environment they run the CLI in, and a timer around a command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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
