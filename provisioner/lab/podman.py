"""The lab's only door to podman: the lab's containers.conf, runc, argv lists."""

from __future__ import annotations

import json
import subprocess
from importlib import resources
from typing import Any

from provisioner import proc
from provisioner.errors import LabError

LABEL = "io.github.provisioner.lab"


def env() -> dict[str, str]:
    conf = resources.files("provisioner.lab").joinpath("containers.conf")
    return {"CONTAINERS_CONF": str(conf)}


def podman(
    *args: str, input: str | None = None, check: bool = True, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``podman --runtime runc ARGS`` with the lab's containers.conf."""
    exe = proc.require("podman")
    return proc.run([exe, "--runtime", "runc", *args], input=input, env=env(), check=check, timeout=timeout)


def image_exists(tag: str) -> bool:
    return podman("image", "exists", tag, check=False).returncode == 0


def containers(label_filter: str = LABEL) -> list[dict[str, Any]]:
    """Every container (running or not) carrying ``label_filter``."""
    out = podman("ps", "-a", "--filter", f"label={label_filter}", "--format", "json").stdout
    data = json.loads(out or "[]")
    return list(data) if isinstance(data, list) else []


def inspect(name: str) -> dict[str, Any]:
    out = podman("inspect", "--type", "container", name).stdout
    data = json.loads(out)
    return dict(data[0])


def exec_(
    name: str, *argv: str, input: str | None = None, check: bool = True, timeout: float | None = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside container ``name``."""
    flags = ["-i"] if input is not None else []
    return podman("exec", *flags, name, *argv, input=input, check=check, timeout=timeout)


def network_ensure(name: str) -> None:
    if podman("network", "exists", name, check=False).returncode != 0:
        podman("network", "create", name)


def network_gateway(name: str) -> str:
    """The host's address on network ``name``: where the host's own connections into it come from."""
    data = json.loads(podman("network", "inspect", name).stdout)
    for subnet in data[0].get("subnets") or []:
        if subnet.get("gateway"):
            return str(subnet["gateway"])
    raise LabError(f"podman network {name} has no gateway")
