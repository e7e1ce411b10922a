"""Every AWS name derived from the YAML is checked at config time against AWS's limits, and the
longest and oddest names the schema allows plan cleanly against the emulator."""

from __future__ import annotations

import pytest
import yaml

from payinfra import workspace
from payinfra.awsnames import DATA_BUCKET, NAME_RULES
from tests.config.test_validation_errors import assert_rejected, render
from tests.toolchain import planned_resources, terraform_init

NAME_ATTRIBUTES = (
    "bucket",
    "dashboard_name",
    "final_snapshot_identifier",
    "function_name",
    "identifier",
    "name",
    "name_prefix",
)


def regions(*names: str) -> list[dict]:
    return [
        {
            "name": name,
            "role": "source" if index == 0 else "target",
            "cidr": f"10.{index}.0.0/16",
            "azs": [f"{name}a", f"{name}b"],
        }
        for index, name in enumerate(names)
    ]


# At the limit: the S3 bucket name `<prefix>-<region>-data-<account id>` is exactly 63 long.
LONGEST = [
    pytest.param(
        "e1-2-3-4-5-6-7",
        {"project": "a1-b2-c3-d4e", "name_suffix": "001-0-9"},
        regions("us-east-1", "eu-west-1"),
        id="long-name-short-regions",
    ),
    pytest.param(
        "e1-2-3-4-5",
        {"project": "p9-8-7-6-5-4", "name_suffix": "0a-1b-2c"},
        regions("eu-central-1", "sa-east-1"),
        id="odd-name-long-region",
    ),
]


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("project: pay-\n", "project: expected lowercase letters, digits and single inner '-'"),
        ("project: pay--x\n", "project: expected lowercase letters"),
        ("project: 1pay\n", "starting with a letter"),
        ("name_suffix: blue-\n", "name_suffix: expected lowercase letters, digits"),
        ("name_suffix: ''\n", "name_suffix: String should have at least 1 character"),
    ],
)
def test_names_aws_would_refuse_are_yaml_errors(env_dir, tmp_path, yaml_text, expected):
    env_dir.write("dev", yaml_text)
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, expected)


def test_a_name_over_its_aws_limit_names_the_keys_that_make_it(env_dir, tmp_path):
    env_dir.write(
        "payments-stage",
        "project: paymentplatf\nname_suffix: blue1234\n"
        + yaml.safe_dump({"regions": regions("ap-southeast-4", "eu-west-1")}),
    )
    result, out = render(env_dir, tmp_path, env="payments-stage")
    assert_rejected(
        result,
        out,
        "payments-stage.yaml: name_suffix: the S3 data bucket name 'paymentplatf-payments-stage-"
        "blue1234-ap-southeast-4-data-<12-digit account id>' would be 69 characters; AWS allows "
        "63. It is made of project (12), the environment name (14), name_suffix (8), "
        "regions[0].name (14): shorten one of them",
    )


@pytest.mark.parametrize("name", ["prod-", "a--b", "a-", "1abc", "abcdefghijklmnopq"])
def test_environment_names_that_would_break_aws_names_are_refused(env_dir, tmp_path, name):
    env_dir.write(name, {})
    result, _ = render(env_dir, tmp_path, env=name)
    assert result.exit_code == 2
    assert "is not an environment name" in result.output


def test_a_suffix_may_start_with_a_digit(env_dir, tmp_path):
    env_dir.write("dev", {"name_suffix": "001"})
    result, _ = render(env_dir, tmp_path)
    assert result.exit_code == 0, result.output


@pytest.mark.emulator
@pytest.mark.terraform
@pytest.mark.parametrize(("env", "settings", "region_list"), LONGEST)
def test_the_longest_names_plan_against_the_emulator_as_derived(
    env_dir, tmp_path, moto_server, env, settings, region_list
):
    targets = [r for r in region_list if r["role"] == "target"]
    env_dir.write(
        env,
        {
            **settings,
            "regions": region_list,
            # Every region serving, so that each region's names are planned.
            "workload": {
                r["name"]: "primary" if r is targets[0] else "standby" for r in region_list
            },
            "emulator": {"endpoint": moto_server.endpoint},
            "database": {"skip_final_snapshot": False},
        },
    )
    rendered = workspace.render(env_dir.path, env, tmp_path / "out")
    prefix = rendered.env.name_prefix
    bucket = DATA_BUCKET
    assert max(len(bucket.name(prefix, r["name"])) for r in region_list) == bucket.max_length
    terraform_init(rendered.root, env=moto_server.aws_env())
    changes = planned_resources(rendered.root, moto_server.aws_env())
    planned = {
        change["change"]["after"][attribute]
        for change in changes
        for attribute in NAME_ATTRIBUTES
        if isinstance((change["change"]["after"] or {}).get(attribute), str)
    }
    # IAM names are global and a name_prefix is unique only within one provider process (one
    # per region): no two regions' roles may share a prefix. AWS allows a prefix of 38.
    role_prefixes = [
        change["change"]["after"]["name_prefix"]
        for change in changes
        if change["type"] == "aws_iam_role" and change["change"]["after"].get("name_prefix")
    ]
    assert len(role_prefixes) == len(set(role_prefixes)) >= 4, role_prefixes
    assert max(map(len, role_prefixes)) <= 38, role_prefixes
    account = "123456789012"  # the emulator's
    for rule in NAME_RULES:
        for region in [r["name"] for r in region_list] if rule.per_region else [""]:
            expected = rule.name(prefix, region, account)
            assert len(expected) <= rule.max_length
            # A name_prefix is planned as given; compare the prefix itself.
            assert expected in planned, (
                f"{rule.resource}: {expected!r} is not what the modules plan"
            )
