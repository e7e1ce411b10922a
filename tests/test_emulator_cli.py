"""`payinfra emulator start|status|stop` with a real moto server on a free loopback port."""

from __future__ import annotations

import urllib.request

from click.testing import CliRunner

from payinfra.cli import main
from tests.toolchain import free_port


def invoke(*args):
    return CliRunner().invoke(main, ["emulator", *args])


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
