"""The commands that ask AWS directly (boto3), with no terraform and nothing rendered: the
read-only reports `payinfra status`, `payinfra preflight` and `payinfra adopt`, and
`payinfra failover`, which must work when a region and its Terraform state cannot be reached."""

from __future__ import annotations

import json
from pathlib import Path

import click

from payinfra import adoption, lifecycle, safety
from payinfra.cli_options import (
    environments_option,
    out_option,
    terraform_option,
    typed_confirmation,
)
from payinfra.errors import AdoptionRefused
from payinfra.regions import AWS_REGIONS


@click.command()
@click.argument("env")
@environments_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def status(env: str, environments_dir: Path, as_json: bool) -> None:
    """Show what AWS reports about each region of ENV's workload (read-only).

    Per region: its role, the processor's writer region, the writer record of its table copy,
    the table's home or replica status,
    the database (standalone, or read replica with its lag), the primary bucket's replication
    backlog to it, and which regions DNS sends clients to. Run it before each step of a region
    move (docs/region-moves.md).

    Exit 1 when the credentials cannot be established, 2 when what is deployed contradicts the
    YAML (a processor's writer region, or a writer record, that is not the YAML's primary).
    """
    loaded, lines = lifecycle.workload_status(environments_dir, env)
    if as_json:
        click.echo(json.dumps([line.__dict__ for line in lines], indent=2))
    else:
        click.echo(f"{env}: {loaded.move_step()}")
        width = max(len(line.region) for line in lines)
        for line in lines:
            shown = f"  {line.region.ljust(width)}  {line.what}: {line.state}"
            click.secho(shown, fg="yellow" if line.attention else None)
    raise SystemExit(2 if any(line.attention for line in lines) else 0)


@click.command()
@click.argument("env")
@environments_option
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON list.")
def preflight(env: str, environments_dir: Path, as_json: bool) -> None:
    """Ask ENV's account whether it can take what the YAML asks for (read-only).

    Per region: VPCs, security groups, Elastic IPs, NAT gateways per zone and interface
    endpoints per VPC against their quotas, the
    processor's reserved concurrency against the Lambda quota (AWS keeps 100 unreserved), the
    database instance class offered for the engine version in the region's zones; and that
    api.hosted_zone_id exists, is public and holds api.domain. Quotas come from Service Quotas,
    else AWS's documented defaults. Protected environments run it at the start of every plan.

    Exit 0 when every check passes, 3 when one fails, 1 when the credentials cannot be
    established.
    """
    _, checks = lifecycle.preflight_checks(environments_dir, env)
    if as_json:
        click.echo(json.dumps([check.__dict__ for check in checks], indent=2))
    else:
        for check in checks:
            click.secho(check.line(), fg=None if check.ok else "red")
    raise SystemExit(0 if all(check.ok for check in checks) else 3)


def _region(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if value not in AWS_REGIONS:
        raise click.BadParameter(f"{value!r} is not an AWS region name")
    return value


@click.command()
@click.argument("env")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="REGION",
    callback=_region,
    help="The standby to make the writer.",
)
@environments_option
@click.option(
    "--auto-approve", is_flag=True, help="Skip typing the name (needed without a terminal)."
)
def failover(env: str, to: str, environments_dir: Path, auto_approve: bool) -> None:
    """Make standby REGION the writer while ENV's primary region is dark.

    Every call goes to REGION (boto3; no terraform, no state): it reports the data loss window
    (the replica lag last seen, the table's asynchronous replication), asks for ENV's name to be
    typed, moves the table's writer record to REGION (REGION's processor takes new payments at
    once; the old primary refuses them when it comes back), and starts the promotion of
    REGION's database replica. DNS follows the regions' health checks by itself.

    Exit 3 when REGION is not a standby in the YAML or the failover is not confirmed; nothing is
    changed then. Afterwards, update the YAML (docs/failover.md).
    """
    loaded, client, window = lifecycle.failover_window(environments_dir, env, to)
    click.echo(f"{env}: failover from {loaded.primary.name} to {to}; what may be lost:")
    for line in window:
        click.echo(f"  {line}")
    safety.confirm_by_name(
        env, auto_approve=auto_approve, confirm=typed_confirmation(env), action="fail over"
    )
    for line in lifecycle.fail_over(loaded, client, to):
        click.echo(f"  {line}")
    click.echo(
        f"next: set workload to {{{to}: primary, {loaded.primary.name}: former}} in "
        f"{environments_dir / (env + '.yaml')} and plan when {loaded.primary.name} answers again "
        "(docs/failover.md)"
    )


@click.command()
@click.argument("env")
@environments_option
@out_option
@terraform_option
@click.option(
    "--from-state",
    "source",
    metavar="SOURCE",
    help="The reference stack's Terraform state: a file, or s3://BUCKET/KEY (read only).",
)
@click.option(
    "--release-old-state",
    is_flag=True,
    help="After `payinfra apply`: remove what payinfra adopted from the old state (backup kept).",
)
def adopt(
    env: str,
    environments_dir: Path,
    out_dir: Path,
    terraform_binary: str | None,
    source: str | None,
    release_old_state: bool,
) -> None:
    """Take over the running reference stack whose Terraform state is SOURCE, in place.

    SOURCE is only read. Without environments/ENV.yaml, writes it from the state (what cannot
    change in place pinned) and stops for review. With it, lists each resource with the
    payinfra address that imports it, or why it stays in the old state, and every place where
    the YAML contradicts what runs (each by key; nothing is written then); when none, writes
    the import blocks into out/ENV/adoption.tf: `payinfra plan ENV` shows the takeover,
    `payinfra apply ENV` performs it (docs/adoption.md).

    With --release-old-state (after `payinfra apply`), removes the adopted resources from the
    old state, keeping a backup beside it (`.payinfra-backup-SERIAL`), once payinfra's state
    holds every one of them; a protected environment's name must be typed. What is left in the
    old state is what payinfra replaced: destroy it with the old tool when nothing uses it.

    Exit 0 when the YAML or the import blocks were written or the old state released, 3 when
    the state is not the reference stack's, contradicts the YAML, or payinfra's state does not
    hold the adopted resources yet, 1 when SOURCE cannot be read, 2 for an invalid YAML.
    """
    if release_old_state:
        if source is not None:
            raise click.UsageError(
                "--release-old-state releases the state the adoption recorded: no --from-state"
            )
        released_from, released = adoption.release_old_state(
            environments_dir, env, out_dir, terraform_binary, typed_confirmation(env)
        )
        done = (
            f"removed {len(released.removed)} adopted resources from {released_from} (backup: "
            f"{released.backup})"
            if released.removed
            else f"{released_from} held none of the adopted resources any more (released before)"
        )
        click.echo(f"{done}; it still holds {len(released.kept)} that payinfra replaced")
        for address in released.kept:
            click.echo(f"  {address}")
        return
    if source is None:
        raise click.UsageError("--from-state SOURCE is required (or --release-old-state)")
    if not adoption.has_environment(environments_dir, env):
        path, count = adoption.write_environment(environments_dir, env, source)
        click.echo(
            f"wrote {path} from {source} ({count} resources): set lambda.default_currency, "
            f"review it, then run `payinfra adopt {env} --from-state {source}` again"
        )
        return
    found = adoption.survey(environments_dir, env, source)
    stack, imported = found.stack, [row for row in found.rows if row.imported]
    click.echo(
        f"{source}: the reference stack (suffix {stack.suffix}, account {stack.account_id}, "
        f"{' and '.join(stack.regions)}), {len(stack.resources)} resources"
    )
    click.echo(f"taken over in place ({len(imported)} imports):")
    for row in imported:
        click.echo(f"  {row.reference} -> {row.target}")
    left = [row for row in found.rows if not row.imported]
    click.echo(f"left to the old state ({len(left)}; payinfra builds its own):")
    for row in left:
        click.echo(f"  {row.reference}: {row.reason}")
    for problem in found.contradictions:
        click.secho(
            f"error: {found.env_file}: {problem.key}: {problem.problem}", err=True, fg="red"
        )
    if found.contradictions:
        raise AdoptionRefused(
            f"{len(found.contradictions)} contradictions between {found.env_file} and the "
            "running stack: nothing can be taken over as it stands; nothing was written"
        )
    root = adoption.record(found, out_dir)
    written = sorted(root.glob("**/adoption.tf"))
    click.echo(
        f"wrote {len(imported)} import blocks into {', '.join(map(str, written))}; next: "
        f"`payinfra plan {env}` (nothing is imported before `payinfra apply {env}`)"
    )
