"""Finding Chromium: skip locally with how to install it, fail in CI. No browser needed, so
these run in every test run (conftest.py leaves this module unmarked)."""

from __future__ import annotations

import os

import pytest

from tests.browser.chromium import CANDIDATES, LAUNCH_ARGS, find_chromium, require_chromium


def no_path_lookup(name: str) -> None:
    return None


def test_missing_candidate_and_nothing_on_path_finds_nothing(tmp_path):
    assert find_chromium([tmp_path / "chromium"], which=no_path_lookup) is None


def test_an_executable_candidate_is_found(tmp_path):
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    os.chmod(browser, 0o755)
    assert find_chromium([tmp_path / "missing", browser], which=no_path_lookup) == str(browser)


def test_a_non_executable_file_is_not_a_browser(tmp_path):
    browser = tmp_path / "chromium"
    browser.write_text("not a program")
    os.chmod(browser, 0o644)
    assert find_chromium([browser], which=no_path_lookup) is None


def test_path_lookup_is_the_fallback(tmp_path):
    asked = []

    def which(name: str) -> str:
        asked.append(name)
        return "/opt/bin/chromium"

    assert find_chromium([tmp_path / "missing"], which=which) == "/opt/bin/chromium"
    assert asked == ["chromium"]


def test_debian_path_is_the_first_candidate():
    assert CANDIDATES[0] == "/usr/bin/chromium"


def test_missing_browser_skips_locally_with_install_hint():
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_chromium(None, environ={})
    assert "apt-get install chromium" in str(skipped.value)


@pytest.mark.parametrize("ci", ["false", "0", ""])
def test_missing_browser_skips_when_ci_is_not_true(ci):
    with pytest.raises(pytest.skip.Exception):
        require_chromium(None, environ={"CI": ci})


@pytest.mark.parametrize("ci", ["true", "TRUE", "True"])
def test_missing_browser_fails_in_ci(ci):
    with pytest.raises(pytest.fail.Exception) as failed:
        require_chromium(None, environ={"CI": ci})
    assert "apt-get install chromium" in str(failed.value)


def test_a_found_browser_is_used_in_ci_too():
    assert require_chromium("/usr/bin/chromium", environ={"CI": "true"}) == "/usr/bin/chromium"


def test_launch_arguments_are_exactly_the_agreed_ones():
    expected = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
    ]
    assert expected == LAUNCH_ARGS


def test_only_browser_modules_carry_the_browser_mark(request):
    assert request.node.get_closest_marker("browser") is None
