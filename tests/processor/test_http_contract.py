"""The payment processor, run in-process against moto's DynamoDB."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.processor_harness import app, emulated_table, http_event, invoke

TABLE = "payment-test-transactions"


def payment(**overrides) -> dict:
    return {
        "transactionId": "tx-1",
        "customerId": "cust-1",
        "amount": "12.50",
        "currency": "EUR",
        **overrides,
    }


def post(body, **kwargs):
    return invoke(http_event("POST", "/payments", body, **kwargs))


def get(transaction_id):
    return invoke(http_event("GET", f"/payments/{transaction_id}", transaction_id=transaction_id))


@pytest.fixture
def dynamodb(parsed):
    with emulated_table(
        parsed["dev"], TABLE, ALLOWED_CURRENCIES="EUR,GBP,JPY,USD,KWD", MAX_AMOUNT="100000.00"
    ) as client:
        yield client


def items(client) -> list[dict]:
    return client.scan(TableName=TABLE, ConsistentRead=True)["Items"]


# ---- Creating ----


def test_first_write_returns_201_with_location(dynamodb):
    status, headers, body = post(payment())
    assert status == 201
    assert headers["Location"] == "/payments/tx-1"
    assert body["status"] == "ACCEPTED"
    assert body["amount"] == "12.50"
    assert body["createdAt"].endswith("Z") and "T" in body["createdAt"]


def test_amount_is_stored_as_a_dynamodb_number_not_a_string(dynamodb):
    post(payment(amount="0.30"))
    (item,) = items(dynamodb)
    assert item["amount"] == {"N": "0.30"} or item["amount"] == {"N": "0.3"}
    assert item["status"] == {"S": "ACCEPTED"}
    assert set(item) >= {"customerId", "createdAt", "status"}


def test_replay_of_the_same_payment_returns_200_and_the_stored_record(dynamodb):
    _, _, first = post(payment())
    status, headers, body = post(payment(amount="12.5"))
    assert status == 200
    assert headers["Idempotent-Replayed"] == "true"
    assert body == first
    assert len(items(dynamodb)) == 1


def test_same_id_with_a_different_payload_is_a_conflict_and_changes_nothing(dynamodb):
    post(payment())
    before = items(dynamodb)
    status, _, body = post(payment(amount="99.99"))
    assert status == 409
    assert body["error"] == "idempotency_conflict"
    assert items(dynamodb) == before


def test_concurrent_duplicates_leave_exactly_one_record(dynamodb):
    results = []
    barrier = threading.Barrier(8)

    def submit():
        barrier.wait()
        results.append(post(payment())[0])

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] * 7 + [201]
    assert len(items(dynamodb)) == 1


# ---- Reading ----


def test_get_returns_the_record(dynamodb):
    _, _, created = post(payment())
    status, _, body = get("tx-1")
    assert (status, body) == (200, created)


def test_get_of_an_unknown_id_is_404(dynamodb):
    status, _, body = get("nope")
    assert (status, body["error"]) == (404, "payment_not_found")


@pytest.mark.parametrize("bad_id", ["", "a" * 65, "tx 1", "tx/1", "é"])
def test_get_of_a_bad_id_is_400(dynamodb, bad_id):
    status, _, body = get(bad_id)
    assert (status, body["error"]) == (400, "invalid_transaction_id")


# ---- Decimal precision ----


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("0.10", "0.10"),
        ("0.1", "0.10"),
        (Decimal("0.2"), "0.20"),
        ("100000.00", "100000.00"),
        ("99999.99", "99999.99"),
        ("0.01", "0.01"),
    ],
)
def test_amounts_keep_their_exact_value(dynamodb, sent, stored):
    body = payment(amount=sent) if isinstance(sent, str) else None
    raw = body and json.dumps(body)
    if raw is None:
        raw = '{"transactionId": "tx-1", "customerId": "c", "currency": "EUR", "amount": 0.2}'
    status, _, created = post(raw)
    assert (status, created["amount"]) == (201, stored)


def test_point_one_plus_point_two_style_amounts_are_not_floats(dynamodb):
    raw = (
        '{"transactionId": "t", "customerId": "c", "currency": "USD", '
        '"amount": 0.30000000000000004}'
    )
    status, _, body = post(raw)
    assert status == 400
    assert body["details"] == [
        {"field": "amount", "message": "USD allows at most 2 decimal places"}
    ]


def test_large_amounts_are_exact_and_the_maximum_is_enforced(dynamodb, monkeypatch):
    monkeypatch.setenv("MAX_AMOUNT", "999999999999999.99")
    app._rules.cache_clear()
    status, _, body = post(payment(amount="999999999999999.99"))
    assert (status, body["amount"]) == (201, "999999999999999.99")
    status, _, body = post(payment(transactionId="tx-2", amount="1000000000000000.00"))
    assert status == 400 and body["details"][0]["field"] == "amount"


def test_zero_decimal_currency_rejects_minor_units(dynamodb):
    assert post(payment(currency="JPY", amount="1500"))[0] == 201
    status, _, body = post(payment(transactionId="tx-2", currency="JPY", amount="1500.5"))
    assert status == 400
    assert "JPY allows at most 0 decimal places" in body["details"][0]["message"]


# ---- Client mistakes ----


def test_base64_encoded_body_is_decoded(dynamodb):
    status, _, body = post(payment(), base64_body=True)
    assert (status, body["transactionId"]) == (201, "tx-1")


@pytest.mark.parametrize(
    "content_type", ["", "text/plain", "application/xml", "application/json; charset=latin-1"]
)
def test_non_json_content_type_is_415(dynamodb, content_type):
    event = http_event("POST", "/payments", payment())
    event["headers"]["content-type"] = content_type
    status, _, body = invoke(event)
    assert (status, body["error"]) == (415, "unsupported_media_type")
    assert items(dynamodb) == []


def test_json_content_type_with_utf8_charset_is_accepted(dynamodb):
    status, _, _ = post(payment(), headers={"content-type": "Application/JSON; charset=UTF-8"})
    assert status == 201


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("{not json", "invalid_json"),
        ('{"amount": NaN}', "invalid_json"),
        ('{"a": 1, "a": 2}', "invalid_json"),
        ("[1, 2]", "body_not_object"),
        ('"text"', "body_not_object"),
        ("", "missing_body"),
    ],
)
def test_malformed_bodies_are_400_with_a_code(dynamodb, raw, error):
    status, _, body = post(raw)
    assert (status, body["error"]) == (400, error)
    assert items(dynamodb) == []


def test_every_invalid_field_is_listed(dynamodb):
    status, _, body = post(
        {"transactionId": "bad id!", "amount": -1, "currency": "XXX", "note": "hi"}
    )
    assert status == 400
    fields = sorted(detail["field"] for detail in body["details"])
    assert fields == ["amount", "currency", "customerId", "note", "transactionId"]
    assert items(dynamodb) == []


@pytest.mark.parametrize("amount", [True, None, [], {}, "1e3", "-5", "0", "0.00", "1,00", " 1"])
def test_bad_amounts_are_rejected(dynamodb, amount):
    status, _, body = post(payment(amount=amount))
    assert status == 400
    assert [detail["field"] for detail in body["details"]] == ["amount"]


def test_oversized_body_is_413(dynamodb):
    status, _, body = post(payment(customerId="c", note="x" * 70_000))
    assert (status, body["error"]) == (413, "body_too_large")


def test_unknown_route_is_404(dynamodb):
    event = http_event("POST", "/payments", payment())
    event["routeKey"] = "DELETE /payments/{transactionId}"
    assert invoke(event)[0] == 404


# ---- AWS trouble ----


def failing_client(exception):
    """A DynamoDB client whose every call (reads, the write's transaction) raises."""

    class Failing:
        def __getattr__(self, _operation):
            def call(**_):
                raise exception

            return call

    return Failing()


@pytest.mark.parametrize(
    "exception",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem"),
        ClientError({"Error": {"Code": "ThrottlingException"}}, "PutItem"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
    ],
)
def test_throttling_and_timeouts_are_503_with_retry_after(dynamodb, monkeypatch, exception):
    monkeypatch.setattr(app._transactions(), "client", failing_client(exception))
    status, headers, body = post(payment())
    assert (status, body["error"]) == (503, "service_unavailable")
    assert headers["Retry-After"] == "1"


# ---- Health, for Route 53's checkers ----


def health():
    return invoke(http_event("GET", "/health"))


def test_health_is_200_in_the_writer_and_in_a_standby_and_says_nothing_else(dynamodb, monkeypatch):
    post(payment())
    status, headers, body = health()
    assert (status, body, headers["Cache-Control"]) == (200, {"status": "ok"}, "no-store")
    # A standby refuses new payments (503) yet serves: its health is not its refusals.
    monkeypatch.setenv("WRITER_REGION", "us-east-1")
    assert post(payment(transactionId="tx-new"))[0] == 503
    assert health()[0] == 200
    assert len(items(dynamodb)) == 1, "the probe never writes"


def test_health_fails_when_the_regions_table_does_not_answer(dynamodb, monkeypatch):
    monkeypatch.setattr(app._transactions(), "table_name", "payment-test-not-replicated-yet")
    status, _, body = health()
    assert status == 503 and body["error"] == "service_unavailable"


def test_a_missing_table_replica_is_a_retryable_503(dynamodb, monkeypatch):
    """A standby whose replica is still being created (or a region being retired)."""
    monkeypatch.setattr(app._transactions(), "table_name", "payment-test-not-replicated-yet")
    for status, headers, body in (post(payment()), get("tx-1")):
        assert (status, body["error"]) == (503, "service_unavailable")
        assert headers["Retry-After"] == "1"


def test_unexpected_errors_are_500_without_internals(dynamodb, monkeypatch, capsys):
    boom = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "arn:aws:iam::123:role/secret"}},
        "PutItem",
    )
    monkeypatch.setattr(app._transactions(), "client", failing_client(boom))
    status, _, body = post(payment())
    assert status == 500
    assert set(body) == {"error", "requestId"}
    assert "arn:" not in json.dumps(body)


# ---- Logs ----


def test_logs_are_json_with_a_request_id_and_no_customer_id_or_body(dynamodb, capsys):
    event = http_event("POST", "/payments", payment(customerId="alice-4242"))
    invoke(event)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and all(
        line["requestId"] == event["requestContext"]["requestId"] for line in lines
    )
    text = json.dumps(lines)
    assert "alice-4242" not in text
    assert "12.50" not in text


@pytest.mark.parametrize(
    ("unset", "value", "problem"),
    [
        ("MAX_AMOUNT", None, "MAX_AMOUNT is not set"),
        ("ALLOWED_CURRENCIES", None, "ALLOWED_CURRENCIES is not set"),
        ("TABLE_NAME", None, "TABLE_NAME is not set"),
        ("WRITER_REGION", None, "WRITER_REGION is not set"),
        ("MAX_AMOUNT", "lots", "MAX_AMOUNT is not a decimal number"),
        ("ALLOWED_CURRENCIES", "EUR;usd", "ALLOWED_CURRENCIES is not a comma-separated list"),
        ("WRITER_REGION", "eu-west-1 ", "WRITER_REGION is not an AWS region name"),
        ("WRITER_REGION", "${var.writer}", "WRITER_REGION is not an AWS region name"),
        ("WRITER_REGION", "EU-WEST-1", "WRITER_REGION is not an AWS region name"),
    ],
)
def test_the_processor_refuses_to_run_without_its_settings(
    dynamodb, monkeypatch, capsys, unset, value, problem
):
    if value is None:
        monkeypatch.delenv(unset)
    else:
        monkeypatch.setenv(unset, value)
    with pytest.raises(app.MissingSettings, match=problem):
        app.handler(http_event("GET", "/payments/tx-1", transaction_id="tx-1"), None)
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line["event"] == "missing_settings" and line["level"] == "CRITICAL"
    assert any(problem in text for text in line["problems"])


# ---- The reference stack's compatibility route ----

# Exactly what a client of the reference stack sends: no currency, no Content-Type.
REFERENCE_BODY = '{"transactionId": "tx-123", "customerId": "cust-456", "amount": 100.00}'


def reference_request(body: str = REFERENCE_BODY) -> dict:
    event = http_event("POST", "/payment", body)
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /payment"
    del event["headers"]["content-type"]
    return event


@pytest.fixture
def with_default_currency(parsed):
    settings = {"ALLOWED_CURRENCIES": "EUR,USD", "DEFAULT_CURRENCY": "USD"}
    with emulated_table(parsed["dev"], TABLE, **settings) as client:
        yield client


def test_the_reference_clients_request_gets_the_reference_answer(with_default_currency):
    status, headers, body = invoke(reference_request())
    assert status == 200
    assert body["message"] == "Payment processed successfully"
    assert body["transactionId"] == "tx-123"
    assert (body["amount"], body["currency"], body["customerId"]) == ("100.00", "USD", "cust-456")
    assert "Idempotent-Replayed" not in headers
    (stored,) = items(with_default_currency)
    assert stored["amount"] == {"N": "100.00"} and stored["currency"] == {"S": "USD"}


def test_a_reference_replay_is_the_same_answer_and_stores_once(with_default_currency):
    first = invoke(reference_request())
    again = invoke(reference_request())
    assert again[0] == 200 and again[2] == first[2]
    assert again[1]["Idempotent-Replayed"] == "true"
    assert len(items(with_default_currency)) == 1


def test_a_conflicting_reuse_on_the_reference_route_is_409(with_default_currency):
    invoke(reference_request())
    status, _, body = invoke(reference_request(REFERENCE_BODY.replace("100.00", "99.00")))
    assert (status, body["error"]) == (409, "idempotency_conflict")


def test_both_routes_share_idempotency(with_default_currency):
    invoke(reference_request())
    status, _, _ = post(
        {"transactionId": "tx-123", "customerId": "cust-456", "amount": "100.00"},
    )
    assert status == 200, "the same payment through /payments is a replay"


def test_the_reference_route_validates_like_the_main_one(with_default_currency):
    status, _, body = invoke(reference_request('{"transactionId": "tx-1", "amount": -1}'))
    assert (status, body["error"]) == (400, "validation_failed")
    assert {problem["field"] for problem in body["details"]} == {"customerId", "amount"}


def test_without_a_default_currency_the_currency_stays_required(dynamodb):
    status, _, body = invoke(reference_request())
    assert (status, body["error"]) == (400, "validation_failed")
    assert body["details"] == [{"field": "currency", "message": "required"}]


def test_a_request_without_content_type_is_read_as_json(dynamodb):
    event = http_event("POST", "/payments", payment())
    del event["headers"]["content-type"]
    assert invoke(event)[0] == 201


def test_a_default_currency_outside_the_allowed_ones_stops_the_processor(parsed):
    with (
        emulated_table(parsed["dev"], TABLE, DEFAULT_CURRENCY="CHF"),
        pytest.raises(app.MissingSettings, match="DEFAULT_CURRENCY is not one of"),
    ):
        app.handler(reference_request(), None)
