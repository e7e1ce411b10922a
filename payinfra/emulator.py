"""Run moto server as a local AWS emulator: a child process with a pid file and a health check."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from payinfra.errors import EmulatorError
from payinfra.regions import AWS_REGIONS

STATE_DIR = Path(".payinfra")

# What moto (5.2) cannot store, so an emulator environment leaves it out to plan with no drift.
# Real environments always keep every one of these. Each key marks its place in the templates
# with a `# emulator gap: <key>` comment.
EMULATOR_GAPS = {
    "lambda_dead_letter_config": "moto's Lambda drops DeadLetterConfig from GetFunction",
    "lambda_logging_config": "moto's Lambda drops LoggingConfig (JSON format, log group)",
    "s3_eventbridge_notifications": (
        "moto's S3 does not report a bucket's EventBridge notification setting back"
    ),
    "s3_state_bucket_tls_policy": (
        "moto serves plain HTTP and enforces aws:SecureTransport, so a TLS-only policy would "
        "lock Terraform out of the state bucket"
    ),
    "dynamodb_global_table_replicas": (
        "moto's DynamoDB has no UpdateTable ReplicaUpdates: a replica would never become ACTIVE "
        "(the emulator server copies writes between same-named tables instead)"
    ),
    "rds_parameters": "moto's RDS returns no user parameters of a DB parameter group",
    "rds_performance_insights": "moto's RDS does not keep Performance Insights settings",
    "security_group_rule_description": (
        "moto loses the description of a rule that references another security group or a "
        "prefix list"
    ),
    "s3_replication_rule_details": (
        "moto's S3 reports delete_marker_replication as Disabled and drops "
        "source_selection_criteria and the replication metrics of a replication rule"
    ),
}
HEALTH_TIMEOUT_SECONDS = 30
# The emulator server's own API for region outages (payinfra/emulator_server.py).
CONTROL_PATH = "/_payinfra/regions"


@dataclass(frozen=True)
class EmulatorStatus:
    running: bool
    healthy: bool
    pid: int | None
    endpoint: str


def _state_file(state_dir: Path) -> Path:
    return state_dir / "emulator.json"


# How moto's server is started: managed policies such as AWSLambdaVPCAccessExecutionRole exist
# only when loaded; the stack launches no instance, so EC2's catalogue of public AMIs (loaded
# for every region EC2 is first asked in, a fifth of a second of CPU each) is left out.
SERVER_SETTINGS = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}


def server_command(port: int) -> list[str]:
    """moto's server on 127.0.0.1:`port`, as payinfra.emulator_server corrects it."""
    if importlib.util.find_spec("moto.server") is None or importlib.util.find_spec("flask") is None:
        raise EmulatorError(
            "moto's server is not installed: pip install 'moto[server]' (make demo does)"
        )
    return [sys.executable, "-m", "payinfra.emulator_server", "-H", "127.0.0.1", "-p", str(port)]


def start(port: int, state_dir: Path = STATE_DIR) -> EmulatorStatus:
    current = status(state_dir)
    if current.running:
        if current.endpoint.endswith(f":{port}") and current.healthy:
            return current
        raise EmulatorError(
            f"an emulator is already running at {current.endpoint} "
            f"(pid {current.pid}); `payinfra emulator stop` first"
        )
    if not _port_is_free(port):
        # Another process answers there: a health check would find it, not the moto we start.
        raise EmulatorError(
            f"port {port} on 127.0.0.1 is already in use by another process (an emulator started "
            "from another folder?); stop it or choose another --port"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "emulator.log").open("ab")
    process = subprocess.Popen(
        server_command(port),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **SERVER_SETTINGS},
    )
    endpoint = f"http://127.0.0.1:{port}"
    state = {"pid": process.pid, "endpoint": endpoint, "identity": _identity(process.pid)}
    _state_file(state_dir).write_text(json.dumps(state), encoding="utf-8")
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _state_file(state_dir).unlink(missing_ok=True)
            raise EmulatorError(
                f"the emulator exited with {process.returncode}; see {state_dir / 'emulator.log'}"
            )
        if is_serving(endpoint, process.pid):
            return EmulatorStatus(True, True, process.pid, endpoint)
        time.sleep(0.2)
    stop(state_dir)
    raise EmulatorError(
        f"moto_server did not answer at {endpoint} within {HEALTH_TIMEOUT_SECONDS} s"
    )


def stop(state_dir: Path = STATE_DIR) -> bool:
    """Stop the emulator this folder started; True if one was running. A stale state file (the
    process is gone, or its pid now belongs to another process) is removed, nothing signalled."""
    current = status(state_dir)
    if current.running and current.pid is not None:
        os.kill(current.pid, signal.SIGTERM)
        for _ in range(50):
            if not _is_running(current.pid):
                break
            time.sleep(0.1)
    _state_file(state_dir).unlink(missing_ok=True)
    return current.running


def status(state_dir: Path = STATE_DIR) -> EmulatorStatus:
    """The emulator this folder started, if that very process still runs.

    A pid alone proves nothing: once moto exits, the system may hand its pid to any other
    process. The state file also records the process's start time and command line, and only a
    process matching both counts as running, and only such a process is ever signalled."""
    state = _read_state(_state_file(state_dir))
    if state is None:
        return EmulatorStatus(False, False, None, "")
    pid, endpoint, recorded = state
    running = recorded is not None and _identity(pid) == recorded and _is_running(pid)
    return EmulatorStatus(running, running and is_serving(endpoint, pid), pid, endpoint)


def _read_state(path: Path) -> tuple[int, str, str | None] | None:
    """pid, endpoint and identity from the state file; a damaged file proves nothing."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return (0, "", None)
    if not isinstance(state, dict) or not isinstance(state.get("pid"), int):
        return (0, "", None)
    identity = state.get("identity")
    return (
        state["pid"],
        str(state.get("endpoint", "")),
        identity if isinstance(identity, str) else None,
    )


def _identity(pid: int) -> str | None:
    """Start time and command line of process `pid`, or None when there is no such process."""
    if pid <= 0:
        return None
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self/stat").exists():
        try:
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return None
        # Field 22 is the start time; the command name before it may hold spaces, so fields
        # are counted after its closing parenthesis.
        started = stat.rsplit(")", 1)[1].split()[19]
        return f"{started} {command.decode(errors='replace').strip()}"
    completed = subprocess.run(
        ["ps", "-o", "lstart=", "-o", "args=", "-p", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip() or None


def _is_running(pid: int) -> bool:
    """Exists and is not a zombie (a child that exited but was not reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state != "Z"


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class Regions:
    """What the running emulator says of its regions: the dark ones, and the signed requests
    each region received since the emulator started or the counts were reset."""

    dark: list[str]
    calls: dict[str, int]


def set_dark(region: str, dark: bool, state_dir: Path = STATE_DIR) -> Regions:
    """Take `region` dark (every request to it answers 503) or bring it back."""
    if region not in AWS_REGIONS:
        raise EmulatorError(f"unknown AWS region {region!r}")
    return _regions_request(f"{region}/{'dark' if dark else 'light'}", state_dir)


def set_replication_lag(seconds: float, state_dir: Path = STATE_DIR) -> Regions:
    """How long the emulator's table replication waits before it copies a write to the same
    table in the other regions (docs/emulator.md)."""
    if not 0 <= seconds < 1000:
        raise EmulatorError(f"a replication lag is 0 to 999 seconds, not {seconds}")
    shown = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return _regions_request(f"replication/lag/{shown}", state_dir)


def regions(reset_calls: bool = False, state_dir: Path = STATE_DIR) -> Regions:
    """The dark regions and the call counts (then zeroed, with `reset_calls`)."""
    return _regions_request("reset" if reset_calls else None, state_dir)


def _regions_request(action: str | None, state_dir: Path) -> Regions:
    import urllib.error  # here, not at the top: every command imports this module, few ask
    import urllib.request

    current = status(state_dir)
    if not current.running:
        raise EmulatorError("no emulator is running here; `payinfra emulator start` first")
    url = f"{current.endpoint}{CONTROL_PATH}" + (f"/{action}" if action else "")
    request = urllib.request.Request(url, method="POST" if action else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise EmulatorError(f"the emulator at {current.endpoint} did not answer: {error}") from None
    return Regions(answer["dark"], answer["calls"])


def is_serving(endpoint: str, pid: int) -> bool:
    """The server at `endpoint` answers and is process `pid`. Another folder's emulator can
    hold the port a moment after ours was found free (ours then fails to bind and exits): an
    answer alone would hand this folder the other one's emulator."""
    import urllib.error  # here, not at the top: every command imports this module, few ask
    import urllib.request

    try:
        # Generous: a machine busy with terraform runs can take a second to answer.
        with urllib.request.urlopen(f"{endpoint}{CONTROL_PATH}", timeout=3) as response:
            return bool(json.loads(response.read()).get("pid") == pid)
    except (urllib.error.URLError, OSError, ValueError, AttributeError):
        return False
