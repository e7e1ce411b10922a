"""Payments against a Terraform-applied stack on the emulator: each region's processor run
in-process with the configuration Terraform deployed to that region's function (moto runs no
Lambda code), against that region's copy of the table.

Emulator gap: moto keeps no global-table replicas, so `local` renders no table replica and the
standby's copy of the table is made here (`copy_of_the_table`), as DynamoDB makes it when the
replica is added; from then on the emulator replicates writes between the copies as global
tables do (payinfra/emulator_server.py: asynchronously, held while a region is dark).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_stack_lifecycle import Stack
from tests.processor_harness import app, http_event, replicated_item, stored_item

TABLE = "payment-local-transactions"


def payment(transaction_id: str) -> dict:
    return {"transactionId": transaction_id, "customerId": "c-1", "amount": "12.50",
            "currency": "EUR"}  # fmt: skip


def copy_of_the_table(stack: Stack, home: str, region: str) -> None:
    """`region`'s copy of the home table: its key schema and every item the home holds."""
    source, target = stack.client("dynamodb", home), stack.client("dynamodb", region)
    table = source.describe_table(TableName=TABLE)["Table"]
    indexes = [
        {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"],
         "Projection": index["Projection"]}
        for index in table.get("GlobalSecondaryIndexes", [])
    ]  # fmt: skip
    target.create_table(
        TableName=TABLE,
        KeySchema=table["KeySchema"],
        AttributeDefinitions=table["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )
    for page in source.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True):
        for item in page["Items"]:
            target.put_item(TableName=TABLE, Item=item)


def deployed_settings(stack: Stack, region: str) -> dict[str, str]:
    functions = stack.client("lambda", region).list_functions()["Functions"]
    (processor,) = [f for f in functions if f["FunctionName"].endswith("-payment-processor")]
    return dict(processor["Environment"]["Variables"])


def call(stack: Stack, region: str, event: dict) -> dict:
    """`region`'s deployed processor answering `event`: (status, body, headers)."""
    settings = {
        **deployed_settings(stack, region),
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_ACCESS_KEY_ID": "emulator",
        "AWS_SECRET_ACCESS_KEY": "emulator",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, value)
        app._transactions.cache_clear()
        app._rules.cache_clear()
        try:
            answer = app.handler(event, None)
        finally:
            app._transactions.cache_clear()
            app._rules.cache_clear()
    return {"status": answer["statusCode"], "body": json.loads(answer["body"]),
            "headers": answer.get("headers", {})}  # fmt: skip


def pay(stack: Stack, region: str, transaction_id: str) -> dict:
    return call(stack, region, http_event("POST", "/payments", payment(transaction_id)))


def health(stack: Stack, region: str) -> int:
    return call(stack, region, http_event("GET", "/health"))["status"]


def assert_taken(stack: Stack, region: str, transaction_id: str) -> None:
    answer = pay(stack, region, transaction_id)
    assert answer["status"] == 201, (region, transaction_id, answer)


def assert_refused(stack: Stack, region: str, transaction_id: str) -> None:
    answer = pay(stack, region, transaction_id)
    assert (answer["status"], answer["body"].get("error")) == (503, "not_writer_region"), answer
    assert stored(stack, region, transaction_id) is None, "a refused payment wrote nothing"


def assert_replayed(stack: Stack, region: str, transaction_id: str) -> None:
    """A retry of a payment taken earlier (anywhere) is answered from `region`'s copy."""
    answer = pay(stack, region, transaction_id)
    replayed = answer["headers"].get("Idempotent-Replayed")
    assert (answer["status"], replayed) == (200, "true"), (region, transaction_id, answer)


def stored(stack: Stack, region: str, transaction_id: str) -> dict | None:
    return stored_item(stack.client("dynamodb", region), TABLE, transaction_id)


def replicated(stack: Stack, region: str, key: str, check=lambda item: True) -> bool:
    """Whether `key` reaches `region`'s copy (and passes `check`) within a few seconds."""
    return replicated_item(stack.client("dynamodb", region), TABLE, key, check)
