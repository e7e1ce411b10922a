"""`payinfra bootstrap`: the S3 state bucket an environment's backend names, from a small root of
its own in OUT/ENV/bootstrap/ whose state stays beside it. Idempotent; it never destroys or
replaces anything, and after a run killed half-way it adopts what that run created
(payinfra/leftovers.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from payinfra import leftovers, safety, writer
from payinfra.config import load_environment
from payinfra.errors import Refused, UsageError
from payinfra.lifecycle import ensure_initialised, plan_json
from payinfra.plansummary import PlanSummary, summarize
from payinfra.render import render_bootstrap
from payinfra.states import LOCAL_STATE, read_local_state, resource_address
from payinfra.terraform import Terraform, find_terraform
from payinfra.workspace import Workspace, aws_target, backend_target, child_env

BOOTSTRAP_DIR = "bootstrap"


def bootstrap(
    environments_dir: Path, name: str, out_dir: Path, *, terraform: str | None,
    plugin_dir: Path | None, region: str | None = None,
) -> BootstrapResult:  # fmt: skip
    """Create (or bring up to date) the state bucket the YAML's S3 backend names (`region`: the
    one of backend.region_buckets for that region's root), from a root of its own in
    OUT/ENV/bootstrap/ (OUT/ENV/bootstrap-REGION/) whose state stays there. Idempotent; it never
    destroys or replaces anything (the bucket itself is prevent_destroy)."""
    env, env_file = load_environment(environments_dir, name), environments_dir / f"{name}.yaml"
    if env.backend.type != "s3":
        raise UsageError(
            f"{env_file}: backend.type is local; bootstrap creates the bucket of an s3 backend "
            "(set backend.type: s3, backend.bucket and backend.region)"
        )
    if region is not None and region not in env.backend.region_buckets:
        raise UsageError(
            f"--region {region}: {env_file} names no state bucket for it in backend.region_buckets"
        )
    bucket, bucket_region = env.backend.state_bucket(region)
    binary = find_terraform(terraform)
    root = out_dir / name / (f"{BOOTSTRAP_DIR}-{region}" if region else BOOTSTRAP_DIR)
    with writer.locked(out_dir / name), writer.locked(root):
        safety.guard_protection(env, out_dir / name)
        environment_target = aws_target(env)
        safety.check_account(env, env_file, environment_target)
        # A run killed half-way leaves resources in AWS that its state never recorded: adopt
        # them (import) instead of creating a second key and failing on the bucket's name.
        target = backend_target(env, bucket_region)
        found = leftovers.find(target, bucket or "", _local_state_addresses(root))
        writer.write_tree(render_bootstrap(env, found.imports, region=region), root)
        writer.verify(root)
        terraform_runner = Terraform(binary, root, child_env(env), writer.held_locks())
        ws = Workspace(env, root, terraform_runner, env_file)
        ensure_initialised(ws, plugin_dir)
        tf = ws.terraform
        try:
            tf.run("plan", "-input=false", f"-out={safety.PLAN_FILE}")
            shown = tf.output_of("show", "-json", safety.PLAN_FILE)
            summary = summarize(plan_json(shown, safety.PLAN_FILE))
            totals = summary.totals
            if totals["destroy"] or totals["replace"]:
                raise Refused(
                    f"bootstrap of {name} would destroy or replace resources of its state "
                    f"bucket ({', '.join(summary.stateful_losses) or 'see the plan'}); nothing "
                    "was changed"
                )
            if summary.has_changes or found.imports:
                tf.run("apply", "-input=false", safety.PLAN_FILE)
        finally:
            (root / safety.PLAN_FILE).unlink(missing_ok=True)
    return BootstrapResult(summary, sorted(found.imports), found.spare_keys)


@dataclass(frozen=True)
class BootstrapResult:
    summary: PlanSummary
    adopted: list[str]  # addresses imported from an interrupted run
    spare_keys: list[str]  # keys earlier interrupted runs made and nothing uses


def _local_state_addresses(root: Path) -> set[str]:
    """The resource addresses a local state file records (none when there is no state)."""
    state = read_local_state(root / LOCAL_STATE)
    if state is None:
        raise Refused(
            f"{root / LOCAL_STATE} is unreadable or no Terraform state; restore it from its "
            "backup (terraform.tfstate.backup) before bootstrapping again"
        )
    return {
        resource_address(entry)
        for entry in state.get("resources") or []
        if isinstance(entry, dict) and entry.get("mode") == "managed" and entry.get("instances")
    }
