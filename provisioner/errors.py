"""The project's one exception hierarchy.

Library code raises these; only the CLI turns them into messages and exit codes.
"""

from __future__ import annotations


class ProvisionerError(Exception):
    """Base of every error this package raises on purpose."""

    #: Exit code the CLI uses for this kind of error.
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  → {self.hint}"
        return self.message


class ConfigError(ProvisionerError):
    """The project's own configuration or the user's options are wrong."""

    exit_code = 2


class LabError(ProvisionerError):
    """The lab of simulated sites could not be built, started or reached."""


class ToolMissingError(LabError):
    """A program the lab needs is not installed."""

    exit_code = 3


class PortTakenError(LabError):
    """A loopback port the lab wants for a site's sshd is in use by something else."""


class ImageBuildError(LabError):
    """The lab's base image could not be built."""


class CommandFailedError(ProvisionerError):
    """An external command (podman, debootstrap, ssh-keygen...) failed."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        shown = " ".join(argv[:6]) + (" ..." if len(argv) > 6 else "")
        tail = stderr.strip().splitlines()[-5:]
        super().__init__(f"command failed (exit {returncode}): {shown}" + ("\n    " + "\n    ".join(tail) if tail else ""))
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


class RunError(ProvisionerError):
    """An Ansible run could not be started or did not finish."""


class VerifyError(ProvisionerError):
    """The site checks could not be run."""


class StateError(ProvisionerError):
    """The state database cannot be used, or holds no such run."""


class SiteAnswerError(ProvisionerError):
    """What a site reported is malformed or hostile (a wrong type, text too long, control characters)."""
