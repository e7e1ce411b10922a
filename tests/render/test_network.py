"""The network facts of every rendered environment, read back from parsed HCL."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
import yaml

from payinfra.config import load_environment
from tests.conftest import ENVIRONMENTS, REAL_ENVS
from tests.hclparse import labelled, module_files, resources
from tests.stackfacts import key_of


def env_yaml(name: str) -> tuple[dict, dict]:
    defaults = yaml.safe_load((ENVIRONMENTS / "_defaults.yaml").read_text())
    overlay = yaml.safe_load((ENVIRONMENTS / f"{name}.yaml").read_text()) or {}
    return defaults, overlay


def expected_regions(name: str) -> list[dict]:
    defaults, overlay = env_yaml(name)
    return overlay.get("regions", defaults["regions"])


def expected_nat_mode(name: str) -> str:
    return load_environment(ENVIRONMENTS, name).network.nat_mode


def network_modules(parsed_env: dict) -> dict[str, dict]:
    return {
        name: body
        for name, body in labelled(parsed_env["main.tf"], "module").items()
        if name.startswith("network_")
    }


@pytest.mark.parametrize("env", REAL_ENVS)
def test_one_network_module_per_region_with_its_provider(parsed, env):
    modules = network_modules(parsed[env])
    regions = expected_regions(env)
    assert sorted(modules) == sorted(f"network_{r['name'].replace('-', '_')}" for r in regions)
    for region in regions:
        alias = region["name"].replace("-", "_")
        module = modules[f"network_{alias}"]
        assert module["source"] == "./modules/network"
        assert module["providers"] == {"aws": f"${{aws.{alias}}}"}
        assert module["cidr_block"] == region["cidr"]


@pytest.mark.parametrize("env", REAL_ENVS)
def test_public_and_private_subnet_in_every_az_inside_the_vpc(parsed, env):
    for region in expected_regions(env):
        module = network_modules(parsed[env])[f"network_{region['name'].replace('-', '_')}"]
        vpc = IPv4Network(region["cidr"])
        subnets = [
            IPv4Network(cidr)
            for kind in ("public_subnets", "private_subnets")
            for cidr in module[kind].values()
        ]
        assert sorted(module["public_subnets"]) == sorted(region["azs"])
        assert sorted(module["private_subnets"]) == sorted(region["azs"])
        assert all(subnet.subnet_of(vpc) for subnet in subnets)
        assert len(set(subnets)) == len(subnets)
        for index, a in enumerate(subnets):
            assert not any(a.overlaps(b) for b in subnets[index + 1 :])


@pytest.mark.parametrize("env", REAL_ENVS)
def test_nat_mode_follows_the_environment(parsed, env):
    for module in network_modules(parsed[env]).values():
        assert module["nat_mode"] == expected_nat_mode(env)


def test_prod_runs_a_nat_gateway_per_az_and_dev_a_single_one():
    assert expected_nat_mode("prod") == "per_az"
    assert expected_nat_mode("dev") == "single"


@pytest.mark.parametrize("env", REAL_ENVS)
def test_flow_log_retention_comes_from_yaml(parsed, env):
    days = load_environment(ENVIRONMENTS, env).network.flow_log_retention_days
    for module in network_modules(parsed[env]).values():
        assert module["flow_log_retention_days"] == days


def network_module_tree(parsed_env):
    return module_files(parsed_env, "network")


def test_vpc_has_dns_support_and_hostnames(parsed):
    vpc = resources(network_module_tree(parsed["dev"]), "aws_vpc")["this"]
    assert vpc["enable_dns_support"] is True
    assert vpc["enable_dns_hostnames"] is True


def test_subnets_iterate_over_the_per_az_maps(parsed):
    subnets = resources(network_module_tree(parsed["dev"]), "aws_subnet")
    assert subnets["public"]["for_each"] == "${var.public_subnets}"
    assert subnets["private"]["for_each"] == "${var.private_subnets}"
    # Private subnets never hand out public addresses.
    assert "map_public_ip_on_launch" not in subnets["private"]


def test_every_subnet_is_associated_with_a_route_table(parsed):
    tree = network_module_tree(parsed["dev"])
    associations = resources(tree, "aws_route_table_association")
    assert associations["public"]["for_each"] == "${aws_subnet.public}"
    assert associations["private"]["for_each"] == "${aws_subnet.private}"
    assert associations["private"]["route_table_id"].startswith("${aws_route_table.private[")


def test_private_default_route_goes_through_nat_and_public_through_igw(parsed):
    routes = resources(network_module_tree(parsed["dev"]), "aws_route")
    assert routes["private_nat"]["destination_cidr_block"] == "0.0.0.0/0"
    assert routes["private_nat"]["nat_gateway_id"] == "${aws_nat_gateway.this[each.key].id}"
    assert routes["public_internet"]["gateway_id"] == "${aws_internet_gateway.this.id}"


def test_flow_logs_go_to_an_encrypted_log_group_with_a_scoped_role(parsed):
    tree = network_module_tree(parsed["dev"])
    flow_log = resources(tree, "aws_flow_log")["this"]
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["log_destination"] == "${aws_cloudwatch_log_group.flow_log.arn}"
    group = resources(tree, "aws_cloudwatch_log_group")["flow_log"]
    assert group["retention_in_days"] == "${var.flow_log_retention_days}"
    assert group["kms_key_id"] == "${module.logs_key.key_arn}"
    key = key_of(parsed["dev"], "network", "logs_key")
    services = {statement["service"] for statement in key["service_statements"]}
    assert services == {"logs.${local.region}.amazonaws.com", "cloudwatch.amazonaws.com"}
    assert resources(module_files(parsed["dev"], "kms-key"), "aws_kms_key")["this"][
        "enable_key_rotation"
    ]


def test_flow_log_role_writes_only_its_own_log_group(parsed):
    tree = network_module_tree(parsed["dev"])
    documents = {
        name: body
        for document in tree.values()
        for block in document.get("data", [])
        for name, body in block.get("aws_iam_policy_document", {}).items()
    }
    (statement,) = documents["flow_log"]["statement"]
    assert statement["resources"] == ["${local.flow_log_arn}:*"]
    assert "*" not in statement["resources"]


def test_default_security_group_is_stripped_of_rules(parsed):
    group = resources(network_module_tree(parsed["dev"]), "aws_default_security_group")["this"]
    assert "ingress" not in group and "egress" not in group


@pytest.mark.parametrize("env", REAL_ENVS)
def test_common_tags_set_once_per_provider(parsed, env):
    providers = [
        body for block in parsed[env]["providers.tf"]["provider"] for body in block.values()
    ]
    assert len(providers) == len(expected_regions(env))
    for provider in providers:
        (default_tags,) = provider["default_tags"]
        assert default_tags["tags"] == {
            "Environment": env,
            "ManagedBy": "payinfra",
            "MigrationBatch": "batch-1",
            "Project": "payment",
            "Region": provider["region"],
        }


def test_every_network_resource_carries_a_name_tag_or_is_untaggable(parsed):
    untaggable = {
        "aws_route",
        "aws_route_table_association",
        "aws_kms_alias",
        "aws_iam_role_policy",
    }
    tree = network_module_tree(parsed["dev"])
    for document in tree.values():
        for block in document.get("resource", []):
            for resource_type, named in block.items():
                for name, body in named.items():
                    if resource_type not in untaggable:
                        assert "Name" in body.get("tags", {}), f"{resource_type}.{name}"


@pytest.mark.parametrize("env", REAL_ENVS)
def test_root_pins_terraform_and_the_aws_provider(parsed, env):
    (terraform,) = parsed[env]["versions.tf"]["terraform"]
    assert terraform["required_version"] == ">= 1.6"
    (providers,) = terraform["required_providers"]
    assert providers["aws"] == {"source": "hashicorp/aws", "version": "~> 5.100"}


@pytest.mark.parametrize("env", REAL_ENVS)
def test_local_backend_by_default(parsed, env):
    (terraform,) = parsed[env]["backend.tf"]["terraform"]
    assert terraform["backend"] == [{"local": {}}]
