"""Vietnamese text as registries really hold it: Windows-1258 CSV files, and TCVN3 (ABC) text in Unicode sheets.

Before Unicode, Vietnamese was typed with the TCVN3 (TCVN 5712:1993, "ABC")
encoding and its ``.Vn`` fonts; a sheet that still uses such a font stores
one Latin-1 character per TCVN3 byte, and without the font it reads
``X· T¨ng TiÕn`` for *Xã Tăng Tiến*. Such text is refused with its place and
what it reads as, never taken as a commune's name.

Excel on Vietnamese Windows saves "CSV" in Windows-1258, whose tones are
combining marks: decoded and composed (NFC), it is the same text as UTF-8.
"""

from __future__ import annotations

import unicodedata

#: TCVN3's Vietnamese letters, by byte (the lower-case letters and the few capitals its normal fonts carry).
_TCVN3 = dict(
    zip(
        (
            *range(0xA1, 0xAF),
            *range(0xB5, 0xBA),
            *range(0xBB, 0xBF),
            *range(0xC6, 0xCD),
            *range(0xCE, 0xD9),
            *range(0xDC, 0xE0),
            *range(0xE1, 0xF0),
            *range(0xF1, 0xFF),
        ),
        "ĂÂÊÔƠƯĐăâêôơưđàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ",
        strict=True,
    )
)
#: TCVN3 bytes whose Latin-1 character is no Vietnamese letter: seeing one in a cell is the mark of TCVN3.
_TELLTALE = frozenset(chr(b) for b in _TCVN3) - frozenset("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý")


def tcvn3_reading(cell: str) -> str | None:
    """What ``cell`` reads as if it is TCVN3 text shown as Latin-1, or None when it is not such text.

    It is when it has a TCVN3 letter that is no Vietnamese letter in Latin-1
    (``·``, ``¨``, ``Õ``'s neighbours) and nothing beyond Latin-1 (real
    Unicode Vietnamese has ``đ``, ``ă``, ``ơ``, ``ư``, ``ạ``... there).
    """
    if not any(c in _TELLTALE for c in cell) or any(ord(c) > 0xFF for c in cell):
        return None
    return "".join(_TCVN3.get(ord(c), c) for c in cell)


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and its encoding's name: UTF-8 (with or without BOM), else Windows-1258.

    Raises :class:`UnicodeDecodeError` when neither reads it.
    """
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        return unicodedata.normalize("NFC", data.decode("cp1258")), "Windows-1258"
