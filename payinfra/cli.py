"""The `payinfra` command line: parse arguments, call one function of the layer below, print."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

import click

from payinfra import __version__
from payinfra.config import list_environments, load_environment
from payinfra.errors import PayinfraError
from payinfra.render import render_environment
from payinfra.writer import write_tree

environments_option = click.option(
    "--environments-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("environments"),
    show_default=True,
    envvar="PAYINFRA_ENVIRONMENTS_DIR",
    help="Folder holding <env>.yaml and _defaults.yaml [env: PAYINFRA_ENVIRONMENTS_DIR].",
)


def _reports_errors(command: Callable) -> Callable:
    """Print the project's own errors as plain messages and exit with their code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except PayinfraError as exc:
            click.secho("error: " + str(exc).replace("\n", "\nerror: "), fg="red", err=True)
            raise SystemExit(exc.exit_code) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="payinfra")
def main() -> None:
    """Render per-environment YAML into a reviewable Terraform root and drive Terraform with it.

    \b
    Typical use:
      payinfra envs                 list environments and their regions
      payinfra render dev           write out/dev/ from environments/dev.yaml
    """


@main.command()
@click.argument("env")
@environments_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Parent folder; the Terraform root is written to OUT/ENV/.",
)
@_reports_errors
def render(env: str, environments_dir: Path, out_dir: Path) -> None:
    """Render environment ENV into OUT/ENV/.

    Only files payinfra generates are replaced; Terraform state, .terraform/, the lock file and
    plan files already in OUT/ENV/ are kept. Exit code 2 means the YAML is invalid.
    """
    started = time.perf_counter()
    environment = load_environment(environments_dir, env)
    result = write_tree(render_environment(environment), out_dir / env)
    elapsed_ms = (time.perf_counter() - started) * 1000
    click.echo(
        f"rendered {env} into {out_dir / env}/: {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged, {len(result.removed)} removed ({elapsed_ms:.0f} ms)"
    )
    for removed in result.removed:
        click.echo(f"  removed {removed}")


@main.command()
@environments_option
@_reports_errors
def envs(environments_dir: Path) -> None:
    """List environments with their regions (the source first)."""
    names = list_environments(environments_dir)
    if not names:
        click.echo(f"no environments in {environments_dir}/")
        return
    width = max(len(name) for name in names)
    for name in names:
        environment = load_environment(environments_dir, name)
        regions = [f"{environment.source.name} (source)"]
        regions += [f"{region.name} (target)" for region in environment.targets]
        click.echo(f"{name.ljust(width)}  {', '.join(regions)}")
