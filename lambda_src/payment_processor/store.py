"""The transactions table: one conditional write per payment, so a payment is stored once."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from payment_processor.validation import Payment, minor_units

STATUS_ACCEPTED = "ACCEPTED"
# Time-boxed well inside the function's timeout; the SDK's standard mode retries throttling.
_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3}
)

# Read by the health route; never a payment's key ('#' is outside the transactionId alphabet).
HEALTH_KEY = "#health"


@dataclass(frozen=True)
class Stored:
    record: dict
    created: bool


class Transactions:
    def __init__(self, table_name: str, client: Any = None):
        self.table_name = table_name
        self.client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)

    def create(self, payment: Payment, created_at: str) -> Stored:
        """Store the payment unless its transactionId exists; then return what is stored."""
        item = _to_item(payment, created_at)
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(transactionId)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            existing = error.response.get("Item") or self._get_item(payment.transaction_id)
            if existing is None:  # stored, then deleted between the two calls: not idempotent
                raise
            return Stored(_from_item(existing), created=False)
        return Stored(_from_item(item), created=True)

    def get(self, transaction_id: str) -> dict | None:
        item = self._get_item(transaction_id)
        return _from_item(item) if item else None

    def answers(self) -> None:
        """Raise unless this region's table copy answers a read (the health route's question).
        The key can never be a payment's: '#' is not allowed in a transactionId."""
        self.client.get_item(TableName=self.table_name, Key={"transactionId": {"S": HEALTH_KEY}})

    def _get_item(self, transaction_id: str) -> dict | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key={"transactionId": {"S": transaction_id}},
            ConsistentRead=True,
        )
        item: dict | None = response.get("Item")
        return item


def same_payment(record: dict, payment: Payment) -> bool:
    return (
        record["customerId"] == payment.customer_id
        and record["currency"] == payment.currency
        and Decimal(record["amount"]) == payment.amount
    )


def _to_item(payment: Payment, created_at: str) -> dict:
    return {
        "transactionId": {"S": payment.transaction_id},
        "customerId": {"S": payment.customer_id},
        "amount": {"N": str(payment.amount)},
        "currency": {"S": payment.currency},
        "status": {"S": STATUS_ACCEPTED},
        "createdAt": {"S": created_at},
    }


def _from_item(item: dict) -> dict:
    currency = item["currency"]["S"]
    # DynamoDB drops trailing zeros; answer in the currency's minor units again.
    amount = Decimal(item["amount"]["N"]).quantize(Decimal(1).scaleb(-minor_units(currency)))
    return {
        "transactionId": item["transactionId"]["S"],
        "customerId": item["customerId"]["S"],
        "amount": str(amount),
        "currency": currency,
        "status": item["status"]["S"],
        "createdAt": item["createdAt"]["S"],
    }
