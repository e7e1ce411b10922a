"""`payinfra preflight ENV`: what would make an apply fail half-way in a real account, asked of the
account itself before terraform starts. Read-only: every call is a Get, Describe or List.

Each check names the YAML key it follows and the AWS limit it meets. A limit comes from Service
Quotas when it answers, else from AWS's documented default (marked "default"). What this stack
already owns in AWS (tagged with its Environment and `ManagedBy = payinfra`) is not counted
against it, so a re-plan of a deployed environment passes the same checks as its first plan.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from payinfra import accounts
from payinfra.config import Environment, Region
from payinfra.errors import AccountUnknown

# Lambda keeps this much of a region's concurrency unreserved, whatever the functions ask for.
LAMBDA_UNRESERVED_MINIMUM = 100


@dataclass(frozen=True)
class Quota:
    service: str  # Service Quotas service code
    code: str
    default: int  # AWS's documented default, used when Service Quotas does not answer
    what: str


LAMBDA_CONCURRENCY = Quota("lambda", "L-B99A9384", 1000, "Lambda concurrent executions")
ELASTIC_IPS = Quota("ec2", "L-0263D0A3", 5, "Elastic IP addresses per region")
NAT_GATEWAYS_PER_AZ = Quota("vpc", "L-FE5A380F", 5, "NAT gateways per Availability Zone")
VPCS = Quota("vpc", "L-F678F1CE", 5, "VPCs per region")
INTERFACE_ENDPOINTS = Quota("vpc", "L-29B6F2EB", 50, "interface VPC endpoints per VPC")
SECURITY_GROUPS = Quota("vpc", "L-E79EC296", 2500, "VPC security groups per region")

# The interface endpoints the network module creates with network.interface_endpoints
# (templates/modules/network/endpoints.tf; a test keeps the two lists equal).
INTERFACE_ENDPOINT_SERVICES = ("kms", "logs", "secretsmanager", "sqs", "sts", "xray")


@dataclass(frozen=True)
class Check:
    region: str
    key: str  # the YAML key the check follows
    ok: bool  # False stops a protected environment's plan
    detail: str
    known: bool = True  # False: AWS gave nothing to check against (never a failure)

    def line(self) -> str:
        mark = "FAIL" if not self.ok else ("ok  " if self.known else "??  ")
        return f"{mark} {self.region}: {self.key}: {self.detail}"


@dataclass(frozen=True)
class Verdict:
    """What one check found; `run` files it under the region and YAML key it was asked for."""

    ok: bool
    detail: str
    known: bool = True


@dataclass(frozen=True)
class Limit:
    value: int
    documented_default: bool

    def __str__(self) -> str:
        return f"{self.value}{' (default)' if self.documented_default else ''}"


def run(
    env: Environment, target: accounts.Target, regions: Collection[str] | None = None
) -> list[Check]:
    """Every check, region by region (only `regions`' when given: one region's root is planned
    while another may be dark); the account check has already passed (workspace())."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    client = accounts.clients(target)
    checks: list[Check] = []
    for region, key, check in _checks(env, client):
        if regions is not None and region not in regions:
            continue
        try:
            verdict = check()
            checks.append(Check(region, key, verdict.ok, verdict.detail, verdict.known))
        except NoCredentialsError:
            raise AccountUnknown(
                "no AWS credentials found for preflight (environment, profile or role)"
            ) from None
        except (BotoCoreError, ClientError) as error:
            checks.append(Check(region, key, False, f"AWS did not answer: {error}"))
    return checks


def _checks(
    env: Environment, client: Callable[[str, str], Any]
) -> Iterator[tuple[str, str, Callable[[], Verdict]]]:
    """(region, YAML key, check) for every check the environment calls for."""
    serving = {region.name for region in env.serving}
    workload = {region.name for region in env.workload_regions}
    for region in env.regions:
        yield region.name, "regions", partial(_vpcs, env, region, client)
        yield region.name, "network.nat_mode", partial(_nat_addresses, env, region, client)
        yield region.name, "network.nat_mode", partial(_nat_per_zone, env, region, client)
        if env.network.interface_endpoints:
            check = partial(_interface_endpoints, region, client)
            yield region.name, "network.interface_endpoints", check
        yield region.name, "regions", partial(_security_groups, env, region, client)
        if region.name in serving:
            check = partial(_lambda_concurrency, env, region, client)
            yield region.name, "lambda.reserved_concurrency", check
        if region.name in workload:
            check = partial(_instance_class, env, region, client)
            yield region.name, "database.instance_class", check
    if env.api.hosted_zone_id:
        yield "global", "api.hosted_zone_id", partial(_hosted_zone, env, client)


def quota(client: Callable[[str, str], Any], region: str, wanted: Quota) -> Limit:
    """The account's applied quota, or AWS's documented default where Service Quotas has none."""
    from botocore.exceptions import ClientError

    try:
        answer = client("service-quotas", region).get_service_quota(
            ServiceCode=wanted.service, QuotaCode=wanted.code
        )
        return Limit(int(answer["Quota"]["Value"]), False)
    except ClientError:
        return Limit(wanted.default, True)


def _ours(env: Environment, tags: list[dict[str, str]] | None) -> bool:
    found = {tag["Key"]: tag["Value"] for tag in tags or []}
    return found.get("ManagedBy") == "payinfra" and found.get("Environment") == env.name


def _nat_count(env: Environment, region: Region) -> int:
    return len(region.azs) if env.nat_mode(region) == "per_az" else 1


def _vpcs(env: Environment, region: Region, client: Callable[[str, str], Any]) -> Verdict:
    vpcs = client("ec2", region.name).describe_vpcs()["Vpcs"]
    others = [v for v in vpcs if not _ours(env, v.get("Tags")) and not v.get("IsDefault")]
    limit = quota(client, region.name, VPCS)
    ok = len(others) + 1 <= limit.value
    return Verdict(ok, f"1 VPC beside {len(others)} others; {VPCS.what}: {limit}")


def _nat_addresses(env: Environment, region: Region, client: Callable[[str, str], Any]) -> Verdict:
    addresses = client("ec2", region.name).describe_addresses()["Addresses"]
    others = [a for a in addresses if not _ours(env, a.get("Tags"))]
    needed = _nat_count(env, region)
    limit = quota(client, region.name, ELASTIC_IPS)
    ok = len(others) + needed <= limit.value
    detail = f"{needed} Elastic IP(s) for NAT beside {len(others)} others"
    return Verdict(ok, f"{detail}; {ELASTIC_IPS.what}: {limit}")


def _nat_per_zone(env: Environment, region: Region, client: Callable[[str, str], Any]) -> Verdict:
    ec2 = client("ec2", region.name)
    gateways = [
        g
        for g in ec2.describe_nat_gateways()["NatGateways"]
        if g.get("State") in ("pending", "available") and not _ours(env, g.get("Tags"))
    ]
    subnets = [g["SubnetId"] for g in gateways]
    zone_of = {
        s["SubnetId"]: s["AvailabilityZone"]
        for s in (ec2.describe_subnets(SubnetIds=subnets)["Subnets"] if subnets else [])
    }
    limit = quota(client, region.name, NAT_GATEWAYS_PER_AZ)
    zones = region.azs[: _nat_count(env, region)]
    crowded = {
        zone: count
        for zone in zones
        if (count := sum(zone_of.get(s) == zone for s in subnets)) + 1 > limit.value
    }
    detail = f"a NAT gateway in {', '.join(zones)}; {NAT_GATEWAYS_PER_AZ.what}: {limit}"
    if crowded:
        detail += " (full: " + ", ".join(f"{z} has {n}" for z, n in crowded.items()) + ")"
    return Verdict(not crowded, detail)


def _interface_endpoints(region: Region, client: Callable[[str, str], Any]) -> Verdict:
    # The VPC is the stack's own: only the quota can stop its endpoints.
    needed = len(INTERFACE_ENDPOINT_SERVICES)
    limit = quota(client, region.name, INTERFACE_ENDPOINTS)
    return Verdict(
        needed <= limit.value,
        f"{needed} interface endpoints in the VPC; {INTERFACE_ENDPOINTS.what}: {limit}",
    )


def _security_groups(
    env: Environment, region: Region, client: Callable[[str, str], Any]
) -> Verdict:
    pages = client("ec2", region.name).get_paginator("describe_security_groups").paginate()
    others = sum(
        not _ours(env, group.get("Tags")) for page in pages for group in page["SecurityGroups"]
    )
    # The VPC's default group, the endpoints', the processor's and the database's.
    needed = (
        1
        + int(env.network.interface_endpoints)
        + int(region in env.serving)
        + int(region in env.workload_regions)
    )
    limit = quota(client, region.name, SECURITY_GROUPS)
    return Verdict(
        others + needed <= limit.value,
        f"{needed} security groups beside {others} others; {SECURITY_GROUPS.what}: {limit}",
    )


def _lambda_concurrency(
    env: Environment, region: Region, client: Callable[[str, str], Any]
) -> Verdict:
    lam = client("lambda", region.name)
    ours = env.function_name(region.name)
    reserved_by_others = 0
    for page in lam.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            if function["FunctionName"] == ours:
                continue
            reserved = lam.get_function_concurrency(FunctionName=function["FunctionName"])
            reserved_by_others += int(reserved.get("ReservedConcurrentExecutions") or 0)
    limit = quota(client, region.name, LAMBDA_CONCURRENCY)
    room = limit.value - LAMBDA_UNRESERVED_MINIMUM - reserved_by_others
    wanted = env.function.reserved_concurrency
    return Verdict(
        wanted <= room,
        f"{wanted} reserved; {LAMBDA_CONCURRENCY.what}: {limit}, of which AWS keeps "
        f"{LAMBDA_UNRESERVED_MINIMUM} unreserved and other functions reserve "
        f"{reserved_by_others}: at most {max(room, 0)} fits",
    )


def _instance_class(env: Environment, region: Region, client: Callable[[str, str], Any]) -> Verdict:
    database, rds = env.database, client("rds", region.name)
    what = f"{database.instance_class} for PostgreSQL {database.engine_version}"
    pages = rds.get_paginator("describe_orderable_db_instance_options").paginate(
        Engine="postgres", DBInstanceClass=database.instance_class
    )
    offered = [
        option
        for page in pages
        for option in page["OrderableDBInstanceOptions"]
        if option.get("DBInstanceClass") == database.instance_class
        and _same_version(option["EngineVersion"], database.engine_version)
    ]
    if not offered:
        if not rds.describe_orderable_db_instance_options(Engine="postgres", MaxRecords=20)[
            "OrderableDBInstanceOptions"
        ]:
            # Every AWS region lists PostgreSQL offerings; a local emulator may list none.
            unknown = f"{what}: not checked (the region lists no PostgreSQL offerings at all)"
            return Verdict(True, unknown, known=False)
        return Verdict(False, f"{what} is not offered")
    zones = {zone["Name"] for option in offered for zone in option.get("AvailabilityZones", [])}
    missing = [zone for zone in region.azs if zone not in zones]
    if missing:
        return Verdict(
            False, f"{what} is not offered in {', '.join(missing)} (regions.{region.name}.azs)"
        )
    return Verdict(True, f"{what} is offered")


def _same_version(offered: str, wanted: str) -> bool:
    """A bare major (17) takes any of its minors; major.minor (17.4) only itself."""
    return offered == wanted or ("." not in wanted and offered.split(".")[0] == wanted)


def _hosted_zone(env: Environment, client: Callable[[str, str], Any]) -> Verdict:
    from botocore.exceptions import ClientError

    zone_id, domain = env.api.hosted_zone_id, (env.api.domain or "").rstrip(".")
    try:
        zone = client("route53", "us-east-1").get_hosted_zone(Id=zone_id)["HostedZone"]
    except ClientError as error:
        if error.response["Error"].get("Code") != "NoSuchHostedZone":
            raise
        return Verdict(False, f"{zone_id} does not exist")
    name = zone["Name"].rstrip(".")
    if zone.get("Config", {}).get("PrivateZone"):
        return Verdict(False, f"{zone_id} ({name}) is private")
    if domain != name and not domain.endswith("." + name):
        return Verdict(False, f"{zone_id} is {name}, not a zone of {domain}")
    return Verdict(True, f"{zone_id} is the public zone {name}")
