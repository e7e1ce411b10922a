"""Rules that span fields: what one key's validator cannot see alone (regions against each other,
the workload against the regions, protection against retention, derived AWS names against their
limits). Each returns Problems; loading turns them into messages."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from payinfra.awsnames import ACCOUNT_ID_PLACEHOLDER, too_long_names
from payinfra.config.models import (
    PROTECTED_MIN_RETENTION_DAYS,
    RESERVED_TAGS,
    Environment,
    Region,
    daily_minutes,
    weekly_minutes,
)
from payinfra.regions import (
    availability_zone_pattern,
    partition_of,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an environment: where (the key path), what, and the value found."""

    path: tuple[str | int, ...]
    message: str
    value: Any = None
    has_value: bool = False


def consistency_problems(env: Environment, *, regions_complete: bool) -> list[Problem]:
    """Rules across keys. With `regions_complete` false (a region failed its schema and was
    left out) the rules about the set of regions are skipped: they would only mislead."""
    problems: list[Problem] = []
    problems += _protection_problems(env, regions_complete)
    problems += _tag_problems(env)
    problems += _setting_problems(env)
    problems += _database_change_problems(env)
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
    problems += _generation_problems(env)
    problems += _adopted_problems(env)
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


def _database_change_problems(env: Environment) -> list[Problem]:
    """A major upgrade deferred to the maintenance window would leave the instance on the old
    family's parameter group, which Terraform deletes right away (it is replaced): RDS refuses,
    and the apply fails half-way. And RDS refuses windows that overlap."""
    database, problems = env.database, []
    if database.allow_major_version_upgrade and not database.apply_immediately:
        problems.append(
            Problem(
                ("database", "allow_major_version_upgrade"),
                "a major upgrade needs database.apply_immediately: true (RDS would defer it to "
                "the maintenance window, while the old parameter group it still uses is "
                "deleted now)",
                True,
                True,
            )
        )
    windows = database.maintenance_window, database.backup_window
    if windows[0] and windows[1] and _maintenance_minutes(windows[0]) & _backup_minutes(windows[1]):
        problems.append(
            Problem(
                ("database", "backup_window"),
                f"overlaps database.maintenance_window ({database.maintenance_window}); RDS "
                "refuses windows that overlap",
                database.backup_window,
                True,
            )
        )
    return problems


_WEEK, _DAY = 7 * 1440, 1440


def _maintenance_minutes(window: str) -> set[int]:
    """The minutes of the week (UTC) a maintenance window covers; it may wrap past Sunday."""
    start, end = weekly_minutes(window)
    return {minute % _WEEK for minute in range(start, end if end > start else end + _WEEK)}


def _backup_minutes(window: str) -> set[int]:
    """The minutes of the week (UTC) a daily backup window covers; it may wrap past midnight."""
    start, end = daily_minutes(window)
    daily = range(start, end if end > start else end + _DAY)
    return {(day * _DAY + minute) % _WEEK for day in range(7) for minute in daily}


def _adopted_problems(env: Environment) -> list[Problem]:
    adopted, names = env.adopted, {region.name for region in env.regions}
    problems = [
        Problem(("adopted", "data_buckets", region), "not one of `regions`", bucket, True)
        for region, bucket in adopted.data_buckets.items()
        if region not in names
    ]
    if adopted.table_sort_key and not env.function.default_currency:
        problems.append(
            Problem(
                ("lambda", "default_currency"),
                "required with adopted.table_sort_key: the reference's payments carry no "
                "currency, and its clients send none",
            )
        )
    return problems


def _region_bucket_problems(env: Environment) -> list[Problem]:
    backend, regions = env.backend, {region.name for region in env.regions}
    if not backend.region_buckets:
        return []
    if backend.type != "s3" or env.layout != "region-roots":
        return [
            Problem(
                ("backend", "region_buckets"),
                "applies only to `type: s3` with `layout: region-roots` (a root per region)",
            )
        ]
    problems = [
        Problem(
            ("backend", "region_buckets", region),
            f"is not a region of this environment ({', '.join(sorted(regions))})",
        )
        for region in backend.region_buckets
        if region not in regions
    ]
    names = [backend.bucket, *backend.region_buckets.values()]
    problems += [
        Problem(("backend", "region_buckets", region), "names a bucket already used", bucket, True)
        for region, bucket in backend.region_buckets.items()
        if names.count(bucket) > 1
    ]
    return problems


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
    problems += _region_bucket_problems(env)
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


def _generation_problems(env: Environment) -> list[Problem]:
    """A generation names a region of the environment. (Its names always fit: the longest
    prefix, 34 characters, with `-g99-db` is 41 of the 63 RDS allows; tested.)"""
    names = [region.name for region in env.regions]
    return [
        Problem(("generations", region), f"not a region of regions ({', '.join(names)})")
        for region in env.generations
        if region not in names
    ]


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
