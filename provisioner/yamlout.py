"""YAML as a person would write it, fast enough for a whole country's inventories.

PyYAML's dumper (even with libyaml) spends seconds representing the national
inventory's 6,642 hosts, and indents sequences in a way yamllint rejects. The
data written here is plain (mappings with string keys, lists, strings,
numbers, booleans, null), so this module emits it directly:

- block mappings, sequences indented under their key;
- a list of scalars, or a mapping of scalars, on one line when short
  (``modules: [uvcvideo, snd_usb_audio]``);
- strings plain when YAML reads them back as the same string, double-quoted
  (JSON escapes, which YAML shares) otherwise, so ``"01"``, ``"yes"`` and
  ``"0e"`` stay strings;
- with ``unsafe=True`` every string *value* is tagged ``!unsafe``: Ansible
  reads it as data and never templates it, so a registry cell holding
  ``{{ lookup('pipe', ...) }}`` stays that text. Keys (group and host names,
  variable names) are never tagged: Ansible does not template them. Nor are
  connection variables (``ansible_host``, ``ansible_user``, ...) whose text
  is made only of characters no template can be written with (no ``{``,
  ``%`` or ``#``): tools that read the inventory's JSON to connect
  (testinfra) take them as they are.

Tests load every output back (:func:`load`) and compare.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from provisioner.untrusted import Unsafe

#: Longest one-line list or mapping; longer ones go in block style.
FLOW_WIDTH = 100

_PLAIN = re.compile(r"^[A-Za-z_\u00a0-\ud7ff\ue000-\ufffc/(][^\x00-\x1f\x7f-\x9f\u2028\u2029#?,\[\]{}\"'`\\]*$")
_ESCAPE = re.compile(r"[\x7f-\x9f\u2028\u2029\ufeff]")
UNSAFE_TAG = "!unsafe"
#: Text in which no Jinja2 template (``{{``, ``{%``, ``{#``, a ``#jinja2:`` header) can be written.
_INERT = re.compile(r"[A-Za-z0-9 ._:/@=,+\-]*")
_RESOLVER = yaml.resolver.Resolver()
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ".inf", ".nan"})


def scalar(value: Any, unsafe: bool = False) -> str:
    """One scalar as YAML text; a string tagged ``!unsafe`` when ``unsafe``."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no place in an inventory")
        return repr(value)
    if isinstance(value, str):
        return f"{UNSAFE_TAG} {_string(value)}" if unsafe and not _typed(value) else _string(value)
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


@functools.lru_cache(maxsize=1 << 16)
def _string(s: str) -> str:
    plain = _PLAIN.match(s) and "\ufeff" not in s  # libyaml (Ansible's reader) takes a BOM for a new stream
    if plain and s == s.strip() and ": " not in s and not s.endswith(":") and s.lower() not in _RESERVED:
        return s
    quoted = json.dumps(s, ensure_ascii=False)
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


@functools.lru_cache(maxsize=1 << 12)
def _typed(s: str) -> bool:
    """Whether YAML, left to itself, reads ``s`` as something else than a string (``01``, ``yes``, ``~``).

    Ansible 2.19 resolves an ``!unsafe`` scalar's type again from its text,
    quotes or not: ``!unsafe "07777"`` is the number 4095, ``!unsafe ""`` is
    null and ``!unsafe "*"`` fails to load. Such a string is written quoted
    and untagged. YAML's implicit types never hold ``{``, ``}``, ``%`` or
    ``#``, so it can never be a template.
    """
    if _RESOLVER.resolve(yaml.ScalarNode, s, (True, False)) == "tag:yaml.org,2002:str":  # type: ignore[no-untyped-call]
        return False
    if any(c in s for c in "{}%#"):
        raise ValueError(f"{s!r} reads as a YAML type and holds a template's characters")
    return True


def _value(key: str, value: Any, unsafe: bool) -> str:
    """A mapping's scalar value: a connection variable of inert text is written untagged."""
    if unsafe and key.startswith("ansible_") and isinstance(value, str) and _INERT.fullmatch(value):
        return scalar(value)
    return scalar(value, unsafe)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _flow(value: Any, unsafe: bool) -> str | None:
    """``value`` on one line, if it is a short list or mapping of scalars."""
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        if all(_is_scalar(v) for v in value.values()):
            text = "{" + ", ".join(f"{_string(str(k))}: {_value(str(k), v, unsafe)}" for k, v in value.items()) + "}"
            return text if len(text) <= FLOW_WIDTH else None
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return "[]"
        if all(_is_scalar(v) for v in value):
            text = "[" + ", ".join(scalar(v, unsafe) for v in value) + "]"
            return text if len(text) <= FLOW_WIDTH else None
    return None


def block(
    value: Any, indent: int = 0, _seen: dict[tuple[int, int], list[str]] | None = None, *, unsafe: bool = False
) -> list[str]:
    """The lines of a mapping or sequence in block style, ``indent`` spaces in.

    The same object met again at the same depth (the inventory shares one
    rendered device between every site that has it) is written from memory.
    """
    seen: dict[tuple[int, int], list[str]] = {} if _seen is None else _seen
    key = (id(value), indent)
    if key in seen:
        return seen[key]
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            name = _string(str(k))
            if _is_scalar(v):
                lines.append(f"{pad}{name}: {_value(str(k), v, unsafe)}")
                continue
            flow = _flow(v, unsafe)
            if flow is not None:
                lines.append(f"{pad}{name}: {flow}")
            else:
                lines.append(f"{pad}{name}:")
                lines.extend(block(v, indent + 2, seen, unsafe=unsafe))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            if _is_scalar(item):
                lines.append(f"{pad}- {scalar(item, unsafe)}")
                continue
            flow = _flow(item, unsafe)
            if flow is not None and not isinstance(item, Mapping):
                lines.append(f"{pad}- {flow}")
                continue
            inner = block(item, indent + 2, seen, unsafe=unsafe)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines.extend(inner[1:])
    else:
        raise TypeError(f"block style needs a mapping or a list, not {type(value).__name__}")
    seen[key] = lines
    return lines


def dumps(value: Mapping[str, Any], comments: Sequence[str] = (), *, unsafe: bool = False) -> str:
    """A YAML document: ``---``, comment lines, then ``value`` in block style (its strings ``!unsafe`` when ``unsafe``)."""
    head = ["---", *(f"# {c}" if c else "#" for c in comments)]
    return "\n".join([*head, *block(value, unsafe=unsafe)]) + "\n"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, knowing Ansible's ``!unsafe`` (a string that is never templated)."""


def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> Unsafe:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(None, None, "!unsafe on a collection", node.start_mark)
    return Unsafe(loader.construct_scalar(node))


_Loader.add_constructor(UNSAFE_TAG, _unsafe)


def load(text: str) -> Any:
    """Read YAML this module (or Ansible's ``!unsafe``) wrote: tagged strings come back as :class:`Unsafe`."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader with one more scalar tag
