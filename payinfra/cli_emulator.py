"""`payinfra emulator start|stop|status|dark|light|regions`: the local AWS emulator's commands."""

from __future__ import annotations

import json

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


@emulator_group.command("dark")
@click.argument("region")
def emulator_dark(region: str) -> None:
    """Take REGION dark: every request signed for it answers 503, as in an outage.

    Global services signed in us-east-1 (IAM, STS, Route 53's API) go dark with us-east-1.
    """
    state = emulator.set_dark(region, True)
    click.echo(f"{region} is dark (dark now: {', '.join(state.dark)})")


@emulator_group.command("light")
@click.argument("region")
def emulator_light(region: str) -> None:
    """Bring REGION back from `payinfra emulator dark`."""
    state = emulator.set_dark(region, False)
    click.echo(f"{region} answers again (dark now: {', '.join(state.dark) or 'none'})")


@emulator_group.command("lag")
@click.argument("seconds", type=click.FloatRange(0, 999))
def emulator_lag(seconds: float) -> None:
    """Set the table replication lag: how long a write to a table takes to reach the table of
    the same name in the other regions (0.5 s when the emulator starts). Held while a region is
    dark, as global tables hold it."""
    emulator.set_replication_lag(seconds)
    click.echo(f"table replication lag: {seconds:g} s")


@emulator_group.command("regions")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--reset", is_flag=True, help="Zero the call counts after reporting them.")
def emulator_regions(as_json: bool, reset: bool) -> None:
    """Report the dark regions and the requests each region received (dark ones included), so
    a drill can prove it made no call to a region it was meant to do without."""
    state = emulator.regions(reset_calls=reset)
    if as_json:
        click.echo(json.dumps({"dark": state.dark, "calls": state.calls}))
        return
    click.echo(f"dark: {', '.join(state.dark) or 'none'}")
    for region, count in state.calls.items():
        click.echo(f"  {region}: {count} call(s)")
