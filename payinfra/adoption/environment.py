"""`environments/<env>.yaml` written from a reference stack's state: what cannot change in
place pinned (regions and subnets, the database's name, user and version, every name AWS
cannot change, the table's sort key), what payinfra may change in place carried over as it runs
(instance class, Multi-AZ, storage, memory, concurrency). Pure: a ReferenceStack in, text out.

The one thing the state cannot say is the currency of the reference's payments (it stored
none): the YAML leaves `lambda.default_currency` for the team to set, and validation says so.
"""

from __future__ import annotations

from typing import Any

import yaml

from payinfra.adoption.stack import REGION_CODES, SOURCE_REGION, TARGET_REGION, ReferenceStack


def environment_yaml(stack: ReferenceStack, name: str) -> str:
    header = (
        f"# Written by `payinfra adopt {name}` from {stack.source}: the reference stack as it\n"
        f"# runs (suffix {stack.suffix}, account {stack.account_id}). What cannot change in "
        "place is pinned\n# here (docs/adoption.md). Set lambda.default_currency to the "
        "currency of the reference's\n# payments (it stored none), review the rest, then run "
        f"`payinfra adopt {name}` again.\n"
    )
    return header + yaml.safe_dump(_settings(stack), sort_keys=False, width=100)


def _settings(stack: ReferenceStack) -> dict[str, Any]:
    database = stack["aws_db_instance.rds-postgresql"]
    function = stack["aws_lambda_function.lambda-payment-processor"]
    return {
        "aws": {"account_id": stack.account_id},
        "home_region": TARGET_REGION,
        "workload": {TARGET_REGION: "primary"},
        "regions": [_region(stack, code, region) for code, region in REGION_CODES.items()],
        "network": {"nat_mode": "single"},
        "database": {
            "name": database.get("db_name"),
            "master_username": database.get("username"),
            "engine_version": str(database.get("engine_version")),
            "instance_class": database.get("instance_class"),
            "multi_az": bool(database.get("multi_az")),
            "allocated_storage_gb": database.get("allocated_storage"),
            "backup_retention_days": database.get("backup_retention_period"),
        },
        "lambda": {
            "memory_mb": function.get("memory_size"),
            "reserved_concurrency": function.get("reserved_concurrent_executions"),
        },
        "adopted": {
            "table": stack["aws_dynamodb_table.dynamodb-transactions"].get("name"),
            "table_sort_key": stack["aws_dynamodb_table.dynamodb-transactions"].get("range_key"),
            "database": database.get("identifier"),
            "database_subnet_group": stack["aws_db_subnet_group.db-subnet-group"].get("name"),
            "function": function.get("function_name"),
            "api_stage": stack["aws_apigatewayv2_stage.api-stage"].get("name"),
            "data_buckets": {
                region: stack[f"aws_s3_bucket.s3-bucket-{code}"].get("bucket")
                for code, region in REGION_CODES.items()
            },
        },
    }


def _region(stack: ReferenceStack, code: str, region: str) -> dict[str, Any]:
    zones = [f"{region}a", f"{region}b"]
    return {
        "name": region,
        "role": "source" if region == SOURCE_REGION else "target",
        "cidr": stack[f"aws_vpc.vpc-{region}"].get("cidr_block"),
        "azs": zones,
        **{
            f"{tier}_subnets": [
                stack[f"aws_subnet.subnet-{code}-{tier}-1{zone[-1]}"].get("cidr_block")
                for zone in zones
            ]
            for tier in ("public", "private")
        },
    }
