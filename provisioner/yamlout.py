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
  ``"0e"`` stay strings.

Tests load every output back with ``yaml.safe_load`` and compare.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: Longest one-line list or mapping; longer ones go in block style.
FLOW_WIDTH = 100

_PLAIN = re.compile(r"^[A-Za-z_\u00a0-\ud7ff\ue000-\ufffc/(][^\x00-\x1f\x7f-\x9f\u2028\u2029#?,\[\]{}\"'`\\]*$")
_ESCAPE = re.compile(r"[\x7f-\x9f\u2028\u2029\ufeff]")
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ".inf", ".nan"})


def scalar(value: Any) -> str:
    """One scalar as YAML text."""
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
        return _string(value)
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


@functools.lru_cache(maxsize=1 << 16)
def _string(s: str) -> str:
    if _PLAIN.match(s) and s == s.strip() and ": " not in s and not s.endswith(":") and s.lower() not in _RESERVED:
        return s
    quoted = json.dumps(s, ensure_ascii=False)
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _flow(value: Any) -> str | None:
    """``value`` on one line, if it is a short list or mapping of scalars."""
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        if all(_is_scalar(v) for v in value.values()):
            text = "{" + ", ".join(f"{_string(str(k))}: {scalar(v)}" for k, v in value.items()) + "}"
            return text if len(text) <= FLOW_WIDTH else None
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return "[]"
        if all(_is_scalar(v) for v in value):
            text = "[" + ", ".join(scalar(v) for v in value) + "]"
            return text if len(text) <= FLOW_WIDTH else None
    return None


def block(value: Any, indent: int = 0, _seen: dict[tuple[int, int], list[str]] | None = None) -> list[str]:
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
                lines.append(f"{pad}{name}: {scalar(v)}")
                continue
            flow = _flow(v)
            if flow is not None:
                lines.append(f"{pad}{name}: {flow}")
            else:
                lines.append(f"{pad}{name}:")
                lines.extend(block(v, indent + 2, seen))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            if _is_scalar(item):
                lines.append(f"{pad}- {scalar(item)}")
                continue
            flow = _flow(item)
            if flow is not None and not isinstance(item, Mapping):
                lines.append(f"{pad}- {flow}")
                continue
            inner = block(item, indent + 2, seen)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines.extend(inner[1:])
    else:
        raise TypeError(f"block style needs a mapping or a list, not {type(value).__name__}")
    seen[key] = lines
    return lines


def dumps(value: Mapping[str, Any], comments: Sequence[str] = ()) -> str:
    """A YAML document: ``---``, comment lines, then ``value`` in block style."""
    head = ["---", *(f"# {c}" if c else "#" for c in comments)]
    return "\n".join([*head, *block(value)]) + "\n"
