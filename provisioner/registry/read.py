"""Read a registry file (XLSX, XLS, ODS or CSV) into rows of text keyed by column, each knowing its place.

Workbooks (``.xlsx``, ``.xlsm``, Excel 97-2003 ``.xls``, OpenDocument ``.ods``):
every sheet whose header row (within its first rows, below any title) names
registry columns is read; other sheets (instructions, lists) are skipped.
Merged cells give their value to every cell they cover, as the author sees it.
CSV: UTF-8 with or without a byte-order mark, or Windows-1258 (what Excel on
Vietnamese Windows saves as "CSV"; read, and said so), comma or semicolon
separated.

A registry is a file passed around by e-mail: it is read within bounds. A
file over :data:`MAX_FILE_BYTES`, a workbook that unpacks to more than
:data:`MAX_UNPACKED_BYTES`, more than :data:`MAX_ROWS` rows or
:data:`MAX_COLUMNS` columns is refused before its rows are taken; a workbook
is opened in a child process limited to :data:`MAX_READER_BYTES` of memory
and :data:`MAX_READER_SECONDS`, so a sheet that claims a million empty rows
costs the controller nothing. Text typed with TCVN3 (ABC) fonts is refused
with what it reads as.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.registry import encodings
from provisioner.registry.columns import BY_HEADER, BY_KEY, IGNORED, REQUIRED, is_password_header
from provisioner.registry.names import words
from provisioner.registry.problems import (
    DuplicateColumnError,
    LegacyEncodingError,
    Location,
    MissingColumnError,
    PasswordInRegistryError,
    RegistryNotice,
    RegistryProblem,
    RegistryTooLargeError,
    UnknownColumnError,
    UnreadableRegistryError,
)

#: The largest registry file read (the whole country's 6,642 rooms take about 1 MB as XLSX).
MAX_FILE_BYTES = 32 << 20
#: The most a workbook (a zip of XML) may unpack to.
MAX_UNPACKED_BYTES = 256 << 20
#: Rows and columns a sheet or CSV file may have (about three times the country's rooms).
MAX_ROWS = 20_000
MAX_COLUMNS = 256
#: Memory (address space above the controller's own) and time a workbook's reader may take.
MAX_READER_BYTES = 1 << 30
MAX_READER_SECONDS = 120.0
#: The workbooks read (all through calamine).
WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".ods")
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
    notices: list[RegistryNotice] = field(default_factory=list)  # what the reader did that the author should know


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
    if len(grid) > MAX_ROWS + HEADER_SEARCH_ROWS:
        into.problems.append(_too_many_rows(where, len(grid)))
        return True
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
        row = Row(Location(where.file, where.sheet, where.sheet_index, i + 1), {k: v for k, v in cells.items() if v}, columns)
        legacy = [(k, v, reading) for k, v in row.cells.items() if (reading := encodings.tcvn3_reading(v))]
        for key, value, reading in legacy:
            into.problems.append(
                LegacyEncodingError(
                    row.loc(key),
                    f"'{value}' is text typed in the old TCVN3 (ABC, .Vn fonts) encoding; it reads '{reading}'",
                    hint="convert the sheet to Unicode (UniKey: Công cụ chuyển mã, TCVN3 (ABC) → Unicode), "
                    "use a Unicode font (Times New Roman) and save again",
                )
            )
        if not legacy:
            into.rows.append(row)
    return True


def _too_many_rows(where: Location, count: int) -> RegistryProblem:
    return RegistryTooLargeError(
        where,
        f"has {count} rows or more; a registry has at most {MAX_ROWS}",
        hint="keep one row per room PC; delete the rows below the data (or split the file by province)",
    )


def _grid(sheet: Any) -> list[list[str]]:
    """The sheet's cells as text from A1, merged ranges filled with their top-left value."""
    grid = [[text(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or ():
        top = grid[r0][c0] if r0 < len(grid) and c0 < len(grid[r0]) else ""
        for r in range(r0, min(r1 + 1, len(grid))):
            row = grid[r]
            for c in range(c0, min(c1 + 1, len(row))):
                row[c] = top
    return grid


#: What the reader process sends back: ("sheets", [(name, grid or (rows, columns) too large)]) or (kind, message).
_Book = tuple[str, Any]


def _limit_reader() -> None:
    """In the reader process: memory and CPU time bounded (the workbook is untrusted).

    A reader that runs out aborts (the Rust allocator's way): quietly, the
    parent says why; no traceback from a fault handler the parent had on.
    """
    import faulthandler
    import resource

    faulthandler.disable()
    with open("/proc/self/statm", encoding="ascii") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + MAX_READER_BYTES, used + MAX_READER_BYTES))
    seconds = int(MAX_READER_SECONDS)
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))


def _open_book(path: str) -> _Book:
    """Runs in the reader process: every sheet's grid, or a sheet's size when it is too large to take."""
    import python_calamine

    try:
        wb = python_calamine.CalamineWorkbook.from_path(path)
        sheets: list[tuple[str, Any]] = []
        for name in wb.sheet_names:
            try:
                sheet = wb.get_sheet_by_name(name)
            except python_calamine.CalamineError:
                continue  # a chart sheet or another kind without cells
            if sheet.height > MAX_ROWS + HEADER_SEARCH_ROWS or sheet.width > MAX_COLUMNS:
                sheets.append((name, (sheet.height, sheet.width)))
            else:
                sheets.append((name, _grid(sheet)))
    except python_calamine.PasswordError:
        return ("password", "")
    except MemoryError:
        return ("memory", "")
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        return ("unreadable", str(exc)[:300])
    return ("sheets", sheets)


def _read_in_child(path: Path) -> _Book:
    """Open the workbook in a forked reader under :func:`_limit_reader`; its answer comes back as JSON.

    JSON, not pickle: should the reader ever be subverted by the file it
    reads, what it sends back is still only data. A reader that dies (out of
    memory, out of CPU time) or overruns :data:`MAX_READER_SECONDS` is the
    file's fault, and said so.
    """
    import json
    import select
    import signal
    import time

    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the reader: nothing but read, answer and exit
        code = 1
        try:
            os.close(rfd)
            _limit_reader()
            answer = json.dumps(_open_book(str(path)), ensure_ascii=False).encode()
            with os.fdopen(wfd, "wb") as out:
                out.write(answer)
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + MAX_READER_SECONDS
    with os.fdopen(rfd, "rb", buffering=0) as answer_in:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([answer_in], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return ("time", "")
            chunk = answer_in.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return ("time", "") if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU else ("memory", "")
    kind, got = json.loads(b"".join(chunks))
    if kind == "sheets":
        got = [(name, tuple(grid) if grid and isinstance(grid[0], int) else grid) for name, grid in got]
    return (kind, got)


def _unpacked_size(path: Path) -> int | None:
    """What a zip-based workbook (XLSX, ODS) unpacks to, or None when it is no zip (XLS)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError):
        return None


def _read_book(path: Path, shown: str, into: Registry) -> None:
    unpacked = _unpacked_size(path)
    if unpacked is not None and unpacked > MAX_UNPACKED_BYTES:
        into.problems.append(
            RegistryTooLargeError(
                Location(shown),
                f"unpacks to {unpacked >> 20} MiB; a registry workbook unpacks to at most {MAX_UNPACKED_BYTES >> 20} MiB",
                hint="save the registry's sheet alone in a new workbook, or export it as CSV (UTF-8)",
            )
        )
        return
    kind, got = _read_in_child(path)
    if kind != "sheets":
        into.problems.append(_unreadable_book(shown, kind, got))
        return
    found = False
    for index, (name, grid) in enumerate(got, start=1):
        where = Location(shown, name, index)
        if isinstance(grid, tuple):
            rows, columns = grid
            if rows > MAX_ROWS + HEADER_SEARCH_ROWS:
                into.problems.append(_too_many_rows(where, rows))
            else:
                into.problems.append(
                    RegistryTooLargeError(
                        where,
                        f"has {columns} columns; a registry has at most {MAX_COLUMNS}",
                        hint="delete the columns to the right of the registry's own",
                    )
                )
            found = True
            continue
        found |= _rows_of(grid, where, into)
    if not found:
        into.problems.append(_no_header(shown))


def _unreadable_book(shown: str, kind: str, detail: str) -> RegistryProblem:
    where = Location(shown)
    if kind == "password":
        return UnreadableRegistryError(where, "is protected by a password", hint="save a copy without the password")
    if kind in ("memory", "time"):
        limit = f"{MAX_READER_BYTES >> 20} MiB of memory" if kind == "memory" else f"{MAX_READER_SECONDS:.0f} s"
        return RegistryTooLargeError(
            where,
            f"needs more than {limit} to open (a sheet that claims far more cells than it holds?)",
            hint="copy the registry's rows into a new workbook and save it again, or export it as CSV (UTF-8)",
        )
    return UnreadableRegistryError(
        where,
        f"cannot be read as a workbook ({detail})",
        hint="save it again as .xlsx from your spreadsheet program, or export it as CSV (UTF-8)",
    )


def _sniff_delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _read_csv(path: Path, shown: str, into: Registry) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        into.problems.append(UnreadableRegistryError(Location(shown), f"cannot be read: {exc.strerror}"))
        return
    try:
        content, encoding = encodings.decode_csv(data)
    except UnicodeDecodeError as exc:
        into.problems.append(
            UnreadableRegistryError(
                Location(shown),
                f"is neither UTF-8 nor Windows-1258 text (byte {exc.start})",
                hint="export the sheet again choosing 'CSV UTF-8' as the format",
            )
        )
        return
    delimiter = _sniff_delimiter(content.split("\n", 1)[0])
    grid: list[list[str]] = []
    for record in csv.reader(io.StringIO(content, newline=""), delimiter=delimiter):
        if len(grid) > MAX_ROWS + HEADER_SEARCH_ROWS:
            break  # _rows_of refuses it: no need to read the rest
        grid.append([text(c) for c in record[: MAX_COLUMNS + 1]])
    before = len(into.problems)
    found = _rows_of(grid, Location(shown), into)
    if encoding == "UTF-8":
        if not found:
            into.problems.append(_no_header(shown))
    elif not found:  # the guess gave no registry: the file's encoding is the problem
        into.problems.append(
            UnreadableRegistryError(
                Location(shown),
                f"is not UTF-8 text, and read as {encoding} it has no registry header",
                hint="export the sheet again choosing 'CSV UTF-8' as the format",
            )
        )
    elif len(into.problems) == before:
        into.notices.append(
            RegistryNotice(
                Location(shown),
                f"read as {encoding} (Excel's 'CSV' on Vietnamese Windows) and converted to Unicode",
                hint="to skip the guess, export as 'CSV UTF-8'",
            )
        )


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
    size = path.stat().st_size
    suffix = path.suffix.lower()
    if size > MAX_FILE_BYTES:
        into.problems.append(
            RegistryTooLargeError(
                Location(shown),
                f"is {size >> 20} MiB; a registry is at most {MAX_FILE_BYTES >> 20} MiB",
                hint="keep one row per room PC, without pictures or other sheets",
            )
        )
    elif suffix in WORKBOOKS:
        _read_book(path, shown, into)
    elif suffix in (".csv", ".txt"):
        _read_csv(path, shown, into)
    else:
        into.problems.append(
            UnreadableRegistryError(
                Location(shown),
                f"'{suffix or path.name}' files are not read",
                hint="give an .xlsx, .xls or .ods workbook or a .csv file (UTF-8)",
            )
        )
    return into
