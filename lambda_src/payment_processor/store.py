"""The transactions table: one conditional write per payment, so a payment is stored once, and
only by the region the writer record names."""

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

# The writer record: which region takes new payments. It replicates with the payments (a global
# table), is written by Terraform (the YAML's primary) and by `payinfra failover`, never by a
# processor (its IAM policy denies it), and fences every new payment. Its key is never a
# payment's: '#' is outside the transactionId alphabet. The health route reads it too (does
# this region's table copy answer?).
WRITER_KEY = "#writer"


@dataclass(frozen=True)
class Stored:
    record: dict
    created: bool


class Transactions:
    def __init__(self, table_name: str, client: Any = None):
        self.table_name = table_name
        self.client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)

    def create(
        self, payment: Payment, created_at: str, region: str, *, configured_writer: bool
    ) -> Stored:
        """Store the payment unless its transactionId exists, in one transaction with the check
        that `region` writes: the writer record names it, or there is no record and the
        configuration (`configured_writer`) does. Then return what is stored. Raises Fenced
        when `region` does not write."""
        item = _to_item(payment, created_at)
        writes = "writerRegion = :region"
        if configured_writer:
            writes += " OR attribute_not_exists(transactionId)"
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table_name,
                            "Key": {"transactionId": {"S": WRITER_KEY}},
                            "ConditionExpression": writes,
                            "ExpressionAttributeValues": {":region": {"S": region}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(transactionId)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            fence, payment_check = _cancellation_codes(error)
            if fence == "ConditionalCheckFailed":
                raise Fenced from None
            if payment_check != "ConditionalCheckFailed":
                raise  # a conflict or throttle: retryable, answered 503
            existing = self._get_item(payment.transaction_id)
            if existing is None:  # stored, then deleted between the two calls: not idempotent
                raise
            return Stored(_from_item(existing), created=False)
        return Stored(_from_item(item), created=True)

    def writer_region(self) -> str | None:
        """The region the writer record in this region's table copy names, None where none
        was ever written."""
        item = self._get_item(WRITER_KEY)
        return item["writerRegion"]["S"] if item else None

    def get(self, transaction_id: str) -> dict | None:
        item = self._get_item(transaction_id)
        return _from_item(item) if item else None

    def _get_item(self, transaction_id: str) -> dict | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key={"transactionId": {"S": transaction_id}},
            ConsistentRead=True,
        )
        item: dict | None = response.get("Item")
        return item


class Fenced(Exception):
    """The writer record names another region: this region takes no new payment."""


def _cancellation_codes(error: ClientError) -> tuple[str, str]:
    """The codes of a cancelled transaction's two items (writer check, payment put)."""
    reasons = error.response.get("CancellationReasons") or []
    codes = [reason.get("Code", "None") for reason in reasons] + ["None", "None"]
    return codes[0], codes[1]


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
