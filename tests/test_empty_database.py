"""A region made primary without first standing by would start with an empty database while
the data stays in the old one: the plan calls it DATA LOSS, like a destroy."""

from __future__ import annotations

import json

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
