"""Every bad input names the file, the key path, the bad value and what was expected; exit 2."""

from __future__ import annotations

import copy
import time

import pytest
from click.testing import CliRunner

from payinfra import awsnames
from payinfra.cli import main
from payinfra.config import load_environment
from payinfra.regions import AWS_REGIONS


def render(env_dir, tmp_path, env="dev"):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["render", env, "--environments-dir", str(env_dir.path), "--out", str(out)]
    )
    return result, out


def two_regions(defaults) -> list[dict]:
    return copy.deepcopy(defaults["regions"])


def with_regions(env_dir, mutate) -> None:
    regions = two_regions(env_dir.defaults())
    mutate(regions)
    env_dir.write("dev", {"regions": regions})


def assert_rejected(result, out, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    for text in expected:
        assert text in result.output, f"{text!r} not in:\n{result.output}"
    assert "Traceback" not in result.output
    assert not out.exists(), "a failed render must write nothing"


def test_unknown_key_names_file_and_path(env_dir, tmp_path):
    env_dir.write("dev", {"network": {"nat_mdoe": "single"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "dev.yaml", "network.nat_mdoe", "unknown key")


def test_wrong_type_reports_value_and_expectation(env_dir, tmp_path):
    env_dir.write("dev", {"network": {"flow_log_retention_days": "a week"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(
        result, out, "dev.yaml", "network.flow_log_retention_days", "'a week'", "integer"
    )


def test_retention_that_cloudwatch_rejects(env_dir, tmp_path):
    env_dir.write("dev", {"network": {"flow_log_retention_days": 10}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "flow_log_retention_days", "(got 10)", "365")


def test_yaml_boolean_in_string_field_gets_a_hint(env_dir, tmp_path):
    env_dir.write("dev", {"network": {"nat_mode": True}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "network.nat_mode", "True")


def test_bad_cidr(env_dir, tmp_path):
    with_regions(env_dir, lambda regions: regions[1].update(cidr="10.1.0.0/33"))
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "dev.yaml", "regions[1].cidr", "10.1.0.0/33", "IPv4 CIDR")


def test_cidr_with_host_bits(env_dir, tmp_path):
    with_regions(env_dir, lambda regions: regions[1].update(cidr="10.1.0.1/16"))
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "regions[1].cidr", "host bits")


def test_overlapping_vpc_cidrs(env_dir, tmp_path):
    with_regions(env_dir, lambda regions: regions[1].update(cidr="10.0.128.0/17"))
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "regions[1].cidr", "overlaps regions[0].cidr 10.0.0.0/16")


def test_subnet_outside_its_vpc(env_dir, tmp_path):
    def mutate(regions):
        regions[0]["public_subnets"] = ["10.0.0.0/24", "10.9.0.0/24"]

    with_regions(env_dir, mutate)
    result, out = render(env_dir, tmp_path)
    assert_rejected(
        result, out, "regions[0].public_subnets[1]", "10.9.0.0/24", "outside the VPC CIDR"
    )


def test_overlapping_subnets(env_dir, tmp_path):
    def mutate(regions):
        regions[0]["public_subnets"] = ["10.0.0.0/24", "10.0.1.0/24"]
        regions[0]["private_subnets"] = ["10.0.1.0/25", "10.0.2.0/24"]

    with_regions(env_dir, mutate)
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "regions[0].private_subnets[0]", "overlaps public_subnets[1]")


def test_subnet_count_must_match_azs(env_dir, tmp_path):
    with_regions(env_dir, lambda regions: regions[0].update(private_subnets=["10.0.200.0/24"]))
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "regions[0].private_subnets", "one subnet per availability zone")


def test_unknown_region(env_dir, tmp_path):
    with_regions(env_dir, lambda regions: regions[1].update(name="eu-middle-9"))
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "regions[1].name", "eu-middle-9", "unknown AWS region")


def test_az_of_another_region(env_dir, tmp_path):
    with_regions(env_dir, lambda regions: regions[1].update(azs=["eu-west-1a", "us-east-1b"]))
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "regions[1].azs[1]", "us-east-1b", "not an availability zone")


def test_fewer_than_two_azs(env_dir, tmp_path):
    with_regions(env_dir, lambda regions: regions[1].update(azs=["eu-west-1a"]))
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "regions[1].azs", "at least 2")


def test_duplicate_region(env_dir, tmp_path):
    def mutate(regions):
        regions.append({**regions[1], "cidr": "10.2.0.0/16"})

    with_regions(env_dir, mutate)
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "regions[2].name", "duplicate region", "regions[1]")


def test_no_source_region(env_dir, tmp_path):
    with_regions(env_dir, lambda regions: regions[0].update(role="target"))
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "regions:", "exactly one region with role: source, found 0")


def test_two_source_regions(env_dir, tmp_path):
    with_regions(env_dir, lambda regions: regions[1].update(role="source"))
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "found 2 (us-east-1, eu-west-1)")


def test_error_in_defaults_names_the_defaults_file(env_dir, tmp_path):
    defaults = env_dir.defaults()
    defaults["regions"][1]["cidr"] = "not-a-cidr"
    env_dir.write("_defaults", defaults)
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "_defaults.yaml: regions[1].cidr")


def test_every_problem_is_reported_at_once(env_dir, tmp_path):
    env_dir.write("dev", {"project": "Payment!", "network": {"nat_mode": "double"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "project", "network.nat_mode")


def test_environment_without_a_file_lists_known_ones(env_dir, tmp_path):
    result, out = render(env_dir, tmp_path, env="qa")
    assert_rejected(result, out, "qa.yaml", "no such environment 'qa'", "dev, local, prod, staging")


def test_environment_name_cannot_escape_the_folder(env_dir, tmp_path):
    result, out = render(env_dir, tmp_path, env="../dev")
    assert_rejected(result, out, "not an environment name")


def test_malformed_yaml_reports_line_and_column(env_dir, tmp_path):
    env_dir.write("dev", "network:\n  nat_mode: single\n   flow_log_retention_days: 30\n")
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "dev.yaml:3:")


def test_duplicate_yaml_key_is_an_error(env_dir, tmp_path):
    env_dir.write("dev", "network:\n  nat_mode: single\n  nat_mode: per_az\n")
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "dev.yaml:3:3", "duplicate key 'nat_mode'")


def test_top_level_must_be_a_mapping(env_dir, tmp_path):
    env_dir.write("dev", "- just\n- a list\n")
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "dev.yaml", "expected a mapping")


def test_reserved_tag_cannot_be_overridden(env_dir, tmp_path):
    env_dir.write("dev", {"tags": {"Environment": "production"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "tags.Environment", "payinfra sets this tag itself")


def test_s3_backend_needs_bucket_and_region(env_dir, tmp_path):
    env_dir.write("dev", {"backend": {"type": "s3"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(
        result,
        out,
        "dev.yaml: backend.bucket: required with `type: s3`",
        "dev.yaml: backend.region: required with `type: s3`",
    )


S3 = {"type": "s3", "bucket": "acme-state", "region": "us-east-1"}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"backend": {**S3, "region_buckets": {"eu-west-1": "acme-state-euw1"}}},
         "backend.region_buckets: applies only to `type: s3` with `layout: region-roots`"),
        ({"layout": "region-roots", "backend": {"region_buckets": {"eu-west-1": "acme-euw1"}}},
         "backend.region_buckets: applies only to `type: s3`"),
        ({"layout": "region-roots",
          "backend": {**S3, "region_buckets": {"ap-south-1": "acme-state-aps1"}}},
         "backend.region_buckets.ap-south-1: is not a region of this environment"),
        ({"layout": "region-roots",
          "backend": {**S3, "region_buckets": {"eu-west-1": "acme-state"}}},
         "backend.region_buckets.eu-west-1: names a bucket already used"),
        ({"layout": "one-root-per-az"}, "layout"),
    ],
)  # fmt: skip
def test_state_buckets_per_region_need_region_roots_and_their_own_names(
    env_dir, tmp_path, settings, expected
):
    env_dir.write("dev", settings)
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "dev.yaml", expected)


@pytest.mark.parametrize("bad", ["not-a-list", [], [{"name": "us-east-1"}]])
def test_malformed_regions(env_dir, tmp_path, bad):
    env_dir.write("dev", {"regions": bad})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "dev.yaml", "regions")


def test_failed_render_leaves_previous_output_untouched(env_dir, tmp_path):
    result, out = render(env_dir, tmp_path)
    assert result.exit_code == 0, result.output
    before = {path: path.read_bytes() for path in (out / "dev").rglob("*") if path.is_file()}
    env_dir.write("dev", {"network": {"nat_mode": "double"}})
    result, _ = render(env_dir, tmp_path)
    assert result.exit_code == 2
    after = {path: path.read_bytes() for path in (out / "dev").rglob("*") if path.is_file()}
    assert after == before


def test_protected_environment_keeps_logs_a_year(env_dir, tmp_path):
    env_dir.write("dev", {"protected": True, "database": {"skip_final_snapshot": False}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(
        result,
        out,
        "logs.retention_days",
        "(got 30, payinfra's default)",
        "PCI DSS",
        "network.flow_log_retention_days",
    )


def test_protected_environment_cannot_skip_the_final_snapshot(env_dir, tmp_path):
    env_dir.write(
        "dev",
        {
            "protected": True,
            "logs": {"retention_days": 365},
            "network": {"flow_log_retention_days": 365},
            "database": {"skip_final_snapshot": True},
        },
    )
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "dev.yaml: database.skip_final_snapshot", "final snapshot")


def test_unsupported_postgres_major(env_dir, tmp_path):
    env_dir.write("dev", {"database": {"engine_version": "13.4"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(
        result,
        out,
        "dev.yaml: database.engine_version: not a PostgreSQL major RDS offers; expected one of "
        "14, 15, 16, 17, 18 (or major.minor) (got '13.4')",
    )
    assert "instance_class" not in result.output, "the surrounding mapping is not dumped"


def test_home_region_must_be_one_of_the_regions(env_dir, tmp_path):
    env_dir.write("dev", {"home_region": "eu-central-1"})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "home_region", "eu-central-1", "not one of")


def test_the_workload_names_known_regions_and_exactly_one_primary(env_dir, tmp_path):
    env_dir.write("dev", {"workload": {"eu-central-1": "primary", "us-east-1": "standby"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "workload.eu-central-1", "not one of")
    env_dir.write("dev", {"workload": {"eu-west-1": "primary", "us-east-1": "primary"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "workload", "found 2 (eu-west-1, us-east-1)")
    env_dir.write("dev", {"workload": {"eu-west-1": "leader"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "workload.eu-west-1", "'leader'")


def test_the_old_primary_region_key_says_what_replaced_it(env_dir, tmp_path):
    env_dir.write("dev", {"primary_region": "eu-west-1"})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "primary_region: renamed: `home_region`", "`workload`")


def test_a_bad_workload_region_is_one_error_not_two(env_dir, tmp_path):
    env_dir.write("dev", {"workload": {"mars-west-1": "primary"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "workload.mars-west-1", "unknown AWS region")
    assert "exactly one region" not in result.output


def test_the_api_domain_needs_its_zone_and_weights_need_weighted_routing(env_dir, tmp_path):
    env_dir.write("dev", {"api": {"domain": "pay.example.com"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "api.hosted_zone_id", "required with api.domain")
    env_dir.write("dev", {"api": {"domain": "Pay Example", "hosted_zone_id": "Z123"}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "api.domain", "'Pay Example'")
    env_dir.write(
        "dev",
        {
            "workload": {"eu-west-1": "primary", "us-east-1": "standby"},
            "api": {"domain": "pay.example.com", "hosted_zone_id": "Z123", "routing": "weighted",
                    "weights": {"eu-west-1": 100}},
        },
    )  # fmt: skip
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "api.weights", "a weight for each region", "us-east-1")
    env_dir.write("dev", {"api": {"weights": {"eu-west-1": 1}}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "api.weights", "only to `routing: weighted`")


def test_lambda_section_errors_use_the_yaml_key(env_dir, tmp_path):
    env_dir.write("dev", {"lambda": {"timeout_seconds": 90, "currencies": ["euro"]}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(
        result, out, "lambda.timeout_seconds", "(got 90)", "lambda.currencies[0]", "'euro'"
    )


def test_jwt_needs_https_issuer_and_an_audience(env_dir, tmp_path):
    env_dir.write("dev", {"api": {"jwt": {"issuer": "http://idp.example", "audience": []}}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "api.jwt.issuer", "api.jwt.audience")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("? [a, b]\n: 1\n", "dev.yaml:1:3: invalid YAML: a key must be a plain string or number"),
        ("tags:\n  ? {a: 1}\n  : x\n", "dev.yaml:2:5: invalid YAML: a key must be a plain"),
        ("x: " + "[" * 5000 + "]" * 5000 + "\n", "dev.yaml: nested too deeply"),
        ("x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "dev.yaml: nested too deeply"),
        ("x: " + "[" * 25 + "]" * 25 + "\n", "dev.yaml: nested more than 20 levels deep"),
        ("tags: &a [*a]\n", "dev.yaml: an alias refers to a mapping or list that contains it"),
        ("tags: &a {b: *a}\n", "dev.yaml:1:7: invalid YAML: found unconstructable recursive"),
    ],
)
def test_hostile_yaml_structures_are_clear_errors(env_dir, tmp_path, text, expected):
    env_dir.write("dev", text)
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, expected)
    assert isinstance(result.exception, SystemExit)


# 314 bytes that stand for 10^8 strings: seven levels of ten aliases each.
ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n"
        for previous, name in zip("abcdef", "bcdefg", strict=True)
    )
    + f"tags: [{', '.join(['*g'] * 10)}]\n"
)


def test_an_alias_bomb_is_refused_at_load_time(env_dir, tmp_path):
    env_dir.write("dev", ALIAS_BOMB)
    started = time.perf_counter()
    result, out = render(env_dir, tmp_path)
    assert time.perf_counter() - started < 5  # it took about 56 s of CPU before
    assert_rejected(result, out, "dev.yaml: expands to more than 20,000 values")


@pytest.mark.parametrize(
    "address",
    ['a"b@example.com', '"@example.com', "name@example", "a..b@example.com", "a b@example.com",
     "a@-example.com", "x@" + "a" * 250 + ".com"],
)  # fmt: skip
def test_an_alarm_email_sns_cannot_deliver_to_is_refused(env_dir, tmp_path, address):
    env_dir.write("dev", {"alarms": {"emails": [address]}})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "alarms.emails[0]: not an e-mail address SNS can deliver to")


def test_ordinary_alarm_emails_are_accepted(env_dir, tmp_path):
    env_dir.write(
        "dev", {"alarms": {"emails": ["first.last+pay@ops.example.co.uk", "o'neil@x.io"]}}
    )
    result, _ = render(env_dir, tmp_path)
    assert result.exit_code == 0, result.output


# Protected, with every protection rule met but one: logs kept 30 days.
PROTECTED_SHORT_LOGS = {
    "protected": True,
    "aws": {"account_id": "123456789012"},
    "logs": {"retention_days": 30},
    "storage": {"access_log_retention_days": 365},
    "alarms": {"emails": ["oncall@example.com"]},
}


@pytest.mark.parametrize(
    ("defaults", "env", "expected"),
    [
        pytest.param(
            {},
            {"database": {"engine_version": "12"}},
            ["dev.yaml: database.engine_version: not a PostgreSQL major RDS offers"],
            id="override-blamed-on-the-env-file",
        ),
        pytest.param(
            {"database": {"engine_version": "12"}},
            {"database": {"multi_az": True}},
            ["_defaults.yaml: database.engine_version: not a PostgreSQL major"],
            id="default-blamed-on-the-defaults-file",
        ),
        pytest.param(
            {},
            {**PROTECTED_SHORT_LOGS, "network": {"nat_mode": "bogus"}},
            [
                "dev.yaml: network.nat_mode: Input should be 'single' or 'per_az' (got 'bogus')",
                "dev.yaml: logs.retention_days: a protected environment keeps logs at least 365",
                "dev.yaml: network.flow_log_retention_days: a protected environment keeps logs "
                "at least 365 days (PCI DSS 10.5.1) (got 30, payinfra's default)",
            ],
            id="schema-and-cross-field-at-once",
        ),
        pytest.param(
            {"lambda": {"memory_mb": 1}},
            {"tags": {"Environment": "x"}, "lambda": {"default_currency": "CHF"}},
            [
                "_defaults.yaml: lambda.memory_mb: Input should be greater than or equal to 128",
                "dev.yaml: tags.Environment: payinfra sets this tag itself",
                "dev.yaml: lambda.default_currency: must be one of lambda.currencies "
                "(EUR, GBP, USD) (got 'CHF')",
            ],
            id="defaults-schema-and-env-cross-field",
        ),
        pytest.param(
            {},
            {
                **PROTECTED_SHORT_LOGS,
                "database": {"max_allocated_storage_gb": 10, "allocated_storage_gb": 50},
            },
            [
                "dev.yaml: database.max_allocated_storage_gb: Input should be greater than or "
                "equal to 20 (got 10)",
                "dev.yaml: logs.retention_days: a protected environment keeps logs",
                "network.flow_log_retention_days: a protected environment keeps logs",
            ],
            id="bad-value-and-protection-rule",
        ),
    ],
)
def test_every_problem_in_one_run_in_the_file_that_set_it(
    env_dir, tmp_path, defaults, env, expected
):
    if defaults:
        shared = env_dir.defaults()
        for key, value in defaults.items():
            shared[key] = {**shared.get(key, {}), **value}
        env_dir.write("_defaults", shared)
    env_dir.write("dev", env)
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, *expected)
    assert len(result.output.strip().splitlines()) == len(expected), result.output


def test_a_bad_region_and_a_protection_rule_are_reported_together(env_dir, tmp_path):
    regions = two_regions(env_dir.defaults())
    regions[1]["cidr"] = "10.1.0.0/33"
    env_dir.write("dev", {**PROTECTED_SHORT_LOGS, "regions": regions})
    result, out = render(env_dir, tmp_path)
    assert_rejected(
        result, out, "regions[1].cidr: not a valid IPv4 CIDR", "logs.retention_days: a protected"
    )
    assert "exactly one region with role: source" not in result.output, "no follow-on noise"


def test_regions_of_different_partitions_cannot_be_mixed(env_dir, tmp_path):
    with_regions(
        env_dir,
        lambda regions: regions[1].update(name="cn-north-1", azs=["cn-north-1a", "cn-north-1b"]),
    )
    result, out = render(env_dir, tmp_path)
    assert_rejected(
        result,
        out,
        "dev.yaml: regions[1].name: is in the aws-cn partition but regions[0] (us-east-1) is in "
        "aws; regions of different AWS partitions cannot peer (got 'cn-north-1')",
    )


@pytest.mark.parametrize("version", ["14", "18", "14.12", "18.1"])
def test_every_postgres_major_rds_offers_renders(env_dir, tmp_path, version):
    env_dir.write("dev", {"database": {"engine_version": version}})
    result, out = render(env_dir, tmp_path)
    assert result.exit_code == 0, result.output
    main_tf = (out / "dev" / "main.tf").read_text()
    assert f'engine_version              = "{version}"' in main_tf
    assert f'parameter_group_family      = "postgres{version.split(".")[0]}"' in main_tf


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ({"allow_major_version_upgrade": True},
         "database.allow_major_version_upgrade: a major upgrade needs database.apply_immediately"),
        ({"maintenance_window": "sun:03:00"}, "database.maintenance_window: expected ddd:hh:mm"),
        ({"maintenance_window": "sun:25:00-sun:26:00"}, "hours run 00-23"),
        ({"maintenance_window": "sun:03:00-sun:03:10"}, "at least 30 minutes"),
        ({"backup_window": "1:00-1:30"}, "database.backup_window: expected hh:mm-hh:mm"),
        ({"maintenance_window": "sun:03:00-sun:04:00", "backup_window": "03:30-04:00"},
         "database.backup_window: overlaps database.maintenance_window"),
        ({"maintenance_window": "sat:23:30-sun:00:30", "backup_window": "00:00-00:30"},
         "database.backup_window: overlaps"),
    ],
)  # fmt: skip
def test_database_windows_and_upgrades_rds_would_refuse(env_dir, tmp_path, database, expected):
    env_dir.write("dev", {"database": database})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, expected)


def test_windows_apart_and_an_immediate_major_upgrade_are_accepted(env_dir, tmp_path):
    env_dir.write("dev", {"database": {
        "maintenance_window": "sun:03:00-sun:04:00", "backup_window": "01:00-01:30",
        "allow_major_version_upgrade": True, "apply_immediately": True}})  # fmt: skip
    result, _ = render(env_dir, tmp_path)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("generations", "expected"),
    [
        ({"ap-south-1": 2}, "not a region of regions"),
        ({"eu-west-1": 0}, "greater than or equal to 1"),
        ({"eu-west-1": 100}, "less than or equal to 99"),
    ],
)
def test_a_generation_names_a_region_and_a_number_from_1_to_99(
    env_dir, tmp_path, generations, expected
):
    env_dir.write("dev", {"generations": generations})
    result, out = render(env_dir, tmp_path)
    assert_rejected(result, out, "dev.yaml", "generations", expected)


def test_the_longest_names_of_the_last_generation_fit_aws(env_dir):
    """Why a generation needs no name check of its own: its longest prefix, with the longest
    region AWS has, still fits every limit (the bucket, which has no generation, binds first)."""
    settings = {"project": "p" * 12, "name_suffix": "s" * 8}
    env_dir.write("e" * 12, {**settings, "generations": {"eu-west-1": 99}})
    env = load_environment(env_dir.path, "e" * 12)
    assert env.database_identifier("eu-west-1").endswith("-g99-db")
    assert env.function_name("eu-west-1").endswith("-g99-payment-processor")
    longest_region = max(AWS_REGIONS, key=len)
    for rule in awsnames.NAME_RULES:
        if rule is not awsnames.DATA_BUCKET:
            name = rule.name(env.region_prefix("eu-west-1"), longest_region)
            assert len(name) <= rule.max_length, (rule.resource, name)
