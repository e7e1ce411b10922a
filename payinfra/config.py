"""Load `environments/<env>.yaml` over `_defaults.yaml` and validate it into typed config.

Every problem is reported at once, each naming the file the bad value came from, its key path,
the value and what was expected. Nothing downstream ever sees a raw dict.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from payinfra.awsnames import ACCOUNT_ID_PLACEHOLDER, too_long_names
from payinfra.errors import ConfigError
from payinfra.regions import (
    AWS_REGIONS,
    LOG_RETENTION_DAYS,
    availability_zone_pattern,
    partition_of,
)
from payinfra.yamlio import load_mapping

DEFAULTS_FILE = "_defaults.yaml"
# Name parts join with "-" into every AWS name: no leading, trailing or doubled hyphen, since RDS,
# S3 and others refuse `--` or a trailing `-`. project and the environment name start with a
# letter (RDS identifiers must); name_suffix may start with a digit (`001`).
ENV_NAME = re.compile(r"(?=.{1,16}$)[a-z][a-z0-9]*(-[a-z0-9]+)*")
NAME_PART = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
SUFFIX_PART = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
RESERVED_TAGS = ("Environment", "ManagedBy", "MigrationBatch", "Project", "Region")
# Derived subnets split the VPC into 16 equal blocks: public in 0..7, private in 8..15.
SUBNET_NEWBITS = 4
PRIVATE_BLOCK_OFFSET = 8
MAX_AZS = 6
# The PostgreSQL majors RDS offers (aws rds describe-db-engine-versions --engine postgres),
# checked 2026-11-25. A new major needs only a new entry here.
SUPPORTED_POSTGRES_MAJORS = (14, 15, 16, 17, 18)
# PCI DSS 10.5.1 asks for a year of audit logs; protected environments must keep them that long.
PROTECTED_MIN_RETENTION_DAYS = 365

NatMode = Literal["single", "per_az"]


def _parse_cidr(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return IPv4Network(value)
    except ValueError as exc:
        raise ValueError(f"not a valid IPv4 CIDR ({exc}); expected e.g. 10.0.0.0/16") from exc


def _known_region(value: str) -> str:
    if value not in AWS_REGIONS:
        raise ValueError(f"unknown AWS region; expected one of {', '.join(sorted(AWS_REGIONS))}")
    return value


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"CloudWatch Logs does not accept this retention; expected one of "
            f"{', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return value


def _name_part(value: str) -> str:
    if not NAME_PART.fullmatch(value):
        raise ValueError(
            "expected lowercase letters, digits and single inner '-', starting with a letter"
        )
    return value


def _suffix_part(value: str) -> str:
    if not SUFFIX_PART.fullmatch(value):
        raise ValueError("expected lowercase letters, digits and single inner '-'")
    return value


Cidr = Annotated[IPv4Network, BeforeValidator(_parse_cidr)]
RegionName = Annotated[str, AfterValidator(_known_region)]
RetentionDays = Annotated[int, AfterValidator(_log_retention)]
NamePart = Annotated[str, Field(min_length=1, max_length=12), AfterValidator(_name_part)]
TagText = Annotated[str, Field(min_length=1, max_length=256)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Region(_Model):
    name: RegionName
    role: Literal["source", "target"]
    cidr: Cidr
    azs: Annotated[list[str], Field(min_length=2, max_length=MAX_AZS)]
    public_subnets: list[Cidr] | None = None
    private_subnets: list[Cidr] | None = None
    nat_mode: NatMode | None = None

    @property
    def alias(self) -> str:
        """The Terraform identifier for this region: eu-west-1 -> eu_west_1."""
        return self.name.replace("-", "_")

    def subnets(self, tier: Literal["public", "private"]) -> list[IPv4Network]:
        """The subnet CIDRs of one tier, one per AZ (given in YAML or derived)."""
        cidrs = self.public_subnets if tier == "public" else self.private_subnets
        if cidrs is None:
            raise AssertionError("subnets are derived when the model is validated")
        return cidrs

    @model_validator(mode="after")
    def _derive_subnets(self) -> Region:
        if self.public_subnets is None or self.private_subnets is None:
            if self.cidr.prefixlen + SUBNET_NEWBITS > 28:
                raise ValueError(
                    f"cannot derive subnets from {self.cidr} (smaller than /24); "
                    "give public_subnets and private_subnets explicitly"
                )
            blocks = list(self.cidr.subnets(new_prefix=self.cidr.prefixlen + SUBNET_NEWBITS))
            count = len(self.azs)
            if self.public_subnets is None:
                object.__setattr__(self, "public_subnets", blocks[:count])
            if self.private_subnets is None:
                offset = PRIVATE_BLOCK_OFFSET
                object.__setattr__(self, "private_subnets", blocks[offset : offset + count])
        return self


class Network(_Model):
    nat_mode: NatMode = "single"
    flow_log_retention_days: RetentionDays = 30
    # Interface endpoints keep every AWS API call inside the VPC; off, KMS, SQS and X-Ray
    # calls leave through the NAT gateway (README: what that costs in security).
    interface_endpoints: bool = True


class Logs(_Model):
    retention_days: RetentionDays = 30


def _postgres_version(value: str) -> str:
    if int(value.split(".")[0]) not in SUPPORTED_POSTGRES_MAJORS:
        raise ValueError(
            f"not a PostgreSQL major RDS offers; expected one of "
            f"{', '.join(map(str, SUPPORTED_POSTGRES_MAJORS))} (or major.minor)"
        )
    return value


class Database(_Model):
    engine_version: Annotated[
        str, Field(pattern=r"^\d+(\.\d+)?$"), AfterValidator(_postgres_version)
    ] = "17"
    instance_class: Annotated[str, Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = "db.t4g.small"
    allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 20
    max_allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)] = 100
    multi_az: bool = False
    backup_retention_days: Annotated[int, Field(ge=1, le=35)] = 7
    skip_final_snapshot: bool = False
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = "payments"
    master_username: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,15}$")] = "payments_admin"
    # RDS refuses to raise the major version unless told it may (see README: major upgrades).
    allow_major_version_upgrade: bool = False

    @property
    def major_version(self) -> int:
        return int(self.engine_version.split(".")[0])


class Storage(_Model):
    noncurrent_version_expiration_days: Annotated[int, Field(ge=1, le=3650)] = 90
    access_log_retention_days: Annotated[int, Field(ge=1, le=3650)] = 90


class Lambda(_Model):
    memory_mb: Annotated[int, Field(ge=128, le=10240)] = 256
    timeout_seconds: Annotated[int, Field(ge=1, le=29)] = 10
    reserved_concurrency: Annotated[int, Field(ge=1, le=1000)] = 10
    max_amount: Annotated[str, Field(pattern=r"^\d{1,12}(\.\d{1,4})?$")] = "100000.00"
    currencies: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Z]{3}$")]], Field(min_length=1)
    ] = ["EUR", "GBP", "USD"]
    # When set, a request may omit `currency` (the reference stack's clients send none).
    default_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None


class Jwt(_Model):
    issuer: Annotated[str, Field(pattern=r"^https://[^\s]+$")]
    audience: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


DnsName = Annotated[
    str,
    Field(max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
]


class Api(_Model):
    throttling_burst_limit: Annotated[int, Field(ge=1, le=5000)] = 100
    throttling_rate_limit: Annotated[int, Field(ge=1, le=10000)] = 50
    jwt: Jwt | None = None
    # One URL for clients through a region move: a certificate and custom domain in every
    # serving region, and Route 53 records in this hosted zone that pick the active region.
    domain: DnsName | None = None
    hosted_zone_id: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,32}$")] | None = None
    # failover: every client goes to the primary while its health check passes.
    # weighted: clients are spread by `weights`; a new payment that lands on a standby is
    # refused (503), never taken twice, so weights suit reads and replays during a move.
    routing: Literal["failover", "weighted"] = "failover"
    weights: dict[RegionName, Annotated[int, Field(ge=0, le=255)]] = {}

    @property
    def authorization(self) -> Literal["AWS_IAM", "JWT"]:
        return "JWT" if self.jwt else "AWS_IAM"


class AlarmRule(_Model):
    """One alarm's settings in YAML; what is left out keeps its default (ALARM_DEFAULTS)."""

    threshold: Annotated[float, Field(ge=0)] | None = None
    # Standard-resolution alarms evaluate whole minutes.
    period_seconds: Annotated[int, Field(ge=60, le=86400, multiple_of=60)] | None = None
    evaluation_periods: Annotated[int, Field(ge=1, le=100)] | None = None


@dataclass(frozen=True)
class AlarmSettings:
    threshold: float
    period_seconds: int
    evaluation_periods: int


# Every alarm with its default threshold, period (s) and evaluation periods: the one home of
# these numbers. The observability module defines each alarm; README lists them.
ALARM_DEFAULTS: dict[str, AlarmSettings] = {
    name: AlarmSettings(*values)
    for name, values in {
        "lambda-errors": (1, 60, 1),
        "lambda-throttles": (1, 60, 1),
        "api-5xx": (5, 60, 1),
        "api-latency-p99": (2000, 60, 5),
        "rds-cpu": (80, 60, 3),
        "rds-connections": (100, 60, 3),
        "rds-free-storage": (2147483648, 300, 1),
        "dynamodb-read-throttles": (1, 60, 1),
        "dynamodb-write-throttles": (1, 60, 1),
        "dlq-depth": (1, 60, 1),
        "replication-backlog": (1000, 300, 3),
    }.items()
}


def _alarm_name(value: str) -> str:
    if value not in ALARM_DEFAULTS:
        raise ValueError(f"no such alarm; expected one of {', '.join(ALARM_DEFAULTS)}")
    return value


SnsTopicArn = Annotated[
    str, Field(pattern=r"^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
]


# An address SNS will deliver to: the dot-atom form of RFC 5322 (no quoted local parts, no
# comments, no IP literals), so nothing in it can break out of a value or a subscription.
_EMAIL_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def _email_address(value: str) -> str:
    if len(value) > 254 or not _EMAIL_ADDRESS.fullmatch(value):
        raise ValueError(
            "not an e-mail address SNS can deliver to (name@example.com: letters, digits and "
            "!#$%&'*+/=?^_`{|}~- before the @, no quotes, spaces or comments)"
        )
    return value


class Alarms(_Model):
    emails: list[Annotated[str, AfterValidator(_email_address)]] = []
    # An existing topic (PagerDuty, chat...) in the primary region, notified by every alarm there.
    topic_arn: SnsTopicArn | None = None
    # An existing topic in the source region, for the alarm CloudWatch evaluates there
    # (replication backlog): an alarm's actions cannot reach a topic in another region.
    source_topic_arn: SnsTopicArn | None = None
    rules: dict[Annotated[str, AfterValidator(_alarm_name)], AlarmRule] = {}

    def settings(self, name: str) -> AlarmSettings:
        default, given = ALARM_DEFAULTS[name], self.rules.get(name, AlarmRule())
        return AlarmSettings(
            default.threshold if given.threshold is None else given.threshold,
            given.period_seconds or default.period_seconds,
            given.evaluation_periods or default.evaluation_periods,
        )


# What a region does for the workload (README: "Moving between regions").
# primary: the one writer: its processor takes new payments, its database is the standalone one.
# standby: replicas of the primary's table, database and bucket; its processor answers reads
#   and replays and refuses new payments.
# former: the primary before a switch: its database stays standalone (a promoted database is
#   never turned back into a replica), its processor serves like a standby's. Swapping
#   `primary` and `former` back is the rollback of a switch.
# drained: a former primary whose processor and API are retired; its data is kept.
WorkloadRole = Literal["primary", "standby", "former", "drained"]
SERVING_ROLES: tuple[WorkloadRole, ...] = ("primary", "standby", "former")


class Emulator(_Model):
    """An AWS emulator on this machine (moto server); terraform reaches it via AWS_ENDPOINT_URL."""

    # None: the emulator `payinfra emulator start --port N` runs, wherever it listens.
    endpoint: (
        Annotated[
            str, Field(pattern=r"^http://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost):\d{2,5}$")
        ]
        | None
    ) = None


RoleArn = Annotated[
    str, Field(pattern=r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
]


class Aws(_Model):
    """The AWS account an environment lives in, and the role payinfra acts through there."""

    account_id: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    role_arn: RoleArn | None = None
    external_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9+=,.@:_/-]{2,1224}$")] | None = None
    session_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9+=,.@_-]{2,64}$")] | None = None


class Backend(_Model):
    type: Literal["local", "s3"] = "local"
    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")] | None = None
    region: RegionName | None = None
    key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_./-]{1,200}$")] = "payinfra"
    # The role the S3 backend assumes; aws.role_arn when not set.
    role_arn: RoleArn | None = None


class Environment(_Model):
    name: str
    project: NamePart
    name_suffix: (
        Annotated[str, Field(min_length=1, max_length=8), AfterValidator(_suffix_part)] | None
    ) = None
    migration_batch: TagText
    tags: dict[Annotated[str, Field(min_length=1, max_length=128)], TagText] = {}
    protected: bool = False
    home_region: RegionName | None = None
    workload: dict[RegionName, WorkloadRole] | None = None
    regions: Annotated[list[Region], Field(min_length=2)]
    network: Network = Network()
    logs: Logs = Logs()
    database: Database = Database()
    storage: Storage = Storage()
    # `lambda` is a Python keyword, hence the alias.
    function: Lambda = Field(default=Lambda(), alias="lambda")
    api: Api = Api()
    alarms: Alarms = Alarms()
    aws: Aws = Aws()
    backend: Backend = Backend()
    emulator: Emulator | None = None

    @property
    def session_name(self) -> str:
        return self.aws.session_name or f"payinfra-{self.name}"

    @property
    def name_prefix(self) -> str:
        parts = [self.project, self.name, self.name_suffix]
        return "-".join(part for part in parts if part)

    @property
    def source(self) -> Region:
        return next(region for region in self.regions if region.role == "source")

    @property
    def targets(self) -> list[Region]:
        return [region for region in self.regions if region.role == "target"]

    @property
    def home(self) -> Region:
        """The region the environment was built in, and the Terraform home of the transactions
        table: the first target unless `home_region` names another. It never moves (a global
        table cannot change its home without being recreated)."""
        wanted = self.home_region or self.targets[0].name
        return self.region(wanted)

    def region(self, name: str) -> Region:
        return next(region for region in self.regions if region.name == name)

    @property
    def roles(self) -> dict[str, WorkloadRole]:
        """Region name -> workload role, in `regions` order; the home alone by default."""
        given: dict[str, WorkloadRole] = (
            self.workload if self.workload is not None else {self.home.name: "primary"}
        )
        return {region.name: given[region.name] for region in self.regions if region.name in given}

    @property
    def primary(self) -> Region:
        """The writer: the one region whose processor takes new payments."""
        return self.region(next(name for name, role in self.roles.items() if role == "primary"))

    @property
    def workload_regions(self) -> list[Region]:
        """Every region holding part of the workload: a database, a table replica, a processor."""
        return [self.region(name) for name in self.roles]

    @property
    def replica_regions(self) -> list[Region]:
        """Workload regions other than the primary: they receive the primary's data."""
        return [region for region in self.workload_regions if region != self.primary]

    @property
    def serving(self) -> list[Region]:
        """Regions that run the processor and its API."""
        return [self.region(n) for n, role in self.roles.items() if role in SERVING_ROLES]

    def move_step(self) -> str:
        """Which step of a region move the workload describes (README: "Moving between
        regions"), in one line for the plan summary."""
        roles, primary = self.roles, self.primary.name
        others = {role: [n for n, r in roles.items() if r == role] for role in roles.values()}
        if len(roles) == 1:
            home = (
                "" if primary == self.home.name else f"; the table's home stays in {self.home.name}"
            )
            return f"one region: {primary} runs the workload (no move in progress){home}"
        parts = [f"{primary} is the primary (the only writer)"]
        step = "step 1 (standby added)"
        if "standby" in others:
            parts.append(f"standing by: {', '.join(others['standby'])}")
        if "former" in others:
            step = "step 2 (switched; roll back by swapping primary and former)"
            parts.append(f"former primary still serving: {', '.join(others['former'])}")
        if "drained" in others:
            step = "step 3 (former primary's processor retired; its data kept)"
            parts.append(f"drained: {', '.join(others['drained'])}")
        return f"{step}: " + "; ".join(parts)

    def nat_mode(self, region: Region) -> NatMode:
        return region.nat_mode or self.network.nat_mode

    def common_tags(self) -> dict[str, str]:
        """Tags every resource carries via the provider's default_tags (without Region)."""
        return {
            **self.tags,
            "Environment": self.name,
            "ManagedBy": "payinfra",
            "MigrationBatch": self.migration_batch,
            "Project": self.project,
        }


# ---- Loading ----


@dataclass(frozen=True)
class Problem:
    path: tuple[str | int, ...]
    message: str
    value: Any = None
    has_value: bool = False


def list_environments(environments_dir: Path) -> list[str]:
    """Environment names: every `<name>.yaml` that is not a `_`-prefixed shared file."""
    if not environments_dir.is_dir():
        raise ConfigError([f"{environments_dir}: environments directory not found"])
    return sorted(
        path.stem
        for path in environments_dir.glob("*.yaml")
        if not path.name.startswith("_") and ENV_NAME.fullmatch(path.stem)
    )


def load_environment(environments_dir: Path, name: str) -> Environment:
    """Read, merge and validate one environment, or raise ConfigError listing every problem."""
    env_file = _environment_file(environments_dir, name)
    defaults_file = environments_dir / DEFAULTS_FILE
    merged: dict[str, Any] = {}
    origins: dict[tuple, Path] = {}
    for path in (defaults_file, env_file):
        if path.exists():
            _merge(merged, load_mapping(path), path, (), origins)
    merged["name"] = name
    origins[("name",)] = env_file
    try:
        return _validated(merged)
    except ValidationError as exc:
        problems = [_from_pydantic(error) for error in exc.errors()]
        # Cross-field problems too, in the same run: check what is left without the bad keys.
        salvaged = _without_problems(merged, problems)
        if salvaged is not None:
            problems += _consistency_problems(salvaged[0], regions_complete=salvaged[1])
        raise ConfigError(_describe(problems, origins, env_file)) from None
    except _Inconsistent as inconsistent:
        raise ConfigError(_describe(inconsistent.problems, origins, env_file)) from None


class _Inconsistent(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems


def _validated(merged: dict[str, Any]) -> Environment:
    environment = Environment.model_validate(merged)
    problems = _consistency_problems(environment, regions_complete=True)
    if problems:
        raise _Inconsistent(problems)
    return environment


_STAND_IN_REGIONS = [
    {"name": name, "role": role, "cidr": cidr, "azs": [f"{name}a", f"{name}b"]}
    for name, role, cidr in (
        ("us-east-1", "source", "10.0.0.0/16"),
        ("eu-west-1", "target", "10.1.0.0/16"),
    )
]


def _without_problems(
    merged: dict[str, Any], problems: list[Problem]
) -> tuple[Environment, bool] | None:
    """The environment with every key that failed its schema removed (a bad region entirely),
    so that cross-field checks can still run on the rest; None when too little is left."""
    trimmed = copy.deepcopy(merged)
    dropped_regions: set[int] = set()
    for problem in problems:
        path = problem.path
        if len(path) >= 2 and path[0] == "regions" and isinstance(path[1], int):
            dropped_regions.add(path[1])
        elif path[:1] == ("workload",):
            # A half-read workload would only mislead the rules about its primary.
            trimmed.pop("workload", None)
        elif path[:2] == ("api", "weights"):
            for key in ("weights", "routing"):
                trimmed.get("api", {}).pop(key, None)
        elif len(path) >= 1 and path[0] != "regions":
            _delete(trimmed, path)
        else:
            return None
    if dropped_regions:
        # The rules that read regions are skipped then; stand-ins let the rest be checked.
        trimmed["regions"] = copy.deepcopy(_STAND_IN_REGIONS)
    try:
        return Environment.model_validate(trimmed), not dropped_regions
    except ValidationError:
        return None


def _delete(mapping: dict[str, Any], path: tuple) -> None:
    parent: Any = mapping
    for part in path[:-1]:
        if not isinstance(parent, dict) or part not in parent:
            return
        parent = parent[part]
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _environment_file(environments_dir: Path, name: str) -> Path:
    if not ENV_NAME.fullmatch(name):
        raise ConfigError(
            [
                f"{name!r} is not an environment name; expected up to 16 lowercase letters, "
                "digits and single inner '-', starting with a letter"
            ]
        )
    path = environments_dir / f"{name}.yaml"
    if not path.is_file():
        known = list_environments(environments_dir)
        raise ConfigError(
            [f"{path}: no such environment {name!r}; known: {', '.join(known) or 'none'}"]
        )
    return path


def _merge(target: dict, overlay: dict, source: Path, prefix: tuple, origins: dict) -> None:
    """Deep-merge mappings; any other value (lists included) replaces what was there.
    `origins` records the file of every value that is not a mapping."""
    for key, value in overlay.items():
        path = (*prefix, key)
        if isinstance(value, dict):
            if not isinstance(target.get(key), dict):
                target[key] = {}
                _forget(origins, path)
            _merge(target[key], value, source, path, origins)
        else:
            target[key] = _copy_mappings(value)
            _forget(origins, path)
            origins[path] = source


def _forget(origins: dict, path: tuple) -> None:
    for known in [known for known in origins if known[: len(path)] == path]:
        del origins[known]


def _copy_mappings(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_mappings(item) for key, item in value.items()}
    return value


def _from_pydantic(error: ErrorDetails) -> Problem:
    loc = tuple(part for part in error["loc"] if not _is_union_branch(part))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden" and loc == ("primary_region",):
        message = (
            "renamed: `home_region` names the region the table lives in, `workload` the region "
            "that writes (README: Moving between regions)"
        )
    elif error["type"] == "extra_forbidden":
        message = "unknown key; check the spelling against the YAML reference in README.md"
    elif error["type"] == "missing":
        message = "required key is missing"
    elif isinstance(error.get("input"), bool) and error["type"] == "string_type":
        message += " (YAML reads yes/no/on/off/true/false as booleans: quote the value)"
    return Problem(loc, message, error.get("input"), has_value=error["type"] != "missing")


def _is_union_branch(part: str | int) -> bool:
    # pydantic names the branch of `X | None` it tried (e.g. "list[...]"); users never wrote it.
    return isinstance(part, str) and ("[" in part or part in {"function-after", "str"})


def _describe(problems: list[Problem], origins: dict[tuple, Path], fallback: Path) -> list[str]:
    """One line per problem: the file that set the value (the environment's own file for a
    built-in default, which is where to override it), key path, message, value."""
    lines = []
    for problem in problems:
        source = _origin_of(problem.path, origins)
        key = _format_path(problem.path) or "(top level)"
        shown = ""
        if problem.has_value:
            default = ", payinfra's default" if source is None and problem.path else ""
            shown = f" (got {_show(problem.value)}{default})"
        lines.append(f"{source or fallback}: {key}: {problem.message}{shown}")
    return lines


def _origin_of(path: tuple, origins: dict[tuple, Path]) -> Path | None:
    """The file that set the value at `path` (or a list holding it); for a mapping, the last
    file that set anything inside it; None for a built-in default."""
    for length in range(len(path), 0, -1):
        if path[:length] in origins:
            return origins[path[:length]]
    inside = [source for known, source in origins.items() if known[: len(path)] == path]
    return inside[-1] if inside and path else None


def _format_path(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return repr(value)


# ---- Cross-field checks ----


def _consistency_problems(env: Environment, *, regions_complete: bool) -> list[Problem]:
    """Rules across keys. With `regions_complete` false (a region failed its schema and was
    left out) the rules about the set of regions are skipped: they would only mislead."""
    problems: list[Problem] = []
    problems += _protection_problems(env, regions_complete)
    problems += _tag_problems(env)
    problems += _setting_problems(env)
    if not regions_complete:
        return problems
    roles = _role_problems(env)
    problems += roles
    workload = _workload_problems(env)
    problems += workload
    if not roles and not workload:
        problems += _alarm_region_problems(env)
        problems += _api_domain_problems(env)
    problems += _partition_problems(env)
    problems += _name_problems(env)
    seen: dict[str, int] = {}
    for index, region in enumerate(env.regions):
        if region.name in seen:
            problems.append(
                Problem(
                    ("regions", index, "name"),
                    f"duplicate region; already listed as regions[{seen[region.name]}]",
                    region.name,
                    True,
                )
            )
        seen.setdefault(region.name, index)
        problems += _region_problems(index, region)
    for (i, a), (j, b) in itertools.combinations(enumerate(env.regions), 2):
        if a.cidr.overlaps(b.cidr):
            problems.append(
                Problem(
                    ("regions", j, "cidr"),
                    f"overlaps regions[{i}].cidr {a.cidr}; peered VPCs need disjoint CIDRs",
                    str(b.cidr),
                    True,
                )
            )
    return problems


def _role_problems(env: Environment) -> list[Problem]:
    sources = [region.name for region in env.regions if region.role == "source"]
    if len(sources) != 1:
        return [
            Problem(
                ("regions",),
                f"expected exactly one region with role: source, found {len(sources)}"
                + (f" ({', '.join(sources)})" if sources else ""),
            )
        ]
    return []


def _setting_problems(env: Environment) -> list[Problem]:
    problems = []
    database, backend, function = env.database, env.backend, env.function
    if database.max_allocated_storage_gb < database.allocated_storage_gb:
        problems.append(
            Problem(
                ("database", "max_allocated_storage_gb"),
                f"must be at least allocated_storage_gb ({database.allocated_storage_gb})",
                database.max_allocated_storage_gb,
                True,
            )
        )
    if backend.type == "s3":
        problems += [
            Problem(("backend", key), "required with `type: s3`")
            for key in ("bucket", "region")
            if getattr(backend, key) is None
        ]
    else:
        problems += [
            Problem(("backend", key), "applies only to `type: s3`", getattr(backend, key), True)
            for key in ("bucket", "region")
            if getattr(backend, key) is not None
        ]
    for path, role in (
        (("aws", "role_arn"), env.aws.role_arn),
        (("backend", "role_arn"), backend.role_arn),
    ):
        if role and env.aws.account_id and role.split(":")[4] != env.aws.account_id:
            problems.append(
                Problem(
                    path,
                    f"is a role in account {role.split(':')[4]}, not aws.account_id "
                    f"({env.aws.account_id})",
                    role,
                    True,
                )
            )
    if function.default_currency and function.default_currency not in function.currencies:
        problems.append(
            Problem(
                ("lambda", "default_currency"),
                f"must be one of lambda.currencies ({', '.join(function.currencies)})",
                function.default_currency,
                True,
            )
        )
    return problems


def _workload_problems(env: Environment) -> list[Problem]:
    names = [region.name for region in env.regions]
    problems = []
    if env.home_region is not None and env.home_region not in names:
        problems.append(
            Problem(
                ("home_region",),
                f"not one of this environment's regions ({', '.join(names)})",
                env.home_region,
                True,
            )
        )
    for name in env.workload or {}:
        if name not in names:
            problems.append(
                Problem(
                    ("workload", name),
                    f"not one of this environment's regions ({', '.join(names)})",
                    name,
                    True,
                )
            )
    if env.workload is not None:
        primaries = [name for name, role in env.workload.items() if role == "primary"]
        if len(primaries) != 1:
            problems.append(
                Problem(
                    ("workload",),
                    "expected exactly one region with role primary (the one writer), found "
                    f"{len(primaries)}" + (f" ({', '.join(primaries)})" if primaries else ""),
                )
            )
    return problems


def _alarm_region_problems(env: Environment) -> list[Problem]:
    """An alarm can notify only a topic in its own region: topic_arn serves the processor's
    alarms in its region, source_topic_arn the replication alarm in the source region."""
    problems = []
    serving = [region.name for region in env.serving]
    arn = env.alarms.topic_arn
    if arn is not None and arn.split(":")[3] not in serving:
        problems.append(
            Problem(
                ("alarms", "topic_arn"),
                f"must be a topic in a region that runs the processor ({', '.join(serving)}): "
                "an alarm notifies only topics in its own region",
                arn,
                True,
            )
        )
    arn = env.alarms.source_topic_arn
    if arn is not None and arn.split(":")[3] != env.source.name:
        problems.append(
            Problem(
                ("alarms", "source_topic_arn"),
                f"must be a topic in {env.source.name}: an alarm notifies only topics in its "
                "own region",
                arn,
                True,
            )
        )
    topic = env.alarms.topic_arn
    if env.protected and not env.alarms.emails and topic is not None:
        unreached = [name for name in serving if name != topic.split(":")[3]]
        if unreached:
            problems.append(
                Problem(
                    ("alarms", "emails"),
                    f"the processor's alarms in {', '.join(unreached)} cannot reach "
                    "alarms.topic_arn (another region); set alarms.emails",
                    [],
                    True,
                )
            )
    return problems


def _api_domain_problems(env: Environment) -> list[Problem]:
    api, problems = env.api, []
    if (api.domain is None) != (api.hosted_zone_id is None):
        given, missing = (
            ("domain", "hosted_zone_id") if api.domain else ("hosted_zone_id", "domain")
        )
        problems.append(Problem(("api", missing), f"required with api.{given}"))
    serving = [region.name for region in env.serving]
    if api.routing == "weighted":
        if api.domain is None:
            problems.append(
                Problem(("api", "routing"), "weighted routing needs api.domain", "weighted", True)
            )
        if sorted(api.weights) != sorted(serving):
            problems.append(
                Problem(
                    ("api", "weights"),
                    f"weighted routing needs a weight for each region that runs the processor "
                    f"({', '.join(serving)}), and only those",
                    dict(api.weights),
                    True,
                )
            )
    elif api.weights:
        problems.append(
            Problem(
                ("api", "weights"), "applies only to `routing: weighted`", dict(api.weights), True
            )
        )
    return problems


def _partition_problems(env: Environment) -> list[Problem]:
    """VPC peering (and replication) never crosses AWS partitions."""
    first = env.regions[0]
    return [
        Problem(
            ("regions", index, "name"),
            f"is in the {partition_of(region.name)} partition but regions[0] ({first.name}) is "
            f"in {partition_of(first.name)}; regions of different AWS partitions cannot peer",
            region.name,
            True,
        )
        for index, region in enumerate(env.regions)
        if partition_of(region.name) != partition_of(first.name)
    ]


def _protection_problems(env: Environment, regions_complete: bool) -> list[Problem]:
    problems: list[Problem] = []
    if not env.protected:
        return problems
    if env.database.skip_final_snapshot:
        problems.append(
            Problem(
                ("database", "skip_final_snapshot"),
                "a protected environment always takes a final snapshot",
                True,
                True,
            )
        )
    if env.aws.account_id is None:
        problems.append(
            Problem(
                ("aws", "account_id"),
                "a protected environment names its AWS account (12 digits), so that no other "
                "account's credentials can plan or apply it",
            )
        )
    alarms = env.alarms
    if not alarms.emails and alarms.topic_arn is None:
        problems.append(
            Problem(
                ("alarms", "emails"),
                "a protected environment's alarms must reach someone: set alarms.emails or "
                "alarms.topic_arn",
                alarms.emails,
                True,
            )
        )
    elif not alarms.emails and alarms.source_topic_arn is None:
        problems.append(
            Problem(
                ("alarms", "source_topic_arn"),
                "the replication-backlog alarm runs in the source region, where alarms.topic_arn "
                "cannot be reached; set alarms.emails or a topic there",
            )
        )
    for path, days in (
        (("logs", "retention_days"), env.logs.retention_days),
        (("network", "flow_log_retention_days"), env.network.flow_log_retention_days),
        (("storage", "access_log_retention_days"), env.storage.access_log_retention_days),
    ):
        if days < PROTECTED_MIN_RETENTION_DAYS:
            problems.append(
                Problem(
                    path,
                    f"a protected environment keeps logs at least "
                    f"{PROTECTED_MIN_RETENTION_DAYS} days (PCI DSS 10.5.1)",
                    days,
                    True,
                )
            )
    return problems


def _tag_problems(env: Environment) -> list[Problem]:
    problems = []
    for key in env.tags:
        if key in RESERVED_TAGS:
            problems.append(
                Problem(("tags", key), "payinfra sets this tag itself; remove it", key, True)
            )
        elif key.lower().startswith("aws:"):
            problems.append(Problem(("tags", key), "the aws: prefix is reserved by AWS", key, True))
    return problems


def _name_problems(env: Environment) -> list[Problem]:
    """Derived AWS names over their limits, each blamed on the keys that make it up."""
    problems = []
    regions = [region.name for region in env.regions]
    for found in too_long_names(env.name_prefix, regions):
        parts = [f"project ({len(env.project)})", f"the environment name ({len(env.name)})"]
        if env.name_suffix:
            parts.append(f"name_suffix ({len(env.name_suffix)})")
        if found.region:
            parts.append(f"regions[{regions.index(found.region)}].name ({len(found.region)})")
        shown = found.name.replace(ACCOUNT_ID_PLACEHOLDER, "<12-digit account id>")
        problems.append(
            Problem(
                ("name_suffix",) if env.name_suffix else ("project",),
                f"the {found.rule.resource} name {shown!r} would be {len(found.name)} "
                f"characters; AWS allows {found.rule.max_length}. It is made of "
                f"{', '.join(parts)}: shorten one of them",
            )
        )
    return problems


def _region_problems(index: int, region: Region) -> list[Problem]:
    problems = []
    pattern = availability_zone_pattern(region.name)
    for az_index, az in enumerate(region.azs):
        path = ("regions", index, "azs", az_index)
        if not pattern.fullmatch(az):
            problems.append(
                Problem(
                    path,
                    f"not an availability zone of {region.name}; expected e.g. {region.name}a",
                    az,
                    True,
                )
            )
        elif region.azs.index(az) != az_index:
            problems.append(Problem(path, "duplicate availability zone", az, True))
    subnets = [
        (kind, subnet_index, subnet)
        for kind in ("public_subnets", "private_subnets")
        for subnet_index, subnet in enumerate(getattr(region, kind))
    ]
    for kind in ("public_subnets", "private_subnets"):
        if len(getattr(region, kind)) != len(region.azs):
            problems.append(
                Problem(
                    ("regions", index, kind),
                    f"expected one subnet per availability zone ({len(region.azs)}), "
                    f"found {len(getattr(region, kind))}",
                )
            )
    for kind, subnet_index, subnet in subnets:
        if not subnet.subnet_of(region.cidr):
            problems.append(
                Problem(
                    ("regions", index, kind, subnet_index),
                    f"outside the VPC CIDR {region.cidr}",
                    str(subnet),
                    True,
                )
            )
    for (kind_a, i, a), (kind_b, j, b) in itertools.combinations(subnets, 2):
        if a.overlaps(b):
            problems.append(
                Problem(
                    ("regions", index, kind_b, j),
                    f"overlaps {kind_a}[{i}] {a}",
                    str(b),
                    True,
                )
            )
    return problems
