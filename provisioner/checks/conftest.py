"""Fixtures shared by the site checks."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.checks.site import Site, rendered


@pytest.fixture(scope="module")
def site(host: Any) -> Site:
    """The site ``host`` is, with its inventory variables (group and host vars merged)."""
    return Site(name=str(host.backend.host), vars=rendered(dict(host.ansible.get_variables())))


@pytest.fixture(autouse=True)
def _record_site(host: Any, record_property: Any) -> None:
    """Name the site in the JUnit report, so ``verify`` counts results per site."""
    record_property("site", str(host.backend.host))
