"""The lab's SIP registrar: kamailio in the services container, standing in for the provincial MCU.

Every lab account registers with digest authentication against one password
kept on this machine (``~/.cache/provisioner/lab-sip-password``, mode 0600),
so a wrong password is refused exactly as a real registrar refuses it.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from provisioner.lab import podman

PORT = 5060

KAMAILIO_CFG = """\
#!KAMAILIO
# Lab SIP registrar, written by 'provisioner lab up': digest-authenticated
# REGISTER for any account with the lab's password, locations kept in memory.
debug=2
log_stderror=no
children=2
listen=udp:0.0.0.0:{port}
listen=tcp:0.0.0.0:{port}

loadmodule "jsonrpcs.so"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
loadmodule "ctl.so"

modparam("usrloc", "db_mode", 0)
modparam("auth", "nonce_expire", 300)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (is_method("REGISTER")) {{
        if (!pv_www_authenticate("$td", "{password}", "0")) {{
            xlog("L_NOTICE", "lab registrar: challenge or refusal for $fU@$td from $si\\n");
            www_challenge("$td", "0");
            exit;
        }}
        consume_credentials();
        if (!save("location")) {{
            sl_reply_error();
        }}
        exit;
    }}
    if (is_method("OPTIONS")) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    sl_send_reply("404", "Not Here");
}}
"""


def password_file() -> Path:
    return Path.home() / ".cache" / "provisioner" / "lab-sip-password"


def password() -> str:
    """The lab's SIP password, made once per machine."""
    path = password_file()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(12) + "\n")
    return path.read_text().strip()


def configure(container: str) -> None:
    """Write the registrar's configuration in ``container`` and (re)start kamailio when it changed."""
    cfg = KAMAILIO_CFG.format(port=PORT, password=password())
    current = podman.exec_(container, "cat", "/etc/kamailio/kamailio.cfg", check=False).stdout
    running = podman.exec_(container, "systemctl", "is-active", "--quiet", "kamailio", check=False).returncode == 0
    if current == cfg and running:
        return
    podman.exec_(container, "sh", "-c", "umask 027; cat > /etc/kamailio/kamailio.cfg", input=cfg)
    podman.exec_(
        container,
        "sh",
        "-c",
        "kamailio -c -f /etc/kamailio/kamailio.cfg >/dev/null 2>&1 || kamailio -c -f /etc/kamailio/kamailio.cfg",
    )
    podman.exec_(container, "systemctl", "enable", "--now", "kamailio", check=False)
    podman.exec_(container, "systemctl", "restart", "kamailio", timeout=60)


def registered(container: str, account: str) -> bool:
    """Whether ``account`` holds a registration at the lab registrar now."""
    done = podman.exec_(container, "kamcmd", "ul.lookup", "location", account, check=False)
    return done.returncode == 0 and "Contact" in done.stdout
