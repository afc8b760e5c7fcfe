"""verify's reading of the checks' JUnit XML: per-site results, sites no check reached, the summary kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner import untrusted, verify
from provisioner.checks.site import Site
from provisioner.runner import MITOGEN_STRATEGY, mitogen_env

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
  <testcase classname="test_base" name="test_chrony_syncs[ansible://a]">
    <properties><property name="site" value="a"/></properties></testcase>
  <testcase classname="test_base" name="test_hostname[ansible://a]">
    <properties><property name="site" value="a"/></properties><skipped message="Debian 13 only"/></testcase>
  <testcase classname="test_base" name="test_chrony_syncs[ansible://b]">
    <properties><property name="site" value="b"/></properties><failure message="assert False"/></testcase>
  <testcase classname="test_kiosk" name="test_kiosk_shows_the_page[ansible://b]">
    <properties><property name="site" value="b"/></properties><error message="ssh: timed out"/></testcase>
</testsuite></testsuites>
"""


def test_results_per_site_and_a_site_no_check_reached(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    sites = verify.parse_junit(junit)
    assert sites["a"].passed == 1 and sites["a"].skipped == 1 and sites["a"].ok
    assert sites["b"].failed == ["test_chrony_syncs", "test_kiosk_shows_the_page"]
    result = verify.VerifyResult(
        sites={**sites, "c": verify.SiteChecks("c", failed=["no check ran on this site"])}, junit=junit, returncode=1
    )
    records = verify.records("run1", result)
    assert [(r.site, r.ok) for r in records] == [("a", True), ("b", False), ("c", False)]
    text = verify.summary(result, "run1")
    assert text.startswith("verify run1: 1 of 3 site(s) pass every check")
    assert "b: 2 check(s) failed, 0 passed\n  - test_chrony_syncs\n  - test_kiosk_shows_the_page" in text
    assert "c: 1 check(s) failed" in text


def test_mitogen_is_on_by_default_and_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISIONER_MITOGEN", raising=False)
    on = mitogen_env()
    assert on["ANSIBLE_STRATEGY"] == MITOGEN_STRATEGY
    assert (Path(on["ANSIBLE_STRATEGY_PLUGINS"]) / f"{MITOGEN_STRATEGY}.py").is_file()
    assert mitogen_env(False) == {}
    monkeypatch.setenv("PROVISIONER_MITOGEN", "0")
    assert mitogen_env() == {}
    assert mitogen_env(True) == on


def test_a_check_reads_a_templated_role_default_filled_in_from_the_sites_own_values() -> None:
    """``lockdown_boot_superuser: "{{ lockdown_admin_user }}"`` → ``"{{ base_admin_user | default('provadmin') }}"``."""
    assert Site("a", {}).get("lockdown_boot_superuser") == "provadmin"
    assert Site("a", {"base_admin_user": "quantri"}).get("lockdown_boot_superuser") == "quantri"
    assert Site("a", {"lockdown_boot_superuser": "khac"}).get("lockdown_boot_superuser") == "khac"
    # a value from the registry is text: what it holds is not templated again
    hostile = untrusted.Unsafe("{{ 7 * 7 }}")
    assert Site("a", {"base_admin_user": hostile}).get("lockdown_boot_superuser") == "{{ 7 * 7 }}"
