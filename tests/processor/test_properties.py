"""Arbitrary client input never makes the processor answer 500, and invalid input never writes."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.processor_harness import app, emulated_table

TABLE = "payment-fuzz-transactions"
ROUTES = ["POST /payments", "GET /payments/{transactionId}", "POST /payment"]
FIELDS = ["transactionId", "customerId", "amount", "currency"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
payment_like = st.fixed_dictionaries(
    {},
    optional={
        "transactionId": st.text(max_size=70)
        | st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        "customerId": st.text(max_size=70) | st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        "amount": json_values | st.from_regex(r"-?[0-9]{1,8}(\.[0-9]{0,4})?", fullmatch=True),
        "currency": st.sampled_from(["EUR", "JPY", "usd", "XXX", ""]) | json_values,
    },
).flatmap(
    lambda body: st.dictionaries(st.text(max_size=10), json_values, max_size=2).map(
        lambda extra: {**extra, **body}
    )
)
bodies = st.one_of(
    payment_like.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.none(),
)
headers = st.dictionaries(
    st.sampled_from(["content-type", "Content-Type", "x-other"]) | st.text(max_size=10),
    st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""])
    | st.text(max_size=30),
    max_size=3,
)


valid_payment = st.fixed_dictionaries(
    {
        # A small id space makes replays and conflicts happen.
        "transactionId": st.integers(1, 40).map(lambda n: f"tx-{n}"),
        "customerId": st.just("c-1"),
        "amount": st.sampled_from(["1", "1.50", "0.01", "1500"]),
        "currency": st.sampled_from(["EUR", "JPY", "GBP"]),
    }
)


@st.composite
def plausible_posts(draw):
    """Mostly valid POSTs, some with one field swapped for junk."""
    body = draw(valid_payment)
    if draw(st.booleans()):
        body[draw(st.sampled_from(FIELDS))] = draw(json_values)
    return {
        "version": "2.0",
        "routeKey": "POST /payments",
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {"requestId": "fuzz"},
    }


# JSON numbers whose exponent overflows Decimal's context (|exponent| > 999999999999999999) or
# sits right at its edge: the parser itself refuses the former.
extreme_exponents = st.integers(0, 10**21) | st.integers(10**18 - 3, 10**18 + 3)
extreme_numbers = st.builds(
    "{}{}e{}{}".format,
    st.sampled_from(["", "-"]),
    st.sampled_from(["1", "9", "0.1", "12.50", "0"]),
    st.sampled_from(["", "+", "-"]),
    extreme_exponents,
)


@st.composite
def extreme_amount_posts(draw):
    """A valid POST whose amount is a raw JSON number with an extreme exponent."""
    number = draw(extreme_numbers)
    body = (
        '{"transactionId": "tx-extreme", "customerId": "c-1", "currency": "EUR", '
        f'"amount": {number}}}'
    )
    return {
        "version": "2.0",
        "routeKey": "POST /payments",
        "headers": {"content-type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"requestId": "fuzz"},
    }


@st.composite
def arbitrary_events(draw):
    body = draw(bodies)
    encode = draw(st.booleans())
    if encode and body is not None:
        body = draw(st.sampled_from([base64.b64encode(body.encode()).decode(), body]))
    event = {
        "version": "2.0",
        "routeKey": draw(st.sampled_from(ROUTES) | st.text(max_size=20)),
        "rawPath": draw(st.text(max_size=40)),
        "headers": draw(headers | st.none() | st.just([])),
        "isBase64Encoded": encode,
        "pathParameters": draw(
            st.none() | st.fixed_dictionaries({"transactionId": st.text(max_size=70) | json_values})
        ),
        "requestContext": {"requestId": "fuzz"},
    }
    if body is not None:
        event["body"] = body
    return event


@given(http_event=plausible_posts() | arbitrary_events() | extreme_amount_posts())
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_client_input_never_causes_500_and_invalid_input_never_writes(fuzz_table, http_event):
    before = fuzz_table.scan(TableName=TABLE, Select="COUNT")["Count"]
    response = app.handler(http_event, None)
    event(f"status {response['statusCode']}")
    after = fuzz_table.scan(TableName=TABLE, Select="COUNT")["Count"]
    assert response["statusCode"] < 500, response
    assert isinstance(json.loads(response["body"]), dict)
    # A first write is 201, or 200 without Idempotent-Replayed on the reference route.
    first_write = response["statusCode"] == 201 or (
        http_event.get("routeKey") == "POST /payment"
        and response["statusCode"] == 200
        and "Idempotent-Replayed" not in response["headers"]
    )
    assert after == before + (1 if first_write else 0)


@pytest.fixture(scope="module")
def fuzz_table(parsed):
    with emulated_table(parsed["dev"], TABLE, LOG_LEVEL="WARNING") as client:
        yield client


@pytest.mark.parametrize(
    "number", ["1e1000000000000000000", "-1e1000000000000000000", "1e-1000000000000000000"]
)
def test_amount_whose_exponent_overflows_decimal_is_a_client_error(fuzz_table, number):
    body = f'{{"transactionId": "tx-o", "customerId": "c", "currency": "EUR", "amount": {number}}}'
    response = app.handler(
        {
            "version": "2.0",
            "routeKey": "POST /payments",
            "headers": {"content-type": "application/json"},
            "body": body,
            "requestContext": {"requestId": "overflow"},
        },
        None,
    )
    assert response["statusCode"] == 400, response
    answer = json.loads(response["body"])
    assert answer["error"] == "validation_failed"
    assert [problem["field"] for problem in answer["details"]] == ["amount"]
