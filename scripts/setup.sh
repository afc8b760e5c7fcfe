#!/usr/bin/env bash
# Everything the project needs on a fresh Debian 12 machine, as root (or with sudo):
# podman (with runc, netavark and the iptables it calls), debootstrap, GRUB's tools, xorriso and mtools (the boot path tests boot real GRUB in QEMU), nftables and nsenter (lossy links in field tests), OpenSSH client, ssh-audit and QEMU (bench/audit.py: its VM sites), and a Python venv with the package.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(podman runc debootstrap netavark aardvark-dns iptables nftables util-linux openssh-client make tar usb.ids ssh-audit grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools fdisk dosfstools ovmf qemu-system-x86 qemu-utils)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]} with apt"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
# QEMU without its recommends (firmware for guests the lab never boots)
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v qemu-img >/dev/null; then
    echo "setup: installing QEMU with apt"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends qemu-system-x86 qemu-utils
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    echo "setup: installing the Python package and its tools into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    rm -f .venv/.installed-*
    touch "$stamp"
fi
echo "setup: ready (activate with: . .venv/bin/activate)"
