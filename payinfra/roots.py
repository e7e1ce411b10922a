"""The roots of a `region-roots` environment (docs/region-roots.md): the region roots, planned
side by side and applied in two waves (the home's and the primary's, then the others), and then
`links/`, each with its own state, plan, plan record and safety judgement; `--region R` runs
R's root alone. An environment of one root runs that root, so every terraform command goes
through here.

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
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from payinfra import lifecycle, safety, states
from payinfra.config import Environment
from payinfra.errors import NothingApplied, Refused, RegionRootsOnly, UnknownRegion, UsageError
from payinfra.plansummary import Drift, PlanSummary
from payinfra.render.regions import (
    LINKS_FOLDER,
    REGIONS_FOLDER,
    called_labels,
    region_folder,
    root_folders,
)
from payinfra.safety import PLAN_RECORD, Confirm
from payinfra.statesplit import split_state
from payinfra.statestore import states_of
from payinfra.validate import Report
from payinfra.validate import validate as run_checks
from payinfra.workspace import Workspace

Done = TypeVar("Done")

# The plan record's key for what `links/` read of the region roots when it was planned.
LINKS_INPUTS = "links_inputs_sha256"
# The key that tells which root a streamed plan message came from (roots plan side by side).
MESSAGE_ROOT = "payinfra_root"


@dataclass(frozen=True)
class RootPlan:
    folder: str  # "" for an environment of one root
    result: lifecycle.PlanResult | None  # None: `links/` waits for the region roots' apply


@dataclass(frozen=True)
class RootApply:
    folder: str
    summary: PlanSummary
    replanned: bool = False  # `links/`, planned again after the region roots it reads


def selected(ws: Workspace, region: str | None, links: bool = False) -> list[Workspace]:
    """The roots a command runs, in order: all of them, `region`'s alone, or `links/` alone."""
    if ws.env.layout == "one-root":
        if region or links:
            option = "--links" if links else "--region"
            raise RegionRootsOnly(
                f"{option} runs one root of an environment with a root per region, and "
                f"{ws.env.name} has one root for every region (layout: one-root; "
                "docs/region-roots.md)"
            )
        return [ws]
    if links:
        return [ws.at(LINKS_FOLDER)]
    if region is None:
        return [ws.at(folder) for folder in root_folders(ws.env)]
    names = [known.name for known in ws.env.regions]
    if region not in names:
        raise UnknownRegion(
            f"--region {region}: {ws.env.name} has no region {region} (regions: {', '.join(names)})"
        )
    return [ws.at(region_folder(ws.env.region(region)))]


def plan(
    ws: Workspace,
    *,
    region: str | None,
    detailed_exitcode: bool,
    plugin_dir: Path | None,
    extra: tuple[str, ...],
    on_message: Callable[[dict], None],
    run_preflight: bool,
    on_roots: Callable[[list[str]], None] = lambda folders: None,
    links: bool = False,
) -> list[RootPlan]:
    roots = selected(ws, region, links)
    _refuse_an_unmoved_state(ws)
    if len(roots) > 1:  # one line before any root starts, not some roots planned
        lifecycle.require_every_region_answers(ws)
    if ws.env.protected and run_preflight:
        lifecycle.refuse_what_preflight_fails(ws, [r for root in roots for r in root.regions])

    def plan_root(root: Workspace) -> RootPlan:
        record: dict[str, object] = {}
        if root.folder == LINKS_FOLDER:
            read = _region_outputs(ws)
            if not _region_roots_applied(ws, read):
                lifecycle.discard_plan(root.root)
                return RootPlan(root.folder, None)
            record[LINKS_INPUTS] = _digest(read)
        result = lifecycle.plan(
            root,
            detailed_exitcode=detailed_exitcode,
            plugin_dir=plugin_dir,
            extra=extra,
            on_message=lambda message: on_message({**message, MESSAGE_ROOT: root.folder}),
            run_preflight=False,
            record=record,
        )
        return RootPlan(root.folder, result)

    # A region root reads no other root: all of them are planned side by side, links/ after.
    regional = [root for root in roots if root.folder != LINKS_FOLDER]
    waves = [regional, [root for root in roots if root.folder == LINKS_FOLDER]]
    return [found for wave in waves if wave for found in _side_by_side(plan_root, wave, on_roots)]


def apply(
    ws: Workspace,
    *,
    region: str | None,
    auto_approve: bool,
    allow_destroy: bool,
    confirm: Confirm | None,
    extra: tuple[str, ...],
    plugin_dir: Path | None,
    on_roots: Callable[[list[str]], None] = lambda folders: None,
    links: bool = False,
) -> list[RootApply]:
    """Apply each root's reviewed plan in order (a root without one is left as it is), then,
    for the whole environment, `links/` (planned again when the region roots changed what it
    reads); with `links`, `links/` alone."""
    roots = selected(ws, region, links)
    if ws.env.layout == "one-root":
        return [
            RootApply("", _apply_root(ws, auto_approve, allow_destroy, confirm, extra, plugin_dir))
        ]
    _refuse_an_unmoved_state(ws)
    planned = [
        root for root in roots
        if root.folder != LINKS_FOLDER and (root.root / PLAN_RECORD).is_file()
    ]  # fmt: skip
    if not planned and not links:
        raise Refused(
            f"no saved plan in {ws.root}/{REGIONS_FOLDER}; run `payinfra plan {ws.env.name}` first"
        )
    if region is None:  # one line before any root starts, not some roots applied
        lifecycle.require_every_region_answers(ws)
    if ws.env.protected:  # one typed name for every root of this apply
        safety.confirm_by_name(
            ws.env.name, auto_approve=auto_approve, confirm=confirm, action="apply"
        )
    if links:
        return [_apply_links(ws, roots[0], allow_destroy, extra, plugin_dir, on_roots)]

    def apply_root(root: Workspace) -> RootApply:
        summary = _apply_root(root, True, allow_destroy, confirm, extra, plugin_dir)
        return RootApply(root.folder, summary)

    # The home's and the primary's roots first (a table replica and a read replica name what
    # they create), side by side; then the others, side by side.
    first = {region_folder(ws.env.home), region_folder(ws.env.primary)}
    waves = [
        [r for r in planned if r.folder in first],
        [r for r in planned if r.folder not in first],
    ]
    applied = [done for wave in waves if wave for done in _side_by_side(apply_root, wave, on_roots)]
    if region is None:
        applied.append(
            _apply_links(ws, ws.at(LINKS_FOLDER), allow_destroy, extra, plugin_dir, on_roots)
        )
    return applied


def _side_by_side(
    work: Callable[[Workspace], Done], roots: list[Workspace], on_roots: Callable[[list[str]], None]
) -> list[Done]:
    """`work` on each root at once, each in a thread of its own (terraform does the work in a
    process of its own); every one runs to its end, then the first failure, in root order,
    is raised."""
    on_roots([root.folder for root in roots])
    if len(roots) == 1:
        return [work(roots[0])]
    with ThreadPoolExecutor(max_workers=len(roots)) as pool:
        futures = [pool.submit(work, root) for root in roots]
        wait(futures)
    return [future.result() for future in futures]


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
    on_roots: Callable[[list[str]], None],
) -> RootApply:
    """`links/`'s reviewed plan when what it read is unchanged; else a new plan, applied only
    if it creates or updates in place."""
    on_roots([LINKS_FOLDER])
    inputs = _digest(_region_outputs(ws))
    if (links.root / PLAN_RECORD).is_file():
        record = json.loads((links.root / PLAN_RECORD).read_text(encoding="utf-8"))
        if record.get(LINKS_INPUTS) == inputs:
            return RootApply(
                LINKS_FOLDER, _apply_root(links, True, allow_destroy, None, extra, plugin_dir)
            )
    replanned = lifecycle.plan(
        links,
        detailed_exitcode=False,
        plugin_dir=plugin_dir,
        extra=(),
        run_preflight=False,
        record={LINKS_INPUTS: inputs},
    ).summary
    if not replanned.creates_or_updates_only:
        raise Refused(
            f"{LINKS_FOLDER}/ was planned again after the region roots it reads changed, and "
            f"that plan does more than create or update in place; review it with `payinfra "
            f"plan {ws.env.name}` and apply again"
        )
    summary = _apply_root(links, True, allow_destroy, None, extra, plugin_dir)
    return RootApply(LINKS_FOLDER, summary, replanned=True)


def _region_outputs(ws: Workspace) -> dict[str, dict]:
    """{region root folder: its state's outputs}: what `links/` reads of the region roots."""
    return {
        folder: states.outputs_of(ws.at(folder))
        for folder in root_folders(ws.env)
        if folder.startswith(REGIONS_FOLDER + "/")
    }


def _region_roots_applied(ws: Workspace, read: dict[str, dict]) -> bool:
    """Whether every region root's state holds the outputs `links/` reads: written by its apply
    (a state moved from one root has them only once its root is applied)."""
    called = called_labels(ws.env)
    return all(called[folder] <= set(outputs) for folder, outputs in read.items())


def _digest(read: dict[str, dict]) -> str:
    """One digest of the region roots' outputs, to tell whether they changed."""
    digest = hashlib.sha256()
    for folder, outputs in read.items():
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
    on_roots: Callable[[list[str]], None] = lambda folders: None,
) -> None:
    """Every root once the name is confirmed: `links/` first (it reads the others), then the
    region roots in reverse order."""
    safety.check_extra_args("destroy", extra)
    _refuse_an_unmoved_state(ws)
    safety.confirm_destroy(
        ws.env, ws.env_file, force=force, auto_approve=auto_approve, confirm=confirm
    )
    for root in reversed(selected(ws, None)):
        on_roots([root.folder])
        lifecycle.destroy_root(root, plugin_dir=plugin_dir, extra=extra)


def outputs(ws: Workspace) -> dict[str, object]:
    """The environment's outputs: the one root's, or `links/`'s."""
    return lifecycle.outputs(ws if ws.env.layout == "one-root" else ws.at(LINKS_FOLDER))


def init(ws: Workspace, *, plugin_dir: Path | None, upgrade: bool, extra: tuple[str, ...]) -> None:
    for root in selected(ws, None):
        lifecycle.init(root, plugin_dir=plugin_dir, upgrade=upgrade, extra=extra)


def find_drift(ws: Workspace, *, plugin_dir: Path | None) -> list[Drift]:
    """What changed outside Terraform, root by root."""
    _refuse_an_unmoved_state(ws)
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


def move_state(ws: Workspace) -> tuple[dict[str, int], str]:
    """Cut the one-root state of `ws`'s environment (a file beside the roots, or its S3 object)
    into the roots' states: ({root folder: resources}, where the one-root state was kept).
    Killed half-way, a rerun finds the roots already written holding their cut and writes the
    others, then sets the one-root state aside."""
    require_region_roots(ws.env, ws.env_file)
    store = states_of(ws)
    state = store.read("")
    if state is None:
        raise Refused(f"{store.where('')} cannot be read as a Terraform state; nothing was changed")
    if not state.get("resources"):
        raise NothingApplied(f"{store.where('')} holds no one-root state of {ws.env.name} to move")
    called = set().union(*called_labels(ws.env).values())
    split = split_state(ws.env, state, called)
    # A root already holding exactly its cut was written by a move killed before it ended.
    written = {folder: _addresses(store.read(folder)) for folder in split}
    for folder, cut in split.items():
        if written[folder] and written[folder] != _addresses(cut):
            raise Refused(
                f"{store.where(folder)} already holds other state, and a one-root state is "
                f"beside it ({store.where('')}); nothing was changed: compare the two"
            )
    for folder, cut in split.items():
        if not written[folder]:
            store.write(folder, cut)
    kept = store.set_aside()
    return {folder: len(cut["resources"]) for folder, cut in split.items()}, kept


def require_region_roots(env: Environment, env_file: Path) -> None:
    """move-state's precondition, asked before anything is rendered."""
    if env.layout != "region-roots":
        raise UsageError(
            f"move-state moves {env.name}'s one-root state into a root per region: set "
            f"`layout: region-roots` in {env_file} first (docs/region-roots.md)"
        )


def _addresses(state: dict | None) -> list[str]:
    return sorted(states.resource_address(entry) for entry in (state or {}).get("resources", []))


def _refuse_an_unmoved_state(ws: Workspace) -> None:
    """A region-roots environment whose one-root state was not moved would be planned as new:
    every resource created again beside the running ones."""
    if ws.env.layout == "one-root":
        return
    store = states_of(ws)
    state = store.read("")
    if state is None or state.get("resources"):
        raise Refused(
            f"{store.where('')} holds {ws.env.name}'s one-root state: move it into the region "
            f"roots first with `payinfra move-state {ws.env.name}`; nothing was changed"
        )
