"""The lab's log host: rsyslog in the services container, standing in for the province's log server.

Lab sites forward every log line to it over TCP (role lockdown,
``lockdown_log_servers``); it writes each site's lines to
``/var/log/remote/<hostname>.log``, where the site checks look for them.
"""

from __future__ import annotations

from provisioner.lab import podman

PORT = 514
FOLDER = "/var/log/remote"

CONF = f"""\
# Lab log host, written by 'provisioner lab up': receives the lab sites' logs over TCP.
module(load="imtcp")
input(type="imtcp" port="{PORT}" ruleset="lab-sites")
template(name="lab-site-file" type="string" string="{FOLDER}/%HOSTNAME%.log")
ruleset(name="lab-sites") {{
    action(type="omfile" dynaFile="lab-site-file" createDirs="on")
}}
"""
PATH = "/etc/rsyslog.d/50-lab-log-host.conf"


def configure(container: str) -> None:
    """Receive the lab sites' logs in ``container`` (idempotent; rsyslog restarted only when its settings change)."""
    current = podman.exec_(container, "cat", PATH, check=False).stdout
    running = podman.exec_(container, "systemctl", "is-active", "--quiet", "rsyslog", check=False).returncode == 0
    if current == CONF and running:
        return
    podman.exec_(container, "sh", "-c", f"mkdir -p {FOLDER} && cat > {PATH}", input=CONF)
    podman.exec_(container, "rsyslogd", "-N1")
    podman.exec_(container, "systemctl", "enable", "rsyslog", check=False)
    podman.exec_(container, "systemctl", "restart", "rsyslog", timeout=60)


def address(services: str) -> str:
    """Where lab sites send their logs."""
    return f"{services}:{PORT}"


def received(container: str, hostname: str) -> str:
    """What the log host has received from ``hostname`` so far."""
    return podman.exec_(container, "cat", f"{FOLDER}/{hostname}.log", check=False).stdout
