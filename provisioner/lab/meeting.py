"""The lab's web server in the services container: the province's meeting page and its vendor client, as stand-ins.

Served by busybox httpd on port 8080 (and the same on port 8081, a service no
room is allowed to reach: the lock-down's firewall tests aim at it):

- ``/``: the meeting page. Its background colour is the lab's signature: a
  kiosk screenshot showing mostly that colour shows the page.
- ``/vendor/<package>_<version>_all.deb``: a vendor client package built with
  dpkg-deb, for the sites whose profile is ``vendor``.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.lab import podman

PORT = 8080
#: A lab service outside every room's allowlist.
ELSEWHERE_PORT = 8081
ROOT = "/srv/lab-meeting"
#: The page's background, as RGB; the kiosk check looks for it in the screenshot.
BACKGROUND = (0x0B, 0x5D, 0x3B)

PAGE = """\
<!doctype html>
<html lang="vi">
<head><meta charset="utf-8"><title>Phòng họp trực tuyến (lab)</title>
<style>
html, body {{ margin: 0; height: 100%; background: #{bg}; color: #fff; font-family: sans-serif; }}
main {{ display: flex; height: 100%; align-items: center; justify-content: center; flex-direction: column; }}
h1 {{ font-size: 6vw; margin: 0; }}
</style></head>
<body><main><h1>Phòng họp trực tuyến</h1><p>Điểm cầu lab: trang họp của tỉnh</p></main></body>
</html>
"""


def _unit(port: int, what: str) -> str:
    return f"""\
[Unit]
Description={what}
After=network.target

[Service]
ExecStart=/bin/busybox httpd -f -p {port} -h {ROOT}
Restart=always

[Install]
WantedBy=multi-user.target
"""


#: systemd units of the services container: the meeting page, and a service no room may reach.
UNITS = {
    "lab-meeting.service": _unit(PORT, "Lab meeting page (stands in for the province's meeting platform)"),
    "lab-elsewhere.service": _unit(ELSEWHERE_PORT, "Lab service outside every room's allowlist (firewall tests)"),
}


VENDOR_PACKAGE = "conference-vendor-demo"
VENDOR_VERSION = "1.0-1"
VENDOR_COMMAND = "/usr/bin/conference-vendor-demo"
VENDOR_CONTROL = f"""\
Package: {VENDOR_PACKAGE}
Version: {VENDOR_VERSION}
Architecture: all
Maintainer: Provisioner lab <lab@provisioner.invalid>
Depends: chromium, fonts-dejavu-core
Description: Stand-in for a province's vendor conferencing client (lab only)
"""
VENDOR_PAGE_PATH = f"/usr/share/{VENDOR_PACKAGE}/index.html"
#: What the stand-in shows: its own window, as a vendor client built on Chromium (Electron and the like) would.
VENDOR_PAGE = """\
<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Phần mềm họp của nhà cung cấp (lab)</title>
<style>html, body { margin: 0; height: 100%; background: #1b3a6b; color: #fff; font-family: sans-serif; }
main { display: flex; height: 100%; align-items: center; justify-content: center; font-size: 4vw; }</style></head>
<body><main>Phần mềm họp của nhà cung cấp (lab)</main></body></html>
"""
VENDOR_SCRIPT = f"""\
#!/bin/sh
# Stand-in for a province's vendor conferencing client (lab only): an app window on the kiosk's screen.
profile="${{HOME}}/.config/{VENDOR_PACKAGE}"
rm -rf "$profile" && mkdir -m 0700 "$profile"
exec /usr/bin/chromium --ozone-platform=wayland --app=file://{VENDOR_PAGE_PATH} --user-data-dir="$profile" \\
    --no-sandbox --test-type --disable-gpu --disable-gpu-compositing --no-first-run --noerrdialogs \\
    --disable-features=Translate --disable-background-networking --disable-component-update --disable-sync
"""


@dataclass(frozen=True)
class VendorPackage:
    package: str
    version: str
    url: str
    sha256: str
    command: str


def url(services: str) -> str:
    return f"http://{services}:{PORT}/"


def elsewhere_url(services: str) -> str:
    """A lab page no room's firewall lets it reach."""
    return f"http://{services}:{ELSEWHERE_PORT}/"


def page() -> str:
    return PAGE.format(bg="".join(f"{c:02x}" for c in BACKGROUND))


def _deb_name() -> str:
    return f"{VENDOR_PACKAGE}_{VENDOR_VERSION}_all.deb"


def vendor_package(container: str, services: str) -> VendorPackage:
    """The lab's vendor client package, as the role's variables need it."""
    sha = podman.exec_(container, "sha256sum", f"{ROOT}/vendor/{_deb_name()}").stdout.split()[0]
    return VendorPackage(VENDOR_PACKAGE, VENDOR_VERSION, f"{url(services)}vendor/{_deb_name()}", sha, VENDOR_COMMAND)


def _build_vendor(container: str) -> None:
    build = f"/tmp/{VENDOR_PACKAGE}"
    share = f"{build}{VENDOR_PAGE_PATH.rsplit('/', 1)[0]}"
    podman.exec_(container, "sh", "-c", f"rm -rf {build} && mkdir -p {build}/DEBIAN {build}/usr/bin {share} {ROOT}/vendor")
    podman.exec_(container, "sh", "-c", f"cat > {build}/DEBIAN/control", input=VENDOR_CONTROL)
    podman.exec_(container, "sh", "-c", f"cat > {build}{VENDOR_PAGE_PATH}", input=VENDOR_PAGE)
    script = f"{build}{VENDOR_COMMAND}"
    podman.exec_(container, "sh", "-c", f"cat > {script} && chmod 755 {script}", input=VENDOR_SCRIPT)
    # Fixed timestamps: the same bytes, so the same SHA-256, every time.
    podman.exec_(
        container,
        "sh",
        "-c",
        f"find {build} -exec touch -h -d @0 {{}} + && SOURCE_DATE_EPOCH=0 dpkg-deb --root-owner-group --build {build} "
        f"{ROOT}/vendor/{_deb_name()} >/dev/null",
    )


def configure(container: str) -> None:
    """Serve the page and the vendor package from ``container`` (idempotent)."""
    podman.exec_(container, "sh", "-c", f"mkdir -p {ROOT} && cat > {ROOT}/index.html", input=page())
    _build_vendor(container)
    for name, unit in UNITS.items():
        path = f"/etc/systemd/system/{name}"
        if podman.exec_(container, "cat", path, check=False).stdout != unit:
            podman.exec_(container, "sh", "-c", f"cat > {path}", input=unit)
            podman.exec_(container, "systemctl", "daemon-reload")
            podman.exec_(container, "systemctl", "enable", name, check=False)
            podman.exec_(container, "systemctl", "restart", name)
        else:
            podman.exec_(container, "systemctl", "start", name)
