"""Read `terraform show -json` of a saved plan: what changes, and what would lose data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

# Resources whose destruction loses data or keys that data depends on.
STATEFUL_TYPES = frozenset(
    {
        "aws_db_instance",
        "aws_dynamodb_table",
        "aws_kms_key",
        "aws_s3_bucket",
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
