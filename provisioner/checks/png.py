"""Screenshots as the checks look at them: which colours a PNG shows, and how much of each."""

from __future__ import annotations

from io import BytesIO

from PIL import Image


def colours(data: bytes) -> int:
    """How many distinct colours a PNG shows (a blank screen shows one or two)."""
    with Image.open(BytesIO(data)) as image:
        found = image.convert("RGB").getcolors(maxcolors=1 << 24)
    return len(found or [])


def share(data: bytes, rgb: tuple[int, int, int], tolerance: int = 12) -> float:
    """The share of a PNG's pixels within ``tolerance`` of ``rgb``."""
    with Image.open(BytesIO(data)) as image:
        counts = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    total = sum(n for n, _ in counts)
    near = sum(n for n, p in counts if all(abs(a - b) <= tolerance for a, b in zip(p, rgb, strict=True)))
    return near / max(total, 1)
