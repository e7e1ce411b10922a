"""One module call per module and region, built from the Environment: every argument encoded as
HCL (payinfra/hcl.py), every reference to another module's output by name."""

from __future__ import annotations

from collections.abc import Callable

from payinfra.config import ALARM_DEFAULTS, Environment, Region
from payinfra.hcl import Attributes, Hcl, body, expression, identifier, literal, quote
from payinfra.render.constants import LAMBDA_HANDLER, LAMBDA_PACKAGE


def label(kind: str, region: Region | None = None) -> Hcl:
    return identifier(f"{kind}_{region.alias}" if region else kind)


def ref(module: Hcl, output: str) -> Hcl:
    return expression(f"module.{module}.{output}")


# How a call reads another call's output: `ref` inside one root; in `links/`, what a region
# root's module call holds is read from that root's state (payinfra/render/regions.py).
Read = Callable[[Hcl, str], Hcl]


def private_subnet_ids(network: Hcl) -> Hcl:
    return expression(f"values({ref(network, 'private_subnet_ids')})")


def provider_alias(region: Region) -> Hcl:
    return expression(f"aws.{identifier(region.alias)}")


def module_call(name: Hcl, source: str, providers: dict[str, Hcl], arguments: Attributes) -> dict:
    return {
        "name": name,
        "label": quote(name),
        "folder": source,
        "source": quote(f"./modules/{source}"),
        "providers": literal(Attributes(providers), indent=2),
        "arguments": body(arguments),
    }


def network(env: Environment, region: Region) -> dict:
    arguments = Attributes(
        name=f"{env.name_prefix}-{region.name}",
        cidr_block=region.cidr,
        nat_mode=env.nat_mode(region),
        flow_log_retention_days=env.network.flow_log_retention_days,
        interface_endpoints=env.network.interface_endpoints,
        public_subnets=dict(zip(region.azs, region.subnets("public"), strict=True)),
        private_subnets=dict(zip(region.azs, region.subnets("private"), strict=True)),
    )
    return module_call(
        label("network", region), "network", {"aws": provider_alias(region)}, arguments
    )


def peering(env: Environment, target: Region, read: Read = ref) -> dict:
    source = env.source
    requester, accepter = label("network", source), label("network", target)
    arguments = Attributes(
        name=f"{env.name_prefix}-{source.name}-to-{target.name}",
        accepter_region=target.name,
        requester_vpc_id=read(requester, "vpc_id"),
        requester_cidr_block=read(requester, "vpc_cidr_block"),
        requester_route_table_ids=read(requester, "private_route_table_ids"),
        accepter_vpc_id=read(accepter, "vpc_id"),
        accepter_cidr_block=read(accepter, "vpc_cidr_block"),
        accepter_route_table_ids=read(accepter, "private_route_table_ids"),
    )
    providers = {"aws.requester": provider_alias(source), "aws.accepter": provider_alias(target)}
    return module_call(label("peering", target), "peering", providers, arguments)


def data(env: Environment, region: Region) -> dict:
    arguments = Attributes(
        name=env.name_prefix,
        noncurrent_version_expiration_days=env.storage.noncurrent_version_expiration_days,
        access_log_retention_days=env.storage.access_log_retention_days,
        access_logs_force_destroy=not env.protected,
    )
    if region.name in env.adopted.data_buckets:
        arguments["bucket_name"] = env.adopted.data_buckets[region.name]
    if region == env.home:
        arguments["table"] = Attributes(
            deletion_protection=env.protected,
            writer_region=env.primary.name,
            **_adopted_table(env),
        )
    if env.emulator:
        arguments["emulator_compatible"] = True
    return module_call(label("data", region), "data", {"aws": provider_alias(region)}, arguments)


def _adopted_table(env: Environment) -> dict[str, str]:
    adopted = {"name": env.adopted.table, "sort_key": env.adopted.table_sort_key}
    return {key: value for key, value in adopted.items() if value is not None}


def table_replica(env: Environment, region: Region, home_table_arn: Hcl | None = None) -> dict:
    """The table's copy in a workload region other than its home, encrypted with that region's
    key, protected from deletion like the table. `home_table_arn`: the table's ARN where the home
    region's data call is in another root."""
    arguments = Attributes(
        name=env.table_name,
        global_table_arn=home_table_arn or ref(label("data", env.home), "table_arn"),
        kms_key_arn=ref(label("data", region), "table_kms_key_arn"),
        deletion_protection=env.protected,
    )
    return module_call(
        label("table_replica", region), "table-replica", {"aws": provider_alias(region)}, arguments
    )


def bucket_replication(env: Environment, region: Region, read: Read = ref) -> dict:
    """`region`'s data bucket copied to each of `replication_destinations`' buckets; called
    beside the data modules, so that no data module reads another region's."""
    data = label("data", region)
    arguments = Attributes(
        name=env.name_prefix,
        source_bucket=read(data, "versioned_bucket"),
        source_kms_key_arn=read(data, "s3_kms_key_arn"),
        destinations={
            other.name: Attributes(
                bucket_arn=read(label("data", other), "versioned_bucket.arn"),
                kms_key_arn=read(label("data", other), "s3_kms_key_arn"),
            )
            for other in replication_destinations(env, region)
        },
    )
    if env.emulator:
        arguments["emulator_compatible"] = True
    return module_call(
        label("bucket_replication", region),
        "bucket-replication",
        {"aws": provider_alias(region)},
        arguments,
    )


def replication_destinations(env: Environment, region: Region) -> list[Region]:
    """The source's bucket replicates to the targets' (the migration); the primary's to every
    other workload region's (the standbys' copies)."""
    found = env.targets if region == env.source else []
    if region == env.primary:
        found = found + [other for other in env.replica_regions if other not in found]
    return [other for other in env.regions if other in found and other != region]


def database(env: Environment, region: Region, primary_arn: Hcl | None = None) -> dict:
    """`primary_arn`: the primary database's ARN where the primary's call is in another root."""
    network, database = label("network", region), env.database
    role = env.roles[region.name]
    # The source region reaches the primary database over the peering while data is migrated.
    migration = region == env.primary and env.primary != env.source
    clients = [ref(label("compute", region), "security_group_id")] if region in env.serving else []
    adopted = env.adopted_in(region.name)
    arguments = Attributes(
        name=env.region_prefix(region.name),
        vpc_id=ref(network, "vpc_id"),
        subnet_ids=private_subnet_ids(network),
        client_security_group_ids=clients,
        migration_cidr_blocks=[env.source.cidr] if migration else [],
        engine_version=database.engine_version,
        parameter_group_family=f"postgres{database.major_version}",
        instance_class=database.instance_class,
        allocated_storage_gb=database.allocated_storage_gb,
        max_allocated_storage_gb=database.max_allocated_storage_gb,
        multi_az=database.multi_az,
        allow_major_version_upgrade=database.allow_major_version_upgrade,
        apply_immediately=database.apply_immediately,
        backup_retention_days=database.backup_retention_days,
        deletion_protection=env.protected,
        skip_final_snapshot=database.skip_final_snapshot,
        db_name=database.name,
        master_username=database.master_username,
        log_retention_days=env.logs.retention_days,
        logs_kms_key_arn=ref(network, "logs_kms_key_arn"),
    )
    if adopted.database:
        arguments["identifier"] = adopted.database
    if adopted.database_subnet_group:
        arguments["subnet_group_name"] = adopted.database_subnet_group
    if role == "standby":
        arguments["replicate_source_db"] = primary_arn or ref(
            label("database", env.primary), "db_instance_arn"
        )
    for window in ("maintenance_window", "backup_window"):
        if getattr(database, window) is not None:
            arguments[window] = getattr(database, window)
    if env.emulator:
        arguments["emulator_compatible"] = True
    return module_call(
        label("database", region), "database", {"aws": provider_alias(region)}, arguments
    )


def compute(env: Environment, region: Region, *, to_top: str = "", one_root: bool = True) -> dict:
    """`to_top`: the path from the root's folder to the environment's (where the package is);
    `one_root`: every serving region's call is in this root, so the writer's waits for theirs."""
    network, data = label("network", region), label("data", region)
    function = env.function
    arguments = Attributes(
        name=env.region_prefix(region.name),
        package_path=expression(f'"${{path.module}}/{to_top}{LAMBDA_PACKAGE}"'),
        handler=LAMBDA_HANDLER,
        memory_mb=function.memory_mb,
        timeout_seconds=function.timeout_seconds,
        reserved_concurrency=function.reserved_concurrency,
        log_retention_days=env.logs.retention_days,
        throttling_burst_limit=env.api.throttling_burst_limit,
        throttling_rate_limit=env.api.throttling_rate_limit,
        vpc_id=ref(network, "vpc_id"),
        vpc_cidr_block=ref(network, "vpc_cidr_block"),
        subnet_ids=private_subnet_ids(network),
        private_aws_access=ref(network, "private_aws_access"),
        interface_endpoints=env.network.interface_endpoints,
        logs_kms_key_arn=ref(network, "logs_kms_key_arn"),
        table_name=env.table_name,
        table_kms_key_arn=ref(data, "table_kms_key_arn"),
        environment_variables=Attributes(
            TABLE_NAME=env.table_name,
            ALLOWED_CURRENCIES=",".join(function.currencies),
            MAX_AMOUNT=function.max_amount,
            LOG_LEVEL="INFO",
            WRITER_REGION=env.primary.name,
            **(
                {"TABLE_SORT_KEY": env.adopted.table_sort_key} if env.adopted.table_sort_key else {}
            ),
            **(
                {"DEFAULT_CURRENCY": function.default_currency} if function.default_currency else {}
            ),
        ),
    )
    function_name = env.adopted_in(region.name).function
    if function_name:
        arguments["function_name"] = function_name
    if env.adopted.api_stage:
        arguments["stage_name"] = env.adopted.api_stage
    if region == env.primary and one_root:
        arguments["apply_after"] = [
            ref(label("compute", other), "function_arn")
            for other in env.serving
            if other != env.primary
        ]
    if env.api.jwt:
        arguments["jwt"] = Attributes(issuer=env.api.jwt.issuer, audience=env.api.jwt.audience)
    if env.emulator:
        arguments["emulator_compatible"] = True
    return module_call(
        label("compute", region), "compute", {"aws": provider_alias(region)}, arguments
    )


def observability(env: Environment, region: Region) -> dict:
    network, compute = label("network", region), label("compute", region)
    alarms = env.alarms
    topic = (
        alarms.topic_arn
        if alarms.topic_arn and alarms.topic_arn.split(":")[3] == region.name
        else None
    )
    arguments = Attributes(
        name=env.name_prefix,
        alarm_emails=alarms.emails,
        alarm_topic_arn=topic,
        alarm_rules={
            name: Attributes(
                threshold=_number(settings.threshold),
                period=settings.period_seconds,
                evaluation_periods=settings.evaluation_periods,
            )
            for name in ALARM_DEFAULTS
            for settings in [alarms.settings(name)]
        },
        kms_key_arn=ref(network, "logs_kms_key_arn"),
        function_name=ref(compute, "function_name"),
        api_id=ref(compute, "api_id"),
        api_stage_name=ref(compute, "api_stage_name"),
        dead_letter_queue_name=ref(compute, "dead_letter_queue_name"),
        db_instance_identifier=ref(label("database", region), "db_instance_identifier"),
        table_name=env.table_name,
    )
    return module_call(
        label("observability", region), "observability", {"aws": provider_alias(region)}, arguments
    )


def replication_alarms(env: Environment, read: Read = ref) -> dict:
    """The source bucket's backlog alarms, in the source region, whatever region is primary."""
    source, alarms = env.source, env.alarms
    rule = alarms.settings("replication-backlog")
    arguments = Attributes(
        name=env.name_prefix,
        kms_key_arn=read(label("network", source), "logs_kms_key_arn"),
        alarm_emails=alarms.emails,
        source_topic_arn=alarms.source_topic_arn,
        alarm_rule=Attributes(
            threshold=_number(rule.threshold),
            period=rule.period_seconds,
            evaluation_periods=rule.evaluation_periods,
        ),
        source_bucket=read(label("data", source), "bucket_name"),
        destination_buckets=per_region(env.targets, "data", "bucket_name", read),
    )
    return module_call(
        identifier("replication_alarms"),
        "replication-alarms",
        {"aws": provider_alias(source)},
        arguments,
    )


def api_domain(env: Environment, region: Region, read: Read = ref) -> dict:
    """`region`'s certificate and regional domain name for `api.domain`, mapped to its API."""
    compute = label("compute", region)
    arguments = Attributes(
        name=env.name_prefix,
        domain_name=env.api.domain,
        api_id=read(compute, "api_id"),
        stage_name=read(compute, "api_stage_name"),
        validation_record_fqdns=ref(label("dns"), "validation_record_fqdns"),
    )
    return module_call(
        label("api_domain", region), "api-domain", {"aws": provider_alias(region)}, arguments
    )


def dns(env: Environment, read: Read = ref) -> dict | None:
    api = env.api
    if api.domain is None:
        return None
    secondary = next((region for region in env.serving if region != env.primary), None)
    routed = env.serving if api.routing == "weighted" else [env.primary, secondary]
    endpoints = {
        region.name: Attributes(
            target_domain_name=ref(label("api_domain", region), "domain_target.name"),
            target_zone_id=ref(label("api_domain", region), "domain_target.zone_id"),
            failover="PRIMARY" if region == env.primary else "SECONDARY",
            weight=api.weights.get(region.name, 0),
            health_check=read(label("compute", region), "health_check_target"),
        )
        for region in routed
        if region is not None
    }
    arguments = Attributes(
        name=env.name_prefix,
        domain=api.domain,
        hosted_zone_id=api.hosted_zone_id,
        routing=api.routing,
        validation_record=ref(label("api_domain", env.primary), "certificate_validation_record"),
        endpoints=endpoints,
    )
    return module_call(label("dns"), "dns", {"aws": provider_alias(env.home)}, arguments)


def _number(value: float) -> int | float:
    """A whole number as an int, so HCL shows `1`, not `1.0`."""
    return int(value) if float(value).is_integer() else value


def per_region(regions: list[Region], kind: str, output: str, read: Read = ref) -> dict[str, Hcl]:
    """A map from region name to one output of that region's module, for an output block."""
    return {region.name: read(label(kind, region), output) for region in regions}
