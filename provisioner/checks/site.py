"""What a site should be: its inventory variables over the roles' defaults."""

from __future__ import annotations

import shlex
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from provisioner import untrusted
from provisioner.paths import project_root


@cache
@cache
def _all_defaults(role: str) -> dict[str, Any]:
    path = project_root() / "roles" / role / "defaults" / "main.yml"
    return yaml.safe_load(path.read_text()) or {}


def role_defaults(role: str) -> dict[str, Any]:
    """A role's literal defaults (templated ones are left out: :meth:`Site.get` fills those in per site)."""
    return {k: v for k, v in _all_defaults(role).items() if not (isinstance(v, str) and "{{" in v)}


#: Sandboxed: a template in the inventory is the project's or the province's own (the lab's references),
#: but a check must not be the place where one could reach Python.
_JINJA = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)  # text, not HTML
#: How deep a chain of references (a → "{{ b }}" → "{{ c }}") is followed, as Ansible follows them lazily.
_DEPTH = 5


def rendered(variables: dict[str, Any]) -> dict[str, Any]:
    """Inventory variables with their templates filled in from each other, as Ansible would.

    testinfra hands the checks the inventory as ``ansible-inventory`` reads it
    (``"{{ lab_meeting_url }}"``; a registry's values wrapped as unsafe).
    Unsafe values (:class:`~provisioner.untrusted.Unsafe`) are text and never
    templated; a trusted template is filled in from the other variables' own
    values, and what it produces is never templated again, even when a value
    it took in holds braces. A value using an Ansible-only filter or an
    undefined name is left as written.
    """
    given: dict[str, Any] = untrusted.untag(variables)
    values = given
    for _ in range(_DEPTH):
        filled = {k: _fill(v, values) for k, v in given.items()}
        if filled == values:
            break
        values = filled
    return values


def _fill(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value if isinstance(value, untrusted.Unsafe) else _render(value, context)
    if isinstance(value, dict):
        return {k: _fill(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, context) for v in value]
    return value


def _render(text: str, context: dict[str, Any]) -> str:
    if "{{" not in text and "{%" not in text:
        return text
    try:
        return _JINJA.from_string(text).render(context)
    except (jinja2.TemplateError, SecurityError):
        return text


@cache
def roles() -> tuple[str, ...]:
    """The project's roles, longest name first (so conferencing_client wins over a role named conferencing)."""
    names = [p.name for p in (project_root() / "roles").iterdir() if (p / "defaults" / "main.yml").is_file()]
    return tuple(sorted(names, key=len, reverse=True))


def role_of(key: str) -> str:
    """The role a variable belongs to, by its prefix."""
    for role in roles():
        if key.startswith(role + "_"):
            return role
    raise KeyError(f"{key} belongs to no role")


@dataclass(frozen=True)
class Site:
    """One site under check: its name, how to reach it, and its effective variables."""

    name: str
    vars: dict[str, Any]

    def get(self, key: str, _depth: int = 0) -> Any:
        """The site's value of ``key``: the inventory's, else its role's default.

        A default that is a template (``"{{ lockdown_admin_user }}"``) is filled
        in from the site's own values and the other defaults, as Ansible would;
        it is the project's text (never the inventory's), rendered sandboxed.
        """
        if key in self.vars:
            return self.vars[key]
        value = _all_defaults(role_of(key))[key]
        if not (isinstance(value, str) and "{{" in value) or _depth >= _DEPTH:
            return value
        names = jinja2.meta.find_undeclared_variables(_JINJA.parse(value))
        context = {}
        for name in names:
            try:
                context[name] = self.get(name, _depth + 1)
            except KeyError:
                continue  # undefined here: the template's own default() decides
        return _render(value, context)

    @property
    def address(self) -> str:
        return str(self.vars.get("ansible_host", self.name))

    @property
    def port(self) -> int:
        return int(self.vars.get("ansible_port", 22))

    @property
    def identity_file(self) -> str | None:
        key = self.vars.get("ansible_ssh_private_key_file") or self.vars.get("ansible_private_key_file")
        return str(Path(key).expanduser()) if key else None

    @property
    def known_hosts(self) -> str:
        args = shlex.split(str(self.vars.get("ansible_ssh_common_args", "")))
        args += shlex.split(str(self.vars.get("ansible_ssh_extra_args", "")))
        for i, arg in enumerate(args):
            opt = arg[2:] if arg.startswith("-o") and len(arg) > 2 else (args[i + 1] if arg == "-o" and i + 1 < len(args) else "")
            if opt.lower().startswith("userknownhostsfile="):
                return opt.split("=", 1)[1]
        return str(Path("~/.ssh/known_hosts").expanduser())


def as_root(host: Any) -> Any:
    """Run the commands in this context as root: through sudo, unless the checks log in as root already.

    Lab sites (and sites whose inventory says ``ansible_user: root``) spare every
    such command a sudo: its PAM stack, its log lines, two processes.
    """
    backend = host.backend
    if hasattr(backend, "get_variables"):  # testinfra's Ansible backend: the inventory says who logs in
        user = backend.get_variables().get("ansible_user")
    else:
        user = getattr(getattr(backend, "host", None), "user", None)
    return nullcontext() if user == "root" else host.sudo()


def installed(host: Any, names: list[str]) -> set[str]:
    """Which of ``names`` are installed packages, asked in one round trip (a check asks for many)."""
    if not names:
        return set()
    listed = host.run("dpkg-query -W -f '${Package} ${db:Status-Status}\\n' " + " ".join(map(shlex.quote, names))).stdout
    return {ln.split()[0] for ln in listed.splitlines() if ln.endswith(" installed")}


def enabled_states(host: Any, units: list[str]) -> dict[str, str]:
    """What ``systemctl is-enabled`` says of each unit, in one round trip."""
    if not units:
        return {}
    script = 'for u in "$@"; do printf "%s %s\\n" "$u" "$(systemctl is-enabled "$u" 2>/dev/null || true)"; done'
    listed = host.run(f"sh -c {shlex.quote(script)} - " + " ".join(map(shlex.quote, units))).stdout
    said = dict(ln.partition(" ")[::2] for ln in listed.splitlines())
    return {unit: said.get(unit, "").strip() for unit in units}


def in_user_session(host: Any, user: str, command: str, *, wayland: bool = False) -> Any:
    """Run ``command`` on the site as ``user``, inside its session: its runtime folder, and its Wayland display if asked."""
    uid = host.check_output(f"id -u {user}")
    display = " WAYLAND_DISPLAY=wayland-0" if wayland else ""
    return host.run(f"runuser -u {user} -- env XDG_RUNTIME_DIR=/run/user/{uid}{display} {command}")
