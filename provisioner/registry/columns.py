"""The registry's columns: Vietnamese headers as on the survey form, English ones accepted too.

Headers are matched without case, accents or punctuation, so ``"Băng thông
(Mbps)"``, ``"BANG THONG MBPS"`` and ``"Bandwidth (Mbps)"`` are one column.
A header starting with ``#`` marks a column of the author's own, ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.registry.names import words


@dataclass(frozen=True)
class Column:
    key: str
    vi: str
    en: str
    aliases: tuple[str, ...] = ()
    required: bool = False

    def headers(self) -> tuple[str, ...]:
        return (self.vi, self.en, *self.aliases)


def _operator(n: int) -> tuple[Column, ...]:
    return (
        Column(
            f"operator{n}_name",
            f"Cán bộ vận hành {n}",
            f"Operator {n} name",
            (f"Cán bộ {n}", f"Họ và tên cán bộ {n}", f"Operator {n}"),
        ),
        Column(
            f"operator{n}_phone",
            f"Điện thoại cán bộ {n}",
            f"Operator {n} phone",
            (f"Số điện thoại cán bộ {n}", f"Điện thoại {n}"),
        ),
        Column(f"operator{n}_email", f"Email cán bộ {n}", f"Operator {n} email", (f"Thư điện tử cán bộ {n}", f"Email {n}")),
    )


def _device(kind: str, vi: str, en: str, aliases: tuple[str, ...]) -> tuple[Column, ...]:
    lower = f"{vi[0].lower()}{vi[1:]}"
    return (
        Column(f"{kind}_model", vi, en, (f"{en} model", *aliases)),
        Column(f"{kind}_status", f"Tình trạng {lower}", f"{en} status"),
        # the unit's serial (optional): the readiness check compares it with what it finds on the PC
        Column(f"{kind}_serial", f"Số serial {lower}", f"{en} serial", (f"Serial {lower}", f"S/N {lower}", f"{en} S/N")),
    )


COLUMNS: tuple[Column, ...] = (
    Column("province", "Tỉnh/Thành phố", "Province", ("Tỉnh", "Tỉnh, thành phố"), required=True),
    Column("district", "Huyện/Khu vực", "District", ("Huyện", "Khu vực", "Quận/Huyện", "District/Zone", "Zone")),
    Column("commune_code", "Mã xã", "Commune code", ("Mã đơn vị hành chính", "Mã ĐVHC")),
    Column("commune", "Xã/Phường", "Commune", ("Xã", "Xã, phường, thị trấn", "Xã/Phường/Thị trấn"), required=True),
    Column("room", "Phòng họp", "Room", ("Phòng",), required=True),
    Column("hostname", "Tên máy", "Hostname"),
    Column("address", "Địa chỉ quản lý", "Management address", ("Địa chỉ IP", "Address", "IP"), required=True),
    Column("dedicated_line", "Đường truyền chuyên dùng", "Dedicated line"),
    Column("backup_internet", "Đường truyền internet dự phòng", "Backup internet", ("Internet dự phòng",)),
    Column("bandwidth", "Băng thông (Mbps)", "Bandwidth (Mbps)", ("Băng thông", "Bandwidth")),
    *_device("pc", "Thiết bị giải mã", "PC", ("Bộ giải mã tín hiệu", "Máy tính")),
    *_device("camera", "Camera", "Camera", ()),
    *_device("audio", "Thiết bị âm thanh", "Audio device", ("Audio",)),
    *_device("display", "Thiết bị hiển thị", "Display", ()),
    *_operator(1),
    *_operator(2),
    Column("profile", "Phần mềm họp", "Conferencing profile", ("Profile", "Hình thức kết nối"), required=True),
    Column("meeting_url", "Địa chỉ phòng họp trực tuyến", "Meeting URL", ("URL phòng họp", "Đường dẫn phòng họp")),
    Column("mcu", "Địa chỉ MCU", "MCU address", ("SIP registrar", "MCU")),
    Column("account", "Tài khoản", "Account", ("SIP account", "Tài khoản SIP")),
    Column("password_var", "Biến mật khẩu", "Password variable", ("Biến mật khẩu (vault)", "Password vault variable")),
    Column("notes", "Ghi chú", "Notes"),
)

#: Columns that count rows and carry no data.
IGNORED = frozenset({"stt", "tt", "no", "#", "so thu tu"})
BY_KEY = {c.key: c for c in COLUMNS}
BY_HEADER = {words(h): c for c in COLUMNS for h in c.headers()}
REQUIRED = tuple(c.key for c in COLUMNS if c.required)


def is_password_header(header: str) -> bool:
    """A header that would put passwords in the registry (a variable *name* is fine)."""
    w = f" {words(header)} "
    return (" mat khau " in w or " password " in w) and not (" bien " in w or " variable " in w)
