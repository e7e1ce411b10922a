"""`payinfra emulator start|status|stop` with a real moto server on a free loopback port."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest
from click.testing import CliRunner

from payinfra.cli import main
from tests.toolchain import free_port


def invoke(*args):
    return CliRunner().invoke(main, ["emulator", *args])


@pytest.mark.emulator
def test_start_status_stop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    port = free_port()
    started = invoke("start", "--port", str(port))
    try:
        assert started.exit_code == 0, started.output
        assert f"http://127.0.0.1:{port}" in started.output
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=5).close()
        status = invoke("status")
        assert (status.exit_code, "healthy" in status.output) == (0, True)
        again = invoke("start", "--port", str(port))
        assert again.exit_code == 0, "starting twice on the same port is a no-op"
        other = invoke("start", "--port", str(port + 1))
        assert other.exit_code == 1 and "already running" in other.output
    finally:
        stopped = invoke("stop")
    assert (stopped.exit_code, stopped.output.strip()) == (0, "emulator stopped")
    assert invoke("status").exit_code == 1
    assert invoke("stop").output.strip() == "no emulator was running"
    assert not (tmp_path / ".payinfra" / "emulator.json").exists()


@pytest.mark.emulator
def test_start_on_a_port_another_emulator_holds_is_an_error(tmp_path, monkeypatch):
    """A second folder's `emulator start` on a busy port: moto cannot bind, and the health check
    must not take the other server's answer for its own."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    port = free_port()
    monkeypatch.chdir(first)
    assert invoke("start", "--port", str(port)).exit_code == 0
    try:
        monkeypatch.chdir(second)
        again = invoke("start", "--port", str(port))
        assert again.exit_code == 1, again.output
        assert f"port {port} on 127.0.0.1 is already in use by another process" in again.output
        assert not (second / ".payinfra" / "emulator.json").exists()
    finally:
        monkeypatch.chdir(first)
        invoke("stop")


@pytest.mark.parametrize(
    "recorded",
    [
        {"identity": "1234 /usr/bin/moto_server -H 127.0.0.1 -p 5000"},  # pid reused since
        {},  # a state file from before identities were recorded
    ],
)
def test_stop_never_signals_a_process_that_took_over_a_stale_pid(tmp_path, monkeypatch, recorded):
    monkeypatch.chdir(tmp_path)
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        state = tmp_path / ".payinfra" / "emulator.json"
        state.parent.mkdir()
        state.write_text(
            json.dumps({"pid": bystander.pid, "endpoint": "http://127.0.0.1:5000", **recorded})
        )
        assert invoke("status").exit_code == 1
        stopped = invoke("stop")
        assert (stopped.exit_code, stopped.output.strip()) == (0, "no emulator was running")
        assert bystander.poll() is None, "the unrelated process was signalled"
        assert not state.exists(), "the stale state file is cleared"
    finally:
        bystander.kill()
        bystander.wait()


def test_a_damaged_state_file_is_no_emulator(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = tmp_path / ".payinfra" / "emulator.json"
    state.parent.mkdir()
    state.write_text("{not json")
    assert invoke("status").output.strip() == "emulator not running"
    assert invoke("stop").output.strip() == "no emulator was running"
