"""The locked, rendered, verified root of one environment, and where its AWS calls go.

`workspace()` holds the out folder's lock for a whole command, proves the credentials act in
the YAML's account (when the command touches state), renders (unless told not to) and proves the
tree matches its manifest before any terraform runs. `render()` is the one call that loads,
renders and writes. The emulator is reached through AWS_ENDPOINT_URL with dummy credentials.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from payinfra import accounts, emulator, safety, writer
from payinfra.adoption_record import ADOPTION_RECORD, read_record
from payinfra.config import Environment, load_environment
from payinfra.errors import AccountUnknown, EmulatorError, Refused, RegionUnreachable
from payinfra.render import Files, render_environment
from payinfra.render.regions import REGIONS_FOLDER
from payinfra.terraform import Terraform, find_terraform

EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator"}


@dataclass(frozen=True)
class Workspace:
    env: Environment
    root: Path
    terraform: Terraform
    env_file: Path  # where the environment's YAML lives, for messages
    rendered: bool = True  # rendered by this command (not --no-render)
    # The root's folder inside the environment's (`regions/R`, `links`); "" for the one root.
    folder: str = ""

    def at(self, folder: str) -> Workspace:
        """One root of a `region-roots` environment, under the same lock."""
        root = self.root / folder
        terraform = dataclasses.replace(self.terraform, root=root)
        return dataclasses.replace(self, root=root, terraform=terraform, folder=folder)

    @property
    def tree(self) -> Path:
        """The rendered folder (its manifest): the root itself, or the one that holds it."""
        return self.root.parents[len(Path(self.folder).parts) - 1] if self.folder else self.root

    @property
    def regions(self) -> list[str]:
        """The regions this root starts a provider for."""
        if self.folder.startswith(REGIONS_FOLDER + "/"):
            return [self.folder.split("/")[1]]
        return _names(self.env)

    def adopt_replicas(self, regions: list[str]) -> None:
        """Render again with import blocks that adopt the table replicas in `regions` (state
        written by an earlier payinfra, read once terraform is initialised); the lock is held."""
        if not self.rendered:
            raise Refused(
                f"{self.env.name}'s state holds table replicas in {', '.join(regions)} that "
                "payinfra now manages as resources of their own; plan without --no-render so "
                "that the root adopts them (docs/region-moves.md: Table replicas)"
            )
        writer.write_tree(rendered(self.env, self.root, regions), self.root)
        writer.verify(self.root)


@dataclass(frozen=True)
class Rendered:
    env: Environment
    root: Path
    result: writer.WriteResult


def render(environments_dir: Path, name: str, out_dir: Path) -> Rendered:
    """Load, validate, render and write one environment: the one call that does all of it."""
    env = load_environment(environments_dir, name)
    root = out_dir / name
    with writer.locked(root):
        return Rendered(env, root, render_locked(env, root))


def render_locked(env: Environment, root: Path) -> writer.WriteResult:
    safety.guard_protection(env, root)
    return writer.write_tree(rendered(env, root), root)


def rendered(env: Environment, root: Path, adopted_replicas: list[str] | None = None) -> Files:
    """The environment's files, with the import blocks of an adoption in progress (its record
    beside the root) and of the table replicas to adopt."""
    record = root / ADOPTION_RECORD
    adoption = read_record(record.read_text(encoding="utf-8"))[1] if record.is_file() else []
    return render_environment(
        env, adopted_replicas or (), [(item.to, item.id) for item in adoption]
    )


@contextlib.contextmanager
def workspace(
    environments_dir: Path,
    name: str,
    out_dir: Path,
    *,
    render_first: bool,
    terraform: str | None,
    reads_state: bool = True,
    region: str | None = None,
) -> Iterator[Workspace]:
    """The environment's root, locked for the whole `with` block, rendered (unless told not to)
    and proven to match its manifest. When the command `reads_state` (every one but validate),
    the credentials are first proven to act in the YAML's account (asked in `region`, the
    primary's by default): no backend or provider is ever started with another account's
    credentials."""
    env = load_environment(environments_dir, name)
    binary = find_terraform(terraform)
    root = out_dir / name
    env_file = environments_dir / f"{name}.yaml"
    with writer.locked(root):
        if reads_state:
            try:
                safety.check_account(env, env_file, aws_target(env, region))
            except AccountUnknown:
                # With a root per region, STS not answering in the primary's region may be that
                # region's outage: then say which root needs it and how to run the others.
                if env.layout == "region-roots":
                    refuse_a_dark_region(env, [region] if region else _names(env), "")
                raise
        if render_first:
            render_locked(env, root)
        else:
            safety.guard_protection(env, root)
        writer.verify(root)
        terraform_runner = Terraform(binary, root, child_env(env), writer.held_locks())
        yield Workspace(env, root, terraform_runner, env_file, rendered=render_first)


def refuse_a_dark_region(env: Environment, regions: list[str], folder: str) -> None:
    """A root starts a provider for each of its `regions`, and the AWS provider retries a
    region that does not answer for many minutes before it fails (measured: a plan of `local`
    with one region dark on the emulator was still silent after 10 minutes). Asked first, in
    one line. The environment's other regions are asked only when none of `regions` answers,
    to tell one region's outage from no network at all."""
    others = [name for name in _names(env) if name not in regions]
    dark = accounts.unreachable_regions(aws_target(env, regions[0]), regions, others)
    if not dark:
        return
    region, detail = next(iter(dark.items()))
    root = folder or (f"{REGIONS_FOLDER}/{region}" if env.layout == "region-roots" else "")
    if root:
        why = (
            f"{root}/ starts a provider for it, so terraform cannot run there until it "
            f"answers; a region that answers is planned alone with payinfra plan {env.name} "
            "--region REGION"
        )
    else:
        why = (
            f"{env.name}'s one Terraform root spans every region, so terraform cannot run "
            "until it answers"
        )
    raise RegionUnreachable(
        f"{', '.join(dark)} does not answer ({region}: {detail}); {why}. If the primary's region "
        f"stays dark, move the writer without Terraform: payinfra failover {env.name} --to "
        "REGION (docs/failover.md)"
    )


def _names(env: Environment) -> list[str]:
    return [region.name for region in env.regions]


def child_env(env: Environment) -> dict[str, str]:
    """The emulator is reached through AWS_ENDPOINT_URL, which the AWS provider honours."""
    endpoint = emulator_endpoint(env)
    if endpoint is None:
        return {}
    return {"AWS_ENDPOINT_URL": endpoint, **EMULATOR_CREDENTIALS}


def emulator_endpoint(env: Environment) -> str | None:
    """The YAML's emulator endpoint, or that of the emulator `payinfra emulator start` runs."""
    if env.emulator is None:
        return None
    if env.emulator.endpoint:
        return env.emulator.endpoint
    running = emulator.status()
    if not running.running:
        raise EmulatorError(
            f"{env.name} runs on the local emulator, which is not running: "
            "`payinfra emulator start [--port N]` first"
        )
    return running.endpoint


def aws_target(env: Environment, region: str | None = None) -> accounts.Target:
    """Where boto3 asks about `env` (in `region`, the primary's by default): the emulator or
    AWS, as the YAML's role."""
    endpoint = emulator_endpoint(env)
    return accounts.Target(
        region=region or env.primary.name,
        endpoint=endpoint,
        role_arn=env.aws.role_arn,
        external_id=env.aws.external_id,
        session_name=env.session_name,
        credentials=_emulator_credentials() if endpoint else None,
    )


def backend_target(env: Environment, region: str | None) -> accounts.Target:
    """Where boto3 reaches the S3 backend's bucket (in `region`, the backend's by default), as
    the backend's role."""
    return dataclasses.replace(
        aws_target(env),
        region=region or env.backend.region or env.primary.name,
        role_arn=env.backend_role_arn,
    )


def _emulator_credentials() -> tuple[str, str]:
    return (
        EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
