"""The project's Mitogen strategy: a real ansible-playbook run, its task workers free to use every CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.runner import mitogen_env

PLAY = """\
- name: Report a task worker's CPUs
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The worker (the pipe's parent) says which CPUs it may use
      ansible.builtin.debug:
        msg: "CPUS={{ lookup('ansible.builtin.pipe', 'grep Cpus_allowed_list /proc/$PPID/status') | split | last }}"
"""


def cpu_list(cpus: set[int]) -> str:
    """The kernel's way to write a CPU set (0-1,4), for the CPUs this test may use."""
    ranges: list[list[int]] = []
    for cpu in sorted(cpus):
        if ranges and cpu == ranges[-1][1] + 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges)


@pytest.mark.skipif((os.cpu_count() or 1) >= 4, reason="with 4 CPUs or more Mitogen's own placement is kept")
def test_task_workers_are_not_pinned_to_one_cpu_on_a_small_controller(tmp_path: Path) -> None:
    env = mitogen_env(True)
    assert env, "Mitogen is a dependency: its strategy must be found"
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")  # none of the project's settings: only the strategy's
    done = subprocess.run(
        [Path(sys.executable).parent / "ansible-playbook", "-i", "localhost,", str(tmp_path / "play.yml")],
        env={**os.environ, **env, "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), "ANSIBLE_LOCALHOST_WARNING": "False"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"CPUS={cpu_list(os.sched_getaffinity(0))}" in done.stdout, done.stdout
