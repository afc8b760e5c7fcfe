"""The ``provisioner`` command. The only module that prints for the user and exits."""

from __future__ import annotations

import shlex
import sys
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from provisioner import __version__, cli_health, paths
from provisioner.cliopts import (
    CheckOpt,
    DiffOpt,
    DistrictOpt,
    InventoryOpt,
    LabOpt,
    LimitOpt,
    MitogenOpt,
    TagsOpt,
    _coloured,
    _named,
    _pattern,
    _say,
    err,
    out,
)
from provisioner.errors import ConfigError, ProvisionerError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from provisioner.lab.sites import Site
    from provisioner.rollout import Report
    from provisioner.runner import SiteResult
    from provisioner.state import SiteRecord

app = typer.Typer(
    help="Provision and keep healthy the PCs in commune online conference rooms.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
lab_app = typer.Typer(help="A lab of simulated commune PCs (podman containers) to provision and test.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")
inventory_app = typer.Typer(help="Inventories from the province's site registry.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")
app.command()(cli_health.check)
app.add_typer(cli_health.report_app, name="report")


def _records(run_id: str, results: Iterable[SiteResult]) -> list[SiteRecord]:
    """Sites' results of one Ansible run, as the state database records them."""
    from provisioner.state import SiteRecord

    return [SiteRecord.of(run_id, r.host, r) for r in results]


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
    from_: Annotated[
        list[Path] | None,
        typer.Option("--from", help="Start a stand-in for each site of this inventory (repeatable); overrides --sites."),
    ] = None,
    limit: Annotated[str | None, typer.Option("--limit", "-l", help="With --from: only these sites (Ansible pattern).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the lab as JSON.")] = False,
) -> None:
    """Start (or resize) a lab of N sites and write its inventory."""
    from provisioner.lab import keys
    from provisioner.lab import sites as lab_sites

    found: dict[str, dict[str, object]] = {}
    if from_:
        from provisioner import inventory, targets

        found = targets.inventory_hosts(inventory.expand_sources(from_), limit)
        site_names = sorted(found)
        if not site_names:
            raise ConfigError(f"no site of {', '.join(map(str, from_))} matches {limit!r}", hint="check --limit")

    lab = lab_sites.up(
        sites,
        suite=os_,
        lab_name=name,
        base_port=base_port,
        prefix=prefix,
        names=site_names,
        stand_in_for=found if from_ else None,
        progress=_say,
    )
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


@lab_app.command("devices")
def lab_devices(
    site: Annotated[str, typer.Argument(help="The lab site.")],
    name: Annotated[str, typer.Option("--lab", help="Lab name.")] = "lab",
    remove: Annotated[list[str] | None, typer.Option("--remove", help="Unplug a device: camera or audio (repeatable).")] = None,
    swap: Annotated[
        list[str] | None, typer.Option("--swap", help="Put another catalog model in its place: KIND=MODEL (repeatable).")
    ] = None,
    serial: Annotated[list[str] | None, typer.Option("--serial", help="Give a device another serial: KIND=SERIAL.")] = None,
    inventory: InventoryOpt = None,
    reset: Annotated[bool, typer.Option("--reset", help="Give back the registry's devices (with -i for a stand-in).")] = False,
) -> None:
    """LAB ONLY: the devices a lab site shows the readiness check (lab containers have no USB devices)."""
    from provisioner import targets
    from provisioner.lab import devices
    from provisioner.lab import sites as lab_sites
    from provisioner.registry import catalog

    found = {s.name: s for s in lab_sites.status(name)}
    if site not in found:
        raise ConfigError(f"lab '{name}' has no site {site!r}", hint=f"see: provisioner lab status --lab {name}")
    container = found[site].container

    def pairs(values: list[str] | None, option: str) -> dict[str, str]:
        bad = [v for v in values or [] if "=" not in v]
        if bad:
            raise typer.BadParameter(f"give KIND=VALUE, not {bad[0]!r}", param_hint=option)
        return dict(v.split("=", 1) for v in values or [])

    spec = devices.read(container)
    if reset or spec is None:
        hostvars = targets.inventory_hosts(targets.resolve(inventory, name, site).sources, site) if inventory else {}
        spec = devices.spec_for(site, hostvars.get(site, {}))
    spec = devices.changed(
        spec, catalog.load(), site, remove=remove, swap=pairs(swap, "--swap"), serial=pairs(serial, "--serial")
    )
    devices.write(container, spec)
    for dev in spec["usb"]:
        out.print(f"{dev['port']}: {dev['id']} {dev['manufacturer']} {dev['product']} (serial {dev['serial']})")
    out.print(f"PC: {spec['dmi'].get('product_name')} (serial {spec['dmi'].get('product_serial')})")


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
    lab: LabOpt = None,
    limit: LimitOpt = None,
    tags: TagsOpt = None,
    check: CheckOpt = False,
    diff: DiffOpt = False,
    mitogen: MitogenOpt = None,
) -> None:
    """Apply playbooks/site.yml to the sites (one run; rollouts by wave come with 'rollout')."""
    from provisioner import targets
    from provisioner.runner import Event, run_playbook

    chosen = targets.resolve(inventory, lab, limit)

    def progress(ev: Event) -> None:
        if ev.kind == "task":
            err.print(f"[dim]TASK {ev.task}[/dim]")
        elif ev.kind in ("failed", "unreachable"):
            err.print(f"[red]{ev.kind}[/red] {ev.host}: {ev.task}")

    from provisioner.state import State, reason

    with State() as state:
        run_id = state.begin_run(
            "check" if check else "converge",
            {"inventory": _named(inventory), "lab": lab, "limit": limit, "tags": tags},
        )
        with state.running(run_id):
            result = run_playbook(
                "site.yml",
                chosen.sources,
                limit=chosen.limit,
                tags=tags,
                check=check,
                diff=diff,
                progress=progress,
                mitogen=mitogen,
            )
        state.record(_records(run_id, result.sites.values()))
        state.finish_run(run_id, "succeeded" if result.succeeded else "failed")
    table = Table("site", "result", "ok", "changed", "failed task", title=f"Converge (run {run_id})")
    for s in result.sites.values():
        table.add_row(
            s.host,
            _coloured(s.status),
            str(s.ok),
            str(s.changed),
            reason(s),
        )
    out.print(table)
    out.print(f"artifacts: {result.artifacts}")
    if not result.succeeded:
        raise typer.Exit(1)


@app.command()
def verify(
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    district: DistrictOpt = None,
    site: Annotated[str | None, typer.Option("--site", "-s", help="Only these sites (Ansible pattern).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-j", help="Checks run at once (one SSH connection per site).")] = 8,
    junit: Annotated[Path | None, typer.Option("--junit", help="Where to write the JUnit XML.")] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Also run the checks that interrupt the room for a moment (kill the client to see it come back, "
            "blank the screen, switch the speaker, run the integrity scan): not while a meeting is on.",
        ),
    ] = False,
    print_only: Annotated[bool, typer.Option("--print", help="Print the command that would run, and stop.")] = False,
) -> None:
    """Run the packaged site checks over SSH, record each site's result, say which sites pass."""
    from provisioner import targets
    from provisioner import verify as verify_mod
    from provisioner.state import State

    chosen = targets.resolve(inventory, lab, _pattern(district, site))
    if print_only:
        junit_path = junit or paths.state_dir() / "verify" / "junit.xml"
        inv = ",".join(str(s) for s in chosen.sources)
        argv = verify_mod.pytest_argv(junit_path, chosen.limit, workers, chosen.hosts, full=full)
        out.print(f"ANSIBLE_INVENTORY={shlex.quote(inv)} {shlex.join(argv)}", soft_wrap=True)
        return
    expected = chosen.hosts or sorted(targets.inventory_hosts(chosen.sources, chosen.limit))
    if not expected:
        raise ConfigError("no site matches", hint="check --district and --site against the inventory")
    with State() as state:
        run_id = state.begin_run("verify", {"inventory": _named(inventory), "lab": lab, "limit": chosen.limit, "full": full})
        what = "every check" if full else "the checks safe during a meeting (--full for all)"
        _say(f"verify run {run_id}: checking {len(expected)} site(s), {what}, {workers} at a time")
        with state.running(run_id):
            result = verify_mod.run_checks(
                chosen.sources,
                limit=chosen.limit,
                hosts=chosen.hosts,
                workers=workers,
                junit=junit,
                expected=expected,
                full=full,
            )
        state.record_checks(verify_mod.records(run_id, result))
        state.finish_run(run_id, "succeeded" if result.ok else "failed")
    table = Table("site", "result", "passed", "failed checks", title=f"Verify (run {run_id})")
    for s in result.sites.values():
        table.add_row(s.site, "[green]pass[/]" if s.ok else "[red]FAIL[/]", str(s.passed), ", ".join(s.failed_checks))
    out.print(table)
    text = verify_mod.summary(result, run_id)
    saved = paths.state_dir() / "reports" / f"verify-{run_id}.txt"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(text, encoding="utf-8")
    out.print(text.splitlines()[0])
    out.print(f"JUnit XML: {result.junit}; summary: {saved}")
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def rollout(
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    district: DistrictOpt = None,
    limit: LimitOpt = None,
    batch: Annotated[str, typer.Option("--batch", help="Sites converged at once in a wave: N or N%.")] = "100%",
    max_fail: Annotated[
        float,
        typer.Option("--max-fail", help="Stop when more than this % of a wave's sites failed (unreachable ones never count)."),
    ] = 100.0,
    retries: Annotated[
        int, typer.Option("--retries", help="Extra attempts for unreachable sites, at the end of their wave.")
    ] = 2,
    backoff: Annotated[float, typer.Option("--backoff", help="Seconds before the first retry; doubled each time.")] = 30.0,
    tags: TagsOpt = None,
    check: CheckOpt = False,
    diff: DiffOpt = False,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Finish this interrupted run: only sites not yet succeeded.")
    ] = None,
    mitogen: MitogenOpt = None,
) -> None:
    """Converge sites district by district (waves), in batches; exit 0 all converged, 4 partial, 5 a wave stopped."""
    from rich.live import Live

    from provisioner import rollout as rollout_mod
    from provisioner import targets
    from provisioner.board import Board
    from provisioner.runner import run_playbook
    from provisioner.state import State

    policy = rollout_mod.Policy(batch=batch, max_fail_percent=max_fail, retries=retries, backoff=backoff)
    chosen = targets.resolve(inventory, lab, _pattern(district, limit))
    waves = targets.waves(chosen)
    if not any(w.sites for w in waves):
        raise ConfigError("no site matches", hint="check --district and --limit against the inventory")

    with State() as state:
        if resume:
            run_id = state.reopen_run(resume).id
        else:
            args = {
                "inventory": _named(inventory),
                "lab": lab,
                "district": district or [],
                "limit": limit,
                "batch": batch,
                "max_fail": max_fail,
                "tags": tags,
                "check": check,
            }
            run_id = state.begin_run("rollout-check" if check else "rollout", args)
        _say(f"rollout run {run_id}: {len(waves)} wave(s), resume with --resume {run_id} if interrupted")
        board = Board(run_id, waves)
        board.done_before({s: rollout_mod.Outcome.of(r) for s, r in state.results(run_id).items()})

        def converge_batch(sites: list[str]) -> dict[str, rollout_mod.Outcome]:
            _say(f"converging {len(sites)} site(s): {', '.join(sites)}")
            board.batch_started(sites)
            # site.yml replays handlers on full converges only (a --tags run may not have installed what they restart)
            replay = [] if tags else rollout_mod.replay_sites(state, run_id, sites, resumed=resume is not None)
            if replay:
                _say(f"the last converge of {', '.join(replay)} did not finish: their services are restarted too")
            if not check:
                state.started(run_id, sites)
            done = run_playbook(
                "site.yml",
                chosen.sources,
                limit=",".join(sites),
                tags=tags,
                check=check,
                diff=diff,
                extravars={"provisioner_replay_handlers": replay} if replay else None,
                progress=board.event,
                mitogen=mitogen,
            )
            found = {h: rollout_mod.Outcome.of(r) for h, r in done.sites.items()}
            board.batch_done(found)
            return found

        # live on a terminal; in a log (CI, cron) the lines above and the final tables say it all
        live = Live(board, console=err, refresh_per_second=4, transient=True) if err.is_terminal else nullcontext()
        with state.running(run_id), live:
            report = rollout_mod.run(state, run_id, waves, policy, converge_batch, progress=_say)
        state.finish_run(run_id, {0: "succeeded", 4: "partial"}.get(report.exit_code, "stopped"))
    _rollout_tables(report)
    raise typer.Exit(report.exit_code)


def _rollout_tables(report: Report) -> None:
    """The final table of each district, and the verdict."""
    from provisioner.state import reason

    for wave in report.waves:
        table = Table("site", "result", "changed", "failed task", title=f"Wave {wave.name}: {wave.status}")
        for site_name in wave.sites:
            got = wave.results.get(site_name)
            if got is None:
                table.add_row(site_name, "[dim]not reached[/]", "", "")
            else:
                table.add_row(site_name, _coloured(got.status), str(got.changed), reason(got))
        out.print(table)
        if wave.reason:
            out.print(f"[red]wave {wave.name} stopped[/red]: {wave.reason}")
    verdict = {
        0: "[green]every site converged[/]",
        4: "[yellow]partial[/]: some sites failed or stayed unreachable",
        5: "[red]stopped[/]: a wave passed its failure threshold",
    }[report.exit_code]
    out.print(f"run {report.run_id}: {verdict}")


@app.command()
def reimage(
    site_name: Annotated[str, typer.Argument(metavar="SITE", help="The repaired site's name, as the inventory names it.")],
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Trust the site's new SSH host key without asking.")] = False,
    mitogen: MitogenOpt = None,
) -> None:
    """Make a repaired or reinstalled PC a proper site again: trust its new host key, converge it, verify it."""
    from provisioner import reimage as reimage_mod
    from provisioner import targets
    from provisioner import verify as verify_mod
    from provisioner.checks.site import Site as SiteVars
    from provisioner.runner import SiteResult, run_playbook
    from provisioner.state import State, now

    chosen = targets.resolve(inventory, lab, site_name)
    hostvars = targets.inventory_hosts(chosen.sources, site_name)
    if list(hostvars) != [site_name]:
        raise ConfigError(
            f"no site named {site_name!r} in the inventory", hint="give the site's name as 'provisioner status' lists it"
        )
    site = SiteVars(site_name, dict(hostvars[site_name]))
    keys = reimage_mod.scan(site.address, site.port, Path(site.known_hosts))
    prints = keys.fingerprints()
    if keys.changed:
        out.print(
            f"[bold]{site_name}[/bold] ({site.address}:{site.port}) presents {'new' if keys.known else 'unknown'} SSH host keys:"
        )
        for line in prints:
            out.print(f"  {line}")
        out.print("Compare them with the PC's own (on its screen: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub).")
        if not yes and not typer.confirm("Trust these keys for this site?", default=False):
            raise ConfigError(
                "the new host keys were not trusted; nothing was changed", hint="check the PC, then run reimage again"
            )
        reimage_mod.trust(keys)
    else:
        _say(f"{site_name}: host keys unchanged")
    with State() as state:
        run_id = state.begin_run("reimage", {"site": site_name, "inventory": _named(inventory), "lab": lab})
        state.enrol(run_id, site_name, prints, keys_changed=keys.changed)
        with state.running(run_id):
            _say(f"converging {site_name} (playbooks/site.yml)")
            result = run_playbook("site.yml", chosen.sources, limit=site_name, mitogen=mitogen)
            got = result.sites.get(site_name) or SiteResult(site_name, failed=1, message="the converge gave no result")
            state.record(_records(run_id, [got]))
            _say(f"checking {site_name}")
            checked = verify_mod.run_checks(chosen.sources, hosts=[site_name], workers=4, expected=[site_name], full=True)
            state.record_checks(verify_mod.records(run_id, checked))
            mine = checked.sites.get(site_name)
            summary = reimage_mod.Summary(
                site=site_name,
                run_id=run_id,
                who=state.run(run_id).who,
                at=now(),
                fingerprints=prints,
                keys_changed=keys.changed,
                converge=reimage_mod.converge_words(got),
                converged=got.status in ("ok", "changed"),
                passed=mine.passed if mine else 0,
                failed=mine.failed_checks if mine else ["no check ran"],
            )
        state.finish_run(run_id, "succeeded" if summary.accepted else "failed")
    for line in summary.lines():
        out.print(line)
    out.print(f"saved: {summary.write_html()}")
    if not summary.accepted:
        raise typer.Exit(1)


@app.command()
def status(
    runs: Annotated[bool, typer.Option("--runs", help="List the latest runs instead of the sites.")] = False,
    site: Annotated[list[str] | None, typer.Option("--site", "-s", help="Only this site (repeatable).")] = None,
) -> None:
    """Each site's last result, from the state database (.state/provisioner.sqlite)."""
    from provisioner.state import State, reason

    with State() as state:
        if runs:
            table = Table("run", "kind", "started", "finished", "result", "who", title=f"Runs in {state.path}")
            for r in state.runs():
                table.add_row(r.id, r.kind, r.started_at, r.finished_at or "", _coloured(r.status), r.who)
            out.print(table)
            return
        found = state.last_results(site)
        checks = state.last_checks(site)
        ready = state.last_health(site)
        kinds = {run_id: state.run(run_id).kind for run_id in {r.run_id for r in found.values()}}
    if not found and not checks and not ready:
        out.print("no site has a result yet (converge or rollout some sites first)")
        return
    table = Table("site", "last result", "changed", "when", "run", "failed task", "last checks", "readiness", title="Sites")
    for name in sorted(set(found) | set(checks) | set(ready)):
        rec, chk, health = found.get(name), checks.get(name), ready.get(name)
        verdict = readiness = ""
        if chk:
            verdict = f"[green]pass[/] {chk.passed}" if chk.ok else f"[red]FAIL[/] {', '.join(chk.failed_checks)}"
            verdict += f" [dim]({chk.at[:16]})[/]"
        if health:
            word = "[green]ready[/]" if health.ok else "[magenta]dark[/]" if not health.reachable else "[red]NOT READY[/]"
            readiness = f"{word} [dim]({health.at[:16]})[/]"
        if rec is None:
            table.add_row(name, "", "", "", "", "", verdict, readiness)
            continue
        table.add_row(
            name,
            _coloured(rec.status),
            str(rec.changed),
            rec.at,
            f"{rec.run_id} ({kinds.get(rec.run_id, '?')})",
            reason(rec),
            verdict,
            readiness,
        )
    out.print(table)


@inventory_app.command("build")
def inventory_build(
    registry: Annotated[list[Path], typer.Argument(help="Registry files (.xlsx or .csv); several are read as one.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder the inventories go in.")] = Path("inventories"),
    check: Annotated[bool, typer.Option("--check", help="Validate and say what would change; write nothing.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Show, per district, what changes in the files.")] = False,
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="A YAML file of the province's own device models, added to the catalog.")
    ] = None,
    unknown_models: Annotated[
        str, typer.Option("--unknown-models", help="A model not in the catalog is an 'error' or a 'warn'ing.")
    ] = "error",
) -> None:
    """Validate the site registry and write one inventory per district (only files that change)."""
    from provisioner import inventory

    if unknown_models not in ("error", "warn"):
        raise typer.BadParameter("give 'error' or 'warn'", param_hint="--unknown-models")
    built = inventory.build(
        registry,
        out_dir,
        catalog_file=catalog,
        unknown_models="warn" if unknown_models == "warn" else "error",
        write=not check,
        progress=_say,
    )
    for w in built.loaded.warnings:
        err.print(f"[yellow]warning:[/yellow] {w}")
    plan = built.plan
    if diff:
        for district, text in inventory.diff(plan).items():
            out.print(f"[bold]{district}[/bold]")
            out.print(text, end="", markup=False, highlight=False)
    verb = "would be " if check else ""
    table = Table("district", "sites", "files", title=f"Inventories in {plan.out}")
    counts = Counter(inventory.district_of(site) for site in built.loaded.sites)
    for rel in sorted(r for r in plan.files if r.name == inventory.HOSTS):
        district = "/".join(rel.parts[:2])
        states = {
            s for s, group in (("new", plan.created), ("changed", plan.changed), ("removed", plan.removed))
            if any("/".join(r.parts[:2]) == district for r in group)
        }  # fmt: skip
        table.add_row(district, str(counts.get(district, 0)), ", ".join(sorted(states)) or "unchanged")
    out.print(table)
    for rel in plan.removed:
        out.print(f"{verb}removed: {rel}")
    n = len(plan.created) + len(plan.changed) + len(plan.removed)
    out.print(f"{n} file(s) {verb}written or removed, {len(plan.unchanged)} unchanged" if n else "everything up to date")


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


if __name__ == "__main__":
    main()
