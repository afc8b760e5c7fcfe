"""What the ``provisioner`` command's modules share: the consoles, the common options, small helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)

InventoryOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--inventory",
        "-i",
        help="Inventory file or folder, repeatable; a province folder means its districts (default: the lab's).",
    ),
]
LabOpt = Annotated[
    str | None,
    typer.Option("--lab", help="Work on this lab's stand-ins for the inventory's sites (see 'lab up --from')."),
]
DistrictOpt = Annotated[
    list[str] | None,
    typer.Option("--district", "-d", help="Only this district's group (repeatable), e.g. bac_ninh__hiep_hoa."),
]
LimitOpt = Annotated[str | None, typer.Option("--limit", "-l", help="Only these sites (Ansible pattern).")]
TagsOpt = Annotated[str | None, typer.Option("--tags", "-t", help="Only tasks with these tags.")]
CheckOpt = Annotated[bool, typer.Option("--check", help="Dry run: change nothing.")]
DiffOpt = Annotated[bool, typer.Option("--diff", help="Show what changes in files.")]
MitogenOpt = Annotated[
    bool | None,
    typer.Option(
        "--mitogen/--no-mitogen",
        help="Run Ansible through Mitogen (the default, unless PROVISIONER_MITOGEN=0); --no-mitogen for stock Ansible.",
    ),
]


#: How a site's result or a run's outcome is coloured in tables.
COLOURS = {
    "ok": "green",
    "changed": "yellow",
    "failed": "red",
    "unreachable": "magenta",
    "succeeded": "green",
    "running": "cyan",
    "interrupted": "magenta",
    "partial": "yellow",
    "stopped": "red",
}


def _coloured(status: str) -> str:
    return f"[{COLOURS.get(status, 'white')}]{status}[/]"


def _named(inventory: list[Path] | None) -> list[str]:
    """The ``-i`` sources as a run's record keeps them."""
    return [str(i) for i in inventory or []]


def _say(message: str) -> None:
    err.print(f"[dim]•[/dim] {message}")


def _pattern(district: list[str] | None, limit: str | None) -> str | None:
    """An Ansible pattern: any of the districts' groups, narrowed to ``limit``."""
    pattern = ":".join(district) if district else None
    if pattern and limit:
        return f"{pattern}:&{limit}"
    return pattern or limit
