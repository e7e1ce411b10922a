"""`payinfra status ENV`: what AWS reports about each region of the workload, read-only, so an
operator can tell when the next step of a region move is safe (docs/region-moves.md). Nothing
here changes anything; every call is a Describe/Get/List."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from payinfra import accounts
from payinfra.config import Environment
from payinfra.fencing import current_writer, table_of

# How far back CloudWatch metrics are read for the latest datapoint.
METRIC_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Line:
    region: str
    what: str
    state: str
    # Deployed and YAML disagree where they must not (a writer the YAML does not name).
    attention: bool = False


def workload_status(env: Environment, target: accounts.Target, account: str) -> list[Line]:
    """One line per fact: each region's role, writer setting, table copy, database and the
    primary's bucket replication backlog, and where DNS points. `account` is the account the
    credentials were proven to act in."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = accounts.clients(target)

    def ask(region: str, what: str, question: Any) -> Line:
        try:
            answer = question()
            return answer if isinstance(answer, Line) else Line(region, what, answer)
        except ClientError as error:
            return Line(region, what, f"unknown ({error.response['Error'].get('Code', error)})")
        except BotoCoreError as error:
            return Line(region, what, f"unknown ({error})")

    home, primary = env.home.name, env.primary.name
    serving = {region.name for region in env.serving}

    lines = []
    for region, role in env.roles.items():
        lines.append(Line(region, "role", role))
        if region in serving:
            lines.append(
                ask(
                    region,
                    "processor",
                    lambda r=region: _writer(client("lambda", r), env, r),
                )
            )
        lines.append(ask(region, "table", lambda r=region: _table(client("dynamodb", r), r, env)))
        if region in serving:
            lines.append(
                ask(
                    region,
                    "writer record",
                    lambda r=region: _writer_record(client("dynamodb", r), r, env),
                )
            )
        lines.append(
            ask(
                region,
                "database",
                lambda r=region: _database(client("rds", r), client("cloudwatch", r), env, r),
            )
        )
    for other in env.replica_regions:
        lines.append(
            ask(
                other.name,
                f"bucket copy from {primary}",
                lambda o=other.name: _backlog(client("cloudwatch", primary), env, o, account),
            )
        )
    if env.api.domain and env.api.hosted_zone_id:
        lines.append(
            ask("global", f"DNS {env.api.domain}", lambda: _dns(client("route53", home), env))
        )
    return lines


def _writer(client: Any, env: Environment, region: str) -> Line:
    primary = env.primary.name
    function = client.get_function_configuration(FunctionName=env.function_name(region))
    writer = function.get("Environment", {}).get("Variables", {}).get("WRITER_REGION")
    return _naming_the_primary(
        Line(region, "processor", f"deployed, writer region {writer}"),
        writer,
        primary,
        "an apply is pending, or the function was changed outside payinfra",
    )


def _writer_record(dynamodb: Any, region: str, env: Environment) -> Line:
    """Which region this region's table copy says takes new payments (docs/failover.md)."""
    primary = env.primary.name
    writer = current_writer(dynamodb, table_of(env))
    if writer is None:
        return Line(region, "writer record", "none (the processors' WRITER_REGION decides)")
    shown = f"{writer.region}" + (f", epoch {writer.epoch} (a failover)" if writer.epoch else "")
    return _naming_the_primary(
        Line(region, "writer record", shown),
        writer.region,
        primary,
        "after a failover, update the YAML: docs/failover.md; before one, an apply is pending",
    )


def _naming_the_primary(line: Line, writer: str | None, primary: str, why: str) -> Line:
    """`line` as it is when `writer` is the YAML's primary, else asking for attention."""
    if writer == primary:
        return line
    state = f"{line.state}, but the YAML's primary is {primary} ({why})"
    return Line(line.region, line.what, state, attention=True)


def _table(dynamodb: Any, region: str, env: Environment) -> str:
    """The table copy as its own region describes it: a region's report needs no other region
    (with the home region dark, each replica still reports itself)."""
    from botocore.exceptions import ClientError

    try:
        table = dynamodb.describe_table(TableName=env.table_name)["Table"]
    except ClientError as error:
        if (
            region == env.home.name
            or error.response["Error"].get("Code") != "ResourceNotFoundException"
        ):
            raise
        return "no replica yet"
    return f"{'home table' if region == env.home.name else 'replica'} {table['TableStatus']}"


def _database(rds: Any, cloudwatch: Any, env: Environment, region: str) -> str:
    identifier = env.database_identifier(region)
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    source = instance.get("ReadReplicaSourceDBInstanceIdentifier")
    if not source:
        return f"standalone, {instance['DBInstanceStatus']}"
    lag = latest(cloudwatch, "AWS/RDS", "ReplicaLag", {"DBInstanceIdentifier": identifier})
    shown = "no datapoint yet" if lag is None else f"{lag:.0f} s"
    return f"read replica of {source}, {instance['DBInstanceStatus']}, lag {shown}"


def _backlog(cloudwatch: Any, env: Environment, region: str, account: str) -> str:
    dimensions = {
        "SourceBucket": env.data_bucket(env.primary.name, account),
        "DestinationBucket": env.data_bucket(region, account),
        "RuleId": f"to-{region}",
    }
    pending = latest(cloudwatch, "AWS/S3", "OperationsPendingReplication", dimensions)
    return "no datapoint yet" if pending is None else f"{pending:.0f} operations pending"


def latest(cloudwatch: Any, namespace: str, metric: str, dimensions: dict) -> float | None:
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - METRIC_WINDOW,
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    latest = max(points, key=lambda point: point["Timestamp"], default=None)
    return None if latest is None else float(latest["Maximum"])


def _dns(route53: Any, env: Environment) -> str:
    name = f"{env.api.domain}."
    records = route53.list_resource_record_sets(
        HostedZoneId=env.api.hosted_zone_id, StartRecordName=name, StartRecordType="A"
    )["ResourceRecordSets"]
    routed = []
    for record in records:
        if record["Name"] != name or record["Type"] != "A":
            continue
        routing = record.get("Failover") or f"weight {record.get('Weight')}"
        health = ""
        if record.get("HealthCheckId"):
            checks = route53.get_health_check_status(HealthCheckId=record["HealthCheckId"])
            statuses = {
                o["StatusReport"]["Status"].split(":")[0] for o in checks["HealthCheckObservations"]
            }
            health = f" ({', '.join(sorted(statuses)) or 'no observations'})"
        routed.append(f"{record.get('SetIdentifier')}: {routing}{health}")
    return "; ".join(routed) or "no records"
