"""The roots of a `region-roots` environment run in order (docs/region-roots.md): the region
roots (home and primary first) and then `links/`, each with its own state, plan, plan record
and safety judgement; `--region R` runs R's root alone. An environment of one root runs that
root, so every terraform command goes through here.

`links/` reads the region roots' states. It is planned with them when every region root has
been applied (its inputs are known) and applied after them when what it read is unchanged;
otherwise it is planned again after the region roots apply, and applied in the same command
only if that plan creates or updates in place (nothing destroyed or replaced, no finding);
anything more stops for review.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from payinfra import lifecycle, safety, states
from payinfra.config import Environment, Region
from payinfra.errors import Refused, RegionRootsOnly, UnknownRegion
from payinfra.plansummary import Drift, PlanSummary, state_identity
from payinfra.render.regions import LINKS_FOLDER, REGIONS_FOLDER, region_folder, root_folders
from payinfra.safety import PLAN_RECORD, Confirm
from payinfra.validate import Report
from payinfra.validate import validate as run_checks
from payinfra.workspace import Workspace

# The plan record's key for what `links/` read of the region roots when it was planned.
LINKS_INPUTS = "links_inputs_sha256"


@dataclass(frozen=True)
class RootPlan:
    folder: str  # "" for an environment of one root
    result: lifecycle.PlanResult | None  # None: `links/` waits for the region roots' apply


@dataclass(frozen=True)
class RootApply:
    folder: str
    summary: PlanSummary
    replanned: bool = False  # `links/`, planned again after the region roots it reads


def selected(ws: Workspace, region: str | None) -> list[Workspace]:
    """The roots a command runs, in order: all of them, or `region`'s alone."""
    if ws.env.layout == "one-root":
        if region:
            raise RegionRootsOnly(
                f"--region runs one region's root, and {ws.env.name} has one root for every "
                "region (layout: one-root; docs/region-roots.md)"
            )
        return [ws]
    if region is None:
        return [ws.at(folder) for folder in root_folders(ws.env)]
    return [ws.at(region_folder(_region_of(ws.env, region)))]


def _region_of(env: Environment, name: str) -> Region:
    for region in env.regions:
        if region.name == name:
            return region
    raise UnknownRegion(
        f"--region {name}: {env.name} has no region {name} (regions: "
        f"{', '.join(region.name for region in env.regions)})"
    )


def plan(
    ws: Workspace,
    *,
    region: str | None,
    detailed_exitcode: bool,
    plugin_dir: Path | None,
    extra: tuple[str, ...],
    on_message: Callable[[dict], None],
    run_preflight: bool,
    on_root: Callable[[str], None] = lambda folder: None,
) -> list[RootPlan]:
    roots = selected(ws, region)
    if ws.env.protected and run_preflight:
        lifecycle.refuse_what_preflight_fails(ws, [r for root in roots for r in root.regions])
    plans = []
    for root in roots:
        on_root(root.folder)
        if root.folder == LINKS_FOLDER and not _region_roots_applied(ws):
            lifecycle.discard_plan(root.root)
            plans.append(RootPlan(root.folder, None))
            continue
        record: dict[str, object] = (
            {LINKS_INPUTS: _links_inputs(ws)} if root.folder == LINKS_FOLDER else {}
        )
        result = lifecycle.plan(
            root,
            detailed_exitcode=detailed_exitcode,
            plugin_dir=plugin_dir,
            extra=extra,
            on_message=on_message,
            run_preflight=False,
            record=record,
        )
        plans.append(RootPlan(root.folder, result))
    return plans


def apply(
    ws: Workspace,
    *,
    region: str | None,
    auto_approve: bool,
    allow_destroy: bool,
    confirm: Confirm | None,
    extra: tuple[str, ...],
    plugin_dir: Path | None,
    on_root: Callable[[str], None] = lambda folder: None,
) -> list[RootApply]:
    """Apply each root's reviewed plan in order (a root without one is left as it is), then,
    for the whole environment, `links/` (planned again when the region roots changed what it
    reads)."""
    roots = selected(ws, region)
    if ws.env.layout == "one-root":
        return [
            RootApply("", _apply_root(ws, auto_approve, allow_destroy, confirm, extra, plugin_dir))
        ]
    planned = [
        root for root in roots
        if root.folder != LINKS_FOLDER and (root.root / PLAN_RECORD).is_file()
    ]  # fmt: skip
    if not planned:
        raise Refused(
            f"no saved plan in {ws.root}/{REGIONS_FOLDER}; run `payinfra plan {ws.env.name}` first"
        )
    if ws.env.protected:  # one typed name for every root of this apply
        safety.confirm_by_name(
            ws.env.name, auto_approve=auto_approve, confirm=confirm, action="apply"
        )
    applied = []
    for root in planned:
        on_root(root.folder)
        summary = _apply_root(root, True, allow_destroy, confirm, extra, plugin_dir)
        applied.append(RootApply(root.folder, summary))
    if region is None:
        applied.append(
            _apply_links(ws, ws.at(LINKS_FOLDER), allow_destroy, extra, plugin_dir, on_root)
        )
    return applied


def _apply_root(
    root: Workspace,
    auto_approve: bool,
    allow_destroy: bool,
    confirm: Confirm | None,
    extra: tuple[str, ...],
    plugin_dir: Path | None,
) -> PlanSummary:
    return lifecycle.apply(
        root,
        auto_approve=auto_approve,
        allow_destroy=allow_destroy,
        confirm=confirm,
        extra=extra,
        plugin_dir=plugin_dir,
    )


def _apply_links(
    ws: Workspace,
    links: Workspace,
    allow_destroy: bool,
    extra: tuple[str, ...],
    plugin_dir: Path | None,
    on_root: Callable[[str], None],
) -> RootApply:
    """`links/`'s reviewed plan when what it read is unchanged; else a new plan, applied only
    if it creates or updates in place."""
    on_root(LINKS_FOLDER)
    if (links.root / PLAN_RECORD).is_file():
        record = json.loads((links.root / PLAN_RECORD).read_text(encoding="utf-8"))
        if record.get(LINKS_INPUTS) == _links_inputs(ws):
            return RootApply(
                LINKS_FOLDER, _apply_root(links, True, allow_destroy, None, extra, plugin_dir)
            )
    replanned = lifecycle.plan(
        links,
        detailed_exitcode=False,
        plugin_dir=plugin_dir,
        extra=(),
        run_preflight=False,
        record={LINKS_INPUTS: _links_inputs(ws)},
    ).summary
    if not replanned.creates_or_updates_only:
        raise Refused(
            f"{LINKS_FOLDER}/ was planned again after the region roots it reads changed, and "
            f"that plan does more than create or update in place; review it with `payinfra "
            f"plan {ws.env.name}` and apply again"
        )
    summary = _apply_root(links, True, allow_destroy, None, extra, plugin_dir)
    return RootApply(LINKS_FOLDER, summary, replanned=True)


def _region_roots_applied(ws: Workspace) -> bool:
    """Whether every region root's state records its environment (each apply writes it)."""
    return all(
        state_identity(states.outputs_of(ws.at(folder))) is not None
        for folder in root_folders(ws.env)
        if folder.startswith(REGIONS_FOLDER + "/")
    )


def _links_inputs(ws: Workspace) -> str:
    """One digest of every region root's outputs: what `links/` reads of them."""
    digest = hashlib.sha256()
    for folder in root_folders(ws.env):
        if folder.startswith(REGIONS_FOLDER + "/"):
            outputs = states.outputs_of(ws.at(folder))
            digest.update(f"{folder}\0{json.dumps(outputs, sort_keys=True)}\n".encode())
    return digest.hexdigest()


def destroy(
    ws: Workspace,
    *,
    force: bool,
    auto_approve: bool,
    confirm: Confirm | None,
    plugin_dir: Path | None,
    extra: tuple[str, ...],
    on_root: Callable[[str], None] = lambda folder: None,
) -> None:
    """Every root once the name is confirmed: `links/` first (it reads the others), then the
    region roots in reverse order."""
    safety.check_extra_args("destroy", extra)
    lifecycle.confirm_destroy(ws, force=force, auto_approve=auto_approve, confirm=confirm)
    for root in reversed(selected(ws, None)):
        on_root(root.folder)
        lifecycle.destroy_root(root, plugin_dir=plugin_dir, extra=extra)


def outputs(ws: Workspace) -> dict[str, object]:
    """The environment's outputs: the one root's, or `links/`'s."""
    return lifecycle.outputs(ws if ws.env.layout == "one-root" else ws.at(LINKS_FOLDER))


def init(ws: Workspace, *, plugin_dir: Path | None, upgrade: bool, extra: tuple[str, ...]) -> None:
    for root in selected(ws, None):
        lifecycle.init(root, plugin_dir=plugin_dir, upgrade=upgrade, extra=extra)


def find_drift(ws: Workspace, *, plugin_dir: Path | None) -> list[Drift]:
    """What changed outside Terraform, root by root."""
    return [
        found
        for root in selected(ws, None)
        for found in lifecycle.find_drift(root, plugin_dir=plugin_dir)
    ]


def validate(ws: Workspace, *, plugin_dir: Path | None) -> Report:
    """fmt, validate and checkov of every root, one report."""
    reports = [run_checks(root, plugin_dir=plugin_dir) for root in selected(ws, None)]
    return Report(
        [finding for report in reports for finding in report.findings],
        reports[0].ran,
        reports[0].skipped,
    )
