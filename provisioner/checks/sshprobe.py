"""Probing a site's sshd from the controller, as an outsider would, with its host key checked."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import paramiko


@dataclass(frozen=True)
class AuthProbe:
    allowed: tuple[str, ...]
    password_accepted: bool


def probe_auth(address: str, port: int, user: str, known_hosts: str, timeout: float = 10.0) -> AuthProbe:
    """Which methods sshd offers ``user``, and whether a password attempt gets in.

    The site's host key must match ``known_hosts``; a mismatch raises
    paramiko.BadHostKeyException rather than talking to an impostor.
    """
    keys = paramiko.HostKeys(known_hosts)
    known = keys.lookup(_ident(address, port))
    sock = socket.create_connection((address, port), timeout=timeout)
    transport = paramiko.Transport(sock)
    if known:
        # Ask only for host key types we hold, so the check is against what we trust.
        options = transport.get_security_options()
        wanted = [k for k in options.key_types if k in known]
        if wanted:
            options.key_types = wanted
    try:
        transport.start_client(timeout=timeout)
        _verify_host_key(transport, address, port, known_hosts)
        allowed: tuple[str, ...] = ()
        try:
            transport.auth_none(user)
        except paramiko.BadAuthenticationType as exc:
            allowed = tuple(exc.allowed_types)
        accepted = False
        try:
            transport.auth_password(user, "not-the-password-" + user)
            accepted = transport.is_authenticated()
        except (paramiko.BadAuthenticationType, paramiko.AuthenticationException):
            accepted = False
        return AuthProbe(allowed=allowed, password_accepted=accepted)
    finally:
        transport.close()


def _ident(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


def _verify_host_key(transport: paramiko.Transport, address: str, port: int, known_hosts: str) -> None:
    ident = _ident(address, port)
    offered = transport.get_remote_server_key()
    known = paramiko.HostKeys(known_hosts).lookup(ident)
    expected = known.get(offered.get_name()) if known else None
    if expected is None or expected != offered:
        raise paramiko.BadHostKeyException(ident, offered, expected or offered)
