#!/usr/bin/python
"""Ansible module: the GRUB superuser and its PBKDF2 password, in a script under /etc/grub.d/."""

from __future__ import annotations

DOCUMENTATION = r"""
module: lockdown_grub_password
short_description: Write the GRUB superuser and its PBKDF2 password hash, idempotently
description:
  - Writes a GRUB configuration script (mode 0700, root) that sets the superuser and its password in the format of
    C(grub-mkpasswd-pbkdf2), so that editing a boot entry, the GRUB command line and entries not marked unrestricted
    need that password.
  - A new salt is drawn only when the password or the user changed (the existing hash is checked against the password),
    so a converge that changes nothing reports nothing changed. Supports check mode. The password is never returned.
options:
  path:
    description: The script to write (under /etc/grub.d/, run by grub-mkconfig).
    type: path
    required: true
  user:
    description: The GRUB superuser's name.
    type: str
    required: true
  password:
    description: The password (from Ansible Vault).
    type: str
    required: true
    no_log: true
  iterations:
    description: PBKDF2-SHA512 rounds of a new hash.
    type: int
    default: 100000
author: provisioner
"""

import hashlib
import hmac
import os
import re
import secrets
import tempfile

from ansible.module_utils.basic import AnsibleModule

HEADER = "#!/bin/sh\n# Managed by provisioner (role lockdown): changes made here are overwritten.\n"
PATTERN = re.compile(r"^password_pbkdf2 (\S+) grub\.pbkdf2\.sha512\.(\d+)\.([0-9A-F]+)\.([0-9A-F]+)$", re.MULTILINE)
SALT_BYTES = 64
HASH_BYTES = 64


def pbkdf2(password: str, salt: bytes, iterations: int) -> str:
    """A hash as grub-mkpasswd-pbkdf2 prints it."""
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=HASH_BYTES)
    return f"grub.pbkdf2.sha512.{iterations}.{salt.hex().upper()}.{digest.hex().upper()}"


def matches(text: str, user: str, password: str) -> bool:
    """Whether the script ``text`` already sets ``user`` with a hash of ``password``."""
    found = PATTERN.search(text)
    if not found or found.group(1) != user or f'set superusers="{user}"' not in text:
        return False
    iterations, salt = int(found.group(2)), bytes.fromhex(found.group(3))
    if iterations < 1 or iterations > 10_000_000:
        return False
    return hmac.compare_digest(pbkdf2(password, salt, iterations), found.group(0).split(" ", 2)[2])


def script(user: str, hashed: str) -> str:
    return f"{HEADER}cat <<'EOF'\nset superusers=\"{user}\"\npassword_pbkdf2 {user} {hashed}\nEOF\n"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "user": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "iterations": {"type": "int", "default": 100000},
        },
        supports_check_mode=True,
    )
    path, user, password = module.params["path"], module.params["user"], module.params["password"]
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user):
        module.fail_json(msg=f"the GRUB superuser {user!r} is not a plain user name (lower-case letters, digits, - and _)")
    if len(password) < 12:
        module.fail_json(msg="the GRUB password is shorter than 12 characters: set a longer lockdown_boot_password in the vault")
    try:
        with open(path, encoding="utf-8") as f:
            current = f.read()
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        current, mode = "", 0
    if current and matches(current, user, password) and current.startswith(HEADER) and mode == 0o700:
        module.exit_json(changed=False, path=path)
    if not module.check_mode:
        text = script(user, pbkdf2(password, secrets.token_bytes(SALT_BYTES), module.params["iterations"]))
        folder = os.path.dirname(path)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".lockdown-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o700)  # grub-mkconfig runs only executable scripts; nobody but root reads the hash
            os.rename(tmp, path)
        except OSError as e:
            os.unlink(tmp)
            module.fail_json(msg=f"could not write {path}: {e}")
    module.exit_json(changed=True, path=path)


if __name__ == "__main__":
    main()
