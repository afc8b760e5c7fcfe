"""Site checks for role lockdown: the escape suite.

Each check tries, as the operator at the screen would (the kiosk's account),
to turn the room PC into something else: become root, install software, mount
a disk, reach a service it has no business with. Every attempt must fail, and
where the firewall is what stops it, its counters must show it did.
"""

from __future__ import annotations

import json
import secrets
import shlex
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from provisioner.checks.site import Site, as_root, enabled_states, installed

pytestmark = pytest.mark.lockdown

#: Run as the operator: su to USER in a terminal, typing PASSWORD when asked, as a person would.
SU_AS_A_PERSON = """
import os, pty, select, sys, time
user, password = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("su", ["su", user, "-c", "echo ESCAPED"])
out, sent, deadline = b"", False, time.monotonic() + 15
while time.monotonic() < deadline:
    if not select.select([fd], [], [], 0.5)[0]:
        continue
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    out += data
    if not sent and b"assword" in out:
        os.write(fd, password.encode() + b"\\n")
        sent = True
print(out.decode(errors="replace"))
"""

#: The packages whose files the lock-down stands on: the check compares them with their packages
#: (the weekly integrity check compares every package's; that takes a PC several seconds of CPU).
GUARDED_PACKAGES = [
    "openssh-server",
    "sudo",
    "login",
    "passwd",
    "util-linux",
    "libpam-modules",
    "libpam-runtime",
    "systemd",
    "apt",
    "dpkg",
    "nftables",
    "usbguard",
    "auditd",
    "aide",
    "debsums",
    "rsyslog",
    "kmod",
]

SYSTEM_PATHS = ["/etc", "/usr/bin", "/usr/local/bin", "/usr/lib", "/var/lib", "/boot", "/opt", "/root"]


def _operator(site: Site) -> str:
    return str(site.get("lockdown_operator_user"))


def _admin(site: Site) -> str:
    """The management account (the role's default follows base's)."""
    return str(site.vars.get("lockdown_admin_user") or site.get("base_admin_user"))


def _ssh_port(site: Site) -> int:
    """sshd's port on the site (the role's default follows base's)."""
    return int(site.vars.get("lockdown_ssh_port") or site.get("base_sshd_port"))


def _as_operator(host: Any, site: Site, command: str) -> Any:
    """Run ``command`` as the operator, in a login-less shell (what a kiosk escape would give)."""
    return host.run(f"{_operator_prefix(site)} sh -c {shlex.quote(command)}")


def _operator_prefix(site: Site) -> str:
    """What runs a command as the operator (from root)."""
    return f"LC_ALL=C runuser -u {_operator(site)} --"


def _counter(host: Any, name: str) -> int:
    """Packets the firewall's named counter has seen."""
    with as_root(host):
        data = json.loads(host.check_output(f"nft --json list counter inet lockdown {name}"))
    return next(int(item["counter"]["packets"]) for item in data["nftables"] if "counter" in item)


def _connect_command(url: str, timeout: float) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    code = f"import socket; socket.create_connection(({parts.hostname!r}, {port}), timeout={timeout}).close(); print('CONNECTED')"
    return f"python3 -c {shlex.quote(code)}"


def _connect(host: Any, site: Site, url: str, *, as_operator: bool = True, timeout: float = 2) -> Any:
    """Open a TCP connection to ``url``'s host and port from the site (2 s at most: the lab's services answer in milliseconds)."""
    command = _connect_command(url, timeout)
    if as_operator:
        return _as_operator(host, site, command)
    with as_root(host):
        return host.run(command)


def _dropped_attempts(host: Any, site: Site, url: str) -> tuple[str, str]:
    """Connect to ``url`` as the operator and as root at once, each given 1 s: what each printed, and its exit status.

    Both must be dropped; a drop shows only as a timeout, so the two waits run side
    by side. The firewall's drop counter, checked by the caller, is what proves the
    firewall did it (a slow far end alone would not move it).
    """
    command, files = _connect_command(url, 1), f"/tmp/lockdown-attempt-{secrets.token_hex(4)}"
    # each says what it printed and its exit status ("rc=1": refused or timed out)
    both = (
        f'({_operator_prefix(site)} {command} > {files}.op 2>/dev/null; echo "rc=$?" >> {files}.op) & '
        f'({command} > {files}.root 2>/dev/null; echo "rc=$?" >> {files}.root); wait; '
        f"echo OPERATOR $(cat {files}.op); echo ROOT $(cat {files}.root); rm -f {files}.op {files}.root"
    )
    with as_root(host):
        printed = host.run(f"sh -c {shlex.quote(both)}").stdout
    said = dict(ln.partition(" ")[::2] for ln in printed.splitlines() if ln.startswith(("OPERATOR ", "ROOT ")))
    return said.get("OPERATOR", ""), said.get("ROOT", "")


def test_operator_has_no_sudo(host: Any, site: Site) -> None:
    assert _as_operator(host, site, "sudo -n true").rc != 0
    with as_root(host):
        listing = host.run(f"LC_ALL=C sudo -l -U {_operator(site)}").stdout
    assert "not allowed to run sudo" in listing, listing
    groups = host.check_output(f"id -Gn {_operator(site)}").split()
    assert not {"sudo", "root", "adm", "disk", "shadow", "wheel", "staff"} & set(groups), groups


def test_operator_cannot_su_even_with_the_right_password(host: Any, site: Site) -> None:
    """su to an account whose password the operator knows: pam_wheel refuses it anyway."""
    probe, password = "lockdown-probe", secrets.token_urlsafe(12)
    with as_root(host):
        host.run(f"userdel {probe}")
        host.check_output(f"useradd --no-create-home --shell /bin/sh {probe} && echo {probe}:{password} | chpasswd")
        try:
            attempt = host.run(
                f"LC_ALL=C runuser -u {_operator(site)} -- python3 -c {shlex.quote(SU_AS_A_PERSON)} {probe} {password}"
            )
        finally:
            host.run(f"userdel {probe}")
    assert "ESCAPED" not in attempt.stdout, "the operator became another user with su"
    assert "Permission denied" in attempt.stdout + attempt.stderr, attempt.stdout + attempt.stderr


def test_root_password_is_locked(host: Any) -> None:
    with as_root(host):
        assert host.check_output("passwd --status root").split()[1] == "L"


def test_ssh_logins_only_root_and_admin_from_the_management_networks(host: Any, site: Site) -> None:
    with as_root(host):
        pam = host.file("/etc/pam.d/sshd").content_string
        rules = [ln for ln in host.file("/etc/security/access-sshd.conf").content_string.splitlines() if ln[:1] in "+-"]
    assert "account    required     pam_access.so accessfile=/etc/security/access-sshd.conf" in pam.splitlines()
    networks = " ".join(site.get("lockdown_management_networks"))
    assert rules == [f"+:root {_admin(site)}:{networks}", "-:ALL:ALL"]


def test_operator_cannot_install_software(host: Any, site: Site) -> None:
    assert _as_operator(host, site, "apt-get install --yes --no-download hello").rc != 0
    assert _as_operator(host, site, "dpkg --unpack /dev/null").rc != 0
    for helper in ("pkexec", "pkcon", "udisksctl"):
        assert not host.exists(helper), f"{helper} is installed"


def test_operator_cannot_fetch_packages_from_the_mirror(host: Any, site: Site) -> None:
    """apt's mirror is open to apt (root, _apt) only: the operator cannot download a package to unpack in a home folder."""
    mirror = site.get("base_apt_mirror")
    if not mirror:
        pytest.skip("no mirror configured")
    as_root = _connect(host, site, mirror, as_operator=False)
    dropped = _counter(host, "out_dropped")
    as_operator = _connect(host, site, mirror, timeout=1)  # dropped: the counter below says the firewall did it
    assert "CONNECTED" in as_root.stdout, f"root cannot reach the mirror either, so this proves nothing: {as_root.stderr[-300:]}"
    assert as_operator.rc != 0 and "CONNECTED" not in as_operator.stdout, "the operator reached the apt mirror"
    assert _counter(host, "out_dropped") > dropped, "the firewall's drop counter did not move"


def test_operator_cannot_mount_anything(host: Any, site: Site) -> None:
    image = "/tmp/lockdown-disk.img"
    with as_root(host):
        host.check_output(f"truncate --size 4M {image} && chmod 0666 {image}")
    try:
        assert _as_operator(host, site, "mount -t tmpfs none /mnt").rc != 0
        assert _as_operator(host, site, f"mount -o loop {image} /mnt").rc != 0
        assert _as_operator(host, site, f"udisksctl loop-setup --file {image}").rc != 0
    finally:
        with as_root(host):
            host.run(f"rm -f {image}")
    with as_root(host):
        config = host.check_output("modprobe --showconfig")
    for module in site.get("lockdown_usb_blocked_modules"):
        name = module.replace("-", "_")
        assert f"install {name} /bin/false" in config, f"{module} could still be loaded"
        assert f"blacklist {name}" in config


def test_operator_cannot_write_system_paths(host: Any, site: Site) -> None:
    probes = [f"{folder}/lockdown-probe-{secrets.token_hex(4)}" for folder in SYSTEM_PATHS]
    # every attempt in one go (one round trip); each success is named
    script = " ".join(f"touch {p} 2>/dev/null && echo WROTE {p};" for p in probes)
    script += " cat /etc/shadow >/dev/null 2>&1 && echo READ /etc/shadow; nft flush ruleset 2>/dev/null && echo FLUSHED; true"
    try:
        attempts = _as_operator(host, site, script)
    finally:
        with as_root(host):
            host.run("rm -f " + " ".join(probes))
    assert attempts.rc == 0, attempts.stderr
    assert not attempts.stdout.strip(), f"the operator could: {attempts.stdout.strip()}"


def test_firewall_is_loaded_and_drops_by_default(host: Any) -> None:
    with as_root(host):
        assert host.run("nft --check --file /etc/nftables.conf").rc == 0
        table = host.check_output("nft list table inet lockdown")
    for chain in ("input", "output", "forward"):
        assert f"type filter hook {chain} priority filter; policy drop;" in table, f"{chain} does not drop by default"
    assert host.service("nftables").is_enabled


def _meeting_target(site: Site) -> str | None:
    """Where the room's client goes, as a URL: its meeting page, its MCU (SIP over TCP), or its vendor's download."""
    client = site.vars.get("site_client") or {}
    if client.get("meeting_url"):
        return str(client["meeting_url"])
    if client.get("mcu"):
        mcu = str(client["mcu"])
        return f"sip://{mcu if ':' in mcu else mcu + ':5060'}"
    return site.vars.get("conferencing_client_vendor_url") or None


def test_operator_reaches_the_meeting_but_nothing_else(host: Any, site: Site) -> None:
    """Two lab services: the meeting's (allowlisted) and one no room may reach; the counters must move."""
    elsewhere, meeting = site.vars.get("lab_elsewhere_url"), _meeting_target(site)
    if not elsewhere or not meeting:
        pytest.skip("needs a service outside the allowlist: only the lab has one (no check aims outside it)")
    accepted, dropped = _counter(host, "out_accepted"), _counter(host, "out_dropped")
    allowed = _connect(host, site, meeting)
    assert "CONNECTED" in allowed.stdout, f"the lock-down blocks the meeting ({meeting}): {allowed.stderr[-300:]}"
    assert _counter(host, "out_accepted") > accepted
    operator, root = _dropped_attempts(host, site, elsewhere)
    for who, said in (("the operator", operator), ("root", root)):
        assert "rc=" in said and "CONNECTED" not in said and "rc=0" not in said, f"{who} reached {elsewhere} ({said})"
    assert _counter(host, "out_dropped") >= dropped + 2, "the firewall's drop counter did not move"


def test_ssh_from_outside_the_management_networks_is_dropped(host: Any, site: Site) -> None:
    outsider = site.vars.get("lab_outsider")
    if not outsider:
        pytest.skip("needs a host outside the management networks: only the lab has one")
    from provisioner.lab import podman

    address = host.check_output("hostname -I").split()[0]
    refused = _counter(host, "ssh_refused")
    attempt = podman.exec_(
        str(outsider), "timeout", "1", "bash", "-c", f"exec 3<>/dev/tcp/{address}/{_ssh_port(site)}", check=False
    )
    assert attempt.returncode != 0, f"{outsider} opened an SSH connection to {address}"
    assert _counter(host, "ssh_refused") > refused, "the firewall's refused-SSH counter did not move"


def test_usb_policy_parses_and_allows_only_the_rooms_devices(host: Any, site: Site) -> None:
    with as_root(host):
        parsed = host.run("usbguard-rule-parser --file /etc/usbguard/rules.conf")
        rules = [ln for ln in host.file("/etc/usbguard/rules.conf").content_string.splitlines() if ln and not ln.startswith("#")]
    assert parsed.rc == 0, parsed.stdout + parsed.stderr
    assert rules[0] == "reject with-interface one-of { 08:*:* }", "mass storage is not refused first"
    assert not [r for r in rules if r.startswith("allow") and "08:" in r], "a rule allows mass storage"
    devices = site.vars.get("site_devices") or {}
    for kind in site.get("lockdown_usb_kinds"):
        device = devices.get(kind) or {}
        if not device or device.get("status") == "missing":
            continue
        for usb_id in device.get("usb") or []:
            assert f"allow id {usb_id}" in rules, f"the {kind} ({usb_id}) is not allowed"
        if not device.get("usb") and device.get("usb_class"):
            classes = " ".join(f"{c}:*:*" for c in device["usb_class"])
            assert f"allow with-interface match-all {{ {classes} }}" in rules, f"the {kind}'s classes are not allowed"
    assert "allow with-interface match-all { 03:*:* }" in rules, "keyboards and mice would be locked out"


def test_usbguard_enforces_the_policy(host: Any) -> None:
    """The daemon runs with exactly the file's rules (it refuses to start on a rule it cannot parse)."""
    assert host.service("usbguard").is_enabled
    with as_root(host):
        conf = host.file("/etc/usbguard/usbguard-daemon.conf").content_string
        assert not host.file("/etc/usbguard/IPCAccessControl.d/:plugdev").exists, "the plugdev group may allow devices"
    for setting in ("ImplicitPolicyTarget=block", "PresentControllerPolicy=keep", "IPCAllowedUsers=root"):
        assert setting in conf.splitlines()
    if not host.file("/sys/bus/usb/devices").is_directory:
        pytest.skip("no USB bus here (a container): USBGuard's own parser checked the rules instead")
    with as_root(host):
        deadline = time.monotonic() + 20
        while not host.service("usbguard").is_running and time.monotonic() < deadline:
            time.sleep(1)
        listed = host.run("usbguard list-rules")
        rules = [ln for ln in host.file("/etc/usbguard/rules.conf").content_string.splitlines() if ln and not ln.startswith("#")]
    assert listed.rc == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == len(rules)


def test_no_other_session_no_ctrl_alt_del(host: Any, site: Site) -> None:
    assert host.run("systemctl is-enabled ctrl-alt-del.target").stdout.strip() == "masked"
    assert host.check_output("systemctl show --property CtrlAltDelBurstAction --value") == "none"
    logind = host.check_output("systemd-analyze cat-config systemd/logind.conf")
    assert "NAutoVTs=0" in logind and "ReserveVT=0" in logind
    kiosk = host.file("/etc/systemd/system/kiosk.service")
    if kiosk.exists:
        start = next(ln for ln in kiosk.content_string.splitlines() if ln.startswith("ExecStart="))
        assert " -s " not in start, "the kiosk lets the operator switch terminals"
    assert _as_operator(host, site, "chvt 2").rc != 0


def test_the_boot_path_needs_the_grub_password(host: Any, site: Site) -> None:
    """Editing an entry or GRUB's command line needs the superuser; the default entry boots unattended; no recovery entries."""
    assert host.run("systemctl is-enabled debug-shell.service").stdout.strip() == "masked"
    if host.run("systemd-detect-virt --container").rc == 0:
        pytest.skip("a container has no boot loader of its own: the boot path is the host's")
    if not site.get("lockdown_boot_enabled"):
        pytest.skip("lockdown_boot_enabled is off for this site")
    with as_root(host):
        cfg = host.file("/boot/grub/grub.cfg")
        text = cfg.content_string
        script = host.file("/etc/grub.d/01_lockdown_password")
        diverted = host.run("dpkg-divert --list /etc/grub.d/10_linux").stdout
    lines = text.splitlines()
    assert f'set superusers="{site.get("lockdown_boot_superuser")}"' in lines, "grub.cfg names no superuser"
    assert any(line.startswith("password_pbkdf2 ") for line in lines), "grub.cfg has no password: anyone may edit an entry"
    assert not cfg.mode & 0o077, f"grub.cfg is readable by others (mode {cfg.mode:o})"
    lost = f"/etc/grub.d/01_lockdown_password has mode {script.mode:o}: without its exec bit the password is lost"
    assert script.mode == 0o700, lost
    assert str(site.get("lockdown_boot_linux_distrib")) in diverted, "Debian's 10_linux is not diverted"
    top = [line for line in lines if line.startswith("menuentry ")]
    assert top and "--unrestricted" in top[0], "the default entry needs the password: the PC would not boot unattended"
    assert not any("--unrestricted" in line for line in top[1:]), "more than the default entry boots without the password"
    assert "(recovery mode)" not in text, "grub.cfg offers recovery entries"
    kernels = [line.split() for line in lines if line.split()[:1] == ["linux"]]
    panic = f"panic={site.get('lockdown_boot_panic_reboot_seconds')}"
    assert kernels and all(panic in k for k in kernels), f"a kernel boots without {panic}: a failing initramfs opens a root shell"
    sysrq = f"sysctl.kernel.sysrq={site.get('lockdown_sysctl').get('kernel.sysrq', 0)}"
    assert all(sysrq in k for k in kernels), f"a kernel boots without {sysrq}: SysRq is open until sysctl.d is read"


def test_unneeded_services_are_gone(host: Any, site: Site) -> None:
    states = enabled_states(host, list(site.get("lockdown_services_masked")))
    unmasked = {unit: state or "no such unit" for unit, state in states.items() if state != "masked"}
    assert not unmasked, f"not masked: {unmasked}"
    found = installed(host, list(site.get("lockdown_services_removed")) + list(site.get("lockdown_software_removed")))
    assert not found, f"installed: {', '.join(sorted(found))}"


def test_changes_are_audited_and_logs_kept(host: Any) -> None:
    with as_root(host):
        rules = host.file("/etc/audit/rules.d/50-lockdown.rules").content_string
        in_container = host.run("systemd-detect-virt --container").rc == 0
        if not in_container:
            host.check_output("touch /etc/lockdown-audit-probe && rm -f /etc/lockdown-audit-probe")
            assert "lockdown-audit-probe" in host.run("ausearch --key lockdown-config --interpret").stdout
    for key in ("lockdown-config", "lockdown-packages", "lockdown-usb", "lockdown-logins"):
        assert f"-k {key}" in rules, f"no audit rule for {key}"
    assert host.service("auditd").is_enabled
    journald = host.check_output("systemd-analyze cat-config systemd/journald.conf")
    assert "Storage=persistent" in journald
    assert host.file("/var/log/journal").is_directory
    assert "rotate 56" in host.file("/etc/logrotate.conf").content_string.splitlines()


def test_kernel_settings_apply_where_the_kernel_allows(host: Any, site: Site) -> None:
    wanted = {str(k): str(v) for k, v in site.get("lockdown_sysctl").items()}
    listed = host.file("/etc/sysctl.d/60-lockdown.conf").content_string
    for key, value in wanted.items():
        assert f"-{key} = {value}" in listed, f"{key} is not in the settings file"
    # Does the kernel let this PC set each one? Writing its current value back says (a container may not).
    # All of them in one round trip: "key writable value" a line.
    script = (
        'for key in "$@"; do p=/proc/sys/$(echo "$key" | tr . /); '
        'if v=$(cat "$p") && echo "$v" > "$p"; then echo "$key yes $(cat "$p")"; else echo "$key no"; fi 2>/dev/null; done'
    )
    with as_root(host):
        out = host.run(f"sh -c {shlex.quote(script)} - " + " ".join(wanted)).stdout
    seen = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln.strip()}
    assert set(seen) == set(wanted), f"not read: {sorted(set(wanted) - set(seen))}"
    applied = {key: said[1:] for key, said in seen.items() if said[0] == "yes"}
    wrong = {key: " ".join(now) for key, now in applied.items() if now != wanted[key].split()}
    assert not wrong, f"not as the settings say: {wrong}"
    if not applied:
        pytest.skip("the kernel allows none of these settings here (a container keeps its host's)")


#: The most of an asset record the checks read: the site writes it, so it is bounded like any answer from a site.
ASSET_MAX_BYTES = 256 * 1024


def _asset(host: Any, command: str) -> dict[str, Any]:
    """An asset record from the site, bounded, of the shape the lock-down writes (else the check fails saying so)."""
    raw = host.check_output(f"{command} | head -c {ASSET_MAX_BYTES + 1}")
    assert len(raw) <= ASSET_MAX_BYTES, f"the asset record is over {ASSET_MAX_BYTES} bytes"
    record = json.loads(raw)
    assert isinstance(record, dict) and set(record) == {"dmi", "usb"}, "the asset record is not the lock-down's"
    assert isinstance(record["dmi"], dict) and all(isinstance(v, str) for v in record["dmi"].values())
    assert isinstance(record["usb"], list) and all(isinstance(d, dict) for d in record["usb"])
    return record


def test_asset_record_matches_the_pc(host: Any, site: Site) -> None:
    with as_root(host):
        recorded = _asset(host, f"cat {shlex.quote(site.get('lockdown_asset_file'))}")
        now = _asset(host, "/usr/local/libexec/provisioner-asset")
    assert recorded == now, "the PC's devices changed since the lock-down recorded them"


@pytest.mark.disruptive
def test_tampering_with_system_files_is_found(host: Any) -> None:
    """A program dropped into /usr/local/bin after provisioning: the weekly integrity check names it."""
    assert host.service("lockdown-integrity.timer").is_enabled
    probe = f"/usr/local/bin/lockdown-probe-{secrets.token_hex(4)}"
    with as_root(host):
        before = host.run("aide --config /etc/aide/aide.conf --check")
        host.check_output(f"printf '#!/bin/sh\\n' > {probe} && chmod 0755 {probe}")
        try:
            after = host.run("aide --config /etc/aide/aide.conf --check")
        finally:
            host.run(f"rm -f {probe}")
        packages = host.run("debsums --silent --changed " + " ".join(sorted(installed(host, GUARDED_PACKAGES))))
    # other checks (the su test's account) change files too: look for the probe itself
    assert probe not in before.stdout
    assert after.rc != 0 and probe in after.stdout, "aide did not notice a new program in /usr/local/bin"
    assert packages.rc == 0, f"files differ from their packages: {packages.stdout[-600:]}"


def test_logs_reach_the_provinces_log_server(host: Any, site: Site) -> None:
    """A line logged on the site is found on the log server (the lab's: its services container)."""
    servers = site.get("lockdown_log_servers")
    if not servers:
        pytest.skip("no log server configured: logs stay on the PC")
    with as_root(host):
        forwarding = host.file("/etc/rsyslog.d/60-lockdown-remote.conf").content_string
    for server in servers:
        target = server if ":" in server else f"{server}:514"
        assert f"*.* @@{target}" in forwarding.splitlines(), f"logs are not forwarded to {server}"
    log_host = site.vars.get("lab_log_host")
    if not log_host:
        pytest.skip("the log server's side can only be read in the lab")
    from provisioner.lab import loghost

    token = f"lockdown-log-probe-{secrets.token_hex(6)}"
    host.check_output(f"logger --tag lockdown-check {token}")
    hostname = host.check_output("hostname")
    deadline = time.monotonic() + 20
    while token not in loghost.received(str(log_host), hostname):
        assert time.monotonic() < deadline, f"the log server has not received {token} from {hostname}"
        time.sleep(1)
