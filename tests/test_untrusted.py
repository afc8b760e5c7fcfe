"""Registry cells, lab overlays and site values are data: Ansible never templates them, and their text arrives whole."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from provisioner import inventory, runner, targets, untrusted, yamlout
from provisioner.checks.site import rendered
from tests.registry_fixtures import HEADERS, site, write_csv

#: Templates a clerk (or someone who took over a registry file) could type into a cell.
#: Each would run, or change, something if Ansible templated it.
HOSTILE = {
    "Ghi chú": "{{ lookup('pipe', 'touch {marker}') }} {{ 7 * 7 }} {% if true %}yes{% endif %} {# gone #}",
    "Cán bộ vận hành 1": "{{ lookup('ansible.builtin.pipe', 'touch {marker}-2') }}",
    "Cán bộ vận hành 2": "{% for x in range(3) %}{{ x }}{% endfor %}",
    "Điện thoại cán bộ 2": "0900 000 999",
    "Camera": "Camera {{ 'x' | upper }} {% raw %}r{% endraw %}",
    "Tình trạng camera": "Đang sử dụng",
    "Xã/Phường": "Xã {{ query('env', 'HOME') }}",
}

#: A generated district inventory whose one site's cells are :data:`HOSTILE`, and those cells as typed.
Hostile = tuple[Path, dict[str, str]]

PLAY = """\
- name: Print back what the inventory says
  hosts: all
  gather_facts: false
  connection: local
  tasks:
    - name: Write the site's values as JSON
      ansible.builtin.copy:
        content: "{{ {'notes': site_notes, 'operators': site_operators, 'camera': site_devices.camera.model,
                     'commune': site_commune} | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0600"
"""


@pytest.fixture
def hostile(tmp_path: Path) -> Hostile:
    marker = tmp_path / "ran"
    cells = {k: v.replace("{marker}", str(marker)) for k, v in HOSTILE.items()}
    row = site(1, **{k: v for k, v in cells.items() if k != "Ghi chú"}) | {"Ghi chú": cells["Ghi chú"]}
    registry = write_csv(tmp_path / "r.csv", [row], [*HEADERS, "Ghi chú"])
    inventory.build([registry], tmp_path / "out", unknown_models="warn")
    return tmp_path / "out" / "bac-giang" / "viet-yen", cells


def _ansible(*argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, env=targets.ansible_env(), check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_no_template_in_a_cell_runs_and_every_value_prints_back_as_typed(
    tmp_path: Path, hostile: tuple[Path, dict[str, str]]
) -> None:
    district, cells = hostile
    sources = [str(p) for p in inventory.expand_sources([district])]
    inv = [a for s in sources for a in ("-i", s)]
    said = _ansible("ansible", "all", *inv, "-m", "ansible.builtin.debug", "-a", "var=site_notes").stdout
    assert json.dumps(cells["Ghi chú"], ensure_ascii=False) in said
    (tmp_path / "play.yml").write_text(PLAY)
    printed = tmp_path / "printed"
    printed.mkdir()
    python = f"ansible_python_interpreter={sys.executable}"
    _ansible("ansible-playbook", *inv, str(tmp_path / "play.yml"), "-e", f"out={printed}", "-e", python)
    (got,) = [json.loads(p.read_text()) for p in printed.glob("*.json")]
    assert got["notes"] == cells["Ghi chú"]
    assert [op["name"] for op in got["operators"]] == [cells["Cán bộ vận hành 1"], cells["Cán bộ vận hành 2"]]
    assert got["camera"] == cells["Camera"]
    assert got["commune"] == cells["Xã/Phường"]
    assert not list(tmp_path.glob("ran*")), "a lookup in a registry cell ran on the controller"


def test_the_inventory_tags_every_string_value_unsafe(hostile: Hostile) -> None:
    district, _ = hostile
    for path in district.rglob("*.yml"):
        strings = list(_strings(yamlout.load(path.read_text())))
        assert strings and all(isinstance(s, untrusted.Unsafe) or _inert_typed(s) for s in strings), path


def _inert_typed(s: str) -> bool:
    """A string YAML would read as another type ("01", "07777"): written quoted, untagged (see yamlout._typed)."""
    return not re.search(r"[{}%#]", s) and yaml.safe_load(f"k: {s}")["k"] != s


def test_only_connection_variables_of_inert_text_go_untagged() -> None:
    doc = {"ansible_host": "10.24.2.14", "ansible_user": "{{ x }}", "ansible_port": 22, "site_notes": "a.b", "site_x": "Xã"}
    back = yamlout.load(yamlout.dumps(doc, unsafe=True))
    assert back == doc
    assert [k for k, v in back.items() if isinstance(v, str) and not isinstance(v, untrusted.Unsafe)] == ["ansible_host"]


@pytest.mark.parametrize("text", ["", "01", "07777", "yes", "~", "*", "!", "=", "<<", "1:20", "2024-01-01", "0x1F", "null"])
def test_text_yaml_would_type_arrives_as_the_same_text(tmp_path: Path, text: str) -> None:
    """Ansible re-types an !unsafe scalar from its text ("07777" → 4095, "" → null): such text goes quoted, untagged."""
    inv = tmp_path / "hosts.yml"
    inv.write_text(yamlout.dumps({"all": {"hosts": {"x": {"site_notes": text, "site_list": [text]}}}}, unsafe=True))
    done = _ansible("ansible-inventory", "-i", str(inv), "--list")
    host = untrusted.loads(done.stdout)["_meta"]["hostvars"]["x"]
    assert host["site_notes"] == text and host["site_list"] == [text]


def test_values_read_back_from_ansible_stay_unsafe_in_the_labs_inventory(
    tmp_path: Path, hostile: tuple[Path, dict[str, str]]
) -> None:
    district, cells = hostile
    hostvars = targets.inventory_hosts(inventory.expand_sources([district]))
    (host,) = hostvars.values()
    assert host["site_notes"] == cells["Ghi chú"] and isinstance(host["site_notes"], untrusted.Unsafe)
    layered = tmp_path / "lab.yml"  # as the lab writes its overlay: the stand-in's values copied from the registry's
    layered.write_text(
        yamlout.dumps({"all": {"hosts": {"x": {"site_notes": host["site_notes"], "lab_port": 2201}}}}, unsafe=True)
    )
    said = _ansible("ansible", "x", "-i", str(layered), "-m", "ansible.builtin.debug", "-a", "var=site_notes").stdout
    assert json.dumps(cells["Ghi chú"], ensure_ascii=False) in said
    assert not list(tmp_path.glob("ran*"))


def test_the_checks_never_template_an_unsafe_value_nor_reach_python() -> None:
    given = {
        "site_notes": {"__ansible_unsafe": "{{ lab_url }}"},
        "lab_url": "http://10.89.0.5:8080/",
        "kiosk_url": "{{ lab_url }}",
        # a trusted template that takes in an unsafe value: what it makes is not templated again
        "greeting": "{{ site_notes }}",
        "escape": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    }
    out = rendered(given)
    assert out["site_notes"] == "{{ lab_url }}" and isinstance(out["site_notes"], untrusted.Unsafe)
    assert out["kiosk_url"] == "http://10.89.0.5:8080/"
    assert out["greeting"] == "{{ lab_url }}"
    assert out["escape"] == given["escape"]  # the sandbox refuses, the value stays as written


def _strings(value: object) -> list[str]:
    """Every string value (connection variables aside: see the test above)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() if not str(k).startswith("ansible_") for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_extra_variables_from_the_controller_reach_ansible_as_data(tmp_path: Path) -> None:
    given = runner._extravars_file(tmp_path, {"provisioner_replay_handlers": ["{{ 7 * 7 }}", "dong-lo-p01"]})
    debug = ("-m", "ansible.builtin.debug", "-a", "var=provisioner_replay_handlers")
    said = _ansible("ansible", "localhost", "-e", f"@{given}", *debug)
    assert '"{{ 7 * 7 }}"' in said.stdout and "49" not in said.stdout
