"""Table replicas that an earlier payinfra made as `replica` blocks of the table, found in a
state so that the next plan imports them into their table-replica modules instead of creating
them again (AWS would refuse: the replica exists). Pure: a state in, region names out."""

from __future__ import annotations

from payinfra.config import Environment
from payinfra.render.root import table_replica_module, table_replica_regions

__all__ = ["replicas_to_adopt", "table_replica_regions"]


def replicas_to_adopt(env: Environment, state: dict | None) -> list[str]:
    """Regions whose table replica the state holds as a `replica` block of the table (an
    earlier payinfra's) and not yet as a table-replica resource: each is imported, never
    created again (AWS would refuse: the replica exists)."""
    resources = (state or {}).get("resources") or []
    as_blocks: set[str] = set()
    adopted: set[str] = set()
    for resource in resources:
        if resource.get("type") == "aws_dynamodb_table" and resource.get("name") == "transactions":
            for instance in resource.get("instances") or []:
                replicas = (instance.get("attributes") or {}).get("replica") or []
                as_blocks |= {str(r.get("region_name")) for r in replicas if isinstance(r, dict)}
        if resource.get("type") == "aws_dynamodb_table_replica":
            adopted.add(str(resource.get("module", "")))
    managed = table_replica_regions(env)
    return sorted(
        region
        for region in as_blocks
        if region in managed and table_replica_module(env.region(region)) not in adopted
    )
