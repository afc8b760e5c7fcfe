"""The project's management key and the known_hosts file it manages."""

from __future__ import annotations

from pathlib import Path

from provisioner import proc
from provisioner.atomic import write_atomic


def management_key(lab: Path) -> Path:
    """The lab's management private key, created on first use (ed25519, no passphrase)."""
    key = lab / "id_ed25519"
    if not key.is_file():
        keygen = proc.require("ssh-keygen", package="openssh-client")
        proc.run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", "provisioner-lab-management", "-f", str(key)])
    return key


def public_key(private: Path) -> str:
    return Path(f"{private}.pub").read_text().strip()


def known_host_id(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def record_host_keys(known_hosts: Path, host: str, port: int, keys: list[str]) -> None:
    """Replace ``host:port``'s lines in ``known_hosts`` by ``keys`` (atomic rewrite)."""
    ident = known_host_id(host, port)
    lines = []
    if known_hosts.is_file():
        lines = [ln for ln in known_hosts.read_text().splitlines() if ln.split(" ", 1)[0] != ident]
    for key in keys:
        kind, blob = key.split()[:2]
        lines.append(f"{ident} {kind} {blob}")
    write_atomic(known_hosts, "\n".join(lines) + "\n" if lines else "")


def forget_host(known_hosts: Path, host: str, port: int) -> None:
    record_host_keys(known_hosts, host, port, [])
