"""The command line as a user meets it."""

from __future__ import annotations

import json

from click.testing import CliRunner

from payinfra import __version__
from payinfra.cli import main


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("render", "envs"):
        assert command in result.output


def test_render_help_explains_what_is_kept():
    result = invoke("render", "--help")
    assert result.exit_code == 0
    assert "Terraform state" in result.output
    assert "--environments-dir" in result.output and "--out" in result.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_envs_lists_environments_with_their_regions(env_dir):
    result = invoke("envs", "--environments-dir", str(env_dir.path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == ["dev", "local", "prod", "staging"]
    assert "us-east-1 (source), eu-west-1 (target)" in lines[0]


def test_envs_matrix_lists_every_root_to_plan_as_a_ci_job(env_dir):
    env_dir.update("prod", layout="region-roots")
    result = invoke("envs", "dev", "prod", "--matrix", "--environments-dir", str(env_dir.path))
    assert result.exit_code == 0, result.output
    jobs = json.loads(result.output)
    assert jobs[0] == {"env": "dev", "root": "", "select": "", "name": "dev--root"}
    assert sorted((job["root"], job["select"]) for job in jobs[1:-1]) == [
        ("regions/eu-west-1", "--region eu-west-1"),
        ("regions/us-east-1", "--region us-east-1"),
    ]
    assert (jobs[-1]["root"], jobs[-1]["select"]) == ("links", "--links")
    assert len({job["name"] for job in jobs}) == len(jobs)
    unknown = invoke("envs", "nowhere", "--matrix", "--environments-dir", str(env_dir.path))
    assert unknown.exit_code == 2 and "nowhere" in unknown.output


def test_envs_matrix_of_a_folder_without_environments_is_an_empty_list(tmp_path):
    (tmp_path / "environments").mkdir()
    result = invoke("envs", "--matrix", "--environments-dir", str(tmp_path / "environments"))
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_envs_reports_a_missing_folder(tmp_path):
    result = invoke("envs", "--environments-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "environments directory not found" in result.output


def test_environments_dir_can_come_from_the_environment(env_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("PAYINFRA_ENVIRONMENTS_DIR", str(env_dir.path))
    result = CliRunner().invoke(main, ["render", "dev", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "dev" / "main.tf").is_file()


def test_missing_env_argument_is_a_usage_error():
    result = invoke("render")
    assert result.exit_code == 2
    assert "Missing argument 'ENV'" in result.output
