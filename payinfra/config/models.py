"""The typed environment: pydantic models with the validators beside the fields they guard, and
the facts they check against (name patterns, PostgreSQL majors, alarm defaults, retention).
Imports no other part of config."""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from payinfra import awsnames
from payinfra.regions import (
    AWS_REGIONS,
    LOG_RETENTION_DAYS,
)

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
MAX_GENERATION = 99
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
    # calls leave through the NAT gateway (docs/architecture.md: what that costs in security).
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


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAINTENANCE_WINDOW = re.compile(
    r"(mon|tue|wed|thu|fri|sat|sun):(\d\d):(\d\d)-(mon|tue|wed|thu|fri|sat|sun):(\d\d):(\d\d)"
)
_BACKUP_WINDOW = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")


def _minute(hours: str, minutes: str) -> int:
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError("hours run 00-23 and minutes 00-59")
    return int(hours) * 60 + int(minutes)


def weekly_minutes(window: str) -> tuple[int, int]:
    """A maintenance window as minutes since Monday 00:00 (start, end), UTC."""
    match = _MAINTENANCE_WINDOW.fullmatch(window)
    assert match is not None
    start_day, start_h, start_m, end_day, end_h, end_m = match.groups()
    start = _DAYS.index(start_day) * 1440 + _minute(start_h, start_m)
    end = _DAYS.index(end_day) * 1440 + _minute(end_h, end_m)
    return start, end


def daily_minutes(window: str) -> tuple[int, int]:
    """A backup window as minutes since 00:00 (start, end), UTC."""
    match = _BACKUP_WINDOW.fullmatch(window)
    assert match is not None
    start_h, start_m, end_h, end_m = match.groups()
    return _minute(start_h, start_m), _minute(end_h, end_m)


def _maintenance_window(value: str) -> str:
    if not _MAINTENANCE_WINDOW.fullmatch(value):
        raise ValueError("expected ddd:hh:mm-ddd:hh:mm in UTC, e.g. sun:03:00-sun:04:00")
    start, end = weekly_minutes(value)
    if (end - start) % (7 * 1440) < 30:
        raise ValueError("RDS needs a maintenance window of at least 30 minutes")
    return value


def _backup_window(value: str) -> str:
    if not _BACKUP_WINDOW.fullmatch(value):
        raise ValueError("expected hh:mm-hh:mm in UTC, e.g. 01:00-01:30")
    start, end = daily_minutes(value)
    if (end - start) % 1440 < 30:
        raise ValueError("RDS needs a backup window of at least 30 minutes")
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
    # RDS refuses to raise the major version unless told it may (docs/architecture.md).
    allow_major_version_upgrade: bool = False
    # RDS applies most changes (class, version, storage, parameter group) in the maintenance
    # window unless told to apply them now; the plan says which changes wait.
    apply_immediately: bool = False
    # UTC, e.g. "sun:03:00-sun:04:00" and "01:00-01:30"; without them RDS keeps the windows
    # it chose at creation.
    maintenance_window: Annotated[str, AfterValidator(_maintenance_window)] | None = None
    backup_window: Annotated[str, AfterValidator(_backup_window)] | None = None

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
# these numbers. The observability module defines each alarm; docs/architecture.md lists them.
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


# What a region does for the workload (docs/region-moves.md).
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


BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class Backend(_Model):
    type: Literal["local", "s3"] = "local"
    bucket: Annotated[str, Field(pattern=BUCKET_PATTERN)] | None = None
    region: RegionName | None = None
    key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_./-]{1,200}$")] = "payinfra"
    # The role the S3 backend assumes; aws.role_arn when not set.
    role_arn: RoleArn | None = None
    # layout: region-roots: a bucket in a region for that region's root's state, so that an
    # outage of `region` does not take every state with it (docs/region-roots.md).
    region_buckets: dict[RegionName, Annotated[str, Field(pattern=BUCKET_PATTERN)]] = {}

    def state_bucket(self, region: str | None) -> tuple[str | None, str | None]:
        """(bucket, its region) of the state of `region`'s root (None: the environment's)."""
        if region in self.region_buckets:
            return self.region_buckets[region], region
        return self.bucket, self.region


# AWS's own limits on the names `adopted` keeps (each also fits the rules of awsnames.py).
TableName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")]
DbIdentifier = Annotated[str, Field(pattern=r"^[a-z]([a-z0-9]|-[a-z0-9]){0,62}$")]
SubnetGroupName = Annotated[str, Field(pattern=r"^[a-z0-9 ._-]{1,255}$")]
FunctionName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
BucketName = Annotated[str, Field(pattern=BUCKET_PATTERN)]
StageName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
AttributeName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,254}$")]


class Adopted(_Model):
    """What an environment took over from the reference stack (`payinfra adopt`) and keeps as
    it is, because AWS cannot change it in place: names, and the table's sort key (a Number
    attribute, as the reference's `timestamp`). Unset, payinfra derives its own."""

    table: TableName | None = None
    table_sort_key: AttributeName | None = None
    database: DbIdentifier | None = None
    database_subnet_group: SubnetGroupName | None = None
    function: FunctionName | None = None
    api_stage: StageName | None = None
    data_buckets: dict[RegionName, BucketName] = {}


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
    # From a region's second generation on, its database and processor take names of their own
    # (PREFIX-gN-...): it serves again beside what it kept in AWS (docs/failover.md).
    generations: dict[RegionName, Annotated[int, Field(ge=1, le=MAX_GENERATION)]] = {}
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
    adopted: Adopted = Adopted()
    # How the rendered Terraform is cut into roots (docs/region-roots.md); `region-roots` is a
    # preview until payinfra can run its roots and move a state into them.
    layout: Literal["one-root", "region-roots"] = "one-root"

    @property
    def backend_role_arn(self) -> str | None:
        """The role the S3 backend (and what reads state beside it) assumes."""
        return self.backend.role_arn or self.aws.role_arn

    @property
    def table_name(self) -> str:
        return self.adopted.table or awsnames.TABLE.name(self.name_prefix)

    def region_prefix(self, region: str) -> str:
        """What the names of `region`'s database and processor derive from: the environment's
        prefix, with the region's generation from the second on."""
        generation = self.generations.get(region, 1)
        return self.name_prefix + (f"-g{generation}" if generation > 1 else "")

    def adopted_in(self, region: str) -> Adopted:
        """The adopted names `region`'s database and processor keep: all of them in its first
        generation; none in a later one, which takes names of its own."""
        return self.adopted if self.generations.get(region, 1) == 1 else Adopted()

    def database_identifier(self, region: str) -> str:
        adopted = self.adopted_in(region).database
        return adopted or awsnames.DATABASE.name(self.region_prefix(region))

    def function_name(self, region: str) -> str:
        adopted = self.adopted_in(region).function
        return adopted or awsnames.FUNCTION.name(self.region_prefix(region))

    def data_bucket(self, region: str, account_id: str) -> str:
        return self.adopted.data_buckets.get(region) or awsnames.DATA_BUCKET.name(
            self.name_prefix, region, account_id
        )

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
        """Which step of a region move the workload describes (docs/region-moves.md), in one
        line for the plan summary."""
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
