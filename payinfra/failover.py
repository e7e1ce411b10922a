"""`payinfra failover ENV --to REGION`: make a standby the writer while the primary's region is
dark. Every call goes to REGION (boto3, no terraform, no state): an outage of the primary's
region cannot stop it.

What it does, in order: report what may be lost (the data loss window), move the writer record
to REGION in REGION's copy of the table (every processor reads it before taking a new payment,
and global-table replication carries it to the old primary when that comes back, which then
refuses new payments), and promote REGION's database replica. DNS needs no call: Route 53 sends
clients to the regions whose /health answers (docs/failover.md).
"""

from __future__ import annotations

from typing import Any

from payinfra import status
from payinfra.config import Environment
from payinfra.errors import FailoverRefused
from payinfra.fencing import claim_writer, current_writer, table_of


def refuse_unless_standby(env: Environment, to: str, source: str) -> None:
    """Only a standby can take over: it holds replicas of the primary's data."""
    role = env.roles.get(to)
    if role is None:
        raise FailoverRefused(
            f"{to} is not in {env.name}'s workload ({source}: workload names "
            f"{', '.join(sorted(env.roles))}); nothing was changed"
        )
    if role != "standby":
        raise FailoverRefused(
            f"{to} is {env.name}'s {role} ({source}: workload), not a standby; a failover makes "
            "a standby the writer. Nothing was changed"
        )


def loss_window(env: Environment, client: Any, to: str) -> list[str]:
    """What the old primary may have accepted that `to` does not hold, as far as `to` can tell."""
    identifier = env.database_identifier(to)
    lag = status.latest(
        client("cloudwatch", to), "AWS/RDS", "ReplicaLag", {"DBInstanceIdentifier": identifier}
    )
    window = status.METRIC_WINDOW.seconds // 60
    shown = f"{lag:.0f} s" if lag is not None else f"no datapoint in the last {window} minutes"
    return [
        f"database: replica lag last seen {shown} (what {env.primary.name} committed in that "
        "time before it went dark is not in the replica)",
        f"table: global-table replication is asynchronous (usually under a second); payments "
        f"{env.primary.name} took in its last moments reach {to} only if they were replicated "
        f"(their latency is published in {env.primary.name}, which does not answer)",
    ]


def fail_over(env: Environment, client: Any, to: str) -> list[str]:
    """Move the writer to `to`, then promote its database; one line per thing done."""
    table = table_of(env)
    dynamodb = client("dynamodb", to)
    seen = current_writer(dynamodb, table)
    claimed = claim_writer(dynamodb, table, to, seen)
    before = f"{seen.region}, epoch {seen.epoch}" if seen else "none: the processors' setting"
    return [
        f"writer: {to}, epoch {claimed.epoch} (was {before}); {to} takes new payments now",
        _promote(client("rds", to), env, to),
    ]


def _promote(rds: Any, env: Environment, region: str) -> str:
    identifier = env.database_identifier(region)
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    source = instance.get("ReadReplicaSourceDBInstanceIdentifier")
    if not source:
        return f"database: {identifier} is already standalone; nothing to promote"
    rds.promote_read_replica(
        DBInstanceIdentifier=identifier,
        BackupRetentionPeriod=env.database.backup_retention_days,
    )
    return (
        f"database: promotion of {identifier} started (it was a read replica of {source}); "
        "RDS makes it writable in minutes, `payinfra status` shows when"
    )
