"""Cold import time and warm per-request time of the payment processor against moto.

Run: .venv/bin/python benchmarks/processor.py
Cold: a fresh interpreter imports payment_processor.app (boto3 included), 10 times.
Warm: one interpreter, table in moto's in-process DynamoDB, 500 POSTs and 500 GETs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lambda_src"))
COLD_RUNS = 10
WARM_REQUESTS = 500
IMPORT_TIMER = (
    "import time; t = time.perf_counter(); import payment_processor.app; "
    "print((time.perf_counter() - t) * 1000)"
)


def cold_import_ms() -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "lambda_src")}
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", IMPORT_TIMER],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(COLD_RUNS)
    ]


def warm_request_ms() -> tuple[list[float], list[float]]:
    import boto3
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "TABLE_NAME": "bench",
        "WRITER_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "ALLOWED_CURRENCIES": "EUR,GBP,USD",
        "MAX_AMOUNT": "100000.00",
        "LOG_LEVEL": "WARNING",
    }.items():
        os.environ[name] = value
    from payment_processor import app

    def event(method: str, transaction_id: str) -> dict:
        body = {
            "transactionId": transaction_id,
            "customerId": "c",
            "amount": "10.00",
            "currency": "EUR",
        }
        if method == "POST":
            return {
                "routeKey": "POST /payments",
                "body": json.dumps(body),
                "headers": {"content-type": "application/json"},
            }
        return {
            "routeKey": "GET /payments/{transactionId}",
            "pathParameters": {"transactionId": transaction_id},
        }

    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="bench",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "transactionId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "transactionId", "AttributeType": "S"}],
        )
        app.handler(event("POST", "warmup"), None)
        timings = {"POST": [], "GET": []}
        for method in ("POST", "GET"):
            for index in range(WARM_REQUESTS):
                started = time.perf_counter()
                response = app.handler(event(method, f"tx-{index}"), None)
                timings[method].append((time.perf_counter() - started) * 1000)
                assert response["statusCode"] in (200, 201), response
    return timings["POST"], timings["GET"]


def describe(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"{label:<22} median {statistics.median(samples):7.2f} ms   "
        f"p95 {p95:7.2f} ms   n={len(samples)}"
    )


def main() -> None:
    print(describe("cold import", cold_import_ms()))
    posts, gets = warm_request_ms()
    print(describe("warm POST /payments", posts))
    print(describe("warm GET /payments/id", gets))
    size = REPO / "out" / "dev" / "build" / "payment_processor.zip"
    if size.exists():
        print(f"package size           {size.stat().st_size} bytes")


if __name__ == "__main__":
    main()
