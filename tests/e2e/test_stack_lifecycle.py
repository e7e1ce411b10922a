"""The complete `local` environment through payinfra, the real terraform and the real AWS provider,
against a moto server, as CI runs it, and as a team upgrading payinfra meets it: bootstrap the
state bucket, apply the stack with the previous release, plan the upgrade with this one (nothing
destroyed, no DATA LOSS) in one checkout, carry the plan to a fresh checkout of the same commit
and apply it there (a checkout of another commit is refused), outputs and resources checked
through boto3, a re-plan and a drift check with no changes, console-style changes named by
`payinfra drift`, destroy, nothing left."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
import yaml

from tests.toolchain import child_env, plugin_dir, terraform_binary

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]
STATE_BUCKET = "payinfra-e2e-state"
STATE_KEY = "payinfra/local/terraform.tfstate"
# The release a team upgrades from: an earlier landed main, from before the writer record, the
# table replicas', bucket replication's and API domains' own modules, so that every `moved` block
# since is exercised. Its code comes out of this repository's history.
PREVIOUS_RELEASE = "2bf9f52e2b31aeb422898245474cf6dd0718d08f"
REPOSITORY = Path(__file__).resolve().parents[2]


class Stack:
    """Runs payinfra as a user would in one checkout (`folder`), timing each phase."""

    def __init__(self, folder, endpoint, timings, code: Path | None = None):
        """`code`: a source tree of another payinfra release to run instead of this one."""
        self.folder, self.endpoint = folder, endpoint
        self.timings: dict[str, float] = timings
        self.env = child_env(
            {
                "AWS_ACCESS_KEY_ID": "emulator",
                "AWS_SECRET_ACCESS_KEY": "emulator",
                "PAYINFRA_TERRAFORM": terraform_binary(),
                **({"PYTHONPATH": str(code)} if code else {}),
            }
        )
        mirror = plugin_dir()
        if mirror:
            self.env["PAYINFRA_PLUGIN_DIR"] = str(mirror)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "payinfra", *args]

    def run(self, phase: str, *args: str, ok=(0,)) -> subprocess.CompletedProcess:
        started = time.monotonic()
        completed = subprocess.run(
            self.command(*args),
            check=False,
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        self.timings[phase] = time.monotonic() - started
        assert completed.returncode in ok, (
            f"payinfra {' '.join(args)} exited {completed.returncode}\n"
            f"{completed.stdout[-6000:]}\n{completed.stderr[-3000:]}"
        )
        return completed

    def client(self, service: str, region: str):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="emulator",
            aws_secret_access_key="emulator",
        )

    def carry_plan_to(self, other: Stack) -> None:
        """What the CI workflow carries from the plan job to the apply job."""
        for name in CARRIED_PLAN_FILES:
            target = other.folder / "out" / "local" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.folder / "out" / "local" / name, target)


CARRIED_PLAN_FILES = ("plan.tfplan", "plan.payinfra.json")


def checkout(base, name: str, endpoint: str, change: dict | None = None):
    """A checkout of this commit (environments as shipped, the local one on the emulator with S3
    state), optionally with one YAML change: a checkout of another commit."""
    from tests.conftest import ENVIRONMENTS

    folder = base / name
    environments = folder / "environments"
    environments.mkdir(parents=True)
    for path in ENVIRONMENTS.glob("*.yaml"):
        (environments / path.name).write_text(path.read_text())
    local = yaml.safe_load((environments / "local.yaml").read_text())
    local["emulator"] = {"endpoint": endpoint}
    local["backend"] = {"type": "s3", "bucket": STATE_BUCKET, "region": "us-east-1"}
    local.update(change or {})
    (environments / "local.yaml").write_text(yaml.safe_dump(local))
    return folder


@pytest.fixture(scope="module")
def stacks(tmp_path_factory, moto_server):
    base = tmp_path_factory.mktemp("e2e")
    moto_server.reset()
    timings: dict[str, float] = {}
    endpoint = moto_server.endpoint
    planner = Stack(checkout(base, "plan-job", endpoint), endpoint, timings)
    applier = Stack(checkout(base, "apply-job", endpoint), endpoint, timings)
    other_commit = Stack(
        checkout(base, "other-commit", endpoint, {"logs": {"retention_days": 3}}),
        endpoint,
        timings,
    )
    released = Stack(
        checkout(base, "previous-release", endpoint), endpoint, timings, source_of(base)
    )
    yield released, planner, applier, other_commit
    print("\nend-to-end phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


def source_of(base: Path) -> Path:
    """The previous release's code (package, templates, processor) from git history."""
    tree = base / "previous-release-code"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", PREVIOUS_RELEASE,
         "payinfra", "templates", "lambda_src"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert archive.returncode == 0, (
        f"the upgrade test needs commit {PREVIOUS_RELEASE} in this clone's history "
        f"(a full `git clone`, not --depth): {archive.stderr.decode()}"
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def plan_totals(stdout: str) -> dict[str, int]:
    """The `total` row of payinfra's plan summary: create, update, replace, destroy."""
    (row,) = re.findall(r"^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", stdout, re.MULTILINE)
    return dict(zip(("create", "update", "replace", "destroy"), map(int, row), strict=True))


def test_local_stack_from_bootstrap_through_an_upgrade_to_destroy(stacks):
    released, planner, applier, other_commit = stacks
    s3 = planner.client("s3", "us-east-1")
    first = planner.run("bootstrap", "bootstrap", "local")
    assert "state bucket of local ready" in first.stdout
    again = planner.run("bootstrap again", "bootstrap", "local")
    assert "already in place; nothing to do" in again.stdout
    check_state_bucket(planner)

    # A stack as the previous release built it.
    released.run("init (previous release)", "init", "local")
    released.run("plan (previous release)", "plan", "local", "--no-render", "--", "-parallelism=20")
    released.run("apply (previous release)", "apply", "local", "--", "-parallelism=20")

    keys_before = kms_keys_in_state(s3)
    assert keys_before

    # The upgrade: every object the previous release made stays where it is.
    planner.run("init", "init", "local")
    upgrade = planner.run("plan", "plan", "local", "--no-render", "--", "-parallelism=20")
    totals = plan_totals(upgrade.stdout)
    assert totals["destroy"] == 0 and totals["replace"] == 0, upgrade.stdout[-5000:]
    assert "DATA LOSS" not in upgrade.stdout + upgrade.stderr, upgrade.stdout[-5000:]
    print(f"\nupgrade from {PREVIOUS_RELEASE[:7]}: {totals}")

    # A checkout of another commit renders other files: the carried plan is refused there.
    planner.carry_plan_to(other_commit)
    refused = other_commit.run("apply elsewhere", "apply", "local", ok=(3,))
    assert "rendered files changed since the plan" in refused.stderr

    # The apply job: a fresh checkout of the same commit, the two carried files, no init yet.
    planner.carry_plan_to(applier)
    lock_seen = watch_for_lock(s3)
    applier.run("apply", "apply", "local", "--", "-parallelism=20")
    lock_seen.stop()
    assert lock_seen.found, "the S3 backend never took its lock file during apply"
    assert "Contents" in s3.list_objects_v2(Bucket=STATE_BUCKET, Prefix=STATE_KEY)
    assert not object_exists(s3, STATE_KEY + ".tflock"), "the lock is released after apply"
    # Every key is the same object as before, at its kms-key submodule's address.
    keys_after = kms_keys_in_state(s3)
    assert sorted(keys_after.values()) == sorted(keys_before.values())
    assert all(".module." in address for address in keys_after), keys_after

    outputs = json.loads(applier.run("output", "output", "local", "--json").stdout)
    check_resources(applier, outputs)

    applier.run("re-plan", "plan", "local", "--no-render", "--detailed-exitcode")
    assert json.loads(applier.run("no drift", "drift", "local", "--json").stdout)["drift"] == []

    changed = change_behind_terraforms_back(applier, outputs)
    found = json.loads(applier.run("drift", "drift", "local", "--json", ok=(2,)).stdout)["drift"]
    by_address = {item["address"]: item["attributes"] for item in found}
    for address, attribute in changed:
        assert any(attribute in path for path in by_address.get(address, [])), (address, found)
    # AWS refuses to delete a role with a policy attached outside Terraform.
    applier.client("iam", "us-east-1").detach_role_policy(
        RoleName="payment-local-eu-west-1-processor",
        PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess",
    )

    applier.run("destroy", "destroy", "local", "--auto-approve", "--", "-parallelism=20")
    check_nothing_left(applier, outputs)


def check_state_bucket(stack):
    s3 = stack.client("s3", "us-east-1")
    assert s3.get_bucket_versioning(Bucket=STATE_BUCKET)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=STATE_BUCKET)["ServerSideEncryptionConfiguration"]
    assert rule["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=STATE_BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    # Its TLS-only policy is an emulator gap (moto is plain HTTP): see the bootstrap HCL test.


def change_behind_terraforms_back(stack, outputs) -> list[tuple[str, str]]:
    """Console-style changes: a tag, point-in-time recovery off, a security group rule removed.
    Returns (address, attribute) pairs `payinfra drift` must name."""
    ec2 = stack.client("ec2", "eu-west-1")
    vpc_id = outputs["vpc_ids"]["eu-west-1"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Owner", "Value": "someone-in-the-console"}])
    dynamodb = stack.client("dynamodb", "eu-west-1")
    dynamodb.update_continuous_backups(
        TableName=outputs["transactions_table_name"],
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    (group,) = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["payment-local-payment-processor"]}]
    )["SecurityGroups"]
    ec2.revoke_security_group_egress(
        GroupId=group["GroupId"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
             "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}
        ],
    )  # fmt: skip
    return [
        ("module.network_eu_west_1.aws_vpc.this", "tags"),
        ("module.data_eu_west_1.aws_dynamodb_table.transactions[0]", "point_in_time_recovery"),
        ("module.compute_eu_west_1.aws_vpc_security_group_egress_rule.postgres", "(deleted)"),
        *open_access_behind_terraforms_back(stack, vpc_id, group["GroupId"]),
    ]


def open_access_behind_terraforms_back(stack, vpc_id: str, processor_group: str):
    """Access widened in the console: each lives on a resource whose configuration sets no rule
    or policy of its own (rules and attachments are resources of their own)."""
    ec2, iam = stack.client("ec2", "eu-west-1"), stack.client("iam", "us-east-1")
    everywhere = [{"CidrIp": "0.0.0.0/0"}]
    (database_group,) = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["payment-local-db"]}]
    )["SecurityGroups"]
    ec2.authorize_security_group_ingress(
        GroupId=database_group["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                        "IpRanges": everywhere}],
    )  # fmt: skip
    (default_group,) = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["default"]},
                 {"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"]  # fmt: skip
    ec2.authorize_security_group_ingress(
        GroupId=default_group["GroupId"],
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": everywhere}],
    )
    ec2.authorize_security_group_egress(
        GroupId=processor_group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": everywhere}]
    )
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    iam.attach_role_policy(RoleName="payment-local-eu-west-1-processor", PolicyArn=admin)
    return [
        ("module.database_eu_west_1.aws_security_group.db",
         "ingress: tcp port 5432 from 0.0.0.0/0"),
        ("module.network_eu_west_1.aws_default_security_group.this",
         "ingress: all traffic from 0.0.0.0/0"),
        ("module.compute_eu_west_1.aws_security_group.function",
         "egress: all traffic to 0.0.0.0/0"),
        ("module.compute_eu_west_1.aws_iam_role.function", f"managed_policy_arns: {admin}"),
    ]  # fmt: skip


def check_resources(stack, outputs):
    for region, vpc_id in outputs["vpc_ids"].items():
        (vpc,) = stack.client("ec2", region).describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        assert vpc["State"] == "available"
    (peering_id,) = outputs["peering_connection_ids"].values()
    (peering,) = stack.client("ec2", "us-east-1").describe_vpc_peering_connections(
        VpcPeeringConnectionIds=[peering_id]
    )["VpcPeeringConnections"]
    assert peering["Status"]["Code"] == "active"

    dynamodb = stack.client("dynamodb", "eu-west-1")
    table = dynamodb.describe_table(TableName=outputs["transactions_table_name"])["Table"]
    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {
        "CustomerIndex",
        "StatusIndex",
    }
    backups = dynamodb.describe_continuous_backups(TableName=outputs["transactions_table_name"])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"

    for region, bucket in outputs["bucket_names"].items():
        s3 = stack.client("s3", region)
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    source_bucket = outputs["bucket_names"]["us-east-1"]
    rules = stack.client("s3", "us-east-1").get_bucket_replication(Bucket=source_bucket)[
        "ReplicationConfiguration"
    ]["Rules"]
    assert [rule["Destination"]["Bucket"] for rule in rules] == [
        f"arn:aws:s3:::{outputs['bucket_names']['eu-west-1']}"
    ]

    function = stack.client("lambda", "eu-west-1").get_function(
        FunctionName=outputs["lambda_function_arn"]
    )["Configuration"]
    assert function["Runtime"] == "python3.12"
    api = stack.client("apigatewayv2", "eu-west-1")
    (payments_api,) = [a for a in api.get_apis()["Items"] if a["Name"] == "payment-local-payments"]
    routes = api.get_routes(ApiId=payments_api["ApiId"])["Items"]
    assert {(r["RouteKey"], r["AuthorizationType"]) for r in routes} == {
        ("POST /payments", "AWS_IAM"),
        ("GET /payments/{transactionId}", "AWS_IAM"),
        ("POST /payment", "AWS_IAM"),
        ("GET /health", "NONE"),  # Route 53's unsigned probe
    }
    # The reference stack's outputs, by its names, beside payinfra's own.
    assert outputs["dynamodb_table"] == outputs["transactions_table_name"]
    assert outputs["api_gateway_endpoint"] == outputs["api_endpoint"]
    assert outputs["vpc_us_id"] == outputs["vpc_ids"]["us-east-1"]
    assert outputs["vpc_eu_id"] == outputs["vpc_ids"]["eu-west-1"]
    assert outputs["s3_bucket_us"] == outputs["bucket_names"]["us-east-1"]
    assert outputs["s3_bucket_eu"] == outputs["bucket_names"]["eu-west-1"]
    assert outputs["rds_endpoint"] and outputs["lambda_function_arn"] == function["FunctionArn"]
    assert outputs["rds_master_secret_arn"].startswith("arn:aws:secretsmanager:")


def check_nothing_left(stack, outputs):
    for region in outputs["vpc_ids"]:
        ec2 = stack.client("ec2", region)
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:ManagedBy", "Values": ["payinfra"]}])
        assert vpcs["Vpcs"] == []
    assert stack.client("dynamodb", "eu-west-1").list_tables()["TableNames"] == []
    assert stack.client("lambda", "eu-west-1").list_functions()["Functions"] == []
    assert stack.client("rds", "eu-west-1").describe_db_instances()["DBInstances"] == []
    for region in outputs["bucket_names"]:
        names = [b["Name"] for b in stack.client("s3", region).list_buckets()["Buckets"]]
        assert names == [STATE_BUCKET]
    state = stack.client("s3", "us-east-1").get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)
    assert json.loads(state["Body"].read())["resources"] == []


def kms_keys_in_state(s3) -> dict[str, str]:
    """{address: key id} of every KMS key in the environment's state."""
    state = json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)["Body"].read())
    return {
        ".".join(filter(None, [resource.get("module"), resource["type"], resource["name"]])):
            instance["attributes"]["id"]
        for resource in state["resources"]
        if resource["mode"] == "managed" and resource["type"] == "aws_kms_key"
        for instance in resource["instances"]
    }  # fmt: skip


def object_exists(s3, key: str) -> bool:
    return "Contents" in s3.list_objects_v2(Bucket=STATE_BUCKET, Prefix=key)


class watch_for_lock:
    """Polls the state bucket in the background for the `.tflock` object."""

    def __init__(self, s3):
        self.s3, self.found, self._running = s3, False, True
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self):
        while self._running and not self.found:
            self.found = object_exists(self.s3, STATE_KEY + ".tflock")
            time.sleep(0.5)

    def stop(self):
        self._running = False
        self._thread.join(timeout=5)
