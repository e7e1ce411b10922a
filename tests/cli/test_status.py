"""`payinfra status`: what AWS reports about each workload region, read through boto3 only,
against in-process moto with the stack's objects made by hand (names as the modules derive them).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import boto3
from click.testing import CliRunner

from payinfra import accounts, status
from payinfra.cli import main
from payinfra.config import load_environment

A, B = "eu-west-1", "us-east-1"
PREFIX = "payment-dev"
ACCOUNT = "123456789012"  # moto's default
ZONE_DOMAIN = "pay.example.com"


def standing_by(env_dir, **api) -> object:
    env_dir.write("dev", {"workload": {A: "primary", B: "standby"}, "api": api})
    return load_environment(env_dir.path, "dev")


def make_function(region: str, writer: str) -> None:
    iam = boto3.client("iam", region_name=region)
    try:
        role = iam.create_role(RoleName=f"r-{region}", AssumeRolePolicyDocument="{}")["Role"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=f"r-{region}")["Role"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(e, c): return e\n")
    boto3.client("lambda", region_name=region).create_function(
        FunctionName=f"{PREFIX}-payment-processor",
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
        Environment={"Variables": {"WRITER_REGION": writer}},
    )


def make_databases() -> None:
    primary = boto3.client("rds", region_name=A).create_db_instance(
        DBInstanceIdentifier=f"{PREFIX}-db",
        Engine="postgres",
        DBInstanceClass="db.t4g.small",
        AllocatedStorage=20,
        MasterUsername="admin_user",
        MasterUserPassword="not-a-real-password-1",
        BackupRetentionPeriod=7,
    )["DBInstance"]
    boto3.client("rds", region_name=B).create_db_instance_read_replica(
        DBInstanceIdentifier=f"{PREFIX}-db",
        SourceDBInstanceIdentifier=primary["DBInstanceArn"],
    )
    boto3.client("cloudwatch", region_name=B).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "ReplicaLag",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": f"{PREFIX}-db"}],
                "Timestamp": datetime.now(UTC) - timedelta(minutes=1),
                "Value": 2.0,
            }
        ],
    )


def make_table() -> None:
    boto3.client("dynamodb", region_name=A).create_table(
        TableName=f"{PREFIX}-transactions",
        KeySchema=[{"AttributeName": "transactionId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "transactionId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def target() -> accounts.Target:
    return accounts.Target(region=A)


def test_status_reports_roles_writers_table_database_and_backlog(aws, env_dir):
    env = standing_by(env_dir)
    make_function(A, A)
    make_function(B, A)
    make_databases()
    make_table()
    facts = {
        (line.region, line.what): line.state
        for line in status.workload_status(env, target(), ACCOUNT)
    }
    assert facts[(A, "role")] == "primary" and facts[(B, "role")] == "standby"
    assert facts[(A, "processor")] == facts[(B, "processor")] == f"deployed, writer region {A}"
    assert facts[(A, "table")] == "home table ACTIVE"
    assert facts[(B, "table")] == "no replica yet"
    assert facts[(A, "database")] == "standalone, available"
    assert facts[(B, "database")].startswith("read replica of arn:aws:rds:eu-west-1:")
    assert facts[(B, "database")].endswith("lag 2 s")
    assert facts[(B, f"bucket copy from {A}")] == "no datapoint yet"
    assert facts[(A, "writer record")] == "none (the processors' WRITER_REGION decides)"


def test_status_reads_the_writer_record_each_region_holds(aws, env_dir):
    """After `payinfra failover --to B`, with the YAML not yet updated: attention."""
    env = standing_by(env_dir)
    make_table()
    boto3.client("dynamodb", region_name=B).create_table(
        TableName=f"{PREFIX}-transactions",
        KeySchema=[{"AttributeName": "transactionId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "transactionId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for region, item in ((A, {"writerRegion": A}), (B, {"writerRegion": B, "epoch": 1})):
        record = {"transactionId": {"S": "#writer"}, "writerRegion": {"S": item["writerRegion"]}}
        if "epoch" in item:
            record["epoch"] = {"N": str(item["epoch"])}
        boto3.client("dynamodb", region_name=region).put_item(
            TableName=f"{PREFIX}-transactions", Item=record
        )
    lines = {
        (line.region, line.what): line for line in status.workload_status(env, target(), ACCOUNT)
    }
    assert lines[(A, "writer record")].state == A
    assert not lines[(A, "writer record")].attention
    fenced = lines[(B, "writer record")]
    assert fenced.state.startswith(f"{B}, epoch 1 (a failover), but the YAML's primary is {A}")
    assert fenced.attention


def test_status_says_what_it_could_not_read_instead_of_failing(aws, env_dir):
    env = standing_by(env_dir)
    facts = {
        (line.region, line.what): line.state
        for line in status.workload_status(env, target(), ACCOUNT)
    }
    assert facts[(B, "processor")] == "unknown (ResourceNotFoundException)"
    assert facts[(A, "database")] == "unknown (DBInstanceNotFound)"
    assert facts[(A, "table")] == "unknown (ResourceNotFoundException)"


def test_status_reports_where_dns_sends_clients(aws, env_dir):
    route53 = boto3.client("route53", region_name=A)
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]
    zone_id = zone["Id"].split("/")[-1]
    env = standing_by(env_dir, domain=ZONE_DOMAIN, hosted_zone_id=zone_id)
    for region, role in ((A, "PRIMARY"), (B, "SECONDARY")):
        route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "CREATE",
                        "ResourceRecordSet": {
                            "Name": ZONE_DOMAIN,
                            "Type": "A",
                            "SetIdentifier": region,
                            "Failover": role,
                            "TTL": 60,
                            "ResourceRecords": [{"Value": "192.0.2.1"}],
                        },
                    }
                ]
            },
        )
    facts = {
        (line.region, line.what): line.state
        for line in status.workload_status(env, target(), ACCOUNT)
    }
    assert facts[("global", f"DNS {ZONE_DOMAIN}")] == f"{A}: PRIMARY; {B}: SECONDARY"


def test_status_cli_prints_the_step_and_json(aws, env_dir):
    env_dir.write("dev", {"workload": {A: "primary", B: "standby"}})
    folder = ["--environments-dir", str(env_dir.path)]
    result = CliRunner().invoke(main, ["status", "dev", *folder])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("dev: step 1 (standby added)")
    assert f"{B}  role: standby" in result.output
    lines = json.loads(CliRunner().invoke(main, ["status", "dev", *folder, "--json"]).output)
    assert {"region": B, "what": "role", "state": "standby", "attention": False} in lines


def test_status_of_an_unknown_environment_is_a_clear_error(env_dir):
    result = CliRunner().invoke(main, ["status", "nope", "--environments-dir", str(env_dir.path)])
    assert result.exit_code == 2
    assert "no such environment 'nope'" in result.output
    assert "Traceback" not in result.output


def test_a_role_that_cannot_be_assumed_is_one_clear_error(env_dir, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    env_dir.write("dev", {"aws": {"role_arn": "arn:aws:iam::123456789012:role/nope"}})
    # Nothing listens here: assuming the role fails, and says so.
    monkeypatch.setattr(
        "payinfra.lifecycle.aws_target",
        lambda env: accounts.Target(
            region=A, endpoint="http://127.0.0.1:9", role_arn=env.aws.role_arn
        ),
    )
    result = CliRunner().invoke(main, ["status", "dev", "--environments-dir", str(env_dir.path)])
    assert result.exit_code == 1
    assert (
        "cannot tell which AWS account the credentials act in assuming "
        "arn:aws:iam::123456789012:role/nope: STS at http://127.0.0.1:9 answered"
    ) in result.output
    assert "Traceback" not in result.output


def test_status_without_credentials_is_an_error_not_a_report_of_unknowns(env_dir, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(env_dir.path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(env_dir.path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(main, ["status", "dev", "--environments-dir", str(env_dir.path)])
    assert result.exit_code == 1, result.output
    assert result.output.count("error:") == 1
    assert "cannot tell which AWS account the credentials act in" in result.output
    assert "Unable to locate credentials" in result.output


def test_a_deployed_writer_the_yaml_does_not_name_is_flagged(aws, env_dir):
    """The YAML says A is primary; B's processor was left (or made) a writer."""
    env_dir.write("dev", {"workload": {A: "primary", B: "standby"}})
    make_function(A, A)
    make_function(B, B)
    result = CliRunner().invoke(main, ["status", "dev", "--environments-dir", str(env_dir.path)])
    assert result.exit_code == 2, result.output
    assert (
        f"{B}  processor: deployed, writer region {B}, but the YAML's primary is {A}"
        in result.output
    )
    assert f"{A}  processor: deployed, writer region {A}\n" in result.output
