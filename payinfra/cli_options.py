"""The options and the typed confirmation several `payinfra` commands share, defined once."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from payinfra.terraform import PLUGIN_DIR_ENV

environments_option = click.option(
    "--environments-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("environments"),
    show_default=True,
    envvar="PAYINFRA_ENVIRONMENTS_DIR",
    help="Folder holding <env>.yaml and _defaults.yaml [env: PAYINFRA_ENVIRONMENTS_DIR].",
)


out_option = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Parent folder; the Terraform root is written to OUT/ENV/.",
)


terraform_option = click.option(
    "--terraform",
    "terraform_binary",
    envvar="PAYINFRA_TERRAFORM",
    help="terraform binary to run [env: PAYINFRA_TERRAFORM; default: PATH].",
)


plugin_dir_option = click.option(
    "--plugin-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=PLUGIN_DIR_ENV,
    help="Install providers from this filesystem mirror instead of the registry "
    f"[env: {PLUGIN_DIR_ENV}].",
)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def typed_confirmation(name: str) -> Callable[[str], bool] | None:
    """Ask for the name at the terminal; None when there is no terminal to ask at (a name
    piped on stdin is not a person typing it)."""
    if not stdin_is_terminal():
        return None

    def confirm(prompt: str) -> bool:
        try:
            return bool(click.prompt(prompt, default="", show_default=False) == name)
        except click.Abort:  # end of input or Ctrl-C at the prompt
            click.echo(err=True)
            return False

    return confirm


region_option = click.option(
    "--region",
    metavar="REGION",
    help="Only this region's root (layout: region-roots): it calls no other region, so it runs "
    "while another region is dark.",
)
links_option = click.option(
    "--links",
    is_flag=True,
    help="Only the links/ root (layout: region-roots), which joins the regions.",
)


def one_root_at_most(region: str | None, links: bool) -> None:
    if region and links:
        raise click.UsageError("--region and --links each name one root: give one of them")
