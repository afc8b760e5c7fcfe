"""The boot path on lab PCs that boot as room PCs do: firmware, then GRUB from their own disk (BIOS and UEFI).

Two VM sites (Debian 12, QEMU; one with SeaBIOS, one with OVMF) get the
lock-down's boot path, accounts, session and kernel concerns from ``site.yml``; then a
person at each keyboard (keys sent through QEMU's monitor) tries what anyone
who repurposes a locked PC tries first: edit the entry or open GRUB's command
line (a wrong password opens nothing; the right one does), boot with
``systemd.unit=emergency.target`` or ``rescue.target`` (sulogin refuses: root
is locked), SysRq at that prompt (nothing), ``break=`` into the initramfs (it
reboots), and Ctrl+Alt+Del on the running PC (nothing). Between attempts, each
PC boots unattended through its default entry.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioner import paths, verify
from provisioner.lab import keyboard, keys, sites, vm
from provisioner.lab.keyboard import Keyboard
from provisioner.runner import run_playbook

pytestmark = pytest.mark.lab

LAB = "boot-vm"
SUPERUSER = "provadmin"
#: The default entry's commands as GRUB's editor shows them: "setparams" first, then the entry's body.
EDITOR_TOP = "setparams 'Debian GNU/Linux'"
#: What the PCs are converged with: the lock-down's boot path, accounts (root locked), session (Ctrl+Alt+Del) and kernel
#: settings (after the lab's apt mirror, for the packages of the accounts' PAM settings).
CONCERNS = "lockdown_boot,lockdown_accounts,lockdown_session,lockdown_kernel"


@dataclass(frozen=True)
class Site:
    machine: vm.Machine
    run: vm.Shell
    password: str
    #: how many lines below "setparams" GRUB's editor shows the default entry's ``linux`` command
    linux_line: int
    inventory: Path

    @property
    def keyboard(self) -> Keyboard:
        return self.machine.keyboard

    def reboot(self) -> int:
        """Reboot the PC from its shell; where its screen was before."""
        at = self.keyboard.mark()
        self.run("systemctl reboot", None, 30)
        return at

    def booted(self, after: int) -> str:
        """Wait until the PC, booted unattended through GRUB, takes SSH again; its screen since ``after``."""
        screen = self.keyboard.wait_for("login:", 300, after=after)
        vm.wait_for_ssh(self.run, 180)
        return screen

    def boot_with(self, parameter: str, after: int, *, authenticated: bool = False) -> int:
        """At GRUB's menu, as the superuser, add ``parameter`` to the default entry's kernel command line and boot it.

        GRUB asks for the superuser once per boot: ``authenticated`` when it already has.
        """
        if authenticated:
            self.keyboard.wait_for(keyboard.GRUB_MENU, 60, after=after)
            at = self.keyboard.mark()
            self.keyboard.press("e")
        else:
            at = keyboard.grub_log_in(self.keyboard, "e", SUPERUSER, self.password, after=after)
        self.keyboard.wait_for(EDITOR_TOP, 60, after=at)
        self.keyboard.press(*["down"] * self.linux_line, keyboard.END)
        self.keyboard.type(f" {parameter}")
        at = self.keyboard.mark()
        self.keyboard.press(keyboard.CTRL_X)
        return at


@pytest.fixture(scope="module")
def pcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Site]]:
    folder = tmp_path_factory.mktemp("boot-vm")
    key = keys.management_key(paths.lab_dir())
    known_hosts, inventory = folder / "known_hosts", folder / "hosts.yml"
    disk = vm.ensure_disk("bookworm", keys.public_key(key))
    names = {"bios": "boot-vm-bios", "uefi": "boot-vm-uefi"}
    ports = sites.free_ports(2)
    machines = [
        vm.start(names[fw], port, disk, folder, firmware=fw, memory_mb=1536) for fw, port in zip(names, ports, strict=True)
    ]
    try:
        vm.trust(machines, known_hosts)
        vm.write_inventory(inventory, LAB, machines, services=sites.ensure_services(), key=key, known_hosts=known_hosts)
        shells = {m.name: vm.over_ssh(m.port, key, known_hosts) for m in machines}
        for run in shells.values():
            vm.wait_for_ssh(run, 300)
        mirror = run_playbook("site.yml", [inventory], tags="base_apt", forks=2)
        assert mirror.succeeded, f"pointing apt at the lab's mirror failed: {mirror.sites}"
        for run in shells.values():
            run("apt-get update -q", None, 300)
        result = run_playbook("site.yml", [inventory], tags=CONCERNS, forks=2)
        assert result.succeeded, f"the converge failed: {result.sites}"
        password = vm.grub_password()
        pcs = {m.firmware: Site(m, shells[m.name], password, _linux_line(shells[m.name]), inventory) for m in machines}
        yield pcs
    finally:
        for m in machines:
            vm.stop(m)


def _linux_line(run: vm.Shell) -> int:
    """Where the default entry's ``linux`` command is in GRUB's editor, read from the PC's grub.cfg."""
    cfg = run("cat /boot/grub/grub.cfg", None, 30).stdout
    body = cfg.split("menuentry 'Debian GNU/Linux'", 1)[1].split("{", 1)[1].split("\n}", 1)[0]
    lines = body.split("\n")  # GRUB's editor shows the text after "{" line by line: first the rest of that line (empty)
    return next(i for i, line in enumerate(lines) if line.split()[:1] == ["linux"]) + 1


def _bios(site: Site) -> None:
    """Edit without the password, edit with it into emergency.target and SysRq, break= into the initramfs."""
    k = site.keyboard
    at = site.reboot()
    shot = site.machine.folder / "bios-password-prompt.ppm"
    tried = keyboard.grub_log_in(k, "e", SUPERUSER, "wrong-password-2026", after=at, screendump=shot)
    time.sleep(8)
    assert EDITOR_TOP not in k.text()[tried:], "a wrong password opened GRUB's editor"
    assert shot.read_bytes().startswith(b"P6\n"), "QEMU's screendump of the password prompt is not a picture"
    # the menu is back (its countdown stopped by the key): with the password, the entry can be edited
    at = site.boot_with("systemd.unit=emergency.target", after=tried)
    screen = k.wait_for("root account is locked", 300, after=at)
    assert "login:" not in screen
    k.press("alt-sysrq-h")
    time.sleep(3)
    k.type("id\n")
    screen = site.booted(after=at)  # sulogin refuses, and the PC goes on to its normal boot
    assert "sysrq: HELP" not in screen, "SysRq answered at the emergency prompt"
    assert "uid=0" not in screen, "the emergency target gave a root shell"
    # the same boot (its command line still asks for emergency.target) went on to the PC's normal target
    assert "systemd.unit=emergency.target" in site.run("cat /proc/cmdline", None, 30).stdout
    assert site.run("systemctl is-active multi-user.target", None, 30).stdout.strip() == "active"
    at = site.reboot()
    at = site.boot_with("break=premount", after=at)
    screen = k.wait_for("Rebooting automatically due to panic= boot argument", 300, after=at)
    assert "(initramfs)" not in screen, "the initramfs opened its shell"
    site.booted(after=at)


def _uefi(site: Site) -> None:
    """The command line without the password and with it; rescue.target; Ctrl+Alt+Del on the running PC."""
    k = site.keyboard
    at = site.reboot()
    tried = keyboard.grub_log_in(k, "c", SUPERUSER, "wrong-password-2026", after=at)
    time.sleep(8)
    assert "grub>" not in k.text()[tried:], "a wrong password opened GRUB's command line"
    tried = keyboard.grub_log_in(k, "c", SUPERUSER, site.password, after=tried)
    k.wait_for("grub>", 60, after=tried)
    at = k.mark()
    k.press(keyboard.ESC)  # back to the menu
    at = site.boot_with("systemd.unit=rescue.target", after=at, authenticated=True)
    screen = k.wait_for("root account is locked", 300, after=at)
    k.type("id\n")
    screen = site.booted(after=at)
    assert "uid=0" not in screen, "the rescue target gave a root shell"
    boot_id = site.run("cat /proc/sys/kernel/random/boot_id", None, 30).stdout
    k.press(*["ctrl-alt-delete"] * 8)  # a burst too: systemd's own reboot after 7 presses in 2 s
    time.sleep(15)
    assert site.run("cat /proc/sys/kernel/random/boot_id", None, 30).stdout == boot_id, "Ctrl+Alt+Del rebooted the PC"


def test_a_person_at_the_keyboard_cannot_open_a_root_shell_and_the_pc_boots_unattended(pcs: dict[str, Site]) -> None:
    """Both firmwares side by side (each VM emulates its own CPUs)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [pool.submit(_bios, pcs["bios"]), pool.submit(_uefi, pcs["uefi"])]
        for job in done:
            job.result()


def test_the_site_check_of_the_boot_path_passes_on_each_pc_and_each_booted_through_its_own_firmware(
    pcs: dict[str, Site],
) -> None:
    inventory = next(iter(pcs.values())).inventory
    argv = [sys.executable, "-m", "pytest", str(paths.checks_dir()), "-c", str(paths.checks_dir() / "pytest.ini")]
    argv += ["--hosts=ansible://all", "-k", "test_the_boot_path_needs_the_grub_password", "-q", "--no-header"]
    done = subprocess.run(argv, env=verify.env([inventory]), capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0 and "2 passed" in done.stdout, done.stdout[-2000:]
    for site in pcs.values():
        booted = site.run("test -d /sys/firmware/efi && echo uefi || echo bios", None, 30).stdout.strip()
        assert booted == site.machine.firmware, f"{site.machine.name} booted with {booted}, not {site.machine.firmware}"
