"""Registry rows → validated sites. Every problem is collected; none stops the others being found."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from provisioner.registry import names
from provisioner.registry.catalog import KINDS, Catalog, Kind
from provisioner.registry.columns import BY_KEY
from provisioner.registry.problems import (
    CommuneInTwoDistrictsError,
    DeviceKindMismatchError,
    DuplicateAddressError,
    DuplicateHostnameError,
    DuplicateSerialError,
    InvalidAddressError,
    InvalidBandwidthError,
    InvalidValueError,
    Location,
    MissingColumnError,
    MissingFieldError,
    RegistryProblem,
    UnknownDeviceModelError,
    UnknownStatusError,
)
from provisioner.registry.read import Row

Profile = Literal["webrtc", "sip", "vendor"]
UnknownModels = Literal["error", "warn"]

#: Device status → (the survey's words, other ways people write them, folded).
STATUSES: dict[str, tuple[str, tuple[str, ...]]] = {
    "in_use": ("Đang sử dụng", ("su dung", "hoat dong", "tot", "binh thuong", "on dinh", "in use", "ok", "working", "good")),
    "unstable": ("Không ổn định", ("chap chon", "unstable")),
    "faulty": (
        "Đang lỗi, hỏng",
        (
            "dang loi",
            "dang hong",
            "loi",
            "hong",
            "bi hong",
            "bi loi",
            "loi hong",
            "khong hoat dong",
            "faulty",
            "broken",
            "not working",
        ),
    ),
    "replace": ("Thay thế", ("can thay the", "de nghi thay the", "replace", "to replace", "needs replacing")),
    "rotating": ("Thiết bị luân chuyển", ("luan chuyen", "dung chung", "rotating", "shared")),
    "missing": ("Chưa có", ("khong co", "thieu", "chua trang bi", "none", "missing")),
}
_STATUS_BY_WORDS = {names.words(vi): key for key, (vi, _) in STATUSES.items()} | {
    alias: key for key, (_, aliases) in STATUSES.items() for alias in aliases
}
_YES = frozenset({"co", "yes", "y", "x", "1", "true", "c", "co su dung"})
_NO = frozenset({"khong", "no", "n", "0", "false", "k", "chua co", "khong co"})
_PROFILES: dict[str, Profile] = {
    "webrtc": "webrtc",
    "web rtc": "webrtc",
    "trinh duyet": "webrtc",
    "browser": "webrtc",
    "sip": "sip",
    "mcu": "sip",
    "sip mcu": "sip",
    "vendor": "vendor",
    "nha cung cap": "vendor",
    "phan mem rieng": "vendor",
}
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_BANDWIDTH = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(?:mbps|mb/s|mbit/s|mb|m)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Device:
    kind: Kind
    model: str
    status: str
    status_text: str
    catalog_id: str | None
    serial: str = ""


@dataclass(frozen=True)
class Operator:
    name: str
    phone: str
    email: str


@dataclass(frozen=True)
class Client:
    profile: Profile
    meeting_url: str = ""
    mcu: str = ""
    account: str = ""
    password_var: str = ""


@dataclass(frozen=True)
class Site:
    where: Location
    province: str
    district: str
    commune: str
    commune_code: str
    room: str
    hostname: str
    host: str
    port: int | None
    dedicated_line: bool | None
    backup_internet: bool | None
    bandwidth_mbps: float | None
    devices: dict[Kind, Device]
    operators: tuple[Operator, ...]
    client: Client
    notes: str


@dataclass
class Result:
    sites: list[Site] = field(default_factory=list)
    problems: list[RegistryProblem] = field(default_factory=list)
    warnings: list[RegistryProblem] = field(default_factory=list)


def parse_address(value: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 → (host, port). Raises ValueError saying why."""
    host, port_text = value, ""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ValueError("'[' without ']'")
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError("only ':port' may follow ']'")
        port_text = rest[1:]
        ipaddress.IPv6Address(host)
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    elif value.count(":") > 1:
        ipaddress.IPv6Address(value)
        return value.lower(), None
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"port '{port_text}' is not a number from 1 to 65535")
        port = int(port_text)
    if not host:
        raise ValueError("no host before the port")
    if re.fullmatch(r"[\d.]+", host):
        ipaddress.IPv4Address(host)
    elif ":" not in host:
        labels = host.rstrip(".").split(".")
        if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
            raise ValueError(f"'{host}' is neither an IP address nor a host name")
    return host.lower(), port


def _phone(value: str) -> str | None:
    """A Vietnamese phone number, normalised to its digits (0xxxxxxxxx); None if it is not one."""
    digits = re.sub(r"[\s.\-()]", "", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if digits.isdigit() and len(digits) == 9 and not digits.startswith("0"):
        digits = "0" + digits  # a spreadsheet number cell drops the leading zero
    if digits.isdigit() and digits.startswith("0") and len(digits) in (10, 11):
        return digits
    return None


class _Validator:
    def __init__(self, catalog: Catalog, unknown_models: UnknownModels) -> None:
        self.catalog = catalog
        self.unknown_models = unknown_models
        self.result = Result()
        self.by_address: dict[tuple[str, int], Location] = {}
        self.by_hostname: dict[str, Location] = {}
        self.by_serial: dict[str, Location] = {}
        self.commune_district: dict[tuple[str, str], tuple[str, Location]] = {}
        self.missing_columns: set[tuple[Location, str]] = set()

    # -- helpers ---------------------------------------------------------
    def problem(self, cls: type[RegistryProblem], row: Row, key: str, message: str, hint: str) -> None:
        self.result.problems.append(cls(row.loc(key), message, hint=hint))

    def required(self, row: Row, key: str, hint: str | None = None) -> str:
        value = row.get(key)
        col = BY_KEY[key]
        if not value and key not in row.columns:  # the sheet has no such column: say so once, for the sheet
            sheet = Location(row.where.file, row.where.sheet, row.where.sheet_index)
            if (sheet, key) not in self.missing_columns:
                self.missing_columns.add((sheet, key))
                self.result.problems.append(
                    MissingColumnError(sheet, f"no '{col.vi}' ({col.en}) column", hint=f"add a column headed '{col.vi}'")
                )
        elif not value:
            self.problem(MissingFieldError, row, key, f"'{col.vi}' ({col.en}) is empty", hint or f"fill in the {col.en.lower()}")
        return value

    def yes_no(self, row: Row, key: str) -> bool | None:
        value = row.get(key)
        if not value:
            return None
        w = names.words(value)
        if w in _YES:
            return True
        if w in _NO:
            return False
        self.problem(InvalidValueError, row, key, f"'{value}' is not yes or no", "write Có or Không")
        return None

    # -- one row -----------------------------------------------------------
    def site(self, row: Row) -> None:
        before = len(self.result.problems)
        province = self.required(row, "province")
        district = row.get("district")
        commune = self.required(row, "commune")
        code = row.get("commune_code")
        if code and not code.isdigit():
            self.problem(
                InvalidValueError,
                row,
                "commune_code",
                f"commune code '{code}' is not a number",
                "give the official commune code (digits only), or leave it empty",
            )
            code = ""
        room = self.required(row, "room", "give the room's number or name, e.g. 01 or Hội trường")
        host, port = self.address(row)
        hostname = self.hostname(row, commune, code, room)
        devices = {kind: dev for kind in KINDS if (dev := self.device(row, kind)) is not None}
        operators = self.operators(row)
        client = self.client(row)
        bandwidth = self.bandwidth(row)
        dedicated = self.yes_no(row, "dedicated_line")
        backup = self.yes_no(row, "backup_internet")
        if province and commune:
            self.commune_once(row, province, district, commune, code)
        if len(self.result.problems) > before or client is None:
            return
        self.result.sites.append(
            Site(
                row.where,
                province,
                district,
                commune,
                code,
                room,
                hostname,
                host,
                port,
                dedicated,
                backup,
                bandwidth,
                devices,
                operators,
                client,
                row.get("notes"),
            )
        )

    def address(self, row: Row) -> tuple[str, int | None]:
        value = self.required(row, "address", "give the PC's management IP address or host name, with :port if not 22")
        if not value:
            return "", None
        try:
            host, port = parse_address(value)
        except ValueError as exc:
            self.problem(
                InvalidAddressError,
                row,
                "address",
                f"'{value}' is not a management address: {exc}",
                "write an IP address or host name, optionally followed by :port (10.20.1.5:2222)",
            )
            return "", None
        key = (host, port or 22)
        first = self.by_address.get(key)
        if first is not None:
            self.problem(
                DuplicateAddressError,
                row,
                "address",
                f"{host} port {port or 22} is also the address of row {first.row}"
                + (f" in sheet '{first.sheet}'" if first.sheet else ""),
                "each PC needs its own address, or its own port on a shared address",
            )
        else:
            self.by_address[key] = row.loc("address")
        return host, port

    def hostname(self, row: Row, commune: str, code: str, room: str) -> str:
        given = row.get("hostname")
        if given:
            name = given.lower()
            if not names.is_label(name):
                self.problem(
                    InvalidValueError,
                    row,
                    "hostname",
                    f"'{given}' is not a valid hostname",
                    "use at most 63 letters a-z, digits and '-', not starting or ending with '-'",
                )
                return ""
        elif commune and room:
            name = names.hostname(commune, room, code)
            if not names.is_label(name):
                self.problem(
                    InvalidValueError,
                    row,
                    "commune",
                    f"'{commune}' / '{room}' give no usable hostname ('{name}')",
                    "give the site a hostname in the 'Tên máy' (Hostname) column",
                )
                return ""
        else:
            return ""
        first = self.by_hostname.get(name)
        if first is not None:
            self.problem(
                DuplicateHostnameError,
                row,
                "hostname" if given else "room",
                f"hostname '{name}' is also the hostname of row {first.row}"
                + (f" in sheet '{first.sheet}'" if first.sheet else ""),
                "give the communes' official codes (Mã xã), name the rooms apart, or set a hostname in the 'Tên máy' column",
            )
        else:
            self.by_hostname[name] = row.loc("hostname" if given else "room")
        return name

    def device(self, row: Row, kind: Kind) -> Device | None:
        model = row.get(f"{kind}_model")
        status_text = row.get(f"{kind}_status")
        status = "unknown"
        if status_text:
            found = _STATUS_BY_WORDS.get(names.words(status_text))
            if found is None:
                known = ", ".join(vi for vi, _ in STATUSES.values())
                self.problem(
                    UnknownStatusError, row, f"{kind}_status", f"'{status_text}' is not a device status", f"write one of: {known}"
                )
            else:
                status = found
        if not model:
            if status not in ("unknown", "missing"):
                self.problem(
                    MissingFieldError,
                    row,
                    f"{kind}_model",
                    f"the {kind} has a status but no model",
                    "give the model, or write 'Chưa có' as its status",
                )
            return None
        dev_id = self.catalog.find(model)
        if dev_id is None:
            problem = UnknownDeviceModelError(
                row.loc(f"{kind}_model"),
                f"'{model}' is not in the device catalog",
                hint="check the spelling, or add the model to a catalog file given with --catalog "
                "(see provisioner/data/devices.yml)",
            )
            (self.result.problems if self.unknown_models == "error" else self.result.warnings).append(problem)
        elif self.catalog.devices[dev_id].kind != kind:
            other = self.catalog.devices[dev_id]
            self.problem(
                DeviceKindMismatchError,
                row,
                f"{kind}_model",
                f"'{model}' is a {other.kind} ({other.label}), not a {kind}",
                f"move it to the {other.kind} column",
            )
            dev_id = None
        serial = self.serial(row, kind)
        return Device(kind, model, status, STATUSES[status][0] if status in STATUSES else status_text, dev_id, serial)

    def serial(self, row: Row, kind: Kind) -> str:
        serial = row.get(f"{kind}_serial").strip()
        if not serial:
            return ""
        first = self.by_serial.get(serial.upper())
        if first is not None:
            where = f"row {first.row}" + (f" in sheet '{first.sheet}'" if first.sheet else "")
            self.problem(
                DuplicateSerialError,
                row,
                f"{kind}_serial",
                f"serial '{serial}' is also the serial of a device on {where}",
                "one unit cannot be in two rooms: correct the serial of one of them",
            )
            return ""
        self.by_serial[serial.upper()] = row.loc(f"{kind}_serial")
        return serial

    def operators(self, row: Row) -> tuple[Operator, ...]:
        found: list[Operator] = []
        for n in (1, 2):
            name, phone_text, email = (row.get(f"operator{n}_{f}") for f in ("name", "phone", "email"))
            if n == 1:
                self.required(row, "operator1_name", "name the officer who runs the room (cán bộ vận hành)")
                self.required(row, "operator1_phone", "give the officer's phone number")
            if not (name or phone_text or email):
                continue
            if not name and n == 2:
                self.problem(
                    MissingFieldError,
                    row,
                    "operator2_name",
                    "the second officer has contacts but no name",
                    "give the officer's name",
                )
            phone = ""
            if phone_text:
                normalised = _phone(phone_text)
                if normalised is None:
                    self.problem(
                        InvalidValueError,
                        row,
                        f"operator{n}_phone",
                        f"'{phone_text}' is not a phone number",
                        "write a Vietnamese number of 10 or 11 digits, e.g. 0912 345 678",
                    )
                else:
                    phone = normalised
            if email and not _EMAIL.match(email):
                self.problem(
                    InvalidValueError,
                    row,
                    f"operator{n}_email",
                    f"'{email}' is not an e-mail address",
                    "write it as name@domain, or leave it empty",
                )
            found.append(Operator(name, phone, email))
        return tuple(found)

    def client(self, row: Row) -> Client | None:
        value = self.required(row, "profile", "write webrtc, sip or vendor")
        if not value:
            return None
        profile = _PROFILES.get(names.words(value))
        if profile is None:
            self.problem(
                InvalidValueError, row, "profile", f"'{value}' is not a conferencing profile", "write webrtc, sip or vendor"
            )
            return None
        url, mcu, account, password_var = (row.get(k) for k in ("meeting_url", "mcu", "account", "password_var"))
        if profile == "webrtc":
            url = self.required(row, "meeting_url", "give the meeting page's address (https://...)")
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                self.problem(
                    InvalidValueError, row, "meeting_url", f"'{url}' is not a web address", "write it in full: https://host/path"
                )
        if profile == "sip":
            mcu = self.required(row, "mcu", "give the MCU or SIP registrar's address (host or IP, with :port if not 5060)")
            account = self.required(row, "account", "give the room's SIP account name")
            password_var = self.required(row, "password_var", "name the vault variable holding the account's password")
        if mcu:
            try:
                parse_address(mcu.removeprefix("sip:").removeprefix("sips:"))
            except ValueError as exc:
                self.problem(
                    InvalidAddressError,
                    row,
                    "mcu",
                    f"'{mcu}' is not an MCU address: {exc}",
                    "write a host name or IP address, with :port if not 5060",
                )
        if password_var and not _VAR.match(password_var):
            self.problem(
                InvalidValueError,
                row,
                "password_var",
                f"'{password_var}' is not a variable name",
                "give the name of a vault variable (letters, digits and _), never the password itself",
            )
        return Client(profile, url, mcu, account, password_var)

    def bandwidth(self, row: Row) -> float | None:
        value = row.get("bandwidth")
        if not value:
            return None
        m = _BANDWIDTH.match(value)
        number = float(m.group(1).replace(",", ".")) if m else 0.0
        if not m or number <= 0:
            self.problem(
                InvalidBandwidthError,
                row,
                "bandwidth",
                f"'{value}' is not a bandwidth in Mbps",
                "write a positive number of Mbps, e.g. 5 or 5,5",
            )
            return None
        return number

    def commune_once(self, row: Row, province: str, district: str, commune: str, code: str) -> None:
        key = (names.province_part(province), code or names.commune_part(commune))
        seen = self.commune_district.get(key)
        if seen is None:
            self.commune_district[key] = (district, row.loc("district"))
        elif names.district_part(seen[0]) != names.district_part(district):
            first_district, first = seen
            self.problem(
                CommuneInTwoDistrictsError,
                row,
                "district",
                f"'{commune}' is listed under '{district or '(none)'}' here and under "
                f"'{first_district or '(none)'}' in row {first.row}" + (f" of sheet '{first.sheet}'" if first.sheet else ""),
                "a commune belongs to one district or zone; correct one of the rows",
            )


def validate(rows: list[Row], catalog: Catalog, unknown_models: UnknownModels = "error") -> Result:
    """Check every row; return the sites of the rows that passed, and every problem."""
    v = _Validator(catalog, unknown_models)
    for row in rows:
        v.site(row)
    return v.result
