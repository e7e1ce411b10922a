"""The root module's context: providers, backend, the module calls in dependency order, the
`moved` and `removed` blocks of upgrades and retired regions, and the outputs (payinfra's own and
the reference stack's names)."""

from __future__ import annotations

from collections.abc import Collection

from payinfra.config import Environment, Region
from payinfra.hcl import Attributes, Hcl, body, comment, expression, literal, quote
from payinfra.render.calls import (
    Read,
    api_domain,
    bucket_replication,
    compute,
    data,
    database,
    dns,
    label,
    network,
    observability,
    peering,
    per_region,
    provider_alias,
    ref,
    replication_alarms,
    replication_destinations,
    table_replica,
)
from payinfra.render.constants import (
    AWS_PROVIDER_CONSTRAINT,
    REGIONS_FOLDER,
    STATE_IDENTITY_OUTPUT,
    TERRAFORM_MIN,
    TERRAFORM_MIN_S3_LOCKFILE,
)

# The one resource of modules/table-replica.
TABLE_REPLICA = "aws_dynamodb_table_replica.this"

# Stateful resources of a processor that outlive it when its region stops serving: the audit
# trail (log groups), failed payments (the queue) and the key that encrypts them. Terraform
# forgets them; they stay in AWS under their retention (docs/region-moves.md: "Retiring a region").
RETAINED_COMPUTE_RESOURCES = (
    "aws_cloudwatch_log_group.api_access",
    "aws_cloudwatch_log_group.function",
    "aws_sqs_queue.dead_letter",
    "module.key.aws_kms_key.this",
    # The same key where payinfra kept it before the kms-key submodule: the module's `moved`
    # block carries it only while the module is still called, so a region drained in the same
    # plan as the upgrade must forget it by its old address.
    "aws_kms_key.function",
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

# Where the data module kept a bucket's replication before it became a module of its own.
LEGACY_BUCKET_REPLICATION_ADDRESSES = (
    ("aws_iam_role.replication[0]", "aws_iam_role.this"),
    ("aws_iam_role_policy.replication[0]", "aws_iam_role_policy.this"),
    (
        "aws_s3_bucket_replication_configuration.this[0]",
        "aws_s3_bucket_replication_configuration.this",
    ),
)

# Where the compute module kept its custom domain before it became a module of its own.
LEGACY_API_DOMAIN_ADDRESSES = (
    ("aws_acm_certificate.api[0]", "aws_acm_certificate.this"),
    ("aws_acm_certificate_validation.api[0]", "aws_acm_certificate_validation.this"),
    ("aws_apigatewayv2_domain_name.api[0]", "aws_apigatewayv2_domain_name.this"),
    ("aws_apigatewayv2_api_mapping.api[0]", "aws_apigatewayv2_api_mapping.this"),
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
            moves.append((f"module.{kind}", f"module.{label(kind, home)}"))
    if home in env.workload_regions:
        data, database = label("data", home), label("database", home)
        moves += [
            (f"module.{data}.{old}", f"module.{database}.{new or old}")
            for old, new in LEGACY_DATABASE_ADDRESSES
        ]
    for region in replicating_regions(env):
        data, replication = label("data", region), label("bucket_replication", region)
        moves += [
            (f"module.{data}.{old}", f"module.{replication}.{new}")
            for old, new in LEGACY_BUCKET_REPLICATION_ADDRESSES
        ]
    for region in domain_regions(env):
        compute, domain = label("compute", region), label("api_domain", region)
        moves += [
            (f"module.{compute}.{old}", f"module.{domain}.{new}")
            for old, new in LEGACY_API_DOMAIN_ADDRESSES
        ]
    return [{"from": expression(old), "to": expression(new)} for old, new in moves]


def domain_regions(env: Environment) -> list[Region]:
    return list(env.serving) if env.api.domain else []


def replicating_regions(env: Environment) -> list[Region]:
    return [region for region in env.regions if replication_destinations(env, region)]


def retired_addresses(env: Environment, region: Region) -> list[str]:
    """What Terraform forgets (never destroys) when `region` leaves the workload: its database
    module, and its processor's stateful resources once it stops serving. A `removed` block for
    something not in the state does nothing, so every region that does neither gets them."""
    found = []
    if region not in env.serving:
        found += [f"module.{label('compute', region)}.{r}" for r in RETAINED_COMPUTE_RESOURCES]
    if region not in env.workload_regions:
        found += [f"module.{label('database', region)}", table_replica_module(region)]
    return found


def replica_imports(env: Environment, regions: Collection[str]) -> list[dict]:
    """An import block per region in `regions` that has a table-replica module call; its id is
    `table:home region`, as the provider imports a replica."""
    table = env.table_name
    return [
        {
            "to": expression(f"{table_replica_module(region)}.{TABLE_REPLICA}"),
            "id": literal(f"{table}:{env.home.name}"),
        }
        for region in _table_replica_regions(env)
        if region.name in regions
    ]


def table_replica_module(region: Region) -> str:
    """The address of `region`'s table-replica module call."""
    return f"module.{label('table_replica', region)}"


def table_replica_regions(env: Environment) -> list[str]:
    """The regions whose table copy is a table-replica module call."""
    return [region.name for region in _table_replica_regions(env)]


def _table_replica_regions(env: Environment) -> list[Region]:
    """Every workload region but the table's home; none on the emulator, which keeps no
    global-table replicas (EMULATOR_GAPS: dynamodb_global_table_replicas)."""
    if env.emulator:
        return []
    return [region for region in env.workload_regions if region != env.home]


# The sections of a root's main.tf, in dependency order: (key, title).
SECTIONS = (
    ("network", "Network: one VPC per region"),
    ("peering", "Peering: the source region to every target, routes both ways"),
    ("data", "Data: a bucket per region; the table in its home region, replicated to the "
     "workload's other regions"),
    ("bucket_replication", "Bucket replication: each replicating region's data bucket copied "
     "to other regions' buckets"),
    ("table_replicas", "Table replicas: a copy of the table in each workload region but its "
     "home, protected like the table"),
    ("database", "Database: standalone in the primary (and a former primary), a read replica "
     "in each standby"),
    ("compute", "Compute: the payment processor and its API in each serving region; only the "
     "primary's takes new payments"),
    ("observability", "Observability: alarm topic, dashboard and alarms in each serving region"),
    ("replication_alarms", "Replication backlog alarms, in the source region"),
    ("api_domains", "API domains: each serving region's certificate and domain name for the "
     "one host name"),
    ("dns", "DNS: one API host name, answered by the active region"),
)  # fmt: skip


def sections(calls: dict[str, list[dict]]) -> list[dict]:
    """main.tf's sections that have a module call, in SECTIONS' order."""
    return [
        {"title": comment(title), "modules": calls[key]}
        for key, title in SECTIONS
        if calls.get(key)
    ]


def root_context(env: Environment) -> dict:
    # Replication reads the targets' buckets, so their data modules come before the source's.
    data_regions = [*env.targets, env.source]
    calls = {
        "network": [network(env, region) for region in env.regions],
        "data": [data(env, region) for region in data_regions],
        "table_replicas": [table_replica(env, region) for region in _table_replica_regions(env)],
        "database": [database(env, region) for region in env.workload_regions],
        "compute": [compute(env, region) for region in env.serving],
        "observability": [observability(env, region) for region in env.serving],
        **link_calls(env),
    }
    return {
        **versions_context(env),
        "backend": backend_context(env),
        "providers": [
            provider_context(env, region.name, region.alias, env.aws.role_arn)
            for region in env.regions
        ],
        "identity": None,
        "remote_states": [],
        "sections": sections(calls),
        "moved": _upgrade_moves(env),
        "removed": [
            expression(address)
            for region in env.regions
            for address in retired_addresses(env, region)
        ],
        "outputs": environment_outputs(env),
        "invoke": invoke_policy(env),
    }


def link_calls(env: Environment, read: Read = ref) -> dict[str, list[dict]]:
    """The calls that join regions (main.tf's sections by key), reading the region modules'
    outputs through `read`: in the one root, or in `links/` from the region roots' states."""
    return {
        "peering": [peering(env, target, read) for target in env.targets],
        "bucket_replication": [
            bucket_replication(env, region, read) for region in replicating_regions(env)
        ],
        "replication_alarms": [replication_alarms(env, read)],
        "api_domains": [api_domain(env, region, read) for region in domain_regions(env)],
        "dns": [call for call in [dns(env, read)] if call],
    }


def versions_context(env: Environment) -> dict[str, Hcl]:
    return {
        "terraform_min": literal(
            f">= {TERRAFORM_MIN_S3_LOCKFILE if env.backend.type == 's3' else TERRAFORM_MIN}"
        ),
        "aws_constraint": literal(AWS_PROVIDER_CONSTRAINT),
    }


def invoke_policy(env: Environment, read: Read = ref) -> dict[str, Hcl]:
    """The policy document that lets a caller invoke every serving region's payments routes."""
    arns = ", ".join(str(read(label("compute", region), "invoke_resource_arns"))
                     for region in env.serving)  # fmt: skip
    return {
        "provider": provider_alias(env.primary),
        "resources": expression(f"sort(concat({arns}))"),
    }


def provider_context(
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
        "assume_role": body(assume_role(env, role_arn), indent=4) if role_arn else None,
        "default_tags": literal({**env.common_tags(), "Region": region_name}, indent=4),
    }


def assume_role(env: Environment, role_arn: str) -> Attributes:
    settings = Attributes(role_arn=role_arn, session_name=env.session_name)
    if env.aws.external_id:
        settings["external_id"] = env.aws.external_id
    return settings


def environment_outputs(env: Environment, read: Read = ref) -> list[dict[str, Hcl]]:
    """The environment's outputs (payinfra's and the reference stack's), the state identity
    among them."""
    data, compute = label("data", env.home), label("compute", env.primary)
    database = label("database", env.primary)
    outputs: list[tuple[str, str, object]] = [
        ("vpc_ids", "VPC id per region.", per_region(env.regions, "network", "vpc_id", read)),
        (
            "private_subnet_ids",
            "Private subnet ids per region, keyed by availability zone.",
            per_region(env.regions, "network", "private_subnet_ids", read),
        ),
        (
            "peering_connection_ids",
            "VPC peering connection id per target region.",
            per_region(env.targets, "peering", "peering_connection_id"),
        ),
        (
            "bucket_names",
            "Data bucket name per region.",
            per_region(env.regions, "data", "bucket_name", read),
        ),
        (
            "rds_endpoint",
            f"host:port of the primary region's PostgreSQL instance. {REFERENCE_NOTE}",
            read(database, "db_endpoint"),
        ),
        (
            "rds_master_secret_arn",
            "ARN of the Secrets Manager secret with the database "
            "master credentials (the ARN, never the value).",
            read(database, "db_master_secret_arn"),
        ),
        ("transactions_table_name", "DynamoDB transactions table.", read(data, "table_name")),
        (
            "lambda_function_arn",
            f"Payment processor function ARN. {REFERENCE_NOTE}",
            read(compute, "function_arn"),
        ),
        (
            "api_endpoint",
            "Base URL of the primary region's payments API.",
            read(compute, "api_endpoint"),
        ),
        (
            "workload",
            "What each region does for the workload (primary, standby, former, drained).",
            literal(env.roles, indent=2),
        ),
        (
            "api_invoke_policy_json",
            "IAM policy that lets a caller invoke exactly the payments routes of every serving "
            "region's API (attach it to the caller's role).",
            expression("data.aws_iam_policy_document.api_invoke.json"),
        ),
        (
            "alarm_topic_arn",
            "SNS topic the primary region's alarms notify.",
            read(label("observability", env.primary), "alarm_topic_arn"),
        ),
        state_identity_output(env),
    ]
    if env.api.domain:
        outputs.append(
            (
                "api_url",
                "The URL clients keep through a region move.",
                ref(label("dns"), "api_url"),
            )
        )
    outputs += _reference_outputs(env, read)
    return output_blocks(outputs)


def state_identity_output(env: Environment) -> tuple[str, str, Hcl]:
    return (
        STATE_IDENTITY_OUTPUT,
        "The environment this state belongs to and whether it is protected: payinfra reads "
        "it back to refuse lowering the protection of a protected environment's state.",
        literal({"name": env.name, "protected": env.protected}, indent=2),
    )


def output_blocks(outputs: list[tuple[str, str, object]]) -> list[dict[str, Hcl]]:
    return [
        {"name": quote(name), "body": body(Attributes(description=description, value=value))}
        for name, description, value in outputs
    ]


REFERENCE_NOTE = "Kept under the reference stack's name for its consumers."

# The reference stack's region-paired outputs: the suffix and the region-name prefix it stands for.
REFERENCE_REGION_PAIRS = (("us", "us-"), ("eu", "eu-"))


def _reference_outputs(env: Environment, read: Read) -> list[tuple[str, str, Hcl]]:
    """The outputs of the CDKTF stack payinfra replaces, by the same names and meanings, so
    scripts reading e.g. `terraform output -raw dynamodb_table` keep working. Region-paired
    ones only when they are unambiguous: exactly one `us-*` and one `eu-*` region."""
    data, compute = label("data", env.home), label("compute", env.primary)
    outputs = [
        ("dynamodb_table", f"DynamoDB transactions table name. {REFERENCE_NOTE}",
         read(data, "table_name")),
        ("api_gateway_endpoint", f"API Gateway endpoint URL. {REFERENCE_NOTE}",
         read(compute, "api_endpoint")),
    ]  # fmt: skip
    paired = {
        suffix: [region for region in env.regions if region.name.startswith(prefix)]
        for suffix, prefix in REFERENCE_REGION_PAIRS
    }
    if all(len(regions) == 1 for regions in paired.values()):
        for suffix, (region,) in paired.items():
            outputs += [
                (f"vpc_{suffix}_id", f"VPC ID in {region.name}. {REFERENCE_NOTE}",
                 read(label("network", region), "vpc_id")),
                (f"s3_bucket_{suffix}", f"S3 bucket name in {region.name}. {REFERENCE_NOTE}",
                 read(label("data", region), "bucket_name")),
            ]  # fmt: skip
    return sorted(outputs)


def backend_context(env: Environment, root: str | None = None) -> dict[str, Hcl] | None:
    """The S3 backend's settings (None: state in the root's folder); `root`: the folder of one
    of the environment's roots, which keeps its state under a key of its own."""
    if env.backend.type == "local":
        return None
    settings = s3_state(env, root, encrypt=True, use_lockfile=True)
    return {"settings": body(settings, indent=4)}


def s3_state(env: Environment, root: str | None, **settings: object) -> Attributes:
    """Where a root's state lives in S3 and how it is reached, for its backend and for what
    reads it (`terraform_remote_state`): bucket, key, region, `settings`, the emulator's path
    style, the backend's role."""
    bucket, region = state_bucket(env, root)
    found = Attributes(bucket=bucket, key=state_key(env, root), region=region, **settings)
    if env.emulator:
        found["use_path_style"] = True
    if env.backend_role_arn:
        found["assume_role"] = assume_role(env, env.backend_role_arn)
    return found


def state_bucket(env: Environment, root: str | None) -> tuple[str | None, str | None]:
    """(bucket, region) of a root's state: a region root's own region's bucket when the YAML
    names one (backend.region_buckets), else the environment's."""
    parts = (root or "").split("/")
    region = parts[1] if parts[0] == REGIONS_FOLDER and len(parts) > 1 else None
    return env.backend.state_bucket(region)


def state_key(env: Environment, root: str | None = None) -> str:
    folder = f"{env.name}/{root}" if root else env.name
    return f"{env.backend.key_prefix}/{folder}/terraform.tfstate"
