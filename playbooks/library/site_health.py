#!/usr/bin/python3
# The provisioner's readiness check: facts about one commune room PC, read-only.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module ``site_health``: what a room PC has and does right now, without changing anything."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: site_health
short_description: Read a commune room PC's devices, client, clock, disk and memory (read-only)
description:
  - Reads sysfs for the USB devices, their video and sound devices and the PC's DMI identity.
  - Says which of the given systemd units and processes run, whether the clock is synchronised,
    how full the disk is and how much memory is free, and whether each meeting server answers on its TCP port.
  - Changes nothing; check mode gives the same answer.
options:
  sys_root:
    description:
      - The sysfs tree to read. C(/sys) on a PC; the lab points it at a fixture tree laid out the same way,
        because lab containers have no USB devices.
    type: path
    default: /sys
  units:
    description: systemd units that must be active for the conferencing client to be up.
    type: list
    elements: str
    default: []
  processes:
    description: Process names (as in /proc/PID/comm) that must run as O(user).
    type: list
    elements: str
    default: []
  user:
    description: The account the room's session runs as.
    type: str
    default: phonghop
  endpoints:
    description: Meeting servers to reach over TCP, each C(host) and C(port) (and C(why), shown in reports).
    type: list
    elements: dict
    default: []
  timeout:
    description: Seconds to wait for each meeting server.
    type: float
    default: 3.0
author: provisioner
"""

RETURN = r"""
ansible_facts:
  description: >-
    C(site_health), the PC's facts (usb, video, sound, dmi, uptime_s, memory, disk, clock, units, processes, endpoints).
  returned: always
  type: dict
"""

import os
import pwd
import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DMI = ("sys_vendor", "product_name", "product_serial", "board_vendor", "board_name", "board_serial")


def read(path: str, limit: int = 4096) -> str:
    """A sysfs or proc file's text (its first ``limit`` characters: a fixture or a device may hold anything)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(limit).strip()
    except OSError:
        return ""


def listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def usb_port(link: str) -> str:
    """The USB device (port name like ``1-1.2``) a class device's ``device`` link leads to, or ''."""
    target = os.path.realpath(link)
    while target not in ("/", ""):
        name = os.path.basename(target)
        if ":" in name and "-" in name.split(":")[0]:
            return name.split(":")[0]
        if os.path.isfile(os.path.join(target, "idVendor")):
            return name
        target = os.path.dirname(target)
    return ""


def usb_devices(sys_root: str) -> list[dict[str, Any]]:
    base = os.path.join(sys_root, "bus", "usb", "devices")
    devices = []
    for name in listdir(base):
        path = os.path.join(base, name)
        vendor = read(os.path.join(path, "idVendor")).lower()
        if ":" in name or not vendor:
            continue
        classes = {
            read(os.path.join(path, sub, "bInterfaceClass")).lower() for sub in listdir(path) if sub.startswith(name + ":")
        }
        devices.append(
            {
                "port": name,
                "id": vendor + ":" + read(os.path.join(path, "idProduct")).lower(),
                "serial": read(os.path.join(path, "serial")),
                "manufacturer": read(os.path.join(path, "manufacturer")),
                "product": read(os.path.join(path, "product")),
                "interface_classes": sorted(c for c in classes if c),
            }
        )
    return devices


def video_devices(sys_root: str) -> list[dict[str, str]]:
    base = os.path.join(sys_root, "class", "video4linux")
    return [
        {"name": n, "label": read(os.path.join(base, n, "name")), "usb": usb_port(os.path.join(base, n, "device"))}
        for n in listdir(base)
    ]


def sound_cards(sys_root: str) -> list[dict[str, Any]]:
    base = os.path.join(sys_root, "class", "sound")
    entries = listdir(base)
    cards = []
    for name in entries:
        if not (name.startswith("card") and name[4:].isdigit()):
            continue
        n = name[4:]
        pcms = [e for e in entries if e.startswith(f"pcmC{n}D")]
        cards.append(
            {
                "card": int(n),
                "id": read(os.path.join(base, name, "id")),
                "usb": usb_port(os.path.join(base, name, "device")),
                "capture": any(p.endswith("c") for p in pcms),
                "playback": any(p.endswith("p") for p in pcms),
            }
        )
    return cards


def meminfo() -> dict[str, int]:
    fields = {}
    for line in read("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        if key in ("MemTotal", "MemAvailable"):
            fields[key] = int(rest.split()[0]) // 1024
    return {"total_mib": fields.get("MemTotal", 0), "available_mib": fields.get("MemAvailable", 0)}


def disk(path: str = "/") -> dict[str, float]:
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize
    free = st.f_bavail * st.f_frsize
    return {
        "total_gib": round(total / 2**30, 2),
        "free_gib": round(free / 2**30, 2),
        "free_percent": round(100 * free / total, 1) if total else 0.0,
    }


def clock() -> dict[str, Any]:
    """chrony's view (leap status, offset, reference), or systemd's when chrony is not there."""
    if shutil.which("chronyc"):
        done = subprocess.run(["chronyc", "-n", "-c", "tracking"], capture_output=True, text=True, timeout=10, check=False)
        fields = done.stdout.strip().split(",")
        if done.returncode == 0 and len(fields) >= 14:
            leap = fields[-1]
            return {
                "source": "chrony",
                "reference": fields[1],
                "offset_s": float(fields[4]),
                "leap": leap,
                "synchronised": leap == "Normal" and fields[1] not in ("", "0.0.0.0", "127.127.1.1"),  # noqa: S104 - chrony's "no reference",
            }
        return {
            "source": "chrony",
            "synchronised": False,
            "error": (done.stderr or done.stdout).strip()[:200] or "chronyc gave no tracking",
        }
    done = subprocess.run(
        ["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=10, check=False
    )
    return {"source": "systemd", "synchronised": done.stdout.strip() == "yes"}


def units(names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    done = subprocess.run(["systemctl", "is-active", *names], capture_output=True, text=True, timeout=10, check=False)
    states = done.stdout.split()
    return {n: (states[i] if i < len(states) else "unknown") for i, n in enumerate(names)}


def processes(names: list[str], user: str) -> dict[str, bool]:
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return {n: False for n in names}
    running = set()
    for pid in listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
        except OSError:
            continue
        running.add(read(f"/proc/{pid}/comm"))
    return {n: n in running for n in names}


def reach(endpoint: dict[str, Any], timeout: float) -> dict[str, Any]:
    host, port = str(endpoint.get("host", "")), int(endpoint.get("port", 0))
    out = {"host": host, "port": port, "why": str(endpoint.get("why", "")), "ok": False, "error": ""}
    try:
        with socket.create_connection((host, port), timeout=timeout):
            out["ok"] = True
    except OSError as exc:
        out["error"] = exc.strerror or str(exc)
    return out


def facts(params: dict[str, Any]) -> dict[str, Any]:
    sys_root = params["sys_root"]
    endpoints = params["endpoints"]
    with ThreadPoolExecutor(max_workers=max(1, len(endpoints))) as pool:
        reached = list(pool.map(lambda e: reach(e, params["timeout"]), endpoints))
    dmi_dir = os.path.join(sys_root, "class", "dmi", "id")
    return {
        "sys_root": sys_root,
        "usb": usb_devices(sys_root),
        "video": video_devices(sys_root),
        "sound": sound_cards(sys_root),
        "dmi": {key: read(os.path.join(dmi_dir, key)) for key in DMI},
        "uptime_s": int(float((read("/proc/uptime") or "0").split()[0])),
        "memory": meminfo(),
        "disk": disk("/"),
        "clock": clock(),
        "units": units(params["units"]),
        "processes": processes(params["processes"], params["user"]),
        "endpoints": reached,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "sys_root": {"type": "path", "default": "/sys"},
            "units": {"type": "list", "elements": "str", "default": []},
            "processes": {"type": "list", "elements": "str", "default": []},
            "user": {"type": "str", "default": "phonghop"},
            "endpoints": {"type": "list", "elements": "dict", "default": []},
            "timeout": {"type": "float", "default": 3.0},
        },
        supports_check_mode=True,
    )
    module.exit_json(changed=False, ansible_facts={"site_health": facts(module.params)})


if __name__ == "__main__":
    main()
