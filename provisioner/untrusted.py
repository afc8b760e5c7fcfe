"""Text that came from outside (registries, catalogs, sites, the state database): data, never a template.

Ansible templates a string from a trusted source (an inventory file, a vars
file, extra vars) when it holds ``{{``, ``{%`` or ``{#``. A registry cell is
typed by a district clerk and a site's answer by whoever has the PC: neither
may run a lookup on the controller. So every such string reaches Ansible
tagged ``!unsafe`` (:mod:`provisioner.yamlout` writes the tag), and comes back
from ``ansible-inventory --list`` as ``{"__ansible_unsafe": "..."}``, which
:func:`loads` turns into :class:`Unsafe`: a ``str`` that the project's own
templating (:mod:`provisioner.checks.site`) also leaves as it is, and that is
written ``!unsafe`` again wherever it goes next (the lab's inventory).
"""

from __future__ import annotations

import json
from typing import Any

#: How ``ansible-inventory --list`` (and Ansible's JSON encoder) marks an unsafe string.
UNSAFE_KEY = "__ansible_unsafe"


class Unsafe(str):
    """A string that must never be templated."""

    __slots__ = ()


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and UNSAFE_KEY in obj and isinstance(obj[UNSAFE_KEY], str):
        return Unsafe(obj[UNSAFE_KEY])
    return obj


def loads(text: str) -> Any:
    """JSON from Ansible (``ansible-inventory --list``), its unsafe strings as :class:`Unsafe`."""
    return json.loads(text, object_hook=_hook)


def untag(value: Any) -> Any:
    """``value`` with Ansible's ``{"__ansible_unsafe": ...}`` wrappers (already parsed JSON) turned into :class:`Unsafe`."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(UNSAFE_KEY), str):
            return Unsafe(value[UNSAFE_KEY])
        return {k: untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [untag(v) for v in value]
    return value
