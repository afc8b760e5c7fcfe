"""The ``provisioner`` command. The only module that prints for the user and exits."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from provisioner import __version__, paths
from provisioner.errors import ProvisionerError

if TYPE_CHECKING:
    from provisioner.lab.sites import Site

app = typer.Typer(
    help="Provision and keep healthy the PCs in commune online conference rooms.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
lab_app = typer.Typer(help="A lab of simulated commune PCs (podman containers) to provision and test.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")

out = Console()
err = Console(stderr=True)

InventoryOpt = Annotated[
    Path | None,
    typer.Option("--inventory", "-i", help="Inventory file or folder (default: the lab's)."),
]


def _say(message: str) -> None:
    err.print(f"[dim]•[/dim] {message}")


def _default_inventory(inventory: Path | None, lab: str = "lab") -> Path:
    if inventory is not None:
        return inventory
    from provisioner.lab.sites import inventory_path

    return inventory_path(lab)


@app.callback(invoke_without_command=True)
def _main(version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False) -> None:
    if version:
        out.print(__version__)
        raise typer.Exit(0)


@lab_app.command("up")
def lab_up(
    sites: Annotated[int, typer.Option("--sites", "-n", help="How many sites the lab holds.")] = 2,
    os_: Annotated[str, typer.Option("--os", help="Debian suite: bookworm (12) or trixie (13).")] = "bookworm",
    name: Annotated[str, typer.Option("--lab", help="Lab name, to keep several labs apart.")] = "lab",
    prefix: Annotated[str, typer.Option("--prefix", help="Site name prefix (site01, site02...).")] = "site",
    site_names: Annotated[
        list[str] | None, typer.Option("--name", help="Explicit site name (repeatable); overrides --sites.")
    ] = None,
    base_port: Annotated[
        int | None, typer.Option("--base-port", help="Site N gets port BASE+N (default: free ports from 2201).")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the lab as JSON.")] = False,
) -> None:
    """Start (or resize) a lab of N sites and write its inventory."""
    from provisioner.lab import keys
    from provisioner.lab import sites as lab_sites

    lab = lab_sites.up(sites, suite=os_, lab_name=name, base_port=base_port, prefix=prefix, names=site_names, progress=_say)
    if json_:
        import json

        out.print_json(
            json.dumps(
                {
                    "lab": lab.name,
                    "inventory": str(lab.inventory),
                    "known_hosts": str(lab.known_hosts),
                    "key": str(lab.key),
                    "services": lab.services_address,
                    "vars": lab_sites.role_vars(lab.services_address or "", keys.public_key(lab.key)),
                    "sites": [
                        {"name": s.name, "address": s.address, "port": s.port, "os": s.os, "container": s.container}
                        for s in lab.sites
                    ],
                }
            )
        )
        return
    _lab_table(lab.sites)
    out.print(f"inventory: {lab.inventory}")


@lab_app.command("status")
def lab_status(name: Annotated[str, typer.Option("--lab", help="Lab name.")] = "lab") -> None:
    """Show the lab's sites."""
    from provisioner.lab import sites as lab_sites

    found = lab_sites.status(name)
    if not found:
        out.print(f"lab '{name}' has no sites (start some: provisioner lab up --sites 2)")
        return
    _lab_table(found)


@lab_app.command("down")
def lab_down(
    name: Annotated[str, typer.Option("--lab", help="Lab name.")] = "lab",
    everything: Annotated[bool, typer.Option("--all", help="Also remove the services container and network.")] = False,
) -> None:
    """Remove the lab's sites."""
    from provisioner.lab import sites as lab_sites

    removed = lab_sites.down(name, everything, progress=_say)
    out.print(f"removed {len(removed)} site(s)")


def _lab_table(found: list[Site]) -> None:
    table = Table("site", "os", "ssh", "state", "container", title="Lab sites")
    for s in found:
        table.add_row(s.name, s.os, f"{s.address}:{s.port}", s.state, s.container)
    out.print(table)


@app.command()
def converge(
    inventory: InventoryOpt = None,
    limit: Annotated[str | None, typer.Option("--limit", "-l", help="Only these sites (Ansible pattern).")] = None,
    tags: Annotated[str | None, typer.Option("--tags", "-t", help="Only tasks with these tags.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Dry run: change nothing.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Show what changes in files.")] = False,
) -> None:
    """Apply playbooks/site.yml to the sites (one run; rollouts by wave come with 'rollout')."""
    from provisioner.runner import Event, run_playbook

    inv = _default_inventory(inventory)

    def progress(ev: Event) -> None:
        if ev.kind == "task":
            err.print(f"[dim]TASK {ev.task}[/dim]")
        elif ev.kind in ("failed", "unreachable"):
            err.print(f"[red]{ev.kind}[/red] {ev.host}: {ev.task}")

    result = run_playbook("site.yml", [inv], limit=limit, tags=tags, check=check, diff=diff, progress=progress)
    table = Table("site", "result", "ok", "changed", "failed task", title="Converge")
    colours = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "magenta"}
    for s in result.sites.values():
        table.add_row(
            s.host,
            f"[{colours[s.status]}]{s.status}[/]",
            str(s.ok),
            str(s.changed),
            f"{s.failed_task}: {s.message}" if s.failed_task else "",
        )
    out.print(table)
    out.print(f"artifacts: {result.artifacts}")
    if not result.succeeded:
        raise typer.Exit(1)


@app.command()
def verify(
    inventory: InventoryOpt = None,
    site: Annotated[str | None, typer.Option("--site", "-s", help="Only this site (Ansible pattern).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-j", help="Sites checked at once.")] = 4,
    junit: Annotated[Path | None, typer.Option("--junit", help="Where to write the JUnit XML.")] = None,
    print_only: Annotated[bool, typer.Option("--print", help="Print the command that would run, and stop.")] = False,
) -> None:
    """Run the packaged site checks over SSH and say which sites pass."""
    from provisioner import verify as verify_mod

    inv = _default_inventory(inventory)
    if print_only:
        junit_path = junit or paths.state_dir() / "verify" / "junit.xml"
        out.print(shlex.join(verify_mod.pytest_argv(inv, junit_path, site, workers)), soft_wrap=True)
        return
    _say(f"checking sites of {inv} ({workers} at a time)")
    result = verify_mod.run_checks(inv, limit=site, workers=workers, junit=junit)
    table = Table("site", "result", "passed", "failed checks", title="Verify")
    for s in result.sites.values():
        table.add_row(s.site, "[green]pass[/]" if s.ok else "[red]FAIL[/]", str(s.passed), ", ".join(sorted(set(s.failed))))
    out.print(table)
    out.print(f"JUnit XML: {result.junit}")
    if not result.ok:
        raise typer.Exit(1)


def main() -> None:
    """Entry point: run the app, turning the project's errors into a message and an exit code."""
    try:
        app()
    except ProvisionerError as exc:
        err.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
