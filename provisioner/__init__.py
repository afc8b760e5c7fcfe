"""Provision and keep healthy the PCs in commune online conference rooms."""

from __future__ import annotations

__version__ = "0.1.0"
