"""Site checks for role conferencing_client: the browser's policies, the SIP account registered, the vendor pin.

Chromium's behaviour under its policies (a blocked page refused, the meeting
page shown) is checked on the real screen by the kiosk checks: with developer
tools disabled by policy, a headless Chromium cannot be driven from here.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from provisioner.checks.site import Site

pytestmark = pytest.mark.client

LAUNCHER = "/usr/local/bin/conference-client"
POLICY = "/etc/chromium/policies/managed/conference-room.json"


def profile(site: Site) -> str:
    return str(site.vars.get("conferencing_client_profile") or (site.vars.get("site_client") or {}).get("profile", "webrtc"))


def needs(site: Site, *profiles: str) -> None:
    if profile(site) not in profiles:
        pytest.skip(f"profile {profile(site)}")


def start_url(site: Site) -> str:
    if profile(site) == "sip":
        return f"http://127.0.0.1:{site.get('conferencing_client_sip_status_port')}/"
    return str(site.vars.get("conferencing_client_meeting_url") or site.vars["site_client"]["meeting_url"])


def test_launcher_starts_the_profiles_client(host: Any, site: Site) -> None:
    launcher = host.file(LAUNCHER)
    assert launcher.is_file and launcher.mode == 0o755 and launcher.user == "root"
    text = launcher.content_string
    if profile(site) == "vendor":
        assert f"exec {site.vars['conferencing_client_vendor_command']}" in text
    else:
        assert "exec /usr/bin/chromium" in text and "--kiosk" in text
        assert shlex.quote(start_url(site)) in text


def test_chromium_policies_are_the_managed_ones(host: Any, site: Site) -> None:
    needs(site, "webrtc", "sip")
    policy = json.loads(host.file(POLICY).content_string)
    assert policy["URLBlocklist"][0] == "*"
    origin = start_url(site).rstrip("/").split("/", 3)
    assert "/".join(origin[:3]) in policy["URLAllowlist"]
    assert policy["VideoCaptureAllowedUrls"] == policy["URLAllowlist"] == policy["AudioCaptureAllowedUrls"]
    assert policy["DeveloperToolsAvailability"] == 2 and policy["IncognitoModeAvailability"] == 1
    assert policy["PrintingEnabled"] is False and policy["DownloadRestrictions"] == 3
    assert policy["ComponentUpdatesEnabled"] is False and policy["SafeBrowsingProtectionLevel"] == 0


def test_chromium_is_kept_off_the_internet(host: Any, site: Site) -> None:
    needs(site, "webrtc", "sip")
    text = host.file(LAUNCHER).content_string
    for flag in ("--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-pings"):
        assert flag in text


def test_sip_client_is_registered(host: Any, site: Site) -> None:
    needs(site, "sip")
    service = host.service("conference-sip.service")
    assert service.is_enabled and service.is_running
    port = site.get("conferencing_client_sip_status_port")
    account = str(site.vars.get("conferencing_client_sip_account") or site.vars["site_client"]["account"])
    # baresip's status page runs its long command /reginfo; "OK" is the registrar's 200 to our REGISTER
    probe = f"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/?/reginfo', timeout=5).read().decode())"
    line = ""
    for _ in range(30):
        info = host.run(f"python3 -c {shlex.quote(probe)}").stdout
        line = next((ln for ln in info.splitlines() if f"sip:{account}@" in ln), "")
        if "OK" in line:
            break
        host.run("sleep 1")
    assert "OK" in line, info


def test_sip_password_stays_out_of_sight(host: Any, site: Site) -> None:
    needs(site, "sip")
    accounts = host.file("/etc/baresip/accounts")
    assert accounts.mode == 0o640 and accounts.user == "root" and accounts.group == site.get("conferencing_client_user")
    secret = accounts.content_string.split("auth_pass=", 1)[1].split(";", 1)[0]
    assert secret
    assert secret not in host.run("journalctl -u conference-sip.service --no-pager -n 500").stdout
    assert secret not in host.run("systemctl show conference-sip.service").stdout
    assert secret not in host.run("ps -eo args").stdout


def test_vendor_client_is_pinned(host: Any, site: Site) -> None:
    needs(site, "vendor")
    name = site.vars["conferencing_client_vendor_package"]
    package = host.package(name)
    assert package.is_installed
    assert package.version == site.vars["conferencing_client_vendor_version"]
    assert host.run(f"dpkg --get-selections {shlex.quote(name)}").stdout.split()[-1] == "hold"
