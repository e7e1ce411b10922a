"""`payinfra bootstrap` killed at any point converges when run again: what the interrupted run
created in AWS and never recorded in its state is found (by the names payinfra derives) and
imported, never created twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import boto3
import pytest
from click.testing import CliRunner

from payinfra import accounts, leftovers
from payinfra.cli import main
from payinfra.config import load_environment
from payinfra.render import render_bootstrap
from tests.conftest import REPO
from tests.hclparse import parse
from tests.toolchain import CutAfter, child_env

BUCKET = "acme-payments-state-adopt"
REGION = "us-east-1"


def interrupted_run(*, key: bool = True, alias: bool = True, bucket: bool = True) -> str | None:
    """What a bootstrap killed at some point leaves in AWS (with an empty state beside it)."""
    kms = boto3.client("kms", region_name=REGION)
    key_id = None
    if key:
        tags = [{"TagKey": "Name", "TagValue": f"{BUCKET}-key"}]
        key_id = kms.create_key(Description="Terraform state of dev", Tags=tags)["KeyMetadata"][
            "KeyId"
        ]
    if alias and key_id:
        kms.create_alias(AliasName=f"alias/{BUCKET}", TargetKeyId=key_id)
    if bucket:
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    return key_id


def find(in_state=frozenset()) -> leftovers.Found:
    return leftovers.find(accounts.Target(region=REGION), BUCKET, set(in_state))


def test_everything_an_interrupted_run_created_is_found(aws):
    key = interrupted_run()
    found = find()
    assert found.imports == {
        leftovers.KEY: key,
        leftovers.ALIAS: f"alias/{BUCKET}",
        leftovers.BUCKET: BUCKET,
    }
    assert found.spare_keys == []


def test_a_run_killed_before_the_alias_leaves_a_key_found_by_its_tag(aws):
    key = interrupted_run(alias=False, bucket=False)
    assert find().imports == {leftovers.KEY: key}


def test_the_key_the_alias_names_is_adopted_and_older_spares_are_reported(aws):
    spare = interrupted_run(alias=False, bucket=False)
    key = interrupted_run(bucket=False)
    found = find()
    assert found.imports[leftovers.KEY] == key
    assert found.spare_keys == [spare]


def test_nothing_is_looked_up_for_what_the_state_holds(aws):
    interrupted_run()
    assert find(leftovers.ADOPTABLE).imports == {}
    assert find({leftovers.BUCKET}).imports.keys() == {leftovers.KEY, leftovers.ALIAS}


def test_a_clean_account_has_nothing_to_adopt(aws):
    assert find() == leftovers.Found({}, [])


def test_the_bootstrap_root_imports_what_was_found(env_dir):
    env_dir.write("dev", {"backend": {"type": "s3", "bucket": BUCKET, "region": REGION}})
    env = load_environment(env_dir.path, "dev")
    assert "imports.tf" not in render_bootstrap(env)
    files = render_bootstrap(env, {leftovers.BUCKET: BUCKET, leftovers.KEY: "1234-abcd"})
    blocks = parse(str(files["imports.tf"]))["import"]
    assert [(block["to"], block["id"]) for block in blocks] == [
        ("${module.state_bucket.aws_s3_bucket.this}", BUCKET),
        ("${module.state_bucket.module.key.aws_kms_key.this}", "1234-abcd"),
    ]
    with pytest.raises(ValueError, match="not a resource address"):
        render_bootstrap(env, {'aws_s3_bucket.x\n}\nresource "x" "y" {': "id"})


def test_a_region_roots_state_bucket_is_bootstrapped_in_its_region(env_dir, tmp_path):
    """backend.region_buckets: `bootstrap --region R` renders R's bucket, made in R."""
    env_dir.write(
        "dev",
        {"layout": "region-roots",
         "backend": {"type": "s3", "bucket": BUCKET, "region": REGION,
                     "region_buckets": {"eu-west-1": f"{BUCKET}-euw1"}}},
    )  # fmt: skip
    env = load_environment(env_dir.path, "dev")
    files = render_bootstrap(env, region="eu-west-1")
    (call,) = [body for block in parse(str(files["main.tf"]))["module"] for body in block.values()]
    assert call["bucket"] == f"{BUCKET}-euw1"
    (provider,) = [b for block in parse(str(files["providers.tf"]))["provider"]
                   for b in block.values()]  # fmt: skip
    assert provider["region"] == "eu-west-1"
    unknown = CliRunner().invoke(
        main, ["bootstrap", "dev", "--region", "us-east-1", "--environments-dir",
               str(env_dir.path), "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert unknown.exit_code == 2 and "names no state bucket for it" in unknown.output
    assert not (tmp_path / "out").exists()


# ---- For real: kill the whole process group once the bucket exists, then run again ----


@pytest.mark.emulator
@pytest.mark.terraform
@pytest.mark.slow
def test_bootstrap_killed_once_the_bucket_exists_converges_on_the_next_run(
    env_dir, tmp_path, moto_server
):
    def write_environment(endpoint: str) -> None:
        env_dir.write(
            "dev",
            {"emulator": {"endpoint": endpoint},
             "backend": {"type": "s3", "bucket": BUCKET, "region": REGION}},
        )  # fmt: skip

    command = [sys.executable, "-m", "payinfra", "bootstrap", "dev",
               "--environments-dir", str(env_dir.path), "--out", str(tmp_path / "out")]  # fmt: skip
    environment = {**os.environ, **child_env()}
    kms = boto3.client("kms", region_name=REGION, endpoint_url=moto_server.endpoint,
                       aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    keys_before = len(kms.list_keys()["Keys"])
    # A cancelled CI job: the runner kills payinfra and terraform together, here at the worst
    # moment: the bucket just created in AWS, before terraform has heard so.
    runs: list[subprocess.Popen] = []
    proxy = CutAfter(
        moto_server.endpoint,
        matches=lambda method, path: method == "PUT" and path.rstrip("/") == f"/{BUCKET}",
        cut=lambda: os.killpg(runs[0].pid, signal.SIGKILL),
    )
    write_environment(proxy.endpoint)
    try:
        runs.append(subprocess.Popen(command, cwd=REPO, env=environment, start_new_session=True,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL))  # fmt: skip
        assert runs[0].wait(timeout=300) == -signal.SIGKILL, "the run ended before its bucket"
    finally:
        proxy.close()
    state = tmp_path / "out" / "dev" / "bootstrap" / "terraform.tfstate"
    recorded = state.read_text() if state.exists() else ""
    assert BUCKET not in recorded, "the state recorded the bucket: this run was not interrupted"
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_server.endpoint,
                      aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    assert BUCKET in {b["Name"] for b in s3.list_buckets()["Buckets"]}, "no bucket was created"

    write_environment(moto_server.endpoint)
    again = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True,
                           timeout=600, check=False)  # fmt: skip
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"adopted {leftovers.BUCKET}" in again.stdout
    assert len(kms.list_keys()["Keys"]) == keys_before + 1, "a second key was created"
    third = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True,
                           timeout=600, check=False)  # fmt: skip
    assert third.returncode == 0 and "already in place; nothing to do" in third.stdout, third.stdout
