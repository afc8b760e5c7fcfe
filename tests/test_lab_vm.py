"""VM lab sites: stopping one finds its QEMU by the pidfile, and never another process that took the pid."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.lab import vm


def _fake_qemu(name: str, script: str = "sleep 60; :", *, ignores: int = 0) -> subprocess.Popen[bytes]:
    """A process whose command line is a QEMU's for the VM ``name`` (bash, so it costs nothing), once it is in place.

    ``Popen`` returns while the child can still be inside ``execve`` (Python
    uses vfork: the parent resumes when the child lets go of its old memory,
    before the new program's arguments are set up), and its
    ``/proc/PID/cmdline`` reads empty until then: a real QEMU writes its
    pidfile only once it runs. So wait for the command line, and for the
    signals ``script`` ignores (``ignores``, a signal number) to be ignored.
    The child starts with default dispositions whatever the test run inherited.
    """
    p = subprocess.Popen(
        ["qemu-system-x86_64", "-c", script, "-name", name],
        executable="/bin/bash",
        preexec_fn=_default_signals,  # noqa: PLW1509 - the child runs no Python thread between fork and exec
    )
    deadline = time.monotonic() + 10
    while not _in_place(p.pid, ignores):
        assert time.monotonic() < deadline, "the stand-in QEMU did not start"
        time.sleep(0.01)
    return p


def _in_place(pid: int, ignores: int) -> bool:
    proc = Path(f"/proc/{pid}")
    if not proc.joinpath("cmdline").read_bytes().startswith(b"qemu-system-x86_64\0"):
        return False
    status = dict(line.split(":\t", 1) for line in proc.joinpath("status").read_text().splitlines() if ":\t" in line)
    return not ignores or bool(int(status["SigIgn"], 16) & (1 << (ignores - 1)))


def _default_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


@pytest.fixture
def process() -> Iterator[subprocess.Popen[bytes]]:
    p = _fake_qemu("site-a")
    yield p
    p.kill()
    p.wait()


def test_stop_ends_the_vms_qemu_and_drops_its_layer(tmp_path: Path, process: subprocess.Popen[bytes]) -> None:
    machine = vm.Machine("site-a", 2222, tmp_path)
    machine.pidfile.write_text(f"{process.pid}\n")
    machine.overlay.write_text("layer")
    vm.stop(machine)  # returns once the process has exited: our child stays a zombie until we wait for it
    assert process.wait(timeout=10) == -signal.SIGTERM
    assert not machine.pidfile.exists() and not machine.overlay.exists()


def test_stop_kills_a_qemu_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = _fake_qemu("site-c", "trap '' TERM; sleep 60; :", ignores=signal.SIGTERM)
    try:
        machine = vm.Machine("site-c", 2224, tmp_path)
        machine.pidfile.write_text(f"{stubborn.pid}\n")
        vm.stop(machine, grace=0.5)
        assert stubborn.wait(timeout=10) == -signal.SIGKILL
    finally:
        stubborn.kill()
        stubborn.wait()


def test_stop_after_the_qemu_is_gone_signals_nothing(tmp_path: Path, process: subprocess.Popen[bytes]) -> None:
    machine = vm.Machine("site-a", 2222, tmp_path)
    machine.pidfile.write_text(f"{process.pid}\n")
    process.kill()
    process.wait()  # reaped: its pid is free for the next process
    vm.stop(machine)
    assert not machine.pidfile.exists()


def test_stop_leaves_a_process_that_is_not_this_vm_alone(tmp_path: Path, process: subprocess.Popen[bytes]) -> None:
    other = vm.Machine("site-b", 2223, tmp_path)  # a pidfile left from an earlier boot, its pid now another VM's
    other.pidfile.write_text(f"{process.pid}\n")
    vm.stop(other)
    assert process.poll() is None
    mine = subprocess.Popen(["sleep", "60"])
    try:
        other.pidfile.write_text(f"{mine.pid}\n")
        vm.stop(other)
        assert mine.poll() is None
    finally:
        mine.kill()
        mine.wait()
