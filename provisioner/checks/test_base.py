"""Site checks for role base: what a person would try, not only what a file says."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from provisioner.checks.site import Site, as_root
from provisioner.checks.sshprobe import probe_auth

pytestmark = pytest.mark.base


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def test_hostname_is_the_sites_name(host: Any, site: Site) -> None:
    expected = site.vars.get("base_hostname", site.name)
    assert host.check_output("hostname") == expected
    assert host.file("/etc/hostname").content_string.strip() == expected


def test_clock_shows_vietnam_time(host: Any, site: Site) -> None:
    assert host.file("/etc/localtime").linked_to.endswith(site.get("base_timezone"))
    if site.get("base_timezone") == "Asia/Ho_Chi_Minh":
        assert host.check_output("date +%z") == "+0700"


def test_vietnamese_locale_works(host: Any, site: Site) -> None:
    available = host.check_output("locale -a").split()
    for loc in site.get("base_locales"):
        name, _, charset = loc.partition(".")
        assert f"{name}.{charset.lower().replace('-', '')}" in available
    if "vi_VN.UTF-8" in site.get("base_locales"):
        # A Vietnamese weekday, as a commune operator would read it.
        assert host.check_output("LC_ALL=vi_VN.UTF-8 date -d 2026-11-23 +%A") == "Thứ hai"


def test_clock_source_is_chrony_on_the_provinces_servers(host: Any, site: Site) -> None:
    assert host.service("chrony").is_running
    assert host.service("chrony").is_enabled
    servers = site.get("base_chrony_servers")
    if not servers:
        pytest.skip("no provincial NTP server configured")
    sources = host.check_output("chronyc -n sources")
    for server in servers:
        assert server in sources, f"chrony does not use {server}"
    # Synchronised to one of them (chrony may need a few polls after a restart).
    deadline = time.monotonic() + 45
    while True:
        tracking = host.check_output("chronyc -n tracking")
        fields = {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in tracking.splitlines())}
        reference, leap = fields.get("Reference ID", ""), fields.get("Leap status", "")
        if any(f"({s})" in reference for s in servers) and leap == "Normal":
            break
        if time.monotonic() > deadline:
            pytest.fail(f"chrony not synchronised to {servers}: {reference!r}, leap {leap!r}")
        time.sleep(2)


def test_admin_account_has_no_password_and_may_sudo(host: Any, site: Site) -> None:
    user = site.get("base_admin_user")
    assert host.user(user).exists
    status = host.check_output(f"passwd -S {user}").split()
    assert status[1] == "L", f"{user}'s password is not locked: {status}"
    keys = host.file(f"/home/{user}/.ssh/authorized_keys").content_string.splitlines()
    assert sorted(k.strip() for k in keys if k.strip()) == sorted(site.get("base_admin_authorized_keys"))
    assert host.run(f"runuser -u {user} -- sudo -n true").rc == 0


@pytest.mark.parametrize("who", ["admin", "root", "nobody-here"])
def test_password_login_is_refused(site: Site, who: str) -> None:
    """Try to log in with a password from outside, as an intruder on the WAN would."""
    user = {"admin": site.get("base_admin_user"), "root": "root"}.get(who, who)
    probe = probe_auth(site.address, site.port, user, site.known_hosts)
    assert probe.allowed == ("publickey",), f"sshd offers {user} {probe.allowed}"
    assert not probe.password_accepted


def test_sshd_effective_settings(host: Any, site: Site) -> None:
    with as_root(host):
        lines = [line.split(" ", 1) for line in host.check_output("sshd -T -C user=root,host=x,addr=127.0.0.1").splitlines()]
    effective = dict(lines)
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitrootlogin"] == (
        "without-password" if site.get("base_sshd_permit_root_login") == "prohibit-password" else "no"
    )
    assert effective["x11forwarding"] == "no"
    assert effective["allowtcpforwarding"] == "no"
    # sshd -T lists AllowUsers one user a line
    assert [value for key, value in lines if key == "allowusers"] == ["root", site.get("base_admin_user")]
    assert effective["compression"] == "no"
    assert effective["tcpkeepalive"] == "no"


def test_apt_fetches_only_from_the_provinces_mirror(host: Any, site: Site) -> None:
    mirror = site.get("base_apt_mirror")
    if not mirror:
        pytest.skip("no mirror configured: the site keeps its own sources")
    allowed = [mirror.rstrip("/") + "/"]
    if site.get("base_apt_security_mirror"):
        allowed.append(site.get("base_apt_security_mirror").rstrip("/") + "/")
    with as_root(host):
        uris = [ln.split("'")[1] for ln in host.check_output("apt-get --print-uris update").splitlines() if ln.startswith("'")]
    assert uris, "apt has no sources"
    stray = [u for u in uris if not any(u.startswith(a) for a in allowed)]
    assert not stray, f"apt would fetch from outside the mirror: {stray[:3]}"


def test_upgrades_take_security_updates_only(host: Any) -> None:
    patterns = [ln for ln in host.check_output("apt-config dump").splitlines() if "Origins-Pattern::" in ln]
    assert patterns, "no unattended-upgrades origins configured"
    assert all("-security" in ln for ln in patterns), patterns


@pytest.mark.parametrize("timer", ["apt-daily.timer", "apt-daily-upgrade.timer"])
def test_upgrades_fire_only_in_the_maintenance_window(host: Any, site: Site, timer: str) -> None:
    """When will apt next run? Inside the window, never in meeting hours, never catching up at boot."""
    props = dict(
        line.split("=", 1)
        for line in host.check_output(f"systemctl show {timer} -p Persistent -p NextElapseUSecRealtime").splitlines()
    )
    assert props["Persistent"] == "no", f"{timer} would catch up at boot, during a meeting"
    when = datetime.strptime(" ".join(props["NextElapseUSecRealtime"].split()[1:3]), "%Y-%m-%d %H:%M:%S")
    minute = when.hour * 60 + when.minute
    start = _minutes(site.get("base_upgrades_window_start"))
    offset = (minute - start) % 1440
    assert offset < int(site.get("base_upgrades_window_minutes")), f"{timer} fires at {when:%H:%M}, outside the window"
    for hours in site.get("base_meeting_hours"):
        begin, end = (_minutes(x) for x in hours.split("-"))
        assert not begin <= minute < end, f"{timer} fires at {when:%H:%M}, in meeting hours {hours}"
