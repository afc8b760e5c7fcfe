"""Screenshots as the checks look at them: which colours a PNG shows, and how much of each."""

from __future__ import annotations

from io import BytesIO

from PIL import Image

RGB = tuple[int, int, int]


def _counts(data: bytes) -> list[tuple[int, RGB]]:
    """(pixel count, colour) for each colour a PNG shows."""
    with Image.open(BytesIO(data)) as image:
        found = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    return [(n, (int(c[0]), int(c[1]), int(c[2]))) for n, c in found if isinstance(c, tuple)]


def colours(data: bytes) -> int:
    """How many distinct colours a PNG shows (a blank screen shows one or two)."""
    return len(_counts(data))


def share(data: bytes, rgb: RGB, tolerance: int = 12) -> float:
    """The share of a PNG's pixels within ``tolerance`` of ``rgb``."""
    counts = _counts(data)
    total = sum(n for n, _ in counts)
    near = sum(n for n, p in counts if all(abs(a - b) <= tolerance for a, b in zip(p, rgb, strict=True)))
    return near / max(total, 1)
