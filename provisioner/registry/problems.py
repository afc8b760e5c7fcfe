"""What can be wrong in a registry: one exception class per kind, each saying where and what to do.

Validation collects every problem before it stops, so the author fixes the
whole sheet in one pass; :class:`RegistryInvalidError` carries them, sorted by
place in the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.utils import get_column_letter

from provisioner.errors import ConfigError


@dataclass(frozen=True)
class Location:
    """A place in a registry: file, sheet (empty for CSV), row and column (0 when the whole row or file)."""

    file: str
    sheet: str = ""
    sheet_index: int = 0
    row: int = 0
    column: int = 0
    header: str = ""

    def sort_key(self) -> tuple[str, int, int, int]:
        return (self.file, self.sheet_index, self.row, self.column)

    def at(self, column: int, header: str) -> Location:
        return Location(self.file, self.sheet, self.sheet_index, self.row, column, header)

    def __str__(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.row:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {get_column_letter(self.column)}" + (f" ({self.header})" if self.header else ""))
        elif self.header and self.row:
            parts.append(f"column '{self.header}' (not in the sheet: add it)")
        return ", ".join(parts)


class RegistryProblem(ConfigError):
    """One thing wrong in a registry, at one place."""

    def __init__(self, where: Location, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{where}: {message}", hint=hint)
        self.where = where
        self.detail = message


class UnreadableRegistryError(RegistryProblem):
    """The file cannot be opened or is not a spreadsheet this tool reads."""


class MissingColumnError(RegistryProblem):
    """A sheet lacks a column every row needs."""


class UnknownColumnError(RegistryProblem):
    """A header names no known column (a typo would otherwise drop data silently)."""


class DuplicateColumnError(RegistryProblem):
    """Two headers in one sheet name the same column."""


class PasswordInRegistryError(RegistryProblem):
    """A column holds passwords; they belong in Ansible Vault, referenced by variable name."""


class MissingFieldError(RegistryProblem):
    """A required cell is empty."""


class InvalidAddressError(RegistryProblem):
    """A management address is not a host name or IP address with an optional port."""


class DuplicateAddressError(RegistryProblem):
    """Two sites have the same management address and port."""


class DuplicateHostnameError(RegistryProblem):
    """Two sites would get the same hostname."""


class DuplicateSerialError(RegistryProblem):
    """Two devices with one serial number: one unit cannot be in two rooms."""


class InvalidBandwidthError(RegistryProblem):
    """A bandwidth is not a positive number of Mbps."""


class UnknownDeviceModelError(RegistryProblem):
    """A device model is not in the catalog."""


class DeviceKindMismatchError(RegistryProblem):
    """A model sits in the column of another kind of device (a speakerphone in the camera column)."""


class UnknownStatusError(RegistryProblem):
    """A device status is not one of the survey's words."""


class CommuneInTwoDistrictsError(RegistryProblem):
    """One commune is listed under two districts."""


class InvalidValueError(RegistryProblem):
    """A cell holds a value its column does not take (yes/no, profile, phone, e-mail, URL, variable name)."""


class RegistryInvalidError(ConfigError):
    """The registry has problems; nothing was written."""

    def __init__(self, problems: list[RegistryProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.where.sort_key(), type(p).__name__))
        shown = "\n".join(f"  {p}" for p in self.problems)
        files = sorted({p.where.file for p in self.problems})
        super().__init__(
            f"{len(self.problems)} problem(s) in {', '.join(files)}; nothing was written:\n{shown}",
            hint="fix the cells named above and run the command again",
        )


class RegistryTooLargeError(RegistryProblem):
    """A file, sheet or workbook is larger than any province's registry (bounded before it is read)."""


class LegacyEncodingError(RegistryProblem):
    """Text typed in an old Vietnamese encoding (TCVN3/ABC, VNI) inside a Unicode sheet."""


class RegistryNotice(RegistryProblem):
    """Not a problem: something the reader did that the author should know (a CSV read as Windows-1258)."""
