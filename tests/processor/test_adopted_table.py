"""The processor on a table adopted from the reference stack (docs/adoption.md): keyed on
transactionId + `timestamp` (a Number), as the module renders it with `adopted.table_sort_key`,
holding the reference's own payments (amount as a string, no currency, processedAt)."""

from __future__ import annotations

import pytest

from tests.processor_harness import app, emulated_table, http_event, invoke

TABLE = "payment-transactions-dev-001"
SORT_KEY = "timestamp"
# As the reference's lib/lambda/payment_processor.py stored it.
REFERENCE_ITEM = {
    "transactionId": {"S": "ref-1"},
    "timestamp": {"N": "1764690000"},
    "customerId": {"S": "cust-9"},
    "amount": {"S": "42.5"},
    "status": {"S": "PROCESSED"},
    "processedAt": {"S": "2025-12-02T15:40:00.123456"},
}


@pytest.fixture
def dynamodb(parsed):
    with emulated_table(
        parsed["dev"],
        TABLE,
        TABLE_SORT_KEY=SORT_KEY,
        DEFAULT_CURRENCY="USD",
        ALLOWED_CURRENCIES="EUR,USD",
    ) as client:
        client.put_item(TableName=TABLE, Item=REFERENCE_ITEM)
        yield client


def post(body, route="POST /payments"):
    event = http_event("POST", "/payments", body)
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    return invoke(event)


def get(transaction_id):
    return invoke(http_event("GET", f"/payments/{transaction_id}", transaction_id=transaction_id))


def items_of(client, transaction_id: str) -> list[dict]:
    return client.query(
        TableName=TABLE,
        KeyConditionExpression="transactionId = :id",
        ExpressionAttributeValues={":id": {"S": transaction_id}},
        ConsistentRead=True,
    )["Items"]


def test_the_reference_payments_stay_readable(dynamodb):
    status, _, body = get("ref-1")
    assert status == 200
    assert body == {
        "transactionId": "ref-1",
        "customerId": "cust-9",
        "amount": "42.50",
        "currency": "USD",
        "status": "PROCESSED",
        "createdAt": "2025-12-02T15:40:00.123456",
    }


def test_a_new_payment_is_stored_once_beside_a_guard_that_is_in_no_index(dynamodb):
    status, _, body = post({"transactionId": "tx-1", "customerId": "c-1", "amount": "10.00"})
    assert status == 201 and body["currency"] == "USD"
    guard, payment = sorted(items_of(dynamodb, "tx-1"), key=lambda item: int(item[SORT_KEY]["N"]))
    assert guard == {"transactionId": {"S": "tx-1"}, SORT_KEY: {"N": "0"}}
    assert int(payment[SORT_KEY]["N"]) > 1_700_000_000, "the epoch second, as the reference's"
    by_customer = dynamodb.query(
        TableName=TABLE,
        IndexName="CustomerIndex",
        KeyConditionExpression="customerId = :c",
        ExpressionAttributeValues={":c": {"S": "c-1"}},
    )["Items"]
    assert [item[SORT_KEY] for item in by_customer] == [payment[SORT_KEY]]


def test_a_replay_is_idempotent_and_a_conflicting_reuse_refused(dynamodb):
    first = {"transactionId": "tx-2", "customerId": "c-1", "amount": "10.00", "currency": "EUR"}
    assert post(first)[0] == 201
    status, headers, body = post(first)
    assert (status, headers.get("Idempotent-Replayed")) == (200, "true")
    assert body["amount"] == "10.00" and body["currency"] == "EUR"
    assert post({**first, "amount": "11.00"})[0] == 409
    assert len(items_of(dynamodb, "tx-2")) == 2, "the guard and one payment, never a second"


def test_the_reference_clients_request_is_answered(dynamodb):
    """POST /payment with the reference's body (no currency): the reference's answer, the
    payment stored in the default currency, and a retry stores nothing more."""
    body = {"transactionId": "tx-ref", "customerId": "c-2", "amount": 25}
    status, _, answer = post(body, route="POST /payment")
    assert (status, answer["transactionId"]) == (200, "tx-ref")
    assert answer["message"] == "Payment processed successfully"
    stored = get("tx-ref")[2]
    assert (stored["amount"], stored["currency"]) == ("25.00", "USD")
    assert post(body, route="POST /payment")[0] == 200
    assert len(items_of(dynamodb, "tx-ref")) == 2, "the guard and one payment"


def test_the_writer_record_at_sort_key_zero_fences_this_region(dynamodb):
    record = {"transactionId": {"S": "#writer"}, SORT_KEY: {"N": "0"}}
    dynamodb.put_item(TableName=TABLE, Item={**record, "writerRegion": {"S": "us-east-1"}})
    status, _, body = post({"transactionId": "tx-3", "customerId": "c-1", "amount": "1.00"})
    assert status == 503 and body["error"] == "not_writer_region"
    assert items_of(dynamodb, "tx-3") == []
    assert get("ref-1")[0] == 200, "reads and replays are still answered"


def test_a_sort_key_that_is_no_attribute_name_is_a_settings_error(parsed):
    with (
        emulated_table(parsed["dev"], TABLE, TABLE_SORT_KEY=SORT_KEY),
        pytest.MonkeyPatch.context() as patch,  # undone before the table's settings are
    ):
        patch.setenv("TABLE_SORT_KEY", "1 bad")
        with pytest.raises(app.MissingSettings, match="TABLE_SORT_KEY"):
            app.check_settings()
