"""The re-image summary: plain words for the technician, an HTML page that escapes what it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.reimage import HostKeys, Summary, converge_words
from provisioner.runner import SiteResult


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (SiteResult("a", ok=40, changed=3), "xong, 3 thay đổi"),
        (SiteResult("a", unreachable=1, message="timed out"), "không vào được máy (timed out)"),
        (
            SiteResult("a", failed=1, failed_task="Install chromium", message="no space"),
            "lỗi ở bước 'Install chromium': no space",
        ),
    ],
)
def test_converge_in_plain_words(result: SiteResult, words: str) -> None:
    assert converge_words(result) == words


def summary(**changes: object) -> Summary:
    base: dict[str, object] = {
        "site": "dong-lo-p01",
        "run_id": "20261123-101010-abcdef",
        "who": "Nguyễn Văn Kỹ Thuật",
        "at": "2026-11-23T10:10:10.000+00:00",
        "fingerprints": ["SHA256:abc (ED25519)"],
        "keys_changed": True,
        "converge": "xong, 3 thay đổi",
        "converged": True,
        "passed": 25,
        "failed": [],
    }
    return Summary(**{**base, **changes})  # type: ignore[arg-type]


def test_an_accepted_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_STATE_DIR", str(tmp_path))
    done = summary()
    assert done.accepted
    assert done.lines()[0] == "Điểm cầu dong-lo-p01 đạt: đã cài đặt lại và qua 25 bước kiểm tra."
    page = done.write_html().read_text()
    assert "Nguyễn Văn Kỹ Thuật" in page and "SHA256:abc (ED25519)" in page and "mới, đã xác nhận" in page


def test_a_site_with_failed_checks_is_not_accepted_and_the_page_escapes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVISIONER_STATE_DIR", str(tmp_path))
    done = summary(failed=["test_<script>alert(1)</script>"], passed=20)
    assert not done.accepted
    assert "CHƯA đạt" in done.lines()[0] and "    - test_<script>alert(1)</script>" in done.lines()
    page = done.write_html().read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert not summary(converged=False).accepted


def test_a_key_type_no_longer_offered_is_not_a_new_identity(tmp_path: Path) -> None:
    ed, ecdsa, rsa = "ssh-ed25519 AAAAed", "ecdsa-sha2-nistp256 AAAAec", "ssh-rsa AAAArsa"
    known = tmp_path / "known_hosts"
    assert not HostKeys("127.0.0.1", 2201, known, [ed, rsa], [ecdsa, ed, rsa]).changed
    assert HostKeys("127.0.0.1", 2201, known, [ed, rsa], [ecdsa, rsa]).changed
    assert HostKeys("127.0.0.1", 2201, known, [ed], []).changed
