"""Running external programs: always an argv, never a shell string."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from provisioner.errors import CommandFailedError, ToolMissingError


def require(program: str, *, package: str | None = None) -> str:
    """The path of ``program``, or ToolMissingError saying which package has it."""
    found = shutil.which(program)
    if not found:
        pkg = package or program
        raise ToolMissingError(
            f"{program} is not installed",
            hint=f"install it: apt-get install -y {pkg}  (or run: make setup)",
        )
    return found


def run(
    argv: Sequence[str],
    *,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; raise CommandFailedError with its stderr when ``check`` and it fails."""
    full_env = {**os.environ, **env} if env else None
    data = input.decode() if isinstance(input, bytes) else input
    try:
        done = subprocess.run(
            list(argv),
            input=data,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolMissingError(f"{argv[0]} is not installed") from exc
    if check and done.returncode != 0:
        raise CommandFailedError(list(argv), done.returncode, done.stderr or done.stdout)
    return done
