"""``provisioner check`` and ``provisioner report``: the readiness check and the reports made from the state."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from provisioner import paths
from provisioner.cliopts import DistrictOpt, InventoryOpt, LabOpt, _named, _pattern, _say, out
from provisioner.errors import ConfigError

if TYPE_CHECKING:
    from provisioner.health.evaluate import SiteCheck
    from provisioner.health.tables import Report
    from provisioner.state import Run, State

report_app = typer.Typer(help="Reports in Vietnamese (HTML and XLSX) from the state database.", no_args_is_help=True)

SiteOpt = Annotated[str | None, typer.Option("--site", "-s", help="Only these sites (Ansible pattern).")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Folder the report goes in (default .state/reports).")]
_MARK = {"ok": "[green]ổn định[/]", "fail": "[red]LỖI[/]", "none": "[dim]—[/]"}


def _write(report: Report, folder: Path | None, stem: str) -> list[Path]:
    where = folder or paths.state_dir() / "reports"
    return [report.write_html(where / f"{stem}.html"), report.write_xlsx(where / f"{stem}.xlsx")]


def _hostvars(inventory: list[Path] | None, lab: str | None, pattern: str | None = None) -> dict[str, dict[str, Any]]:
    """The sites' variables (names, districts, devices) from ``-i``/``--lab``; nothing when there is no inventory."""
    from provisioner import targets

    chosen = targets.resolve(inventory, lab, pattern)
    if not (inventory or lab) and not all(s.exists() for s in chosen.sources):
        return {}  # no -i, and no lab inventory either
    found = targets.inventory_hosts(chosen.sources, chosen.limit)
    return {h: found[h] for h in (chosen.hosts or found) if h in found}


def _print_check(checks: list[SiteCheck], hostvars: dict[str, dict[str, Any]], title: str) -> None:
    from provisioner.health.evaluate import CLASS_LABELS, CLASSES

    by_district: dict[str, list[SiteCheck]] = {}
    for c in sorted(checks, key=lambda c: c.site):
        by_district.setdefault(str(hostvars.get(c.site, {}).get("site_district") or ""), []).append(c)
    for district, found in sorted(by_district.items()):
        table = Table("site", "kết nối", *(CLASS_LABELS[k] for k in CLASSES), title=f"{title} — {district}")
        causes = []
        for c in found:
            marks = [_MARK[c.classes[k].status] if k in c.classes else "" for k in CLASSES]
            reach = "[green]có[/]" if c.reachable else "[magenta]KHÔNG[/]"
            table.add_row(c.site, reach, *marks)
            causes += [(c.site, cause) for cause in dict.fromkeys(x for v in c.classes.values() for x in v.causes)]
            causes += [(c.site, f"[yellow]{d.text}[/]") for d in c.drift]
        out.print(table)
        for name, cause in causes:
            out.print(f"  {name}: {cause}")


def check(
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    district: DistrictOpt = None,
    site: SiteOpt = None,
    mitogen: Annotated[
        bool, typer.Option("--mitogen/--no-mitogen", help="Run through Mitogen (off: for one task a site it is slower).")
    ] = False,
    folder: OutOpt = None,
) -> None:
    """Before a meeting: is each room ready? Devices, client, meeting servers, clock, disk, memory (read-only).

    Exit code 0 when every site is ready, 1 when some site is not ready or could not be reached.
    """
    from provisioner import targets
    from provisioner.health import check as check_mod
    from provisioner.health import reports
    from provisioner.state import State

    chosen = targets.resolve(inventory, lab, _pattern(district, site))
    with State() as state:
        run_id = state.begin_run("check", {"inventory": _named(inventory), "lab": lab, "limit": chosen.limit})
        _say(f"check run {run_id}")
        with state.running(run_id):
            result = check_mod.run(chosen, mitogen=mitogen)
        state.record_health(run_id, result.checks.values())
        state.finish_run(run_id, "succeeded" if result.ok else "failed")
        run = state.run(run_id)
    checks = list(result.checks.values())
    _print_check(checks, result.hostvars, f"Kiểm tra {run_id}")
    report = reports.readiness(run, checks, result.hostvars)
    for line in report.lines[1:]:
        out.print(line)
    out.print("report: " + ", ".join(map(str, _write(report, folder, f"readiness-{run_id}"))))
    if not result.ok:
        raise typer.Exit(1)


def _chosen_run(state: State, kind: str, run_id: str | None) -> Run:
    """The run a report is about: the one named, which must be of ``kind``, or the latest of that kind."""
    run = state.run(run_id) if run_id else state.last_run(kind)
    if run is None:
        raise ConfigError(f"no {kind} has run yet", hint=f"run: provisioner {kind}")
    if run.kind != kind:
        raise ConfigError(f"run {run.id} is a {run.kind}, not a {kind}", hint="list runs with: provisioner status --runs")
    return run


@report_app.command("readiness")
def report_readiness(
    run_id: Annotated[str | None, typer.Argument(help="The check run (default: the latest).")] = None,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    folder: OutOpt = None,
) -> None:
    """One readiness check: which rooms were ready, which not and why, which were dark."""
    from provisioner.health import reports
    from provisioner.state import State

    with State() as state:
        run = _chosen_run(state, "check", run_id)
        checks = state.health(run_id=run.id)
    report = reports.readiness(run, checks, _hostvars(inventory, lab))
    out.print("\n".join(report.lines))
    out.print("report: " + ", ".join(map(str, _write(report, folder, f"readiness-{run.id}"))))


@report_app.command("survey")
def report_survey(
    year: Annotated[int, typer.Option("--year", "-y", help="The survey's year (Vietnam time).")],
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    district: DistrictOpt = None,
    folder: OutOpt = None,
) -> None:
    """The year's survey (camera, micro, sound, terminal: Ổn định / Không ổn định / Không hoạt động) from the checks."""
    from provisioner.health import reports
    from provisioner.health import survey as survey_mod
    from provisioner.state import State

    hostvars = _hostvars(inventory, lab, _pattern(district, None))
    if not hostvars:
        raise ConfigError("no site to report on", hint="give the province's inventory with -i (and --district)")
    since, until = survey_mod.year_bounds(year)
    with State() as state:
        history = state.health(since=since, until=until, sites=sorted(hostvars))
    result = survey_mod.survey(year, sorted(hostvars), history)
    provinces = sorted({str(hv.get("site_province") or "") for hv in hostvars.values()} - {""})
    report = reports.survey(result, hostvars, ", ".join(provinces))
    out.print("\n".join(report.lines[:4]))
    out.print("report: " + ", ".join(map(str, _write(report, folder, f"survey-{year}"))))


@report_app.command("rollout")
def report_rollout(
    run_id: Annotated[str | None, typer.Argument(help="The rollout run (default: the latest).")] = None,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    folder: OutOpt = None,
) -> None:
    """One rollout: each site's result in it, by district."""
    from provisioner.health import reports
    from provisioner.state import State

    with State() as state:
        run = _chosen_run(state, "rollout", run_id)
        results = state.results(run.id)
    report = reports.rollout(run, results, _hostvars(inventory, lab))
    out.print("\n".join(report.lines))
    out.print("report: " + ", ".join(map(str, _write(report, folder, f"rollout-{run.id}"))))
