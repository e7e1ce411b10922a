"""The reference stack as its state describes it: each resource by address, with its region and
attributes, and the facts adoption needs (account, suffix, regions). Pure: a state dict in.

The reference (`../shared/reference`, a CDKTF app) deploys one fixed layout: us-east-1 as the
source and eu-west-1 as the target, resources named `payment-…-<suffix>` (its
`environment_suffix`, `dev-001` as shipped), its workload (database, table, function, API) in
eu-west-1. A state without its key resources is some other stack, and is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from payinfra.errors import AdoptionRefused

# The reference's regions and the short codes its construct ids use (`subnet-us-public-1a`).
REGION_CODES = {"us": "us-east-1", "eu": "eu-west-1"}
SOURCE_REGION, TARGET_REGION = "us-east-1", "eu-west-1"
# What makes a state the reference stack's: its data and its workload, by construct id.
KEY_RESOURCES = (
    "aws_vpc.vpc-us-east-1",
    "aws_vpc.vpc-eu-west-1",
    "aws_dynamodb_table.dynamodb-transactions",
    "aws_db_instance.rds-postgresql",
    "aws_s3_bucket.s3-bucket-us",
    "aws_s3_bucket.s3-bucket-eu",
    "aws_lambda_function.lambda-payment-processor",
)
DATABASE = "aws_db_instance.rds-postgresql"
_PROVIDER_REGION = re.compile(r'^provider\["registry\.terraform\.io/hashicorp/aws"\]\.(\w+)$')
_ARN_ACCOUNT = re.compile(r"^arn:aws[\w-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")
_IDENTIFIER = re.compile(r"^payment-db-([a-z0-9-]+)$")


@dataclass(frozen=True)
class ReferenceResource:
    address: str
    region: str
    attributes: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.attributes.get("id", ""))

    def get(self, name: str) -> Any:
        return self.attributes.get(name)


@dataclass(frozen=True)
class ReferenceStack:
    source: str
    resources: dict[str, ReferenceResource]
    account_id: str
    suffix: str

    def __getitem__(self, address: str) -> ReferenceResource:
        return self.resources[address]

    def __contains__(self, address: object) -> bool:
        return address in self.resources

    @property
    def regions(self) -> list[str]:
        return sorted({resource.region for resource in self.resources.values()})


def reference_stack(state: dict, source: str) -> ReferenceStack:
    """The reference stack in `state`, or AdoptionRefused saying why the state is not one."""
    resources = _resources(state, source)
    missing = [address for address in KEY_RESOURCES if address not in resources]
    if missing:
        raise AdoptionRefused(
            f"{source}: not the reference stack's state: it holds no {', '.join(missing)}"
        )
    foreign = sorted({r.region for r in resources.values()} - set(REGION_CODES.values()))
    if foreign:
        raise AdoptionRefused(
            f"{source}: resources in {', '.join(foreign)}; the reference stack runs in "
            f"{SOURCE_REGION} and {TARGET_REGION} only"
        )
    return ReferenceStack(
        source=source,
        resources=resources,
        account_id=_account(resources, source),
        suffix=_suffix(resources[DATABASE], source),
    )


def _resources(state: dict, source: str) -> dict[str, ReferenceResource]:
    found: dict[str, ReferenceResource] = {}
    for entry in state["resources"]:
        if not isinstance(entry, dict) or entry.get("mode") != "managed":
            continue
        address = f"{entry.get('type')}.{entry.get('name')}"
        if not all(isinstance(entry.get(part), str) for part in ("type", "name")):
            raise AdoptionRefused(f"{source}: a resource without a type and name ({address})")
        if entry.get("module"):
            raise AdoptionRefused(
                f"{source}: holds {entry['module']}: the reference stack has no modules"
            )
        instances = entry.get("instances")
        if not isinstance(instances, list) or len(instances) != 1:
            raise AdoptionRefused(
                f"{source}: {address} is not one instance; each of the reference stack's "
                "resources is one"
            )
        attributes = instances[0].get("attributes") if isinstance(instances[0], dict) else None
        if not isinstance(attributes, dict):
            raise AdoptionRefused(f"{source}: {address} has no attributes")
        found[address] = ReferenceResource(address, _region(entry, source), dict(attributes))
    return found


def _region(entry: dict, source: str) -> str:
    match = _PROVIDER_REGION.match(str(entry.get("provider", "")))
    if not match:
        raise AdoptionRefused(
            f"{source}: {entry.get('type')}.{entry.get('name')} uses provider "
            f"{entry.get('provider')!r}; the reference stack's resources each name a region alias"
        )
    return match.group(1).replace("_", "-")


def _account(resources: dict[str, ReferenceResource], source: str) -> str:
    accounts = {
        match.group(1)
        for resource in resources.values()
        for match in [_ARN_ACCOUNT.match(str(resource.get("arn") or ""))]
        if match
    }
    if len(accounts) != 1:
        raise AdoptionRefused(
            f"{source}: its resources' ARNs name {len(accounts)} accounts "
            f"({', '.join(sorted(accounts)) or 'none'}); the reference stack lives in one"
        )
    return accounts.pop()


def _suffix(database: ReferenceResource, source: str) -> str:
    match = _IDENTIFIER.match(str(database.get("identifier") or ""))
    if not match:
        raise AdoptionRefused(
            f"{source}: database identifier {database.get('identifier')!r} is not the "
            "reference's payment-db-<suffix>"
        )
    return match.group(1)
