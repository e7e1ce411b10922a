"""The `payinfra` command line: parse arguments, call one function of the layer below, print."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from payinfra import (
    __version__,
    cli_emulator,
    cli_envs,
    cli_reports,
    roots,
    safety,
    workspace,
    writer,
)
from payinfra.bootstrap import bootstrap as bootstrap_stack
from payinfra.cli_options import (
    environments_option,
    links_option,
    one_root_at_most,
    out_option,
    plugin_dir_option,
    region_option,
    terraform_option,
    typed_confirmation,
)
from payinfra.config import load_environment
from payinfra.errors import PayinfraError
from payinfra.plansummary import finding_lines, markdown, table
from payinfra.workspace import Workspace


@dataclass(frozen=True)
class RootOptions:
    """What a command that drives terraform is told: the environment, where its YAML and its
    root live, which terraform, where providers come from, and the arguments after `--`."""

    env: str
    environments_dir: Path
    out_dir: Path
    render_first: bool
    terraform: str | None
    plugin_dir: Path | None
    terraform_args: tuple[str, ...]

    def workspace(
        self, *, reads_state: bool = True, region: str | None = None
    ) -> AbstractContextManager[Workspace]:
        return workspace.workspace(
            self.environments_dir,
            self.env,
            self.out_dir,
            render_first=self.render_first,
            terraform=self.terraform,
            reads_state=reads_state,
            region=region,
        )


def _show_roots(folders: list[str]) -> None:
    """Which roots run now; more than one run side by side, their lines interleaved (a plan's
    each start with their root's folder; an apply's, terraform's own, name their module)."""
    if any(folders):
        side_by_side = " (side by side)" if len(folders) > 1 else ""
        click.secho(f"\n== {', '.join(f + '/' for f in folders)}{side_by_side}", bold=True)


def _root_command(
    *, renders: bool = True, passes_args: bool = True, installs: bool = True
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options every terraform-driving command shares, gathered into one RootOptions: ENV,
    --environments-dir, --out, --terraform, and where it applies --plugin-dir, --no-render and
    the arguments after `--`."""
    shared = [click.argument("env"), environments_option, out_option, terraform_option]
    if installs:
        shared.append(plugin_dir_option)
    if renders:
        shared.append(
            click.option(
                "--no-render",
                is_flag=True,
                help="Use out/ENV/ as it is instead of rendering it first.",
            )
        )
    if passes_args:
        shared.append(click.argument("terraform_args", nargs=-1, type=click.UNPROCESSED))

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def with_options(**values: Any) -> None:
            options = RootOptions(
                env=values.pop("env"),
                environments_dir=values.pop("environments_dir"),
                out_dir=values.pop("out_dir"),
                render_first=not values.pop("no_render", False),
                terraform=values.pop("terraform_binary"),
                plugin_dir=values.pop("plugin_dir", None),
                terraform_args=tuple(values.pop("terraform_args", ())),
            )
            command(options, **values)

        decorated: Callable[..., None] = with_options
        for option in reversed(shared):
            decorated = option(decorated)
        return decorated

    return decorate


def _fail(message: str, exit_code: int) -> None:
    click.secho("error: " + message.replace("\n", "\nerror: "), fg="red", err=True)
    raise SystemExit(exit_code)


class ChangesPending(SystemExit):
    """`plan --detailed-exitcode` found changes: exit 2, the one exit 2 such a plan may end with."""

    def __init__(self) -> None:
        super().__init__(2)


DETAILED_EXITCODE = "--detailed-exitcode"


class _Cli(click.Group):
    """Maps errors to messages and exit codes once, for every command: never a traceback for
    payinfra's own errors or for a file system that refuses."""

    def main(self, args: Any = None, *rest: Any, **options: Any) -> Any:
        """With --detailed-exitcode, 2 means "the plan has changes" and nothing else, as with
        terraform: invalid YAML or a usage error, which exit 2 elsewhere, exit 1 there (CI
        treats 2 as a successful plan)."""
        argv = list(sys.argv[1:] if args is None else args)
        try:
            return super().main(argv, *rest, **options)
        except SystemExit as ended:
            options_part = argv[: argv.index("--")] if "--" in argv else argv
            detailed = DETAILED_EXITCODE in options_part
            if ended.code == 2 and detailed and not isinstance(ended, ChangesPending):
                raise SystemExit(1) from None
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PayinfraError as exc:
            _fail(str(exc), exc.exit_code)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            _fail(f"{exc.strerror or exc}{where}", 1)
        except RecursionError:
            _fail("the input is nested too deeply to process", 2)
        except KeyboardInterrupt:
            _fail("interrupted; the out folder is left whole (old or new render)", 130)


@contextlib.contextmanager
def _timed() -> Iterator[Callable[[], float]]:
    started = time.perf_counter()
    yield lambda: (time.perf_counter() - started) * 1000


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="payinfra")
def main() -> None:
    """Render per-environment YAML into a reviewable Terraform root and drive Terraform with it.

    \b
    Typical use:
      payinfra envs                 list environments and their regions
      payinfra render dev           write out/dev/ from environments/dev.yaml
      payinfra bootstrap prod       create the S3 state bucket the YAML names (once)
      payinfra plan prod            render, plan, save out/prod/plan.tfplan, summarise
      payinfra apply prod           apply exactly that saved plan
      payinfra drift prod           report what changed outside Terraform (exit 2)
      payinfra emulator start       run a local AWS emulator for the `local` environment

    Arguments after `--` go to terraform only if they are on the command's allow-list
    (e.g. -parallelism=N, -lock-timeout=D, -no-color; plan also -target= and -replace=):
      payinfra plan dev -- -target=module.compute
    """


@main.command()
@click.argument("env")
@environments_option
@out_option
def render(env: str, environments_dir: Path, out_dir: Path) -> None:
    """Render environment ENV into OUT/ENV/.

    Only files payinfra generates are replaced; Terraform state, .terraform/, the lock file and
    plan files already in OUT/ENV/ are kept. Exit code 2 means the YAML is invalid.
    """
    with _timed() as elapsed:
        result = workspace.render(environments_dir, env, out_dir).result
    elapsed_ms = elapsed()
    click.echo(
        f"rendered {env} into {out_dir / env}/: {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged, {len(result.removed)} removed ({elapsed_ms:.0f} ms)"
    )
    for removed in result.removed:
        click.echo(f"  removed {removed}")


@main.command()
@_root_command()
@click.option("--upgrade", is_flag=True, help="Allow newer provider versions than the lock file.")
def init(root: RootOptions, upgrade: bool) -> None:
    """Render ENV and run terraform init (backend from the YAML; .terraform.lock.hcl is kept)."""
    with root.workspace() as ws:
        roots.init(ws, plugin_dir=root.plugin_dir, upgrade=upgrade, extra=root.terraform_args)


@main.command()
@_root_command()
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing changes, 2 when the plan has changes, 1 on any error (invalid "
    "YAML and usage errors included), 3 when a safety rule refuses.",
)
@click.option(
    "--summary-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the summary (table and DATA LOSS lines) to this file, e.g. for a PR comment.",
)
@click.option(
    "--summary-format",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
    help="Format of --summary-file.",
)
@click.option(
    "--skip-preflight",
    is_flag=True,
    help="Plan a protected environment without first running `payinfra preflight` on its account.",
)
@region_option
@links_option
def plan(
    root: RootOptions,
    detailed_exitcode: bool,
    summary_file: Path | None,
    summary_format: str,
    skip_preflight: bool,
    region: str | None,
    links: bool,
) -> None:
    """Render ENV, plan into out/ENV/plan.tfplan, and summarise the changes.

    Destroys or replacements of stateful resources (RDS, DynamoDB, S3, KMS, log groups, SQS
    queues, secrets) are called out as DATA LOSS. A protected environment's plan starts with
    `payinfra preflight` and stops (exit 3) when the account cannot take the YAML.
    """
    one_root_at_most(region, links)
    if summary_file:
        # Found out now, not after a plan that may take minutes.
        if not summary_file.parent.is_dir():
            raise click.BadParameter(
                f"folder {summary_file.parent} does not exist", param_hint="--summary-file"
            )
        writer.check_report_path(summary_file, root.out_dir / root.env)
    with root.workspace(region=region) as ws:
        planned = roots.plan(
            ws,
            region=region,
            links=links,
            detailed_exitcode=detailed_exitcode,
            plugin_dir=root.plugin_dir,
            extra=root.terraform_args,
            on_message=_show_plan_message,
            run_preflight=not skip_preflight,
            on_roots=_show_roots,
        )
    step = f"workload: {ws.env.move_step()}"
    texts, markdowns = [step], []
    click.echo(f"\n{step}")
    for root_plan in planned:
        _show_roots([root_plan.folder])
        texts += [f"== {root_plan.folder}/"] if root_plan.folder else []
        if root_plan.result is None:
            waits = (
                f"{root_plan.folder}/ reads what the region roots hold and waits until each is "
                f"applied: `payinfra apply {root.env}` plans and applies it after them"
            )
            click.echo(waits)
            texts.append(waits)
            continue
        summary = root_plan.result.summary
        notices, stops = finding_lines(summary)
        click.echo(table(summary))
        for line in notices:
            click.secho(line, fg="yellow")
        for line in stops:
            click.secho(line, fg="red", bold=True)
        texts += [table(summary), *notices, *stops]
        markdowns.append(markdown(summary, root.env, ws.env.move_step(), root_plan.folder))
    if summary_file:
        text = "\n".join(texts) + "\n"
        if summary_format == "markdown":
            text = "\n".join(markdowns)
        summary_file.write_text(text, encoding="utf-8")
    saved = ", ".join(
        str(root.out_dir / root.env / p.folder / safety.PLAN_FILE) for p in planned if p.result
    )
    click.echo(f"\nsaved plan: {saved}; apply it with `payinfra apply {root.env}`")
    codes = [p.result.exit_code for p in planned if p.result]
    if detailed_exitcode and 2 in codes:
        raise ChangesPending
    raise SystemExit(max(codes, default=0))


# What `terraform plan -json` reports that a person wants to see while it runs.
_SHOWN_MESSAGES = {"planned_change", "resource_drift", "change_summary", "diagnostic", "text"}


def _show_plan_message(message: dict) -> None:
    """One line per message; with a root per region, each starts with its root's folder (the
    roots plan side by side, their lines interleaved)."""
    kind = message.get("type")
    if kind not in _SHOWN_MESSAGES:
        return
    folder = message.get(roots.MESSAGE_ROOT)
    root = f"{folder}/: " if folder else ""
    if kind == "diagnostic":
        diagnostic = message.get("diagnostic") or {}
        severity = diagnostic.get("severity", "error")
        text = f"{diagnostic.get('summary', '')} {diagnostic.get('detail', '')}".rstrip()
        click.secho(
            f"{root}{severity}: {text}", fg="red" if severity == "error" else "yellow", err=True
        )
    elif message.get("@message"):
        click.echo(f"{root}{message['@message']}")


@main.command()
@_root_command()
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Skip typing the environment name (for CI) in a protected environment.",
)
@click.option(
    "--allow-destroy",
    is_flag=True,
    help="Let a protected environment's plan destroy or replace stateful resources.",
)
@region_option
@links_option
def apply(
    root: RootOptions, auto_approve: bool, allow_destroy: bool, region: str | None, links: bool
) -> None:
    """Apply the plan saved by `payinfra plan ENV`, only if the render still matches it.

    The plan may come from another job of the same commit (carry plan.tfplan and
    plan.payinfra.json into OUT/ENV/): it is applied only if this checkout renders the same
    files, for the same environment and protection.
    """
    one_root_at_most(region, links)
    with root.workspace(region=region) as ws:
        applied = roots.apply(
            ws,
            region=region,
            links=links,
            auto_approve=auto_approve,
            allow_destroy=allow_destroy,
            confirm=typed_confirmation(root.env),
            extra=root.terraform_args,
            plugin_dir=root.plugin_dir,
            on_roots=_show_roots,
        )
    for done in applied:
        if done.replanned:
            click.echo(
                f"{done.folder}/ was planned again after the region roots it reads and applied: "
                "it only created or updated in place"
            )
    alone = f" ({region}'s root)" if region else " (links/)" if links else ""
    click.echo(f"applied {root.env}{alone}")


@main.command()
@_root_command()
@click.option(
    "--auto-approve", is_flag=True, help="Skip typing the name (unprotected environments only)."
)
@click.option(
    "--force",
    is_flag=True,
    help="Required, with the name typed, to destroy a protected environment.",
)
def destroy(root: RootOptions, auto_approve: bool, force: bool) -> None:
    """Destroy everything in ENV. Protected environments need --force and the name typed."""
    with root.workspace() as ws:
        roots.destroy(
            ws,
            force=force,
            auto_approve=auto_approve,
            confirm=typed_confirmation(root.env),
            plugin_dir=root.plugin_dir,
            extra=root.terraform_args,
            on_roots=_show_roots,
        )
    click.echo(f"destroyed {root.env}")


@main.command()
@click.argument("env")
@environments_option
@out_option
@terraform_option
@plugin_dir_option
@click.option(
    "--region",
    metavar="REGION",
    help="The state bucket of REGION's root (backend.region_buckets, layout: region-roots).",
)
def bootstrap(
    env: str,
    environments_dir: Path,
    out_dir: Path,
    terraform_binary: str | None,
    plugin_dir: Path | None,
    region: str | None,
) -> None:
    """Create the S3 state bucket ENV's backend names (run once, before `payinfra init ENV`).

    The bucket is versioned, encrypted with its own KMS key, TLS-only, public access blocked,
    expires superseded state versions, and can never be destroyed by Terraform. Its own small
    root lives in OUT/ENV/bootstrap/ with its state beside it. Running it again changes nothing.
    With --region, the bucket backend.region_buckets names for that region's root (its root:
    OUT/ENV/bootstrap-REGION/).
    """
    result = bootstrap_stack(
        environments_dir, env, out_dir, terraform=terraform_binary, plugin_dir=plugin_dir,
        region=region,
    )  # fmt: skip
    for address in result.adopted:
        click.echo(f"adopted {address}: created by an interrupted bootstrap, now in its state")
    for key in result.spare_keys:
        click.secho(
            f"KMS key {key} is tagged for this state bucket but unused (left by an interrupted "
            "bootstrap); schedule its deletion when you have checked it",
            fg="yellow",
        )
    created = result.summary.totals["create"]
    click.echo(
        f"state bucket of {env} ready ({created} created)"
        if result.summary.has_changes or result.adopted
        else f"state bucket of {env} already in place; nothing to do"
    )


@main.command()
@_root_command(renders=False, passes_args=False)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def drift(root: RootOptions, as_json: bool) -> None:
    """Report what changed outside Terraform in ENV (exit 2 when anything did).

    A refresh-only plan, read-only: each resource changed in AWS and the attributes that
    differ from the state. Run it on a schedule (see the CI workflow).
    """
    with root.workspace() as ws:
        found = roots.find_drift(ws, plugin_dir=root.plugin_dir)
    if as_json:
        report = {"environment": root.env, "drift": [item.__dict__ for item in found]}
        click.echo(json.dumps(report, indent=2))
    else:
        for item in found:
            click.echo(f"{item.address}: {', '.join(item.attributes)}")
        click.echo(f"{root.env}: {len(found)} resource(s) changed outside Terraform")
    raise SystemExit(2 if found else 0)


@main.command("move-state")
@_root_command(passes_args=False, installs=False)
def move_state(root: RootOptions) -> None:
    """Move ENV's one-root state into its region roots (layout: region-roots).

    Each resource goes to the root that holds its module call, by the same address: nothing is
    destroyed or created. The one-root state (a local file or the S3 backend's object) is kept
    under its name plus `.one-root-backup`. Then `payinfra plan ENV`.
    """
    env_file = root.environments_dir / f"{root.env}.yaml"
    roots.require_region_roots(load_environment(root.environments_dir, root.env), env_file)
    with root.workspace() as ws:
        moved, kept = roots.move_state(ws)
    for folder, count in moved.items():
        click.echo(f"{folder}/: {count} resources")
    click.echo(
        f"moved {root.env}'s state into {len(moved)} roots (the one-root state: {kept}); "
        f"next: payinfra plan {root.env}"
    )


@main.command()
@click.argument("env")
@out_option
def unprotect(env: str, out_dir: Path) -> None:
    """Let protected environment ENV's YAML lower its protection (typed, at a terminal).

    Once OUT/ENV/ (or its state) has been protected, payinfra refuses a YAML that says
    otherwise. This command, and only this one, allows it: after the environment name is typed,
    the next render, plan and apply may turn protection off. Nothing in AWS changes here.
    """
    root = out_dir / env
    if not safety.is_protected_root(root, env):
        click.echo(f"{root} is not a protected environment's root; nothing changed")
        return
    click.echo(safety.UNPROTECT_CONSEQUENCES.format(name=env, root=root))
    safety.unprotect(root, env, typed_confirmation(env))
    click.echo(f"{env} may now be unprotected: set `protected: false` in its YAML, then plan")


@main.command()
@_root_command(renders=False, passes_args=False, installs=False)
@click.option("--json", "as_json", is_flag=True, help="Print the outputs as one JSON object.")
def output(root: RootOptions, as_json: bool) -> None:
    """Show ENV's Terraform outputs as a table, or --json."""
    with root.workspace() as ws:
        values = roots.outputs(ws)
    if as_json:
        click.echo(json.dumps(values, indent=2, sort_keys=True))
        return
    width = max((len(name) for name in values), default=0)
    for name, value in values.items():
        shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        click.echo(f"{name.ljust(width)}  {shown}")


@main.command()
@_root_command(renders=False, passes_args=False)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object for CI annotations.",
)
def validate(root: RootOptions, output_format: str) -> None:
    """Render ENV, then terraform fmt -check, init -backend=false + validate, and checkov.

    Needs no AWS credentials: no backend and no provider is configured."""
    with root.workspace(reads_state=False) as ws:
        report = roots.validate(ws, plugin_dir=root.plugin_dir)
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "environment": root.env,
                    "checks": report.ran,
                    "skipped_checks": report.skipped,
                    "findings": [f.__dict__ for f in report.findings],
                },
                indent=2,
            )
        )
    else:
        for check, reason in sorted(report.skipped.items()):
            click.echo(f"checkov: {check} skipped: {reason}")
        for finding in report.findings:
            click.echo(f"{finding.tool}: {finding.location}: {finding.message}")
        click.echo(f"{root.env}: {len(report.findings)} finding(s) from {', '.join(report.ran)}")
    raise SystemExit(1 if report.findings else 0)


for command in (
    cli_envs.envs,
    cli_reports.status,
    cli_reports.preflight,
    cli_reports.failover,
    cli_reports.adopt,
    cli_emulator.emulator_group,
):
    main.add_command(command)
