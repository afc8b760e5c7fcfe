"""A fleet of lab sites for field tests and benchmarks: an invented province's registry, its inventory, stand-ins.

Twenty sites by default, in two districts (so a rollout has two waves), with
the mix of clients and devices a province has: mostly WebRTC rooms, some SIP,
some on the vendor's client. People, numbers and addresses are invented.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from provisioner import inventory, targets
from provisioner.lab import podman, sites
from tests.registry_fixtures import site, write_csv

DISTRICTS = ("Huyện Việt Yên", "Huyện Hiệp Hòa")
CAMERAS = ("Logitech C930e", "AVer CAM520", "Logitech C920")
AUDIO = ("Phoenix MT202", "Jabra Speak 510", "Thiết bị ghép âm thanh MT107")


@dataclass(frozen=True)
class Fleet:
    lab: sites.Lab
    province: Path  # the inventory folder of the invented province
    sites: list[str]

    @property
    def inventory(self) -> list[Path]:
        return [self.province]


def rows(count: int) -> list[dict[str, str]]:
    """``count`` registry rows, half in each district; every tenth a SIP room, every tenth (offset) a vendor client."""
    out = []
    for n in range(1, count + 1):
        profile = {3: "sip", 7: "vendor"}.get(n % 10, "webrtc")
        changes = {
            "Huyện/Khu vực": DISTRICTS[(n - 1) * len(DISTRICTS) // count],
            "Xã/Phường": f"Xã Thử Nghiệm {n}",
            "Camera": CAMERAS[n % len(CAMERAS)],
            "Thiết bị âm thanh": AUDIO[n % len(AUDIO)],
            "Phần mềm họp": profile,
        }
        if profile == "sip":
            changes |= {
                "Địa chỉ phòng họp trực tuyến": "",
                "Địa chỉ MCU": "mcu.hop.example",
                "Tài khoản": f"xa{n:04d}",
                "Biến mật khẩu": f"vault_sip_xa{n:04d}",
            }
        elif profile == "vendor":
            changes["Địa chỉ phòng họp trực tuyến"] = ""
        out.append(site(n, **changes))
    return out


def up(workdir: Path, lab_name: str, count: int = 20, suite: str = "trixie") -> Fleet:
    """Write the registry and inventory under ``workdir``, start a stand-in for every site in lab ``lab_name``."""
    workdir.mkdir(parents=True, exist_ok=True)
    registry = write_csv(workdir / "registry.csv", rows(count))
    built = inventory.build([registry], workdir / "inventories")
    provinces = sorted({inventory.district_of(s).split("/")[0] for s in built.loaded.sites})
    province = workdir / "inventories" / provinces[0]
    found = targets.inventory_hosts(inventory.expand_sources([province]))
    lab = sites.up(count, suite=suite, lab_name=lab_name, names=sorted(found), stand_in_for=found)
    return Fleet(lab, province, sorted(found))


def lossy_link(container: str, percent: int) -> None:
    """Drop ``percent``% of the SSH packets reaching a site, as a weak link would (nftables in its network namespace).

    This kernel has no ``tc netem``; the host's ``nft`` is run inside the
    container's network namespace, so the site's own image needs nothing.
    """
    pid = podman.podman("inspect", "-f", "{{.State.Pid}}", container).stdout.strip()
    rules = (
        "table inet lab_loss {\n"
        "  chain input {\n"
        "    type filter hook input priority 0; policy accept;\n"
        f"    tcp dport 22 numgen random mod 100 < {percent} drop\n"
        "  }\n"
        "}\n"
    )
    subprocess.run(["nsenter", "-t", pid, "-n", "nft", "-f", "-"], input=rules, text=True, check=True)
