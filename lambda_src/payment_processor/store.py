"""The transactions table: one conditional write per payment, so a payment is stored once, and
only by the region the writer record names.

A table adopted from the reference stack (docs/adoption.md) keys on transactionId plus a Number
sort key (`TABLE_SORT_KEY`, the reference's `timestamp`). A conditional put cannot then see
another item of the same transactionId, so each new payment is stored beside a guard item at
sort key 0 that claims its transactionId, in the same transaction; the payment itself carries
the epoch second of its creation, as the reference's payments do, so the reference's indexes
keep sorting by time. The guard has no customerId or status: it is in no index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
    def __init__(
        self,
        table_name: str,
        client: Any = None,
        *,
        sort_key: str | None = None,
        default_currency: str | None = None,
    ):
        self.table_name = table_name
        self.client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)
        self.sort_key = sort_key
        # The reference's payments carry no currency: they were all in this one.
        self.default_currency = default_currency

    def _key(self, transaction_id: str) -> dict:
        """The item that answers for `transaction_id`: the payment itself, or on an adopted
        table the guard (and the writer record) at sort key 0."""
        key: dict = {"transactionId": {"S": transaction_id}}
        if self.sort_key:
            key[self.sort_key] = {"N": "0"}
        return key

    def _puts(self, payment: Payment, created_at: str) -> list[dict]:
        item = _to_item(payment, created_at)
        if self.sort_key:
            second = int(datetime.fromisoformat(created_at).timestamp())
            item[self.sort_key] = {"N": str(second)}
            items = [self._key(payment.transaction_id), item]
        else:
            items = [item]
        return [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": put,
                    "ConditionExpression": "attribute_not_exists(transactionId)",
                }
            }
            for put in items
        ]

    def create(
        self, payment: Payment, created_at: str, region: str, *, configured_writer: bool
    ) -> Stored:
        """Store the payment unless its transactionId exists, in one transaction with the check
        that `region` writes: the writer record names it, or there is no record and the
        configuration (`configured_writer`) does. Then return what is stored. Raises Fenced
        when `region` does not write."""
        writes = "writerRegion = :region"
        if configured_writer:
            writes += " OR attribute_not_exists(transactionId)"
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table_name,
                            "Key": self._key(WRITER_KEY),
                            "ConditionExpression": writes,
                            "ExpressionAttributeValues": {":region": {"S": region}},
                        }
                    },
                    *self._puts(payment, created_at),
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            fence, *payment_checks = _cancellation_codes(error)
            if fence == "ConditionalCheckFailed":
                raise Fenced from None
            if "ConditionalCheckFailed" not in payment_checks:
                raise  # a conflict or throttle: retryable, answered 503
            existing = self.get(payment.transaction_id)
            if existing is None:  # stored, then deleted between the two calls: not idempotent
                raise
            return Stored(existing, created=False)
        return Stored(self._from_item(_to_item(payment, created_at)), created=True)

    def writer_region(self) -> str | None:
        """The region the writer record in this region's table copy names, None where none
        was ever written."""
        item = self.client.get_item(
            TableName=self.table_name, Key=self._key(WRITER_KEY), ConsistentRead=True
        ).get("Item")
        return item["writerRegion"]["S"] if item else None

    def get(self, transaction_id: str) -> dict | None:
        item = self._payment_item(transaction_id)
        return self._from_item(item) if item else None

    def _payment_item(self, transaction_id: str) -> dict | None:
        if not self.sort_key:
            found: dict | None = self.client.get_item(
                TableName=self.table_name, Key=self._key(transaction_id), ConsistentRead=True
            ).get("Item")
            return found
        # The first payment of this transactionId (the reference stored one per request, so an
        # adopted table can hold several); the guard at 0 is not one.
        items = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="transactionId = :id AND #sort > :guard",
            ExpressionAttributeNames={"#sort": self.sort_key},
            ExpressionAttributeValues={":id": {"S": transaction_id}, ":guard": {"N": "0"}},
            ConsistentRead=True,
            Limit=1,
        ).get("Items")
        return items[0] if items else None

    def _from_item(self, item: dict) -> dict:
        """A stored payment as the API answers it; the reference's own (amount as a string, no
        currency, processedAt) read as they are."""
        currency = _text(item, "currency") or self.default_currency or ""
        return {
            "transactionId": item["transactionId"]["S"],
            "customerId": _text(item, "customerId"),
            "amount": _amount(_text(item, "amount") or "", currency),
            "currency": currency,
            "status": _text(item, "status"),
            "createdAt": _text(item, "createdAt") or _text(item, "processedAt"),
        }


class Fenced(Exception):
    """The writer record names another region: this region takes no new payment."""


def _cancellation_codes(error: ClientError) -> list[str]:
    """The codes of a cancelled transaction's items (writer check, then the puts)."""
    reasons = error.response.get("CancellationReasons") or []
    return [reason.get("Code", "None") for reason in reasons] + ["None", "None"]


def _amount(text: str, currency: str) -> str:
    """DynamoDB drops trailing zeros: answer in the currency's minor units again. An amount the
    reference stored as text that is no number is answered as it was stored."""
    try:
        amount = Decimal(text)
        return str(
            amount.quantize(Decimal(1).scaleb(-minor_units(currency))) if currency else amount
        )
    except ArithmeticError:
        return text


def _text(item: dict, name: str) -> str | None:
    """A string or number attribute as text (the reference stored amounts as strings)."""
    value = item.get(name) or {}
    text = value.get("S", value.get("N"))
    return str(text) if text is not None else None


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
