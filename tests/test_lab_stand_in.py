"""A lab stand-in trades a real site's servers for the lab's, so a lab run never aims at a real one."""

from __future__ import annotations

import json

import pytest

from provisioner.lab import meeting, registrar, sites

VENDOR = meeting.VendorPackage("conference-vendor-demo", "1.0-1", "http://10.89.0.5:8080/vendor/x.deb", "ab" * 32, "/usr/bin/x")


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registrar, "password", lambda: "lab-secret")


@pytest.mark.parametrize(
    "client",
    [
        {"profile": "webrtc", "meeting_url": "https://hoinghi.bacgiang.example/phong/0101"},
        {"profile": "sip", "mcu": "mcu.bacgiang.example", "account": "xa0201", "password_var": "vault_sip_password_xa0201"},
        {"profile": "vendor"},
    ],
)
def test_no_real_server_survives(client: dict[str, str]) -> None:
    real = {
        "site_client": client,
        "conferencing_client_vendor_url": "https://apt.bacgiang.example/pool/hnth.deb",
        "lockdown_management_networks": ["10.24.0.0/24"],
    }
    lab = sites.stand_in_vars(real, "10.89.0.5", VENDOR, ["10.89.0.1/32"])
    text = json.dumps(lab)
    assert "bacgiang.example" not in text
    assert lab["site_client"]["profile"] == client["profile"]
    # the lab's controller manages its stand-ins from the lab network's gateway, not from the province's network
    assert lab["lockdown_management_networks"] == ["10.89.0.1/32"]
    if client["profile"] == "sip":
        assert lab["site_client"]["mcu"] == "10.89.0.5:5060"
        assert lab["site_client"]["account"] == "xa0201"
        assert lab["vault_sip_password_xa0201"] == "lab-secret"  # noqa: S105 - the fake lab password above
    if client["profile"] == "webrtc":
        assert lab["site_client"]["meeting_url"] == "http://10.89.0.5:8080/"
    if client["profile"] == "vendor":
        assert lab["conferencing_client_vendor_url"] == VENDOR.url
        assert lab["conferencing_client_vendor_sha256"] == VENDOR.sha256
