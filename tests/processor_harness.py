"""Run the payment processor in-process against moto's DynamoDB, with the table built from the
key schema and indexes that the rendered HCL declares."""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from payinfra.config import Lambda
from tests.conftest import REPO, shared_default_session

sys.path.insert(0, str(REPO / "lambda_src"))

from payment_processor import app


def table_spec(parsed_tree: dict, sort_key: str | None = None) -> dict:
    """create_table arguments read from modules/data/dynamodb.tf, for payinfra's own table or
    (`sort_key`) one adopted from the reference stack. The module's key expressions are
    resolved as its locals define them (data/main.tf); any other expression fails here."""
    document = parsed_tree["modules/data/dynamodb.tf"]
    (table,) = [
        b["aws_dynamodb_table"]["transactions"]
        for b in document["resource"]
        if "aws_dynamodb_table" in b
    ]
    resolved = {
        "${local.sort_key}": sort_key,
        "${local.index_sort_key}": sort_key or "createdAt",
        '${local.sort_key == null ? "S" : "N"}': "N" if sort_key else "S",
    }

    def value(text: str) -> str | None:
        if "${" not in text:
            return text
        assert text in resolved, f"the harness cannot resolve {text}"
        return resolved[text]

    key_schema = [{"AttributeName": value(table["hash_key"]), "KeyType": "HASH"}]
    if value(table.get("range_key", "${local.sort_key}")):
        key_schema.append({"AttributeName": value(table["range_key"]), "KeyType": "RANGE"})
    indexes = [
        {
            "IndexName": index["name"],
            "KeySchema": [
                {"AttributeName": value(index["hash_key"]), "KeyType": "HASH"},
                {"AttributeName": value(index["range_key"]), "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": index["projection_type"]},
        }
        for index in table["global_secondary_index"]
    ]
    return {
        "KeySchema": key_schema,
        "AttributeDefinitions": [
            {"AttributeName": value(attribute["name"]), "AttributeType": value(attribute["type"])}
            for attribute in table["attribute"]
        ],
        "GlobalSecondaryIndexes": indexes,
        "BillingMode": table["billing_mode"],
    }


_WRITES = threading.RLock()


def _atomic(put_item: Callable[..., Any]) -> Callable[..., Any]:
    """DynamoDB checks a write's condition and writes the item as one step; moto's in-process
    backend does not, so two threads could both pass `attribute_not_exists`. Serialising its
    writes restores what AWS guarantees (and what the idempotency tests rely on)."""

    def serialised(*args: Any, **kwargs: Any) -> Any:
        with _WRITES:
            return put_item(*args, **kwargs)

    return serialised


@contextmanager
def emulated_table(parsed_tree: dict, table_name: str, **settings: str):
    """moto's DynamoDB with the rendered table, and the processor configured to use it."""
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "WRITER_REGION": "eu-west-1",
        "TABLE_NAME": table_name,
        "ALLOWED_CURRENCIES": ",".join(Lambda().currencies),
        "MAX_AMOUNT": Lambda().max_amount,
        **settings,
    }
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for write in ("put_item", "transact_write_items"):
            patch.setattr(DynamoDBBackend, write, _atomic(getattr(DynamoDBBackend, write)))
        for name, value in environment.items():
            patch.setenv(name, value)
        shared_default_session()
        client = boto3.client("dynamodb", region_name="eu-west-1")
        sort_key = settings.get("TABLE_SORT_KEY")
        client.create_table(TableName=table_name, **table_spec(parsed_tree, sort_key))
        app._rules.cache_clear()
        app._transactions.cache_clear()
        try:
            yield client
        finally:
            app._transactions.cache_clear()
            app._rules.cache_clear()


def http_event(
    method: str,
    path: str,
    body=None,
    headers=None,
    base64_body=False,
    transaction_id: str | None = None,
) -> dict:
    """An API Gateway HTTP API (payload 2.0) event as the service sends it."""
    route = {"POST": "POST /payments", "GET": "GET /payments/{transactionId}"}[method]
    route = "GET /health" if path == "/health" else route
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    if base64_body and text is not None:
        text = base64.b64encode(text.encode()).decode()
    event = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1"},
            "routeKey": route,
            "stage": "$default",
        },
        "isBase64Encoded": base64_body,
    }
    if text is not None:
        event["body"] = text
    if transaction_id is not None:
        event["pathParameters"] = {"transactionId": transaction_id}
    return event


def invoke(event: dict) -> tuple[int, dict, dict]:
    response = app.handler(event, None)
    return response["statusCode"], response["headers"], json.loads(response["body"])


def stored_item(dynamodb: Any, table: str, transaction_id: str) -> dict | None:
    """The item a table copy holds under `transaction_id` (a strongly consistent read)."""
    found = dynamodb.get_item(
        TableName=table, Key={"transactionId": {"S": transaction_id}}, ConsistentRead=True
    )
    return found.get("Item")


def replicated_item(
    dynamodb: Any, table: str, transaction_id: str, check: Callable[[dict], bool] = lambda _: True
) -> bool:
    """Whether `transaction_id` reaches this table copy (and passes `check`) within 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        item = stored_item(dynamodb, table, transaction_id)
        if item and check(item):
            return True
        time.sleep(0.1)
    return False
