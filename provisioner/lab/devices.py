"""LAB ONLY: the devices a lab site presents to the readiness check, as a fixture tree in its container.

``lab up`` gives each site the registry's devices (its camera and audio device
with the catalog's USB IDs, the registry's serials or invented ones, the PC's
DMI identity); ``provisioner lab devices SITE`` removes one, swaps it for
another catalog model or changes its serial, so tests can make a camera
present, missing or swapped. The spec is kept beside the tree, in the
container. On a PC the check reads ``/sys`` and none of this exists.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from provisioner.errors import ConfigError
from provisioner.lab import podman
from provisioner.registry.catalog import Catalog

#: Where lab sites keep the tree (the inventory's ``check_sys_root``) and its spec.
ROOT = "/var/lib/provisioner-lab/sys"
SPEC = "/var/lib/provisioner-lab/devices.json"
PORTS = {"camera": "1-1", "audio": "1-2"}
KINDS = tuple(PORTS)


def usb_entry(kind: str, dev: dict[str, Any], site: str) -> dict[str, Any] | None:
    """The USB device a registry (or catalog) entry presents, or None when it is not a USB device."""
    ids = list(dev.get("usb") or [])
    classes = list(dev.get("usb_class") or [])
    if kind == "camera" and "0e" not in classes:
        classes = ["0e", *classes]
    if not ids and not classes:
        return None
    if kind == "audio" and "01" not in classes:
        return None
    label = str(dev.get("label") or dev.get("model") or kind)
    vendor, _, product = label.partition(" ")
    return {
        "port": PORTS[kind],
        "id": str(ids[0] if ids else "1d6b:ffff").lower(),  # a class-matched model: an ID no catalog entry has
        "serial": str(dev.get("serial") or f"LAB-{kind.upper()}-{site}"),
        "manufacturer": vendor,
        "product": product or label,
        "classes": classes,
        "video": kind == "camera",
        "capture": "01" in classes,
        "playback": kind == "audio",
    }


def spec_for(site: str, hostvars: dict[str, Any]) -> dict[str, Any]:
    """The devices the registry gives ``site``, as a fixture spec."""
    devices = hostvars.get("site_devices") or {}
    pc = devices.get("pc") or {}
    usb = [e for kind in KINDS if devices.get(kind) and (e := usb_entry(kind, devices[kind], site))]
    return {
        "dmi": {
            "sys_vendor": str(pc.get("label") or "Lab").split(" ")[0],
            "product_name": str(pc.get("label") or pc.get("model") or "Lab PC"),
            "product_serial": str(pc.get("serial") or f"LAB-PC-{site}"),
        },
        "onboard": {"capture": True, "playback": True},
        "usb": usb,
    }


def write(container: str, spec: dict[str, Any]) -> None:
    """Write ``spec``'s tree (and the spec) into a lab container."""
    script = resources.files("provisioner.lab").joinpath("sysfs_fixture.py").read_text(encoding="utf-8")
    podman.exec_(container, "python3", "-c", script, ROOT, SPEC, input=json.dumps(spec))


def read(container: str) -> dict[str, Any] | None:
    done = podman.exec_(container, "cat", SPEC, check=False)
    return json.loads(done.stdout) if done.returncode == 0 else None


def changed(
    spec: dict[str, Any],
    catalog: Catalog,
    site: str,
    *,
    remove: list[str] | None = None,
    swap: dict[str, str] | None = None,
    serial: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``spec`` with devices removed, swapped for another catalog model, or given another serial."""
    out = copy.deepcopy(spec)
    for kind in [*(remove or []), *(swap or {}), *(serial or {})]:
        if kind not in (*KINDS, "pc"):
            raise ConfigError(f"'{kind}' is not a lab device", hint=f"use one of: pc, {', '.join(KINDS)}")
    out["usb"] = [d for d in out["usb"] if d["port"] not in {PORTS[k] for k in remove or [] if k in PORTS}]
    for kind, model in (swap or {}).items():
        dev_id = catalog.find(model)
        entry = catalog.devices.get(dev_id) if dev_id else None
        if entry is None or entry.kind != kind:
            raise ConfigError(
                f"'{model}' is not a {kind} in the device catalog", hint="name a model from provisioner/data/devices.yml"
            )
        new = usb_entry(kind, {"usb": [u.id for u in entry.usb], "usb_class": entry.usb_class, "label": entry.label}, site)
        out["usb"] = [d for d in out["usb"] if d["port"] != PORTS[kind]] + ([new] if new else [])
    for kind, value in (serial or {}).items():
        if kind == "pc":
            out["dmi"]["product_serial"] = value
        for d in out["usb"]:
            if d["port"] == PORTS.get(kind):
                d["serial"] = value
    return out
