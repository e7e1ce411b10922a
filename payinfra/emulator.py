"""Run moto server as a local AWS emulator: a child process with a pid file and a health check."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from payinfra.errors import PayinfraError

STATE_DIR = Path(".payinfra")

# What moto (5.2) cannot store, so an emulator environment leaves it out to plan with no drift.
# Real environments always keep every one of these. Each key marks its place in the templates
# with a `# emulator gap: <key>` comment.
EMULATOR_GAPS = {
    "lambda_dead_letter_config": "moto's Lambda drops DeadLetterConfig from GetFunction",
    "lambda_logging_config": "moto's Lambda drops LoggingConfig (JSON format, log group)",
    "rds_parameters": "moto's RDS returns no user parameters of a DB parameter group",
    "rds_performance_insights": "moto's RDS does not keep Performance Insights settings",
    "security_group_rule_description": (
        "moto loses the description of a rule that references another security group"
    ),
    "s3_replication_rule_details": (
        "moto's S3 reports delete_marker_replication as Disabled and drops "
        "source_selection_criteria of a replication rule"
    ),
}
HEALTH_TIMEOUT_SECONDS = 30


class EmulatorError(PayinfraError):
    pass


@dataclass(frozen=True)
class EmulatorStatus:
    running: bool
    healthy: bool
    pid: int | None
    endpoint: str


def _state_file(state_dir: Path) -> Path:
    return state_dir / "emulator.json"


def _moto_server() -> str:
    beside_python = Path(sys.executable).with_name("moto_server")
    found = str(beside_python) if beside_python.exists() else shutil.which("moto_server")
    if not found:
        raise EmulatorError("moto_server not found: pip install 'moto[server]' (make demo does)")
    return found


def start(port: int, state_dir: Path = STATE_DIR) -> EmulatorStatus:
    current = status(state_dir)
    if current.running:
        if current.endpoint.endswith(f":{port}") and current.healthy:
            return current
        raise EmulatorError(
            f"an emulator is already running at {current.endpoint} "
            f"(pid {current.pid}); `payinfra emulator stop` first"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "emulator.log").open("ab")
    process = subprocess.Popen(
        [_moto_server(), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # Managed policies such as AWSLambdaVPCAccessExecutionRole exist only when loaded.
        env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
    )
    endpoint = f"http://127.0.0.1:{port}"
    _state_file(state_dir).write_text(json.dumps({"pid": process.pid, "endpoint": endpoint}))
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _state_file(state_dir).unlink(missing_ok=True)
            raise EmulatorError(
                f"moto_server exited with {process.returncode}; see {state_dir / 'emulator.log'}"
            )
        if _healthy(endpoint):
            return EmulatorStatus(True, True, process.pid, endpoint)
        time.sleep(0.2)
    stop(state_dir)
    raise EmulatorError(
        f"moto_server did not answer at {endpoint} within {HEALTH_TIMEOUT_SECONDS} s"
    )


def stop(state_dir: Path = STATE_DIR) -> bool:
    current = status(state_dir)
    if current.running and current.pid is not None:
        os.kill(current.pid, signal.SIGTERM)
        for _ in range(50):
            if not _alive(current.pid):
                break
            time.sleep(0.1)
    _state_file(state_dir).unlink(missing_ok=True)
    return current.running


def status(state_dir: Path = STATE_DIR) -> EmulatorStatus:
    path = _state_file(state_dir)
    if not path.is_file():
        return EmulatorStatus(False, False, None, "")
    state = json.loads(path.read_text())
    running = _alive(state["pid"])
    return EmulatorStatus(
        running, running and _healthy(state["endpoint"]), state["pid"], state["endpoint"]
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
            return True
    except (urllib.error.URLError, OSError):
        return False
