"""Lambda entry point for the payments HTTP API (payload format 2.0).

POST /payments                    201 created, 200 replay of the same payment, 409 conflict
GET  /payments/{transactionId}    200 or 404
GET  /health                      200 while this region serves; 503 for a fenced former writer
Outside the writer region a new payment gets 503 not_writer_region + Retry-After; replays and
reads are answered from the region's replica. The writer region is the table's writer record
where there is one (it replicates, so a failover reaches every region), else WRITER_REGION.
Client mistakes get a 4xx with a machine-readable `error`; AWS trouble gets 503 + Retry-After;
only the truly unexpected gets 500, and never with internals.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import time
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache

from botocore.exceptions import BotoCoreError, ClientError

from payment_processor import logs
from payment_processor.store import Fenced, Stored, Transactions, same_payment
from payment_processor.validation import (
    InvalidPayment,
    Payment,
    Rules,
    parse_payment,
    valid_identifier,
)

CREATE_ROUTE = "POST /payments"
# The reference stack's route, kept so its clients keep working (see docs/processor.md).
COMPAT_CREATE_ROUTE = "POST /payment"
COMPAT_MESSAGE = "Payment processed successfully"
GET_ROUTE = "GET /payments/{transactionId}"
# Unsigned, for Route 53's health checkers: does this region serve? (docs/processor.md)
HEALTH_ROUTE = "GET /health"
MAX_BODY_BYTES = 64 * 1024
RETRYABLE_AWS_ERRORS = {
    "InternalServerError",
    # The region's table replica is not there (yet, or any more): a standby being built, or a
    # region being retired. Another try, here or in another region, may succeed.
    "ResourceNotFoundException",
    "LimitExceededException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ThrottlingException",
    "TransactionConflict",
}
RETRY_AFTER_SECONDS = "1"


class ClientMistake(Exception):
    def __init__(self, status: int, error: str, message: str, details: list | None = None):
        super().__init__(message)
        self.status, self.error, self.details = status, error, details


# Set by the compute module from the YAML; there are no built-in fallbacks, so a function
# deployed without them fails loudly instead of silently enforcing someone else's limits.
# WRITER_REGION names the one region that takes new payments (docs/region-moves.md: "One
# writer"); Lambda sets AWS_REGION to the region the function runs in.
REQUIRED_SETTINGS = (
    "TABLE_NAME",
    "ALLOWED_CURRENCIES",
    "MAX_AMOUNT",
    "WRITER_REGION",
    "AWS_REGION",
)
# How long a client should wait before retrying a new payment refused by a standby region.
STANDBY_RETRY_AFTER_SECONDS = 5
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# An AWS region name (eu-west-1, us-gov-east-1, ap-southeast-4); anything else in WRITER_REGION
# would make every region a non-writer, silently.
# An adopted table's sort key (docs/adoption.md), as payinfra's YAML admits it.
ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,254}")
REGION_NAME = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[1-9][0-9]?")


class NotTheWriter(Exception):
    """A new payment reached a standby region: only the writer region takes new payments."""


class MissingSettings(RuntimeError):
    """The function's environment lacks a required setting; it serves no request."""


@cache
def _rules() -> Rules:
    currencies = frozenset(os.environ["ALLOWED_CURRENCIES"].split(","))
    default_currency = os.environ.get("DEFAULT_CURRENCY") or None
    return Rules(currencies, Decimal(os.environ["MAX_AMOUNT"]), default_currency)


@cache
def _transactions() -> Transactions:
    return Transactions(
        os.environ["TABLE_NAME"],
        sort_key=os.environ.get("TABLE_SORT_KEY") or None,
        default_currency=os.environ.get("DEFAULT_CURRENCY") or None,
    )


def check_settings() -> None:
    """Raise MissingSettings (after one clear log line) unless every setting is present and
    well-formed."""
    problems = [f"{name} is not set" for name in REQUIRED_SETTINGS if not os.environ.get(name)]
    currencies = os.environ.get("ALLOWED_CURRENCIES", "")
    if currencies and not all(CURRENCY_CODE.fullmatch(code) for code in currencies.split(",")):
        problems.append("ALLOWED_CURRENCIES is not a comma-separated list of ISO 4217 codes")
    for name in ("WRITER_REGION", "AWS_REGION"):
        if os.environ.get(name) and not REGION_NAME.fullmatch(os.environ[name]):
            problems.append(f"{name} is not an AWS region name")
    sort_key = os.environ.get("TABLE_SORT_KEY")
    if sort_key and not ATTRIBUTE_NAME.fullmatch(sort_key):
        problems.append("TABLE_SORT_KEY is not a DynamoDB attribute name")
    default_currency = os.environ.get("DEFAULT_CURRENCY")
    if default_currency and default_currency not in currencies.split(","):
        problems.append("DEFAULT_CURRENCY is not one of ALLOWED_CURRENCIES")
    try:
        if os.environ.get("MAX_AMOUNT") and not Decimal(os.environ["MAX_AMOUNT"]) > 0:
            problems.append("MAX_AMOUNT is not a positive decimal")
    except ArithmeticError:
        problems.append("MAX_AMOUNT is not a decimal number")
    if problems:
        logs.log(logging.CRITICAL, "missing_settings", "startup", problems=problems)
        raise MissingSettings("; ".join(problems))


def handler(event: object, context: object) -> dict:
    started = time.perf_counter()
    logs.configure()
    # Outside the request's error handling: a misconfigured function must fail every
    # invocation visibly (Lambda reports the error), never answer as if it were healthy.
    check_settings()
    request_id = _request_id(event, context)
    route = event.get("routeKey") if isinstance(event, dict) else None
    try:
        response = _dispatch(event, route, request_id)
    except NotTheWriter:
        response = _json(
            503,
            {
                "error": "not_writer_region",
                "message": "this region is standing by and takes no new payments; retry later",
            },
            {"Retry-After": str(STANDBY_RETRY_AFTER_SECONDS)},
        )
    except ClientMistake as mistake:
        body: dict[str, object] = {"error": mistake.error, "message": str(mistake)}
        if mistake.details:
            body["details"] = mistake.details
        response = _json(mistake.status, body)
    except (ClientError, BotoCoreError) as error:
        response = _aws_failure(error, request_id)
    except Exception:
        logs.log(logging.ERROR, "unexpected_error", request_id, with_traceback=True, route=route)
        response = _json(500, {"error": "internal_error", "requestId": request_id})
    logs.log(
        logging.INFO,
        "request_done",
        request_id,
        route=route,
        status=response["statusCode"],
        latencyMs=round((time.perf_counter() - started) * 1000, 1),
    )
    return response


def _dispatch(event: object, route: object, request_id: str) -> dict:
    if isinstance(event, dict) and route == CREATE_ROUTE:
        return _create(event, request_id)
    if isinstance(event, dict) and route == COMPAT_CREATE_ROUTE:
        return _create_compat(event, request_id)
    if isinstance(event, dict) and route == GET_ROUTE:
        return _read(event)
    if route == HEALTH_ROUTE:
        return _health()
    raise ClientMistake(404, "route_not_found", "no such route")


def _health() -> dict:
    """200 while this region's table copy answers. 503 for a former writer that the writer
    record has fenced (its configuration still names itself, the record another region): DNS
    must not send clients back to a region that refuses every new payment."""
    writer = _transactions().writer_region()
    here = os.environ["AWS_REGION"]
    if writer and writer != here and os.environ["WRITER_REGION"] == here:
        return _json(503, {"status": "fenced", "writerRegion": writer})
    return _json(200, {"status": "ok"})


def _create(event: dict, request_id: str) -> dict:
    payment, stored = _store(event, request_id)
    location = {"Location": f"/payments/{payment.transaction_id}"}
    if stored.created:
        return _json(201, stored.record, location)
    return _json(200, stored.record, {**location, "Idempotent-Replayed": "true"})


def _create_compat(event: dict, request_id: str) -> dict:
    """The reference stack's POST /payment: the same validation, idempotency and storage, in its
    answer's shape (200 with a message, for the first write and for a replay alike)."""
    payment, stored = _store(event, request_id)
    body = {**stored.record, "message": COMPAT_MESSAGE, "transactionId": payment.transaction_id}
    headers = {} if stored.created else {"Idempotent-Replayed": "true"}
    return _json(200, body, headers)


def _store(event: dict, request_id: str) -> tuple[Payment, Stored]:
    """Validate and store a payment once; a reuse of its id for another payment is a 409."""
    _require_json_content_type(_headers(event))
    payment = _parse_or_reject(_json_body(event))
    stored = _stored_here(payment)
    logs.log(
        logging.INFO,
        "payment_stored" if stored.created else "payment_replayed",
        request_id,
        transactionId=payment.transaction_id,
        customer=logs.pseudonym(payment.customer_id),
    )
    if not stored.created and not same_payment(stored.record, payment):
        raise ClientMistake(
            409,
            "idempotency_conflict",
            "this transactionId was already used for a different payment",
        )
    return payment, stored


def _stored_here(payment: Payment) -> Stored:
    """In the writer region: store the payment once. Elsewhere: answer a replay from this
    region's replica, and refuse a new payment, so that two regions never both take the same
    transactionId as new (global tables resolve concurrent writes by last writer wins). Which
    region writes is the write's own condition (store.create): no read before it."""
    here = os.environ["AWS_REGION"]
    try:
        return _transactions().create(
            payment, _now(), here, configured_writer=os.environ["WRITER_REGION"] == here
        )
    except Fenced:
        record = _transactions().get(payment.transaction_id)
        if record is None:
            raise NotTheWriter from None
        return Stored(record, created=False)


def _read(event: dict) -> dict:
    parameters = event.get("pathParameters") or {}
    transaction_id = parameters.get("transactionId") if isinstance(parameters, dict) else None
    if not isinstance(transaction_id, str) or not valid_identifier(transaction_id):
        raise ClientMistake(
            400,
            "invalid_transaction_id",
            "transactionId must be 1 to 64 characters of A-Z a-z 0-9 _ -",
        )
    record = _transactions().get(transaction_id)
    if record is None:
        raise ClientMistake(404, "payment_not_found", "no payment with this transactionId")
    return _json(200, record)


# ---- Request parsing ----


def _headers(event: dict) -> dict[str, str]:
    headers = event.get("headers") or {}
    if not isinstance(headers, dict):
        return {}
    return {str(name).lower(): value for name, value in headers.items() if isinstance(value, str)}


def _require_json_content_type(headers: dict[str, str]) -> None:
    """No Content-Type at all is read as JSON (the reference stack's clients send none);
    any other media type than JSON is refused."""
    if "content-type" not in headers:
        return
    media_type, _, parameters = headers["content-type"].partition(";")
    charset = parameters.strip().lower().removeprefix("charset=").strip('"')
    if media_type.strip().lower() != "application/json" or charset not in ("", "utf-8"):
        raise ClientMistake(415, "unsupported_media_type", "send Content-Type: application/json")


def _json_body(event: dict) -> dict:
    raw = event.get("body")
    if not isinstance(raw, str) or not raw:
        raise ClientMistake(400, "missing_body", "the request needs a JSON object body")
    try:
        encoded = event.get("isBase64Encoded")
        data = base64.b64decode(raw, validate=True) if encoded else raw.encode()
        if len(data) > MAX_BODY_BYTES:
            raise ClientMistake(413, "body_too_large", f"at most {MAX_BODY_BYTES} bytes")
        body = json.loads(
            data.decode("utf-8"),
            parse_float=_json_number,
            parse_int=_json_number,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except (binascii.Error, UnicodeError, ValueError, RecursionError) as error:
        raise ClientMistake(400, "invalid_json", "the body is not valid UTF-8 JSON") from error
    if not isinstance(body, dict):
        raise ClientMistake(400, "body_not_object", "the body must be a JSON object")
    return body


def _json_number(text: str) -> Decimal:
    """A JSON number as a Decimal. One whose exponent overflows Decimal's context (1e1e20) is
    valid JSON but no amount: it becomes Infinity, which validation rejects field by field."""
    try:
        return Decimal(text)
    except ArithmeticError:
        return Decimal("-Infinity") if text.startswith("-") else Decimal("Infinity")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _parse_or_reject(body: dict) -> Payment:
    try:
        return parse_payment(body, _rules())
    except InvalidPayment as invalid:
        raise ClientMistake(
            400, "validation_failed", "the payment is invalid", invalid.problems
        ) from None


# ---- Responses ----


def _json(status: int, body: dict, headers: dict | None = None) -> dict:
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            **(headers or {}),
        },
        "body": json.dumps(body, sort_keys=True),
    }


def _aws_failure(error: Exception, request_id: str) -> dict:
    if isinstance(error, ClientError):
        code = error.response["Error"]["Code"]
        retryable = code in RETRYABLE_AWS_ERRORS
    else:  # timeouts and connection errors from botocore itself
        code, retryable = type(error).__name__, True
    logs.log(logging.WARNING if retryable else logging.ERROR, "aws_error", request_id, code=code)
    if retryable:
        return _json(
            503,
            {"error": "service_unavailable", "requestId": request_id},
            {"Retry-After": RETRY_AFTER_SECONDS},
        )
    return _json(500, {"error": "internal_error", "requestId": request_id})


def _request_id(event: object, context: object) -> str:
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    if isinstance(request_context, dict):
        request_id = request_context.get("requestId")
        if isinstance(request_id, str):
            return request_id
    from_context = getattr(context, "aws_request_id", None)
    return from_context if isinstance(from_context, str) else "local"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
