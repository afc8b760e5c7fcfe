"""Every role's public API: defaults and argument specs agree, names carry the role's prefix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).resolve().parent.parent / "roles").iterdir() if p.is_dir())


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_defaults_match_argument_specs(role: Path) -> None:
    defaults = yaml.safe_load((role / "defaults/main.yml").read_text()) or {}
    specs = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(specs), "defaults/main.yml and meta/argument_specs.yml list different variables"
    for name, spec in specs.items():
        assert spec.get("description"), f"{name} has no description"
        assert spec.get("default") == defaults[name], f"{name}: argument spec default differs from defaults/main.yml"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_variable_is_prefixed_and_commented(role: Path) -> None:
    prefix = role.name + "_"
    lines = (role / "defaults/main.yml").read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line[0].isspace() and not line.startswith(("#", "---")):
            name = line.split(":", 1)[0]
            assert name.startswith(prefix), f"{name} does not start with {prefix}"
            commented = "#" in line.split(":", 1)[1] or (i > 0 and lines[i - 1].lstrip().startswith("#"))
            assert commented, f"{name} has no one-line comment"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_registered_and_set_facts_are_prefixed(role: Path) -> None:
    prefix = role.name + "_"
    for tasks in (role / "tasks").glob("*.yml"):
        for task in yaml.safe_load(tasks.read_text()) or []:
            if "register" in task:
                assert task["register"].startswith(prefix), f"{tasks.name}: register {task['register']}"
            for fact in task.get("ansible.builtin.set_fact") or {}:
                assert fact.startswith(prefix), f"{tasks.name}: set_fact {fact}"
