"""The lab's Debian images: built with debootstrap, imported into podman, cached by recipe.

An image's tag carries a hash of its recipe, so an image is rebuilt exactly
when the recipe (suite, packages, first-boot set-up) changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from provisioner import proc
from provisioner.errors import ConfigError, ImageBuildError
from provisioner.lab import podman
from provisioner.lab.mirror import host_mirror

SUITES = ("bookworm", "trixie")
REPOSITORY = "localhost/provisioner-lab"
SERVICES_REPOSITORY = "localhost/provisioner-lab-services"

#: Generates the site's own SSH host keys at first boot: a debootstrapped image
#: carries one set, and real PCs each have their own.
KEYGEN_UNIT = """\
[Unit]
Description=Generate this lab site's own SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
"""

#: Units that cannot work inside a container and only add noise at boot.
MASKED_UNITS = (
    "getty@tty1.service",
    "console-getty.service",
    "systemd-udevd.service",
    "systemd-udev-trigger.service",
    "systemd-modules-load.service",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
)

#: What the shared services container carries: the province's NTP server and
#: apt mirror (a caching proxy) as a site sees them.
SERVICES_PACKAGES = ("chrony", "apt-cacher-ng", "kamailio", "busybox", "rsyslog")

CHRONY_SERVER_CONF = """\
# Lab NTP server: serves its local clock to the lab sites; never steers the host's clock.
driftfile /var/lib/chrony/chrony.drift
local stratum 8
allow all
"""


@dataclass(frozen=True)
class Recipe:
    suite: str
    packages: tuple[str, ...] = ("python3", "openssh-server", "systemd", "systemd-sysv", "sudo", "ca-certificates")
    variant: str = "minbase"
    keygen_unit: str = KEYGEN_UNIT
    masked: tuple[str, ...] = MASKED_UNITS
    extra: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def tag(self) -> str:
        return f"{REPOSITORY}:{self.suite}-{self.digest()}"


def recipe(suite: str) -> Recipe:
    if suite not in SUITES:
        raise ConfigError(f"unknown Debian suite {suite!r}", hint=f"use one of: {', '.join(SUITES)}")
    return Recipe(suite=suite)


def services_tag(base: Recipe) -> str:
    blob = json.dumps([base.digest(), SERVICES_PACKAGES, CHRONY_SERVER_CONF]).encode()
    return f"{SERVICES_REPOSITORY}:{base.suite}-{hashlib.sha256(blob).hexdigest()[:12]}"


Progress = Callable[[str], None]


def quiet(_: str) -> None:
    return None


def customise(root: Path, r: Recipe) -> None:
    for key in root.glob("etc/ssh/ssh_host_*"):
        key.unlink()
    units = root / "etc/systemd/system"
    (units / "lab-ssh-keygen.service").write_text(r.keygen_unit)
    wants = units / "ssh.service.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "lab-ssh-keygen.service"
    if not link.is_symlink():
        link.symlink_to("/etc/systemd/system/lab-ssh-keygen.service")
    for unit in r.masked:
        target = units / unit
        if target.exists() or target.is_symlink():
            target.unlink()
        target.symlink_to("/dev/null")
    # Each container gets its own machine-id at boot.
    (root / "etc/machine-id").write_text("")
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)


def _import(root: Path, tag: str) -> None:
    exe = proc.require("podman")
    tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    imp = subprocess.run(
        [
            exe,
            "--runtime",
            "runc",
            "import",
            "--change",
            'CMD ["/lib/systemd/systemd"]',
            "--change",
            "STOPSIGNAL=SIGRTMIN+3",
            "-",
            tag,
        ],
        stdin=tar.stdout,
        capture_output=True,
        text=True,
        env={**os.environ, **podman.env()},
        check=False,
    )
    if tar.stdout:
        tar.stdout.close()
    tar.wait()
    if tar.returncode != 0 or imp.returncode != 0:
        raise ImageBuildError(f"podman import of {tag} failed: {imp.stderr.strip()[-400:]}")


def debootstrap(r: Recipe, root: Path) -> None:
    """A Debian root file system of ``r``'s suite and packages in ``root``, from the mirror this machine's apt uses."""
    exe = proc.require("debootstrap")
    mirror = host_mirror()
    done = proc.run(
        [exe, f"--variant={r.variant}", f"--include={','.join(r.packages)}", r.suite, str(root), mirror.debian],
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        log = root / "debootstrap/debootstrap.log"
        detail = log.read_text()[-800:] if log.is_file() else (done.stderr or done.stdout)[-800:]
        raise ImageBuildError(
            f"debootstrap {r.suite} failed (exit {done.returncode}):\n{detail}",
            hint=f"check that apt can reach {mirror.debian} (apt-get update)",
        )


def ensure_base(suite: str, progress: Progress = quiet) -> str:
    """The tag of the lab image for ``suite``, building it if its recipe changed."""
    r = recipe(suite)
    if podman.image_exists(r.tag):
        return r.tag
    progress(f"building the Debian {suite} lab image with debootstrap from {host_mirror().debian} (about a minute)")
    with tempfile.TemporaryDirectory(prefix=f"provisioner-{suite}-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        debootstrap(r, root)
        customise(root, r)
        progress(f"importing {r.tag} into podman")
        _import(root, r.tag)
    return r.tag
