"""init/plan/apply/destroy/output/validate against a fake terraform: argv, -chdir, exit codes,
the plan-to-render binding, and the protections."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CREATE_ONLY, REPLACES_TABLE, protect


def test_init_runs_in_the_rendered_root_with_chdir_first(run):
    result = run("init", "dev", "--plugin-dir", "/mirror", "--upgrade")
    assert result.exit_code == 0, result.output
    (call,) = run.fake.calls()
    assert call["argv"][0] == f"-chdir={run.out / 'dev'}"
    assert call["argv"][1:] == ["init", "-input=false", "-plugin-dir=/mirror", "-upgrade"]
    assert (run.out / "dev" / "main.tf").is_file()


def test_args_after_double_dash_reach_terraform(run):
    run.fake.stdout("show", CREATE_ONLY)
    result = run("plan", "dev", "--", "-target=module.compute", "-parallelism=4")
    assert result.exit_code == 0, result.output
    plan_call = next(c for c in run.fake.commands() if c[0] == "plan")
    assert plan_call[-2:] == ["-target=module.compute", "-parallelism=4"]


def test_plan_initialises_saves_the_plan_and_its_record_and_summarises(run):
    run.fake.stdout("show", CREATE_ONLY)
    result = run("plan", "dev")
    assert result.exit_code == 0, result.output
    # The summary comes from `plan -json`'s stream (no second `show`, which would start every
    # provider again); the local state's identity straight from its file.
    assert [c[0] for c in run.fake.commands()] == ["init", "plan"]
    assert run.fake.commands()[1][:4] == ["plan", "-input=false", "-json", "-out=plan.tfplan"]
    root = run.out / "dev"
    record = json.loads((root / "plan.payinfra.json").read_text())
    assert record["summary"]["rows"] == [
        {"module": "module.compute", "type": "aws_lambda_function", "create": 1, "update": 0,
         "replace": 0, "destroy": 0},
        {"module": "module.data_eu_west_1", "type": "aws_s3_bucket", "create": 1, "update": 0,
         "replace": 0, "destroy": 0},
    ]  # fmt: skip
    assert "module.compute" in result.output and "aws_lambda_function" in result.output
    assert "total" in result.output


def test_plan_writes_a_markdown_summary_for_a_pull_request(run, tmp_path):
    run.fake.stdout("show", REPLACES_TABLE)
    summary = tmp_path / "summary.md"
    args = ("--summary-file", str(summary), "--summary-format", "markdown")
    assert run("plan", "dev", *args).exit_code == 0
    text = summary.read_text()
    assert text.startswith("### payinfra plan: `dev`")
    assert "| `module.data_eu_west_1` | `aws_dynamodb_table` |  |  | 1 |  |" in text
    assert (
        "- **DATA LOSS**: `module.data_eu_west_1.aws_dynamodb_table.this` would be destroyed or "
        "replaced" in text
    )


def test_plan_calls_out_stateful_replacements(run):
    run.fake.stdout("show", REPLACES_TABLE)
    result = run("plan", "dev")
    assert "DATA LOSS: module.data_eu_west_1.aws_dynamodb_table.this" in result.output


@pytest.mark.parametrize("code", [0, 2])
def test_detailed_exitcode_is_propagated(run, code):
    run.fake.stdout("show", CREATE_ONLY)
    run.fake.exit_code("plan", code)
    result = run("plan", "dev", "--detailed-exitcode")
    assert result.exit_code == code, result.output
    assert "-detailed-exitcode" in run.fake.commands()[1]


@pytest.mark.parametrize(
    ("yaml_text", "args"),
    [
        ("regions: [}\n", ()),  # invalid YAML
        ("regions: 7\n", ()),  # valid YAML, invalid environment
        (None, ("--", "-destroy")),  # an argument after `--` that is not allowed
        (None, ("--no-such-option",)),  # a click usage error
        (None, ("--summary-file", "/no/such/folder/plan.md")),
    ],
)
def test_with_detailed_exitcode_only_changes_exit_2(run, yaml_text, args):
    """CI reads 2 as "the plan has changes": an error must never look like one."""
    if yaml_text:
        run.env_dir.write("dev", yaml_text)
    result = run("plan", "dev", "--detailed-exitcode", *args)
    assert result.exit_code == 1, result.output
    assert [c for c in run.fake.commands() if c[:1] == ["plan"]] == []


def test_without_detailed_exitcode_invalid_yaml_still_exits_2(run):
    run.env_dir.write("dev", "regions: [}\n")
    assert run("plan", "dev").exit_code == 2


def test_terraform_failure_exit_code_is_propagated(run):
    run.fake.exit_code("init", 7)
    result = run("init", "dev")
    assert result.exit_code == 7
    assert "terraform init exited with 7" in result.output


def test_apply_uses_the_saved_plan_when_the_render_matches(run):
    run.fake.stdout("show", CREATE_ONLY)
    planned = run("plan", "dev")
    assert planned.exit_code == 0, planned.output
    result = run("apply", "dev")
    assert result.exit_code == 0, result.output
    # The plan file is copied once, summarised from that copy and that copy applied: the bytes
    # checked are the bytes applied.
    assert run.fake.commands()[-2:] == [
        ["show", "-json", ".payinfra-applying.tfplan"],
        ["apply", "-input=false", ".payinfra-applying.tfplan"],
    ]
    assert not (run.out / "dev" / ".payinfra-applying.tfplan").exists()
    assert not (run.out / "dev" / "plan.tfplan").exists(), "a spent plan is removed"


def test_apply_refuses_when_the_render_changed_since_the_plan(run):
    run.fake.stdout("show", CREATE_ONLY)
    planned = run("plan", "dev")
    assert planned.exit_code == 0, planned.output
    run.env_dir.write("dev", {"logs": {"retention_days": 30}})
    result = run("apply", "dev")
    assert result.exit_code == 3
    assert "changed since the plan" in result.output and "payinfra plan dev" in result.output
    assert "apply" not in [c[0] for c in run.fake.commands()]


def test_apply_without_a_plan_is_refused(run):
    result = run("apply", "dev")
    assert result.exit_code == 3
    assert "no saved plan" in result.output


def test_protected_apply_needs_the_name_typed(run, terminal):
    protect(run.env_dir)
    run.fake.stdout("show", CREATE_ONLY)
    planned = run("plan", "dev")
    assert planned.exit_code == 0, planned.output
    refused = run("apply", "dev", input="prod\n")
    assert refused.exit_code == 3 and "not confirmed" in refused.output
    assert "apply" not in [c[0] for c in run.fake.commands()]
    accepted = run("apply", "dev", input="dev\n")
    assert accepted.exit_code == 0, accepted.output
    assert run.fake.commands()[-1][0] == "apply"


def test_protected_apply_with_auto_approve_for_ci(run):
    protect(run.env_dir)
    run.fake.stdout("show", CREATE_ONLY)
    run("plan", "dev")
    assert run("apply", "dev", "--auto-approve").exit_code == 0


def test_protected_apply_refuses_stateful_destroys_without_allow_destroy(run):
    protect(run.env_dir)
    run.fake.stdout("show", REPLACES_TABLE)
    run("plan", "dev")
    refused = run("apply", "dev", "--auto-approve")
    assert refused.exit_code == 3
    assert "aws_dynamodb_table" in refused.output and "--allow-destroy" in refused.output
    assert run("apply", "dev", "--auto-approve", "--allow-destroy").exit_code == 0


def test_unprotected_destroy_needs_the_name_or_auto_approve(run, terminal):
    assert run("destroy", "dev", input="nope\n").exit_code == 3
    result = run("destroy", "dev", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert run.fake.commands()[-1] == ["destroy", "-input=false", "-auto-approve"]


def test_protected_destroy_is_refused_without_force(run):
    protect(run.env_dir)
    result = run("destroy", "dev", "--auto-approve")
    assert result.exit_code == 3
    assert "--force" in result.output
    assert run.fake.calls() == []


def test_protected_destroy_with_force_still_needs_the_name_typed(run, terminal):
    protect(run.env_dir)
    assert run("destroy", "dev", "--force", "--auto-approve", input="\n").exit_code == 3
    assert "destroy" not in [c[0] for c in run.fake.commands()]
    assert run("destroy", "dev", "--force", input="dev\n").exit_code == 0
    assert run.fake.commands()[-1][0] == "destroy"


def test_output_prints_a_table_or_json(run):
    """A local state's outputs are read from its file, as terraform would."""
    run("render", "dev")
    state = {
        "version": 4,
        "resources": [{"mode": "managed", "type": "aws_vpc"}],
        "outputs": {
            "api_endpoint": {"value": "https://api.example", "type": "string"},
            "vpc_ids": {"value": {"eu-west-1": "vpc-1"}, "type": ["map", "string"]},
        },
    }
    (run.out / "dev" / "terraform.tfstate").write_text(json.dumps(state))
    table = run("output", "dev")
    assert table.exit_code == 0, table.output
    assert "api_endpoint  https://api.example" in table.output
    as_json = run("output", "dev", "--json")
    assert json.loads(as_json.output) == {
        "api_endpoint": "https://api.example",
        "vpc_ids": {"eu-west-1": "vpc-1"},
    }


def test_missing_terraform_is_a_clear_error(run, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    result = run("plan", "dev")
    assert result.exit_code == 127
    assert "terraform not found" in result.output and "install Terraform" in result.output


def test_explicit_terraform_binary_is_used(run, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    result = run("init", "dev", "--terraform", str(run.fake.binary))
    assert result.exit_code == 0, result.output


def test_emulator_environment_points_terraform_at_the_endpoint(run):
    run.env_dir.write("local", {"emulator": {"endpoint": "http://127.0.0.1:5599"}})
    run("init", "local")
    (call,) = run.fake.calls()
    assert call["endpoint"] == "http://127.0.0.1:5599"


def test_without_an_endpoint_the_running_emulator_is_needed(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .payinfra/emulator.json here
    result = run("init", "local")
    assert result.exit_code == 1
    assert "payinfra emulator start" in result.output
    assert run.fake.calls() == []


def test_no_render_requires_an_existing_render(run):
    result = run("init", "dev", "--no-render")
    assert result.exit_code == 1
    assert "has not been rendered" in result.output


@pytest.mark.parametrize("command", ["plan", "apply", "destroy", "drift"])
def test_a_dark_region_stops_the_command_in_one_line_before_terraform(run, command):
    """terraform would wait on the dark region's provider for many minutes (emulator test:
    tests/cli/test_failover.py); payinfra says so at once and points to the failover."""
    run.dark["us-east-1"] = "An error occurred (ServiceUnavailable): us-east-1 is dark"
    if command == "drift":  # drift first says when nothing was ever applied
        vpc = {"mode": "managed", "type": "aws_vpc", "name": "this"}
        applied = {"version": 4, "serial": 1, "lineage": "l", "resources": [vpc]}
        (run.out / "dev").mkdir(parents=True)
        (run.out / "dev" / "terraform.tfstate").write_text(json.dumps(applied))
    extra = ["--auto-approve"] if command == "destroy" else []
    result = run(command, "dev", *extra)
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: us-east-1 does not answer (us-east-1: An error occurred")
    assert "payinfra failover dev --to REGION (docs/failover.md)" in line
    assert run.fake.calls() == [], "no terraform was started"


def test_validate_reports_findings_as_json(run):
    run.fake.stdout("fmt", "main.tf\n")
    run.fake.exit_code("fmt", 3)
    run.fake.stdout("validate", json.dumps({"valid": True, "diagnostics": []}))
    result = run("validate", "dev", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["findings"] == [
        {
            "tool": "terraform fmt",
            "location": "main.tf",
            "message": "not formatted (run terraform fmt)",
        }
    ]
    assert report["checks"] == ["terraform fmt", "terraform validate"]


def test_validate_skips_what_the_yaml_relaxed_and_says_so(run, tmp_path, monkeypatch):
    argv = tmp_path / "checkov-argv"
    checkov = tmp_path / "recording-scanner"  # a stand-in: records its argv, finds nothing
    checkov.write_text(
        f'#!/bin/sh\necho "$@" > {argv}\necho \'{{"results": {{"failed_checks": []}}}}\'\n'
    )
    checkov.chmod(0o755)
    monkeypatch.setenv("PAYINFRA_CHECKOV", str(checkov))
    run.fake.stdout("validate", json.dumps({"valid": True, "diagnostics": []}))
    result = run("validate", "dev")
    assert result.exit_code == 0, result.output
    assert "--skip-check CKV_AWS_157,CKV_AWS_293,CKV_AWS_338" in argv.read_text()
    assert "checkov: CKV_AWS_157 skipped: database.multi_az: false" in result.output
    assert "checkov: CKV_AWS_293 skipped: protected: false" in result.output
    assert result.output.rstrip().endswith(
        "dev: 0 finding(s) from terraform fmt, terraform validate, checkov"
    )


def test_a_summary_file_in_a_missing_folder_is_refused_before_planning(run, tmp_path):
    result = run("plan", "dev", "--summary-file", str(tmp_path / "missing" / "plan.md"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert run.fake.calls() == []


def test_a_summary_file_never_overwrites_state_plans_or_rendered_files(run, tmp_path):
    """dev's summary aimed at prod's state, plan record, a rendered file, or a symlink to one."""
    assert run("render", "prod").exit_code == 0
    prod = run.out / "prod"
    state = prod / "terraform.tfstate"
    state.write_text('{"version": 4}')
    (prod / "plan.payinfra.json").write_text("{}")
    link = tmp_path / "innocent.md"
    link.symlink_to(state)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = {path: path.read_bytes() for path in prod.rglob("*") if path.is_file()}
    targets = (state, prod / "plan.payinfra.json", prod / "main.tf", prod / "notes.md",
               prod / ".terraform.lock.hcl", link, elsewhere / "terraform.tfstate")  # fmt: skip
    for target in targets:
        result = run("plan", "dev", "--summary-file", str(target))
        assert result.exit_code == 1, (target, result.output)
        assert "refusing to write a report to" in result.output
    assert run.fake.calls() == []
    assert {path: path.read_bytes() for path in prod.rglob("*") if path.is_file()} == before


def test_a_summary_named_like_a_plan_outside_the_out_folders_is_written(run, tmp_path):
    """`--summary-file plan.md` (docs/deploying.md's example) is a report, not a plan record."""
    run.fake.stdout("show", CREATE_ONLY)
    summary = tmp_path / "plan.md"
    assert run("plan", "dev", "--summary-file", str(summary)).exit_code == 0
    assert summary.read_text().startswith("workload: ")


def test_plan_writes_a_text_summary_with_its_data_loss_lines(run, tmp_path):
    run.fake.stdout("show", REPLACES_TABLE)
    summary = tmp_path / "summary.txt"
    assert run("plan", "dev", "--summary-file", str(summary)).exit_code == 0
    lines = summary.read_text().splitlines()
    assert lines[0] == "workload: one region: eu-west-1 runs the workload (no move in progress)"
    assert lines[1].split()[:2] == ["module", "resource"]
    assert (
        lines[-1]
        == "DATA LOSS: module.data_eu_west_1.aws_dynamodb_table.this would be destroyed or replaced"
    )


def test_plan_names_the_move_step_and_what_terraform_forgets(run, tmp_path):
    forget = json.dumps(
        {
            "resource_changes": [
                {
                    "address": "module.database_us_east_1.aws_db_instance.this",
                    "module_address": "module.database_us_east_1",
                    "mode": "managed",
                    "type": "aws_db_instance",
                    "name": "this",
                    "change": {"actions": ["forget"]},
                }
            ]
        }
    )
    run.fake.stdout("show", forget)
    run.env_dir.write("dev", {"workload": {"eu-west-1": "primary", "us-east-1": "former"}})
    summary = tmp_path / "summary.md"
    result = run("plan", "dev", "--summary-file", str(summary), "--summary-format", "markdown")
    assert result.exit_code == 0, result.output
    assert "workload: step 2 (switched" in result.output
    assert (
        "KEPT IN AWS: module.database_us_east_1.aws_db_instance.this is forgotten by Terraform"
        in result.output
    )
    assert "DATA LOSS" not in result.output
    text = summary.read_text()
    assert "former primary still serving: us-east-1" in text
    assert "- **KEPT IN AWS**: `module.database_us_east_1.aws_db_instance.this` is forgotten" in (
        text
    )


def test_drift_of_an_environment_never_applied_is_one_line(run):
    result = run("drift", "dev")
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "error: nothing has been applied to dev yet (its state holds no resource), so there is "
        "nothing to compare with AWS; run `payinfra plan dev` and `payinfra apply dev` first"
    ]
    assert run.fake.commands() == [], "not even terraform init"


@pytest.mark.parametrize(
    "backend", [{}, {"type": "s3", "bucket": "acme-state", "region": "us-east-1"}]
)
def test_output_of_an_environment_never_applied_is_one_line(run, backend):
    if backend:
        run.env_dir.write("dev", {"backend": backend})
    result = run("output", "dev")
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ")
    assert ("payinfra init dev" if backend else "nothing has been applied to dev yet") in line


def test_output_of_a_remote_state_is_read_from_one_state_pull(run):
    run.env_dir.write(
        "dev", {"backend": {"type": "s3", "bucket": "acme-state", "region": "us-east-1"}}
    )
    run("render", "dev")
    (run.out / "dev" / ".terraform").mkdir()
    state = {
        "version": 4,
        "resources": [{"mode": "managed", "type": "aws_vpc"}],
        "outputs": {"api_endpoint": {"value": "https://api.example", "type": "string"}},
    }
    run.fake.stdout("state", json.dumps(state))
    shown = run("output", "dev", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == {"api_endpoint": "https://api.example"}
    assert [c[:2] for c in run.fake.commands()] == [["state", "pull"]], "no `terraform output`"


def test_terraforms_diagnostics_become_one_line_with_the_way_to_see_them_all():
    from payinfra.errors import TerraformFailed

    stderr = (
        "\x1b[31m╷\x1b[0m\n\x1b[31m│\x1b[0m \x1b[1m\x1b[31mError: \x1b[0m\x1b[0m\x1b[1mBackend "
        'initialization required, please run "terraform init"\x1b[0m\n│ \n│ Reason: Initial '
        'configuration of the requested backend "local"\n╵\n╷\n│ Error: Another one\n╵\n'
    )
    failed = TerraformFailed("output", 1, stderr, "terraform -chdir=out/dev output -json")
    assert str(failed).splitlines() == [
        'terraform output exited with 1: Backend initialization required, please run "terraform '
        "init\" (and 1 more); `terraform -chdir=out/dev output -json` shows terraform's full output"
    ]
    assert failed.exit_code == 1
    advice = TerraformFailed(
        "init", 1, "the provider mirror was not found\nset PAYINFRA_PLUGIN_DIR"
    )
    assert str(advice).splitlines()[1:] == [
        "the provider mirror was not found",
        "set PAYINFRA_PLUGIN_DIR",
    ]


def test_drift_of_an_applied_environment_runs_a_refresh_only_plan(run):
    run("render", "dev")
    (run.out / "dev" / "terraform.tfstate").write_text(
        json.dumps({"version": 4, "resources": [{"mode": "managed", "type": "aws_vpc"}]})
    )
    run.fake.stdout("show", json.dumps({"resource_drift": []}))
    result = run("drift", "dev")
    assert result.exit_code == 0, result.output
    planned = next(c for c in run.fake.commands() if c[:1] == ["plan"])
    assert planned[:2] == ["plan", "-refresh-only"]


@pytest.mark.parametrize("command", [("init",), ("plan",), ("apply", "--auto-approve"),
                                     ("destroy", "--auto-approve")])  # fmt: skip
def test_local_state_on_a_ci_runner_is_refused(run, monkeypatch, command):
    """State written on a runner is thrown away with it: the next run would recreate it all."""
    monkeypatch.setenv("CI", "true")
    result = run(*command[:1], "dev", *command[1:])
    assert result.exit_code == 3, result.output
    assert result.output.strip().splitlines() == [
        f"error: {run.env_dir.path / 'dev.yaml'}: backend.type is local and this runs in CI "
        "(CI=true), where the state would be thrown away with the runner; use backend.type: s3 "
        "(docs/deploying.md)"
    ]
    assert run.fake.commands() == []


def test_an_emulator_environment_may_keep_local_state_on_a_ci_runner(run, monkeypatch):
    monkeypatch.setenv("CI", "true")
    run.env_dir.write("dev", {"emulator": {"endpoint": "http://127.0.0.1:59999"}})
    run.fake.stdout("show", CREATE_ONLY)
    planned = run("plan", "dev")
    assert planned.exit_code == 0, planned.output
