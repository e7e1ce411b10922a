"""One writer across regions: a replay sent to the other region during a move is answered as a
replay, never stored as a new payment.

Emulator limit: moto does not replicate DynamoDB global tables, so the test copies the stored
item into the other region's table, as global-table replication would, before replaying there.
"""

from __future__ import annotations

import json

import boto3
import pytest

from tests.processor_harness import app, emulated_table, http_event, table_spec

TABLE = "payment-dev-transactions"
PAYMENT = {"transactionId": "tx-move-1", "customerId": "c-1", "amount": "12.50", "currency": "EUR"}
WRITER, STANDBY = "eu-west-1", "us-east-1"


@pytest.fixture
def two_regions(parsed, monkeypatch):
    """The table in both regions, the processor running in `region` with `writer` as writer."""
    with emulated_table(parsed["dev"], TABLE) as home:
        standby = boto3.client("dynamodb", region_name=STANDBY)
        standby.create_table(TableName=TABLE, **table_spec(parsed["dev"]))

        def run_in(region: str, writer: str, event: dict) -> dict:
            for name, value in (
                ("AWS_REGION", region),
                ("AWS_DEFAULT_REGION", region),
                ("WRITER_REGION", writer),
            ):
                monkeypatch.setenv(name, value)
            app._transactions.cache_clear()
            return app.handler(event, None)

        yield run_in, {WRITER: home, STANDBY: standby}


def replicate(clients: dict, source: str, destination: str, transaction_id: str) -> None:
    item = clients[source].get_item(
        TableName=TABLE, Key={"transactionId": {"S": transaction_id}}, ConsistentRead=True
    )["Item"]
    clients[destination].put_item(TableName=TABLE, Item=item)


def stored_in(clients: dict, region: str, transaction_id: str) -> bool:
    found = clients[region].get_item(TableName=TABLE, Key={"transactionId": {"S": transaction_id}})
    return "Item" in found


def test_a_replay_to_the_standby_is_a_replay_and_a_new_payment_there_is_refused(two_regions):
    run_in, clients = two_regions
    first = run_in(WRITER, WRITER, http_event("POST", "/payments", PAYMENT))
    assert first["statusCode"] == 201
    replicate(clients, WRITER, STANDBY, "tx-move-1")

    replay = run_in(STANDBY, WRITER, http_event("POST", "/payments", PAYMENT))
    assert replay["statusCode"] == 200
    assert replay["headers"]["Idempotent-Replayed"] == "true"
    assert json.loads(replay["body"]) == json.loads(first["body"])

    conflicting = run_in(
        STANDBY, WRITER, http_event("POST", "/payments", {**PAYMENT, "amount": "99"})
    )
    assert conflicting["statusCode"] == 409

    new = {**PAYMENT, "transactionId": "tx-move-2"}
    refused = run_in(STANDBY, WRITER, http_event("POST", "/payments", new))
    assert refused["statusCode"] == 503
    assert refused["headers"]["Retry-After"] == str(app.STANDBY_RETRY_AFTER_SECONDS)
    assert json.loads(refused["body"])["error"] == "not_writer_region"
    assert not stored_in(clients, STANDBY, "tx-move-2")
    assert not stored_in(clients, WRITER, "tx-move-2")


def test_after_the_switch_the_old_writer_answers_replays_and_only_the_new_one_stores(two_regions):
    run_in, clients = two_regions
    assert run_in(WRITER, WRITER, http_event("POST", "/payments", PAYMENT))["statusCode"] == 201
    replicate(clients, WRITER, STANDBY, "tx-move-1")

    # The switch: STANDBY becomes the writer, the old writer stands by.
    replay = run_in(WRITER, STANDBY, http_event("POST", "/payments", PAYMENT))
    assert (replay["statusCode"], replay["headers"]["Idempotent-Replayed"]) == (200, "true")
    replay_new_writer = run_in(STANDBY, STANDBY, http_event("POST", "/payments", PAYMENT))
    assert replay_new_writer["statusCode"] == 200
    assert replay_new_writer["headers"]["Idempotent-Replayed"] == "true"

    new = {**PAYMENT, "transactionId": "tx-move-3"}
    assert run_in(WRITER, STANDBY, http_event("POST", "/payments", new))["statusCode"] == 503
    assert run_in(STANDBY, STANDBY, http_event("POST", "/payments", new))["statusCode"] == 201
    assert not stored_in(clients, WRITER, "tx-move-3")


def test_reads_are_served_by_every_region(two_regions):
    run_in, clients = two_regions
    run_in(WRITER, WRITER, http_event("POST", "/payments", PAYMENT))
    replicate(clients, WRITER, STANDBY, "tx-move-1")
    read = run_in(
        STANDBY, WRITER, http_event("GET", "/payments/tx-move-1", transaction_id="tx-move-1")
    )
    assert read["statusCode"] == 200


# ---- The writer record: a failover fences the old writer through data that replicates ----


def claim(clients: dict, region: str, writer: str, epoch: int) -> None:
    """What `payinfra failover` writes into the new writer's table copy (and replication then
    carries to every other region's copy)."""
    clients[region].put_item(
        TableName=TABLE,
        Item={
            "transactionId": {"S": "#writer"},
            "writerRegion": {"S": writer},
            "epoch": {"N": str(epoch)},
        },
    )


def test_after_a_failover_the_returning_writer_refuses_and_the_new_one_stores(two_regions):
    """Both processors keep their old configuration (WRITER_REGION = the old writer): the
    record, not the configuration, decides."""
    run_in, clients = two_regions
    assert run_in(WRITER, WRITER, http_event("POST", "/payments", PAYMENT))["statusCode"] == 201
    replicate(clients, WRITER, STANDBY, "tx-move-1")
    claim(clients, STANDBY, STANDBY, epoch=1)  # the failover, with WRITER dark

    new = {**PAYMENT, "transactionId": "tx-after-failover"}
    assert run_in(STANDBY, WRITER, http_event("POST", "/payments", new))["statusCode"] == 201
    replay = run_in(STANDBY, WRITER, http_event("POST", "/payments", PAYMENT))
    assert (replay["statusCode"], replay["headers"]["Idempotent-Replayed"]) == (200, "true")

    replicate(clients, STANDBY, WRITER, "#writer")  # the old writer comes back
    other = {**PAYMENT, "transactionId": "tx-old-writer"}
    refused = run_in(WRITER, WRITER, http_event("POST", "/payments", other))
    assert (refused["statusCode"], json.loads(refused["body"])["error"]) == (
        503,
        "not_writer_region",
    )
    assert not stored_in(clients, WRITER, "tx-old-writer")
    old_replay = run_in(WRITER, WRITER, http_event("POST", "/payments", PAYMENT))
    assert old_replay["statusCode"] == 200, "a payment it holds is still answered as a replay"


def test_the_write_itself_checks_the_record(two_regions):
    """The record reaches a region by replication, at any moment: no read before the write is
    trusted, the write's own condition refuses."""
    run_in, clients = two_regions
    claim(clients, WRITER, STANDBY, epoch=1)
    refused = run_in(WRITER, WRITER, http_event("POST", "/payments", PAYMENT))
    assert refused["statusCode"] == 503
    assert not stored_in(clients, WRITER, "tx-move-1")


def test_health_fails_only_for_a_fenced_former_writer(two_regions):
    """DNS must not send clients back to a region that refuses every new payment; a standby
    still serves (replays, reads) and stays healthy."""
    run_in, clients = two_regions
    health = http_event("GET", "/health")
    assert run_in(WRITER, WRITER, health)["statusCode"] == 200
    assert run_in(STANDBY, WRITER, health)["statusCode"] == 200, "a standby is healthy"
    claim(clients, STANDBY, STANDBY, epoch=1)
    assert run_in(STANDBY, WRITER, health)["statusCode"] == 200, "the new writer is healthy"
    claim(clients, WRITER, STANDBY, epoch=1)  # replicated to the old writer's copy
    fenced = run_in(WRITER, WRITER, health)
    assert fenced["statusCode"] == 503
    assert json.loads(fenced["body"]) == {"status": "fenced", "writerRegion": STANDBY}
