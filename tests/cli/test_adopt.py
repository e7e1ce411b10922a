"""`payinfra adopt ENV --from-state SOURCE`: the reference stack's state read only, recognised,
mapped onto payinfra's addresses and checked against the YAML; every bad source one line.

The state is the reference stack (`../shared/reference/seed-stack/cdk.tf.json`) as terraform
applied it on the emulator, trimmed to the attributes adoption reads and with the reference's
hard-coded database password removed (tests/fixtures/reference.tfstate). STS answers from
in-process moto, whose account is the state's (123456789012).
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import boto3
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payinfra.adoption.checks import contradictions
from payinfra.adoption.mapping import mapping
from payinfra.adoption.source import parse_state
from payinfra.adoption.stack import reference_stack
from payinfra.cli import main
from payinfra.config import load_environment
from payinfra.errors import AdoptionRefused, AdoptionSourceError
from payinfra.render.regions import root_of
from tests.conftest import REPO
from tests.hclparse import parse as parse_hcl

FIXTURE = Path(__file__).parent.parent / "fixtures" / "reference.tfstate"
STATE = json.loads(FIXTURE.read_text(encoding="utf-8"))
DEV = load_environment(REPO / "environments", "dev")
IMPORTS_WRITTEN = 51
STATEFUL = {
    "aws_dynamodb_table.dynamodb-transactions": (
        "module.data_eu_west_1.aws_dynamodb_table.transactions[0]"
    ),
    "aws_db_instance.rds-postgresql": "module.database_eu_west_1.aws_db_instance.this",
    "aws_kms_key.kms-rds": "module.database_eu_west_1.module.key.aws_kms_key.this",
    "aws_s3_bucket.s3-bucket-us": "module.data_us_east_1.aws_s3_bucket.this",
    "aws_s3_bucket.s3-bucket-eu": "module.data_eu_west_1.aws_s3_bucket.this",
}


@pytest.fixture
def adopt(aws, env_dir, tmp_path):
    """Runs `payinfra adopt dev --from-state SOURCE` (a dict is written to a file first)."""

    def invoke(source: dict | str, env: str = "dev"):
        if isinstance(source, dict):
            path = tmp_path / "source.tfstate"
            path.write_text(json.dumps(source), encoding="utf-8")
            source = str(path)
        args = ["adopt", env, "--environments-dir", str(env_dir.path), "--from-state", source]
        result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out")])
        assert "Traceback" not in result.output
        return result

    return invoke


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_reports_each_resource_once_with_its_new_address(adopt, env_dir, tmp_path):
    before = _tree(env_dir.path)
    result = adopt(str(FIXTURE))
    assert _tree(env_dir.path) == before and not (tmp_path / "out").exists(), "wrote something"
    assert result.exit_code == 3, result.output
    out = result.stdout
    assert "the reference stack (suffix dev-001, account 123456789012" in out
    assert "taken over in place (51 imports)" in out
    assert "left to the old state (15; payinfra builds its own)" in out
    for reference, target in STATEFUL.items():
        assert f"  {reference} -> {target}\n" in out
    assert "aws_security_group.sg-rds: a security group's name cannot change" in out


def test_names_each_contradiction_by_file_and_key_and_writes_nothing(adopt, env_dir):
    result = adopt(str(FIXTURE))
    errors = result.stderr.splitlines()
    dev = env_dir.path / "dev.yaml"
    for expected in (
        "database.name: payments, but the database's is paymentdb",
        "database.master_username: payments_admin",
        "database.engine_version: 17, but the database runs 14.7",
        "regions[eu-west-1].private_subnets: ",
        "adopted.table_sort_key: unset, but the table's key is transactionId + timestamp",
        "adopted.table: payment-dev-transactions, but the running one is "
        "payment-transactions-dev-001",
        "adopted.api_stage: $default, but the running one is prod",
        "adopted.data_buckets.us-east-1: payment-dev-us-east-1-data-123456789012, but the "
        "running one is payment-data-us-east-1-dev-001",
    ):
        assert f"error: {dev}: {expected}" in result.stderr
    assert errors[-1].endswith("nothing was written")


def test_without_a_yaml_writes_one_from_the_state_and_never_over_one(adopt, env_dir, tmp_path):
    result = adopt(str(FIXTURE), env="tap")
    assert result.exit_code == 0, result.output
    written = env_dir.path / "tap.yaml"
    assert f"wrote {written} from {FIXTURE} (62 resources): set lambda.default_currency" in (
        result.stdout
    )
    settings = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert settings["adopted"] == {
        "table": "payment-transactions-dev-001",
        "table_sort_key": "timestamp",
        "database": "payment-db-dev-001",
        "database_subnet_group": "payment-db-subnet-dev-001",
        "function": "payment-processor-dev-001",
        "api_stage": "prod",
        "data_buckets": {
            "us-east-1": "payment-data-us-east-1-dev-001",
            "eu-west-1": "payment-data-eu-west-1-dev-001",
        },
    }
    eu = settings["regions"][1]
    assert (eu["cidr"], eu["private_subnets"]) == ("10.1.0.0/16", ["10.1.11.0/24", "10.1.12.0/24"])
    assert settings["database"]["engine_version"] == "14.7"
    # Without the currency the state cannot tell, the YAML is not valid yet: the run says so.
    again = adopt(str(FIXTURE), env="tap")
    assert again.exit_code == 2
    assert "lambda.default_currency: required with adopted.table_sort_key" in again.stderr
    assert not (tmp_path / "out").exists()


def test_a_yaml_that_describes_the_stack_gets_the_import_blocks(adopt, env_dir, tmp_path):
    adopt(str(FIXTURE), env="tap")
    path = env_dir.path / "tap.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["lambda"]["default_currency"] = "USD"
    env_dir.write("tap", settings)
    result = adopt(str(FIXTURE), env="tap")
    assert result.exit_code == 0, result.output
    root = tmp_path / "out" / "tap"
    assert f"wrote 51 import blocks into {root / 'adoption.tf'}" in result.stdout
    blocks = parse_hcl((root / "adoption.tf").read_text(encoding="utf-8"))["import"]
    assert len(blocks) == 51
    by_target = {block["to"]: block["id"] for block in blocks}
    assert by_target["${module.data_eu_west_1.aws_dynamodb_table.transactions[0]}"] == (
        "payment-transactions-dev-001"
    )
    # Every later render keeps them while the adoption is in progress.
    CliRunner().invoke(
        main,
        ["render", "tap", "--environments-dir", str(env_dir.path), "--out", str(tmp_path / "out")],
    )
    assert len(parse_hcl((root / "adoption.tf").read_text(encoding="utf-8"))["import"]) == 51


def test_mapping_imports_every_stateful_resource_and_covers_every_resource_once():
    stack = reference_stack(STATE, "fixture")
    rows = mapping(stack)
    references = [row.reference for row in rows if " (route " not in row.reference]
    assert sorted(references) == sorted(stack.resources)
    targets = [row.target for row in rows if row.target]
    assert len(targets) == len(set(targets)), "two resources imported to one address"
    by_reference = {row.reference: row for row in rows}
    for reference, target in STATEFUL.items():
        assert by_reference[reference].target == target
    # Import ids in the forms the provider's importers read.
    public = by_reference["aws_route_table.rt-us-public (route 0.0.0.0/0)"]
    assert public.import_id == f"{stack['aws_route_table.rt-us-public'].id}_0.0.0.0/0"
    association = by_reference["aws_route_table_association.rta-eu-private-1b"]
    subnet, table = (
        stack[a].id for a in ("aws_subnet.subnet-eu-private-1b", "aws_route_table.rt-eu-private")
    )
    assert association.import_id == f"{subnet}/{table}"
    api = stack["aws_apigatewayv2_api.api-gateway"].id
    assert by_reference["aws_apigatewayv2_stage.api-stage"].import_id == f"{api}/prod"
    assert by_reference["aws_db_instance.rds-postgresql"].import_id == "payment-db-dev-001"


def _with(change) -> dict:
    state = copy.deepcopy(STATE)
    change(state)
    return state


def _drop(address: str):
    kind, name = address.split(".")
    return lambda state: state["resources"].remove(
        next(r for r in state["resources"] if (r["type"], r["name"]) == (kind, name))
    )


def _arns_in(account: str):
    def change(state):
        for resource in state["resources"]:
            attributes = resource["instances"][0]["attributes"]
            if "arn" in attributes:
                attributes["arn"] = attributes["arn"].replace("123456789012", account)

    return change


def _in_region(region: str):
    def change(state):
        state["resources"][0]["provider"] = (
            f'provider["registry.terraform.io/hashicorp/aws"].{region.replace("-", "_")}'
        )

    return change


@pytest.mark.parametrize(
    ("make_source", "message"),
    [
        (lambda tmp: str(tmp / "missing.tfstate"), "missing.tfstate: no such file"),
        (str, ": a folder, not a state file"),
        (lambda tmp: _write(tmp, "{not json"), ": not a Terraform state (not JSON)"),
        (lambda tmp: _write(tmp, '{"a": 1}'), ": not a Terraform state (no version and resources)"),
        (lambda tmp: _write(tmp, b"\xff\xfe"), ": not a Terraform state (not text)"),
        (lambda tmp: _state(tmp, lambda s: s.update(version=3)), ": state format 3; terraform 1.x"),
        (
            lambda tmp: _state(tmp, lambda s: s.update(resources=[])),
            ": the state holds no resource",
        ),
        (
            lambda tmp: _state(tmp, _drop("aws_db_instance.rds-postgresql")),
            ": not the reference stack's state: it holds no aws_db_instance.rds-postgresql",
        ),
        (
            lambda tmp: _state(tmp, _in_region("ap-south-1")),
            ": resources in ap-south-1; the reference stack runs in us-east-1 and eu-west-1 only",
        ),
        (
            lambda tmp: _state(tmp, _arns_in("111122223333")),
            ": its resources are in account 111122223333; the credentials for dev act in "
            "123456789012",
        ),
        (
            lambda tmp: _state(tmp, lambda s: s["resources"][0].update(module="module.x")),
            ": holds module.x: the reference stack has no modules",
        ),
        (lambda tmp: "s3://no-such-bucket/terraform.tfstate", ": cannot be read (NoSuchBucket)"),
        (lambda tmp: "s3://only-a-bucket", ": an S3 source is s3://BUCKET/KEY"),
    ],
)
def test_a_bad_source_is_one_line_and_nothing_is_written(adopt, tmp_path, make_source, message):
    result = adopt(make_source(tmp_path))
    assert result.exit_code in (1, 3)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def _write(folder: Path, content: str | bytes) -> str:
    path = folder / "source.tfstate"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def _state(folder: Path, change) -> str:
    return _write(folder, json.dumps(_with(change)))


def test_reads_the_state_from_s3_without_writing_it(adopt):
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(
        Bucket="tap-state", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket="tap-state", Key="tap/terraform.tfstate", Body=FIXTURE.read_bytes())
    result = adopt("s3://tap-state/tap/terraform.tfstate")
    assert "taken over in place (51 imports)" in result.stdout
    versions = s3.list_object_versions(Bucket="tap-state")
    assert len(versions.get("Versions", [])) == 1


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    index=st.integers(min_value=0, max_value=len(STATE["resources"]) - 1),
    key=st.sampled_from(["type", "name", "provider", "instances", "mode", "module"]),
    value=JSON,
)
def test_a_mangled_state_is_refused_in_words_never_a_traceback(index, key, value):
    state = _with(lambda s: s["resources"][index].__setitem__(key, value))
    with contextlib.suppress(AdoptionRefused, AdoptionSourceError):
        stack = reference_stack(parse_state(json.dumps(state), "fuzz"), "fuzz")
        mapping(stack)
        contradictions(DEV, stack)


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(FIXTURE.read_text(encoding="utf-8"))))
def test_a_truncated_state_is_refused_in_words(cut):
    text = FIXTURE.read_text(encoding="utf-8")[:cut]
    with contextlib.suppress(AdoptionRefused, AdoptionSourceError):
        mapping(reference_stack(parse_state(text, "cut"), "cut"))


# ---- The adoption record, and releasing the old state ----


def _adopted(adopt, env_dir, tmp_path) -> Path:
    """The fixture's state copied where the release may rewrite it, adopted as `tap` up to the
    import blocks; the copy's path."""
    source = tmp_path / "terraform.tap.tfstate"
    source.write_bytes(FIXTURE.read_bytes())
    adopt(str(source), env="tap")
    settings = yaml.safe_load((env_dir.path / "tap.yaml").read_text(encoding="utf-8"))
    settings["lambda"]["default_currency"] = "USD"
    env_dir.write("tap", settings)
    assert adopt(str(source), env="tap").exit_code == 0
    return source


def _release(env_dir, tmp_path, *extra: str, typed: str | None = None):
    args = ["adopt", "tap", "--environments-dir", str(env_dir.path), "--out", str(tmp_path / "out")]
    return CliRunner().invoke(main, [*args, *extra], input=None if typed is None else f"{typed}\n")


def _payinfra_state_holding(root: Path, addresses: list[str]) -> None:
    """A local payinfra state that holds `addresses` (what an apply of the adoption leaves)."""
    resources = []
    for address in addresses:
        base, _, key = address.partition("[")
        *module, kind, name = base.split(".")
        index = json.loads(key[:-1]) if key else None
        resources.append(
            {"mode": "managed", "module": ".".join(module), "type": kind, "name": name,
             "instances": [{"index_key": index, "attributes": {}}] if key else [{"attributes": {}}]}
        )  # fmt: skip
    (root / "terraform.tfstate").write_text(
        json.dumps({"version": 4, "serial": 3, "lineage": "l", "resources": resources})
    )


def test_the_old_state_is_released_only_once_payinfra_holds_every_import(adopt, env_dir, tmp_path):
    source = _adopted(adopt, env_dir, tmp_path)
    original = source.read_bytes()
    root = tmp_path / "out" / "tap"
    record = json.loads((root / ".payinfra-adoption.json").read_text())
    targets = [item["to"] for item in record["imports"]]

    _payinfra_state_holding(root, targets[:-1])
    refused = _release(env_dir, tmp_path, "--release-old-state")
    assert refused.exit_code == 3
    assert f"payinfra's state does not hold {targets[-1]}" in refused.stderr
    assert source.read_bytes() == original, "the old state was changed before the apply"

    _payinfra_state_holding(root, targets)
    released = _release(env_dir, tmp_path, "--release-old-state")
    assert released.exit_code == 0, released.output
    assert "removed 47 adopted resources" in released.stdout
    old = json.loads(source.read_text())
    assert len(old["resources"]) == 15 and old["serial"] == STATE["serial"] + 1
    assert old["lineage"] == STATE["lineage"]
    kept = {f"{r['type']}.{r['name']}" for r in old["resources"]}
    assert "aws_security_group.sg-rds" in kept and "aws_db_instance.rds-postgresql" not in kept
    assert Path(f"{source}.payinfra-backup-{STATE['serial']}").read_bytes() == original
    assert not (root / ".payinfra-adoption.json").exists() and not (root / "adoption.tf").exists()
    again = _release(env_dir, tmp_path, "--release-old-state")
    assert again.exit_code == 3 and "no adoption in progress" in again.stderr


def test_into_a_root_per_region_each_import_goes_to_its_root_and_the_release_reads_them_all(
    adopt, env_dir, tmp_path
):
    source = tmp_path / "terraform.tap.tfstate"
    source.write_bytes(FIXTURE.read_bytes())
    adopt(str(source), env="tap")
    settings = yaml.safe_load((env_dir.path / "tap.yaml").read_text(encoding="utf-8"))
    settings["lambda"]["default_currency"] = "USD"
    settings["layout"] = "region-roots"
    env_dir.write("tap", settings)
    result = adopt(str(source), env="tap")
    assert result.exit_code == 0, result.output
    root = tmp_path / "out" / "tap"
    assert not (root / "adoption.tf").exists()
    env = load_environment(env_dir.path, "tap")
    by_root = {}
    for path in sorted(root.glob("*/**/adoption.tf")):
        folder = str(path.parent.relative_to(root))
        targets = [b["to"][2:-1] for b in parse_hcl(path.read_text(encoding="utf-8"))["import"]]
        assert {root_of(env, target) for target in targets} == {folder}, folder
        assert str(path) in result.stdout
        by_root[folder] = targets
    assert sorted(by_root) == ["links", "regions/eu-west-1", "regions/us-east-1"]
    assert sum(map(len, by_root.values())) == IMPORTS_WRITTEN

    # Released once the roots' states together hold every import, and not before.
    last = by_root["regions/us-east-1"]
    for folder in ("links", "regions/eu-west-1"):
        _payinfra_state_holding(root / folder, by_root[folder])
    _payinfra_state_holding(root / "regions/us-east-1", last[:-1])
    refused = _release(env_dir, tmp_path, "--release-old-state")
    assert refused.exit_code == 3 and f"payinfra's state does not hold {last[-1]}" in refused.stderr
    _payinfra_state_holding(root / "regions/us-east-1", last)
    released = _release(env_dir, tmp_path, "--release-old-state")
    assert released.exit_code == 0, released.output
    assert "removed 47 adopted resources" in released.stdout
    assert not list(root.glob("**/adoption.tf"))


def test_a_release_interrupted_before_it_ended_the_adoption_ends_it_when_run_again(
    adopt, env_dir, tmp_path
):
    """Killed after the old state was rewritten, before the record went: the rerun finds
    nothing left to remove, keeps the first backup as it was, and ends the adoption."""
    source = _adopted(adopt, env_dir, tmp_path)
    root = tmp_path / "out" / "tap"
    record = (root / ".payinfra-adoption.json").read_text()
    _payinfra_state_holding(root, [item["to"] for item in json.loads(record)["imports"]])
    assert _release(env_dir, tmp_path, "--release-old-state").exit_code == 0
    (root / ".payinfra-adoption.json").write_text(record)  # as if killed before removing it
    released, backup = source.read_bytes(), Path(f"{source}.payinfra-backup-{STATE['serial']}")
    original = backup.read_bytes()
    again = _release(env_dir, tmp_path, "--release-old-state")
    assert again.exit_code == 0, again.output
    assert "held none of the adopted resources any more" in again.stdout
    assert source.read_bytes() == released and backup.read_bytes() == original
    assert not (root / ".payinfra-adoption.json").exists()


def test_the_record_names_each_imports_address_in_the_old_state(adopt, env_dir, tmp_path):
    _adopted(adopt, env_dir, tmp_path)
    record = json.loads((tmp_path / "out" / "tap" / ".payinfra-adoption.json").read_text())
    references = {item["reference"] for item in record["imports"]}
    assert "aws_db_instance.rds-postgresql" in references and "" in references  # inline routes
    assert len(references - {""}) == 47


@pytest.mark.parametrize(
    "args",
    [[], ["--release-old-state", "--from-state", "x.tfstate"]],
    ids=["neither", "both"],
)
def test_adopt_needs_a_source_or_the_release(env_dir, tmp_path, args):
    result = _release(env_dir, tmp_path, *args)
    assert result.exit_code == 2 and "--from-state" in result.output


@pytest.mark.parametrize(
    "to",
    [
        'module.data_eu_west_1.aws_s3_bucket.this\nresource "aws_iam_user" "x" {}',
        "aws_s3_bucket.this",
        'module.data_eu_west_1.aws_s3_bucket.this["${file(\\"/etc/passwd\\")}"]',
    ],
)
def test_a_tampered_record_is_refused_before_any_hcl_is_written(adopt, env_dir, tmp_path, to):
    _adopted(adopt, env_dir, tmp_path)
    root = tmp_path / "out" / "tap"
    record = json.loads((root / ".payinfra-adoption.json").read_text())
    record["imports"][0]["to"] = to
    (root / ".payinfra-adoption.json").write_text(json.dumps(record))
    before = (root / "adoption.tf").read_bytes()
    result = CliRunner().invoke(
        main,
        ["render", "tap", "--environments-dir", str(env_dir.path), "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 1 and "is not an address payinfra imports" in result.stderr
    assert (root / "adoption.tf").read_bytes() == before


def test_an_import_id_from_the_state_is_encoded_never_pasted(adopt, env_dir, tmp_path):
    source = tmp_path / "evil.tfstate"
    state = _with(lambda s: None)
    vpc = next(r for r in state["resources"] if r["name"] == "vpc-us-east-1")
    vpc["instances"][0]["attributes"]["id"] = (
        'vpc-1"\n}\nresource "aws_iam_user" "x" {\n  name = "${x}'
    )
    source.write_text(json.dumps(state))
    adopt(str(source), env="tap")
    settings = yaml.safe_load((env_dir.path / "tap.yaml").read_text(encoding="utf-8"))
    settings["lambda"]["default_currency"] = "USD"
    env_dir.write("tap", settings)
    assert adopt(str(source), env="tap").exit_code == 0
    text = (tmp_path / "out" / "tap" / "adoption.tf").read_text()
    blocks = parse_hcl(text)
    assert list(blocks) == ["import"] and len(blocks["import"]) == IMPORTS_WRITTEN
    assert 'vpc-1\\"\\n}\\nresource' in text and "$${x}" in text


@pytest.mark.parametrize("name", ["tap", "../escape", "Tap"])
def test_without_a_yaml_a_bad_source_or_name_writes_no_yaml(adopt, env_dir, tmp_path, name):
    before = _tree(env_dir.path)
    bad = _state(tmp_path, _drop("aws_db_instance.rds-postgresql"))
    result = adopt(bad if name == "tap" else str(FIXTURE), env=name)
    assert result.exit_code in (2, 3) and result.stderr.count("\n") == 1, result.output
    assert _tree(env_dir.path) == before and not (tmp_path.parent / "escape.yaml").exists()


def test_a_protected_environment_releases_only_when_its_name_is_typed(
    adopt, env_dir, tmp_path, monkeypatch
):
    source = _adopted(adopt, env_dir, tmp_path)
    settings = yaml.safe_load((env_dir.path / "tap.yaml").read_text(encoding="utf-8"))
    year = 365
    settings.update(protected=True, logs={"retention_days": year})
    settings["network"]["flow_log_retention_days"] = year
    settings["storage"] = {"access_log_retention_days": year}
    settings["alarms"] = {"emails": ["oncall@example.com"]}
    env_dir.write("tap", settings)
    root = tmp_path / "out" / "tap"
    record = json.loads((root / ".payinfra-adoption.json").read_text())
    _payinfra_state_holding(root, [item["to"] for item in record["imports"]])
    original = source.read_bytes()
    # No terminal: no one typed the name.
    refused = _release(env_dir, tmp_path, "--release-old-state")
    assert refused.exit_code == 3 and "its name must be typed" in refused.stderr
    assert source.read_bytes() == original
    monkeypatch.setattr("payinfra.cli_options.stdin_is_terminal", lambda: True)
    wrong = _release(env_dir, tmp_path, "--release-old-state", typed="prod")
    assert wrong.exit_code == 3 and source.read_bytes() == original
    typed = _release(env_dir, tmp_path, "--release-old-state", typed="tap")
    assert typed.exit_code == 0, typed.output
    assert len(json.loads(source.read_text())["resources"]) == 15


def test_an_s3_state_is_adopted_and_released_in_its_bucket(adopt, env_dir, tmp_path):
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(
        Bucket="tap-state", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket="tap-state", Key="tap.tfstate", Body=FIXTURE.read_bytes())
    source = "s3://tap-state/tap.tfstate"
    assert adopt(source, env="tap").exit_code == 0
    settings = yaml.safe_load((env_dir.path / "tap.yaml").read_text(encoding="utf-8"))
    settings["lambda"]["default_currency"] = "USD"
    env_dir.write("tap", settings)
    assert adopt(source, env="tap").exit_code == 0
    root = tmp_path / "out" / "tap"
    record = json.loads((root / ".payinfra-adoption.json").read_text())
    _payinfra_state_holding(root, [item["to"] for item in record["imports"]])
    released = _release(env_dir, tmp_path, "--release-old-state")
    assert released.exit_code == 0, released.output
    state = json.loads(s3.get_object(Bucket="tap-state", Key="tap.tfstate")["Body"].read())
    assert len(state["resources"]) == 15
    backup = s3.get_object(Bucket="tap-state", Key=f"tap.tfstate.payinfra-backup-{STATE['serial']}")
    assert backup["Body"].read() == FIXTURE.read_bytes()
