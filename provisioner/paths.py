"""Where the project's files are: the repository root, the lab's working folder."""

from __future__ import annotations

import os
from pathlib import Path

from provisioner.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent


def _looks_like_root(path: Path) -> bool:
    return (path / "ansible.cfg").is_file() and (path / "roles").is_dir() and (path / "playbooks").is_dir()


def project_root() -> Path:
    """The checkout holding ansible.cfg, roles/ and playbooks/.

    PROVISIONER_HOME wins; then the current folder and its parents; then the
    folder above the installed package (an editable install from a checkout).
    """
    env = os.environ.get("PROVISIONER_HOME")
    if env:
        root = Path(env).resolve()
        if not _looks_like_root(root):
            raise ConfigError(
                f"PROVISIONER_HOME={env} has no ansible.cfg, roles/ and playbooks/",
                hint="point it at a checkout of this project",
            )
        return root
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if _looks_like_root(candidate):
            return candidate
    if _looks_like_root(_PACKAGE_DIR.parent):
        return _PACKAGE_DIR.parent
    raise ConfigError(
        "cannot find the project (ansible.cfg, roles/, playbooks/)",
        hint="run provisioner from the project's checkout or set PROVISIONER_HOME",
    )


def lab_dir() -> Path:
    """The lab's working folder (keys, known_hosts, inventory); never committed."""
    env = os.environ.get("PROVISIONER_LAB_DIR")
    path = Path(env) if env else project_root() / ".lab"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def checks_dir() -> Path:
    """The packaged testinfra site checks."""
    return _PACKAGE_DIR / "checks"


def state_dir() -> Path:
    """Run artifacts, reports and (later) the state database; never committed."""
    env = os.environ.get("PROVISIONER_STATE_DIR")
    path = Path(env) if env else project_root() / ".state"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()
