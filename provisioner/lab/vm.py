"""Lab sites that are virtual machines: QEMU, a Debian kernel of their own.

A container shares its host's kernel: the sysctls, mounts, audit daemon and
kernel modules the lock-down sets are the host's there, so an audit of a
container cannot see them. A VM site is a whole PC. It is reached like a
container site, over SSH on a 127.0.0.1 port (QEMU's user network forwards it),
and reaches the lab's services (apt cache, NTP, registrar) as containers do.

Its host keys are made at its first boot and printed on its serial console,
which the controller reads from a file: the keys are trusted from there, not
from the network.
"""

from __future__ import annotations

import itertools
import os
import re
import select
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import paths, proc, yamlout
from provisioner.atomic import write_atomic
from provisioner.errors import ImageBuildError, LabError
from provisioner.lab import image, sites
from provisioner.lab.image import Progress, Recipe

# QEMU emulates the CPU (TCG) unless PROVISIONER_VM_ACCEL=kvm: on machines where /dev/kvm
# exists but a guest never runs (a nested sandbox; seen here: no console output at all),
# emulation is slow but sure.

#: What a VM site needs beyond a container's: a kernel, and what boots it.
VM_PACKAGES = ("linux-image-amd64", "initramfs-tools", "udev", "kmod", "dbus", "iproute2")
DISK_SIZE = "8G"
BOOT_TIMEOUT = 600.0  # an emulated CPU makes its RSA host key slowly
#: How the guest sees the controller: QEMU's user network puts the host at 10.0.2.2.
MANAGEMENT_NETWORK = "10.0.2.2/32"

KEYGEN_UNIT = image.KEYGEN_UNIT.replace(
    "ExecStart=/usr/bin/ssh-keygen -A\n",
    "ExecStart=/usr/bin/ssh-keygen -A\n"
    "ExecStartPost=/bin/sh -c 'for k in /etc/ssh/ssh_host_*_key.pub; do echo \"LAB-HOSTKEY $(cat $k)\"; done > /dev/ttyS0'\n",
)

#: What Debian's installer writes (debootstrap leaves it out; a container gets one from podman).
HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

NETWORK_UNIT = """\
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
"""


@dataclass(frozen=True)
class Disk:
    """A built VM image: its root file system and the kernel that boots it."""

    folder: Path

    @property
    def root(self) -> Path:
        return self.folder / "root.raw"

    @property
    def kernel(self) -> Path:
        return self.folder / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.folder / "initrd.img"


@dataclass(frozen=True)
class Machine:
    """One running VM site."""

    name: str
    port: int
    folder: Path

    @property
    def pidfile(self) -> Path:
        return self.folder / f"{self.name}.pid"

    @property
    def console(self) -> Path:
        return self.folder / f"{self.name}.console.log"

    @property
    def overlay(self) -> Path:
        return self.folder / f"{self.name}.qcow2"


def recipe(suite: str, pubkey: str) -> Recipe:
    base = image.recipe(suite)
    return Recipe(
        suite=suite,
        packages=base.packages + VM_PACKAGES,
        keygen_unit=KEYGEN_UNIT,
        masked=(),
        extra={"kind": "vm", "authorized_key": pubkey, "network": NETWORK_UNIT, "hosts": HOSTS},
    )


def _customise(root: Path, r: Recipe) -> None:
    image.customise(root, r)
    (root / "etc/fstab").write_text("/dev/vda / ext4 defaults,errors=remount-ro 0 1\n")
    (root / "etc/hostname").write_text("lab-vm\n")
    (root / "etc/hosts").write_text(r.extra["hosts"])
    # no name service: a lab site reaches the lab by address, and nothing else
    (root / "etc/resolv.conf").unlink(missing_ok=True)
    (root / "etc/resolv.conf").write_text("# lab VM: no name server\n")
    (root / "etc/systemd/network/20-lab.network").write_text(r.extra["network"])
    ssh = root / "root/.ssh"
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    (ssh / "authorized_keys").write_text(r.extra["authorized_key"].strip() + "\n")
    (ssh / "authorized_keys").chmod(0o600)
    proc.run(["chroot", str(root), "systemctl", "enable", "systemd-networkd.service"], timeout=60)


def ensure_disk(suite: str, pubkey: str, progress: Progress = image.quiet) -> Disk:
    """The VM image of ``suite`` (authorising ``pubkey`` for root), built once per recipe and kept in the lab folder."""
    r = recipe(suite, pubkey)
    disk = Disk(paths.lab_dir() / "vm" / f"{suite}-{r.digest()}")
    if disk.root.is_file() and disk.kernel.is_file() and disk.initrd.is_file():
        return disk
    mkfs = proc.require("mkfs.ext4", package="e2fsprogs")
    progress(f"building the Debian {suite} VM image with debootstrap (a few minutes)")
    disk.folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"provisioner-vm-{suite}-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        image.debootstrap(r, root)
        _customise(root, r)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=disk.folder.parent))
        try:
            kernels = sorted(root.glob("boot/vmlinuz-*"))
            initrds = sorted(root.glob("boot/initrd.img-*"))
            if not kernels or not initrds:
                raise ImageBuildError(f"the Debian {suite} VM image has no kernel or initrd under /boot")
            shutil.copyfile(kernels[-1], building / "vmlinuz")
            shutil.copyfile(initrds[-1], building / "initrd.img")
            proc.run([mkfs, "-q", "-F", "-L", "labroot", "-d", str(root), str(building / "root.raw"), DISK_SIZE], timeout=900)
            building.rename(disk.folder)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return disk


def start(name: str, port: int, disk: Disk, folder: Path, *, memory_mb: int = 3072, cpus: int = 2) -> Machine:
    """Boot a VM site from ``disk`` (on a copy-on-write layer of its own), SSH forwarded from 127.0.0.1:``port``."""
    qemu = proc.require("qemu-system-x86_64", package="qemu-system-x86")
    qemu_img = proc.require("qemu-img", package="qemu-utils")
    folder.mkdir(parents=True, exist_ok=True)
    machine = Machine(name, port, folder)
    stop(machine)  # one left running by a bench that was killed (SIGKILL gives it no chance to stop its VMs)
    machine.console.unlink(missing_ok=True)
    proc.run([qemu_img, "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(disk.root), str(machine.overlay)])
    accel = ["-accel", "kvm"] if os.environ.get("PROVISIONER_VM_ACCEL") == "kvm" else ["-accel", "tcg,thread=multi"]
    argv = [
        qemu,
        "-name",
        name,
        *accel,
        "-m",
        str(memory_mb),
        "-smp",
        str(cpus),
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        f"file:{machine.console}",
        "-kernel",
        str(disk.kernel),
        "-initrd",
        str(disk.initrd),
        "-append",
        "root=/dev/vda rw console=ttyS0 net.ifnames=0",
        "-drive",
        f"file={machine.overlay},if=virtio,format=qcow2",
        "-netdev",
        f"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device",
        "virtio-net-pci,netdev=net0",
        "-device",
        "virtio-rng-pci",
        "-daemonize",
        "-pidfile",
        str(machine.pidfile),
    ]
    done = proc.run(argv, check=False, timeout=60)
    if done.returncode != 0:
        raise LabError(f"VM site {name} did not start: {(done.stderr or done.stdout).strip()[-400:]}")
    return machine


def host_keys(machine: Machine, timeout: float = BOOT_TIMEOUT) -> list[str]:
    """The VM's host keys, as its first boot printed them on its console (waits for them)."""
    deadline = time.monotonic() + timeout
    while True:
        text = machine.console.read_text(errors="replace") if machine.console.is_file() else ""
        keys = [m.group(1).strip() for m in re.finditer(r"LAB-HOSTKEY (ssh-\S+ \S+)", text)]
        if any(k.startswith("ssh-ed25519 ") for k in keys):
            return keys
        if time.monotonic() > deadline:
            raise LabError(f"VM site {machine.name} printed no host keys in {timeout:.0f} s", hint=f"look at {machine.console}")
        time.sleep(1)


def _is_this_qemu(pid: int, machine: Machine) -> bool:
    """Whether process ``pid`` is this VM's QEMU: by its command line (``qemu-system-*`` with ``-name NAME``)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    is_qemu = os.path.basename(argv[0]).startswith(b"qemu-system")
    return is_qemu and any(a == b"-name" and b == machine.name.encode() for a, b in itertools.pairwise(argv))


def _exited(pidfd: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for the process of ``pidfd`` to exit (a zombie has exited)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(int(timeout * 1000)))


def _open_qemu(machine: Machine) -> int | None:
    """A pidfd of this VM's QEMU, or None: the pidfile's pid only while it is still that QEMU (pids are reused).

    The pidfd holds on to one process: once its command line is read and the
    process is seen alive after that, every signal sent through the pidfd
    reaches that QEMU and no process that took its pid later.
    """
    try:
        pid = int(machine.pidfile.read_text().strip())
        pidfd = os.pidfd_open(pid)
    except (OSError, ValueError):
        return None
    if _is_this_qemu(pid, machine) and not _exited(pidfd, 0):
        return pidfd
    os.close(pidfd)
    return None


def stop(machine: Machine, *, grace: float = 5.0) -> None:
    """Power the VM off (SIGTERM, then SIGKILL after ``grace`` seconds) and drop its disk layer.

    Signals go through a pidfd, never to a bare pid: the QEMU may exit and be
    reaped at any moment, and its pid given to another process.
    """
    pidfd = _open_qemu(machine)
    if pidfd is not None:
        try:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
                try:
                    signal.pidfd_send_signal(pidfd, sig)
                except ProcessLookupError:
                    break  # exited and reaped: nothing left to signal
                if _exited(pidfd, wait):
                    break
        finally:
            os.close(pidfd)
    machine.pidfile.unlink(missing_ok=True)
    machine.overlay.unlink(missing_ok=True)


def trust(machines: list[Machine], known_hosts: Path) -> None:
    """Record each VM's host keys (read from its console) as the only keys its port may present."""
    lines = [f"[{sites.ADDRESS}]:{m.port} {key}\n" for m in machines for key in host_keys(m)]
    write_atomic(known_hosts, "".join(lines), 0o600)


def write_inventory(path: Path, group: str, machines: list[Machine], *, services: str, key: Path, known_hosts: Path) -> None:
    """An inventory of VM sites, with the lab's variables (its mirror, NTP, services) as container sites have them."""
    pubkey = key.with_suffix(".pub").read_text().strip()
    hosts: dict[str, Any] = {
        m.name: {
            "ansible_host": sites.ADDRESS,
            "ansible_port": m.port,
            "lockdown_management_networks": [MANAGEMENT_NETWORK],
            # these VMs boot their kernel directly (QEMU -kernel), not through GRUB: no boot path to protect yet
            "lockdown_boot_enabled": False,
        }
        for m in machines
    }
    group_vars = {
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": " ".join(sites.ssh_options(known_hosts)),
        **sites.role_vars(services, pubkey),
    }
    doc = {"all": {"children": {group: {"hosts": hosts, "vars": group_vars}}}}
    header = [f"VM lab '{group}': written by provisioner.lab.vm; sites are QEMU VMs on loopback ports."]
    write_atomic(path, yamlout.dumps(doc, header, unsafe=True), 0o600)
