"""The lock-down's boot path: the GRUB password module against GRUB's own tools, and the scripts it installs."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import jinja2
import pytest

from provisioner.lab import keyboard
from provisioner.lab.keyboard import Keyboard

ROLE = Path(__file__).resolve().parent.parent / "roles/lockdown"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lockdown_grub_password", ROLE / "library/lockdown_grub_password.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _grub_hash(password: str) -> str:
    """A hash made by GRUB's own grub-mkpasswd-pbkdf2 (it asks twice)."""
    tool = shutil.which("grub-mkpasswd-pbkdf2")
    assert tool, "grub-mkpasswd-pbkdf2 is missing: scripts/setup.sh installs grub-common"
    done = subprocess.run([tool, "-c", "1000"], input=f"{password}\n{password}\n", capture_output=True, text=True, check=True)
    return done.stdout.split("is ", 1)[1].strip()


def test_a_hash_made_by_grub_is_recognised_and_a_wrong_password_is_not() -> None:
    m = _module()
    hashed = _grub_hash("mật-khẩu-khởi-động-2026")
    text = m.script("provadmin", hashed)
    assert m.matches(text, "provadmin", "mật-khẩu-khởi-động-2026")
    assert not m.matches(text, "provadmin", "mật-khẩu-khác-2026")
    assert not m.matches(text, "someone", "mật-khẩu-khởi-động-2026")


def test_the_module_makes_hashes_in_grubs_format() -> None:
    m = _module()
    ours = m.pbkdf2("một mật khẩu dài", b"\x01" * 64, 1000)
    grubs = _grub_hash("một mật khẩu dài")
    assert ours.split(".")[:4] == grubs.split(".")[:4] == ["grub", "pbkdf2", "sha512", "1000"]
    assert [len(p) for p in ours.split(".")[4:]] == [len(p) for p in grubs.split(".")[4:]] == [128, 128]


def _run(args: dict[str, object], *, check_mode: bool = False) -> dict[str, object]:
    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check_mode}}
    module = str(ROLE / "library/lockdown_grub_password.py")
    done = subprocess.run([sys.executable, module], input=json.dumps(payload), capture_output=True, text=True, check=False)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_script_is_written_once_root_only_and_redrawn_when_the_password_changes(tmp_path: Path) -> None:
    path = tmp_path / "01_lockdown_password"
    args = {"path": str(path), "user": "provadmin", "password": "mật-khẩu-khởi-động-2026", "iterations": 1000}
    assert _run(args, check_mode=True)["changed"] is True and not path.exists()
    first = _run(args)
    assert first["changed"] is True and "mật" not in json.dumps(first)
    assert path.stat().st_mode & 0o777 == 0o700
    text = path.read_text()
    assert _run(args)["changed"] is False and path.read_text() == text  # idempotent: no new salt
    assert _run({**args, "password": "một-mật-khẩu-mới-2026"})["changed"] is True
    assert path.read_text() != text
    assert _run({**args, "password": "ngắn"}).get("failed") is True
    before = path.read_text()
    hostile = _run({**args, "user": 'a"\nEOF\nreboot\ncat <<EOF'})  # a name that would break out of the script's here-document
    assert hostile.get("failed") is True and path.read_text() == before


def test_the_scripts_grub_mkconfig_runs_give_grub_a_valid_protected_configuration(tmp_path: Path) -> None:
    """01_lockdown_password and the 10_linux wrapper, over a menu as Debian's 10_linux writes it, pass grub-script-check."""
    m = _module()
    distrib = tmp_path / "10_linux.distrib"
    distrib.write_text(
        "#!/bin/sh\ncat <<'EOF'\n"
        "menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os"
        " $menuentry_id_option 'gnulinux-simple' {\n"
        "\tlinux /boot/vmlinuz root=/dev/vda3 ro quiet\n}\n"
        "submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced' {\n"
        "\tmenuentry 'Debian GNU/Linux, with Linux 6.1' --class debian --class gnu-linux $menuentry_id_option 'gnulinux-6.1' {\n"
        "\t\tlinux /boot/vmlinuz root=/dev/vda3 ro quiet\n\t}\n}\nEOF\n"
    )
    wrapper = jinja2.Template((ROLE / "templates/10_linux.j2").read_text()).render(lockdown_boot_linux_distrib=str(distrib))
    (tmp_path / "10_linux").write_text(wrapper)
    users = m.script("provadmin", m.pbkdf2("mật-khẩu-khởi-động-2026", b"\x02" * 64, 1000))
    header = subprocess.run(["sh", "-c", users], capture_output=True, text=True, check=True)
    entries = subprocess.run(["sh", str(tmp_path / "10_linux")], capture_output=True, text=True, check=True)
    cfg = tmp_path / "grub.cfg"
    cfg.write_text(header.stdout + entries.stdout)
    lines = cfg.read_text().splitlines()
    assert lines[0] == 'set superusers="provadmin"'
    assert lines[1].startswith("password_pbkdf2 provadmin grub.pbkdf2.sha512.1000.")
    top = [line for line in lines if line.startswith("menuentry ")]
    assert len(top) == 1 and " --unrestricted --class debian " in top[0]
    assert not any("--unrestricted" in line for line in lines if line.startswith("\t"))  # the submenu's entries need the password
    assert subprocess.run(["grub-script-check", str(cfg)], capture_output=True, check=False).returncode == 0


@pytest.mark.parametrize("broken", ["no password", "no unrestricted entry"])
def test_the_regeneration_refuses_a_configuration_that_lost_its_protection(tmp_path: Path, broken: str) -> None:
    """lockdown-update-grub installs nothing when the generated file lacks the password or the unrestricted entry."""
    script = (ROLE / "files/lockdown-update-grub").read_text()
    boot = tmp_path / "boot/grub"
    boot.mkdir(parents=True)
    (boot / "grub.cfg").write_text("old\n")
    body = {
        "no password": "menuentry 'Debian' --unrestricted --class os {\n true\n}\n",
        "no unrestricted entry": (
            "set superusers=\"a\"\npassword_pbkdf2 a grub.pbkdf2.sha512.1.AA.BB\nmenuentry 'Debian' {\n true\n}\n"
        ),
    }[broken]
    fake = tmp_path / "bin"
    fake.mkdir()
    # grub-mkconfig stands in for the generation only: grub-script-check is GRUB's own
    (fake / "grub-mkconfig").write_text(f"#!/bin/sh\ncat > \"$2\" <<'EOF'\n{body}EOF\n")
    (fake / "grub-mkconfig").chmod(0o755)
    done = subprocess.run(
        ["sh", "-c", script.replace("/boot/grub", str(boot))],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": f"{fake}:/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    assert done.returncode == 1, done.stderr
    assert (boot / "grub.cfg").read_text() == "old\n"
    assert "lockdown-update-grub:" in done.stderr


class _Grub:
    """Real GRUB (grub-mkrescue's BIOS image) booted in QEMU with the role's password header, keys sent as a person would."""

    def __init__(self, folder: Path, users: str, timeout: int) -> None:
        iso = folder / "iso/boot/grub"
        iso.mkdir(parents=True)
        (iso / "grub.cfg").write_text(
            "serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\n"
            f"set timeout={timeout}\n{users}"
            "menuentry 'Debian GNU/Linux' --unrestricted --class debian {\n echo BOOTED-THE-DEFAULT-ENTRY\n sleep 600\n}\n"
            "submenu 'Advanced options' {\n menuentry 'other' {\n echo BOOTED-ANOTHER\n }\n}\n"
        )
        image = folder / "grub.iso"
        subprocess.run(["grub-mkrescue", "-o", str(image), str(folder / "iso")], capture_output=True, check=True, timeout=120)
        self.keys = Keyboard(folder / "monitor.sock", folder / "serial.log")
        self.qemu = subprocess.Popen(
            [
                *("qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-display", "none", "-no-reboot"),
                *("-serial", f"file:{self.keys.screen}", "-monitor", f"unix:{self.keys.socket},server,nowait"),
                *("-cdrom", str(image)),
            ]
        )

    def screen(self) -> str:
        return self.keys.text()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        self.keys.wait_for(text, timeout)

    def log_in(self, key: str, password: str, *, screendump: Path | None = None) -> None:
        """At the menu, press ``key`` and answer GRUB's prompts as the superuser (a screendump of the first prompt, if asked)."""
        keyboard.grub_log_in(self.keys, key, "provadmin", password, screendump=screendump)

    def close(self) -> None:
        self.qemu.kill()
        self.qemu.wait(timeout=10)


@pytest.fixture
def grub(tmp_path: Path) -> Iterator[Callable[[int], _Grub]]:
    m = _module()
    users = subprocess.run(
        ["sh", "-c", m.script("provadmin", m.pbkdf2("mat-khau-khoi-dong-2026", b"\x04" * 64, 1000))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    started: list[_Grub] = []

    def boot(timeout: int) -> _Grub:
        machine = _Grub(tmp_path / str(len(started)), users, timeout)
        started.append(machine)
        return machine

    yield boot
    for machine in started:
        machine.close()


@pytest.mark.parametrize("key", ["e", "c"], ids=["edit an entry", "command line"])
def test_at_the_grub_menu_editing_and_the_command_line_need_the_password(
    grub: Callable[[int], _Grub], key: str, tmp_path: Path
) -> None:
    g = grub(60)
    shot = tmp_path / "prompt.ppm"
    g.log_in(key, "wrong-password-2026", screendump=shot)
    time.sleep(5)
    screen = g.screen()
    assert "BOOTED" not in screen and "grub>" not in screen, "a wrong password opened the editor or the command line"
    header = shot.read_bytes()[:15]
    assert header.startswith(b"P6\n"), "QEMU's screendump of the password prompt is not a picture"


@pytest.mark.parametrize(
    ("key", "shown"), [("e", "BOOTED-THE-DEFAULT-ENTRY"), ("c", "grub>")], ids=["edit an entry", "command line"]
)
def test_with_the_password_the_entry_can_be_edited_and_the_command_line_opened(
    grub: Callable[[int], _Grub], key: str, shown: str
) -> None:
    g = grub(60)
    g.log_in(key, "mat-khau-khoi-dong-2026")
    g.wait_for(shown)  # the editor shows the entry's commands; the command line its prompt


def test_the_default_entry_boots_unattended(grub: Callable[[int], _Grub]) -> None:
    g = grub(1)
    g.wait_for("BOOTED-THE-DEFAULT-ENTRY")
    assert "Enter username:" not in g.screen()
