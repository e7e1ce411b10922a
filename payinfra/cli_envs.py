"""`payinfra envs`: the environments of a folder with their regions, or every Terraform root of
some of them as a CI job matrix (one plan job per root, so that one region's outage leaves the
other roots' plans running)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from payinfra.cli_options import environments_option
from payinfra.config import Environment, list_environments, load_environment
from payinfra.render.regions import LINKS_FOLDER, REGIONS_FOLDER, root_folders


@click.command()
@click.argument("names", nargs=-1, metavar="[ENV]...")
@environments_option
@click.option(
    "--matrix",
    is_flag=True,
    help="Print every root of the ENVs (all when none is named) as one JSON list for a CI job "
    "matrix: env, root (its folder in out/ENV/, empty for one root), select (the plan/apply option "
    "that runs it alone) and name (unique, for artifacts).",
)
def envs(names: tuple[str, ...], environments_dir: Path, matrix: bool) -> None:
    """List environments (all, or the ENVs named) with their regions (the source first)."""
    found = list(names) or list_environments(environments_dir)
    loaded = [load_environment(environments_dir, name) for name in found]
    if matrix:  # JSON even when empty: a CI job reads it
        click.echo(json.dumps([root for env in loaded for root in _roots(env)]))
        return
    if not loaded:
        click.echo(f"no environments in {environments_dir}/")
        return
    width = max(len(env.name) for env in loaded)
    for env in loaded:
        regions = [f"{env.source.name} (source)"]
        regions += [f"{region.name} (target)" for region in env.targets]
        click.echo(f"{env.name.ljust(width)}  {', '.join(regions)}")


def _roots(env: Environment) -> list[dict[str, str]]:
    if env.layout == "one-root":
        return [{"env": env.name, "root": "", "select": "", "name": f"{env.name}--root"}]
    return [
        {
            "env": env.name,
            "root": folder,
            "select": _select(folder),
            "name": f"{env.name}--{folder.replace('/', '-')}",
        }
        for folder in root_folders(env)
    ]


def _select(folder: str) -> str:
    """The plan/apply option that runs the root in `folder` alone."""
    if folder == LINKS_FOLDER:
        return "--links"
    return f"--region {folder.removeprefix(REGIONS_FOLDER + '/')}"
