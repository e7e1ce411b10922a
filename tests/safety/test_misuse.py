"""payinfra tried as a careful adversary would: the real CLI against a fake terraform that records
its argv, so each test shows what terraform would (not) have been asked to do."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from payinfra.cli import main
from tests.conftest import CREATE_ONLY, REPLACES_TABLE, REPO, protect


def terraform_commands(run) -> list[str]:
    return [command[0] for command in run.fake.commands()]


def with_prior_state(plan_text: str, name: str, protected: bool) -> str:
    """A plan whose prior state recorded environment `name` and its protection (as terraform
    shows it: the output's value before the plan)."""
    plan = json.loads(plan_text)
    before = {"name": name, "protected": protected}
    change = {"actions": ["no-op"], "before": before, "after": before}
    plan["output_changes"] = {"payinfra_environment": change}
    return json.dumps(plan)


# ---- arguments after `--` ----


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("apply", ["-auto-approve", "-destroy", "-backup"]),
        ("apply", ["-backup=other.tfstate"]),
        ("apply", ["-state=../prod/terraform.tfstate"]),
        ("apply", ["-lock=false"]),
        ("apply", ["-target=module.compute"]),
        ("apply", ["-var=x=1"]),
        ("destroy", ["-state=../prod/terraform.tfstate"]),
        ("destroy", ["-target=module.data_eu_west_1"]),
        ("destroy", ["-refresh=false"]),
        ("plan", ["-destroy"]),
        ("plan", ["-out=other.tfplan"]),
        ("plan", ["-state=../prod/terraform.tfstate"]),
        ("plan", ["-var-file=evil.tfvars"]),
        ("plan", ["-target", "module.compute"]),  # the space form would swallow the next word
        ("plan", ["-parallelism=many"]),
        ("plan", ["-parallelism"]),
        ("plan", ["-no-color=yes"]),
        ("plan", ["-lock-timeout=forever"]),
        ("plan", ["-refresh-only"]),
        ("plan", ["-chdir=../prod"]),
        ("plan", ["plan.tfplan"]),
        ("init", ["-backend-config=bucket=prod-state"]),
        ("init", ["-reconfigure"]),
        ("init", ["-migrate-state"]),
        ("init", ["-from-module=../prod"]),
    ],
)
def test_forbidden_arguments_after_double_dash_are_refused_before_terraform_runs(
    run, command, extra
):
    run.fake.stdout("show", CREATE_ONLY)
    if command == "apply":
        assert run("plan", "dev").exit_code == 0
    before = len(run.fake.calls())
    result = (
        run(command, "dev", "--auto-approve", "--", *extra)
        if command
        in (
            "apply",
            "destroy",
        )
        else run(command, "dev", "--", *extra)
    )
    assert result.exit_code == 2, result.output
    assert "is not allowed after `--`" in result.output or "is not a valid value" in result.output
    assert len(run.fake.calls()) == before, "terraform ran"


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("plan", ["-parallelism=4", "-lock-timeout=30s", "-no-color", "-compact-warnings"]),
        ("plan", ["-target=module.compute", "-replace=module.compute.aws_lambda_function.this"]),
        ("plan", ['-target=module.network_eu_west_1.aws_subnet.private["eu-west-1a"]']),
        ("plan", ["-refresh=false"]),
        ("init", ["-no-color", "-lock-timeout=5m"]),
    ],
)
def test_allowed_arguments_reach_terraform_unchanged(run, command, extra):
    run.fake.stdout("show", CREATE_ONLY)
    result = run(command, "dev", "--", *extra)
    assert result.exit_code == 0, result.output
    call = next(c for c in run.fake.commands() if c[0] == command)
    assert call[-len(extra) :] == extra


def test_apply_and_destroy_pass_their_allowed_arguments(run):
    run.fake.stdout("show", CREATE_ONLY)
    run("plan", "dev")
    assert run("apply", "dev", "--", "-parallelism=2", "-no-color").exit_code == 0
    assert run.fake.commands()[-1][-3:] == [
        "-parallelism=2",
        "-no-color",
        ".payinfra-applying.tfplan",
    ]
    assert run("destroy", "dev", "--auto-approve", "--", "-lock-timeout=1m").exit_code == 0
    assert run.fake.commands()[-1] == [
        "destroy",
        "-input=false",
        "-auto-approve",
        "-lock-timeout=1m",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["apply", "dev", "--alow-destroy"],
        ["destroy", "dev", "--forse"],
        ["plan", "dev", "-target=module.compute"],  # a terraform flag without `--`
        ["plan", "dev", "-destroy"],
    ],
)
def test_unknown_payinfra_options_are_usage_errors_not_forwarded(run, args):
    result = run(*args)
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert run.fake.calls() == []


# ---- apply applies exactly what was reviewed ----


def test_a_plan_file_replaced_after_plan_is_refused(run):
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    (run.out / "dev" / "plan.tfplan").write_bytes(b"a destroy plan made by hand")
    result = run("apply", "dev")
    assert result.exit_code == 3
    assert "plan.tfplan was replaced after `payinfra plan`" in result.output
    assert "apply" not in terraform_commands(run)


def test_apply_rederives_the_summary_from_the_plan_file_itself(run):
    # The plan file now says something else than what `payinfra plan` summarised (here: the
    # fake's `show` answers differently), so the DATA LOSS review no longer holds.
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    run.fake.stdout("show", REPLACES_TABLE)
    result = run("apply", "dev")
    assert result.exit_code == 3
    assert "no longer matches the summary shown at plan time" in result.output
    assert "apply" not in terraform_commands(run)


def test_the_data_loss_check_uses_the_plan_file_not_plan_json(run):
    protect(run.env_dir)
    run.fake.stdout("show", REPLACES_TABLE)
    assert run("plan", "dev").exit_code == 0
    (run.out / "dev" / "plan.json").write_text(CREATE_ONLY)  # a harmless-looking plan.json
    result = run("apply", "dev", "--auto-approve")
    assert result.exit_code == 3
    assert "aws_dynamodb_table" in result.output and "--allow-destroy" in result.output


@pytest.mark.parametrize("damage", ["delete", "garbage", "incomplete"])
def test_a_missing_or_damaged_plan_record_is_refused(run, damage):
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    record = run.out / "dev" / "plan.payinfra.json"
    if damage == "delete":
        record.unlink()
    else:
        record.write_text("{" if damage == "garbage" else '{"environment": "dev"}')
    result = run("apply", "dev")
    assert result.exit_code == 3
    assert "payinfra plan dev" in result.output
    assert "apply" not in terraform_commands(run)


def test_a_plan_made_for_another_environment_is_refused(run):
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    assert run("plan", "staging").exit_code == 0
    dev, staging = run.out / "dev", run.out / "staging"
    for name in ("plan.tfplan", "plan.payinfra.json"):
        shutil.copy(staging / name, dev / name)
    result = run("apply", "dev")
    assert result.exit_code == 3
    assert "apply" not in terraform_commands(run)


# ---- protection belongs to the state ----


def test_lowering_protection_in_yaml_between_plan_and_apply_is_refused(run):
    protect(run.env_dir)
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    run.env_dir.write("dev", {"database": {"skip_final_snapshot": True}})  # protected: gone
    for command in (["apply", "dev", "--auto-approve"], ["plan", "dev"], ["render", "dev"]):
        result = run(*command)
        assert result.exit_code == 3, (command, result.output)
        assert "payinfra unprotect dev" in result.output
    assert "apply" not in terraform_commands(run)


def test_another_environments_folder_cannot_lower_protection(run, tmp_path):
    protect(run.env_dir)
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    copy = tmp_path / "unprotected"
    shutil.copytree(run.env_dir.path, copy)
    (copy / "dev.yaml").write_text("database: {skip_final_snapshot: true}\n")
    result = CliRunner().invoke(
        main,
        [
            "destroy",
            "dev",
            "--auto-approve",
            "--environments-dir",
            str(copy),
            "--out",
            str(run.out),
        ],
    )
    assert result.exit_code == 3 and "payinfra unprotect dev" in result.output
    assert "destroy" not in terraform_commands(run)


def test_another_environment_pointed_at_a_root_is_refused(run):
    assert run("render", "dev").exit_code == 0
    (run.out / "staging").symlink_to(run.out / "dev", target_is_directory=True)
    result = run("plan", "staging")
    assert result.exit_code == 3
    assert "holds the Terraform root of environment 'dev'" in result.output
    assert run.fake.calls() == []


def test_a_protected_state_is_protected_even_in_a_fresh_clone(run):
    # No local record (a fresh CI checkout with remote state): the state's own output tells.
    run.fake.stdout("show", CREATE_ONLY)
    with_state(run, "dev", "dev", protected=True)
    result = run("plan", "dev")
    assert result.exit_code == 3
    assert "the state of dev is protected" in result.output
    assert "plan" not in terraform_commands(run)
    destroyed = run("destroy", "dev", "--auto-approve")
    assert destroyed.exit_code == 3 and "the state of dev is protected" in destroyed.output
    assert "destroy" not in terraform_commands(run)


def state_outputs(name: str, protected: bool) -> str:
    """`terraform output -json` of a state that records environment `name`."""
    return json.dumps({"payinfra_environment": {"value": {"name": name, "protected": protected}}})


def with_state(run, env: str, name: str, protected: bool) -> None:
    """A local state in out/ENV/ that records environment `name`, as terraform writes it; and
    the same state behind a remote backend (what `terraform output -json` would answer)."""
    root = run.out / env
    root.mkdir(parents=True, exist_ok=True)
    outputs = json.loads(state_outputs(name, protected))
    (root / "terraform.tfstate").write_text(json.dumps({"version": 4, "outputs": outputs}))
    run.fake.stdout("output", state_outputs(name, protected))


def test_a_state_of_another_environment_is_refused(run):
    run.fake.stdout("show", CREATE_ONLY)
    with_state(run, "dev", "prod", protected=False)
    result = run("plan", "dev")
    assert result.exit_code == 3
    assert "belongs to environment 'prod'" in result.output
    assert "plan" not in terraform_commands(run)


def test_apply_checks_the_identity_the_plan_file_saw(run):
    # The state changed hands between plan and apply: the plan file itself tells.
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    run.fake.stdout("show", with_prior_state(CREATE_ONLY, "prod", protected=False))
    result = run("apply", "dev")
    assert result.exit_code == 3
    assert "apply" not in terraform_commands(run)


def test_unprotect_typed_at_a_terminal_lets_the_yaml_lower_protection(run, terminal):
    protect(run.env_dir)
    run.fake.stdout("show", with_prior_state(CREATE_ONLY, "dev", protected=True))
    assert run("plan", "dev").exit_code == 0
    unprotect = ["unprotect", "dev", "--out", str(run.out)]
    wrong = CliRunner().invoke(main, unprotect, input="prod\n")
    assert wrong.exit_code == 3 and "not confirmed" in wrong.output
    assert "deletion protection" in wrong.output, "it says what it changes before asking"
    done = CliRunner().invoke(main, unprotect, input="dev\n")
    assert done.exit_code == 0, done.output
    run.env_dir.write("dev", {"database": {"skip_final_snapshot": True}})
    assert run("plan", "dev").exit_code == 0
    assert run("apply", "dev").exit_code == 0
    assert terraform_commands(run)[-1] == "apply"


def test_unprotect_needs_a_terminal(run):
    protect(run.env_dir)
    assert run("render", "dev").exit_code == 0
    result = CliRunner().invoke(main, ["unprotect", "dev", "--out", str(run.out)], input="dev\n")
    assert result.exit_code == 3
    assert "standard input is not one" in result.output


def test_unprotect_of_an_unprotected_root_changes_nothing(run):
    assert run("render", "dev").exit_code == 0
    result = CliRunner().invoke(main, ["unprotect", "dev", "--out", str(run.out)])
    assert result.exit_code == 0
    assert "not a protected environment's root" in result.output


# ---- typed confirmations need a terminal ----


def test_a_name_piped_on_stdin_does_not_confirm(run):
    protect(run.env_dir)
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    result = run("apply", "dev", input="dev\n")
    assert result.exit_code == 3
    assert "standard input is not one; CI uses --auto-approve" in result.output
    assert "apply" not in terraform_commands(run)
    destroy = run("destroy", "dev", "--force", input="dev\n")
    assert destroy.exit_code == 3 and "there is no flag for CI" in destroy.output
    assert "destroy" not in terraform_commands(run)


def test_no_input_at_the_prompt_is_a_refusal_not_an_abort(run, terminal):
    protect(run.env_dir)
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    result = run("apply", "dev", input="")
    assert result.exit_code == 3
    assert "not confirmed" in result.output and "Aborted" not in result.output


@pytest.mark.emulator
def test_the_name_typed_at_a_real_terminal_confirms(run, moto_server):
    protect(run.env_dir)
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    controller, terminal_side = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "payinfra",
            "apply",
            "dev",
            "--environments-dir",
            str(run.env_dir.path),
            "--out",
            str(run.out),
        ],
        stdin=terminal_side,
        stdout=terminal_side,
        stderr=terminal_side,
        cwd=REPO,
        # The account check asks the emulator, whose account is the YAML's.
        env={**os.environ, **moto_server.aws_env()},
    )
    os.close(terminal_side)
    seen = b""
    while b"to apply it" not in seen:
        seen += os.read(controller, 1024)
    os.write(controller, b"dev\n")
    assert process.wait(timeout=60) == 0
    os.close(controller)
    assert terraform_commands(run)[-1] == "apply"


def test_a_remote_states_identity_is_read_through_terraform(run):
    run.env_dir.write(
        "dev", {"backend": {"type": "s3", "bucket": "acme-state", "region": "us-east-1"}}
    )
    run.fake.stdout("show", CREATE_ONLY)
    run.fake.stdout("output", state_outputs("dev", protected=True))
    result = run("plan", "dev")
    assert result.exit_code == 3 and "the state of dev is protected" in result.output
    assert terraform_commands(run) == ["init", "output"]


def test_a_killed_apply_keeps_the_lock_while_its_terraform_runs(run, tmp_path):
    """kill -9 of payinfra mid-apply: terraform goes on, and no render may rewrite the folder
    under it until it has exited."""
    run.fake.stdout("show", CREATE_ONLY)
    assert run("plan", "dev").exit_code == 0
    # terraform applies until the refused render has been checked, however loaded the machine.
    run.fake.hold("apply")
    root = run.out / "dev"
    environment = {**os.environ, **run.fake.env(), "PAYINFRA_LOCK_WAIT": "0.2"}
    folders = ["--environments-dir", str(run.env_dir.path), "--out", str(run.out)]
    applying = subprocess.Popen(
        [sys.executable, "-m", "payinfra", "apply", "dev", *folders],
        cwd=REPO, env=environment, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not [c for c in run.fake.commands() if c[:1] == ["apply"]]:
        assert time.monotonic() < deadline and applying.poll() is None, "apply never started"
        time.sleep(0.05)
    applying.kill()
    applying.wait()
    render = [sys.executable, "-m", "payinfra", "render", "dev", *folders]
    busy = subprocess.run(
        render, cwd=REPO, env=environment, capture_output=True, text=True, check=False
    )
    assert not (root / "apply.finished").exists(), "terraform was still applying"
    assert busy.returncode == 3, busy.stderr
    assert "or by a terraform it started" in busy.stderr
    run.fake.release("apply")
    while not (root / "apply.finished").exists():
        assert time.monotonic() < deadline + 10, "terraform never finished"
        time.sleep(0.1)
    time.sleep(0.3)  # the fake exits right after leaving its mark
    after = subprocess.run(
        render, cwd=REPO, env=environment, capture_output=True, text=True, check=False
    )
    assert after.returncode == 0, after.stderr
