"""`payinfra preflight`: the account asked, read-only, whether it can take what the YAML asks for,
against in-process moto with the limits each test sets (Service Quotas answers and RDS
offerings patched into moto's backends; other tenants' functions, addresses, gateways and VPCs
made by hand). And `plan` of a protected environment, which starts with it."""

from __future__ import annotations

import io
import json
import zipfile
from functools import cache

import boto3
import pytest
from click.testing import CliRunner

from payinfra import preflight
from payinfra.accounts import new_session
from payinfra.cli import main
from payinfra.config import load_environment
from tests.conftest import REPO, protect
from tests.hclparse import parse

A, B = "eu-west-1", "us-east-1"  # dev: eu-west-1 is the primary (serving, database)


class ReusedClients:
    """One boto3 session for every command of a test, keeping its clients: making a client
    (EC2's has hundreds of methods) costs more than the calls preflight makes with it."""

    def __init__(self) -> None:
        self.session = new_session(region_name=B)
        self.made: dict[tuple, object] = {}

    def client(self, service: str, region_name: str | None = None, **options: object) -> object:
        key = (service, region_name)
        if key not in self.made:
            self.made[key] = self.session.client(service, region_name=region_name, **options)
        return self.made[key]


@pytest.fixture
def check(aws, env_dir, monkeypatch):
    """Runs `payinfra preflight dev --json` against moto: (exit code, {(region, key): [checks]})."""
    reused = ReusedClients()
    monkeypatch.setattr("payinfra.accounts.session", lambda target: reused)

    def invoke(**yaml):
        if yaml:
            # `lambda` is a Python keyword: lambda_= stands for the YAML key.
            env_dir.write("dev", {k.rstrip("_"): v for k, v in yaml.items()})
        result = CliRunner().invoke(
            main, ["preflight", "dev", "--environments-dir", str(env_dir.path), "--json"]
        )
        assert result.exit_code in (0, 3), result.output
        found: dict[tuple[str, str], list[dict]] = {}
        for line in json.loads(result.stdout):
            found.setdefault((line["region"], line["key"]), []).append(line)
        return result.exit_code, found

    return invoke


@pytest.fixture
def quotas(monkeypatch):
    """Service Quotas answers the test sets: {(service code, quota code): value}."""
    from moto.servicequotas.exceptions import NoSuchResource
    from moto.servicequotas.models import ServiceQuotasBackend

    applied: dict[tuple[str, str], float] = {}

    def get_service_quota(self, service_code, quota_code):
        if (service_code, quota_code) not in applied:
            raise NoSuchResource
        value = applied[(service_code, quota_code)]
        return {"ServiceCode": service_code, "QuotaCode": quota_code, "Value": value}

    monkeypatch.setattr(ServiceQuotasBackend, "get_service_quota", get_service_quota)
    return applied


@pytest.fixture
def offerings(monkeypatch):
    """RDS's orderable-options catalogue the test sets (moto lists none for PostgreSQL):
    {instance class: ([engine versions], [zones])}."""
    from moto.rds.models import RDSBackend

    catalogue: dict[str, tuple[list[str], list[str]]] = {}

    def describe(self, engine, engine_version):
        return [
            {
                "Engine": engine,
                "EngineVersion": version,
                "DBInstanceClass": klass,
                "AvailabilityZones": [{"Name": zone} for zone in zones],
            }
            for klass, (versions, zones) in catalogue.items()
            for version in versions
        ]

    monkeypatch.setattr(RDSBackend, "describe_orderable_db_instance_options", describe)
    return catalogue


def verdicts(found, region: str, key: str) -> list[bool]:
    return [line["ok"] for line in found[(region, key)]]


def test_a_clean_account_passes_and_an_unlisted_catalogue_is_not_a_failure(check):
    code, found = check()
    assert code == 0
    assert all(line["ok"] for lines in found.values() for line in lines)
    (instance,) = found[(A, "database.instance_class")]
    assert instance["known"] is False and "not checked" in instance["detail"]
    assert verdicts(found, A, "lambda.reserved_concurrency") == [True]
    # Only the serving region runs a processor, only the workload region a database.
    assert (B, "lambda.reserved_concurrency") not in found
    assert (B, "database.instance_class") not in found


def test_a_new_account_with_ten_concurrent_executions_fails_dev_and_names_the_key(check, quotas):
    quotas[("lambda", preflight.LAMBDA_CONCURRENCY.code)] = 10
    code, found = check()
    assert code == 3
    (line,) = found[(A, "lambda.reserved_concurrency")]
    assert not line["ok"]
    assert "10 reserved" in line["detail"] and "at most 0 fits" in line["detail"]


def test_other_functions_reservations_count_and_our_own_does_not(check, quotas):
    quotas[("lambda", preflight.LAMBDA_CONCURRENCY.code)] = 1000
    make_function("someone-elses-function", reserved=880)
    make_function("payment-dev-payment-processor", reserved=500)  # ours: replaced by the plan
    code, found = check(lambda_={"reserved_concurrency": 21})
    (line,) = found[(A, "lambda.reserved_concurrency")]
    assert code == 3 and not line["ok"]
    assert "other functions reserve 880: at most 20 fits" in line["detail"]
    code, found = check(lambda_={"reserved_concurrency": 20})
    assert code == 0


def test_elastic_ips_of_others_leave_no_room_for_the_nat_gateways(check):
    ec2 = boto3.client("ec2", region_name=B)
    for _ in range(4):
        ec2.allocate_address(Domain="vpc")
    code, found = check()
    assert code == 0, "4 others + 1 NAT fit the default 5"
    ec2.allocate_address(Domain="vpc")
    code, found = check()
    assert code == 3
    line = next(x for x in found[(B, "network.nat_mode")] if "Elastic IP" in x["detail"])
    assert (
        not line["ok"] and "beside 5 others" in line["detail"] and "5 (default)" in line["detail"]
    )


def test_addresses_and_vpcs_this_environment_already_owns_are_not_counted(check):
    ec2 = boto3.client("ec2", region_name=B)
    ours = [{"Key": "ManagedBy", "Value": "payinfra"}, {"Key": "Environment", "Value": "dev"}]
    for _ in range(5):
        ec2.allocate_address(
            Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": ours}]
        )
    for index in range(5):
        ec2.create_vpc(
            CidrBlock=f"10.{100 + index}.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": ours}],
        )
    code, _ = check()
    assert code == 0


def test_five_vpcs_of_others_fill_the_region(check):
    ec2 = boto3.client("ec2", region_name=A)
    for index in range(5):
        ec2.create_vpc(CidrBlock=f"10.{100 + index}.0.0/16")
    code, found = check()
    line = next(x for x in found[(A, "regions")] if "VPC" in x["detail"])
    assert code == 3 and not line["ok"] and "beside 5 others" in line["detail"]


def test_a_zone_full_of_nat_gateways_fails_per_az_mode(check, quotas):
    quotas[("vpc", preflight.NAT_GATEWAYS_PER_AZ.code)] = 1
    ec2 = boto3.client("ec2", region_name=B)
    vpc = ec2.create_vpc(CidrBlock="10.200.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.200.1.0/24", AvailabilityZone="us-east-1b")
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=subnet["Subnet"]["SubnetId"], AllocationId=address)
    code, _ = check()
    assert code == 0, "single mode uses only the first zone, us-east-1a"
    code, found = check(network={"nat_mode": "per_az"})
    line = next(x for x in found[(B, "network.nat_mode")] if "NAT gateway in" in x["detail"])
    assert code == 3 and not line["ok"] and "us-east-1b has 1" in line["detail"]


def test_interface_endpoints_need_room_in_the_vpc_quota(check, quotas):
    quotas[("vpc", preflight.INTERFACE_ENDPOINTS.code)] = 5
    code, found = check(network={"interface_endpoints": True})
    (line,) = found[(A, "network.interface_endpoints")]
    assert code == 3 and not line["ok"] and "6 interface endpoints" in line["detail"]
    code, found = check(network={"interface_endpoints": False})
    assert code == 0 and (A, "network.interface_endpoints") not in found


def test_the_endpoint_count_is_the_network_modules():
    endpoints = parse((REPO / "templates/modules/network/endpoints.tf").read_text())
    services = endpoints["locals"][0]["interface_endpoint_services"]
    for service in preflight.INTERFACE_ENDPOINT_SERVICES:
        assert f'"{service}"' in services
    assert services.count('"') == 2 * len(preflight.INTERFACE_ENDPOINT_SERVICES)


def test_security_groups_count_the_stacks_own_and_everyone_elses(check, quotas):
    # moto's default VPC brings one group; eu-west-1 needs four (default, endpoints, processor,
    # database), us-east-1 two (default, endpoints).
    quotas[("vpc", preflight.SECURITY_GROUPS.code)] = 4
    code, found = check(network={"interface_endpoints": True})
    groups = {r: next(x for x in found[(r, "regions")] if "security groups" in x["detail"])
              for r in (A, B)}  # fmt: skip
    assert code == 3
    assert not groups[A]["ok"] and "4 security groups beside 1 others" in groups[A]["detail"]
    assert groups[B]["ok"] and "2 security groups beside 1 others" in groups[B]["detail"]


def test_the_hosted_zone_must_exist_be_public_and_hold_the_domain(check, env_dir):
    route53 = boto3.client("route53", region_name=B)

    def zone(name: str, private: bool = False) -> str:
        config = {"PrivateZone": private}
        extra = {"VPC": {"VPCRegion": B, "VPCId": vpc()}} if private else {}
        made = route53.create_hosted_zone(
            Name=name, CallerReference=name + str(private), HostedZoneConfig=config, **extra
        )
        return made["HostedZone"]["Id"].split("/")[-1]

    # Through the command once; each other case through the check itself (boto3 clients are
    # slow to make, and the command's wiring is the same).
    code, found = check(api={"domain": "pay.example.com", "hosted_zone_id": "Z000000000000"})
    (line,) = found[("global", "api.hosted_zone_id")]
    assert code == 3 and not line["ok"] and "Z000000000000 does not exist" in line["detail"]
    client = cache(lambda service, region: boto3.client(service, region_name=region))

    def verdict(zone_id: str, domain: str = "pay.example.com") -> preflight.Check:
        env_dir.write("dev", {"api": {"domain": domain, "hosted_zone_id": zone_id}})
        return preflight._hosted_zone(load_environment(env_dir.path, "dev"), client)

    assert "is private" in verdict(zone("example.com", private=True)).detail
    assert "not a zone of pay.example.com" in verdict(zone("example.org")).detail
    public = zone("example.com")
    assert verdict(public).ok
    assert verdict(public, domain="example.com").ok
    assert not verdict(public, domain="pay.notexample.com").ok


def test_the_instance_class_must_be_offered_for_the_version_in_every_zone(check, offerings):
    offerings["db.t4g.small"] = (["16.4", "17.2"], ["eu-west-1a", "eu-west-1b", "eu-west-1c"])
    offerings["db.m7g.large"] = (["17.2"], ["eu-west-1a"])
    code, found = check()
    assert code == 0 and verdicts(found, A, "database.instance_class") == [True]
    code, found = check(database={"engine_version": "15"})
    (line,) = found[(A, "database.instance_class")]
    assert code == 3 and "is not offered" in line["detail"]
    code, found = check(database={"instance_class": "db.m7g.large"})
    (line,) = found[(A, "database.instance_class")]
    assert code == 3 and "not offered in eu-west-1b" in line["detail"]
    assert "regions.eu-west-1.azs" in line["detail"]


def test_without_credentials_preflight_is_one_line(env_dir, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr("payinfra.accounts.caller_account", lambda target: "123456789012")
    result = CliRunner().invoke(main, ["preflight", "dev", "--environments-dir", str(env_dir.path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: no AWS credentials found for preflight (environment, profile or role)"
    ]


# ---- plan of a protected environment starts with preflight ----


def test_a_protected_plan_runs_preflight_first_and_can_skip_it(run):
    protect(run.env_dir)
    assert run("plan", "dev").exit_code == 0
    assert run.preflights == ["dev"]
    assert run("plan", "dev", "--skip-preflight").exit_code == 0
    assert run.preflights == ["dev"]


def test_an_unprotected_plan_does_not_ask_the_account(run):
    assert run("plan", "dev").exit_code == 0
    assert run.preflights == []


def test_a_failed_preflight_stops_the_plan_before_terraform(run, monkeypatch):
    protect(run.env_dir)
    failing = preflight.Check(A, "lambda.reserved_concurrency", False, "10 reserved; ...")
    monkeypatch.setattr("payinfra.preflight.run", lambda env, target, regions=None: [failing])
    result = run("plan", "dev")
    assert result.exit_code == 3
    assert "FAIL eu-west-1: lambda.reserved_concurrency: 10 reserved" in result.output
    assert "--skip-preflight" in result.output
    assert not any(argv[:1] == ["plan"] for argv in run.fake.commands())


def make_function(name: str, reserved: int) -> None:
    iam = boto3.client("iam", region_name=A)
    role = iam.create_role(RoleName=f"r-{name}", AssumeRolePolicyDocument="{}")["Role"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(e, c): return e\n")
    lam = boto3.client("lambda", region_name=A)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
    )
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)


def vpc() -> str:
    return boto3.client("ec2", region_name=B).create_vpc(CidrBlock="10.250.0.0/16")["Vpc"]["VpcId"]
