"""Ansible strategy ``provisioner_free``: Mitogen's ``free`` strategy, without pinning Ansible to one CPU.

Mitogen binds processes to CPUs. On a controller with fewer than four CPUs it
keeps CPU 0 for its multiplexer and binds Ansible's top-level process, every
task worker and their SSH clients to CPU 1: two thirds of a rollout's
controller work then queue on a single core while the other one sits mostly
idle (seen on a 2-CPU controller: every ``ansible-playbook`` process but the
multiplexer had ``Cpus_allowed_list: 1``). Provincial controllers are often
small VMs, so here the kernel places the processes; with four CPUs or more
Mitogen's own placement (a core each for the top-level process and the
multiplexer, workers spread over the rest) is kept.

The runner (``provisioner.runner.mitogen_env``) points Ansible at this folder.
"""

from __future__ import annotations

import os

import ansible_mitogen.affinity
import ansible_mitogen.loaders
import ansible_mitogen.strategy

#: Below this many CPUs Mitogen's placement leaves Ansible one core.
PIN_FROM_CPUS = 4

if (os.cpu_count() or 1) < PIN_FROM_CPUS:
    # Mitogen looks the policy up at each use (top-level process, multiplexer,
    # each worker): the base Policy assigns nothing.
    ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()

Base = ansible_mitogen.loaders.strategy_loader.get("free", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Base):  # type: ignore[misc,valid-type]
    """Mitogen's free strategy (each site at its own pace, modules in a kept interpreter per site)."""
