"""What a team moving off the reference CDKTF stack relies on: its outputs by their names, its
route, its PostgreSQL major, its name suffixes."""

from __future__ import annotations

import pytest

from payinfra.config import load_environment
from payinfra.render import render_environment
from tests.conftest import ENVIRONMENTS, REAL_ENVS
from tests.hclparse import labelled, parse

REFERENCE_OUTPUTS = {
    "vpc_us_id": "${module.network_us_east_1.vpc_id}",
    "vpc_eu_id": "${module.network_eu_west_1.vpc_id}",
    "rds_endpoint": "${module.database_eu_west_1.db_endpoint}",
    "dynamodb_table": "${module.data_eu_west_1.table_name}",
    "lambda_function_arn": "${module.compute_eu_west_1.function_arn}",
    "api_gateway_endpoint": "${module.compute_eu_west_1.api_endpoint}",
    "s3_bucket_us": "${module.data_us_east_1.bucket_name}",
    "s3_bucket_eu": "${module.data_eu_west_1.bucket_name}",
}


@pytest.mark.parametrize("env", REAL_ENVS)
def test_the_reference_outputs_are_there_by_name_and_meaning(parsed, env):
    outputs = labelled(parsed[env]["outputs.tf"], "output")
    for name, value in REFERENCE_OUTPUTS.items():
        assert outputs[name]["value"] == value, name
        assert "reference stack" in outputs[name]["description"]


def test_region_paired_outputs_only_when_unambiguous(env_dir):
    regions = env_dir.defaults()["regions"] + [
        {"name": "us-west-2", "role": "target", "cidr": "10.2.0.0/16",
         "azs": ["us-west-2a", "us-west-2b"]},
    ]  # fmt: skip
    env_dir.write("dev", {"regions": regions})
    files = render_environment(load_environment(env_dir.path, "dev"))
    outputs = labelled(parse(str(files["outputs.tf"])), "output")
    assert "vpc_us_id" not in outputs and "s3_bucket_us" not in outputs
    assert "vpc_eu_id" not in outputs, "the pair is kept or dropped together"
    assert "dynamodb_table" in outputs and "api_gateway_endpoint" in outputs


def test_the_reference_route_is_authorized_like_every_route(parsed):
    main = parsed["dev"]["modules/compute/main.tf"]
    routes = next(block for block in main["locals"] if "routes" in block)["routes"]
    assert routes["create-payment-reference"] == {
        "route_key": "POST /payment",
        "arn_path": "POST/payment",
    }
    api = parsed["dev"]["modules/compute/api.tf"]
    route = next(
        b["aws_apigatewayv2_route"]["this"]
        for b in api["resource"]
        if "aws_apigatewayv2_route" in b
    )
    assert route["for_each"] == "${local.routes}"
    assert route["authorization_type"] != "NONE"


def test_default_currency_and_major_upgrades_reach_the_resources(env_dir):
    env_dir.write(
        "dev",
        {
            "lambda": {"default_currency": "USD"},
            "database": {
                "engine_version": "14",
                "allow_major_version_upgrade": True,
                "apply_immediately": True,
                "maintenance_window": "sun:03:00-sun:04:00",
            },
        },
    )
    files = render_environment(load_environment(env_dir.path, "dev"))
    calls = labelled(parse(str(files["main.tf"])), "module")
    assert calls["compute_eu_west_1"]["environment_variables"]["DEFAULT_CURRENCY"] == "USD"
    database = calls["database_eu_west_1"]
    assert database["allow_major_version_upgrade"] is True
    assert database["apply_immediately"] is True
    assert database["maintenance_window"] == "sun:03:00-sun:04:00"
    assert "backup_window" not in database  # RDS keeps the one it chose
    assert (database["engine_version"], database["parameter_group_family"]) == ("14", "postgres14")
    rds = parse(str(files["modules/database/main.tf"]))
    instance = next(b["aws_db_instance"]["this"] for b in rds["resource"] if "aws_db_instance" in b)
    assert instance["allow_major_version_upgrade"] == "${var.allow_major_version_upgrade}"
    assert instance["apply_immediately"] == "${var.apply_immediately}"
    assert instance["maintenance_window"] == "${var.maintenance_window}"


def test_without_a_default_currency_none_is_passed(parsed):
    calls = labelled(parsed["dev"]["main.tf"], "module")
    assert "DEFAULT_CURRENCY" not in calls["compute_eu_west_1"]["environment_variables"]


def test_shipped_environments_render_from_these_defaults():
    for env in REAL_ENVS:
        assert load_environment(ENVIRONMENTS, env).database.allow_major_version_upgrade is False
