"""Turn a validated Environment into the files of a Terraform root: a pure function."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import jinja2

from payinfra import assets
from payinfra.config import ALARM_DEFAULTS, Environment, Region
from payinfra.hcl import Attributes, Hcl, body, expression, identifier, literal, quote
from payinfra.package import build_zip

MODULES = (
    "compute",
    "data",
    "database",
    "network",
    "observability",
    "peering",
    "replication-alarms",
)
# Only when the YAML asks for it (api.domain).
DNS_MODULE = "dns"
ROOT_TEMPLATES = ("backend.tf", "main.tf", "moves.tf", "outputs.tf", "providers.tf", "versions.tf")
TERRAFORM_MIN = "1.6"
# The S3 backend's native lock file (`use_lockfile`) arrived in Terraform 1.10.
TERRAFORM_MIN_S3_LOCKFILE = "1.10"
AWS_PROVIDER_CONSTRAINT = "~> 5.100"
LAMBDA_PACKAGE = "build/payment_processor.zip"
LAMBDA_HANDLER = "payment_processor.app.handler"
# The root output in which every state records the environment it belongs to and its protection.
STATE_IDENTITY_OUTPUT = "payinfra_environment"

Files = dict[str, str | bytes]


def render_environment(env: Environment) -> Files:
    """Every generated file of `out/<env>/`, keyed by relative path, in sorted order."""
    context = _root_context(env)
    jinja = _jinja(assets.templates_dir() / "root")
    files: Files = {
        name: jinja.get_template(f"{name}.j2").render(context) for name in ROOT_TEMPLATES
    }
    for module in MODULES:
        files.update(_module_files(module))
    if env.api.domain:
        files.update(_module_files(DNS_MODULE))
    files[LAMBDA_PACKAGE] = build_zip(assets.lambda_source_dir())
    return dict(sorted(files.items()))


def _module_files(module: str) -> Files:
    """Modules are static Terraform: copied verbatim, configured only through their variables."""
    folder = assets.templates_dir() / "modules" / module
    return {
        f"modules/{module}/{path.name}": path.read_text(encoding="utf-8")
        for path in sorted(folder.glob("*.tf"))
    }


def _jinja(folder: Path) -> jinja2.Environment:
    jinja = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_only_hcl,
    )
    jinja.filters["hcl"] = literal
    return jinja


def _only_hcl(value: object) -> object:
    if isinstance(value, str) and not isinstance(value, Hcl):
        raise TypeError(f"template interpolates a raw string {value!r}; pipe it through `hcl`")
    return value


# ---- Module calls ----


def _label(kind: str, region: Region | None = None) -> Hcl:
    return identifier(f"{kind}_{region.alias}" if region else kind)


def _ref(module: Hcl, output: str) -> Hcl:
    return expression(f"module.{module}.{output}")


def _private_subnet_ids(network: Hcl) -> Hcl:
    return expression(f"values({_ref(network, 'private_subnet_ids')})")


def _provider(region: Region) -> Hcl:
    return expression(f"aws.{identifier(region.alias)}")


def _module(label: Hcl, source: str, providers: dict[str, Hcl], arguments: Attributes) -> dict:
    return {
        "label": quote(label),
        "source": quote(f"./modules/{source}"),
        "providers": literal(Attributes(providers), indent=2),
        "arguments": body(arguments),
    }


def _network(env: Environment, region: Region) -> dict:
    arguments = Attributes(
        name=f"{env.name_prefix}-{region.name}",
        cidr_block=region.cidr,
        nat_mode=env.nat_mode(region),
        flow_log_retention_days=env.network.flow_log_retention_days,
        interface_endpoints=env.network.interface_endpoints,
        public_subnets=dict(zip(region.azs, region.subnets("public"), strict=True)),
        private_subnets=dict(zip(region.azs, region.subnets("private"), strict=True)),
    )
    return _module(_label("network", region), "network", {"aws": _provider(region)}, arguments)


def _peering(env: Environment, target: Region) -> dict:
    source = env.source
    requester, accepter = _label("network", source), _label("network", target)
    arguments = Attributes(
        name=f"{env.name_prefix}-{source.name}-to-{target.name}",
        accepter_region=target.name,
        requester_vpc_id=_ref(requester, "vpc_id"),
        requester_cidr_block=_ref(requester, "vpc_cidr_block"),
        requester_route_table_ids=_ref(requester, "private_route_table_ids"),
        accepter_vpc_id=_ref(accepter, "vpc_id"),
        accepter_cidr_block=_ref(accepter, "vpc_cidr_block"),
        accepter_route_table_ids=_ref(accepter, "private_route_table_ids"),
    )
    providers = {"aws.requester": _provider(source), "aws.accepter": _provider(target)}
    return _module(_label("peering", target), "peering", providers, arguments)


def _data(env: Environment, region: Region) -> dict:
    arguments = Attributes(
        name=env.name_prefix,
        noncurrent_version_expiration_days=env.storage.noncurrent_version_expiration_days,
        access_log_retention_days=env.storage.access_log_retention_days,
        access_logs_force_destroy=not env.protected,
    )
    destinations = _replication_destinations(env, region)
    if destinations:
        arguments["replication_destinations"] = {
            other.name: Attributes(
                bucket_arn=_ref(_label("data", other), "replica_bucket_arn"),
                kms_key_arn=_ref(_label("data", other), "s3_kms_key_arn"),
            )
            for other in destinations
        }
    if region == env.home:
        arguments["table"] = Attributes(
            deletion_protection=env.protected,
            replicas={
                other.name: Attributes(kms_key_arn=_ref(_label("data", other), "table_kms_key_arn"))
                for other in env.workload_regions
                if other != env.home
            },
        )
    if env.emulator:
        arguments["emulator_compatible"] = True
    return _module(_label("data", region), "data", {"aws": _provider(region)}, arguments)


def _replication_destinations(env: Environment, region: Region) -> list[Region]:
    """The source's bucket replicates to the targets' (the migration); the primary's to every
    other workload region's (the standbys' copies)."""
    found = env.targets if region == env.source else []
    if region == env.primary:
        found = found + [other for other in env.replica_regions if other not in found]
    return [other for other in env.regions if other in found and other != region]


def _database(env: Environment, region: Region) -> dict:
    network, database = _label("network", region), env.database
    role = env.roles[region.name]
    # The source region reaches the primary database over the peering while data is migrated.
    migration = region == env.primary and env.primary != env.source
    clients = (
        [_ref(_label("compute", region), "security_group_id")] if region in env.serving else []
    )
    arguments = Attributes(
        name=env.name_prefix,
        vpc_id=_ref(network, "vpc_id"),
        subnet_ids=_private_subnet_ids(network),
        client_security_group_ids=clients,
        migration_cidr_blocks=[env.source.cidr] if migration else [],
        engine_version=database.engine_version,
        parameter_group_family=f"postgres{database.major_version}",
        instance_class=database.instance_class,
        allocated_storage_gb=database.allocated_storage_gb,
        max_allocated_storage_gb=database.max_allocated_storage_gb,
        multi_az=database.multi_az,
        allow_major_version_upgrade=database.allow_major_version_upgrade,
        backup_retention_days=database.backup_retention_days,
        deletion_protection=env.protected,
        skip_final_snapshot=database.skip_final_snapshot,
        db_name=database.name,
        master_username=database.master_username,
        log_retention_days=env.logs.retention_days,
        logs_kms_key_arn=_ref(network, "logs_kms_key_arn"),
        key_policy_json=_ref(_label("data", region), "account_key_policy_json"),
    )
    if role == "standby":
        arguments["replicate_source_db"] = _ref(_label("database", env.primary), "db_instance_arn")
    if env.emulator:
        arguments["emulator_compatible"] = True
    return _module(_label("database", region), "database", {"aws": _provider(region)}, arguments)


def _compute(env: Environment, region: Region) -> dict:
    network, data, home = (
        _label("network", region),
        _label("data", region),
        _label("data", env.home),
    )
    function = env.function
    # The table is defined in its home region; its replica here has the same name.
    home_arn = _ref(home, "table_arn")
    table_arn = (
        home_arn
        if region == env.home
        else expression(f'replace({home_arn}, ":{env.home.name}:", ":{region.name}:")')
    )
    arguments = Attributes(
        name=env.name_prefix,
        package_path=expression(f'"${{path.module}}/{LAMBDA_PACKAGE}"'),
        handler=LAMBDA_HANDLER,
        memory_mb=function.memory_mb,
        timeout_seconds=function.timeout_seconds,
        reserved_concurrency=function.reserved_concurrency,
        log_retention_days=env.logs.retention_days,
        throttling_burst_limit=env.api.throttling_burst_limit,
        throttling_rate_limit=env.api.throttling_rate_limit,
        vpc_id=_ref(network, "vpc_id"),
        vpc_cidr_block=_ref(network, "vpc_cidr_block"),
        subnet_ids=_private_subnet_ids(network),
        private_aws_access=_ref(network, "private_aws_access"),
        logs_kms_key_arn=_ref(network, "logs_kms_key_arn"),
        table_arn=table_arn,
        table_kms_key_arn=_ref(data, "table_kms_key_arn"),
        key_policy_json=_ref(data, "account_key_policy_json"),
        environment_variables=Attributes(
            TABLE_NAME=_ref(home, "table_name"),
            ALLOWED_CURRENCIES=",".join(function.currencies),
            MAX_AMOUNT=function.max_amount,
            LOG_LEVEL="INFO",
            WRITER_REGION=env.primary.name,
            **(
                {"DEFAULT_CURRENCY": function.default_currency} if function.default_currency else {}
            ),
        ),
    )
    if region == env.primary:
        arguments["apply_after"] = [
            _ref(_label("compute", other), "function_arn")
            for other in env.serving
            if other != env.primary
        ]
    if env.api.domain:
        arguments["domain_name"] = env.api.domain
        arguments["domain_validation_record_fqdns"] = _ref(_label("dns"), "validation_record_fqdns")
    if env.api.jwt:
        arguments["jwt"] = Attributes(issuer=env.api.jwt.issuer, audience=env.api.jwt.audience)
    if env.emulator:
        arguments["emulator_compatible"] = True
    return _module(_label("compute", region), "compute", {"aws": _provider(region)}, arguments)


def _observability(env: Environment, region: Region) -> dict:
    network, compute = _label("network", region), _label("compute", region)
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
        kms_key_arn=_ref(network, "logs_kms_key_arn"),
        function_name=_ref(compute, "function_name"),
        api_id=_ref(compute, "api_id"),
        api_stage_name=_ref(compute, "api_stage_name"),
        dead_letter_queue_name=_ref(compute, "dead_letter_queue_name"),
        db_instance_identifier=_ref(_label("database", region), "db_instance_identifier"),
        table_name=_ref(_label("data", env.home), "table_name"),
    )
    return _module(
        _label("observability", region), "observability", {"aws": _provider(region)}, arguments
    )


def _replication_alarms(env: Environment) -> dict:
    """The source bucket's backlog alarms, in the source region, whatever region is primary."""
    source, alarms = env.source, env.alarms
    rule = alarms.settings("replication-backlog")
    arguments = Attributes(
        name=env.name_prefix,
        kms_key_arn=_ref(_label("network", source), "logs_kms_key_arn"),
        alarm_emails=alarms.emails,
        source_topic_arn=alarms.source_topic_arn,
        alarm_rule=Attributes(
            threshold=_number(rule.threshold),
            period=rule.period_seconds,
            evaluation_periods=rule.evaluation_periods,
        ),
        source_bucket=_ref(_label("data", source), "bucket_name"),
        destination_buckets=_per_region(env.targets, "data", "bucket_name"),
    )
    label = identifier("replication_alarms")
    return _module(label, "replication-alarms", {"aws": _provider(source)}, arguments)


def _dns(env: Environment) -> dict | None:
    api = env.api
    if api.domain is None:
        return None
    secondary = next((region for region in env.serving if region != env.primary), None)
    routed = env.serving if api.routing == "weighted" else [env.primary, secondary]
    endpoints = {
        region.name: Attributes(
            target_domain_name=expression(
                f"{_ref(_label('compute', region), 'domain_target')}.name"
            ),
            target_zone_id=expression(
                f"{_ref(_label('compute', region), 'domain_target')}.zone_id"
            ),
            failover="PRIMARY" if region == env.primary else "SECONDARY",
            weight=api.weights.get(region.name, 0),
            health_alarm_name=_ref(_label("observability", region), "api_5xx_alarm_name"),
        )
        for region in routed
        if region is not None
    }
    arguments = Attributes(
        name=env.name_prefix,
        domain=api.domain,
        hosted_zone_id=api.hosted_zone_id,
        routing=api.routing,
        validation_record=_ref(_label("compute", env.primary), "certificate_validation_record"),
        endpoints=endpoints,
    )
    return _module(_label("dns"), "dns", {"aws": _provider(env.home)}, arguments)


# ---- Moves and retirements ----

# Stateful resources of a processor that outlive it when its region stops serving: the audit
# trail (log groups), failed payments (the queue) and the key that encrypts them. Terraform
# forgets them; they stay in AWS under their retention (docs/region-moves.md: "Retiring a region").
RETAINED_COMPUTE_RESOURCES = (
    "aws_cloudwatch_log_group.api_access",
    "aws_cloudwatch_log_group.function",
    "aws_kms_key.function",
    "aws_sqs_queue.dead_letter",
)
# Where payinfra before region moves kept the database (in the data module, counted), and
# where the database module keeps each piece now.
LEGACY_DATABASE_ADDRESSES = (
    ("aws_kms_key.rds[0]", "aws_kms_key.this"),
    ("aws_kms_alias.rds[0]", "aws_kms_alias.this"),
    ("aws_db_subnet_group.this[0]", "aws_db_subnet_group.this"),
    ("aws_security_group.db[0]", "aws_security_group.db"),
    ("aws_vpc_security_group_ingress_rule.db_from_clients", None),
    ("aws_vpc_security_group_ingress_rule.db_from_migration_source", None),
    ("aws_db_parameter_group.this[0]", "aws_db_parameter_group.this"),
    ("aws_cloudwatch_log_group.db", None),
    ("aws_iam_role.rds_monitoring[0]", "aws_iam_role.rds_monitoring"),
    (
        "aws_iam_role_policy_attachment.rds_monitoring[0]",
        "aws_iam_role_policy_attachment.rds_monitoring",
    ),
    ("aws_db_instance.this[0]", "aws_db_instance.this"),
)


LEGACY_REPLICATION_ALARM_RESOURCES = (
    "aws_sns_topic.replication_alarms",
    "aws_sns_topic_subscription.replication_email",
    "aws_cloudwatch_metric_alarm.replication_backlog",
)


def _upgrade_moves(env: Environment) -> list[dict[str, Hcl]]:
    """`moved` blocks that carry a state written before region moves existed (one compute and
    observability module, the database inside the home region's data module) to today's
    addresses, so upgrading payinfra plans no replacement."""
    home, moves = env.home, []
    # Before the observability module of the (one) primary region carried the backlog alarms.
    for resource in LEGACY_REPLICATION_ALARM_RESOURCES:
        moves.append((f"module.observability.{resource}", f"module.replication_alarms.{resource}"))
    if home in env.serving:
        for kind in ("compute", "observability"):
            moves.append((f"module.{kind}", f"module.{_label(kind, home)}"))
    if home in env.workload_regions:
        data, database = _label("data", home), _label("database", home)
        moves += [
            (f"module.{data}.{old}", f"module.{database}.{new or old}")
            for old, new in LEGACY_DATABASE_ADDRESSES
        ]
    return [{"from": expression(old), "to": expression(new)} for old, new in moves]


def _retired_addresses(env: Environment) -> list[str]:
    """What Terraform forgets (never destroys) when a region leaves the workload: its database
    module, and its processor's stateful resources once it stops serving. A `removed` block for
    something not in the state does nothing, so every other region gets them."""
    found = []
    for region in env.regions:
        if region not in env.serving:
            found += [f"module.{_label('compute', region)}.{r}" for r in RETAINED_COMPUTE_RESOURCES]
        if region not in env.workload_regions:
            found.append(f"module.{_label('database', region)}")
    return found


def _number(value: float) -> int | float:
    """A whole number as an int, so HCL shows `1`, not `1.0`."""
    return int(value) if float(value).is_integer() else value


# ---- Root ----


def _root_context(env: Environment) -> dict:
    # Replication reads the targets' buckets, so their data modules come before the source's.
    data_regions = [*env.targets, env.source]
    return {
        "terraform_min": literal(
            f">= {TERRAFORM_MIN_S3_LOCKFILE if env.backend.type == 's3' else TERRAFORM_MIN}"
        ),
        "aws_constraint": literal(AWS_PROVIDER_CONSTRAINT),
        "backend": _backend_context(env),
        "providers": [
            _provider_context(env, region.name, region.alias, env.aws.role_arn)
            for region in env.regions
        ],
        "network": [_network(env, region) for region in env.regions],
        "peering": [_peering(env, target) for target in env.targets],
        "data": [_data(env, region) for region in data_regions],
        "database": [_database(env, region) for region in env.workload_regions],
        "compute": [_compute(env, region) for region in env.serving],
        "observability": [_observability(env, region) for region in env.serving],
        "replication_alarms": _replication_alarms(env),
        "dns": _dns(env),
        "moved": _upgrade_moves(env),
        "removed": [expression(address) for address in _retired_addresses(env)],
        "outputs": _outputs(env),
    }


def _provider_context(
    env: Environment, region_name: str, alias: str | None, role_arn: str | None
) -> dict:
    settings = Attributes(region=region_name)
    if alias:
        settings = Attributes(alias=alias, **settings)
    if env.aws.account_id:
        # Credentials of any other account make the provider stop before it changes anything.
        settings["allowed_account_ids"] = [env.aws.account_id]
    if env.emulator:
        # The emulator serves buckets by path, not by virtual host.
        settings["s3_use_path_style"] = True
    return {
        "settings": body(settings),
        "assume_role": body(_assume_role(env, role_arn), indent=4) if role_arn else None,
        "default_tags": literal({**env.common_tags(), "Region": region_name}, indent=4),
    }


def _assume_role(env: Environment, role_arn: str) -> Attributes:
    settings = Attributes(role_arn=role_arn, session_name=env.session_name)
    if env.aws.external_id:
        settings["external_id"] = env.aws.external_id
    return settings


def _per_region(regions: list[Region], kind: str, output: str) -> dict[str, Hcl]:
    """A map from region name to one output of that region's module, for an output block."""
    return {region.name: _ref(_label(kind, region), output) for region in regions}


def _outputs(env: Environment) -> list[dict[str, Hcl]]:
    data, compute = _label("data", env.home), _label("compute", env.primary)
    database = _label("database", env.primary)
    outputs = [
        ("vpc_ids", "VPC id per region.", _per_region(env.regions, "network", "vpc_id")),
        (
            "private_subnet_ids",
            "Private subnet ids per region, keyed by availability zone.",
            _per_region(env.regions, "network", "private_subnet_ids"),
        ),
        (
            "peering_connection_ids",
            "VPC peering connection id per target region.",
            _per_region(env.targets, "peering", "peering_connection_id"),
        ),
        (
            "bucket_names",
            "Data bucket name per region.",
            _per_region(env.regions, "data", "bucket_name"),
        ),
        (
            "rds_endpoint",
            f"host:port of the primary region's PostgreSQL instance. {REFERENCE_NOTE}",
            _ref(database, "db_endpoint"),
        ),
        (
            "rds_master_secret_arn",
            "ARN of the Secrets Manager secret with the database "
            "master credentials (the ARN, never the value).",
            _ref(database, "db_master_secret_arn"),
        ),
        ("transactions_table_name", "DynamoDB transactions table.", _ref(data, "table_name")),
        (
            "lambda_function_arn",
            f"Payment processor function ARN. {REFERENCE_NOTE}",
            _ref(compute, "function_arn"),
        ),
        (
            "api_endpoint",
            "Base URL of the primary region's payments API.",
            _ref(compute, "api_endpoint"),
        ),
        (
            "workload",
            "What each region does for the workload (primary, standby, former, drained).",
            literal(env.roles, indent=2),
        ),
        (
            "api_invoke_policy_json",
            "IAM policy that lets a caller invoke exactly the payments "
            "routes (attach it to the caller's role).",
            _ref(compute, "invoke_policy_json"),
        ),
        (
            "alarm_topic_arn",
            "SNS topic the primary region's alarms notify.",
            _ref(_label("observability", env.primary), "alarm_topic_arn"),
        ),
        (
            STATE_IDENTITY_OUTPUT,
            "The environment this state belongs to and whether it is protected: payinfra reads "
            "it back to refuse lowering the protection of a protected environment's state.",
            literal({"name": env.name, "protected": env.protected}, indent=2),
        ),
    ]
    if env.api.domain:
        outputs.append(
            (
                "api_url",
                "The URL clients keep through a region move.",
                _ref(_label("dns"), "api_url"),
            )
        )
    outputs += _reference_outputs(env)
    return [
        {"name": quote(name), "body": body(Attributes(description=description, value=value))}
        for name, description, value in outputs
    ]


REFERENCE_NOTE = "Kept under the reference stack's name for its consumers."
# The reference stack's region-paired outputs: the suffix and the region-name prefix it stands for.
REFERENCE_REGION_PAIRS = (("us", "us-"), ("eu", "eu-"))


def _reference_outputs(env: Environment) -> list[tuple[str, str, Hcl]]:
    """The outputs of the CDKTF stack payinfra replaces, by the same names and meanings, so
    scripts reading e.g. `terraform output -raw dynamodb_table` keep working. Region-paired
    ones only when they are unambiguous: exactly one `us-*` and one `eu-*` region."""
    data, compute = _label("data", env.home), _label("compute", env.primary)
    outputs = [
        ("dynamodb_table", f"DynamoDB transactions table name. {REFERENCE_NOTE}",
         _ref(data, "table_name")),
        ("api_gateway_endpoint", f"API Gateway endpoint URL. {REFERENCE_NOTE}",
         _ref(compute, "api_endpoint")),
    ]  # fmt: skip
    paired = {
        suffix: [region for region in env.regions if region.name.startswith(prefix)]
        for suffix, prefix in REFERENCE_REGION_PAIRS
    }
    if all(len(regions) == 1 for regions in paired.values()):
        for suffix, (region,) in paired.items():
            outputs += [
                (f"vpc_{suffix}_id", f"VPC ID in {region.name}. {REFERENCE_NOTE}",
                 _ref(_label("network", region), "vpc_id")),
                (f"s3_bucket_{suffix}", f"S3 bucket name in {region.name}. {REFERENCE_NOTE}",
                 _ref(_label("data", region), "bucket_name")),
            ]  # fmt: skip
    return sorted(outputs)


def _backend_context(env: Environment) -> dict[str, Hcl] | None:
    backend = env.backend
    if backend.type == "local":
        return None
    settings = Attributes(
        bucket=backend.bucket,
        key=f"{backend.key_prefix}/{env.name}/terraform.tfstate",
        region=backend.region,
        encrypt=True,
        use_lockfile=True,
    )
    if env.emulator:
        settings["use_path_style"] = True
    role = backend.role_arn or env.aws.role_arn
    if role:
        settings["assume_role"] = _assume_role(env, role)
    return {"settings": body(settings, indent=4)}


# ---- The state bucket's own root (payinfra bootstrap) ----

BOOTSTRAP_TEMPLATES = ("backend.tf", "providers.tf", "versions.tf")
STATE_BUCKET_MODULE = "state-bucket"


_RESOURCE_ADDRESS = re.compile(r"(module\.[a-z0-9_]+\.)*aws_[a-z0-9_]+\.[a-z0-9_]+")


def _resource_address(address: str) -> str:
    """An import's `to` is an address, not a string: only a plain resource address passes."""
    if not _RESOURCE_ADDRESS.fullmatch(address):
        raise ValueError(f"not a resource address: {address!r}")
    return address


def render_bootstrap(env: Environment, imports: Mapping[str, str] | None = None) -> Files:
    """A small root that creates the S3 state bucket the YAML names, its state kept locally;
    `imports` ({address: id}) adopts what an interrupted bootstrap left in AWS."""
    backend = env.backend
    if backend.bucket is None or backend.region is None:
        raise ValueError("bootstrap renders only for an s3 backend")
    context = {
        "terraform_min": literal(f">= {TERRAFORM_MIN}"),
        "aws_constraint": literal(AWS_PROVIDER_CONSTRAINT),
        "backend": None,
        "providers": [
            _provider_context(env, backend.region, None, backend.role_arn or env.aws.role_arn)
        ],
        "module": _module(
            identifier("state_bucket"),
            STATE_BUCKET_MODULE,
            {"aws": expression("aws")},
            Attributes(
                bucket=backend.bucket,
                environment=env.name,
                noncurrent_version_expiration_days=env.storage.noncurrent_version_expiration_days,
                **({"emulator_compatible": True} if env.emulator else {}),
            ),
        ),
    }
    jinja = _jinja(assets.templates_dir() / "root")
    files: Files = {
        name: jinja.get_template(f"{name}.j2").render(context) for name in BOOTSTRAP_TEMPLATES
    }
    files["main.tf"] = jinja.get_template("bootstrap-main.tf.j2").render(context)
    if imports:
        adopted = [
            {"to": expression(_resource_address(address)), "id": literal(imports[address])}
            for address in sorted(imports)
        ]
        files["imports.tf"] = jinja.get_template("bootstrap-imports.tf.j2").render(imports=adopted)
    files.update(_module_files(STATE_BUCKET_MODULE))
    return dict(sorted(files.items()))
