"""Run the real terraform binary and a moto server for tests.

The provider comes from a local mirror when one is found (this machine has no registry access):
PAYINFRA_PLUGIN_DIR names it explicitly, otherwise the usual mirror folders are probed. With no
mirror, `terraform init` downloads from the registry as it would on a user's machine.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from payinfra.emulator import SERVER_SETTINGS, is_serving, server_command
from payinfra.terraform import find_plugin_dir, terraform_env


def required_tool(name: str, env_var: str) -> str:
    """A tool the suite needs (`env_var`, else on PATH, else beside the suite's own python, where
    the test extras install binaries); in CI a missing one fails the run instead of skipping."""
    beside_python = Path(sys.executable).with_name(name)
    binary = (
        os.environ.get(env_var)
        or shutil.which(name)
        or (str(beside_python) if beside_python.is_file() else None)
    )
    if binary:
        return binary
    message = f"{name} not found on PATH (make test installs what it can; or set {env_var})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def terraform_binary() -> str:
    return required_tool("terraform", "PAYINFRA_TERRAFORM")


def plugin_dir() -> Path | None:
    """The provider mirror payinfra itself would use (one rule for the CLI and the tests)."""
    return find_plugin_dir()


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """payinfra's terraform environment, without the version check that phones home."""
    return terraform_env({"CHECKPOINT_DISABLE": "1", **(extra or {})})


def terraform(
    root: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [terraform_binary(), f"-chdir={root}", *args],
        check=False,
        input=input,
        capture_output=True,
        text=True,
        env=child_env(env),
        timeout=600,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"terraform {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def terraform_init(root: Path, *, backend: bool = True, env: dict[str, str] | None = None):
    args = ["init", "-input=false", "-no-color"]
    if not backend:
        args.append("-backend=false")
    mirror = plugin_dir()
    if mirror:
        args.append(f"-plugin-dir={mirror}")
    return terraform(root, *args, env=env)


def planned_resources(root: Path, env: dict[str, str]) -> list[dict]:
    """Plan against `env` (a moto endpoint); the managed resources' changes in the saved plan."""
    terraform(root, "plan", "-input=false", "-no-color", "-lock=false", "-out=test.tfplan", env=env)
    shown = terraform(root, "show", "-json", "test.tfplan", env=env)
    changes = json.loads(shown.stdout)["resource_changes"]
    return [change for change in changes if change["mode"] == "managed"]


# ---- moto server ----


class MotoServer:
    """A moto server on a free loopback port, for the AWS provider to talk to."""

    def __init__(self, account_id: str | None = None):
        # MOTO_ACCOUNT_ID: the account plain credentials act in (default 123456789012).
        account = {"MOTO_ACCOUNT_ID": account_id} if account_id else {}
        # Another worker can take a free port before our server binds it: ours then exits, and
        # is started again on another port.
        for _attempt in range(3):
            self.port = free_port()
            self.endpoint = f"http://127.0.0.1:{self.port}"
            self.process = subprocess.Popen(
                server_command(self.port),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, **SERVER_SETTINGS, **account},
            )
            if self._wait_until_serving():
                return
        raise RuntimeError(
            f"moto_server exited on three free ports (last exit code {self.process.returncode})"
        )

    def aws_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        # Resetting reloads IAM's managed policies: seconds of CPU, more on a busy machine.
        urllib.request.urlopen(request, timeout=60).close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def _wait_until_serving(self) -> bool:
        """True once this very process answers; False if it exited (its port was taken)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if is_serving(self.endpoint, self.process.pid):
                return True
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("moto_server did not answer within 30 s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def emulator_control(endpoint: str, action: str = "") -> dict:
    """payinfra's emulator control path: take a region dark or light, count or reset calls."""
    from payinfra.emulator import CONTROL_PATH

    method = "POST" if action else "GET"
    url = f"{endpoint}{CONTROL_PATH}{'/' + action if action else ''}"
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as answer:
        return dict(json.loads(answer.read()))


class CutAfter:
    """A forwarding proxy in front of moto that, once moto has carried out the request that
    `matches` (method, path), calls `cut` and never answers it: a process killed at exactly that
    point, the call done in AWS and unknown to its caller. Every other request is forwarded."""

    def __init__(self, upstream: str, matches: Callable[[str, str], bool], cut: Callable[[], None]):
        proxy = self

        class Forward(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection = http.client.HTTPConnection(proxy.upstream_host, timeout=120)
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
                if matches(self.command, self.path):
                    cut()
                    return
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in {"transfer-encoding", "content-length", "connection"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.upstream_host = upstream.removeprefix("http://")
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
