"""A stand-in `terraform` for argument-handling tests: it records each call and replays canned
behaviour. Real terraform is used everywhere else."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

SCRIPT = r"""#!{python}
import json, os, sys
from pathlib import Path

argv = sys.argv[1:]
chdir = next((a.split("=", 1)[1] for a in argv if a.startswith("-chdir=")), os.getcwd())
args = [a for a in argv if not a.startswith("-chdir=")]
command = args[0] if args else ""
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write(json.dumps({{"argv": argv, "cwd": os.getcwd(), "chdir": chdir,
                          "endpoint": os.environ.get("AWS_ENDPOINT_URL")}}) + "\n")
canned = Path(os.environ["FAKE_TF_DIR"])
for arg in args:
    if arg.startswith("-out="):
        Path(chdir, arg[5:]).write_text("binary plan")
if command == "init":
    Path(chdir, ".terraform").mkdir(exist_ok=True)
if command == "plan" and "-json" in args and not (canned / "plan.stdout").exists():
    # `plan -json` streams what `show -json` of its plan would hold: one message per change.
    shown = canned / "show.stdout"
    changes = json.loads(shown.read_text())["resource_changes"] if shown.exists() else []
    names = {{("create",): "create", ("update",): "update", ("delete",): "delete",
             ("forget",): "remove"}}
    for change in changes:
        actions = tuple(change["change"]["actions"])
        action = names.get(actions, "replace" if set(actions) == {{"create", "delete"}} else "noop")
        module, address = change.get("module_address", ""), change["address"]
        resource = {{"addr": address, "module": module,
                    "resource": address.removeprefix(module + ".") if module else address,
                    "resource_type": change["type"], "resource_name": change["name"]}}
        print(json.dumps({{"type": "planned_change", "@message": f"{{address}}: Plan to {{action}}",
                          "change": {{"resource": resource, "action": action}}}}))
elif command == "show" and (canned / f"show.{{args[-1]}}.stdout").exists():
    # What `show -json FILE` prints for one plan file in particular (e.g. whole.tfplan).
    sys.stdout.write((canned / f"show.{{args[-1]}}.stdout").read_text())
elif (canned / f"{{command}}.stdout").exists():
    sys.stdout.write((canned / f"{{command}}.stdout").read_text())
sleep_file = canned / f"{{command}}.sleep"
if sleep_file.exists():
    import time
    time.sleep(float(sleep_file.read_text()))
    Path(chdir, f"{{command}}.finished").write_text(str(os.getpid()))
if (canned / f"{{command}}.hold").exists():
    import time
    deadline = time.monotonic() + 60
    while not (canned / f"{{command}}.release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    Path(chdir, f"{{command}}.finished").write_text(str(os.getpid()))
code_file = canned / f"{{command}}.exit"
sys.exit(int(code_file.read_text()) if code_file.exists() else 0)
"""


class FakeTerraform:
    def __init__(self, folder: Path):
        self.folder = folder
        self.log = folder / "calls.jsonl"
        self.binary = folder / "terraform"
        self.binary.write_text(SCRIPT.format(python=sys.executable))
        self.binary.chmod(self.binary.stat().st_mode | stat.S_IEXEC)

    def env(self) -> dict[str, str]:
        return {
            "FAKE_TF_LOG": str(self.log),
            "FAKE_TF_DIR": str(self.folder),
            "PATH": f"{self.folder}{os.pathsep}{os.environ['PATH']}",
        }

    def stdout(self, command: str, text: str) -> None:
        (self.folder / f"{command}.stdout").write_text(text)

    def shows(self, plan_file: str, text: str) -> None:
        """What `show -json PLAN_FILE` prints for that plan file (others get `show`'s)."""
        (self.folder / f"show.{plan_file}.stdout").write_text(text)

    def sleep(self, command: str, seconds: float) -> None:
        """`command` takes `seconds`, then leaves `<command>.finished` in its root."""
        (self.folder / f"{command}.sleep").write_text(str(seconds))

    def hold(self, command: str) -> None:
        """`command` runs until `release(command)` (a minute at most), then leaves
        `<command>.finished` in its root."""
        (self.folder / f"{command}.hold").touch()

    def release(self, command: str) -> None:
        (self.folder / f"{command}.release").touch()

    def exit_code(self, command: str, code: int) -> None:
        (self.folder / f"{command}.exit").write_text(str(code))

    def calls(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def commands(self) -> list[list[str]]:
        return [[a for a in call["argv"] if not a.startswith("-chdir=")] for call in self.calls()]
