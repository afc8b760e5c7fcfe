"""Property-based: any sheet a clerk (or an attacker) could send gives sites or located problems, and never half an output."""

from __future__ import annotations

import csv
import datetime as dt
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from provisioner import inventory
from provisioner.errors import ConfigError
from provisioner.registry.problems import (
    MissingColumnError,
    RegistryInvalidError,
    RegistryTooLargeError,
    UnreadableRegistryError,
)
from tests.registry_fixtures import HEADERS, site

#: Problems about a whole file or sheet (no header row, unreadable, too large): they have no row or column.
WHOLE = (MissingColumnError, UnreadableRegistryError, RegistryTooLargeError)

text = st.text(max_size=40) | st.sampled_from(["", " ", "Có", "Không", "5", "=1+1", "{{ x }}", "X· T¨ng TiÕn", "10.99.0.1"])
huge = st.integers(300, 5000).map(lambda n: "Đ" * n)
cell: st.SearchStrategy[Any] = text | huge | st.integers(-(10**20), 10**20) | st.floats(allow_nan=True) | st.booleans()
cell = cell | st.none() | st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1))


@st.composite
def sheets(draw: st.DrawFn) -> tuple[list[str], list[list[Any]]]:
    """A header (the registry's columns, shuffled, some dropped, some unknown) and rows near a valid one."""
    headers = draw(st.permutations(HEADERS))
    headers = headers[: draw(st.integers(0, len(headers)))] + draw(st.lists(text, max_size=2))
    rows = []
    for n in range(1, draw(st.integers(0, 6)) + 1):
        valid = site(n)
        row: list[Any] = [valid.get(h, "") for h in headers]
        for i in draw(st.lists(st.integers(0, max(0, len(headers) - 1)), max_size=4)):
            if headers:
                row[i] = draw(cell)
        rows.append(row)
    return headers, rows


def _csv_text(value: Any) -> str:
    return "" if value is None else str(value)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)[:32767]  # what a spreadsheet program can hold at all
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, int) and abs(value) > 2**53:
        return str(value)
    return value


def _check(path: Path) -> None:
    out = path.parent / "out"
    try:
        inventory.build([path], out, unknown_models="warn")
    except RegistryInvalidError as exc:
        assert not out.exists(), "a registry with problems wrote something"
        for p in exc.problems:
            assert p.where.file == path.name, p
            if not isinstance(p, WHOLE):  # a cell, or a row and the column the sheet lacks
                assert p.where.row > 0 and (p.where.column > 0 or p.where.header), f"{type(p).__name__} has no cell: {p}"
    except ConfigError as exc:  # no rows under the header: nothing to build
        assert not out.exists()
        assert "no sites" in str(exc), exc


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(sheets(), st.sampled_from([",", ";"]), st.booleans())
def test_any_csv_gives_sites_or_located_problems(sheet: tuple[list[str], list[list[Any]]], delimiter: str, nul: bool) -> None:
    headers, rows = sheet
    folder = Path(tempfile.mkdtemp())
    try:
        path = folder / "r.csv"
        with path.open("w", newline="", encoding="utf-8", errors="surrogatepass") as f:
            w = csv.writer(f, delimiter=delimiter)
            w.writerow(headers)
            w.writerows([[_csv_text(v) for v in r] for r in rows])
            if nul:
                f.write("\x00,\x00\n")
        _check(path)
    finally:
        shutil.rmtree(folder)


@FUZZ
@given(sheets(), st.lists(st.tuples(st.integers(1, 8), st.integers(1, 30), st.integers(0, 3), st.integers(0, 3)), max_size=3))
def test_any_workbook_gives_sites_or_located_problems(
    sheet: tuple[list[str], list[list[Any]]], merges: list[tuple[int, int, int, int]]
) -> None:
    headers, rows = sheet
    folder = Path(tempfile.mkdtemp())
    try:
        book = Workbook()
        ws = book.active
        assert ws is not None
        ws.append([_xlsx_value(h) for h in headers])
        for r in rows:
            ws.append([_xlsx_value(v) for v in r])
        for row, col, down, right in merges:
            ws.merge_cells(start_row=row, start_column=col, end_row=row + down, end_column=col + right)
        path = folder / "r.xlsx"
        book.save(path)
        _check(path)
    finally:
        shutil.rmtree(folder)
