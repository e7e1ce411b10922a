"""Where an environment's YAML contradicts the reference stack it would take over: each a line
naming the file, the key and what differs, for what cannot change in place (a CIDR, a name, a
key schema, a database's name or user). What payinfra changes in place (tags, encryption,
instance class, Multi-AZ) is no contradiction: it is the point of the move. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from payinfra.adoption.stack import REGION_CODES, SOURCE_REGION, TARGET_REGION, ReferenceStack
from payinfra.config import Environment

# payinfra's API stage (templates/modules/compute/api.tf): the URL has no stage path.
PAYINFRA_STAGE = "$default"


@dataclass(frozen=True)
class Contradiction:
    """The YAML key that differs, and how."""

    key: str
    problem: str


def contradictions(env: Environment, stack: ReferenceStack) -> list[Contradiction]:
    found = list(_regions(env, stack))
    if found:  # the rest compares region by region: meaningless over other regions
        return found
    return [
        *_network(env, stack),
        *_workload(env),
        *_database(env, stack),
        *_table(env, stack),
        *_names(env, stack),
    ]


def _regions(env: Environment, stack: ReferenceStack) -> Iterator[Contradiction]:
    if env.aws.account_id and env.aws.account_id != stack.account_id:
        yield Contradiction(
            "aws.account_id",
            f"{env.aws.account_id}, but the state's resources are in account {stack.account_id}",
        )
    wanted = {SOURCE_REGION: "source", TARGET_REGION: "target"}
    given = {region.name: region.role for region in env.regions}
    if given != wanted:
        yield Contradiction(
            "regions",
            f"{_roles(given)}, but the reference stack runs in {_roles(wanted)}",
        )


def _roles(roles: Mapping[str, str]) -> str:
    return ", ".join(f"{name} ({role})" for name, role in sorted(roles.items()))


def _network(env: Environment, stack: ReferenceStack) -> Iterator[Contradiction]:
    for code, name in REGION_CODES.items():
        region, key = env.region(name), f"regions[{name}]"
        vpc = stack[f"aws_vpc.vpc-{name}"].get("cidr_block")
        if str(region.cidr) != vpc:
            yield Contradiction(f"{key}.cidr", f"{region.cidr}, but its VPC is {vpc}")
        for tier in ("public", "private"):
            subnets = {
                zone: stack[f"aws_subnet.subnet-{code}-{tier}-1{zone[-1]}"].get("cidr_block")
                for zone in (f"{name}a", f"{name}b")
            }
            ours = {
                zone: str(cidr) for zone, cidr in zip(region.azs, region.subnets(tier), strict=True)
            }
            if ours != subnets:
                yield Contradiction(
                    f"{key}.{tier}_subnets", f"{_zones(ours)}, but the VPC has {_zones(subnets)}"
                )
        if env.nat_mode(region) != "single":
            yield Contradiction(
                f"{key}.nat_mode", f"{env.nat_mode(region)}, but the VPC has one NAT gateway"
            )


def _zones(subnets: dict[str, str]) -> str:
    return ", ".join(f"{zone} {cidr}" for zone, cidr in sorted(subnets.items()))


def _workload(env: Environment) -> Iterator[Contradiction]:
    if env.home.name != TARGET_REGION:
        yield Contradiction(
            "home_region", f"{env.home.name}, but the table lives in {TARGET_REGION}"
        )
    if dict(env.roles) != {TARGET_REGION: "primary"}:
        yield Contradiction(
            "workload",
            f"{_roles(dict(env.roles))}, but the reference's workload runs in {TARGET_REGION} "
            "alone (move regions after the adoption, not during it)",
        )


def _database(env: Environment, stack: ReferenceStack) -> Iterator[Contradiction]:
    database = stack["aws_db_instance.rds-postgresql"]
    for key, ours, theirs in (
        ("database.name", env.database.name, database.get("db_name")),
        ("database.master_username", env.database.master_username, database.get("username")),
    ):
        if ours != theirs:
            yield Contradiction(
                key, f"{ours}, but the database's is {theirs} (it cannot change in place)"
            )
    version = str(database.get("engine_version"))
    if env.database.engine_version not in (version, version.split(".")[0]):
        yield Contradiction(
            "database.engine_version",
            f"{env.database.engine_version}, but the database runs {version}: adopt it at its "
            "version, upgrade after",
        )


def _table(env: Environment, stack: ReferenceStack) -> Iterator[Contradiction]:
    theirs = stack["aws_dynamodb_table.dynamodb-transactions"].get("range_key") or None
    if env.adopted.table_sort_key != theirs:
        yield Contradiction(
            "adopted.table_sort_key",
            f"{env.adopted.table_sort_key or 'unset'}, but the table's key is transactionId + "
            f"{theirs} (a table's key schema never changes in place)",
        )


def _names(env: Environment, stack: ReferenceStack) -> Iterator[Contradiction]:
    """The names AWS cannot change in place, the YAML's (or payinfra's own) against what runs."""
    database = env.database_identifier(env.primary.name)
    pairs = [
        ("adopted.table", env.table_name, "aws_dynamodb_table.dynamodb-transactions", "name"),
        ("adopted.database", database, "aws_db_instance.rds-postgresql", "identifier"),
        (
            "adopted.database_subnet_group",
            env.adopted.database_subnet_group or database,
            "aws_db_subnet_group.db-subnet-group",
            "name",
        ),
        (
            "adopted.function",
            env.function_name(env.primary.name),
            "aws_lambda_function.lambda-payment-processor",
            "function_name",
        ),
        (
            "adopted.api_stage",
            env.adopted.api_stage or PAYINFRA_STAGE,
            "aws_apigatewayv2_stage.api-stage",
            "name",
        ),
    ]
    pairs += [
        (
            f"adopted.data_buckets.{name}",
            env.data_bucket(name, stack.account_id),
            f"aws_s3_bucket.s3-bucket-{code}",
            "bucket",
        )
        for code, name in REGION_CODES.items()
    ]
    for key, ours, address, attribute in pairs:
        theirs = stack[address].get(attribute)
        if ours != theirs:
            yield Contradiction(key, f"{ours}, but the running one is {theirs}")
