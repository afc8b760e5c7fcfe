from __future__ import annotations

from pathlib import Path

from provisioner.atomic import write_atomic
from provisioner.lab.image import recipe
from provisioner.lab.keys import forget_host, record_host_keys


def test_record_host_keys_replaces_only_that_site(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    record_host_keys(kh, "127.0.0.1", 2201, ["ssh-ed25519 AAAAold host1"])
    record_host_keys(kh, "127.0.0.1", 2202, ["ssh-ed25519 AAAAother host2"])
    record_host_keys(kh, "127.0.0.1", 2201, ["ssh-ed25519 AAAAnew host1", "ecdsa-sha2-nistp256 AAAAec host1"])
    lines = kh.read_text().splitlines()
    assert "[127.0.0.1]:2202 ssh-ed25519 AAAAother" in lines
    assert "[127.0.0.1]:2201 ssh-ed25519 AAAAnew" in lines
    assert not any("AAAAold" in ln for ln in lines)
    forget_host(kh, "127.0.0.1", 2201)
    assert kh.read_text().splitlines() == ["[127.0.0.1]:2202 ssh-ed25519 AAAAother"]


def test_write_atomic_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.yml"
    write_atomic(target, "a: 1\n")
    write_atomic(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["f.yml"]


def test_image_tag_follows_its_recipe() -> None:
    a, b = recipe("bookworm"), recipe("bookworm")
    assert a.tag == b.tag
    assert recipe("trixie").tag != a.tag
    changed = type(a)(suite="bookworm", packages=(*a.packages, "vim"))
    assert changed.tag != a.tag
