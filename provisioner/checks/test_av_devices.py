"""Site checks for role av_devices: the room's speakerphone is what the client hears and speaks through.

The default sink and source are read from the client account's own PipeWire
session, and the chooser is run the way udev runs it when the device is plugged
in, after someone made the PC's own sound card the default. Lab sites have no
sound hardware: there, PipeWire null nodes carrying the devices' USB IDs stand
in for them (``av_devices_simulate``).
"""

from __future__ import annotations

import json
import shlex
import time
from typing import Any

import pytest

from provisioner.checks.site import Site, in_user_session, installed

pytestmark = pytest.mark.av_devices

RULES = "/etc/udev/rules.d/70-conference-room.rules"
EC = {"sink": "conference-room.ec-sink", "source": "conference-room.ec-source"}


def present(site: Site) -> dict[str, dict[str, Any]]:
    """The site's devices the role sets up: its camera and audio device, unless recorded as missing."""
    devices = site.vars.get("av_devices_site_devices") or site.vars.get("site_devices") or {}
    kinds = site.get("av_devices_kinds")
    return {k: d for k, d in devices.items() if k in kinds and d.get("status") != "missing"}


def echo_cancelled_by_pipewire(site: Site) -> bool:
    audio = present(site).get("audio") or {}
    chosen = site.vars.get("av_devices_echo_cancellation") or (audio.get("settings") or {}).get("echo_cancellation", "device")
    return bool(audio) and chosen == "software"


def as_user(host: Any, site: Site, command: str) -> Any:
    return in_user_session(host, site.get("av_devices_user"), command)


def user_systemctl(host: Any, site: Site, args: str) -> Any:
    """``systemctl --user ARGS`` in the client account's manager, asked again when the bus was not there to ask.

    Reaching a user's manager goes through the system bus; with many checks at
    once on a loaded PC the connection is sometimes refused outright ("Failed to
    connect to ... bus"), which says nothing about the units themselves.
    """
    command = f"systemctl --user --machine={site.get('av_devices_user')}@ {args}"
    for _ in range(3):
        done = host.run(command)
        if "Failed to connect to" not in done.stderr:
            break
        time.sleep(1)
    return done


def nodes(host: Any, site: Site) -> dict[str, dict[str, Any]]:
    """The session's nodes by name, each with its own properties over its device's."""
    dump = as_user(host, site, "pw-dump")
    assert dump.rc == 0, dump.stderr
    objects = json.loads(dump.stdout)
    props = {o["id"]: (o.get("info") or {}).get("props") or {} for o in objects}
    devices = {i: p for i, p in props.items() if p.get("device.api") or p.get("device.name")}
    out = {}
    for o in objects:
        if o.get("type") == "PipeWire:Interface:Node":
            p = props[o["id"]]
            out[str(p.get("node.name"))] = {**devices.get(p.get("device.id"), {}), **p, "object.id": o["id"]}
    return out


def default(host: Any, site: Site, kind: str) -> str:
    """The node name of the session's default sink or source."""
    which = "@DEFAULT_AUDIO_SINK@" if kind == "sink" else "@DEFAULT_AUDIO_SOURCE@"
    out = as_user(host, site, f"wpctl inspect {which}")
    assert out.rc == 0, f"no default {kind}: {out.stderr}"
    for line in out.stdout.splitlines():
        key, _, value = line.strip().lstrip("* ").partition(" = ")
        if key == "node.name":
            return str(value.strip('"'))
    raise AssertionError(f"wpctl names no default {kind}:\n{out.stdout}")


def usb_id(p: dict[str, Any]) -> str:
    vendor = str(p.get("device.vendor.id", "")).lower().removeprefix("0x")
    product = str(p.get("device.product.id", "")).lower().removeprefix("0x")
    return f"{vendor}:{product}" if vendor and product else ""


def is_room_audio(p: dict[str, Any], site: Site) -> bool:
    devices = present(site)
    wanted = (devices.get("audio") or {}).get("usb") or []
    camera = (devices.get("camera") or {}).get("usb") or []
    if usb_id(p) in camera:
        return False
    return usb_id(p) in wanted if wanted else p.get("device.bus") == "usb"


def linked_to(host: Any, site: Site, node: str) -> set[str]:
    """The nodes a node's ports are linked with."""
    out = as_user(host, site, "pw-link -l").stdout
    found, current = set(), ""
    for line in out.splitlines():
        if not line.startswith(" "):
            current = line.split(":", 1)[0]
        elif current == node:
            found.add(line.split()[-1].split(":", 1)[0])
    return found


def needs_audio(site: Site) -> None:
    if "audio" not in present(site):
        pytest.skip("the site has no audio device in its inventory")


def test_the_sound_stack_and_the_devices_packages_are_installed(host: Any, site: Site) -> None:
    wanted = list(site.get("av_devices_packages"))
    for device in present(site).values():
        wanted += device.get("packages", []) + device.get("firmware", [])
    wanted = list(dict.fromkeys(wanted))
    found = installed(host, wanted)
    missing = [name for name in wanted if name not in found]
    assert not missing, f"not installed: {', '.join(missing)}"


def test_the_client_accounts_sound_session_runs_from_boot(host: Any, site: Site) -> None:
    user = site.get("av_devices_user")
    assert host.file(f"/var/lib/systemd/linger/{user}").exists, f"{user} does not linger"
    for unit in ("pipewire.service", "wireplumber.service"):
        state = user_systemctl(host, site, f"is-active {unit}").stdout.strip()
        assert state == "active", f"{unit} of {user} is {state}"


def test_the_speakerphone_is_the_default_sink_and_source(host: Any, site: Site) -> None:
    needs_audio(site)
    found = nodes(host, site)
    for kind in ("sink", "source"):
        name = default(host, site, kind)
        if echo_cancelled_by_pipewire(site):
            assert name == EC[kind], f"default {kind} is {name}, not PipeWire's echo canceller"
            stream = "conference-room.ec-playback" if kind == "sink" else "conference-room.ec-capture"
            targets = linked_to(host, site, stream)
            assert any(is_room_audio(found.get(t, {}), site) for t in targets), f"{stream} feeds {targets or 'nothing'}"
        else:
            assert is_room_audio(found[name], site), f"default {kind} is {name} ({found[name].get('node.description')})"
            assert EC[kind] not in found, "PipeWire cancels echo though the device does it itself"


@pytest.mark.disruptive
def test_plugging_the_device_in_makes_it_the_default_again(host: Any, site: Site) -> None:
    """Someone picked the PC's own sound card; udev's start of the chooser (as on a hot-plug) puts it back."""
    needs_audio(site)
    found = nodes(host, site)
    other = next(
        (n for n, p in found.items() if p.get("media.class") == "Audio/Sink" and not is_room_audio(p, site) and n != EC["sink"]),
        None,
    )
    if other is None:
        pytest.skip("no other sound card to pick")
    assert as_user(host, site, f"wpctl set-default {found[other]['object.id']}").rc == 0
    try:
        assert default(host, site, "sink") == other
        started = user_systemctl(host, site, "start conference-audio-default.service")
        assert started.rc == 0, started.stderr
    finally:
        # the room must not be left on the PC's own speaker if the chooser failed once: ask it again
        if default(host, site, "sink") == other:
            user_systemctl(host, site, "restart conference-audio-default.service")
    expected = EC["sink"] if echo_cancelled_by_pipewire(site) else None
    name = default(host, site, "sink")
    assert name == expected if expected else is_room_audio(found[name], site), f"default sink stayed {name}"


def test_udev_rules_name_the_sites_devices_and_parse(host: Any, site: Site) -> None:
    devices = present(site)
    rules = host.file(RULES)
    assert rules.is_file and rules.user == "root" and rules.mode == 0o644
    text = rules.content_string
    camera, audio = devices.get("camera"), devices.get("audio")
    link = site.get("av_devices_camera_link")
    if camera:
        for usb in camera.get("usb") or []:
            vendor, product = usb.split(":")
            match = f'ATTRS{{idVendor}}=="{vendor}", ATTRS{{idProduct}}=="{product}"'
            assert f'{match}, ATTR{{index}}=="0", SYMLINK+="{link}"' in text
            if site.get("av_devices_autosuspend_enabled"):
                powered = 'TEST=="power/control", ATTR{power/control}="on"'
                assert f'ATTR{{idVendor}}=="{vendor}", ATTR{{idProduct}}=="{product}", {powered}' in text
        for control, value in ((camera.get("settings") or {}).get("v4l2_controls") or {}).items():
            assert f"--set-ctrl {control}={value}" in text
    else:
        assert "video4linux" not in text
    if audio:
        assert f'ATTR{{id}}="{site.get("av_devices_audio_card_id")}"' in text
        assert 'ENV{SYSTEMD_USER_WANTS}+="conference-audio-default.service"' in text
    verify = host.run(f"udevadm verify {shlex.quote(RULES)}")
    if "Unknown command" in verify.stderr or "unrecognized" in verify.stderr or verify.rc == 127:
        # udev before 254 (Debian 12): its rule parser reports problems while testing any device
        verify = host.run("udevadm test /sys/class/net/lo")
        problems = [ln for ln in (verify.stdout + verify.stderr).splitlines() if ln.startswith(f"{RULES}:")]
        assert not problems, "\n".join(problems)
    else:
        assert verify.rc == 0, verify.stdout + verify.stderr
