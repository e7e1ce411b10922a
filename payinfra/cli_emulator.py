"""`payinfra emulator start|stop|status`: the local AWS emulator's commands."""

from __future__ import annotations

import click

from payinfra import emulator


@click.group(name="emulator")
def emulator_group() -> None:
    """Run a local AWS emulator (moto server) for environments with an `emulator` endpoint."""


@emulator_group.command("start")
@click.option("--port", type=click.IntRange(1024, 65535), default=5000, show_default=True)
def emulator_start(port: int) -> None:
    """Start moto server on 127.0.0.1:PORT and wait until it answers."""
    state = emulator.start(port)
    click.echo(f"emulator running at {state.endpoint} (pid {state.pid})")


@emulator_group.command("stop")
def emulator_stop() -> None:
    """Stop the emulator started by `payinfra emulator start`."""
    click.echo("emulator stopped" if emulator.stop() else "no emulator was running")


@emulator_group.command("status")
def emulator_status() -> None:
    """Say whether the emulator runs and answers; exit 1 when it does not."""
    state = emulator.status()
    if not state.running:
        click.echo("emulator not running")
        raise SystemExit(1)
    click.echo(
        f"emulator at {state.endpoint} (pid {state.pid}): "
        f"{'healthy' if state.healthy else 'not answering'}"
    )
    raise SystemExit(0 if state.healthy else 1)
