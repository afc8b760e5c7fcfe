"""The device catalog: model → what a site needs for it. Shipped as ``provisioner/data/devices.yml``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from provisioner.errors import ConfigError
from provisioner.registry.names import words

Kind = Literal["camera", "audio", "display", "pc"]
KINDS: tuple[Kind, ...] = ("pc", "camera", "audio", "display")
_USB_ID = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{4}$")
_CLASS = re.compile(r"^[0-9a-f]{2}$")


class CatalogError(ConfigError):
    """The device catalog (shipped or the province's own) is malformed."""


class UsbId(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    usb_ids_name: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _USB_ID.match(v):
            raise ValueError(f"'{v}' is not a USB vendor:product ID like 046d:0843")
        return v


class Device(BaseModel):
    """One model in the catalog."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Kind
    vendor: str = ""
    model: str
    names: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    usb: list[UsbId] = Field(default_factory=list)
    usb_class: list[str] = Field(default_factory=list)
    modules: list[str] = Field(default_factory=list)
    packages: list[str] = Field(default_factory=list)
    firmware: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    notes: str = ""

    @field_validator("usb_class")
    @classmethod
    def _classes(cls, v: list[str]) -> list[str]:
        for c in v:
            if not _CLASS.match(c):
                raise ValueError(f"'{c}' is not a USB class in two hex digits like 0e")
        return v

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for p in v:
            re.compile(p)
        return v

    @property
    def label(self) -> str:
        return f"{self.vendor} {self.model}".strip()


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    devices: dict[str, Device]


@dataclass
class Catalog:
    """Models by id, found again from the many ways people write them."""

    devices: dict[str, Device]
    sources: list[str]
    _by_name: dict[str, str] = field(default_factory=dict, repr=False)
    _by_compact: dict[str, str] = field(default_factory=dict, repr=False)
    _patterns: list[tuple[re.Pattern[str], str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._index()

    def _index(self) -> None:
        self._by_name.clear()
        self._by_compact.clear()
        self._patterns.clear()
        for dev_id, dev in self.devices.items():
            for name in (dev.model, dev.label, *dev.names, dev_id.replace("-", " ")):
                key = words(name)
                if key:
                    self._by_name.setdefault(key, dev_id)
                    self._by_compact.setdefault(key.replace(" ", ""), dev_id)
            self._patterns.extend((re.compile(p), dev_id) for p in dev.patterns)

    def find(self, text: str) -> str | None:
        """The id of the model ``text`` names, or None.

        Matches a known name exactly (without case, accents, punctuation or spaces),
        then a generic entry's pattern, then a known name with a digit in it
        standing as whole words inside ``text`` when only one model has one.
        """
        key = words(text)
        if not key:
            return None
        if key in self._by_name:
            return self._by_name[key]
        compact = key.replace(" ", "")
        if compact in self._by_compact:
            return self._by_compact[compact]
        for pattern, dev_id in self._patterns:
            if pattern.match(key):
                return dev_id
        padded = f" {key} "
        found = {
            dev_id
            for name, dev_id in self._by_name.items()
            if any(ch.isdigit() for ch in name) and len(name) >= 4 and f" {name} " in padded
        }
        return found.pop() if len(found) == 1 else None

    def merged(self, other: Catalog) -> Catalog:
        """This catalog with ``other``'s models added (``other`` wins on the same id)."""
        return Catalog({**self.devices, **other.devices}, [*self.sources, *other.sources])


#: The largest catalog file read (the shipped one is about 20 KiB).
MAX_CATALOG_BYTES = 1 << 20


def _parse(text: str, source: str) -> Catalog:
    """A catalog file's devices. It is a province's file, untrusted: bounded, and no YAML aliases (an alias bomb)."""
    if len(text) > MAX_CATALOG_BYTES:
        raise CatalogError(f"{source}: {len(text)} characters; a device catalog is at most {MAX_CATALOG_BYTES}")
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise CatalogError(f"{source}: uses YAML aliases (*name)", hint="write each device's entry out in full")
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML: {exc}") from exc
    try:
        parsed = _CatalogFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])
        raise CatalogError(
            f"{source}: device catalog is malformed: {problems}",
            hint="see provisioner/data/devices.yml for the layout of an entry",
        ) from exc
    return Catalog(parsed.devices, [source])


def load(extra: Path | None = None) -> Catalog:
    """The shipped catalog, plus a province's own file if given."""
    shipped = resources.files("provisioner").joinpath("data/devices.yml")
    catalog = _parse(shipped.read_text(encoding="utf-8"), "provisioner/data/devices.yml")
    if extra is not None:
        try:
            if extra.stat().st_size > MAX_CATALOG_BYTES:
                raise CatalogError(f"{extra}: a device catalog is at most {MAX_CATALOG_BYTES} bytes")
            text = extra.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"cannot read device catalog {extra}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise CatalogError(f"{extra}: not UTF-8 text (byte {exc.start})", hint="save the catalog as UTF-8") from exc
        catalog = catalog.merged(_parse(text, str(extra)))
    return catalog
