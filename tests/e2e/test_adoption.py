"""Taking over the running reference stack on the emulator, end to end (docs/adoption.md).

The reference's synthesized Terraform (`../shared/reference/seed-stack/cdk.tf.json`) is deployed
with terraform as `cdktf deploy` would, under a suffix of this test's own (not `dev-001`), and
payments and objects are written as the reference's data path writes them. Then, as a team
would: `payinfra adopt` writes the YAML from the state; the team sets the currency and the
emulator; `payinfra adopt` again writes the import blocks; `payinfra plan` (no DATA LOSS, no
replace, one import per resource payinfra owns) and `apply`; every item and object is still
there, the reference's client request is answered by the processor over the adopted table, a
replay is idempotent, a re-plan changes nothing, and `--release-old-state` leaves the old state
holding only what payinfra replaced. Last, the adopted stack moves into a root per region
(tests/e2e/region_roots.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import yaml

from tests.conftest import ENVIRONMENTS, REPO
from tests.e2e.region_roots import move_into_a_root_per_region
from tests.e2e.test_stack_lifecycle import Stack, plan_totals
from tests.toolchain import child_env, plugin_dir, terraform_binary

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.slow]

# The reference's synthesized stack and its Lambda zip, as ../shared/reference/seed-stack ships
# them (copied here: CI's clean clone has no ../shared).
SEED = Path(__file__).resolve().parents[1] / "fixtures" / "seed-stack"
SUFFIX = "qa-7"  # the reference's environment_suffix, here not its shipped dev-001
IMPORTS = 51  # 47 resources + the 4 default routes the reference keeps inline
TABLE, STATE = f"payment-transactions-{SUFFIX}", "terraform.tap.tfstate"
BUCKETS = {r: f"payment-data-{r}-{SUFFIX}" for r in ("us-east-1", "eu-west-1")}


def deploy_reference(folder: Path, endpoint: str) -> Path:
    """`cdktf deploy` of the synthesized stack, with its suffix replaced."""
    folder.mkdir()
    text = (SEED / "cdk.tf.json").read_text(encoding="utf-8").replace("dev-001", SUFFIX)
    (folder / "cdk.tf.json").write_text(text, encoding="utf-8")
    shutil.copy(SEED / "lambda_function.zip", folder)
    env = reference_env(endpoint)
    mirror = plugin_dir()
    init = ["init", "-input=false", *([f"-plugin-dir={mirror}"] if mirror else [])]
    for args in (init, ["apply", "-auto-approve", "-input=false"]):
        subprocess.run(
            [terraform_binary(), *args], cwd=folder, env=env, check=True, capture_output=True
        )
    return folder / STATE


def reference_env(endpoint: str) -> dict[str, str]:
    return child_env(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "emulator",
            "AWS_SECRET_ACCESS_KEY": "emulator",
        }
    )


@pytest.fixture(scope="module")
def taken_over(tmp_path_factory, moto_server):
    moto_server.reset()
    base = tmp_path_factory.mktemp("adopt")
    timings: dict[str, float] = {}
    started = time.monotonic()
    state = deploy_reference(base / "reference", moto_server.endpoint)
    timings["deploy reference"] = time.monotonic() - started
    (base / "environments").mkdir()
    shutil.copy(ENVIRONMENTS / "_defaults.yaml", base / "environments")
    stack = Stack(base, moto_server.endpoint, timings)
    yield stack, state
    print("\nadoption phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    moto_server.reset()


def write_reference_data(stack: Stack) -> None:
    """What the reference's lambda and its users wrote: a payment per item, as it stores them,
    and an object in each bucket."""
    dynamodb = stack.client("dynamodb", "eu-west-1")
    for n in range(3):
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                "transactionId": {"S": f"ref-{n}"},
                "timestamp": {"N": str(1_764_000_000 + n)},
                "customerId": {"S": "cust-1"},
                "amount": {"S": f"{10 + n}.5"},
                "status": {"S": "PROCESSED"},
                "processedAt": {"S": f"2025-11-24T16:00:0{n}.000000"},
            },
        )
    for region, bucket in BUCKETS.items():
        stack.client("s3", region).put_object(Bucket=bucket, Key="reports/ref.csv", Body=b"a,b\n")


def test_the_reference_stack_is_taken_over_in_place(taken_over):
    stack, state = taken_over
    write_reference_data(stack)
    adopt = ("adopt", "tap", "--from-state", str(state))

    written = stack.run("adopt (write the YAML)", *adopt)
    assert "wrote environments/tap.yaml" in written.stdout
    path = stack.folder / "environments" / "tap.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert settings["adopted"]["table"] == TABLE and settings["adopted"]["data_buckets"] == BUCKETS
    # The team's decisions: the currency of the reference's payments, and where AWS is.
    settings["lambda"]["default_currency"] = "USD"
    settings["emulator"] = {"endpoint": stack.endpoint}
    settings["database"]["skip_final_snapshot"] = True
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")

    recorded = stack.run("adopt (import blocks)", *adopt)
    assert f"wrote {IMPORTS} import blocks" in recorded.stdout

    planned = stack.run("plan", "plan", "tap")
    assert "DATA LOSS" not in planned.stdout and "CANNOT BE APPLIED" not in planned.stdout
    changes = shown(stack)["resource_changes"]
    importing = [c for c in changes if c["change"].get("importing")]
    assert len(importing) == IMPORTS
    assert not [c["address"] for c in changes if "delete" in c["change"]["actions"]]

    stack.run("apply", "apply", "tap", "--auto-approve")
    check_data_kept(stack)
    check_the_processor_answers_on_the_adopted_table(stack)

    # Nothing left to change in AWS. The database's managed secret, asked for by the adoption's
    # in-place update, is known to the state only from this refresh on (RDS creates it while it
    # modifies the instance): one output appears, applied with no change to any resource.
    replanned = stack.run("re-plan", "plan", "tap", "--detailed-exitcode", ok=(0, 2))
    assert set(plan_totals(replanned.stdout).values()) == {0}, replanned.stdout[-3000:]
    outputs = shown_outputs(stack)
    assert outputs in ([], ["rds_master_secret_arn"]), outputs
    stack.run("apply the new output", "apply", "tap", "--auto-approve")

    stack.run("release the old state", "adopt", "tap", "--release-old-state")
    old = json.loads(state.read_text(encoding="utf-8"))
    left = {f"{r['type']}.{r['name']}" for r in old["resources"]}
    assert "aws_dynamodb_table.dynamodb-transactions" not in left
    assert "aws_db_instance.rds-postgresql" not in left
    assert len(left) == 62 - (IMPORTS - 4)
    assert len(list(state.parent.glob(f"{state.name}.payinfra-backup-*"))) == 1
    # What `cdktf destroy` of the old stack would now delete: only what payinfra replaced.
    destroy = subprocess.run(
        [terraform_binary(), "plan", "-destroy", "-input=false", "-no-color"],
        cwd=state.parent,
        env=reference_env(stack.endpoint),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Plan: 0 to add, 0 to change, 15 to destroy." in destroy
    for kept in ("aws_dynamodb_table", "aws_db_instance", "aws_s3_bucket", "aws_kms_key"):
        assert f"# {kept}." not in destroy
    assert not (stack.folder / "out" / "tap" / "adoption.tf").exists()
    after = stack.run("plan after the release", "plan", "tap", "--detailed-exitcode", ok=(0, 2))
    assert after.returncode == 0, after.stdout[-3000:]
    # A stack adopted as one root moves into a root per region (or is adopted straight into
    # one: docs/region-roots.md).
    move_into_a_root_per_region(stack, "tap", dark="eu-west-1", alone="us-east-1")


def shown(stack: Stack) -> dict:
    """`terraform show -json` of the environment's saved plan."""
    completed = subprocess.run(
        [terraform_binary(), "show", "-json", "plan.tfplan"],
        cwd=stack.folder / "out" / "tap",
        env=stack.env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout)


def shown_outputs(stack: Stack) -> list[str]:
    changes = shown(stack).get("output_changes", {})
    return sorted(name for name, change in changes.items() if change["actions"] != ["no-op"])


def check_data_kept(stack: Stack) -> None:
    dynamodb = stack.client("dynamodb", "eu-west-1")
    payments = dynamodb.scan(TableName=TABLE)["Items"]
    assert {i["transactionId"]["S"] for i in payments} >= {"ref-0", "ref-1", "ref-2"}
    table = dynamodb.describe_table(TableName=TABLE)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["transactionId", "timestamp"]
    for region, bucket in BUCKETS.items():
        # The adopted bucket is TLS-only now, and the emulator speaks plain HTTP: its objects
        # cannot be read, only listed. The ETag of a plain upload is the MD5 of its bytes.
        listed = stack.client("s3", region).list_object_versions(Bucket=bucket)["Versions"]
        (version,) = [v for v in listed if v["Key"] == "reports/ref.csv"]
        assert version["ETag"].strip('"') == hashlib.md5(b"a,b\n").hexdigest()
    database = stack.client("rds", "eu-west-1").describe_db_instances(
        DBInstanceIdentifier=f"payment-db-{SUFFIX}"
    )["DBInstances"][0]
    assert database["DBName"] == "paymentdb"


def check_the_processor_answers_on_the_adopted_table(stack: Stack) -> None:
    """moto runs no Lambda code: the processor runs here, configured as the deployed function
    is, against the emulator's adopted table."""
    function = stack.client("lambda", "eu-west-1").get_function_configuration(
        FunctionName=f"payment-processor-{SUFFIX}"
    )
    settings = function["Environment"]["Variables"]
    assert settings["TABLE_NAME"] == TABLE and settings["TABLE_SORT_KEY"] == "timestamp"
    script = PROCESSOR_SCRIPT.format(settings=json.dumps(settings))
    answered = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **stack.env,
            "AWS_ENDPOINT_URL": stack.endpoint,
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "PYTHONPATH": str(REPO / "lambda_src"),
        },
        check=True,
        capture_output=True,
        text=True,
    )
    lines = answered.stdout.splitlines()  # the processor logs to stdout too
    first, replay, old = (
        json.loads(line[len(ANSWER) :]) for line in lines if line.startswith(ANSWER)
    )
    assert first["statusCode"] == 200 and "Payment processed" in first["body"]
    assert replay["statusCode"] == 200
    assert json.loads(old["body"])["amount"] == "11.50"
    items = boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url=stack.endpoint,
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",
    ).query(
        TableName=TABLE,
        KeyConditionExpression="transactionId = :id",
        ExpressionAttributeValues={":id": {"S": "tx-after"}},
    )["Items"]
    assert len(items) == 2, "the guard and one payment: the replay stored nothing"


# The reference's client request on its route (`POST /prod/payment`), twice, then a read of a
# payment the reference stored; each answer on a line of its own, after ANSWER.
ANSWER = "answer: "
PROCESSOR_SCRIPT = """
import json, os
os.environ.update(json.loads({settings!r}))
from payment_processor import app
def event(route, body=None, transaction_id=None):
    return {{"version": "2.0", "routeKey": route, "rawPath": "/prod/payment",
             "headers": {{}}, "body": body, "isBase64Encoded": False,
             "pathParameters": {{"transactionId": transaction_id}} if transaction_id else None,
             "requestContext": {{"requestId": "r", "routeKey": route,
                                 "http": {{"method": "POST", "path": "/prod/payment"}}}}}}
body = json.dumps({{"transactionId": "tx-after", "customerId": "cust-2", "amount": 25}})
for _ in range(2):
    print("answer: " + json.dumps(app.handler(event("POST /payment", body), None)))
read = event("GET /payments/{{transactionId}}", None, "ref-1")
print("answer: " + json.dumps(app.handler(read, None)))
"""
