"""The marker guard can fail: a test that starts an outside dependency, or uses a shared fixture
holding one, without its marker fails; with the marker it runs."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from tests.markerguard import FAST_TIER, dependency_of

STARTS_CHECKOV = """
import subprocess

import pytest


def fake_checkov(tmp_path):
    program = tmp_path / "checkov"
    program.write_text("#!/bin/sh\\nexit 0\\n")
    program.chmod(0o755)
    return str(program)


def test_unmarked(tmp_path):
    subprocess.run([fake_checkov(tmp_path)], check=True)


@pytest.mark.checkov
def test_marked(tmp_path):
    subprocess.run([fake_checkov(tmp_path)], check=True)
"""

USES_THE_MOTO_FIXTURE = """
import pytest


@pytest.fixture(scope="session")
def moto_server():
    return "not started: the guard refuses before it would be"


def test_unmarked(moto_server):
    pass
"""


@pytest.fixture
def guarded(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return pytester


def test_starting_a_dependency_unmarked_fails_and_marked_passes(guarded):
    guarded.makepyfile(test_inner=STARTS_CHECKOV)
    result = guarded.runpytest_subprocess("-p", "tests.markerguard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_unmarked starts checkov without @pytest.mark.checkov*"])


def test_using_a_shared_dependency_fixture_unmarked_is_refused_at_collection(guarded):
    guarded.makepyfile(test_inner=USES_THE_MOTO_FIXTURE)
    result = guarded.runpytest_subprocess("-p", "tests.markerguard", "-p", "no:cacheprovider")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*test_unmarked uses fixture moto_server without*emulator*"])


def test_dependencies_are_told_apart_by_their_command_line():
    terraform = "/usr/local/bin/terraform"
    assert dependency_of([terraform, "plan"], terraform) == "terraform"
    assert dependency_of(["/tmp/fake/terraform", "plan"], terraform) is None
    assert dependency_of(["python", "-m", "payinfra.emulator_server", "-p", "5000"], None) == (
        "emulator"
    )
    assert dependency_of(["/venv/checkov/bin/checkov", "-d", "."], None) == "checkov"
    assert dependency_of(["/venv/bin/trivy", "config", "."], None) == "trivy"
    assert dependency_of(["git", "status"], terraform) is None
    assert FAST_TIER == "not terraform and not emulator and not checkov and not trivy and not slow"
