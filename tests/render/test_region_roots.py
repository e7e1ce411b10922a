"""`layout: region-roots` (docs/region-roots.md): a root per region that reads no other region,
and `links/`, which reads the region roots' states. Parsed back from the rendered HCL."""

from __future__ import annotations

import re

import pytest
import yaml

from payinfra.config import load_environment
from payinfra.render import render_environment
from payinfra.render.regions import LINKS_FOLDER, root_folders, root_of
from tests.conftest import ENVIRONMENTS, REAL_ENVS
from tests.hclparse import labelled, parse

ENVS = (*REAL_ENVS, "local")
MODULE_REFERENCE = re.compile(r"module\.([a-z0-9_]+)")
REMOTE_READ = re.compile(r"data\.terraform_remote_state\.([a-z0-9_]+)\.outputs\.([a-z0-9_]+)")


def test_a_standby_names_the_primary_database_of_its_generation(env_dir):
    env_dir.update(
        "dev", layout="region-roots", workload={"eu-west-1": "primary", "us-east-1": "standby"},
        generations={"eu-west-1": 3},
    )  # fmt: skip
    files = render_environment(load_environment(env_dir.path, "dev"))
    (call,) = [body for block in parse(str(files["regions/us-east-1/main.tf"]))["module"]
               for name, body in block.items() if name == "database_us_east_1"]  # fmt: skip
    assert ':db:payment-dev-g3-db", ' in call["replicate_source_db"]


def split(name: str):
    env = load_environment(ENVIRONMENTS, name).model_copy(update={"layout": "region-roots"})
    files = render_environment(env)
    roots: dict[str, dict[str, dict]] = {}
    for path, text in files.items():
        folder, _, file = path.rpartition("/")
        if file.endswith(".tf") and not folder.startswith("modules"):
            roots.setdefault(folder, {})[file] = parse(str(text))
    return env, files, roots


@pytest.fixture(scope="module", params=ENVS)
def layout(request):
    return split(request.param)


def blocks(root: dict[str, dict], kind: str) -> dict[str, dict]:
    return {
        name: body for document in root.values() for name, body in labelled(document, kind).items()
    }


def text_of(files, folder: str) -> str:
    return "".join(str(text) for path, text in files.items() if path.startswith(folder + "/"))


def test_every_module_call_of_the_one_root_is_in_exactly_one_root_by_the_same_label(layout):
    """The state moves into the layout by address: each call keeps its label."""
    env, _files, roots = layout
    one_root = parse(
        str(render_environment(env.model_copy(update={"layout": "one-root"}))["main.tf"])
    )
    labels = [label for root in roots.values() for label in blocks(root, "module")]
    assert sorted(labels) == sorted(labelled(one_root, "module"))
    assert sorted(roots) == sorted(root_folders(env))
    for root, parsed in roots.items():
        for label in blocks(parsed, "module"):
            assert root_of(env, f"module.{label}.aws_s3_bucket.this") == root


def test_a_region_root_names_only_its_own_region_and_reads_no_other_root(layout):
    env, files, roots = layout
    for region in env.regions:
        folder = f"regions/{region.name}"
        providers = [body for doc in roots[folder].values() for block in doc.get("provider", [])
                     for body in block.values()]  # fmt: skip
        assert [p["region"] for p in providers] == [region.name]
        text = text_of(files, folder)
        assert "terraform_remote_state" not in text
        own = set(blocks(roots[folder], "module"))
        calls = str(files[f"{folder}/main.tf"]) + str(files[f"{folder}/outputs.tf"])
        assert set(MODULE_REFERENCE.findall(calls)) <= own, "a call of another root"
        removed = [block["from"] for block in roots[folder].get("moves.tf", {}).get("removed", [])]
        assert all(root_of(env, address.strip("${}")) == folder for address in removed)
        others = [other.alias for other in env.regions if other != region]
        assert not any(f"aws.{alias}" in text for alias in others), "another region's provider"


def test_what_a_region_root_holds_of_another_region_is_named_from_its_own_account(layout):
    """A standby's replica source and a table replica's global table: ARNs built from the
    YAML and the root's own caller identity, not read from the other region."""
    env, _, roots = layout
    for region in env.regions:
        modules = blocks(roots[f"regions/{region.name}"], "module")
        database = modules.get(f"database_{region.alias}", {})
        if env.roles.get(region.name) == "standby":
            assert database["replicate_source_db"] == (
                '${format("arn:%s:rds:%s:%s:db:' + env.database_identifier(env.primary.name) + '", '
                'data.aws_partition.this.partition, "' + env.primary.name + '", '
                "data.aws_caller_identity.this.account_id)}"
            )
        else:
            assert "replicate_source_db" not in database
        replica = modules.get(f"table_replica_{region.alias}")
        if replica:
            assert f'"{env.home.name}"' in replica["global_table_arn"]
            assert f"table/{env.table_name}" in replica["global_table_arn"]
        compute = modules.get(f"compute_{region.alias}")
        if compute:
            assert "apply_after" not in compute, "the order of roots replaces the wait"
            assert compute["package_path"] == "${path.module}/../../build/payment_processor.zip"


def test_links_reads_only_what_the_region_roots_output(layout):
    env, files, roots = layout
    text = text_of(files, LINKS_FOLDER)
    states = blocks(roots[LINKS_FOLDER], "data")
    assert set(states) >= {"terraform_remote_state"}
    reads = set(REMOTE_READ.findall(text))
    assert reads, "links reads the region roots"
    aliases = {region.alias: region for region in env.regions}
    for alias, output in reads:
        outputs = blocks(roots[f"regions/{aliases[alias].name}"], "output")
        assert output in outputs, f"links reads {output} that {alias}'s root does not output"
    # links calls only its own modules by `module.`; the region roots' are read from state.
    own = set(blocks(roots[LINKS_FOLDER], "module"))
    assert set(MODULE_REFERENCE.findall(text)) <= own


def test_every_root_records_the_environment_it_belongs_to(layout):
    env, _files, roots = layout
    for parsed in roots.values():
        identity = blocks(parsed, "output")["payinfra_environment"]["value"]
        assert identity == {"name": env.name, "protected": env.protected}


def test_the_home_and_the_primary_apply_first_and_links_last():
    env = load_environment(ENVIRONMENTS, "prod")
    folders = root_folders(env)
    assert folders[0] == f"regions/{env.home.name}"
    assert folders[-1] == LINKS_FOLDER
    assert folders.index(f"regions/{env.primary.name}") < len(env.regions)


def test_an_s3_backend_keeps_each_root_under_a_key_of_its_own(env_dir):
    dev = yaml.safe_load((env_dir.path / "dev.yaml").read_text())
    dev["layout"] = "region-roots"
    dev["backend"] = {"type": "s3", "bucket": "payinfra-state-dev", "region": "eu-west-1"}
    env_dir.write("dev", dev)
    files = render_environment(load_environment(env_dir.path, "dev"))
    keys = {
        folder: parse(str(files[f"{folder}/backend.tf"]))["terraform"][0]["backend"][0]["s3"]["key"]
        for folder in root_folders(load_environment(env_dir.path, "dev"))
    }
    assert keys == {folder: f"payinfra/dev/{folder}/terraform.tfstate" for folder in keys}
    links = parse(str(files["links/main.tf"]))
    remote = {name: body for block in links["data"] for kind, bodies in block.items()
              if kind == "terraform_remote_state" for name, body in bodies.items()}  # fmt: skip
    assert {body["config"]["key"] for body in remote.values()} == {
        key for folder, key in keys.items() if folder != LINKS_FOLDER
    }


def test_the_same_yaml_renders_the_same_bytes():
    assert split("prod")[1] == split("prod")[1]


def test_a_region_root_keeps_its_state_in_its_own_regions_bucket(env_dir):
    """backend.region_buckets: eu-west-1's root (and links' read of it) in eu-west-1's bucket;
    the others in backend.bucket."""
    dev = yaml.safe_load((env_dir.path / "dev.yaml").read_text())
    dev["layout"] = "region-roots"
    dev["backend"] = {"type": "s3", "bucket": "acme-state", "region": "us-east-1",
                      "region_buckets": {"eu-west-1": "acme-state-euw1"}}  # fmt: skip
    env_dir.write("dev", dev)
    files = render_environment(load_environment(env_dir.path, "dev"))

    def s3(folder: str) -> dict:
        return parse(str(files[f"{folder}/backend.tf"]))["terraform"][0]["backend"][0]["s3"]

    assert (s3("regions/eu-west-1")["bucket"], s3("regions/eu-west-1")["region"]) == (
        "acme-state-euw1", "eu-west-1")  # fmt: skip
    for folder in ("regions/us-east-1", "links"):
        assert (s3(folder)["bucket"], s3(folder)["region"]) == ("acme-state", "us-east-1")
    links = parse(str(files["links/main.tf"]))
    remote = {name: body["config"] for block in links["data"]
              for kind, bodies in block.items() if kind == "terraform_remote_state"
              for name, body in bodies.items()}  # fmt: skip
    assert (remote["eu_west_1"]["bucket"], remote["eu_west_1"]["region"]) == (
        "acme-state-euw1", "eu-west-1")  # fmt: skip
    assert remote["us_east_1"]["bucket"] == "acme-state"
