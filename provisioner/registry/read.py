"""Read a registry file (XLSX or CSV) into rows of text keyed by column, each knowing its place.

XLSX: every sheet whose header row (within its first rows, below any title)
names registry columns is read; other sheets (instructions, lists) are skipped.
Merged cells give their value to every cell they cover, as the author sees it.
CSV: UTF-8 with or without a byte-order mark, comma or semicolon separated.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.registry.columns import BY_HEADER, BY_KEY, IGNORED, REQUIRED, is_password_header
from provisioner.registry.names import words
from provisioner.registry.problems import (
    DuplicateColumnError,
    Location,
    MissingColumnError,
    PasswordInRegistryError,
    RegistryProblem,
    UnknownColumnError,
    UnreadableRegistryError,
)

#: How far down a sheet its header row may be (below a title and a blank line).
HEADER_SEARCH_ROWS = 10
#: Known headers a row needs to count as the header row.
HEADER_MIN_KNOWN = 3


@dataclass(frozen=True)
class Row:
    """One registry row: text per column key, and where each cell is."""

    where: Location
    cells: dict[str, str]
    columns: dict[str, tuple[int, str]]

    def get(self, key: str) -> str:
        return self.cells.get(key, "")

    def loc(self, key: str) -> Location:
        col, header = self.columns.get(key, (0, BY_KEY[key].vi))
        return self.where.at(col, header)


@dataclass
class Registry:
    rows: list[Row] = field(default_factory=list)
    problems: list[RegistryProblem] = field(default_factory=list)


def text(value: Any) -> str:
    """A cell's value as the text its author meant (NFC, trimmed; 5.0 → "5")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _find_header(rows: list[list[str]]) -> int | None:
    for i, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        known = sum(1 for c in cells if c and (words(c) in BY_HEADER))
        if known >= HEADER_MIN_KNOWN:
            return i
    return None


def _map_header(header: list[str], where: Location) -> tuple[dict[str, tuple[int, str]], list[RegistryProblem]]:
    columns: dict[str, tuple[int, str]] = {}
    problems: list[RegistryProblem] = []
    for idx, raw in enumerate(header, start=1):
        if not raw or raw.startswith("#"):
            continue
        key = words(raw)
        at = where.at(idx, raw)
        if key in IGNORED:
            continue
        col = BY_HEADER.get(key)
        if col is None:
            if is_password_header(raw):
                problems.append(
                    PasswordInRegistryError(
                        at,
                        "passwords never go in the registry",
                        hint="delete this column; put each password in Ansible Vault and give its variable "
                        "name in the 'Biến mật khẩu' (Password variable) column",
                    )
                )
            else:
                problems.append(
                    UnknownColumnError(
                        at,
                        f"'{raw}' is not a registry column",
                        hint="rename it to one of the headers listed in the README, "
                        "or start it with '#' to keep it as a column of your own",
                    )
                )
            continue
        if col.key in columns:
            first = columns[col.key]
            problems.append(
                DuplicateColumnError(
                    at,
                    f"'{raw}' is the same column as '{first[1]}' (column {where.at(*first)})".replace(f"{where}, ", ""),
                    hint="keep one of the two columns",
                )
            )
            continue
        columns[col.key] = (idx, raw)
    for key in REQUIRED:
        if key not in columns:
            col = BY_KEY[key]
            problems.append(
                MissingColumnError(
                    where,
                    f"no '{col.vi}' ({col.en}) column",
                    hint=f"add a column headed '{col.vi}' to the header row",
                )
            )
    return columns, problems


def _rows_of(grid: list[list[str]], where: Location, into: Registry) -> bool:
    """Add the rows of one sheet or CSV file; False when it has no header row."""
    h = _find_header(grid)
    if h is None:
        return False
    header_where = Location(where.file, where.sheet, where.sheet_index, h + 1)
    columns, problems = _map_header(grid[h], header_where)
    into.problems.extend(problems)
    if any(isinstance(p, MissingColumnError) for p in problems):
        return True
    for i in range(h + 1, len(grid)):
        cells_in = grid[i]
        cells = {key: cells_in[col - 1] for key, (col, _) in columns.items() if col - 1 < len(cells_in)}
        if not any(cells.values()):
            continue
        into.rows.append(
            Row(Location(where.file, where.sheet, where.sheet_index, i + 1), {k: v for k, v in cells.items() if v}, columns)
        )
    return True


def _grid_xlsx(sheet: Any) -> list[list[str]]:
    """The sheet's cells as text from A1, merged ranges filled with their top-left value."""
    grid = [[text(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or ():
        top = grid[r0][c0] if r0 < len(grid) and c0 < len(grid[r0]) else ""
        for r in range(r0, min(r1 + 1, len(grid))):
            row = grid[r]
            for c in range(c0, min(c1 + 1, len(row))):
                row[c] = top
    return grid


def _read_xlsx(path: Path, shown: str, into: Registry) -> None:
    import python_calamine

    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError:
        into.problems.append(
            UnreadableRegistryError(Location(shown), "is protected by a password", hint="save a copy without the password")
        )
        return
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        into.problems.append(
            UnreadableRegistryError(
                Location(shown),
                f"cannot be read as an Excel workbook ({exc})",
                hint="save it again as .xlsx from your spreadsheet program, or export it as CSV (UTF-8)",
            )
        )
        return
    found = False
    for index, name in enumerate(wb.sheet_names, start=1):
        try:
            sheet = wb.get_sheet_by_name(name)
        except python_calamine.CalamineError:
            continue  # a chart sheet or another kind without cells
        found |= _rows_of(_grid_xlsx(sheet), Location(shown, name, index), into)
    if not found:
        into.problems.append(_no_header(shown))


def _sniff_delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _read_csv(path: Path, shown: str, into: Registry) -> None:
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        into.problems.append(
            UnreadableRegistryError(
                Location(shown),
                f"is not UTF-8 text (byte {exc.start})",
                hint="export the sheet again choosing 'CSV UTF-8' as the format",
            )
        )
        return
    except OSError as exc:
        into.problems.append(UnreadableRegistryError(Location(shown), f"cannot be read: {exc.strerror}"))
        return
    delimiter = _sniff_delimiter(content.split("\n", 1)[0])
    grid = [[text(c) for c in rec] for rec in csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)]
    if not _rows_of(grid, Location(shown), into):
        into.problems.append(_no_header(shown))


def _no_header(shown: str) -> RegistryProblem:
    return MissingColumnError(
        Location(shown),
        "no header row with the registry's columns (looked in the first rows of each sheet)",
        hint="put the headers (Tỉnh/Thành phố, Xã/Phường, Phòng họp, Địa chỉ quản lý, ...) in one row above the data",
    )


def read(path: Path, shown: str | None = None) -> Registry:
    """Every row of the registry at ``path``, and the problems found in its layout."""
    shown = shown or str(path)
    into = Registry()
    if not path.is_file():
        into.problems.append(UnreadableRegistryError(Location(shown), "no such file"))
        return into
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        _read_xlsx(path, shown, into)
    elif suffix in (".csv", ".txt"):
        _read_csv(path, shown, into)
    else:
        into.problems.append(
            UnreadableRegistryError(
                Location(shown),
                f"'{suffix or path.name}' files are not read",
                hint="give an .xlsx workbook or a .csv file (UTF-8)",
            )
        )
    return into
