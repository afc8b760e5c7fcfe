"""One readiness check of one site: its facts (from the ``site_health`` module) weighed against the registry.

Four device classes, as the province's survey names them: Camera, Micro, Âm thanh
(the room's sound), Thiết bị đầu cuối VCS (the terminal: the PC, its client,
its meeting servers). Each is ``ok``, ``fail`` (with causes, in Vietnamese: people
read them) or ``none`` (the registry gives the site no such equipment).

Equipment drift compares what is on the PC's USB bus and in its DMI with the
registry: a device missing, another model in its place, a unit whose serial is
not the registry's, a unit the registry puts at another site.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "fail", "none"]
CLASSES: tuple[str, ...] = ("camera", "micro", "audio", "terminal")
#: The survey's own words for each class.
CLASS_LABELS = {"camera": "Camera", "micro": "Micro", "audio": "Âm thanh", "terminal": "Thiết bị đầu cuối VCS"}
VIDEO, AUDIO = "0e", "01"
KIND_LABELS = {"pc": "Máy tính", "camera": "Camera", "audio": "Thiết bị âm thanh"}


@dataclass(frozen=True)
class Limits:
    """What a healthy terminal needs (documented in the README's readiness section)."""

    disk_free_percent: float = 10.0  # free space on / at least this share
    memory_available_mib: int = 256  # memory available at least this much
    sound_server: str = "pipewire"  # the process that carries the room's sound, run by the session's account


@dataclass(frozen=True)
class Verdict:
    status: Status
    causes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drift:
    kind: Literal["missing", "swapped", "serial", "moved"]
    device: str  # pc, camera, audio
    text: str


@dataclass(frozen=True)
class SiteCheck:
    """One site's result in one readiness check."""

    site: str
    reachable: bool
    classes: dict[str, Verdict] = field(default_factory=dict)
    drift: tuple[Drift, ...] = ()
    error: str = ""  # why the site could not be checked (unreachable, the check failed)
    facts: dict[str, Any] = field(default_factory=dict)
    at: str = ""

    @property
    def ok(self) -> bool:
        return self.reachable and all(v.status != "fail" for v in self.classes.values())

    def to_row(self) -> tuple[str, int, str, str, str, str]:
        """(site, reachable, classes, drift, error, facts) as the state database stores them."""
        return (
            self.site,
            int(self.reachable),
            json.dumps({k: [v.status, list(v.causes)] for k, v in self.classes.items()}, ensure_ascii=False),
            json.dumps([[d.kind, d.device, d.text] for d in self.drift], ensure_ascii=False),
            self.error,
            json.dumps(self.facts, ensure_ascii=False, sort_keys=True),
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SiteCheck:
        return cls(
            site=row["site"],
            reachable=bool(row["reachable"]),
            classes={k: Verdict(s, tuple(c)) for k, (s, c) in json.loads(row["classes"]).items()},
            drift=tuple(Drift(k, d, t) for k, d, t in json.loads(row["drift"])),
            error=row["error"],
            facts=json.loads(row["facts"]),
            at=row["at"],
        )


def serial_index(hostvars: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """Every serial the registry gives: serial → (site, device kind)."""
    index: dict[str, tuple[str, str]] = {}
    for site, hv in hostvars.items():
        for kind, dev in (hv.get("site_devices") or {}).items():
            serial = str((dev or {}).get("serial") or "").strip()
            if serial:
                index[serial.upper()] = (site, kind)
    return index


def _label(dev: Mapping[str, Any]) -> str:
    return str(dev.get("label") or dev.get("model") or "?")


def _seen(usb: Mapping[str, Any]) -> str:
    name = " ".join(str(usb.get(k) or "") for k in ("manufacturer", "product")).strip()
    return f"{name} ({usb.get('id')})" if name else str(usb.get("id"))


def _matches(
    expected: Mapping[str, Any] | None, cls: str, usb: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """USB devices that are the expected model, and the other devices of its class."""
    of_class = [d for d in usb if cls in d.get("interface_classes", [])]
    ids = {str(i).lower() for i in (expected or {}).get("usb") or []}
    if not ids:
        return of_class, []
    return [d for d in of_class if d["id"] in ids], [d for d in of_class if d["id"] not in ids]


class _Site:
    def __init__(self, site: str, hostvars: Mapping[str, Any], facts: Mapping[str, Any], limits: Limits) -> None:
        self.site = site
        self.devices: Mapping[str, Any] = hostvars.get("site_devices") or {}
        self.facts = facts
        self.limits = limits
        self.usb: list[dict[str, Any]] = list(facts.get("usb") or [])
        self.cams, self.other_cams = _matches(self.devices.get("camera"), VIDEO, self.usb)
        audio = self.devices.get("audio")
        self.speakers: list[dict[str, Any]] = []
        if audio and ((audio.get("usb") or []) or AUDIO in (audio.get("usb_class") or [])):
            found, _ = _matches(audio, AUDIO, self.usb)
            camera_ports = {d["port"] for d in self.cams + self.other_cams}
            self.speakers = [d for d in found if d["port"] not in camera_ports] or [{"port": "-", "id": "-"}]

    def camera(self) -> Verdict:
        if not self.devices.get("camera"):
            return Verdict("none")
        cams = self.cams or self.other_cams
        if not cams:
            ids = ", ".join(self.devices["camera"].get("usb") or []) or "lớp video 0e"
            return Verdict("fail", (f"Không thấy camera {_label(self.devices['camera'])} ({ids}) trên cổng USB",))
        ports = {v.get("usb") for v in self.facts.get("video") or []}
        if not any(c["port"] in ports for c in cams):
            return Verdict("fail", (f"Camera {_seen(cams[0])} có trên USB nhưng không có thiết bị video (trình điều khiển?)",))
        return Verdict("ok")

    def _sound(self, direction: str, what: str) -> Verdict:
        cards = [c for c in self.facts.get("sound") or [] if c.get(direction)]
        if self.speakers:
            ports = {d["port"] for d in self.speakers}
            cards = [c for c in cards if c.get("usb") in ports]
            where = f" trên {_label(self.devices['audio'])}"
        elif not self.devices.get("audio") and not self.devices.get("camera"):
            return Verdict("none") if not cards else Verdict("ok")
        else:
            where = ""
        causes = []
        if not cards:
            causes.append(f"Không có thiết bị {what}{where}")
        server = self.limits.sound_server
        if server and (self.facts.get("processes") or {}).get(server) is False:
            causes.append(f"Dịch vụ âm thanh ({server}) không chạy")
        return Verdict("fail", tuple(causes)) if causes else Verdict("ok")

    def micro(self) -> Verdict:
        return self._sound("capture", "thu âm (micro)")

    def audio(self) -> Verdict:
        return self._sound("playback", "phát âm thanh")

    def terminal(self) -> Verdict:
        f, causes = self.facts, []
        down = [f"{u} ({s})" for u, s in (f.get("units") or {}).items() if s != "active"]
        down += [p for p, up in (f.get("processes") or {}).items() if not up and p != self.limits.sound_server]
        if down:
            causes.append("Phần mềm họp không chạy: " + ", ".join(down))
        for e in f.get("endpoints") or []:
            if not e.get("ok"):
                causes.append(f"Không kết nối được máy chủ họp {e['host']}:{e['port']} ({e.get('error') or 'không trả lời'})")
        clock = f.get("clock") or {}
        if not clock.get("synchronised"):
            causes.append("Đồng hồ chưa đồng bộ với máy chủ thời gian")
        disk = f.get("disk") or {}
        if disk and disk.get("free_percent", 100) < self.limits.disk_free_percent:
            causes.append(f"Ổ đĩa chỉ còn trống {disk['free_percent']}% (cần ≥ {self.limits.disk_free_percent:g}%)")
        mem = f.get("memory") or {}
        if mem and mem.get("available_mib", 1 << 30) < self.limits.memory_available_mib:
            causes.append(f"Bộ nhớ chỉ còn trống {mem['available_mib']} MiB (cần ≥ {self.limits.memory_available_mib} MiB)")
        return Verdict("fail", tuple(causes)) if causes else Verdict("ok")


def _drift(s: _Site, index: Mapping[str, tuple[str, str]], names: Mapping[str, str]) -> list[Drift]:
    out: list[Drift] = []
    for kind, expected, found, others in (
        ("camera", s.devices.get("camera"), s.cams, s.other_cams),
        ("audio", s.devices.get("audio"), [d for d in s.speakers if d["port"] != "-"], []),
    ):
        if not expected:
            continue
        label = KIND_LABELS[kind]
        if not found and others:
            seen = others[0]
            model = names.get(seen["id"]) or _seen(seen)
            unit = f" (số serial {seen['serial']})" if seen.get("serial") else ""
            out.append(Drift("swapped", kind, f"{label}: thấy {model}{unit} thay cho {_label(expected)} theo sổ đăng ký"))
        elif not found and (kind == "camera" or expected.get("usb")):
            out.append(Drift("missing", kind, f"{label} {_label(expected)}: không thấy trên máy"))
        registered = str(expected.get("serial") or "").strip().upper()
        for dev in found:  # a unit of the registry's model: is it the registry's unit?
            serial = str(dev.get("serial") or "").strip().upper()
            if registered and serial and serial != registered:
                out.append(Drift("serial", kind, f"{label}: số serial {serial} khác sổ đăng ký ({registered})"))
    pc = s.devices.get("pc") or {}
    dmi_serial = str((s.facts.get("dmi") or {}).get("product_serial") or "").strip().upper()
    registered_pc = str(pc.get("serial") or "").strip().upper()
    if registered_pc and dmi_serial and dmi_serial != registered_pc:
        out.append(Drift("serial", "pc", f"Máy tính: số serial {dmi_serial} khác sổ đăng ký ({registered_pc})"))
    seen_serials = [dmi_serial] + [str(d.get("serial") or "").strip().upper() for d in s.usb]
    for serial in seen_serials:
        owner = index.get(serial) if serial else None
        if owner and owner[0] != s.site:
            label = KIND_LABELS.get(owner[1], owner[1])
            out.append(Drift("moved", owner[1], f"{label} số serial {serial} thuộc điểm cầu {owner[0]} theo sổ đăng ký"))
    return out


def evaluate(
    site: str,
    hostvars: Mapping[str, Any],
    facts: Mapping[str, Any],
    *,
    index: Mapping[str, tuple[str, str]] | None = None,
    names: Mapping[str, str] | None = None,
    limits: Limits | None = None,
    at: str = "",
) -> SiteCheck:
    """Weigh one reachable site's facts; ``index`` from :func:`serial_index`, ``names`` USB ID → catalog model."""
    s = _Site(site, hostvars, facts, limits or Limits())
    classes = {"camera": s.camera(), "micro": s.micro(), "audio": s.audio(), "terminal": s.terminal()}
    return SiteCheck(site, True, classes, tuple(_drift(s, index or {}, names or {})), facts=dict(facts), at=at)


def dark(site: str, error: str, at: str = "") -> SiteCheck:
    """A site that could not be reached: its terminal is not working at check time, nothing else is known."""
    lines = [ln.strip() for ln in error.splitlines() if ln.strip()]
    error = lines[-1] if lines else "không trả lời"  # ssh's own words come last (Mitogen wraps them)
    return SiteCheck(site, False, {"terminal": Verdict("fail", (f"Không kết nối được: {error}",))}, error=error, at=at)
