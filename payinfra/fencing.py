"""The writer record: the item of the transactions table (`#writer`) that names the one region
whose processor takes new payments (docs/failover.md). Terraform writes the YAML's primary into
it; `payinfra failover` moves it here, with an epoch, on the condition that nobody moved it
since it was read; `payinfra status` reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from payinfra.config import Environment
from payinfra.errors import FailoverRefused

# The processor's key for the writer record (lambda_src/payment_processor/store.py, pinned equal
# by a test): '#' is outside the transactionId alphabet, so it is never a payment's.
WRITER_KEY = "#writer"


@dataclass(frozen=True)
class Table:
    """The transactions table as the writer record needs it: its name, and the sort key an
    adopted table has (the record's sort key value is then 0, as the processor's)."""

    name: str
    sort_key: str | None = None

    def writer_key(self) -> dict[str, Any]:
        key: dict[str, Any] = {"transactionId": {"S": WRITER_KEY}}
        if self.sort_key:
            key[self.sort_key] = {"N": "0"}
        return key


def table_of(env: Environment) -> Table:
    return Table(env.table_name, env.adopted.table_sort_key)


@dataclass(frozen=True)
class Writer:
    region: str
    epoch: int


def current_writer(dynamodb: Any, table: Table) -> Writer | None:
    item = dynamodb.get_item(TableName=table.name, Key=table.writer_key(), ConsistentRead=True).get(
        "Item"
    )
    if not item:
        return None
    # Terraform's own record has no epoch: no failover since the last apply.
    return Writer(item["writerRegion"]["S"], int(item.get("epoch", {}).get("N", "0")))


def claim_writer(dynamodb: Any, table: Table, region: str, seen: Writer | None) -> Writer:
    """Write the record with the next epoch, unless someone moved it since it was read (two
    operators failing over at once): then DynamoDB refuses and so does this."""
    from botocore.exceptions import ClientError

    claimed = Writer(region, (seen.epoch if seen else 0) + 1)
    # Unless read as absent, the record must still name the region it named, at the epoch it
    # had (Terraform's own record has none).
    condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(transactionId)"}
    if seen:
        values = {":region": {"S": seen.region}}
        same_epoch = "attribute_not_exists(epoch)"
        if seen.epoch:
            values[":epoch"], same_epoch = _n(seen), "epoch = :epoch"
        condition = {
            "ConditionExpression": f"writerRegion = :region AND {same_epoch}",
            "ExpressionAttributeValues": values,
        }
    try:
        dynamodb.put_item(
            TableName=table.name,
            Item={
                **table.writer_key(),
                "writerRegion": {"S": region},
                "epoch": _n(claimed),
                "since": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
            },
            **condition,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        raise FailoverRefused(
            f"the writer record in {table.name} ({region}) changed while this failover read it "
            "(another failover?); run `payinfra status` and try again if still needed"
        ) from None
    return claimed


def _n(writer: Writer) -> dict:
    return {"N": str(writer.epoch)}
