"""VM lab sites: stopping one finds its QEMU by the pidfile, and never another process that took the pid."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.lab import vm


@pytest.fixture
def process() -> Iterator[subprocess.Popen[bytes]]:
    """A process whose command line is a QEMU's for the VM named site-a (bash, so it costs nothing)."""
    p = subprocess.Popen(["qemu-system-x86_64", "-c", "sleep 60; :", "-name", "site-a"], executable="/bin/bash")
    yield p
    p.kill()
    p.wait()


def test_stop_ends_the_vms_qemu_and_drops_its_layer(tmp_path: Path, process: subprocess.Popen[bytes]) -> None:
    machine = vm.Machine("site-a", 2222, tmp_path)
    machine.pidfile.write_text(f"{process.pid}\n")
    machine.overlay.write_text("layer")
    reaper = threading.Thread(target=process.wait)  # a daemonized QEMU's parent is init, which reaps it at once
    reaper.start()
    vm.stop(machine)
    reaper.join(timeout=10)
    assert process.returncode is not None and process.returncode != 0
    assert not machine.pidfile.exists() and not machine.overlay.exists()


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
