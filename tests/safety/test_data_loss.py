"""A region made primary without first standing by would start with an empty database while
the data stays in the old one: the plan calls it DATA LOSS, like a destroy."""

from __future__ import annotations

import json

import pytest
import yaml

from payinfra.plansummary import summarize
from tests.conftest import protect

NEW = "module.database_us_east_1.aws_db_instance.this"
OLD = "module.database_eu_west_1.aws_db_instance.this"


def database(address: str, actions: list[str], after: dict | None = None, unknown=None) -> dict:
    return {
        "address": address,
        "module_address": address.rsplit(".", 2)[0],
        "mode": "managed",
        "type": "aws_db_instance",
        "name": "this",
        "change": {"actions": actions, "after": after or {}, "after_unknown": unknown or {}},
    }


def applied(run, *addresses: str) -> None:
    """dev's local state holds these databases, as after an apply (the identity output left
    out: a state written before payinfra recorded one, so the state itself is looked into)."""
    root = run.out / "dev"
    root.mkdir(parents=True, exist_ok=True)
    resources = [
        {"module": address.rsplit(".", 2)[0], "mode": "managed", "type": "aws_db_instance",
         "name": "this", "instances": [{"attributes": {"id": address}}]}
        for address in addresses
    ]  # fmt: skip
    (root / "terraform.tfstate").write_text(json.dumps({"version": 4, "resources": resources}))


def plan(*changes: dict) -> dict:
    return {"resource_changes": list(changes)}


def test_a_new_standalone_database_beside_an_existing_one_starts_empty():
    shown = plan(
        database(OLD, ["forget"]), database(NEW, ["create"], {"replicate_source_db": None})
    )
    assert summarize(shown).empty_databases == [NEW]
    shown = plan(database(OLD, ["no-op"]), database(NEW, ["create"]))
    assert summarize(shown).empty_databases == [NEW]


def test_a_read_replica_or_a_new_environment_is_not_empty():
    replica = database(NEW, ["create"], {"replicate_source_db": "arn:aws:rds:eu-west-1:1:db:x"})
    assert summarize(plan(database(OLD, ["no-op"]), replica)).empty_databases == []
    # Standing by from the first apply: the source is new, so the replica's source is unknown.
    first = plan(
        database(OLD, ["create"]),
        database(NEW, ["create"], {}, {"replicate_source_db": True}),
    )
    assert summarize(first).empty_databases == []
    assert summarize(plan(database(OLD, ["create"]))).empty_databases == []


def test_plan_says_data_loss_and_a_protected_apply_needs_allow_destroy(run):
    protect(run.env_dir)
    applied(run, OLD)
    shown = plan(
        database(OLD, ["forget"]), database(NEW, ["create"], {"replicate_source_db": None})
    )
    run.fake.stdout("show", json.dumps(shown))
    planned = run("plan", "dev")
    assert planned.exit_code == 0, planned.output
    assert f"DATA LOSS: {NEW} would start empty while another database holds the data" in (
        planned.output
    )
    refused = run("apply", "dev", "--auto-approve")
    assert refused.exit_code == 3
    assert "starts a database empty" in refused.output and NEW in refused.output
    assert run("apply", "dev", "--auto-approve", "--allow-destroy").exit_code == 0


def test_a_standalone_database_is_never_made_a_replica_in_place(run):
    """former -> standby: the provider plans an update that RDS cannot perform."""
    applied(run, OLD, NEW)
    standalone = database(
        NEW, ["update"], {"replicate_source_db": "arn:aws:rds:eu-west-1:1:db:payment-dev-db"}
    )
    standalone["change"]["before"] = {"replicate_source_db": ""}
    shown = plan(database(OLD, ["no-op"]), standalone)
    assert summarize(shown).demoted_databases == [NEW]
    run.fake.stdout("show", json.dumps(shown))
    planned = run("plan", "dev")
    assert f"CANNOT BE APPLIED: {NEW} is a standalone database" in planned.output
    for flags in ((), ("--allow-destroy",)):
        refused = run("apply", "dev", *flags)
        assert refused.exit_code == 3, refused.output
        assert "cannot become a read replica in place" in refused.output
    assert not [command for command in run.fake.commands() if command[:1] == ["apply"]]


def test_promoting_a_replica_is_not_a_demotion():
    promoted = database(NEW, ["update"], {"replicate_source_db": None})
    promoted["change"]["before"] = {"replicate_source_db": "arn:aws:rds:eu-west-1:1:db:x"}
    assert summarize(plan(database(OLD, ["no-op"]), promoted)).demoted_databases == []


# ---- -target narrows a plan, never what the rules see ----

LAMBDA = "module.compute_us_east_1.aws_lambda_function.this"


def in_state(*addresses: str) -> dict:
    """A plan's prior state holding a database at each address (the whole state, as terraform
    shows it also for a targeted plan)."""
    modules = [
        {"address": address.rsplit(".", 2)[0], "resources": [
            {"address": address, "mode": "managed", "type": "aws_db_instance", "name": "this"}]}
        for address in addresses
    ]  # fmt: skip
    return {"values": {"root_module": {"child_modules": modules}}}


def targeted(*changes: dict, state=(OLD,)) -> dict:
    return {"complete": False, "prior_state": in_state(*state), "resource_changes": list(changes)}


def lambda_update() -> dict:
    change = database(LAMBDA, ["update"])
    change["type"] = "aws_lambda_function"
    return change


def test_a_targeted_database_beside_one_in_the_state_starts_empty():
    """-target=module.database_us_east_1 leaves the old database out of the changes; the state
    the plan started from still holds it."""
    shown = targeted(database(NEW, ["create"], {"replicate_source_db": None}))
    assert summarize(shown).empty_databases == [NEW]
    assert summarize(targeted(database(NEW, ["create"]), state=())).empty_databases == []


def test_a_targeted_plan_is_refused_on_what_the_whole_environment_would_lose(run):
    """The targeted plan creates the empty database: DATA LOSS, and apply needs --allow-destroy."""
    protect(run.env_dir)
    settings = yaml.safe_load((run.env_dir.path / "dev.yaml").read_text())
    settings["workload"] = {"us-east-1": "primary", "eu-west-1": "former"}
    run.env_dir.write("dev", settings)
    run.fake.stdout("show", json.dumps(targeted(database(NEW, ["create"]))))
    run.fake.shows("whole.tfplan", json.dumps(plan(database(NEW, ["create"]), lambda_update())))
    planned = run("plan", "dev", "--", f"-target={NEW.rsplit('.', 2)[0]}", "-parallelism=4")
    assert planned.exit_code == 0, planned.output
    assert f"DATA LOSS: {NEW} would start empty" in planned.output
    plans = [command for command in run.fake.commands() if command[:1] == ["plan"]]
    assert [a for a in plans[0] if a.startswith("-target=")] == [
        "-target=module.database_us_east_1"
    ]
    assert plans[1][:3] == ["plan", "-input=false", "-out=whole.tfplan"]
    assert "-parallelism=4" in plans[1] and not any(a.startswith("-target") for a in plans[1])
    refused = run("apply", "dev", "--auto-approve")
    assert refused.exit_code == 3, refused.output
    assert "judged on the whole environment" in refused.output and NEW in refused.output
    assert not [command for command in run.fake.commands() if command[:1] == ["apply"]]
    assert run("apply", "dev", "--auto-approve", "--allow-destroy").exit_code == 0


def test_a_harmless_target_carries_the_whole_environments_data_loss(run):
    """A target that only touches the processor still moves the environment towards a plan
    that starts a database empty: the rules see the whole environment."""
    protect(run.env_dir)
    run.fake.stdout("show", json.dumps(targeted(lambda_update())))
    whole = plan(database(OLD, ["no-op"]), database(NEW, ["create"]), lambda_update())
    run.fake.shows("whole.tfplan", json.dumps(whole))
    planned = run("plan", "dev", "--", "-target=module.compute_us_east_1")
    assert "note: -target narrowed this plan" in planned.output
    assert f"DATA LOSS: {NEW} would start empty" in planned.output
    assert run("apply", "dev", "--auto-approve").exit_code == 3


def test_a_targeted_plan_file_without_a_whole_environment_verdict_is_refused(run):
    run.fake.stdout("show", json.dumps(targeted(lambda_update())))
    run.fake.shows("whole.tfplan", json.dumps(plan(lambda_update())))
    assert run("plan", "dev", "--", "-target=module.compute_us_east_1").exit_code == 0
    record_path = run.out / "dev" / "plan.payinfra.json"
    record = json.loads(record_path.read_text())
    del record["whole_environment"]
    record_path.write_text(json.dumps(record))
    refused = run("apply", "dev", "--auto-approve")
    assert refused.exit_code == 3
    assert "narrowed by -target but carries no judgement of the whole environment" in (
        refused.output
    )


def test_an_untargeted_plan_file_swapped_for_a_targeted_one_is_refused(run):
    """A plan made whole, its file then replaced by a targeted one (and the digest forged)."""
    run.fake.stdout("show", json.dumps(plan(lambda_update())))
    assert run("plan", "dev").exit_code == 0
    run.fake.stdout("show", json.dumps(targeted(database(NEW, ["create"]))))
    refused = run("apply", "dev", "--auto-approve")
    assert refused.exit_code == 3
    assert "carries no judgement of the whole environment" in refused.output


def test_plan_text_markdown_and_the_refusal_say_the_same_words(run, tmp_path):
    """One verdict, one text: the line `plan` prints is the line `apply` refuses with, and the
    Markdown for the pull request carries the same meaning."""
    protect(run.env_dir)
    applied(run, OLD)
    shown = plan(
        database(OLD, ["forget"]), database(NEW, ["create"], {"replicate_source_db": None})
    )
    run.fake.stdout("show", json.dumps(shown))
    markdown = tmp_path / "plan.md"
    args = ("--summary-file", str(markdown), "--summary-format", "markdown")
    planned = run("plan", "dev", *args)
    assert planned.exit_code == 0, planned.output
    (line,) = [text for text in planned.output.splitlines() if text.startswith("DATA LOSS: ")]
    refused = run("apply", "dev", "--auto-approve")
    assert line in refused.output.replace("\nerror: ", " ")
    meaning = line.removeprefix(f"DATA LOSS: {NEW} ")
    assert f"- **DATA LOSS**: `{NEW}` {meaning}" in markdown.read_text()


def test_a_first_plan_over_an_empty_state_needs_no_terraform_show(run):
    """Every database of a new environment is new and has no past: the plan's own stream is
    the whole verdict, and apply (which always reads the plan file) derives the same one."""
    run.fake.stdout("show", json.dumps(plan(database(OLD, ["create"]), database(NEW, ["create"]))))
    assert run("plan", "dev").exit_code == 0
    assert [c for c in run.fake.commands() if c[:1] == ["show"]] == []
    assert run("apply", "dev", "--auto-approve").exit_code == 0
    assert [c[:2] for c in run.fake.commands() if c[:1] == ["show"]] == [["show", "-json"]]


@pytest.mark.parametrize(
    ("pulled", "shows"),
    [("", 0), (json.dumps({"version": 4, "resources": [{"type": "aws_db_instance"}]}), 1)],
    ids=["no state written yet", "a state without the identity output"],
)
def test_a_remote_state_is_looked_into_with_state_pull(run, pulled, shows):
    """An S3 backend before its first apply has no state object at all (`state list` fails
    there); `state pull` prints nothing, and the first plan needs no `terraform show`."""
    settings = yaml.safe_load((run.env_dir.path / "dev.yaml").read_text())
    settings["backend"] = {"type": "s3", "bucket": "acme-state", "region": "us-east-1"}
    run.env_dir.write("dev", settings)
    run.fake.stdout("state", pulled)
    run.fake.stdout("output", "{}")
    run.fake.stdout("show", json.dumps(plan(database(OLD, ["create"]), database(NEW, ["create"]))))
    assert run("plan", "dev").exit_code == 0
    assert ["state", "pull"] in run.fake.commands()
    assert len([c for c in run.fake.commands() if c[:1] == ["show"]]) == shows


# ---- Database changes that RDS keeps for the maintenance window ----


def resized(apply_immediately: bool) -> dict:
    change = database(OLD, ["update"], {"instance_class": "db.r6g.large", "multi_az": False,
                                        "apply_immediately": apply_immediately})  # fmt: skip
    change["change"]["before"] = {"instance_class": "db.t4g.small", "multi_az": False}
    return change


def test_a_database_change_rds_defers_is_named_in_the_plan(run, tmp_path):
    applied(run, OLD)
    run.fake.stdout("show", json.dumps(plan(resized(apply_immediately=False))))
    markdown = tmp_path / "plan.md"
    planned = run("plan", "dev", "--summary-file", str(markdown), "--summary-format", "markdown")
    assert planned.exit_code == 0, planned.output
    assert (
        f"DEFERRED: {OLD} (instance_class) RDS applies it in the instance's maintenance window, "
        "not during this apply"
    ) in planned.output
    assert f"- **DEFERRED**: `{OLD} (instance_class)`" in markdown.read_text()
    assert run("apply", "dev", "--auto-approve").exit_code == 0, "a notice, not a refusal"


def test_a_database_change_applied_immediately_is_not_deferred():
    assert summarize(plan(resized(apply_immediately=True))).deferred_database_changes == []
    assert summarize(plan(resized(apply_immediately=False))).deferred_database_changes == [
        f"{OLD} (instance_class)"
    ]


# ---- A plan never hands the writer back over a failover ----

WRITER = "module.data_eu_west_1.aws_dynamodb_table_item.writer[0]"


def writer_record(before: dict, after: dict) -> dict:
    def item(values: dict) -> dict:
        record = {"transactionId": {"S": "#writer"}}
        record.update(
            {key: {"N" if key == "epoch" else "S": value} for key, value in values.items()}
        )
        return {"item": json.dumps(record)}

    return {
        "address": WRITER,
        "module_address": "module.data_eu_west_1",
        "mode": "managed",
        "type": "aws_dynamodb_table_item",
        "name": "writer",
        "change": {"actions": ["update"], "before": item(before), "after": item(after)},
    }


def test_a_plan_that_points_a_failovers_writer_record_elsewhere_is_never_applied(run):
    """After `payinfra failover --to us-east-1`, a YAML still naming eu-west-1 primary."""
    failed_over = {"writerRegion": "us-east-1", "epoch": "1"}
    shown = plan(writer_record(failed_over, {"writerRegion": "eu-west-1"}))
    assert summarize(shown).undone_failovers == [f"{WRITER} (us-east-1 -> eu-west-1)"]
    applied(run, OLD)
    run.fake.stdout("show", json.dumps(shown))
    planned = run("plan", "dev")
    assert f"CANNOT BE APPLIED: {WRITER} (us-east-1 -> eu-west-1) was moved by" in planned.output
    for flags in ((), ("--allow-destroy",)):
        refused = run("apply", "dev", *flags)
        assert refused.exit_code == 3 and "payinfra failover" in refused.output
    assert not [command for command in run.fake.commands() if command[:1] == ["apply"]]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # The YAML now says what the failover did: Terraform only drops the epoch.
        ({"writerRegion": "us-east-1", "epoch": "2"}, {"writerRegion": "us-east-1"}),
        # A planned switch: Terraform's own record moves.
        ({"writerRegion": "eu-west-1"}, {"writerRegion": "us-east-1"}),
    ],
)
def test_a_record_the_yaml_agrees_with_or_a_planned_switch_is_applied(before, after):
    assert summarize(plan(writer_record(before, after))).undone_failovers == []
