from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.errors import LabError
from provisioner.lab.mirror import host_mirror


def test_reads_deb822_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISIONER_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example.test/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example.test/debian-security\nSuites: bookworm-security\nComponents: main\n"
    )
    m = host_mirror(tmp_path)
    assert m.debian == "http://mirror.example.test/debian"
    assert m.security == "http://mirror.example.test/debian-security"


def test_reads_one_line_sources_with_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISIONER_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example.test/debian/ bookworm main\n"
    )
    assert host_mirror(tmp_path).debian == "http://mirror.example.test/debian"


def test_no_mirror_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISIONER_DEBIAN_MIRROR", raising=False)
    with pytest.raises(LabError, match="PROVISIONER_DEBIAN_MIRROR"):
        host_mirror(tmp_path)
