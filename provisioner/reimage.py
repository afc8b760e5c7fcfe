"""Re-image: a repaired or reinstalled site's new SSH host keys, trusted by a person, then the acceptance summary.

The host keys are read from the site itself (ssh-keyscan) and compared with
the known_hosts file its inventory names; the caller shows the fingerprints
and asks before :func:`trust` records them. The summary is written in plain
words for the technician, and saved as HTML.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from provisioner import paths, proc
from provisioner.errors import LabError
from provisioner.lab.keys import known_host_id, record_host_keys

if TYPE_CHECKING:
    from provisioner.runner import SiteResult


@dataclass(frozen=True)
class HostKeys:
    """A site's host keys as it presents them now, and what known_hosts held for it."""

    address: str
    port: int
    known_hosts: Path
    presented: list[str]  # "type base64" lines
    known: list[str]

    @property
    def changed(self) -> bool:
        """Whether the site presents a key known_hosts does not hold for it.

        A key type the site stopped offering (base drops ECDSA) is no new identity.
        """
        return not set(self.presented) <= set(self.known)

    def fingerprints(self) -> list[str]:
        return fingerprints(self.presented)


def scan(address: str, port: int, known_hosts: Path) -> HostKeys:
    """The keys ``address:port`` presents (ssh-keyscan), beside those ``known_hosts`` holds for it."""
    keyscan = proc.require("ssh-keyscan", package="openssh-client")
    done = subprocess.run([keyscan, "-T", "10", "-p", str(port), address], capture_output=True, text=True, check=False)
    presented = sorted({" ".join(ln.split()[1:3]) for ln in done.stdout.splitlines() if ln and not ln.startswith("#")})
    if not presented:
        raise LabError(
            f"no SSH host key from {address}:{port}: {done.stderr.strip()[-300:] or 'no answer'}",
            hint="is the PC switched on, on the network, with sshd running?",
        )
    ident = known_host_id(address, port)
    known = []
    if known_hosts.is_file():
        known = sorted({" ".join(ln.split()[1:3]) for ln in known_hosts.read_text().splitlines() if ln.split(" ", 1)[0] == ident})
    return HostKeys(address, port, known_hosts, presented, known)


def fingerprints(keys: list[str]) -> list[str]:
    """SHA256 fingerprints of public keys, as ssh-keygen -l prints them (with the key type)."""
    keygen = proc.require("ssh-keygen", package="openssh-client")
    done = proc.run([keygen, "-l", "-f", "-"], input="".join(f"{k}\n" for k in keys))
    return [" ".join(ln.split()[1:2] + ln.split()[-1:]) for ln in done.stdout.splitlines() if ln.strip()]


def trust(keys: HostKeys) -> None:
    """Record the keys the site presents as its own (replacing what known_hosts held for it)."""
    record_host_keys(keys.known_hosts, keys.address, keys.port, keys.presented)


def converge_words(result: SiteResult) -> str:
    """A site's converge, in plain words for the technician."""
    if result.status in ("ok", "changed"):
        return f"xong, {result.changed} thay đổi"
    if result.status == "unreachable":
        return f"không vào được máy ({result.message})"
    return f"lỗi ở bước '{result.failed_task}': {result.message}" if result.failed_task else f"lỗi: {result.message}"


_SUMMARY = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""\
<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Nghiệm thu điểm cầu {{ site }}</title>
<style>body { font-family: sans-serif; max-width: 50em; margin: 2em auto; } .ok { color: #0a6b2d; } .bad { color: #b00020; }
td, th { text-align: left; padding: .2em .8em .2em 0; }</style></head>
<body>
<h1>Nghiệm thu điểm cầu {{ site }}</h1>
<p class="{{ 'ok' if accepted else 'bad' }}"><strong>{{ verdict }}</strong></p>
<table>
<tr><th>Thời gian</th><td>{{ at }}</td></tr>
<tr><th>Người thực hiện</th><td>{{ who }}</td></tr>
<tr><th>Lần chạy</th><td>{{ run_id }}</td></tr>
<tr><th>Khóa SSH của máy</th><td>{% for f in fingerprints %}{{ f }}<br>{% endfor %}
  {{ '(mới, đã xác nhận)' if keys_changed else '(không đổi)' }}</td></tr>
<tr><th>Cài đặt (site.yml)</th><td>{{ converge }}</td></tr>
<tr><th>Kiểm tra</th><td>{{ checks }}</td></tr>
</table>
{% if failed %}<h2>Kiểm tra không đạt</h2><ul>{% for f in failed %}<li>{{ f }}</li>{% endfor %}</ul>{% endif %}
</body></html>
""")


@dataclass(frozen=True)
class Summary:
    site: str
    run_id: str
    who: str
    at: str
    fingerprints: list[str]
    keys_changed: bool
    converge: str  # plain words
    converged: bool
    passed: int
    failed: list[str]

    @property
    def accepted(self) -> bool:
        return self.converged and not self.failed

    @property
    def verdict(self) -> str:
        if self.accepted:
            return f"Điểm cầu {self.site} đạt: đã cài đặt lại và qua {self.passed} bước kiểm tra."
        return f"Điểm cầu {self.site} CHƯA đạt: xem các mục bên dưới, sửa rồi chạy lại."

    def lines(self) -> list[str]:
        """The summary in plain words, for the terminal."""
        out = [
            self.verdict,
            f"  khóa SSH: {', '.join(self.fingerprints)} ({'mới, đã xác nhận' if self.keys_changed else 'không đổi'})",
            f"  cài đặt: {self.converge}",
            f"  kiểm tra: {self.passed} đạt, {len(self.failed)} không đạt",
        ]
        out += [f"    - {f}" for f in self.failed]
        return out

    def write_html(self) -> Path:
        path = paths.state_dir() / "reports" / f"reimage-{self.site}-{self.run_id}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        checks = f"{self.passed} đạt, {len(self.failed)} không đạt"
        path.write_text(
            _SUMMARY.render(
                site=self.site,
                run_id=self.run_id,
                who=self.who,
                at=self.at,
                fingerprints=self.fingerprints,
                keys_changed=self.keys_changed,
                converge=self.converge,
                checks=checks,
                failed=self.failed,
                accepted=self.accepted,
                verdict=self.verdict,
            ),
            encoding="utf-8",
        )
        return path
