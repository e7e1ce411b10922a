"""The rendered roots are real Terraform: fmt-clean, valid with the real provider, and planable."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def plans(initialised, moto_server):
    """Each environment planned against the moto server: Counter of (module, resource type)."""
    counts = {}
    for env, root in initialised.items():
        terraform_init(root, env=moto_server.aws_env())
        changes = planned_resources(root, moto_server.aws_env())
        assert all(change["change"]["actions"] == ["create"] for change in changes)
        counts[env] = Counter(
            (change["module_address"], change["type"]) for change in changes
        )
    return counts


@pytest.mark.parametrize("env", REAL_ENVS)
def test_plan_creates_subnets_nat_and_routes_per_az_and_nat_mode(plans, env):
    environment = load_environment(ENVIRONMENTS, env)
    for region in environment.regions:
        module = f"module.network_{region.alias}"
        azs = len(region.azs)
        nat_gateways = azs if environment.nat_mode(region) == "per_az" else 1
        planned = plans[env]
        assert planned[(module, "aws_vpc")] == 1
        assert planned[(module, "aws_subnet")] == 2 * azs
        assert planned[(module, "aws_route_table_association")] == 2 * azs
        assert planned[(module, "aws_eip")] == nat_gateways
        assert planned[(module, "aws_nat_gateway")] == nat_gateways
        # One public table plus one private table per NAT gateway.
        assert planned[(module, "aws_route_table")] == 1 + nat_gateways
        assert planned[(module, "aws_route")] == 1 + nat_gateways
        assert planned[(module, "aws_internet_gateway")] == 1
        assert planned[(module, "aws_flow_log")] == 1
        assert planned[(module, "aws_cloudwatch_log_group")] == 1
        assert planned[(module, "aws_default_security_group")] == 1
