"""The lab: Debian containers booting systemd with sshd on 127.0.0.1, one per simulated commune PC.

Containers are found again through podman labels, so the lab keeps no state
file of its own beyond the management key, known_hosts and the inventory.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import paths, proc, yamlout
from provisioner.atomic import write_atomic
from provisioner.errors import CommandFailedError, ConfigError, LabError, PortTakenError
from provisioner.lab import devices, image, keys, loghost, meeting, podman, registrar
from provisioner.lab.mirror import host_mirror

NETWORK = "provisioner-lab"
SERVICES = "prov-lab-services"
ADDRESS = "127.0.0.1"
FIRST_PORT = 2201
LABEL_LAB = "io.github.provisioner.lab.name"
LABEL_SITE = "io.github.provisioner.lab.site"
LABEL_OS = "io.github.provisioner.lab.os"
LABEL_PORT = "io.github.provisioner.lab.port"
BOOT_TIMEOUT = 60.0
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class Site:
    name: str
    container: str
    os: str
    port: int
    state: str
    address: str = ADDRESS


@dataclass(frozen=True)
class Lab:
    name: str
    sites: list[Site]
    inventory: Path
    known_hosts: Path
    key: Path
    services_address: str | None


def container_name(lab: str, site: str) -> str:
    return f"prov-{lab}-{site}"


def _site_from(c: dict[str, Any]) -> Site:
    labels = c.get("Labels") or {}
    names = c.get("Names") or [""]
    return Site(
        name=labels.get(LABEL_SITE, names[0]),
        container=names[0],
        os=labels.get(LABEL_OS, "?"),
        port=int(labels.get(LABEL_PORT, "0")),
        state=str(c.get("State", "unknown")).lower(),
    )


def status(lab: str = "lab") -> list[Site]:
    """The lab's sites as podman sees them, sorted by name."""
    return sorted((_site_from(c) for c in podman.containers(f"{LABEL_LAB}={lab}")), key=lambda s: s.name)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ADDRESS, port))
        except OSError:
            return False
    return True


def _ports_of_all_labs() -> set[int]:
    return {_site_from(c).port for c in podman.containers(podman.LABEL)}


def free_ports(count: int) -> list[int]:
    """``count`` loopback ports no lab site uses and nothing listens on (for sites that are not containers)."""
    return list(_choose_ports([f"port{i}" for i in range(count)], {}, None).values())


def _choose_ports(names: list[str], keep: dict[str, int], base_port: int | None) -> dict[str, int]:
    """A loopback port per new site: base_port+index when given (must be free), else the next free ones."""
    used = _ports_of_all_labs() | set(keep.values())
    chosen: dict[str, int] = {}
    candidate = FIRST_PORT
    for index, name in enumerate(names, start=1):
        if name in keep:
            continue
        if base_port is not None:
            port = base_port + index
            if port in used or not _port_free(port):
                raise PortTakenError(
                    f"port {ADDRESS}:{port} for lab site {name} is already in use",
                    hint=f"choose another --base-port, or free the port (ss -ltnp sport = :{port})",
                )
        else:
            while candidate in used or not _port_free(candidate):
                candidate += 1
            port = candidate
            candidate += 1
        used.add(port)
        chosen[name] = port
    return chosen


def ensure_services(progress: Progress = _quiet) -> str:
    """Start the lab's shared services container (NTP server, apt cache); return its address."""
    podman.network_ensure(NETWORK)
    base = image.ensure_base("bookworm", progress)
    tag = image.services_tag(image.recipe("bookworm"))
    if not podman.image_exists(tag):
        progress("building the lab services image (NTP server, apt cache)")
        builder = f"{SERVICES}-build"
        podman.podman("rm", "-f", builder, check=False)
        podman.podman("run", "-d", "--name", builder, base, "/lib/systemd/systemd")
        try:
            podman.exec_(
                builder,
                "sh",
                "-c",
                "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q " + " ".join(image.SERVICES_PACKAGES),
                timeout=900,
            )
            podman.exec_(builder, "sh", "-c", "cat > /etc/chrony/chrony.conf", input=image.CHRONY_SERVER_CONF)
            # chronyd can't steer the clock inside a container: serve time without touching it.
            podman.exec_(builder, "sh", "-c", "echo 'DAEMON_OPTS=\"-F 1 -x\"' > /etc/default/chrony")
            podman.exec_(
                builder,
                "sh",
                "-c",
                "mkdir -p /etc/systemd/system/chrony.service.d && printf '[Unit]\\nConditionCapability=\\n' "
                "> /etc/systemd/system/chrony.service.d/lab.conf && apt-get clean",
            )
            podman.podman("commit", "-q", builder, tag, timeout=600)
        finally:
            podman.podman("rm", "-f", builder, check=False)
    current = podman.containers(f"{podman.LABEL}.services=1")
    if current and current[0].get("Image") != tag:
        podman.podman("rm", "-f", SERVICES, check=False)
        current = []
    if current and str(current[0].get("State", "")).lower() == "running" and not _alive(SERVICES):
        # podman can still call a container running whose processes were killed (a host
        # suspended or a job's processes reaped): start it afresh.
        progress("the lab services container had died; starting it again")
        podman.podman("rm", "-f", "-t", "0", SERVICES, check=False)
        current = []
    if not current:
        cache = _apt_cache_dir()
        progress("starting the lab services container")
        podman.podman(
            "run",
            "-d",
            "--name",
            SERVICES,
            "--hostname",
            "lab-services",
            "--network",
            NETWORK,
            "--label",
            f"{podman.LABEL}.services=1",
            "-v",
            f"{cache}:/var/cache/apt-cacher-ng",
            tag,
            "/lib/systemd/systemd",
        )
        podman.exec_(SERVICES, "sh", "-c", "chown -R apt-cacher-ng: /var/cache/apt-cacher-ng || true")
    elif str(current[0].get("State", "")).lower() != "running":
        podman.podman("start", SERVICES)
    address = _address(SERVICES)
    if not address:
        raise LabError(f"the lab services container {SERVICES} has no address on network {NETWORK}")
    registrar.configure(SERVICES)
    meeting.configure(SERVICES)
    loghost.configure(SERVICES)
    return address


def _alive(container: str) -> bool:
    return podman.exec_(container, "true", check=False, timeout=30).returncode == 0


def _apt_cache_dir() -> Path:
    path = Path.home() / ".cache" / "provisioner" / "apt-cacher-ng"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _address(container: str) -> str | None:
    nets = podman.inspect(container).get("NetworkSettings", {}).get("Networks", {}) or {}
    net = nets.get(NETWORK) or {}
    return net.get("IPAddress") or None


def _start_site(lab: str, name: str, suite: str, port: int, tag: str) -> None:
    cname = container_name(lab, name)
    try:
        podman.podman(
            "run",
            "-d",
            "--name",
            cname,
            "--hostname",
            name,
            "--network",
            NETWORK,
            "-p",
            f"{ADDRESS}:{port}:22",
            "--cap-add",
            "NET_ADMIN",
            "--cap-add",
            "AUDIT_WRITE",
            "--label",
            f"{podman.LABEL}=1",
            "--label",
            f"{LABEL_LAB}={lab}",
            "--label",
            f"{LABEL_SITE}={name}",
            "--label",
            f"{LABEL_OS}={suite}",
            "--label",
            f"{LABEL_PORT}={port}",
            tag,
            "/lib/systemd/systemd",
        )
    except CommandFailedError as exc:
        if "address already in use" in exc.stderr:
            raise PortTakenError(
                f"port {ADDRESS}:{port} for lab site {name} is already in use",
                hint="run lab up again to pick free ports, or free that port",
            ) from exc
        raise LabError(f"lab site {name} did not start: {exc.stderr.strip()[-300:]}") from exc


def _enrol(lab: Lab, site: Site, pubkey: str) -> list[str]:
    """Wait for the site's sshd and own host keys, authorise the management key, return its host keys."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    probe = "test -s /etc/ssh/ssh_host_ed25519_key.pub && systemctl is-active --quiet ssh"
    while podman.exec_(site.container, "sh", "-c", probe, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise LabError(
                f"lab site {site.name}: sshd not up after {BOOT_TIMEOUT:.0f} s", hint=f"look at: podman logs {site.container}"
            )
        time.sleep(0.2)
    podman.exec_(
        site.container, "sh", "-c", "umask 077; mkdir -p /root/.ssh; cat > /root/.ssh/authorized_keys", input=pubkey + "\n"
    )
    host_keys = podman.exec_(site.container, "sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub").stdout
    return [ln for ln in host_keys.splitlines() if ln.strip()]


def ssh_options(known_hosts: Path) -> list[str]:
    """How every SSH connection to a lab site checks its host key: only against the lab's known_hosts."""
    return ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes"]


def _check_ssh(lab: Lab, site: Site) -> None:
    """Log in once over SSH with strict host key checking, as Ansible will."""
    ssh = proc.require("ssh", package="openssh-client")
    argv = [
        ssh,
        *ssh_options(lab.known_hosts),
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-i",
        str(lab.key),
        "-p",
        str(site.port),
        f"root@{site.address}",
        "true",
    ]
    for attempt in range(20):
        done = proc.run(argv, check=False, timeout=30)
        if done.returncode == 0:
            return
        time.sleep(0.25 * (attempt + 1))
    raise LabError(f"lab site {site.name}: SSH login on {site.address}:{site.port} failed: {done.stderr.strip()}")


def inventory_path(lab: str) -> Path:
    return paths.lab_dir() / lab / "hosts.yml"


def role_vars(services: str, pubkey: str) -> dict[str, Any]:
    """What the roles need to know about the lab: its mirror, its NTP server, the management key."""
    mirror = host_mirror()
    return {
        "base_apt_mirror": _through_cache(mirror.debian, services),
        "base_apt_security_mirror": _through_cache(mirror.security, services) if mirror.security else "",
        "base_chrony_servers": [services],
        "base_chrony_pools": [],
        "base_chrony_set_system_clock": False,
        "base_admin_authorized_keys": [pubkey],
        "lab_sip_registrar": f"{services}:{registrar.PORT}",
        "lab_sip_password": registrar.password(),
        "lab_meeting_url": meeting.url(services),
        # a plain lab site joins the lab's meeting page; stand-ins take their own profile
        "site_client": {"profile": "webrtc", "meeting_url": meeting.url(services)},
        # Chromium's own sandbox needs user namespaces, which lab containers don't give;
        # with no GPU, it draws only in software
        "conferencing_client_chromium_flags": ["--no-sandbox", "--disable-gpu", "--disable-gpu-compositing"],
        # no screen: the kiosk session runs on wlroots' headless output
        "kiosk_backend": "headless",
        # no sound hardware: PipeWire null nodes with the devices' USB IDs stand in for it
        "av_devices_simulate": True,
        # the controller reaches lab sites from the lab network's gateway: that is the management network
        "lockdown_management_networks": management_networks(),
        # the province's log server: the lab's, in the services container
        "lockdown_log_servers": [loghost.address(services)],
        "lab_log_host": SERVICES,
        # for the lock-down's escape checks: a lab service no room may reach, and a lab host outside the management network
        "lab_elsewhere_url": meeting.elsewhere_url(services),
        "lab_outsider": SERVICES,
        # LAB ONLY: the readiness check reads the site's devices from a fixture tree (see lab/devices.py)
        "check_sys_root": devices.ROOT,
    }


def management_networks() -> list[str]:
    """Where the controller's connections to lab sites come from (podman forwards loopback ports from the gateway)."""
    return [f"{podman.network_gateway(NETWORK)}/32"]


def stand_in_vars(
    hostvars: dict[str, Any], services: str, vendor: meeting.VendorPackage, management: list[str]
) -> dict[str, Any]:
    """What a lab stand-in changes in a real site's variables: its servers become the lab's.

    The site's SIP registrar becomes the lab registrar (and its vault password
    variable the lab's password); its meeting page, the lab's; its vendor
    client, the lab's package. Nothing a lab run does aims at a real server.
    """
    client = dict(hostvars.get("site_client") or {})
    # host vars, so that they win over the province's own group_vars
    out: dict[str, Any] = {"lockdown_management_networks": management}
    if not client:
        return out
    if client.get("mcu"):
        client["mcu"] = f"{services}:{registrar.PORT}"
    if client.get("meeting_url"):
        client["meeting_url"] = meeting.url(services)
    if client.get("password_var"):
        out[str(client["password_var"])] = registrar.password()
    if client.get("profile") == "vendor":
        out.update(
            {
                "conferencing_client_vendor_package": vendor.package,
                "conferencing_client_vendor_version": vendor.version,
                "conferencing_client_vendor_url": vendor.url,
                "conferencing_client_vendor_sha256": vendor.sha256,
                "conferencing_client_vendor_command": vendor.command,
            }
        )
    out["site_client"] = client
    return out


def _write_inventory(lab: Lab, services: str, pubkey: str, host_vars: dict[str, dict[str, Any]] | None = None) -> None:
    extra = host_vars or {}
    hosts = {
        s.name: {"ansible_host": s.address, "ansible_port": s.port, "lab_os": s.os, **extra.get(s.name, {})} for s in lab.sites
    }
    group_vars: dict[str, Any] = {
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(lab.key),
        "ansible_ssh_common_args": " ".join(ssh_options(lab.known_hosts)),
        **role_vars(services, pubkey),
    }
    doc = {"all": {"children": {lab.name: {"hosts": hosts, "vars": group_vars}}}}
    header = [
        f"Lab '{lab.name}': written by 'provisioner lab up'; rewritten on every run.",
        "Sites are podman containers on loopback ports; apt and NTP come from the lab services container.",
        "Every string is !unsafe: a stand-in's values are copied from a registry, and never templated.",
    ]
    # 0600: it holds the lab's SIP password.
    write_atomic(lab.inventory, yamlout.dumps(doc, header, unsafe=True), 0o600)


def _through_cache(url: str, services: str) -> str:
    """``http://host/path`` as seen through the lab's apt-cacher-ng."""
    rest = url.split("://", 1)[-1]
    return f"http://{services}:3142/{rest}"


def up(
    count: int,
    *,
    suite: str = "bookworm",
    lab_name: str = "lab",
    base_port: int | None = None,
    prefix: str = "site",
    names: list[str] | None = None,
    stand_in_for: dict[str, dict[str, Any]] | None = None,
    progress: Progress = _quiet,
) -> Lab:
    """Make the lab hold exactly ``count`` running sites of ``suite`` (or the ``names`` given); write its inventory."""
    names = list(names) if names else [f"{prefix}{i:02d}" for i in range(1, count + 1)]
    if len(names) < 1:
        raise ConfigError("a lab needs at least one site", hint="use --sites 1 or more")
    for word in (lab_name, *names):
        if not _LABEL.match(word):
            raise ConfigError(
                f"{word!r} is not usable as a lab or site name",
                hint="use lowercase letters, digits and '-', not at either end (at most 63 characters)",
            )
    image.recipe(suite)  # rejects an unknown suite before anything starts
    proc.require("podman")
    tag = image.ensure_base(suite, progress)
    services = ensure_services(progress)
    existing = {s.name: s for s in status(lab_name)}
    for site in existing.values():
        if site.name not in names or site.os != suite:
            progress(f"removing lab site {site.name}")
            podman.podman("rm", "-f", site.container)
        elif site.state == "running" and not _alive(site.container):
            progress(f"lab site {site.name} had died; starting it afresh")
            podman.podman("rm", "-f", "-t", "0", site.container)
    existing = {s.name: s for s in status(lab_name)}
    for site in existing.values():
        if site.state != "running":
            podman.podman("start", site.container)
    keep = {n: s.port for n, s in existing.items()}
    ports = _choose_ports(names, keep, base_port)
    for name, port in ports.items():
        progress(f"starting lab site {name} ({suite}) on {ADDRESS}:{port}")
        _start_site(lab_name, name, suite, port, tag)
    lab_root = paths.lab_dir()
    key = keys.management_key(lab_root)
    pubkey = keys.public_key(key)
    lab = Lab(lab_name, status(lab_name), inventory_path(lab_name), lab_root / "known_hosts", key, services)
    progress(f"waiting for {len(lab.sites)} site(s) to boot and enrolling their host keys")
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda s: _enrol(lab, s, pubkey), lab.sites))
    for site, host_keys in zip(lab.sites, found, strict=True):
        keys.record_host_keys(lab.known_hosts, site.address, site.port, host_keys)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda s: _check_ssh(lab, s), lab.sites))
    vendor = meeting.vendor_package(SERVICES, services)
    management = management_networks()
    host_vars = {name: stand_in_vars(hv, services, vendor, management) for name, hv in (stand_in_for or {}).items()}
    _write_inventory(lab, services, pubkey, host_vars)
    for site in lab.sites:  # a site keeps the devices a test gave it until 'lab devices --reset'
        if devices.read(site.container) is None:
            devices.write(site.container, devices.spec_for(site.name, (stand_in_for or {}).get(site.name, {})))
    return lab


def down(lab_name: str = "lab", everything: bool = False, progress: Progress = _quiet) -> list[str]:
    """Remove the lab's sites (and with ``everything`` the services container and network)."""
    removed = []
    lab_root = paths.lab_dir()
    for site in status(lab_name):
        progress(f"removing lab site {site.name}")
        podman.podman("rm", "-f", "-t", "2", site.container)
        keys.forget_host(lab_root / "known_hosts", site.address, site.port)
        removed.append(site.name)
    inventory_path(lab_name).unlink(missing_ok=True)
    if everything:
        podman.podman("rm", "-f", "-t", "2", SERVICES, check=False)
        if not podman.containers(podman.LABEL):
            podman.podman("network", "rm", NETWORK, check=False)
    return removed
