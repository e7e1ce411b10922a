"""Which payinfra address takes over each resource of the reference stack, and why the others
stay in the old state. Pure: a ReferenceStack in, rows out, in the state's order of regions.

A row with a `target` is imported in place (Terraform `import` block, id from the old state);
a row without one is left to the old state: payinfra builds its own replacement beside it (a
name that cannot change in place, a role payinfra scopes tighter) and moves its dependants to
that replacement with ordinary in-place updates; the old one goes when the old state is
destroyed after `payinfra adopt --release-old-state`. Nothing that holds data is ever left.
"""

from __future__ import annotations

from dataclasses import dataclass

from payinfra.adoption.stack import REGION_CODES, SOURCE_REGION, TARGET_REGION, ReferenceStack
from payinfra.errors import AdoptionRefused

# The inline default route of each reference route table becomes one aws_route of payinfra's.
DEFAULT_ROUTE = "0.0.0.0/0"
# payinfra's route for the reference's `POST /payment` (templates/modules/compute/main.tf).
REFERENCE_ROUTE_KEY = "create-payment-reference"


@dataclass(frozen=True)
class Row:
    reference: str
    target: str | None = None
    import_id: str | None = None
    reason: str = ""

    @property
    def imported(self) -> bool:
        return self.target is not None

    @property
    def resource(self) -> bool:
        """A resource of the old state (not a route the reference keeps inline in a table)."""
        return " " not in self.reference


def _module(kind: str, region: str) -> str:
    return f"module.{kind}_{region.replace('-', '_')}"


def mapping(stack: ReferenceStack) -> list[Row]:
    """Every resource of the stack, once, plus the routes payinfra manages as resources of
    their own (the reference keeps them inline in its route tables). A stack without one of
    the resources payinfra imports is not the reference's (AdoptionRefused)."""
    try:
        return _rows(stack)
    except KeyError as missing:
        raise AdoptionRefused(
            f"{stack.source}: not the reference stack's state: it holds no {missing.args[0]}"
        ) from None


def _rows(stack: ReferenceStack) -> list[Row]:
    rows: list[Row] = []
    for code, region in REGION_CODES.items():
        rows += _network(stack, code, region)
    rows += _peering(stack)
    rows += _data(stack)
    rows += _database(stack)
    rows += _compute(stack)
    rows += _left_alone(stack)
    covered = {row.reference for row in rows}
    rows += [
        Row(address, reason="not a resource payinfra knows how to take over")
        for address in stack.resources
        if address not in covered
    ]
    return rows


def _imported(stack: ReferenceStack, reference: str, target: str, import_id: str = "") -> Row:
    return Row(reference, target, import_id or stack[reference].id)


def _network(stack: ReferenceStack, code: str, region: str) -> list[Row]:
    network = _module("network", region)
    zone_a = f"{region}a"
    rows = [
        _imported(stack, f"aws_vpc.vpc-{region}", f"{network}.aws_vpc.this"),
        _imported(
            stack, f"aws_internet_gateway.igw-{region}", f"{network}.aws_internet_gateway.this"
        ),
        _imported(stack, f"aws_eip.eip-{code}-nat", f'{network}.aws_eip.nat["{zone_a}"]'),
        _imported(
            stack, f"aws_nat_gateway.nat-{region}", f'{network}.aws_nat_gateway.this["{zone_a}"]'
        ),
    ]
    tables = {"public": f"{network}.aws_route_table.public"}
    tables["private"] = f'{network}.aws_route_table.private["{zone_a}"]'
    routes = {"public": f"{network}.aws_route.public_internet"}
    routes["private"] = f'{network}.aws_route.private_nat["{zone_a}"]'
    for tier in ("public", "private"):
        table = stack[f"aws_route_table.rt-{code}-{tier}"]
        rows.append(_imported(stack, table.address, tables[tier]))
        rows.append(
            Row(
                f"{table.address} (route {DEFAULT_ROUTE})",
                routes[tier],
                f"{table.id}_{DEFAULT_ROUTE}",
            )
        )
        for zone in ("a", "b"):
            subnet = stack[f"aws_subnet.subnet-{code}-{tier}-1{zone}"]
            key = f'["{region}{zone}"]'
            rows.append(_imported(stack, subnet.address, f"{network}.aws_subnet.{tier}{key}"))
            association = f"aws_route_table_association.rta-{code}-{tier}-1{zone}"
            rows.append(
                _imported(
                    stack,
                    association,
                    f"{network}.aws_route_table_association.{tier}{key}",
                    f"{subnet.id}/{table.id}",
                )
            )
    rows.append(
        Row(
            f"aws_route_table.rt-{code}-private-with-peering",
            reason="no subnet uses it; payinfra routes the peering in the private route tables",
        )
    )
    return rows


def _peering(stack: ReferenceStack) -> list[Row]:
    peering = _module("peering", TARGET_REGION)
    return [
        _imported(
            stack,
            "aws_vpc_peering_connection.vpc-peering-us-eu",
            f"{peering}.aws_vpc_peering_connection.this",
        ),
        _imported(
            stack,
            "aws_vpc_peering_connection_accepter.vpc-peering-accepter",
            f"{peering}.aws_vpc_peering_connection_accepter.this",
        ),
    ]


def _data(stack: ReferenceStack) -> list[Row]:
    rows = []
    for code, region in REGION_CODES.items():
        data = _module("data", region)
        rows += [
            _imported(stack, f"aws_s3_bucket.s3-bucket-{code}", f"{data}.aws_s3_bucket.this"),
            _imported(
                stack,
                f"aws_s3_bucket_versioning.s3-versioning-{code}",
                f"{data}.aws_s3_bucket_versioning.this",
            ),
            _imported(
                stack,
                f"aws_s3_bucket_server_side_encryption_configuration.s3-encryption-{code}",
                f"{data}.aws_s3_bucket_server_side_encryption_configuration.this",
            ),
        ]
    rows.append(
        _imported(
            stack,
            "aws_s3_bucket_replication_configuration.s3-replication",
            f"{_module('bucket_replication', SOURCE_REGION)}"
            ".aws_s3_bucket_replication_configuration.this",
        )
    )
    rows.append(
        _imported(
            stack,
            "aws_dynamodb_table.dynamodb-transactions",
            f"{_module('data', TARGET_REGION)}.aws_dynamodb_table.transactions[0]",
        )
    )
    return rows


def _database(stack: ReferenceStack) -> list[Row]:
    database = _module("database", TARGET_REGION)
    return [
        _imported(
            stack,
            "aws_db_instance.rds-postgresql",
            f"{database}.aws_db_instance.this",
            str(stack["aws_db_instance.rds-postgresql"].get("identifier")),
        ),
        # The key that encrypts the database's storage: changing it would replace the instance.
        _imported(stack, "aws_kms_key.kms-rds", f"{database}.module.key.aws_kms_key.this"),
        _imported(
            stack, "aws_db_subnet_group.db-subnet-group", f"{database}.aws_db_subnet_group.this"
        ),
    ]


def _compute(stack: ReferenceStack) -> list[Row]:
    compute = _module("compute", TARGET_REGION)
    api_id = stack["aws_apigatewayv2_api.api-gateway"].id
    return [
        _imported(
            stack,
            "aws_lambda_function.lambda-payment-processor",
            f"{compute}.aws_lambda_function.this",
        ),
        _imported(
            stack,
            "aws_cloudwatch_log_group.lambda-log-group",
            f"{compute}.aws_cloudwatch_log_group.function",
        ),
        _imported(
            stack, "aws_apigatewayv2_api.api-gateway", f"{compute}.aws_apigatewayv2_api.this"
        ),
        _imported(
            stack,
            "aws_apigatewayv2_stage.api-stage",
            f"{compute}.aws_apigatewayv2_stage.this",
            f"{api_id}/{stack['aws_apigatewayv2_stage.api-stage'].id}",
        ),
        _imported(
            stack,
            "aws_apigatewayv2_integration.api-integration",
            f"{compute}.aws_apigatewayv2_integration.function",
            f"{api_id}/{stack['aws_apigatewayv2_integration.api-integration'].id}",
        ),
        _imported(
            stack,
            "aws_apigatewayv2_route.api-route",
            f'{compute}.aws_apigatewayv2_route.this["{REFERENCE_ROUTE_KEY}"]',
            f"{api_id}/{stack['aws_apigatewayv2_route.api-route'].id}",
        ),
    ]


# Left to the old state, each with what payinfra does instead.
LEFT = {
    "aws_security_group.sg-lambda": (
        "a security group's name cannot change in place; the function moves to payinfra's "
        "group (HTTPS to the VPC's endpoints, PostgreSQL to the database) in place"
    ),
    "aws_security_group.sg-rds": (
        "a security group's name cannot change in place; the database moves to payinfra's "
        "group (PostgreSQL from the processor only) in place"
    ),
    "aws_iam_role.lambda-role": "payinfra's processor role is per region and least-privilege",
    "aws_iam_role_policy.lambda-custom-policy": "payinfra's processor role has its own policy",
    "aws_iam_role_policy_attachment.lambda-vpc-execution": "payinfra's role carries its own",
    "aws_iam_role.s3-replication-role": "payinfra's replication role is scoped to its buckets",
    "aws_iam_role_policy.s3-replication-policy": "payinfra's replication role has its own policy",
    "aws_kms_alias.kms-alias-rds": "an alias's name cannot change; payinfra names the same key",
    "aws_lambda_permission.lambda-permission": "payinfra grants the API invoke per route",
    "aws_cloudwatch_log_group.api-log-group": (
        "payinfra writes the API's access logs to its own group; this one keeps its old logs "
        "until the old state is destroyed"
    ),
    "aws_cloudwatch_dashboard.cloudwatch-dashboard": "payinfra builds its own dashboard",
    "aws_cloudwatch_metric_alarm.lambda-error-alarm": "payinfra's alarms cover the function",
    "aws_cloudwatch_metric_alarm.rds-cpu-alarm": "payinfra's alarms cover the database",
}


def _left_alone(stack: ReferenceStack) -> list[Row]:
    return [Row(address, reason=reason) for address, reason in LEFT.items() if address in stack]
