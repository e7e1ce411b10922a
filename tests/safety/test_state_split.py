"""`payinfra move-state`: a one-root state cut into the states of `layout: region-roots`, each
resource at the same address in the root that calls its module (nothing destroyed or made
again), refused where an address is not this payinfra's, idempotent when killed half-way, and
every plan refused until the one-root state has moved. The move of an applied stack on the
emulator: tests/e2e/region_roots.py."""

from __future__ import annotations

import json

import boto3
import pytest

from payinfra.config import load_environment
from payinfra.errors import Refused
from payinfra.render import render_environment
from payinfra.render.regions import called_labels, root_of
from payinfra.statesplit import split_state
from tests.conftest import ENVIRONMENTS
from tests.hclparse import labelled, parse

IDENTITY = {"payinfra_environment": {"value": {"name": "dev", "protected": False}, "type": "x"}}


def one_root_state(name: str) -> dict:
    """A state with one resource (and one data source) in every module call of the one root."""
    env = load_environment(ENVIRONMENTS, name)
    main = parse(str(render_environment(env)["main.tf"]))
    resources = []
    for label in labelled(main, "module"):
        resources.append(
            {
                "mode": "managed",
                "module": f"module.{label}",
                "type": "aws_thing",
                "name": "this",
                "provider": "x",
                "instances": [{"attributes": {}}],
            }
        )
        resources.append(
            {
                "mode": "data",
                "module": f"module.{label}",
                "type": "aws_region",
                "name": "here",
                "provider": "x",
                "instances": [],
            }
        )
    outputs = {**IDENTITY, "api_endpoint": {"value": "https://x", "type": "string"}}
    return {
        "version": 4,
        "terraform_version": "1.11.0",
        "serial": 9,
        "lineage": "old",
        "outputs": outputs,
        "resources": resources,
    }


@pytest.mark.parametrize("name", ["dev", "prod", "local"])
def test_every_resource_lands_in_the_root_that_calls_its_module_by_the_same_address(name):
    env = load_environment(ENVIRONMENTS, name).model_copy(update={"layout": "region-roots"})
    state = one_root_state(name)
    split = split_state(env, state, set().union(*called_labels(env).values()))
    managed = [e for e in state["resources"] if e["mode"] == "managed"]
    landed = [(folder, e) for folder, cut in split.items() for e in cut["resources"]]
    assert sorted(e["module"] for _, e in landed) == sorted(e["module"] for e in managed)
    for folder, entry in landed:
        assert root_of(env, f"{entry['module']}.aws_thing.this") == folder
    for folder, cut in split.items():
        assert cut["outputs"]["payinfra_environment"] == IDENTITY["payinfra_environment"]
        assert cut["serial"] == 1 and cut["lineage"] != "old"
        assert ("api_endpoint" in cut["outputs"]) == (folder == "links")
    assert len({cut["lineage"] for cut in split.values()}) == len(split)


def test_an_address_this_payinfra_does_not_call_is_refused():
    env = load_environment(ENVIRONMENTS, "dev").model_copy(update={"layout": "region-roots"})
    state = one_root_state("dev")
    state["resources"].append(
        {
            "mode": "managed",
            "module": "module.compute",
            "type": "aws_lambda_function",
            "name": "this",
            "provider": "x",
            "instances": [],
        }
    )
    with pytest.raises(Refused, match=r"module\.compute, which this payinfra does not keep"):
        split_state(env, state, set().union(*called_labels(env).values()))


def region_roots(run, name: str = "dev") -> None:
    run.env_dir.update(name, layout="region-roots")


def test_move_state_moves_once_and_keeps_the_one_root_state(run):
    refused = run("move-state", "dev")
    assert refused.exit_code == 2 and not run.out.exists(), "a one-root YAML: nothing written"
    assert run("render", "dev").exit_code == 0
    source = run.out / "dev" / "terraform.tfstate"
    source.write_text(json.dumps(one_root_state("dev")))
    one_root = run("move-state", "dev")
    assert one_root.exit_code == 2 and "set `layout: region-roots`" in one_root.output
    region_roots(run)
    refused = run("plan", "dev")
    assert refused.exit_code == 3 and "payinfra move-state dev" in refused.output
    assert run.fake.calls() == [], "nothing planned over an unmoved state"

    moved = run("move-state", "dev")
    assert moved.exit_code == 0, moved.output
    assert not source.exists()
    backup = run.out / "dev" / "terraform.tfstate.one-root-backup"
    assert json.loads(backup.read_text()) == one_root_state("dev")
    counts = {
        line.split("/:")[0]: int(line.split()[1])
        for line in moved.output.splitlines()
        if "/: " in line
    }
    assert sum(counts.values()) == len(
        [e for e in one_root_state("dev")["resources"] if e["mode"] == "managed"]
    )
    for folder in counts:
        assert (run.out / "dev" / folder / "terraform.tfstate").is_file()
    again = run("move-state", "dev")
    assert again.exit_code == 1 and "holds no one-root state" in again.output


def test_a_move_killed_after_writing_the_roots_is_finished_by_the_next(run):
    region_roots(run)
    assert run("render", "dev").exit_code == 0
    source = run.out / "dev" / "terraform.tfstate"
    source.write_text(json.dumps(one_root_state("dev")))
    assert run("move-state", "dev").exit_code == 0
    backup = run.out / "dev" / "terraform.tfstate.one-root-backup"
    backup.rename(source)  # as if killed before the one-root state was set aside
    links = run.out / "dev" / "links" / "terraform.tfstate"
    links.unlink()  # ...and before links/ was written
    finished = run("move-state", "dev")
    assert finished.exit_code == 0, finished.output
    assert backup.is_file() and not source.exists() and links.is_file()
    # Roots holding other resources than the one-root state's are not touched.
    backup.rename(source)
    other = one_root_state("dev")
    other["resources"] = other["resources"][:2]
    source.write_text(json.dumps(other))
    first = run.out / "dev" / "regions" / "eu-west-1" / "terraform.tfstate"
    first.unlink()  # empty, while the later roots hold other state: nothing is written
    refused = run("move-state", "dev")
    assert refused.exit_code == 3 and "already holds other state" in refused.output
    assert not first.exists()


@pytest.mark.emulator
def test_an_s3_state_moves_into_an_object_per_root(run, moto_server):
    """The S3 backend's one-root object is cut into an object per root under the same prefix
    (a region root's in its region's bucket when the YAML names one) and kept as
    `.one-root-backup`; every plan is refused while it is still there."""
    moto_server.reset()
    s3 = boto3.client(
        "s3", region_name="eu-west-1", endpoint_url=moto_server.endpoint,
        aws_access_key_id="emulator", aws_secret_access_key="emulator",
    )  # fmt: skip
    for bucket in ("payinfra-state-dev", "payinfra-state-dev-euw1"):
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    s3.put_object(Bucket="payinfra-state-dev", Key="payinfra/dev/terraform.tfstate",
                  Body=json.dumps(one_root_state("dev")).encode())  # fmt: skip
    run.env_dir.update("dev",
        layout="region-roots",
        emulator={"endpoint": moto_server.endpoint},
        backend={"type": "s3", "bucket": "payinfra-state-dev", "region": "eu-west-1",
                 "region_buckets": {"eu-west-1": "payinfra-state-dev-euw1"}},
    )  # fmt: skip
    refused = run("plan", "dev")
    assert refused.exit_code == 3, refused.output
    assert "s3://payinfra-state-dev/payinfra/dev/terraform.tfstate holds dev's one-root state" in (
        refused.output
    )
    moved = run("move-state", "dev")
    assert moved.exit_code == 0, moved.output
    keys = {
        (bucket, o["Key"])
        for bucket in ("payinfra-state-dev", "payinfra-state-dev-euw1")
        for o in s3.list_objects_v2(Bucket=bucket)["Contents"]
    }
    assert keys == {
        ("payinfra-state-dev", "payinfra/dev/terraform.tfstate.one-root-backup"),
        ("payinfra-state-dev-euw1", "payinfra/dev/regions/eu-west-1/terraform.tfstate"),
        ("payinfra-state-dev", "payinfra/dev/regions/us-east-1/terraform.tfstate"),
        ("payinfra-state-dev", "payinfra/dev/links/terraform.tfstate"),
    }, "eu-west-1's root in its own region's bucket (backend.region_buckets)"
    cuts = [
        json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        for bucket, key in keys if not key.endswith("backup")
    ]  # fmt: skip
    managed = [e for e in one_root_state("dev")["resources"] if e["mode"] == "managed"]
    assert sum(len(cut["resources"]) for cut in cuts) == len(managed)
    again = run("move-state", "dev")
    assert again.exit_code == 1 and "holds no one-root state" in again.output
