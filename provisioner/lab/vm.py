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

import hashlib
import itertools
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import paths, proc, yamlout
from provisioner.atomic import write_atomic
from provisioner.errors import CommandFailedError, ImageBuildError, LabError
from provisioner.lab import image, sites
from provisioner.lab.image import Progress, Recipe
from provisioner.lab.keyboard import Keyboard

# QEMU emulates the CPU (TCG) unless PROVISIONER_VM_ACCEL=kvm: on machines where /dev/kvm
# exists but a guest never runs (a nested sandbox; seen here: no console output at all),
# emulation is slow but sure.

#: What a VM site needs beyond a container's: a kernel, and what boots it.
VM_PACKAGES = (
    "linux-image-amd64",
    "initramfs-tools",
    "udev",
    "kmod",
    "dbus",
    "iproute2",
    "python3-apt",  # Ansible's apt module: Debian's installer media of the province put it there too
    "grub-pc",  # GRUB for BIOS, managed by its package as on a PC Debian's installer set up
    "grub-efi-amd64-bin",  # GRUB's UEFI image, installed on the ESP's removable path
)
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

#: The disk, as Debian's installer lays out a PC's (GPT): GRUB's BIOS boot partition, an EFI system partition, the root.
SECTOR = 512
DISK_BYTES = 8 * 1024**3
BIOS_BOOT = (2048, 2048)  # (first sector, sectors)
ESP = (4096, 131072)
ROOT_START = 135168
GPT_BACKUP_SECTORS = 2048  # the end of the disk is left to GPT's backup table
ROOT_SECTORS = DISK_BYTES // SECTOR - ROOT_START - GPT_BACKUP_SECTORS
SFDISK_LAYOUT = (
    "label: gpt\n"
    f'start={BIOS_BOOT[0]}, size={BIOS_BOOT[1]}, type=21686148-6449-6E6F-744E-656564454649, name="bios"\n'
    f'start={ESP[0]}, size={ESP[1]}, type=U, name="esp"\n'
    f'start={ROOT_START}, size={ROOT_SECTORS}, type=L, name="root"\n'
)
FSTAB = "LABEL=labroot / ext4 defaults,errors=remount-ro 0 1\nLABEL=LABESP /boot/efi vfat umask=0077 0 1\n"

#: GRUB and the kernel also on the serial console, where the lab reads them (a room PC has only its screen).
GRUB_DEFAULTS = """\
# Lab VM (provisioner.lab.vm): GRUB's menu and the kernel's console on the serial line too.
GRUB_TIMEOUT=5
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200 net.ifnames=0"
"""

#: Run once, as the first process of the disk's first boot: Debian's grub-install for both firmwares, then power off.
GRUB_INSTALL = """\
#!/bin/sh
# Lab VM disk, first boot only (init=): install GRUB as Debian's installer does, for BIOS and for UEFI
# (the removable path, so OVMF finds it with no boot entry), make grub.cfg, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
(
    set -eu
    mountpoint -q /proc || mount -t proc proc /proc  # the initramfs hands them over mounted
    mountpoint -q /sys || mount -t sysfs sys /sys
    mountpoint -q /dev || mount -t devtmpfs dev /dev
    mount -o remount,rw /
    mount /boot/efi
    grub-install --target=i386-pc /dev/vda
    grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram
    echo "grub-pc grub-pc/install_devices multiselect /dev/vda" | debconf-set-selections
    update-grub
    umount /boot/efi
    echo LAB-GRUB-INSTALLED
)
sync
mount -o remount,ro / || true
poweroff -f -f
"""

#: Runs a shell command on a site: (command, input, timeout) -> its result (raises when it fails).
Shell = Callable[[str, str | None, float], subprocess.CompletedProcess[str]]

#: OVMF from Debian's package: the firmware's code, and the empty variable store each VM copies.
OVMF = (Path("/usr/share/OVMF/OVMF_CODE_4M.fd"), Path("/usr/share/OVMF/OVMF_VARS_4M.fd"))


@dataclass(frozen=True)
class Disk:
    """A built VM disk: GPT with GRUB installed for BIOS (its boot partition) and UEFI (the removable path of the ESP)."""

    folder: Path

    @property
    def image(self) -> Path:
        return self.folder / "disk.raw"


@dataclass(frozen=True)
class Machine:
    """One running VM site."""

    name: str
    port: int
    folder: Path
    firmware: str = "bios"

    @property
    def pidfile(self) -> Path:
        return self.folder / f"{self.name}.pid"

    @property
    def console(self) -> Path:
        return self.folder / f"{self.name}.console.log"

    @property
    def overlay(self) -> Path:
        return self.folder / f"{self.name}.qcow2"

    @property
    def nvram(self) -> Path:
        """The VM's own UEFI variables (a copy of OVMF's empty store)."""
        return self.folder / f"{self.name}.efivars.fd"

    @property
    def monitor(self) -> Path:
        """QEMU's monitor socket: a short path of its own (a Unix socket's path has at most 107 bytes)."""
        tag = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"provisioner-vm-{tag}" / f"{self.name}.monitor"

    @property
    def keyboard(self) -> Keyboard:
        return Keyboard(self.monitor, self.console)


def grub_password() -> str:
    """The lab VMs' GRUB password, made once per lab folder (its tests type it at GRUB's prompt: letters and digits)."""
    path = paths.lab_dir() / "grub-password"
    if not path.is_file():
        write_atomic(path, secrets.token_hex(10) + "\n", 0o600)
    return path.read_text().strip()


def recipe(suite: str, pubkey: str) -> Recipe:
    base = image.recipe(suite)
    return Recipe(
        suite=suite,
        packages=base.packages + VM_PACKAGES,
        keygen_unit=KEYGEN_UNIT,
        masked=(),
        extra={
            "kind": "vm",
            "authorized_key": pubkey,
            "network": NETWORK_UNIT,
            "hosts": HOSTS,
            "fstab": FSTAB,
            "grub": GRUB_DEFAULTS,
            "grub_install": GRUB_INSTALL,
            "layout": SFDISK_LAYOUT,
        },
    )


def _customise(root: Path, r: Recipe) -> None:
    image.customise(root, r)
    (root / "etc/fstab").write_text(r.extra["fstab"])
    (root / "boot/efi").mkdir(parents=True, exist_ok=True)
    (root / "etc/hostname").write_text("lab-vm\n")
    (root / "etc/hosts").write_text(r.extra["hosts"])
    # no name service: a lab site reaches the lab by address, and nothing else
    (root / "etc/resolv.conf").unlink(missing_ok=True)
    (root / "etc/resolv.conf").write_text("# lab VM: no name server\n")
    (root / "etc/systemd/network/20-lab.network").write_text(r.extra["network"])
    (root / "etc/default/grub.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/default/grub.d/lab.cfg").write_text(r.extra["grub"])
    installer = root / "usr/local/sbin/lab-grub-install"
    installer.write_text(r.extra["grub_install"])
    installer.chmod(0o755)
    ssh = root / "root/.ssh"
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    (ssh / "authorized_keys").write_text(r.extra["authorized_key"].strip() + "\n")
    (ssh / "authorized_keys").chmod(0o600)
    proc.run(["chroot", str(root), "systemctl", "enable", "systemd-networkd.service"], timeout=60)


def _partition(raw: Path, root: Path) -> None:
    """Lay out ``raw`` as the VM's GPT disk and make its file systems in place (no loop device: mkfs at an offset)."""
    sfdisk = proc.require("sfdisk", package="fdisk")
    mkfs = proc.require("mkfs.ext4", package="e2fsprogs")
    mkfat = proc.require("mkfs.vfat", package="dosfstools")
    with raw.open("wb") as f:
        f.truncate(DISK_BYTES)
    proc.run([sfdisk, "--quiet", str(raw)], input=SFDISK_LAYOUT, timeout=60)
    esp_start, esp_sectors = ESP
    fat = ["-F", "32", "-s", "1", "-S", str(SECTOR), "--offset", str(esp_start), "-n", "LABESP"]
    proc.run([mkfat, *fat, str(raw), str(esp_sectors // 2)])
    ext4 = ["-q", "-F", "-L", "labroot", "-E", f"offset={ROOT_START * SECTOR}", "-d", str(root)]
    proc.run([mkfs, *ext4, str(raw), f"{ROOT_SECTORS * SECTOR // 1024}k"], timeout=900)


def _install_grub(raw: Path, kernel: Path, initrd: Path, folder: Path) -> None:
    """Boot the new disk once with its own kernel to run Debian's grub-install for BIOS and UEFI, and update-grub.

    The installer runs as the first process (no systemd: nothing else starts,
    no host key or machine id is made), then powers the VM off.
    """
    qemu = proc.require("qemu-system-x86_64", package="qemu-system-x86")
    console = folder / "grub-install.console.log"
    argv = [
        qemu,
        *_accel(),
        *("-m", "1024", "-smp", "2", "-display", "none", "-monitor", "none", "-no-reboot"),
        *("-serial", f"file:{console}", "-kernel", str(kernel), "-initrd", str(initrd)),
        *("-append", "root=LABEL=labroot rw console=ttyS0 init=/usr/local/sbin/lab-grub-install"),
        *("-drive", f"file={raw},if=virtio,format=raw", "-nic", "none"),
    ]
    proc.run(argv, timeout=BOOT_TIMEOUT)
    text = console.read_text(errors="replace") if console.is_file() else ""
    if "LAB-GRUB-INSTALLED" not in text:
        raise ImageBuildError(f"grub-install on the VM disk did not finish: {text[-800:]}", hint=f"look at {console}")


def ensure_disk(suite: str, pubkey: str, progress: Progress = image.quiet) -> Disk:
    """The VM disk of ``suite`` (authorising ``pubkey`` for root), built once per recipe and kept in the lab folder."""
    r = recipe(suite, pubkey)
    disk = Disk(paths.lab_dir() / "vm" / f"{suite}-{r.digest()}")
    if disk.image.is_file():
        return disk
    progress(f"building the Debian {suite} VM disk with debootstrap and GRUB (a few minutes)")
    disk.folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"provisioner-vm-{suite}-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        image.debootstrap(r, root)
        _customise(root, r)
        kernels = sorted(root.glob("boot/vmlinuz-*"))
        initrds = sorted(root.glob("boot/initrd.img-*"))
        if not kernels or not initrds:
            raise ImageBuildError(f"the Debian {suite} VM image has no kernel or initrd under /boot")
        kernel, initrd = Path(tmp) / "vmlinuz", Path(tmp) / "initrd.img"
        shutil.copyfile(kernels[-1], kernel)
        shutil.copyfile(initrds[-1], initrd)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=disk.folder.parent))
        try:
            raw = building / disk.image.name
            _partition(raw, root)
            shutil.rmtree(root)
            progress(f"installing GRUB on the Debian {suite} VM disk (one emulated boot)")
            _install_grub(raw, kernel, initrd, Path(tmp))
            building.rename(disk.folder)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return disk


def _accel() -> list[str]:
    return ["-accel", "kvm"] if os.environ.get("PROVISIONER_VM_ACCEL") == "kvm" else ["-accel", "tcg,thread=multi"]


def _firmware(machine: Machine) -> list[str]:
    """QEMU's firmware for ``machine``: SeaBIOS (QEMU's default) or OVMF with the VM's own variable store."""
    if machine.firmware == "bios":
        return []
    if machine.firmware != "uefi":
        raise LabError(f"unknown VM firmware {machine.firmware!r}", hint="use bios or uefi")
    code, variables = OVMF
    if not code.is_file():
        raise LabError(f"OVMF is not installed ({code} is missing)", hint="apt-get install ovmf (scripts/setup.sh does)")
    if not machine.nvram.is_file():
        shutil.copyfile(variables, machine.nvram)
    return [
        *("-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}"),
        *("-drive", f"if=pflash,format=raw,unit=1,file={machine.nvram}"),
    ]


def start(
    name: str, port: int, disk: Disk, folder: Path, *, firmware: str = "bios", memory_mb: int = 3072, cpus: int = 2
) -> Machine:
    """Boot a VM site from ``disk`` through its firmware and GRUB, on a copy-on-write layer of its own.

    SSH is forwarded from 127.0.0.1:``port``; ``firmware`` is ``bios`` (SeaBIOS) or ``uefi`` (OVMF).
    """
    qemu = proc.require("qemu-system-x86_64", package="qemu-system-x86")
    qemu_img = proc.require("qemu-img", package="qemu-utils")
    folder.mkdir(parents=True, exist_ok=True)
    machine = Machine(name, port, folder, firmware)
    stop(machine)  # one left running by a bench that was killed (SIGKILL gives it no chance to stop its VMs)
    machine.console.unlink(missing_ok=True)
    machine.nvram.unlink(missing_ok=True)
    machine.monitor.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    machine.monitor.unlink(missing_ok=True)
    proc.run([qemu_img, "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(disk.image), str(machine.overlay)])
    argv = [
        qemu,
        *("-name", name),
        *_accel(),
        *_firmware(machine),
        *("-m", str(memory_mb), "-smp", str(cpus)),
        *("-display", "none", "-vga", "std"),
        *("-monitor", f"unix:{machine.monitor},server,nowait"),
        *("-serial", f"file:{machine.console}"),
        *("-drive", f"file={machine.overlay},if=virtio,format=qcow2"),
        *("-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:22", "-device", "virtio-net-pci,netdev=net0"),
        *("-device", "virtio-rng-pci"),
        *("-daemonize", "-pidfile", str(machine.pidfile)),
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


def over_ssh(port: int, key: Path, known_hosts: Path) -> Shell:
    ssh = proc.require("ssh", package="openssh-client")
    argv = [ssh, *sites.ssh_options(known_hosts), "-o", "BatchMode=yes", "-i", str(key), "-p", str(port)]
    return lambda command, stdin, timeout: proc.run([*argv, f"root@{sites.ADDRESS}", command], input=stdin, timeout=timeout)


def wait_for_ssh(run: Shell, timeout: float = 120) -> None:
    """Until the site takes an SSH login (its keys printed, sshd may still be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            run("true", None, 30)
            return
        except CommandFailedError:  # a refused or cut connection while it boots
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


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
        }
        for m in machines
    }
    group_vars = {
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": " ".join(sites.ssh_options(known_hosts)),
        **sites.role_vars(services, pubkey),
        # the lab's own GRUB password (a province keeps its own in Ansible Vault)
        "lockdown_boot_password": grub_password(),
    }
    doc = {"all": {"children": {group: {"hosts": hosts, "vars": group_vars}}}}
    header = [f"VM lab '{group}': written by provisioner.lab.vm; sites are QEMU VMs on loopback ports."]
    write_atomic(path, yamlout.dumps(doc, header, unsafe=True), 0o600)
