"""plan, apply, destroy and output over the roots of `layout: region-roots`, with the fake
terraform: which roots run, in which order, and what `--region` and a dark region do. The same
on the emulator with the real terraform: tests/e2e/region_roots.py."""

from __future__ import annotations

import json
from pathlib import Path

from payinfra.config import load_environment
from payinfra.render.regions import called_labels
from tests.conftest import CREATE_ONLY


def region_roots(run, name: str = "dev") -> None:
    run.env_dir.update(name, layout="region-roots")


def roots_run(run, command: str) -> list[str]:
    """The root folder (relative to out/dev) of each terraform `command` call, in order."""
    base = run.out / "dev"
    return [
        str(Path(call["chdir"]).relative_to(base))
        for call in run.fake.calls()
        if next(a for a in call["argv"] if not a.startswith("-chdir=")) == command
    ]


def applied_state(run, folder: str) -> None:
    """What an apply leaves in a region root's local state: the identity output and one output
    per module call, which links/ reads."""
    labels = called_labels(load_environment(run.env_dir.path, "dev"))[folder]
    outputs = {label: {"value": {}} for label in labels}
    state = {
        "version": 4,
        "serial": 1,
        "lineage": "x",
        "outputs": {
            "payinfra_environment": {"value": {"name": "dev", "protected": False}},
            **outputs,
        },
        "resources": [],
    }
    (run.out / "dev" / folder / "terraform.tfstate").write_text(json.dumps(state))


def test_the_region_roots_plan_side_by_side_and_links_waits_for_their_first_apply(run):
    region_roots(run)
    planned = run("plan", "dev")
    assert planned.exit_code == 0, planned.output
    assert sorted(roots_run(run, "plan")) == ["regions/eu-west-1", "regions/us-east-1"]
    assert "== regions/eu-west-1/, regions/us-east-1/ (side by side)" in planned.output
    assert "links/ reads what the region roots hold and waits until each is applied" in (
        planned.output
    )
    assert "== regions/eu-west-1/" in planned.output


def test_each_plan_line_of_side_by_side_roots_names_its_root(run):
    region_roots(run)
    run.fake.stdout("show", CREATE_ONLY)
    warning = {"severity": "warning", "summary": "Deprecated attribute", "detail": "x"}
    run.fake.stdout("plan", json.dumps({"type": "diagnostic", "diagnostic": warning}) + "\n")
    planned = run("plan", "dev")
    assert planned.exit_code == 0, planned.output
    for folder in ("regions/eu-west-1", "regions/us-east-1"):
        assert f"{folder}/: warning: Deprecated attribute x" in planned.output
    run.env_dir.update("dev", layout="one-root")
    one_root = run("plan", "dev")
    assert one_root.exit_code == 0, one_root.output
    assert "warning: Deprecated attribute x" in one_root.output.splitlines()


def test_apply_applies_the_region_roots_then_plans_and_applies_links(run):
    region_roots(run)
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    applied = run("apply", "dev")
    assert applied.exit_code == 0, applied.output
    assert roots_run(run, "apply") == ["regions/eu-west-1", "regions/us-east-1", "links"]
    assert roots_run(run, "plan")[-1] == "links", "links planned after the region roots"
    assert "links/ was planned again after the region roots it reads and applied" in (
        applied.output
    )


def test_links_is_planned_with_the_region_roots_once_they_were_applied(run):
    region_roots(run)
    assert run("render", "dev").exit_code == 0
    for folder in ("regions/eu-west-1", "regions/us-east-1"):
        applied_state(run, folder)
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    assert roots_run(run, "plan")[-1] == "links"
    assert sorted(roots_run(run, "plan")[:2]) == ["regions/eu-west-1", "regions/us-east-1"]
    # Nothing the region roots hold changed: links' reviewed plan is applied as it was.
    applied = run("apply", "dev")
    assert applied.exit_code == 0, applied.output
    assert len(roots_run(run, "plan")) == 3, "links' reviewed plan, not a new one"
    assert roots_run(run, "apply") == ["regions/eu-west-1", "regions/us-east-1", "links"]


def test_a_links_plan_that_destroys_after_the_region_roots_changed_is_not_applied(run):
    region_roots(run)
    assert run("plan", "dev").exit_code == 0  # links waits: nothing applied yet
    run.fake.stdout(
        "show",
        json.dumps(
            {
                "format_version": "1.2",
                "resource_changes": [
                    {
                        "address": "module.peering_us_east_1.aws_vpc_peering_connection.this",
                        "module_address": "module.peering_us_east_1",
                        "type": "aws_vpc_peering_connection",
                        "name": "this",
                        "change": {"actions": ["delete"]},
                    }
                ],
            }
        ),
    )
    refused = run("apply", "dev")
    assert refused.exit_code == 3, refused.output
    assert "does more than create or update in place" in refused.output
    assert roots_run(run, "apply") == ["regions/eu-west-1", "regions/us-east-1"]


def test_region_plans_and_applies_that_region_alone(run):
    region_roots(run)
    run.fake.stdout("show", CREATE_ONLY)
    planned = run("plan", "dev", "--region", "us-east-1")
    assert planned.exit_code == 0, planned.output
    assert roots_run(run, "plan") == ["regions/us-east-1"]
    applied = run("apply", "dev", "--region", "us-east-1")
    assert applied.exit_code == 0, applied.output
    assert roots_run(run, "apply") == ["regions/us-east-1"]
    assert "applied dev (us-east-1's root)" in applied.output


def test_links_plans_and_applies_links_alone_once_the_region_roots_are_applied(run):
    region_roots(run)
    waiting = run("plan", "dev", "--links")
    assert waiting.exit_code == 0, waiting.output
    assert "links/ reads what the region roots hold and waits" in waiting.output
    assert roots_run(run, "plan") == []
    for folder in ("regions/eu-west-1", "regions/us-east-1"):
        applied_state(run, folder)
    run.fake.stdout("show", CREATE_ONLY)
    planned = run("plan", "dev", "--links")
    assert planned.exit_code == 0, planned.output
    assert roots_run(run, "plan") == ["links"]
    applied = run("apply", "dev", "--links")
    assert applied.exit_code == 0, applied.output
    assert roots_run(run, "apply") == ["links"], "the reviewed plan: what it read is unchanged"
    assert roots_run(run, "plan") == ["links"]
    assert "applied dev (links/)" in applied.output


def test_links_and_region_together_and_links_of_one_root_are_refused(run):
    one_root = run("plan", "dev", "--links")
    assert one_root.exit_code == 2 and "--links runs one root" in one_root.output
    region_roots(run)
    both = run("apply", "dev", "--links", "--region", "us-east-1")
    assert both.exit_code == 2 and "give one of them" in both.output
    assert run.fake.calls() == []


def test_region_is_refused_for_one_root_and_for_a_region_the_environment_lacks(run):
    one_root = run("plan", "dev", "--region", "us-east-1")
    assert one_root.exit_code == 2 and "layout: one-root" in one_root.output
    region_roots(run)
    unknown = run("plan", "dev", "--region", "mars-north-1")
    assert unknown.exit_code == 2 and "has no region mars-north-1" in unknown.output
    assert run.fake.calls() == []


def test_with_a_region_dark_the_other_region_plans_alone(run):
    region_roots(run)
    run.dark["eu-west-1"] = "ServiceUnavailable"
    whole = run("plan", "dev")
    assert whole.exit_code == 1
    assert "regions/eu-west-1/ starts a provider for it" in whole.output
    assert "--region REGION" in whole.output
    alone = run("plan", "dev", "--region", "us-east-1")
    assert alone.exit_code == 0, alone.output
    assert roots_run(run, "plan") == ["regions/us-east-1"]


def test_destroy_runs_links_first_and_the_region_roots_in_reverse(run):
    region_roots(run)
    assert run("render", "dev").exit_code == 0
    for folder in ("regions/eu-west-1", "regions/us-east-1"):
        applied_state(run, folder)
    destroyed = run("destroy", "dev", "--auto-approve")
    assert destroyed.exit_code == 0, destroyed.output
    assert roots_run(run, "destroy") == ["links", "regions/us-east-1", "regions/eu-west-1"]


def test_output_reads_links(run):
    region_roots(run)
    assert run("render", "dev").exit_code == 0
    state = {
        "version": 4,
        "serial": 1,
        "lineage": "x",
        "outputs": {"api_endpoint": {"value": "https://api.example"}},
        "resources": [{"mode": "managed", "type": "aws_route53_record", "name": "api",
                       "module": "module.dns", "instances": [{"attributes": {}}]}],
    }  # fmt: skip
    (run.out / "dev" / "links" / "terraform.tfstate").write_text(json.dumps(state))
    shown = run("output", "dev", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == {"api_endpoint": "https://api.example"}


def test_a_switched_environment_applies_the_home_and_the_primary_side_by_side(run):
    """Home eu-west-1, primary us-east-1: neither root names what the other creates."""
    run.env_dir.update(
        "dev", layout="region-roots", workload={"us-east-1": "primary", "eu-west-1": "former"}
    )
    run.fake.stdout("show", CREATE_ONLY)
    run.fake.sleep("apply", 1.0)
    assert run("plan", "dev").exit_code == 0
    applied = run("apply", "dev")
    assert applied.exit_code == 0, applied.output
    assert "== regions/eu-west-1/, regions/us-east-1/ (side by side)" in applied.output
    calls = [c for c in run.fake.calls() if "apply" in c["argv"]]
    assert len(calls) == 3 and calls[-1]["chdir"].endswith("links")
    # Each region root's apply takes a second; side by side, both started before either ended.
    finished = [
        (run.out / "dev" / f"regions/{r}" / "apply.finished").stat().st_mtime
        for r in ("eu-west-1", "us-east-1")
    ]
    assert abs(finished[0] - finished[1]) < 0.9


def test_links_waits_while_a_region_root_lacks_what_it_reads(run):
    """A state moved from one root holds the identity but not yet the calls' outputs."""
    region_roots(run)
    assert run("render", "dev").exit_code == 0
    applied_state(run, "regions/eu-west-1")
    moved = {
        "version": 4, "serial": 1, "lineage": "y", "resources": [],
        "outputs": {"payinfra_environment": {"value": {"name": "dev", "protected": False}}},
    }  # fmt: skip
    (run.out / "dev" / "regions/us-east-1" / "terraform.tfstate").write_text(json.dumps(moved))
    planned = run("plan", "dev")
    assert planned.exit_code == 0, planned.output
    assert "links" not in roots_run(run, "plan")
    assert "links/ reads what the region roots hold and waits" in planned.output


def test_drift_and_validate_run_over_every_root(run):
    region_roots(run)
    assert run("render", "dev").exit_code == 0
    for folder in ("regions/eu-west-1", "regions/us-east-1", "links"):
        state = {"version": 4, "serial": 1, "lineage": "x", "outputs": {},
                 "resources": [{"mode": "managed", "type": "aws_vpc", "name": "this",
                                "module": "module.network", "instances": [{}]}]}  # fmt: skip
        (run.out / "dev" / folder / "terraform.tfstate").write_text(json.dumps(state))
    run.fake.stdout("show", json.dumps({"format_version": "1.2", "resource_drift": []}))
    drifted = run("drift", "dev")
    assert drifted.exit_code == 0, drifted.output
    assert roots_run(run, "plan") == ["regions/eu-west-1", "regions/us-east-1", "links"]
    validated = run("validate", "dev")
    assert validated.exit_code == 0, validated.output
    assert roots_run(run, "validate") == ["regions/eu-west-1", "regions/us-east-1", "links"]


def test_an_account_check_met_by_a_dark_region_says_which_root_needs_it(run, monkeypatch):
    """The account is asked in the primary's region: dark, that is one line about the region,
    not about the credentials."""
    from payinfra.errors import AccountUnknown

    run.env_dir.update("dev", layout="region-roots", aws={"account_id": "123456789012"})

    def unanswered(target):
        raise AccountUnknown(f"STS in {target.region} did not answer")

    monkeypatch.setattr("payinfra.accounts.caller_account", unanswered)
    run.dark["eu-west-1"] = "ServiceUnavailable"
    refused = run("plan", "dev")
    assert refused.exit_code == 1
    assert "eu-west-1 does not answer" in refused.output
    assert "regions/eu-west-1/ starts a provider for it" in refused.output
    assert run.fake.calls() == []
    run.dark.clear()
    unknown = run("plan", "dev")
    assert "did not answer" in unknown.output and "starts a provider" not in unknown.output
