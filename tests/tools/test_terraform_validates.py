"""The rendered roots are real Terraform: fmt-clean, valid with the real provider, and planable."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from payinfra.config import load_environment
from tests.conftest import ENVIRONMENTS, REAL_ENVS
from tests.toolchain import planned_resources, terraform, terraform_init

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def initialised(rendered_roots):
    for root in rendered_roots.values():
        terraform_init(root, backend=False)
    return rendered_roots


@pytest.mark.parametrize("env", REAL_ENVS)
def test_rendered_root_is_fmt_clean(rendered_roots, env):
    result = terraform(rendered_roots[env], "fmt", "-check", "-recursive", "-list=true")
    assert result.stdout == ""


@pytest.mark.parametrize("env", REAL_ENVS)
def test_rendered_root_validates_with_the_real_provider(initialised, env):
    result = terraform(initialised[env], "validate", "-no-color")
    assert "The configuration is valid" in result.stdout


def test_a_root_that_adopts_table_replicas_validates(tmp_path):
    """imports.tf of a state with replica blocks (tests/safety/test_replica_adoption.py)."""
    from payinfra.render import render_environment
    from payinfra.writer import write_tree

    prod = load_environment(ENVIRONMENTS, "prod")
    write_tree(render_environment(prod, [prod.replica_regions[0].name]), tmp_path / "prod")
    terraform_init(tmp_path / "prod", backend=False)
    result = terraform(tmp_path / "prod", "validate", "-no-color")
    assert "The configuration is valid" in result.stdout


@pytest.mark.parametrize("env", ["prod", "local"])
def test_every_root_of_the_region_roots_layout_is_fmt_clean_and_valid(tmp_path, env):
    """prod: a standby, table replicas and the API domain; local: the emulator's switches."""
    from payinfra.render import render_environment
    from payinfra.render.regions import root_folders
    from payinfra.writer import write_tree

    split = load_environment(ENVIRONMENTS, env).model_copy(update={"layout": "region-roots"})
    write_tree(render_environment(split), tmp_path / env)
    formatted = terraform(tmp_path / env, "fmt", "-check", "-recursive", "-list=true")
    assert formatted.stdout == ""
    for folder in root_folders(split):
        terraform_init(tmp_path / env / folder, backend=False)
        result = terraform(tmp_path / env / folder, "validate", "-no-color")
        assert "The configuration is valid" in result.stdout, folder


@pytest.fixture(scope="module")
def planned_changes(initialised, moto_server) -> dict[str, list[dict]]:
    """Each environment planned against the moto server: the managed resources' changes."""
    changes = {}
    for env, root in initialised.items():
        terraform_init(root, env=moto_server.aws_env())
        changes[env] = planned_resources(root, moto_server.aws_env())
        assert all(change["change"]["actions"] == ["create"] for change in changes[env])
    return changes


@pytest.fixture(scope="module")
def plans(planned_changes) -> dict[str, Counter]:
    """Counter of (module, resource type) per environment."""
    return {
        env: Counter((change["module_address"], change["type"]) for change in changes)
        for env, changes in planned_changes.items()
    }


def nat_gateways(environment, region) -> int:
    return len(region.azs) if environment.nat_mode(region) == "per_az" else 1


def expected_resources_per_module(environment) -> dict[str, int]:
    """How many resources each module call must plan, derived from the config alone."""
    source, primary, home = environment.source, environment.primary, environment.home
    serving, workload = environment.serving, environment.workload_regions
    expected = {}
    for region in environment.regions:
        # vpc, default sg, igw, public table + route, logs key + alias, flow log group, role,
        # role policy, flow log, DynamoDB and S3 gateway endpoints; per AZ two subnets and two
        # associations; per NAT an EIP, the gateway, a private table and its default route;
        # with interface endpoints their security group, its ingress rule and six endpoints.
        endpoints = 8 if environment.network.interface_endpoints else 0
        expected[f"module.network_{region.alias}"] = (
            13 + 4 * len(region.azs) + 4 * nat_gateways(environment, region) + endpoints
        )
        # s3 and dynamodb keys + aliases, bucket, EventBridge notifications, versioning,
        # encryption, public access block, ownership, policy, lifecycle, access logging; the
        # access-log bucket with the same seven settings; the table and its writer record in
        # the home region.
        expected[f"module.data_{region.alias}"] = 21 + (2 if region == home else 0)
        # Where the bucket replicates (the source's, the primary's): a role, its policy, the rules.
        if (region == source and environment.targets) or (
            region == primary and environment.replica_regions
        ):
            expected[f"module.bucket_replication_{region.alias}"] = 3
        if region in workload and region != home:
            expected[f"module.table_replica_{region.alias}"] = 1
    for region in workload:
        # key + alias, subnet group, security group, parameter group, two log groups,
        # monitoring role + attachment, the instance; ingress from the processor where one
        # runs, and from the source VPC into the primary when it is another region.
        migration = region == primary and primary != source
        expected[f"module.database_{region.alias}"] = (
            10 + (1 if region in serving else 0) + (1 if migration else 0)
        )
    for target in environment.targets:
        # connection, accepter, options on both sides, a route per private table each way.
        expected[f"module.peering_{target.alias}"] = (
            4 + nat_gateways(environment, source) + nat_gateways(environment, target)
        )
    emails = len(environment.alarms.emails)
    for region in serving:
        # key + alias, security group, PostgreSQL egress, an egress rule per gateway endpoint
        # (DynamoDB, S3), one to the interface endpoints or (without them) to the internet,
        # dlq, role + policy + attachment, log group, the apply-after marker, function, api,
        # integration, access log group, stage; a route and a permission for each of the
        # three payment routes and the health route.
        expected[f"module.compute_{region.alias}"] = 18 + 2 * 4 + (1 if environment.api.jwt else 0)
        if environment.api.domain:
            # its certificate, validation, domain name and mapping.
            expected[f"module.api_domain_{region.alias}"] = 4
        # topic, dashboard, eight tabled alarms, p99 latency and free storage alarms, e-mail
        # subscriptions.
        expected[f"module.observability_{region.alias}"] = 12 + emails
    # In the source region: a topic, its subscriptions and a backlog alarm per target.
    expected["module.replication_alarms"] = 1 + emails + len(environment.targets)
    if environment.api.domain:
        # the validation record; a health check and a record per routed region.
        routed = len(serving) if environment.api.routing == "weighted" else min(2, len(serving))
        expected["module.dns"] = 1 + 2 * routed
    return expected


@pytest.mark.emulator
@pytest.mark.parametrize("env", REAL_ENVS)
def test_plan_resource_count_matches_the_config(plans, env):
    environment = load_environment(ENVIRONMENTS, env)
    planned = Counter()
    for (module, _), count in plans[env].items():
        # A shared submodule's resources (module.compute_x.module.key) count for their caller.
        planned[".".join(module.split(".")[:2])] += count
    assert dict(planned) == expected_resources_per_module(environment)


@pytest.mark.emulator
@pytest.mark.parametrize("env", REAL_ENVS)
def test_plan_creates_subnets_nat_and_routes_per_az_and_nat_mode(plans, env):
    environment = load_environment(ENVIRONMENTS, env)
    for region in environment.regions:
        module = f"module.network_{region.alias}"
        azs = len(region.azs)
        nats = nat_gateways(environment, region)
        planned = plans[env]
        assert planned[(module, "aws_vpc")] == 1
        assert planned[(module, "aws_subnet")] == 2 * azs
        assert planned[(module, "aws_route_table_association")] == 2 * azs
        assert planned[(module, "aws_eip")] == nats
        assert planned[(module, "aws_nat_gateway")] == nats
        # One public table plus one private table per NAT gateway.
        assert planned[(module, "aws_route_table")] == 1 + nats
        assert planned[(module, "aws_route")] == 1 + nats
        assert planned[(module, "aws_internet_gateway")] == 1
        assert planned[(module, "aws_flow_log")] == 1
        assert planned[(module, "aws_cloudwatch_log_group")] == 1
        assert planned[(module, "aws_default_security_group")] == 1


@pytest.mark.emulator
def test_peering_routes_go_both_ways_on_every_private_route_table(plans):
    environment = load_environment(ENVIRONMENTS, "prod")
    source, (target,) = environment.source, environment.targets
    planned = plans["prod"]
    peering = f"module.peering_{target.alias}"
    assert planned[(peering, "aws_route")] == (
        nat_gateways(environment, source) + nat_gateways(environment, target)
    )
    assert planned[(peering, "aws_vpc_peering_connection_options")] == 2


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.fixture(scope="module")
def dev_graph(plans, initialised) -> dict[str, set[str]]:
    dot = terraform(initialised["dev"], "graph").stdout
    edges: dict[str, set[str]] = {}
    for source, target in re.findall(r'"([^"]+)" -> "([^"]+)"', dot):
        edges.setdefault(source, set()).add(target)
    return edges


@pytest.mark.emulator
def test_graph_puts_replication_after_both_buckets_versioning(dev_graph):
    depends_on = reachable(
        dev_graph,
        "module.bucket_replication_us_east_1.aws_s3_bucket_replication_configuration.this",
    )
    assert "module.data_us_east_1.aws_s3_bucket_versioning.this" in depends_on
    assert "module.data_eu_west_1.aws_s3_bucket_versioning.this" in depends_on


@pytest.mark.emulator
def test_graph_creates_the_log_group_before_the_function(dev_graph):
    depends_on = reachable(dev_graph, "module.compute_eu_west_1.aws_lambda_function.this")
    assert "module.compute_eu_west_1.aws_cloudwatch_log_group.function" in depends_on


def internet_egress(changes: list[dict]) -> list[str]:
    """Addresses of planned security group rules or groups that allow egress to the internet."""
    found = []
    for change in changes:
        after = change["change"]["after"] or {}
        if change["type"] == "aws_vpc_security_group_egress_rule" and (
            after.get("cidr_ipv4") == "0.0.0.0/0" or after.get("cidr_ipv6") == "::/0"
        ):
            found.append(change["address"])
        if change["type"] == "aws_security_group":
            for rule in after.get("egress") or []:
                if "0.0.0.0/0" in rule.get("cidr_blocks", []) or "::/0" in rule.get(
                    "ipv6_cidr_blocks", []
                ):
                    found.append(change["address"])
    return found


@pytest.mark.emulator
@pytest.mark.parametrize("env", REAL_ENVS)
def test_no_security_group_allows_internet_egress_with_interface_endpoints(planned_changes, env):
    environment = load_environment(ENVIRONMENTS, env)
    egress = internet_egress(planned_changes[env])
    if environment.network.interface_endpoints:
        assert egress == []
    else:  # dev's documented cost choice: HTTPS to AWS APIs through NAT, nothing else
        assert egress == [
            "module.compute_eu_west_1.aws_vpc_security_group_egress_rule.internet_https[0]"
        ]


@pytest.mark.emulator
@pytest.mark.parametrize("env", REAL_ENVS)
def test_gateway_endpoints_serve_every_private_route_table(planned_changes, env):
    environment = load_environment(ENVIRONMENTS, env)
    for region in environment.regions:
        module = f"module.network_{region.alias}"
        endpoints = {
            change["address"]: change["change"]["after"]
            for change in planned_changes[env]
            if change["module_address"] == module and change["type"] == "aws_vpc_endpoint"
        }
        gateways = [e for e in endpoints.values() if e["vpc_endpoint_type"] == "Gateway"]
        assert sorted(e["service_name"].rsplit(".", 1)[1] for e in gateways) == ["dynamodb", "s3"]
        interfaces = [e for e in endpoints.values() if e["vpc_endpoint_type"] == "Interface"]
        expected = 6 if environment.network.interface_endpoints else 0
        assert len(interfaces) == expected
        assert all(e["private_dns_enabled"] for e in interfaces)
