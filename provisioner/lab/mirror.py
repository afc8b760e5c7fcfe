"""The Debian mirror this machine's apt already uses (never a hard-coded host)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import LabError


@dataclass(frozen=True)
class Mirror:
    debian: str
    security: str | None


def _deb822_entries(text: str) -> list[tuple[list[str], list[str]]]:
    entries = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
            entries.append((fields.get("uris", "").split(), fields.get("suites", "").split()))
    return entries


def _one_line_entries(text: str) -> list[tuple[list[str], list[str]]]:
    entries = []
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            entries.append(([words[1]], [words[2]]))
    return entries


def host_mirror(apt_dir: Path = Path("/etc/apt")) -> Mirror:
    """Read apt's sources on this machine; PROVISIONER_DEBIAN_MIRROR overrides."""
    override = os.environ.get("PROVISIONER_DEBIAN_MIRROR")
    if override:
        return Mirror(override.rstrip("/"), os.environ.get("PROVISIONER_DEBIAN_SECURITY_MIRROR"))
    entries: list[tuple[list[str], list[str]]] = []
    main_list = apt_dir / "sources.list"
    if main_list.is_file():
        entries += _one_line_entries(main_list.read_text())
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        for f in sorted(parts.iterdir()):
            if f.suffix == ".sources":
                entries += _deb822_entries(f.read_text())
            elif f.suffix == ".list":
                entries += _one_line_entries(f.read_text())
    debian = security = None
    for uris, suites in entries:
        for uri in uris:
            if not uri.startswith(("http://", "https://")):
                continue
            if any(s.endswith("-security") or "/updates" in s for s in suites):
                security = security or uri.rstrip("/")
            elif "/debian" in uri:
                debian = debian or uri.rstrip("/")
    if not debian:
        raise LabError(
            f"cannot find a Debian mirror in {apt_dir}/sources.list*",
            hint="set PROVISIONER_DEBIAN_MIRROR to the mirror URL apt should use",
        )
    return Mirror(debian, security)
