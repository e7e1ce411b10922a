"""payinfra's own error types, each with the exit code the CLI ends with.

Every one carries a message written for the person at the terminal; the CLI prints it without a
traceback. Exit codes: 1 failure, 2 invalid input, 3 refused by a safety rule (nothing changed),
127 terraform not found, and terraform's own code when terraform fails.
"""

from __future__ import annotations

import re


class PayinfraError(Exception):
    """Base class: the CLI prints the message and exits with `exit_code`."""

    exit_code = 1


class ConfigError(PayinfraError):
    """The environment YAML is missing, malformed or invalid."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class UsageError(PayinfraError):
    """The command line asks for something payinfra does not do (e.g. a forbidden terraform
    argument after `--`)."""

    exit_code = 2


class UnknownRegion(UsageError):
    """`--region` names a region the environment does not have."""


class RegionRootsOnly(UsageError):
    """`--region` asked of an environment whose one root spans every region."""


class RenderError(PayinfraError):
    """Rendering or writing the Terraform root failed; the root is unchanged."""


class Refused(PayinfraError):
    """A safety rule stopped the operation; nothing was changed."""

    exit_code = 3


class Busy(Refused):
    """Another payinfra command holds the out folder's lock."""


class AccountUnknown(PayinfraError):
    """STS could not say which AWS account the credentials act in."""


class RegionUnreachable(PayinfraError):
    """A region the root spans does not answer: terraform would wait on it for many minutes."""


class StateUnreachable(PayinfraError):
    """A state object in the backend's bucket cannot be read or written."""


class NothingApplied(PayinfraError):
    """The environment's state is empty: there is nothing deployed to compare or read."""


class EmulatorError(PayinfraError):
    """The local emulator could not be started or reached."""


class TerraformOutputUnreadable(PayinfraError):
    """terraform printed something other than the JSON asked for (`show -json`, `output -json`)."""


class RoleNotAssumed(PayinfraError):
    """The YAML's role could not be assumed with the current credentials."""


class TerraformNotFound(PayinfraError):
    exit_code = 127


class TerraformFailed(PayinfraError):
    """terraform exited non-zero; payinfra exits with the same code. `detail` is terraform's
    captured stderr (summarised to its first `Error:` line, never forty lines of boxes) or
    payinfra's own advice; `rerun` is the command that shows terraform's full output."""

    def __init__(self, command: str, exit_code: int, detail: str = "", rerun: str = ""):
        super().__init__(f"terraform {command} exited with {exit_code}{_summary(detail, rerun)}")
        self.exit_code = exit_code


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _summary(detail: str, rerun: str) -> str:
    lines = [_ANSI.sub("", line).lstrip("│╷╵ ").strip() for line in detail.splitlines()]
    errors = [line.removeprefix("Error: ") for line in lines if line.startswith("Error: ")]
    if not errors:
        text = "\n".join(line for line in lines if line)
        return f"\n{text}" if text else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    see = f"; `{rerun}` shows terraform's full output" if rerun else ""
    return f": {errors[0]}{more}{see}"


class PreflightFailed(Refused):
    """The account cannot take what the YAML asks for (a quota, a zone, an instance class):
    an apply would fail half-way. Nothing was planned."""


class FailoverRefused(Refused):
    """A failover was asked for that cannot be done safely (the target is not a standby, or the
    writer moved while the failover read it). Nothing was changed."""


class AdoptionSourceError(PayinfraError):
    """The state given to `payinfra adopt --from-state` is missing, unreadable or not a state."""


class AdoptionRefused(Refused):
    """The state cannot be taken over as asked: it is not the reference stack, or it belongs to
    another account or other regions, or the YAML contradicts it. Nothing was written."""
