"""`payinfra emulator start|status|stop` with a real moto server on a free loopback port."""

from __future__ import annotations

import io
import json
import subprocess
import urllib.request
import zipfile

import pytest
from click.testing import CliRunner

from payinfra.cli import main
from tests.toolchain import free_port


def invoke(*args):
    return CliRunner().invoke(main, ["emulator", *args])


def start_on_a_free_port() -> int:
    """`emulator start` on a free port; another test worker may take the port before moto binds
    it (start then fails, as tested below), so a lost race is retried on another port."""
    for _attempt in range(3):
        port = free_port()
        started = invoke("start", "--port", str(port))
        if started.exit_code == 0:
            return port
        assert "the emulator exited with" in started.output, started.output
    raise AssertionError("three free ports were taken before the emulator bound them")


@pytest.mark.emulator
def test_start_status_stop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    port = start_on_a_free_port()
    started = invoke("start", "--port", str(port))
    try:
        assert started.exit_code == 0, "starting twice on the same port is a no-op"
        assert f"http://127.0.0.1:{port}" in started.output
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=5).close()
        status = invoke("status")
        assert (status.exit_code, "healthy" in status.output) == (0, True)
        other = invoke("start", "--port", str(port + 1))
        assert other.exit_code == 1 and "already running" in other.output
    finally:
        stopped = invoke("stop")
    assert (stopped.exit_code, stopped.output.strip()) == (0, "emulator stopped")
    assert invoke("status").exit_code == 1
    assert invoke("stop").output.strip() == "no emulator was running"
    assert not (tmp_path / ".payinfra" / "emulator.json").exists()


@pytest.mark.emulator
def test_start_on_a_port_another_emulator_holds_is_an_error(tmp_path, monkeypatch):
    """A second folder's `emulator start` on a busy port: moto cannot bind, and the health check
    must not take the other server's answer for its own."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    monkeypatch.chdir(first)
    port = start_on_a_free_port()
    try:
        monkeypatch.chdir(second)
        again = invoke("start", "--port", str(port))
        assert again.exit_code == 1, again.output
        assert f"port {port} on 127.0.0.1 is already in use by another process" in again.output
        assert not (second / ".payinfra" / "emulator.json").exists()
    finally:
        monkeypatch.chdir(first)
        invoke("stop")


@pytest.mark.emulator
def test_a_port_taken_after_it_was_found_free_is_not_mistaken_for_ours(tmp_path, monkeypatch):
    """Two folders (or two test workers) starting at once can both find a port free: the one
    that loses the bind must fail, not report the winner's emulator as its own."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    monkeypatch.chdir(first)
    port = start_on_a_free_port()
    try:
        monkeypatch.chdir(second)
        monkeypatch.setattr("payinfra.emulator._port_is_free", lambda _port: True)
        late = invoke("start", "--port", str(port))
        assert late.exit_code == 1, late.output
        assert "the emulator exited with" in late.output
        assert not (second / ".payinfra" / "emulator.json").exists()
    finally:
        monkeypatch.chdir(first)
        invoke("stop")


@pytest.mark.parametrize(
    "recorded",
    [
        {"identity": "1234 /usr/bin/moto_server -H 127.0.0.1 -p 5000"},  # pid reused since
        {},  # a state file from before identities were recorded
    ],
)
def test_stop_never_signals_a_process_that_took_over_a_stale_pid(tmp_path, monkeypatch, recorded):
    monkeypatch.chdir(tmp_path)
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        state = tmp_path / ".payinfra" / "emulator.json"
        state.parent.mkdir()
        state.write_text(
            json.dumps({"pid": bystander.pid, "endpoint": "http://127.0.0.1:5000", **recorded})
        )
        assert invoke("status").exit_code == 1
        stopped = invoke("stop")
        assert (stopped.exit_code, stopped.output.strip()) == (0, "no emulator was running")
        assert bystander.poll() is None, "the unrelated process was signalled"
        assert not state.exists(), "the stale state file is cleared"
    finally:
        bystander.kill()
        bystander.wait()


def test_a_damaged_state_file_is_no_emulator(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = tmp_path / ".payinfra" / "emulator.json"
    state.parent.mkdir()
    state.write_text("{not json")
    assert invoke("status").output.strip() == "emulator not running"
    assert invoke("stop").output.strip() == "no emulator was running"


# ---- Region outages: a region taken dark answers nothing but 503, and every call is counted ----


def client(endpoint: str, service: str, region: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


@pytest.mark.emulator
def test_a_dark_region_fails_every_call_until_it_comes_back(tmp_path, monkeypatch):
    from botocore.exceptions import ClientError

    monkeypatch.chdir(tmp_path)
    port = start_on_a_free_port()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        west, east = client(endpoint, "ec2", "eu-west-1"), client(endpoint, "ec2", "us-east-1")
        west.describe_vpcs(), east.describe_vpcs()
        dark = invoke("dark", "us-east-1")
        assert (dark.exit_code, dark.output.strip()) == (
            0,
            "us-east-1 is dark (dark now: us-east-1)",
        )
        with pytest.raises(ClientError) as refused:
            east.describe_vpcs()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        # A global service signed in us-east-1 goes dark with it; the other region answers.
        with pytest.raises(ClientError):
            client(endpoint, "iam", "us-east-1").list_roles()
        west.describe_vpcs()
        report = json.loads(invoke("regions", "--json", "--reset").output)
        assert report == {"dark": ["us-east-1"], "calls": {"eu-west-1": 2, "us-east-1": 3}}
        assert json.loads(invoke("regions", "--json").output)["calls"] == {}
        light = invoke("light", "us-east-1")
        assert light.output.strip() == "us-east-1 answers again (dark now: none)"
        east.describe_vpcs()
        shown = invoke("regions").output
        assert shown.splitlines() == ["dark: none", "  us-east-1: 1 call(s)"]
        assert invoke("dark", "mars-north-1").exit_code == 1
    finally:
        invoke("stop")
    stopped = invoke("dark", "us-east-1")
    assert stopped.exit_code == 1 and "no emulator is running here" in stopped.output


def test_a_request_is_counted_for_the_region_its_signature_names():
    from payinfra.emulator_server import signed_region

    header = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/eu-west-1/ec2/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )
    assert signed_region({"HTTP_AUTHORIZATION": header}) == "eu-west-1"
    presigned = (
        "X-Amz-Credential=AKIDEXAMPLE%2F20261202%2Fap-south-2%2Fs3%2Faws4_request&X-Amz-Date=1"
    )
    assert signed_region({"QUERY_STRING": presigned}) == "ap-south-2"
    assert signed_region({"HTTP_AUTHORIZATION": "Bearer token"}) is None
    assert signed_region({}) is None


@pytest.mark.emulator
def test_the_emulator_updates_an_api_stage_in_place_as_aws_does(moto_server):
    api = client(moto_server.endpoint, "apigatewayv2", "eu-west-1")
    api_id = api.create_api(Name="stage-updates", ProtocolType="HTTP")["ApiId"]
    api.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    throttle = {"GET /health": {"ThrottlingBurstLimit": 10, "ThrottlingRateLimit": 5.0}}
    updated = api.update_stage(ApiId=api_id, StageName="$default", RouteSettings=throttle)
    assert updated["RouteSettings"] == throttle
    stage = api.get_stage(ApiId=api_id, StageName="$default")
    assert stage["RouteSettings"] == throttle and stage["AutoDeploy"] is True


@pytest.mark.emulator
def test_a_cross_region_replica_is_an_instance_of_its_own_region_as_aws_does(moto_server):
    """A region's second generation gives its replica's group a name the source region lacks."""

    def subnet_group(region: str, name: str) -> None:
        ec2 = client(moto_server.endpoint, "ec2", region)
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(
                VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=f"{region}{z}"
            )["Subnet"]["SubnetId"]
            for n, z in enumerate("ab")
        ]
        client(moto_server.endpoint, "rds", region).create_db_subnet_group(
            DBSubnetGroupName=name, DBSubnetGroupDescription=name, SubnetIds=subnets
        )

    subnet_group("us-east-1", "primary-db")
    subnet_group("eu-west-1", "standby-g2-db")
    primary = client(moto_server.endpoint, "rds", "us-east-1").create_db_instance(
        DBInstanceIdentifier="primary-db", Engine="postgres", DBInstanceClass="db.t4g.small",
        MasterUsername="admin", MasterUserPassword="password-1", AllocatedStorage=20,
        DBSubnetGroupName="primary-db",
    )["DBInstance"]  # fmt: skip
    rds = client(moto_server.endpoint, "rds", "eu-west-1")
    replica = rds.create_db_instance_read_replica(
        DBInstanceIdentifier="standby-g2-db", DBSubnetGroupName="standby-g2-db",
        SourceDBInstanceIdentifier=primary["DBInstanceArn"],
    )["DBInstance"]  # fmt: skip
    assert replica["DBSubnetGroup"]["DBSubnetGroupName"] == "standby-g2-db"
    assert ":eu-west-1:" in replica["DBInstanceArn"]
    # Each instance its own resource id, by which the AWS provider reads it.
    assert replica["DbiResourceId"] != primary["DbiResourceId"]
    found = rds.describe_db_instances(
        Filters=[{"Name": "dbi-resource-id", "Values": [replica["DbiResourceId"]]}]
    )["DBInstances"]
    assert [i["DBInstanceIdentifier"] for i in found] == ["standby-g2-db"]


@pytest.mark.emulator
def test_the_emulator_updates_a_functions_key_tracing_and_architecture_as_aws_does(moto_server):
    """Adopting the reference's function changes all three (moto 5.2 dropped them)."""
    role = client(moto_server.endpoint, "iam", "us-east-1").create_role(
        RoleName="adopted-fn", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    functions = client(moto_server.endpoint, "lambda", "eu-west-1")
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("index.py", "def handler(event, context): pass\n")
    functions.create_function(
        FunctionName="adopted-fn", Runtime="python3.11", Role=role, Handler="index.handler",
        Code={"ZipFile": package.getvalue()},
    )  # fmt: skip
    key = "arn:aws:kms:eu-west-1:123456789012:key/0b6a4c2e-0000-4000-8000-000000000000"
    functions.update_function_configuration(
        FunctionName="adopted-fn", KMSKeyArn=key, TracingConfig={"Mode": "Active"}
    )
    functions.update_function_code(
        FunctionName="adopted-fn", ZipFile=package.getvalue(), Architectures=["arm64"]
    )
    settings = functions.get_function_configuration(FunctionName="adopted-fn")
    assert settings["KMSKeyArn"] == key and settings["TracingConfig"] == {"Mode": "Active"}
    assert settings["Architectures"] == ["arm64"]


@pytest.mark.emulator
def test_the_emulator_moves_a_table_to_a_customer_managed_key_as_aws_does(moto_server):
    """Adopting the reference's table (AWS-owned encryption) sets payinfra's key."""
    dynamodb = client(moto_server.endpoint, "dynamodb", "eu-west-1")
    dynamodb.create_table(
        TableName="adopted-table", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )  # fmt: skip
    key = "arn:aws:kms:eu-west-1:123456789012:key/0b6a4c2e-0000-4000-8000-000000000000"
    dynamodb.update_table(
        TableName="adopted-table",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
    )
    described = dynamodb.describe_table(TableName="adopted-table")["Table"]
    assert described["SSEDescription"]["KMSMasterKeyArn"] == key


@pytest.mark.emulator
def test_the_emulator_tags_a_stage_by_its_arn_as_aws_does(moto_server):
    """Adopting the reference's `prod` stage retags it (moto 5.2: a 404, tags never change)."""
    api = client(moto_server.endpoint, "apigatewayv2", "eu-west-1")
    api_id = api.create_api(Name="stage-tags", ProtocolType="HTTP")["ApiId"]
    api.create_stage(ApiId=api_id, StageName="prod", Tags={"ManagedBy": "CDKTF", "Old": "1"})
    arn = f"arn:aws:apigateway:eu-west-1::/apis/{api_id}/stages/prod"
    api.tag_resource(ResourceArn=arn, Tags={"ManagedBy": "payinfra"})
    api.untag_resource(ResourceArn=arn, TagKeys=["Old"])
    assert api.get_stage(ApiId=api_id, StageName="prod")["Tags"] == {"ManagedBy": "payinfra"}


@pytest.mark.emulator
def test_the_emulator_keeps_a_key_associated_with_a_log_group_as_aws_does(moto_server):
    """Adopting a log group made without a key associates payinfra's (moto 5.2: a 500)."""
    logs = client(moto_server.endpoint, "logs", "eu-west-1")
    logs.create_log_group(logGroupName="/aws/lambda/adopted")
    key = "arn:aws:kms:eu-west-1:123456789012:key/0b6a4c2e-0000-4000-8000-000000000000"
    logs.associate_kms_key(logGroupName="/aws/lambda/adopted", kmsKeyId=key)
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/adopted")["logGroups"]
    assert group["kmsKeyId"] == key
    logs.disassociate_kms_key(logGroupName="/aws/lambda/adopted")
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/adopted")["logGroups"]
    assert "kmsKeyId" not in group


@pytest.mark.emulator
def test_the_replication_lag_is_set_on_the_running_emulator(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    port = start_on_a_free_port()
    try:
        assert invoke("lag", "2.5").output.strip() == "table replication lag: 2.5 s"
        url = f"http://127.0.0.1:{port}/_payinfra/regions"
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert json.loads(answer.read())["replication_lag"] == 2.5
        assert invoke("lag", "-1").exit_code == 2
    finally:
        invoke("stop")


def test_a_cancelled_transaction_leaves_a_copy_that_landed_meanwhile_as_dynamodb_does(
    aws, monkeypatch
):
    """moto undoes a cancelled transaction by restoring the whole table it started from; a
    replicated write that lands while the transaction runs must survive it (the failover
    drill's payment taken in B once lost its copy in A this way, as A refused a payment)."""
    import threading

    import boto3
    from botocore.exceptions import ClientError
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends

    from payinfra.emulator_server import RegionOutages, TableReplication, tables_replicate

    A, B, table = "eu-west-1", "us-east-1", "payments"
    for region in (A, B):
        boto3.client("dynamodb", region_name=region).create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    boto3.client("dynamodb", region_name=B).put_item(
        TableName=table, Item={"id": {"S": "taken-in-b"}}
    )
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        monkeypatch.setattr(DynamoDBBackend, name, getattr(DynamoDBBackend, name))
    replication = TableReplication(RegionOutages())
    tables_replicate(replication)

    # The transaction in A pauses once it has its snapshot, until the copy has been tried.
    evaluating, resume = threading.Event(), threading.Event()
    condition = dynamodb_models.get_filter_expression

    def paused_condition(*args):
        evaluating.set()
        resume.wait(10)
        return condition(*args)

    monkeypatch.setattr(dynamodb_models, "get_filter_expression", paused_condition)
    refused: list[str] = []

    def refused_payment() -> None:
        try:
            boto3.client("dynamodb", region_name=A).transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"id": {"S": "refused-in-a"}},
                            "ConditionExpression": "attribute_exists(id)",
                        }
                    }
                ]
            )
        except ClientError as error:
            refused.append(error.response["Error"]["Code"])

    transaction = threading.Thread(target=refused_payment)
    transaction.start()
    assert evaluating.wait(10)
    backends = dynamodb_backends[DEFAULT_ACCOUNT_ID]
    copy = threading.Thread(
        target=replication._deliver,
        args=(backends[B], backends[A], table, {"id": {"S": "taken-in-b"}}, 1.0),
    )
    copy.start()
    copy.join(0.5)  # the copy lands now, or waits for the transaction to end
    resume.set()
    transaction.join(10)
    copy.join(10)
    assert refused == ["TransactionCanceledException"]
    found = boto3.client("dynamodb", region_name=A).get_item(
        TableName=table, Key={"id": {"S": "taken-in-b"}}
    )
    assert "Item" in found, "the cancelled transaction took the replicated write with it"
