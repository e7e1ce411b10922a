"""What `payinfra render` writes: deterministic, atomic, never deleting what it did not write."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from payinfra.cli import main
from payinfra.config import load_environment
from payinfra.render import render_environment
from payinfra.writer import MANIFEST, write_tree
from tests.conftest import ENVIRONMENTS, REAL_ENVS
from tests.hclparse import labelled, parse


def render_cli(env_dir, out, env="dev"):
    result = CliRunner().invoke(
        main, ["render", env, "--environments-dir", str(env_dir.path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return result


def snapshot(folder):
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("env", REAL_ENVS)
def test_same_yaml_renders_byte_identical_files(tmp_path, env):
    environment = load_environment(ENVIRONMENTS, env)
    write_tree(render_environment(environment), tmp_path / "a")
    write_tree(render_environment(load_environment(ENVIRONMENTS, env)), tmp_path / "b")
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_files_are_listed_in_sorted_order():
    files = render_environment(load_environment(ENVIRONMENTS, "dev"))
    assert list(files) == sorted(files)


def test_rerender_keeps_state_lock_plans_and_dot_terraform(env_dir, tmp_path):
    out = tmp_path / "out"
    render_cli(env_dir, out)
    root = out / "dev"
    precious = {
        "terraform.tfstate": b'{"version": 4}',
        "terraform.tfstate.backup": b"{}",
        ".terraform.lock.hcl": b"# lock",
        ".terraform/providers/marker": b"provider",
        "plan.tfplan": b"plan",
        "notes.txt": b"mine",
    }
    for relative, content in precious.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    env_dir.write("dev", {"network": {"flow_log_retention_days": 60}})
    render_cli(env_dir, out)
    for relative, content in precious.items():
        assert (root / relative).read_bytes() == content, relative
    assert "flow_log_retention_days = 60" in (root / "main.tf").read_text()


def test_rerender_removes_generated_files_no_longer_produced(tmp_path):
    target = tmp_path / "dev"
    write_tree({"a.tf": "a", "modules/old/main.tf": "old"}, target)
    (target / "terraform.tfstate").write_text("{}")
    result = write_tree({"a.tf": "a"}, target)
    assert result.removed == ["modules/old/main.tf"]
    assert not (target / "modules").exists()
    assert (target / "terraform.tfstate").exists()
    assert list(json.loads((target / MANIFEST).read_text())["files"]) == ["a.tf"]


def test_unchanged_files_are_not_rewritten(tmp_path):
    target = tmp_path / "dev"
    write_tree({"a.tf": "a", "b.tf": "b"}, target)
    result = write_tree({"a.tf": "a", "b.tf": "changed"}, target)
    assert result.unchanged == ["a.tf"]
    assert result.written == ["b.tf"]


def test_writer_refuses_paths_outside_the_target(tmp_path):
    from payinfra.errors import RenderError

    with pytest.raises(RenderError):
        write_tree({"../escape.tf": "x"}, tmp_path / "dev")
    assert not (tmp_path / "escape.tf").exists()


@pytest.mark.parametrize(
    "manifest",
    [
        '{"files": ["../../etc/passwd", "terraform.tfstate"]',  # not even JSON
        '{"files": {"terraform.tfstate": ""}}',
        '{"files": {"a.tf": "", "env/terraform.tfstate.backup": ""}}',
        '{"files": {".terraform/providers/x": ""}}',
        '{"files": {".terraform.lock.hcl": ""}}',
        '{"files": {"plan.tfplan": ""}}',
        '{"files": {"/etc/passwd": ""}}',
        '{"files": {"../prod/main.tf": ""}}',
        '{"files": {"a.tf": "not-a-digest"}}',
        '{"files": 3}',
        "[]",
    ],
)
def test_a_manifest_naming_state_or_outside_files_is_refused_and_deletes_nothing(
    tmp_path, manifest
):
    from payinfra.errors import RenderError

    target = tmp_path / "dev"
    write_tree({"a.tf": "a", "b.tf": "b"}, target)
    (target / MANIFEST).write_text(manifest)
    precious = ["terraform.tfstate", "env/terraform.tfstate.backup", ".terraform.lock.hcl"]
    for relative in precious:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text("{}")
    with pytest.raises(RenderError, match="not a valid payinfra manifest"):
        write_tree({"a.tf": "a"}, target)
    assert all((target / relative).exists() for relative in precious)
    assert (target / "b.tf").read_text() == "b", "nothing was removed"


def test_render_reports_what_it_did(env_dir, tmp_path):
    out = tmp_path / "out"
    first = render_cli(env_dir, out)
    second = render_cli(env_dir, out)
    assert "0 unchanged" in first.output
    assert "0 written" in second.output


def test_n_regions_render_one_module_and_provider_each(env_dir, tmp_path):
    regions = [
        {"name": name, "role": role, "cidr": cidr, "azs": [f"{name}a", f"{name}b"]}
        for name, role, cidr in [
            ("us-east-1", "source", "10.0.0.0/16"),
            ("eu-west-1", "target", "10.1.0.0/16"),
            ("eu-central-1", "target", "10.2.0.0/16"),
            ("ap-southeast-2", "target", "10.3.0.0/16"),
        ]
    ]
    env_dir.write("dev", {"regions": regions})
    out = tmp_path / "out"
    render_cli(env_dir, out)
    main_tf = parse((out / "dev" / "main.tf").read_text())
    providers = parse((out / "dev" / "providers.tf").read_text())["provider"]
    modules = labelled(main_tf, "module")
    for kind, count in (("network_", 4), ("peering_", 3), ("data_", 4)):
        assert len([name for name in modules if name.startswith(kind)]) == count, kind
    # The workload runs in the home region (the first target) alone by default.
    assert {"compute_eu_west_1", "observability_eu_west_1", "database_eu_west_1"} <= set(modules)
    assert not [name for name in modules if name.startswith(("compute_", "database_"))][2:]
    assert sorted(p["aws"]["alias"] for p in providers) == sorted(
        r["name"].replace("-", "_") for r in regions
    )


def test_s3_backend_uses_lockfile_and_a_key_per_environment(env_dir, tmp_path):
    backend = {"type": "s3", "bucket": "acme-tfstate", "region": "us-east-1"}
    env_dir.write("dev", {"backend": backend})
    out = tmp_path / "out"
    render_cli(env_dir, out)
    (terraform,) = parse((out / "dev" / "backend.tf").read_text())["terraform"]
    assert terraform["backend"] == [
        {
            "s3": {
                "bucket": "acme-tfstate",
                "key": "payinfra/dev/terraform.tfstate",
                "region": "us-east-1",
                "encrypt": True,
                "use_lockfile": True,
            }
        }
    ]
    (versions,) = parse((out / "dev" / "versions.tf").read_text())["terraform"]
    assert versions["required_version"] == ">= 1.10"
