"""What a site reports, bounded and typed before anything weighs, stores or shows it.

The ``site_health`` module runs on the room PC, and what it reads there (USB
product strings, serials, DMI fields) is whatever the devices and the PC's
firmware say: a PC taken over by its operator, or a USB stick made to lie,
says what it likes. :func:`parse` takes the module's answer as untrusted: every
field of the right type, every text bounded and free of control characters
and unpaired surrogates (bytes that were not UTF-8), lists and maps bounded,
fields the module does not send dropped. A site whose answer fails reads as
an error with the first reason, and no other site's verdict depends on it.
Text that passes (``<script>``, ``{{ }}``) is only text: reports escape it,
the state database stores it as a parameter, Ansible never sees it again.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from provisioner.errors import SiteAnswerError

#: The longest text a site may report in one field (USB strings are at most 126 characters).
MAX_TEXT = 256
#: How many devices, units, endpoints... a site may report.
MAX_ITEMS = 64
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _clean(text: str) -> str:
    bad = _BAD_CHARS.search(text)
    if bad:
        raise ValueError(f"has a control character or a byte that is not UTF-8 (U+{ord(bad.group()):04X})")
    return text


Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_clean)]
Name = Annotated[str, Field(max_length=64), AfterValidator(_clean)]
UsbId = Annotated[str, Field(pattern=r"^[0-9a-f]{4}:[0-9a-f]{4}$")]
UsbClass = Annotated[str, Field(pattern=r"^[0-9a-f]{2}$")]
Count = Annotated[int, Field(ge=0, le=1 << 62)]
Share = Annotated[float, Field(ge=0, le=100)]
Amount = Annotated[float, Field(ge=0, le=1 << 62)]


class _Answer(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, allow_inf_nan=False)


class Usb(_Answer):
    port: Name
    id: UsbId
    serial: Text = ""
    manufacturer: Text = ""
    product: Text = ""
    interface_classes: Annotated[list[UsbClass], Field(max_length=32)] = []


class Video(_Answer):
    name: Name
    label: Text = ""
    usb: Name = ""


class Sound(_Answer):
    card: Annotated[int, Field(ge=0, le=255)]
    id: Text = ""
    usb: Name = ""
    capture: bool = False
    playback: bool = False


class Memory(_Answer):
    total_mib: Count = 0
    available_mib: Count = 0


class Disk(_Answer):
    total_gib: Amount = 0.0
    free_gib: Amount = 0.0
    free_percent: Share = 0.0


class Clock(_Answer):
    source: Name = ""
    synchronised: bool = False
    reference: Text = ""
    offset_s: Annotated[float, Field(ge=-1e9, le=1e9)] = 0.0
    leap: Name = ""
    error: Text = ""


class Endpoint(_Answer):
    host: Text
    port: Annotated[int, Field(ge=0, le=65535)]
    why: Text = ""
    ok: bool = False
    error: Text = ""


class SiteFacts(_Answer):
    sys_root: Text = "/sys"
    usb: Annotated[list[Usb], Field(max_length=MAX_ITEMS)] = []
    video: Annotated[list[Video], Field(max_length=MAX_ITEMS)] = []
    sound: Annotated[list[Sound], Field(max_length=MAX_ITEMS)] = []
    dmi: Annotated[dict[Name, Text], Field(max_length=32)] = {}
    uptime_s: Count = 0
    memory: Memory = Memory()
    disk: Disk = Disk()
    clock: Clock = Clock()
    units: Annotated[dict[Name, Name], Field(max_length=MAX_ITEMS)] = {}
    processes: Annotated[dict[Name, bool], Field(max_length=MAX_ITEMS)] = {}
    endpoints: Annotated[list[Endpoint], Field(max_length=MAX_ITEMS)] = []


def parse(answer: Any) -> dict[str, Any]:
    """The site's answer as plain, bounded data; :class:`SiteAnswerError` (in Vietnamese, with the field) if it is not."""
    if not isinstance(answer, dict):
        raise SiteAnswerError(f"Máy trả lời sai dạng ({type(answer).__name__}, cần một bảng dữ liệu)")
    try:
        return SiteFacts.model_validate(answer).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(gốc)"
        raise SiteAnswerError(
            f"Máy trả lời không hợp lệ ở trường {where[:80]}: {first['msg'][:160]}",
            hint=f"{exc.error_count()} lỗi; xem lại máy tính tại điểm cầu (thiết bị USB lạ, phần mềm bị thay đổi)",
        ) from None
