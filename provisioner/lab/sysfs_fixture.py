"""LAB ONLY: a fixture tree laid out like sysfs, so the readiness check can see devices a container lacks.

Lab containers have no USB bus, no camera, no sound card. The check's module
reads ``check_sys_root`` instead of ``/sys``; the lab points that at a tree
written by this file from a spec (JSON)::

    {"dmi": {"sys_vendor": ..., "product_name": ..., "product_serial": ...},
     "onboard": {"capture": true, "playback": true},
     "usb": [{"port": "1-1", "id": "046d:0843", "serial": "...", "manufacturer": "...",
              "product": "...", "classes": ["0e", "01"], "video": true,
              "capture": true, "playback": false}]}

The tree has what the check reads on a PC: ``bus/usb/devices/<port>`` with
``idVendor``, ``idProduct``, ``serial``... and one ``<port>:1.N`` folder per
interface; ``class/video4linux/videoN`` and ``class/sound/cardN`` (+ ``pcmC…``)
whose ``device`` links lead to the interface; ``class/dmi/id``.

Runs as a script inside a lab container (``python3 -c SCRIPT ROOT SPEC_PATH``,
the spec on standard input, kept at SPEC_PATH; standard library only) and is
imported by the tests to build trees on the controller.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def _link(target: str, link: str) -> None:
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(os.path.relpath(target, os.path.dirname(link)), link)


def _sound(root: str, card: int, device: str | None, *, capture: bool, playback: bool, name: str) -> None:
    base = os.path.join(root, "class", "sound")
    _write(os.path.join(base, f"card{card}", "id"), name)
    if device:
        _link(device, os.path.join(base, f"card{card}", "device"))
    for direction, wanted in (("c", capture), ("p", playback)):
        if wanted:
            _write(os.path.join(base, f"pcmC{card}D0{direction}", "dev"), f"116:{card * 8 + (1 if direction == 'c' else 0)}")


def build(root: str, spec: dict[str, Any]) -> None:
    """Write the tree for ``spec`` at ``root`` (replacing what was there)."""
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root)
    for key, value in (spec.get("dmi") or {}).items():
        _write(os.path.join(root, "class", "dmi", "id", key), str(value))
    onboard = spec.get("onboard") or {}
    card, video = 0, 0
    if onboard:
        _sound(root, 0, None, capture=bool(onboard.get("capture")), playback=bool(onboard.get("playback")), name="PCH")
    card = 1
    for dev in spec.get("usb") or []:
        port = dev["port"]
        path = os.path.join(root, "bus", "usb", "devices", port)
        vendor, product = dev["id"].split(":")
        for key, value in (
            ("idVendor", vendor),
            ("idProduct", product),
            ("serial", dev.get("serial", "")),
            ("manufacturer", dev.get("manufacturer", "")),
            ("product", dev.get("product", "")),
            ("bDeviceClass", "00" if dev.get("classes") else "09"),
        ):
            if value:
                _write(os.path.join(path, key), value)
        interfaces: dict[str, str] = {}
        for n, cls in enumerate(dev.get("classes") or []):
            iface = os.path.join(path, f"{port}:1.{n}")
            _write(os.path.join(iface, "bInterfaceClass"), cls)
            interfaces.setdefault(cls, iface)
        if dev.get("video") and "0e" in interfaces:
            _write(os.path.join(root, "class", "video4linux", f"video{video}", "name"), dev.get("product", "camera"))
            _link(interfaces["0e"], os.path.join(root, "class", "video4linux", f"video{video}", "device"))
            video += 2  # a UVC camera has a second node for metadata
        if (dev.get("capture") or dev.get("playback")) and "01" in interfaces:
            _sound(
                root,
                card,
                interfaces["01"],
                capture=bool(dev.get("capture")),
                playback=bool(dev.get("playback")),
                name=dev.get("product", "USB"),
            )
            card += 1


if __name__ == "__main__":
    given = json.load(sys.stdin)
    build(sys.argv[1], given)
    _write(sys.argv[2], json.dumps(given, indent=2))  # kept beside the tree, for ``lab devices`` to change later
