"""Run the terraform binary in a rendered root: argv building, environment, live output, and
where `terraform init` finds the AWS provider (a filesystem mirror or the registry)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from payinfra.errors import TerraformFailed, TerraformNotFound

PLUGIN_DIR_ENV = "PAYINFRA_PLUGIN_DIR"

# Where Terraform's filesystem mirrors usually live; the first holding the AWS provider is used.
MIRROR_CANDIDATES = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)

AWS_PROVIDER_PATH = "registry.terraform.io/hashicorp/aws"

MIRROR_ADVICE = (
    "if the Terraform registry is unreachable, point --plugin-dir or PAYINFRA_PLUGIN_DIR at a "
    f"provider mirror (DIR/{AWS_PROVIDER_PATH}/<version>/<os>_<arch>/)"
)

TERRAFORM_ENV = "PAYINFRA_TERRAFORM"
INSTALL_ADVICE = (
    "install Terraform >= 1.6 (https://developer.hashicorp.com/terraform/install), put it on PATH, "
    f"or point --terraform / {TERRAFORM_ENV} at the binary"
)


def terraform_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment terraform runs in: this process's, for automation, plus `extra`."""
    env = {**os.environ, "TF_IN_AUTOMATION": "1", **(extra or {})}
    config = env.get("TF_CLI_CONFIG_FILE")
    if config and not Path(config).exists():
        # A dangling CLI config only makes terraform print a warning on every call.
        env.pop("TF_CLI_CONFIG_FILE")
    return env


def find_terraform(explicit: str | None = None) -> str:
    candidate = explicit or os.environ.get(TERRAFORM_ENV) or "terraform"
    found = shutil.which(candidate)
    if found is None:
        raise TerraformNotFound(f"terraform not found ({candidate!r}): {INSTALL_ADVICE}")
    return found


@dataclass
class Terraform:
    binary: str
    root: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    # The out folder locks payinfra holds. Every terraform inherits them: a flock belongs to the
    # open file, so a lock stays held while any terraform payinfra started still runs, even
    # after payinfra itself was killed (no render rewrites a folder under a running apply).
    locks: tuple[int, ...] = ()

    def argv(self, *args: str) -> list[str]:
        return [self.binary, f"-chdir={self.root}", *args]

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,), quiet: bool = False) -> int:
        """Run with output streamed to the terminal (stdout discarded when `quiet`, errors still
        shown); raise unless the exit code is expected."""
        code = subprocess.run(
            self.argv(*args),
            env=terraform_env(self.extra_env),
            pass_fds=self.locks,
            stdout=subprocess.DEVNULL if quiet else None,
            check=False,
        ).returncode
        if code not in ok_codes:
            raise TerraformFailed(args[0], code)
        return code

    def stream(
        self, *args: str, on_line: Callable[[str], None], ok_codes: tuple[int, ...] = (0,)
    ) -> int:
        """Run with stdout read line by line as it comes (e.g. `plan -json`), stderr streamed
        to the terminal; raise unless the exit code is expected."""
        with subprocess.Popen(
            self.argv(*args),
            env=terraform_env(self.extra_env),
            stdout=subprocess.PIPE,
            text=True,
            pass_fds=self.locks,
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                on_line(line)
        if process.returncode not in ok_codes:
            raise TerraformFailed(args[0], process.returncode)
        return process.returncode

    def run_unchecked(self, *args: str) -> subprocess.CompletedProcess:
        """Run with stdout and stderr captured, whatever the exit code."""
        return subprocess.run(
            self.argv(*args),
            env=terraform_env(self.extra_env),
            capture_output=True,
            text=True,
            pass_fds=self.locks,
            check=False,
        )

    def output_of(self, *args: str) -> str:
        """Run and return stdout, raising on a non-zero exit (stderr goes into the error)."""
        completed = self.run_unchecked(*args)
        if completed.returncode != 0:
            rerun = " ".join(["terraform", f"-chdir={self.root}", *args])
            raise TerraformFailed(args[0], completed.returncode, completed.stderr, rerun)
        return str(completed.stdout)


# ---- The provider mirror ----


def find_plugin_dir(explicit: Path | None = None) -> Path | None:
    """--plugin-dir, else PAYINFRA_PLUGIN_DIR, else the first usual mirror folder that holds
    the AWS provider; None means the registry."""
    if explicit:
        return explicit
    if os.environ.get(PLUGIN_DIR_ENV):
        return Path(os.environ[PLUGIN_DIR_ENV])
    for candidate in MIRROR_CANDIDATES:
        path = Path(candidate).expanduser()
        if (path / AWS_PROVIDER_PATH).is_dir():
            return path
    return None


def init_args(plugin_dir: Path | None) -> list[str]:
    args = ["init", "-input=false"]
    if plugin_dir:
        args.append(f"-plugin-dir={plugin_dir}")
    return args
