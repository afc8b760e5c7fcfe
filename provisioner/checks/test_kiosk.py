"""Site checks for role kiosk: the screen shows the meeting, the client comes back when it dies, nothing else runs."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import pytest

from provisioner import paths
from provisioner.checks.png import colours, share
from provisioner.checks.site import Site

pytestmark = pytest.mark.kiosk

#: The lab meeting page's background (provisioner/lab/meeting.py): what a screenshot of it shows.
LAB_PAGE_RGB = (0x0B, 0x5D, 0x3B)


def _main_pid(host: Any) -> int:
    return int(host.check_output("systemctl show -p MainPID --value kiosk.service"))


def _session(host: Any, timeout: float = 60) -> tuple[int, str, str, str]:
    """The session's cage (pid, user, command, arguments), waiting while the kiosk (re)starts.

    Another check may stop the client at any moment (to see it come back), and the
    kiosk restarts after every converge, so a session seen going away is looked at again.
    """
    deadline = time.monotonic() + timeout
    seen = (0, "", "", "")
    while True:
        pid = _main_pid(host)
        ps = host.run(f"ps -o user=,comm=,args= -p {pid}") if pid else None
        if ps is not None and ps.rc == 0:
            user, comm, args = ps.stdout.strip().split(None, 2)
            seen = (pid, user, comm, args)
            if comm == "cage":
                return seen
        if time.monotonic() > deadline:
            return seen
        time.sleep(1)


def _running_pid(host: Any, timeout: float = 60) -> int:
    return _session(host, timeout)[0]


def _screenshot(host: Any, site: Site) -> bytes:
    """A PNG of the screen, or nothing if the session is between two clients."""
    user = site.get("kiosk_user")
    uid = host.check_output(f"id -u {user}")
    runtime = "/run/kiosk" if site.get("kiosk_backend") == "headless" else f"/run/user/{uid}"
    shot = f"/tmp/kiosk-check-{uuid.uuid4().hex}.png"
    grab = host.run(
        f"runuser -u {user} -- env XDG_RUNTIME_DIR={runtime} WAYLAND_DISPLAY=wayland-0 grim {shot}"
        f" && base64 -w0 {shot}; rc=$?; rm -f {shot}; exit $rc"
    )
    return base64.b64decode(grab.stdout) if grab.rc == 0 else b""


def test_kiosk_session_runs_only_the_client(host: Any, site: Site) -> None:
    pid, user, comm, args = _session(host)
    assert comm == "cage", f"no cage session (main process {pid}: {comm or 'none'})"
    assert user == site.get("kiosk_user")
    assert site.get("kiosk_command") in args
    assert host.service("kiosk.service").is_enabled
    assert host.file("/etc/systemd/system/default.target").linked_to.endswith("graphical.target")


def _screen_shows_the_client(host: Any, site: Site, name: str) -> None:
    """Wait (up to 90 s) for the screen to show the client; the last screenshot is saved as ``name``."""
    lab_page = site.vars.get("lab_meeting_url")
    client = site.vars.get("site_client") or {}
    expect_lab_page = client.get("profile") == "webrtc" and lab_page and client.get("meeting_url") == lab_page
    saved = paths.state_dir() / "screenshots" / name
    saved.parent.mkdir(parents=True, exist_ok=True)
    _running_pid(host)
    data, deadline = b"", time.monotonic() + 90
    while time.monotonic() < deadline:
        data = _screenshot(host, site)
        if not data:
            time.sleep(1)
            continue
        saved.write_bytes(data)
        if expect_lab_page and share(data, LAB_PAGE_RGB) > 0.02:
            break
        if not expect_lab_page and colours(data) > 2:
            break
        time.sleep(3)
    assert data, "no screenshot could be taken of the session"
    if expect_lab_page:
        assert share(data, LAB_PAGE_RGB) > 0.02, f"the lab meeting page is not on screen: see {saved}"
    else:
        assert colours(data) > 2, f"the screen shows nothing: see {saved}"


def test_the_screen_shows_the_meeting(host: Any, site: Site) -> None:
    """A screenshot of the session, saved under .state/screenshots/ for a person to look at."""
    _screen_shows_the_client(host, site, f"{site.name}.png")


def test_the_client_comes_back_when_it_exits(host: Any, site: Site) -> None:
    """Killed, the client is started again and shows the meeting again (not a crash page)."""
    before = _running_pid(host)
    host.run(f"pkill -KILL -P {before}")  # the client cage runs; cage ends with it
    deadline = time.monotonic() + 30
    after = before
    while time.monotonic() < deadline:
        after = _main_pid(host)
        if after not in (0, before):
            break
        time.sleep(1)
    assert after not in (0, before), "the kiosk did not start the client again"
    _screen_shows_the_client(host, site, f"{site.name}-restarted.png")


def test_no_other_session_is_installed(host: Any, site: Site) -> None:
    for name in site.get("kiosk_other_sessions"):
        assert not host.package(name).is_installed, f"{name} is installed"
    sessions = host.run("ls /usr/share/xsessions/*.desktop /usr/share/wayland-sessions/*.desktop 2>/dev/null").stdout
    assert not sessions.strip(), sessions
