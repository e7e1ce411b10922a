"""Read `terraform show -json` of a saved plan: what changes, and what would lose data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from payinfra.render import STATE_IDENTITY_OUTPUT

# Resources whose destruction loses data, or keys that data depends on: the one list of them.
# Log groups hold the audit trail, the queue holds failed payments, a secret holds credentials,
# and an S3 bucket may be the data or the Terraform state itself.
STATEFUL_TYPES = frozenset(
    {
        "aws_cloudwatch_log_group",
        "aws_db_instance",
        "aws_dynamodb_table",
        "aws_kms_key",
        "aws_s3_bucket",
        "aws_secretsmanager_secret",
        "aws_sqs_queue",
    }
)
COLUMNS = ("create", "update", "replace", "destroy")


@dataclass(frozen=True)
class PlanSummary:
    # (module address, resource type) -> Counter of COLUMNS
    rows: dict[tuple[str, str], Counter]
    # addresses of stateful resources the plan destroys or replaces
    stateful_losses: list[str]

    @property
    def totals(self) -> Counter:
        total: Counter[str] = Counter()
        for counts in self.rows.values():
            total.update(counts)
        return total

    @property
    def has_changes(self) -> bool:
        return any(self.totals.values())

    def as_json(self) -> dict:
        """A plain, comparable form: what `payinfra plan` records and `apply` re-derives."""
        return {
            "rows": [
                {"module": module, "type": rtype, **{c: counts[c] for c in COLUMNS}}
                for (module, rtype), counts in self.rows.items()
            ],
            "stateful_losses": list(self.stateful_losses),
        }


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
    losses = []
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "managed":
            continue
        kind = _kind(change["change"]["actions"])
        if kind is None:
            continue
        key = (change.get("module_address", "(root)"), change["type"])
        rows.setdefault(key, Counter())[kind] += 1
        if kind in ("replace", "destroy") and change["type"] in STATEFUL_TYPES:
            losses.append(change["address"])
    return PlanSummary(dict(sorted(rows.items())), sorted(losses))


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
