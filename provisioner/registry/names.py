"""Vietnamese names → ASCII: hostnames, group names and folder names.

Every name here is a pure function of the text it is given, so a site's
hostname depends only on that site's own row: adding or removing another site
never renames it. Two sites that would get the same name are an error for the
registry's author to resolve (give the commune code, or name the rooms apart),
never something numbered in registry order.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

MAX_LABEL = 63

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ROOM_NUMBER = re.compile(r"^(?:phong(?: hop)?(?: so)?|room|p)?\s*0*(\d{1,4})$")
#: Words naming the kind of commune; dropped from hostnames (the code or the
#: district keeps names apart), kept in the names people read.
_COMMUNE_KINDS = ("dac khu ", "thi tran ", "phuong ", "xa ")
_DISTRICT_KINDS = ("huyen ", "quan ", "khu vuc ")
#: Abbreviations written for the kinds kept in names.
_ABBREVIATIONS = (("tp ", "thanh pho "), ("tx ", "thi xa "), ("tt ", "thi tran "))
_PROVINCE_KINDS = ("thanh pho ", "tinh ", "tp ")


@functools.lru_cache(maxsize=1 << 14)
def fold(text: str) -> str:
    """Lower-case ASCII of ``text``: diacritics dropped, đ/Đ → d, NFC and NFD alike."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.encode("ascii", "ignore").decode("ascii").lower()


@functools.lru_cache(maxsize=1 << 14)
def words(text: str) -> str:
    """``fold`` then every run of other characters turned into one space: ``"Xã Tân-Yên "`` → ``"xa tan yen"``."""
    return _NON_ALNUM.sub(" ", fold(text)).strip()


def slug(text: str, sep: str = "-") -> str:
    """ASCII words joined by ``sep``: ``"Xã Tân Yên"`` → ``"xa-tan-yen"``."""
    return words(text).replace(" ", sep)


def _drop_kind(folded_words: str, kinds: tuple[str, ...]) -> str:
    for short, full in _ABBREVIATIONS:
        if folded_words.startswith(short):
            folded_words = full + folded_words[len(short) :]
            break
    for kind in kinds:
        if folded_words.startswith(kind) and len(folded_words) > len(kind):
            return folded_words[len(kind) :]
    return folded_words


def commune_part(commune: str) -> str:
    """The commune's name without its kind: ``"Phường Đồng Xuân"`` → ``"dong-xuan"``."""
    return _drop_kind(words(commune), _COMMUNE_KINDS).replace(" ", "-")


def district_part(district: str) -> str:
    """``"Huyện Việt Yên"``, ``"Khu vực Việt Yên"`` (a zone) → ``"viet-yen"``.

    Towns and cities keep their kind: ``"TP Bắc Giang"`` → ``"thanh-pho-bac-giang"``.
    """
    return _drop_kind(words(district), _DISTRICT_KINDS).replace(" ", "-")


def province_part(province: str) -> str:
    """``"Tỉnh Bắc Giang"`` → ``"bac-giang"``."""
    return _drop_kind(words(province), _PROVINCE_KINDS).replace(" ", "-")


def room_part(room: str) -> str:
    """``"01"``, ``"1"``, ``"Phòng họp số 01"`` → ``"p01"``; other names are slugged: ``"Hội trường"`` → ``"hoi-truong"``."""
    w = words(room)
    m = _ROOM_NUMBER.match(w)
    if m:
        return f"p{int(m.group(1)):02d}"
    return w.replace(" ", "-")


def fit_label(name: str) -> str:
    """``name`` as a DNS label: at most 63 characters; a longer one is cut and given a hash of the whole."""
    name = name.strip("-")
    if len(name) <= MAX_LABEL:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: MAX_LABEL - 7].rstrip('-')}-{digest}"


def hostname(commune: str, room: str, commune_code: str | None = None) -> str:
    """The site's hostname from its own commune (name, and code when given) and room.

    ``("Xã Tân Yên", "1")`` → ``"tan-yen-p01"``; with code ``"07210"`` → ``"tan-yen-07210-p01"``.
    """
    parts = [commune_part(commune)]
    if commune_code:
        parts.append(words(commune_code).replace(" ", ""))
    parts.append(room_part(room))
    return fit_label("-".join(p for p in parts if p))


def is_label(name: str) -> bool:
    """Whether ``name`` is a valid lower-case DNS label (RFC 1123), as hostnames here must be."""
    return bool(_LABEL.match(name))


def group(*parts: str) -> str:
    """An Ansible group name from slugs: ``("bac-giang", "viet-yen")`` → ``"bac_giang__viet_yen"``."""
    return "__".join(p.replace("-", "_") for p in parts)
