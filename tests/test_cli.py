from __future__ import annotations

import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from provisioner.cli import main; main()", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lab", "up", "--os", "buster"], "unknown Debian suite 'buster'"),
        (["lab", "up", "--name", "Xã_Tân"], "is not usable as a lab or site name"),
        (["lab", "up", "--sites", "0"], "at least one site"),
        (["converge", "-i", "inventories/none"], "inventory inventories/none does not exist"),
    ],
)
def test_bad_lab_options_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_verify_print_shows_the_command() -> None:
    done = run("verify", "--print", "-i", "inventories/bac-giang", "--site", "site01")
    assert done.returncode == 0, done.stderr
    assert "--hosts=ansible://site01" in done.stdout
    assert "inventories/bac-giang/viet-yen," in done.stdout  # a province folder means its districts
    assert "provisioner/checks" in done.stdout
