"""`payinfra failover`: with the primary's region dark on the emulator, the standby becomes the
writer through calls to the standby's region only (the emulator counts them), takes new payments
and answers replays of what was replicated before the outage; the old primary, back with its old
configuration, refuses every new payment and fails its health check.

The emulator replicates the two regions' tables as global tables do (asynchronously, with a lag
the test sets, held while a region is dark), so what the failover loses is measured.
"""

from __future__ import annotations

import json

import boto3
import pytest
import yaml
from click.testing import CliRunner

from payinfra.cli import main
from tests.conftest import ENVIRONMENTS
from tests.processor_harness import app, http_event, replicated_item, stored_item
from tests.toolchain import emulator_control

A, B = "eu-west-1", "us-east-1"
TABLE, DATABASE = "payment-local-transactions", "payment-local-db"
PAYMENT = {"transactionId": "tx-before", "customerId": "c-1", "amount": "12.50", "currency": "EUR"}


@pytest.fixture
def standby_env(tmp_path, moto_server):
    """local.yaml with A primary and B standby on the emulator, and what a step-1 apply leaves:
    the table in both regions, A's database and its read replica in B."""
    moto_server.reset()
    folder = tmp_path / "environments"
    folder.mkdir()
    for path in ENVIRONMENTS.glob("*.yaml"):
        (folder / path.name).write_text(path.read_text())
    local = yaml.safe_load((folder / "local.yaml").read_text())
    local["emulator"] = {"endpoint": moto_server.endpoint}
    local["workload"] = {A: "primary", B: "standby"}
    (folder / "local.yaml").write_text(yaml.safe_dump(local))
    aws = {
        "endpoint_url": moto_server.endpoint,
        "aws_access_key_id": "emulator",
        "aws_secret_access_key": "emulator",
    }
    for region in (A, B):
        boto3.client("dynamodb", region_name=region, **aws).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "transactionId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "transactionId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    primary = boto3.client("rds", region_name=A, **aws).create_db_instance(
        DBInstanceIdentifier=DATABASE,
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        MasterUsername="payments",
        MasterUserPassword="not-a-real-secret-1",
        AllocatedStorage=20,
    )["DBInstance"]
    boto3.client("rds", region_name=B, **aws).create_db_instance_read_replica(
        DBInstanceIdentifier=DATABASE, SourceDBInstanceIdentifier=primary["DBInstanceArn"]
    )
    yield folder, aws
    moto_server.reset()


def processor(monkeypatch, endpoint: str, region: str, writer: str, event: dict) -> dict:
    """The payment processor in `region`, configured with `writer` as WRITER_REGION."""
    settings = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "emulator",
        "AWS_SECRET_ACCESS_KEY": "emulator",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "WRITER_REGION": writer,
        "TABLE_NAME": TABLE,
        "ALLOWED_CURRENCIES": "EUR,USD",
        "MAX_AMOUNT": "10000",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    app._transactions.cache_clear()
    app._rules.cache_clear()
    return app.handler(event, None)


def item(aws: dict, region: str, key: str) -> dict | None:
    return stored_item(boto3.client("dynamodb", region_name=region, **aws), TABLE, key)


def replicated(aws: dict, region: str, key: str, check=lambda found: True) -> bool:
    """Whether `key` reaches `region`'s table (and passes `check`) within a few seconds."""
    return replicated_item(boto3.client("dynamodb", region_name=region, **aws), TABLE, key, check)


def failover(folder, *args: str):
    return CliRunner().invoke(main, ["failover", "local", "--environments-dir", str(folder), *args])


@pytest.mark.emulator
def test_failover_from_a_dark_primary_calls_only_the_standby(standby_env, moto_server, monkeypatch):
    folder, aws = standby_env
    endpoint = moto_server.endpoint
    emulator_control(endpoint, "replication/lag/0.2")
    before = processor(monkeypatch, endpoint, A, A, http_event("POST", "/payments", PAYMENT))
    assert before["statusCode"] == 201
    assert replicated(aws, B, "tx-before")

    emulator_control(endpoint, f"{A}/dark")
    emulator_control(endpoint, "reset")
    unconfirmed = failover(folder, "--to", B)
    assert unconfirmed.exit_code == 3 and "needs its name typed" in unconfirmed.output
    done = failover(folder, "--to", B, "--auto-approve")
    assert done.exit_code == 0, done.output
    assert emulator_control(endpoint)["calls"].get(A, 0) == 0, "not one call to the dark region"
    assert "database: replica lag last seen" in done.output
    assert f"writer: {B}, epoch 1 (was none" in done.output
    assert f"database: promotion of {DATABASE} started" in done.output
    (promoted,) = boto3.client("rds", region_name=B, **aws).describe_db_instances()["DBInstances"]
    assert not promoted.get("ReadReplicaSourceDBInstanceIdentifier")

    # status still reports, from B, with A unreachable.
    report = CliRunner().invoke(
        main, ["status", "local", "--environments-dir", str(folder), "--json"]
    )
    assert report.exit_code in (0, 2), report.output
    facts = {(line["region"], line["what"]): line["state"] for line in json.loads(report.output)}
    assert facts[(B, "database")].startswith("standalone")
    assert facts[(A, "database")].startswith("unknown")
    assert facts[(B, "table")] == "replica ACTIVE", "B's copy reports itself, A's is not asked"
    assert facts[(A, "table")].startswith("unknown")

    # The standby's processor still has its old configuration (WRITER_REGION = A).
    new = {**PAYMENT, "transactionId": "tx-after"}
    assert (
        processor(monkeypatch, endpoint, B, A, http_event("POST", "/payments", new))["statusCode"]
        == 201
    )
    replay = processor(monkeypatch, endpoint, B, A, http_event("POST", "/payments", PAYMENT))
    assert (replay["statusCode"], replay["headers"]["Idempotent-Replayed"]) == (200, "true")

    # A comes back, its configuration unchanged; replication brings it the writer record.
    emulator_control(endpoint, f"{A}/light")
    assert replicated(aws, A, "#writer", lambda found: found["writerRegion"]["S"] == B)
    late = {**PAYMENT, "transactionId": "tx-late"}
    refused = processor(monkeypatch, endpoint, A, A, http_event("POST", "/payments", late))
    assert json.loads(refused["body"])["error"] == "not_writer_region"
    assert processor(monkeypatch, endpoint, A, A, http_event("GET", "/health"))["statusCode"] == 503
    stored = boto3.client("dynamodb", region_name=A, **aws).get_item(
        TableName=TABLE, Key={"transactionId": {"S": "tx-late"}}
    )
    assert "Item" not in stored

    # A second failover to B claims the next epoch; the database is already standalone.
    again = failover(folder, "--to", B, "--auto-approve")
    assert f"writer: {B}, epoch 2 (was {B}, epoch 1)" in again.output
    assert f"{DATABASE} is already standalone" in again.output


@pytest.mark.emulator
def test_what_the_primary_took_in_its_last_moments_is_the_window(
    standby_env, moto_server, monkeypatch
):
    """A payment A took that had not replicated when A went dark: B does not hold it, so a
    client retrying it there has it taken again; once A is back, replication makes the two one
    record (the later write wins). docs/failover.md states this window."""
    folder, aws = standby_env
    endpoint = moto_server.endpoint
    emulator_control(endpoint, "replication/lag/5")
    last = {**PAYMENT, "transactionId": "tx-last-moment"}
    taken = processor(monkeypatch, endpoint, A, A, http_event("POST", "/payments", last))
    assert taken["statusCode"] == 201
    emulator_control(endpoint, f"{A}/dark")
    assert failover(folder, "--to", B, "--auto-approve").exit_code == 0
    assert item(aws, B, "tx-last-moment") is None, "lost while A is dark"
    retried = processor(monkeypatch, endpoint, B, A, http_event("POST", "/payments", last))
    assert retried["statusCode"] == 201, "the window: taken again in B"
    emulator_control(endpoint, "replication/lag/0.1")
    emulator_control(endpoint, f"{A}/light")
    in_b = json.loads(retried["body"])["createdAt"]
    assert replicated(aws, A, "tx-last-moment", lambda found: found["createdAt"]["S"] == in_b)
    assert item(aws, B, "tx-last-moment")["createdAt"]["S"] == in_b, "one record, B's"


@pytest.mark.emulator
def test_a_dark_region_is_found_before_terraform_waits_on_it(moto_server):
    """terraform's AWS provider retries a dark region for many minutes: payinfra asks each
    region's STS first. One region dark while another answers is an outage; none answering
    (no network, a wrong endpoint) is left to the command's own errors."""
    from payinfra.accounts import Target, unreachable_regions

    target = Target("eu-west-1", endpoint=moto_server.endpoint, credentials=("x", "x"))
    regions = ["eu-west-1", "us-east-1"]
    assert unreachable_regions(target, regions) == {}
    emulator_control(moto_server.endpoint, "us-east-1/dark")
    try:
        found = unreachable_regions(target, regions)
        assert list(found) == ["us-east-1"] and "ServiceUnavailable" in found["us-east-1"]
        # One region's root: its own region is asked, the others only when it does not answer.
        emulator_control(moto_server.endpoint, "reset")
        assert unreachable_regions(target, ["eu-west-1"], ["us-east-1"]) == {}
        assert emulator_control(moto_server.endpoint)["calls"].get("us-east-1", 0) == 0
        assert list(unreachable_regions(target, ["us-east-1"], ["eu-west-1"])) == ["us-east-1"]
        emulator_control(moto_server.endpoint, "eu-west-1/dark")
        assert unreachable_regions(target, regions) == {}
    finally:
        emulator_control(moto_server.endpoint, "us-east-1/light")
        emulator_control(moto_server.endpoint, "eu-west-1/light")


@pytest.mark.parametrize(
    ("to", "expected"),
    [(A, f"{A} is local's primary"), ("ap-south-1", "ap-south-1 is not in local's workload")],
)
def test_only_a_standby_can_take_over(tmp_path, to, expected):
    folder = tmp_path / "environments"
    folder.mkdir()
    for path in ENVIRONMENTS.glob("*.yaml"):
        (folder / path.name).write_text(path.read_text())
    local = yaml.safe_load((folder / "local.yaml").read_text())
    local["workload"] = {A: "primary", B: "standby"}
    (folder / "local.yaml").write_text(yaml.safe_dump(local))
    refused = failover(folder, "--to", to, "--auto-approve")
    assert refused.exit_code == 3
    assert expected in refused.output and "nothing was changed" in refused.output.lower()


@pytest.mark.parametrize("to", ["", "mars-north-1", "US-EAST-1"])
def test_the_target_must_be_an_aws_region_name(tmp_path, to):
    refused = failover(tmp_path, "--to", to)
    assert refused.exit_code == 2
    assert f"'{to}' is not an AWS region name" in refused.output


def test_the_writer_key_is_the_processors_and_terraforms():
    from payinfra import assets, fencing
    from payment_processor import store

    assert fencing.WRITER_KEY == store.WRITER_KEY == "#writer"
    table = (assets.templates_dir() / "modules" / "data" / "dynamodb.tf").read_text()
    assert 'transactionId = { S = "#writer" }' in table


@pytest.mark.parametrize("sort_key", [None, "timestamp"], ids=["payinfra's", "adopted"])
def test_the_claim_follows_terraforms_record_and_refuses_one_moved_meanwhile(aws, sort_key):
    """Over payinfra's table and over an adopted one keyed on transactionId + a number (the
    record's sort key value is 0 there, as the processor's and Terraform's)."""
    from payinfra import fencing
    from payinfra.errors import FailoverRefused

    dynamodb = boto3.client("dynamodb", region_name=B)
    keys = [("transactionId", "HASH", "S")] + ([(sort_key, "RANGE", "N")] if sort_key else [])
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": name, "KeyType": kind} for name, kind, _ in keys],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, _, t in keys],
        BillingMode="PAY_PER_REQUEST",
    )
    table = fencing.Table(TABLE, sort_key)
    terraforms = {**table.writer_key(), "writerRegion": {"S": A}}
    dynamodb.put_item(TableName=TABLE, Item=terraforms)
    seen = fencing.current_writer(dynamodb, table)
    assert seen == fencing.Writer(A, 0), "Terraform's record has no epoch"
    assert fencing.claim_writer(dynamodb, table, B, seen) == fencing.Writer(B, 1)
    # Read at epoch 1, moved to epoch 2 by someone else before this claim: refused, unchanged.
    stale = fencing.current_writer(dynamodb, table)
    fencing.claim_writer(dynamodb, table, B, stale)
    with pytest.raises(FailoverRefused, match="changed while this failover read it"):
        fencing.claim_writer(dynamodb, table, B, stale)
    assert fencing.current_writer(dynamodb, table) == fencing.Writer(B, 2)
    assert dynamodb.scan(TableName=TABLE)["Count"] == 1, "one record, never a second key"
    # A record that appeared after it was read as absent: refused too.
    with pytest.raises(FailoverRefused):
        fencing.claim_writer(dynamodb, table, B, None)
