"""Read `terraform show -json` of a saved plan: what changes, and what would lose data."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from payinfra.access_drift import unmanaged_access, without_instance_keys
from payinfra.render import STATE_IDENTITY_OUTPUT

# Resources whose destruction loses data, or keys that data depends on: the one list of them.
# Log groups hold the audit trail, the queue holds failed payments, a secret holds credentials,
# and an S3 bucket may be the data or the Terraform state itself.
STATEFUL_TYPES = frozenset(
    {
        "aws_cloudwatch_log_group",
        "aws_db_instance",
        "aws_dynamodb_table",
        "aws_dynamodb_table_replica",
        "aws_kms_key",
        "aws_s3_bucket",
        "aws_secretsmanager_secret",
        "aws_sqs_queue",
    }
)
COLUMNS = ("create", "update", "replace", "destroy")
# What each verdict means: the one text of it, printed by `plan` (text or Markdown) and by
# `apply` when it refuses.
DATA_LOSS, CANNOT_BE_APPLIED, KEPT_IN_AWS = "DATA LOSS", "CANNOT BE APPLIED", "KEPT IN AWS"
DEFERRED = "DEFERRED"
DESTROYED = "would be destroyed or replaced"
STARTS_EMPTY = (
    "would start empty while another database holds the data; make its region a standby first "
    "(docs/region-moves.md)"
)
DEMOTED = (
    "is a standalone database and cannot become a read replica in place (RDS has no such "
    "operation); remove its region from `workload` first (docs/region-moves.md: Retiring a region)"
)
FORGOTTEN = "is forgotten by Terraform, not destroyed (it stays in AWS)"
UNDOES_FAILOVER = (
    "was moved by `payinfra failover`, and this plan would hand the writer back to a region "
    "that was dark; make the YAML's workload name the failover's region as primary first "
    "(docs/failover.md)"
)
WAITS = (
    "RDS applies it in the instance's maintenance window, not during this apply "
    "(database.apply_immediately: true applies it now)"
)
# What RDS keeps for the maintenance window unless told to apply it immediately (RDS User
# Guide, "Settings for DB instances": the settings whose change is applied "during the next
# maintenance window" by default).
DEFERRED_DATABASE_SETTINGS = (
    "allocated_storage",
    "ca_cert_identifier",
    "db_subnet_group_name",
    "engine_version",
    "instance_class",
    "iops",
    "multi_az",
    "network_type",
    "parameter_group_name",
    "storage_throughput",
    "storage_type",
)
WHOLE_ENVIRONMENT = (
    "-target narrowed this plan; the DATA LOSS and CANNOT BE APPLIED lines judge the whole "
    "environment, and apply enforces them"
)


@dataclass(frozen=True)
class Finding:
    """One verdict on one resource."""

    verdict: str
    address: str
    meaning: str

    def text(self) -> str:
        return f"{self.verdict}: {self.address} {self.meaning}"

    def markdown(self) -> str:
        return f"- **{self.verdict}**: `{self.address}` {self.meaning}"


# What a plan is judged by: the lists that make it lose data or impossible to apply.
VERDICT_KEYS = ("stateful_losses", "empty_databases", "demoted_databases", "undone_failovers")


@dataclass(frozen=True)
class PlanSummary:
    # (module address, resource type) -> Counter of COLUMNS
    rows: dict[tuple[str, str], Counter]
    # addresses of stateful resources the plan destroys or replaces
    stateful_losses: list[str]
    # addresses Terraform stops managing and leaves in AWS (`removed` blocks of a retired region)
    forgotten: list[str] = field(default_factory=list)
    # standalone databases the plan creates while another database is already in the state:
    # a region made primary without first standing by starts with an empty database
    empty_databases: list[str] = field(default_factory=list)
    # standalone databases the plan would turn into read replicas "in place": RDS has no such
    # operation, so such a plan is never applied
    demoted_databases: list[str] = field(default_factory=list)
    # database updates RDS keeps for the maintenance window: "address (setting, setting)"
    deferred_database_changes: list[str] = field(default_factory=list)
    # writer records a failover set that the plan points at another region:
    # "address (from -> to)"; never applied
    undone_failovers: list[str] = field(default_factory=list)

    # True when -target narrowed the plan: the loss lists then also hold what the whole
    # environment's plan found (see `judged_with`).
    judged_on_whole_environment: bool = False

    @property
    def loses_data(self) -> bool:
        return bool(self.stateful_losses or self.empty_databases)

    @property
    def totals(self) -> Counter:
        total: Counter[str] = Counter()
        for counts in self.rows.values():
            total.update(counts)
        return total

    @property
    def has_changes(self) -> bool:
        return any(self.totals.values())

    @property
    def creates_or_updates_only(self) -> bool:
        """Nothing destroyed, replaced or forgotten, and no finding of any kind."""
        totals = self.totals
        return not (totals["replace"] or totals["destroy"] or self.forgotten or self.findings())

    def verdict(self) -> dict[str, list[str]]:
        """What the safety rules judge: every loss and every change that cannot be applied."""
        return {key: list(getattr(self, key)) for key in VERDICT_KEYS}

    def judged_with(self, whole: dict[str, list[str]]) -> PlanSummary:
        """This (targeted) plan judged against the whole environment: its changes, and every
        loss and refusal that either it or the whole environment's plan carries. A target can
        narrow what one apply does, never what the rules see."""

        def union(key: str) -> list[str]:
            return sorted({*getattr(self, key), *whole[key]})

        judged: dict[str, Any] = {key: union(key) for key in VERDICT_KEYS}
        return replace(self, **judged, judged_on_whole_environment=True)

    def findings(self) -> list[Finding]:
        """Every verdict of the plan: what Terraform forgets, what it loses, what it cannot do."""
        return [
            *(Finding(KEPT_IN_AWS, address, FORGOTTEN) for address in self.forgotten),
            *(Finding(DATA_LOSS, address, DESTROYED) for address in self.stateful_losses),
            *(Finding(DATA_LOSS, address, STARTS_EMPTY) for address in self.empty_databases),
            *(Finding(CANNOT_BE_APPLIED, address, DEMOTED) for address in self.demoted_databases),
            *(Finding(CANNOT_BE_APPLIED, item, UNDOES_FAILOVER) for item in self.undone_failovers),
            *(Finding(DEFERRED, change, WAITS) for change in self.deferred_database_changes),
        ]

    def as_json(self) -> dict:
        """A plain, comparable form: what `payinfra plan` records and `apply` re-derives."""
        return {
            "rows": [
                {"module": module, "type": rtype, **{c: counts[c] for c in COLUMNS}}
                for (module, rtype), counts in self.rows.items()
            ],
            "stateful_losses": list(self.stateful_losses),
            "forgotten": list(self.forgotten),
            "empty_databases": list(self.empty_databases),
            "demoted_databases": list(self.demoted_databases),
            "deferred_database_changes": list(self.deferred_database_changes),
            "undone_failovers": list(self.undone_failovers),
            "judged_on_whole_environment": self.judged_on_whole_environment,
        }


def is_targeted(plan: dict) -> bool:
    """Whether -target narrowed the plan: terraform marks such a plan incomplete."""
    return plan.get("complete") is False


def state_identity(outputs: dict) -> dict | None:
    """{"name", "protected"} from `terraform output -json`, or None when the state is empty or
    predates the identity output."""
    entry = outputs.get(STATE_IDENTITY_OUTPUT) if isinstance(outputs, dict) else None
    return _identity(entry.get("value") if isinstance(entry, dict) else None)


def prior_state_identity(plan: dict) -> dict | None:
    """The identity the state held before this plan. A plan's `prior_state` outputs are already
    re-evaluated from the new configuration, so only `output_changes[...].before` tells."""
    changes = plan.get("output_changes")
    entry = changes.get(STATE_IDENTITY_OUTPUT) if isinstance(changes, dict) else None
    return _identity(entry.get("before") if isinstance(entry, dict) else None)


def _identity(value: object) -> dict | None:
    if not isinstance(value, dict):
        return None
    return {"name": value.get("name"), "protected": value.get("protected") is True}


def summarize(plan: dict) -> PlanSummary:
    rows: dict[tuple[str, str], Counter] = {}
    losses, forgotten = [], []
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "managed":
            continue
        if change["change"]["actions"] == ["forget"]:
            forgotten.append(change["address"])
            continue
        kind = _kind(change["change"]["actions"])
        if kind is None:
            continue
        key = (change.get("module_address", "(root)"), change["type"])
        rows.setdefault(key, Counter())[kind] += 1
        if kind in ("replace", "destroy") and change["type"] in STATEFUL_TYPES:
            losses.append(change["address"])
    changes = plan.get("resource_changes", [])
    return PlanSummary(
        dict(sorted(rows.items())),
        sorted(losses),
        sorted(forgotten),
        _empty_databases(changes, _state_addresses(plan, "aws_db_instance")),
        _demoted_databases(changes),
        _deferred_database_changes(changes),
        _undone_failovers(changes),
    )


def _state_addresses(plan: dict, resource_type: str) -> set[str]:
    """Addresses of `resource_type` in the state the plan started from: the whole state, also
    when -target left most of it out of `resource_changes`."""
    found: set[str] = set()
    pending = [((plan.get("prior_state") or {}).get("values") or {}).get("root_module") or {}]
    while pending:
        module = pending.pop()
        found |= {
            str(resource.get("address"))
            for resource in module.get("resources") or []
            if resource.get("mode") == "managed" and resource.get("type") == resource_type
        }
        pending.extend(module.get("child_modules") or [])
    return found


def _demoted_databases(changes: list[dict]) -> list[str]:
    """Standalone `aws_db_instance`s the plan updates to have a `replicate_source_db`: the
    provider would record a source RDS never applied (a region went from former to standby)."""
    return sorted(
        change["address"]
        for change in _database_changes(changes)
        if change["change"]["actions"] == ["update"]
        and not (change["change"].get("before") or {}).get("replicate_source_db")
        and _replica_after(change["change"])
    )


def _deferred_database_changes(changes: list[dict]) -> list[str]:
    """`address (setting, ...)` for each database update that RDS keeps for the maintenance
    window (apply_immediately false)."""
    found = []
    for change in _database_changes(changes):
        detail = change["change"]
        before, after = detail.get("before") or {}, detail.get("after") or {}
        if detail["actions"] != ["update"] or after.get("apply_immediately"):
            continue
        unknown = detail.get("after_unknown") or {}
        waiting = [
            setting
            for setting in DEFERRED_DATABASE_SETTINGS
            if unknown.get(setting) is True or before.get(setting) != after.get(setting)
        ]
        if waiting:
            found.append(f"{change['address']} ({', '.join(waiting)})")
    return sorted(found)


def _undone_failovers(changes: list[dict]) -> list[str]:
    """Writer records (aws_dynamodb_table_item.writer) that `payinfra failover` wrote (it adds
    an epoch, which Terraform's own item never has) and that the plan points elsewhere."""
    found = []
    for change in changes:
        if change.get("type") != "aws_dynamodb_table_item" or change.get("name") != "writer":
            continue
        detail = change["change"]
        before, after = _item(detail.get("before")), _item(detail.get("after"))
        moved_from, moved_to = _writer_region(before), _writer_region(after)
        if "epoch" in before and moved_to and moved_from != moved_to:
            found.append(f"{change['address']} ({moved_from} -> {moved_to})")
    return sorted(found)


def _item(values: object) -> dict:
    """The DynamoDB item of an aws_dynamodb_table_item's values ({} when there is none)."""
    text = values.get("item") if isinstance(values, dict) else None
    try:
        item = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return item if isinstance(item, dict) else {}


def _writer_region(item: dict) -> str | None:
    region = item.get("writerRegion")
    return region.get("S") if isinstance(region, dict) else None


def _database_changes(changes: list[dict]) -> list[dict]:
    return [
        change
        for change in changes
        if change.get("mode") == "managed" and change.get("type") == "aws_db_instance"
    ]


def _replica_after(change: dict) -> bool:
    return bool(
        (change.get("after") or {}).get("replicate_source_db")
        or (change.get("after_unknown") or {}).get("replicate_source_db")
    )


def _empty_databases(changes: list[dict], in_state: set[str]) -> list[str]:
    """Standalone `aws_db_instance`s created next to a database that already exists (in the
    state, or kept by this plan). A read replica (its `replicate_source_db` set, or still
    unknown because its source is new too) starts with the data; a standalone one starts
    empty."""
    databases = _database_changes(changes)
    created = [change for change in databases if change["change"]["actions"] == ["create"]]
    existing = in_state | {c["address"] for c in databases if c["change"]["actions"] != ["create"]}
    if not existing - {change["address"] for change in created}:
        return []  # a new environment: every database is new
    return sorted(change["address"] for change in created if not _replica_after(change["change"]))


def _kind(actions: list[str]) -> str | None:
    if "delete" in actions and "create" in actions:
        return "replace"
    if actions == ["delete"]:
        return "destroy"
    if actions == ["create"]:
        return "create"
    if actions == ["update"]:
        return "update"
    return None


def table(summary: PlanSummary) -> str:
    """A plain-text table, one row per module and resource type, with totals."""
    header = ("module", "resource type", *COLUMNS)
    body = [
        (module, resource_type, *(str(counts[column] or "") for column in COLUMNS))
        for (module, resource_type), counts in summary.rows.items()
    ]
    totals = summary.totals
    body.append(("total", "", *(str(totals[column]) for column in COLUMNS)))
    widths = [max(len(row[index]) for row in (header, *body)) for index in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *body)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


# ---- From `terraform plan -json`'s machine-readable stream, without a second `show` ----

_STREAM_ACTIONS = {
    "create": "create",
    "update": "update",
    "replace": "replace",
    "delete": "destroy",
}


class StreamSummary:
    """Builds the same PlanSummary as `summarize`, from the `planned_change` messages that
    `terraform plan -json` prints while it plans (managed resources only)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Counter] = {}
        self.losses: list[str] = []
        self.forgotten: list[str] = []
        # Whether a database is created or changed, or the writer record changed: only
        # `terraform show` can tell whether a database starts empty or would be turned into a
        # replica, and whether a record a failover wrote is pointed elsewhere.
        self.needs_the_plan_file = False
        # Whether the plan imports (an adoption, a replica): a state empty before the plan then
        # still has databases with a past.
        self.imports = False

    def add(self, message: dict) -> None:
        if message.get("type") != "planned_change":
            return
        change = message.get("change") or {}
        self.imports |= bool(change.get("importing")) or change.get("action") == "import"
        resource = change.get("resource") or {}
        kind = _STREAM_ACTIONS.get(change.get("action", ""))
        address = str(resource.get("addr", ""))
        if change.get("action") == "remove" and not _is_data_source(address, resource):
            self.forgotten.append(address)
            return
        if kind is None or _is_data_source(address, resource):
            return
        key = (resource.get("module") or "(root)", str(resource.get("resource_type")))
        self.rows.setdefault(key, Counter())[kind] += 1
        self.needs_the_plan_file |= kind in ("create", "update") and key[1] in (
            "aws_db_instance",
            "aws_dynamodb_table_item",
        )
        if kind in ("replace", "destroy") and key[1] in STATEFUL_TYPES:
            self.losses.append(address)

    def result(self) -> PlanSummary:
        return PlanSummary(
            dict(sorted(self.rows.items())), sorted(self.losses), sorted(self.forgotten)
        )


def _is_data_source(address: str, resource: dict) -> bool:
    return str(resource.get("resource", address)).startswith("data.")


# Findings a person should know of, apart from those that stop an apply or lose data.
NOTICES = (KEPT_IN_AWS, DEFERRED)


def finding_lines(summary: PlanSummary) -> tuple[list[str], list[str]]:
    """The findings as text lines: (notices, DATA LOSS and CANNOT BE APPLIED lines), the latter
    introduced by a note when -target narrowed the plan."""
    found = summary.findings()
    notices = [finding.text() for finding in found if finding.verdict in NOTICES]
    stops = [finding.text() for finding in found if finding.verdict not in NOTICES]
    if summary.judged_on_whole_environment and stops:
        stops.insert(0, f"note: {WHOLE_ENVIRONMENT}")
    return notices, stops


def markdown(summary: PlanSummary, environment: str, step: str = "", root: str = "") -> str:
    """The summary as Markdown for a pull-request comment: the region-move step the YAML
    describes, the table, every DATA LOSS line and what Terraform would forget; `root`: which
    of the environment's roots (layout: region-roots)."""
    where = f" `{root}/`" if root else ""
    lines = [f"### payinfra plan: `{environment}`{where}", ""]
    if step:
        lines += [f"Workload: {step}", ""]
    if not summary.has_changes:
        lines.append("No changes.")
    else:
        lines += ["| module | resource type | " + " | ".join(COLUMNS) + " |"]
        lines += ["| --- | --- | " + " | ".join("---:" for _ in COLUMNS) + " |"]
        for (module, resource_type), counts in summary.rows.items():
            cells = " | ".join(str(counts[column] or "") for column in COLUMNS)
            lines.append(f"| `{module}` | `{resource_type}` | {cells} |")
        totals = summary.totals
        lines.append("| **total** | | " + " | ".join(f"**{totals[c]}**" for c in COLUMNS) + " |")
    found = summary.findings()
    if found:
        lines.append("")
        if summary.judged_on_whole_environment and any(f.verdict not in NOTICES for f in found):
            lines += [WHOLE_ENVIRONMENT, ""]
        lines += [finding.markdown() for finding in found]
    return "\n".join([*lines, ""])


# ---- Drift: what changed outside Terraform ----


@dataclass(frozen=True)
class Drift:
    address: str
    attributes: list[str]


def drift(plan: dict) -> list[Drift]:
    """Each managed resource a refresh-only plan found changed in what the configuration sets,
    with the attribute paths that differ (`tags.Team`, `point_in_time_recovery[0].enabled`);
    deleted ones say `(deleted)`. Access that exists in AWS and in no configuration (a security
    group rule or a role policy added in the console) is always reported, whatever resource
    carries it (payinfra/access_drift.py).

    Attributes the configuration does not set are left out: they are computed, often from
    another resource (a bucket's `versioning` from aws_s3_bucket_versioning), and a fresh state
    shows them as changed until its next apply."""
    configured = _configured_attributes(plan.get("configuration") or {})
    found: dict[str, list[str]] = {}
    for entry in plan.get("resource_drift") or []:
        if entry.get("mode") != "managed":
            continue
        change = entry.get("change") or {}
        address, before, after = (
            str(entry.get("address")),
            change.get("before"),
            change.get("after"),
        )
        if after is None:
            found[address] = ["(deleted)"]
            continue
        expressions = configured.get(without_instance_keys(address))
        paths = sorted(
            path
            for path in _differences(before, after, "")
            if expressions is None or _is_configured(path, expressions)
        )
        if paths:
            found[address] = paths
    for address, access in unmanaged_access(plan.get("prior_state") or {}, configured).items():
        found[address] = [*found.get(address, []), *access]
    return [Drift(address, attributes) for address, attributes in sorted(found.items())]


def _configured_attributes(configuration: dict) -> dict[str, dict]:
    """{resource address without instance keys: the expressions its configuration sets}."""
    found: dict[str, dict] = {}

    def walk(module: dict, prefix: str) -> None:
        for resource in module.get("resources") or []:
            if resource.get("mode") == "managed":
                found[prefix + resource["address"]] = resource.get("expressions") or {}
        for name, call in (module.get("module_calls") or {}).items():
            walk(call.get("module") or {}, f"{prefix}module.{name}.")

    walk(configuration.get("root_module") or {}, "")
    return found


def _is_configured(path: str, expressions: dict) -> bool:
    """Whether the configuration sets the attribute at `path` (`rule[0].bucket_key_enabled`):
    each name must appear in the expressions, down to a value (or a block it cannot see into,
    such as a dynamic one)."""
    node: object = expressions
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if isinstance(node, dict) and ("constant_value" in node or "references" in node):
            return True  # an expression: everything below it is its value
        if token.startswith("["):
            node = node[0] if isinstance(node, list) and node else node
            continue
        if not isinstance(node, dict) or token not in node:
            return False
        node = node[token]
    return True


def _differences(before: object, after: object, path: str) -> set[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        return {
            found
            for key in set(before) | set(after)
            for found in _differences(
                before.get(key), after.get(key), f"{path}.{key}" if path else key
            )
        }
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return {
            found
            for index, (old, new) in enumerate(zip(before, after, strict=True))
            for found in _differences(old, new, f"{path}[{index}]")
        }
    return set() if before == after else {path or "(resource)"}
