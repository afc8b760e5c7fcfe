"""What a site should be: its inventory variables over the roles' defaults."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from provisioner.paths import project_root


@cache
def role_defaults(role: str) -> dict[str, Any]:
    """A role's literal defaults (templated ones are left out: the inventory must give those)."""
    path = project_root() / "roles" / role / "defaults" / "main.yml"
    data = yaml.safe_load(path.read_text()) or {}
    return {k: v for k, v in data.items() if not (isinstance(v, str) and "{{" in v)}


@dataclass(frozen=True)
class Site:
    """One site under check: its name, how to reach it, and its effective variables."""

    name: str
    vars: dict[str, Any]

    def get(self, key: str) -> Any:
        if key in self.vars:
            return self.vars[key]
        role = key.split("_", 1)[0]
        return role_defaults(role)[key]

    @property
    def address(self) -> str:
        return str(self.vars.get("ansible_host", self.name))

    @property
    def port(self) -> int:
        return int(self.vars.get("ansible_port", 22))

    @property
    def identity_file(self) -> str | None:
        key = self.vars.get("ansible_ssh_private_key_file") or self.vars.get("ansible_private_key_file")
        return str(Path(key).expanduser()) if key else None

    @property
    def known_hosts(self) -> str:
        args = shlex.split(str(self.vars.get("ansible_ssh_common_args", "")))
        args += shlex.split(str(self.vars.get("ansible_ssh_extra_args", "")))
        for i, arg in enumerate(args):
            opt = arg[2:] if arg.startswith("-o") and len(arg) > 2 else (args[i + 1] if arg == "-o" and i + 1 < len(args) else "")
            if opt.lower().startswith("userknownhostsfile="):
                return opt.split("=", 1)[1]
        return str(Path("~/.ssh/known_hosts").expanduser())
