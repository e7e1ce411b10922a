"""The environment as a root per region plus `links/` (docs/region-roots.md): a region's root
holds what runs in that region and reads no other region, neither its APIs nor its state;
`links/` holds what joins regions and reads the region roots' states.

A region root names what another region's root holds (the home table, the primary database)
from the YAML and its own account, and is applied after that root instead of referring to it.
"""

from __future__ import annotations

from payinfra.config import Environment, Region
from payinfra.hcl import Attributes, Hcl, expression, identifier, literal, quote
from payinfra.render.calls import (
    Read,
    compute,
    data,
    database,
    label,
    network,
    observability,
    provider_alias,
    ref,
    table_replica,
)
from payinfra.render.constants import LINKS_FOLDER, REGIONS_FOLDER
from payinfra.render.root import (
    backend_context,
    environment_outputs,
    invoke_policy,
    link_calls,
    output_blocks,
    provider_context,
    retired_addresses,
    s3_state,
    sections,
    state_identity_output,
    table_replica_regions,
    versions_context,
)

# The kinds of module call a region's root holds; every other call is in `links/`.
REGION_KINDS = ("network", "data", "table_replica", "database", "compute", "observability")


def region_folder(region: Region) -> str:
    return f"{REGIONS_FOLDER}/{region.name}"


def root_folders(env: Environment) -> list[str]:
    """Every root of the environment, in the order they apply: the home region's (the table)
    and the primary's (the database) before the others, `links/` last."""
    first = [env.home.name, env.primary.name]
    ordered = [*dict.fromkeys(first), *(r.name for r in env.regions if r.name not in first)]
    return [*(f"{REGIONS_FOLDER}/{name}" for name in ordered), LINKS_FOLDER]


def root_of(env: Environment, address: str) -> str:
    """The folder of the root that holds a resource address (`module.<label>.…`)."""
    module_label = address.split(".")[1] if address.startswith("module.") else ""
    for region in env.regions:
        if module_label in {label(kind, region) for kind in REGION_KINDS}:
            return region_folder(region)
    return LINKS_FOLDER


def called_labels(env: Environment) -> dict[str, set[str]]:
    """{root folder: the label of every module call in it}; a region root outputs each."""
    contexts = {region_folder(region): region_root_context(env, region) for region in env.regions}
    contexts[LINKS_FOLDER] = links_context(env)
    return {
        folder: {
            str(call["name"]) for section in context["sections"] for call in section["modules"]
        }
        for folder, context in contexts.items()
    }


def region_root_context(env: Environment, region: Region) -> dict:
    """One region's root: one provider, the region's module calls, each call's outputs for
    `links/`, and the `removed` blocks of what the region retired."""
    standby = env.roles.get(region.name) == "standby"
    replica = region.name in table_replica_regions(env)
    calls = {
        "network": [network(env, region)],
        "data": [data(env, region)],
        "table_replicas": [table_replica(env, region, _home_table_arn(env))] if replica else [],
        "database": (
            [database(env, region, _primary_database_arn(env) if standby else None)]
            if region in env.workload_regions
            else []
        ),
        "compute": (
            [compute(env, region, to_top="../../", one_root=False)] if region in env.serving else []
        ),
        "observability": [observability(env, region)] if region in env.serving else [],
    }
    calls = {key: [_rebased(call, "../../") for call in found] for key, found in calls.items()}
    held = [
        (call["name"], f"What {region.name}'s {call['folder']} holds, for links/.",
         expression(f"module.{call['name']}"))
        for found in calls.values() for call in found
    ]  # fmt: skip
    return {
        **versions_context(env),
        "backend": backend_context(env, region_folder(region)),
        "providers": [provider_context(env, region.name, region.alias, env.aws.role_arn)],
        "identity": provider_alias(region) if standby or replica else None,
        "remote_states": [],
        "sections": sections(calls),
        "moved": [],
        "removed": [expression(address) for address in retired_addresses(env, region)],
        "outputs": output_blocks([*held, state_identity_output(env)]),
        "invoke": None,
    }


def links_context(env: Environment) -> dict:
    """`links/`: a provider per region, each region root's state, the modules that join
    regions and the environment's outputs."""
    read = _remote_reader(env)
    calls = link_calls(env, read)
    calls = {key: [_rebased(call, "../") for call in found] for key, found in calls.items()}
    return {
        **versions_context(env),
        "backend": backend_context(env, LINKS_FOLDER),
        "providers": [
            provider_context(env, region.name, region.alias, env.aws.role_arn)
            for region in env.regions
        ],
        "identity": None,
        "remote_states": [_remote_state(env, region) for region in env.regions],
        "sections": sections(calls),
        "moved": [],
        "removed": [],
        "outputs": environment_outputs(env, read),
        "invoke": invoke_policy(env, read),
    }


def _arn(service: str, region: Region, resource: str) -> Hcl:
    """An ARN in this root's partition and account, of a resource another root holds."""
    return expression(
        f"format({quote('arn:%s:' + service + ':%s:%s:' + resource)}, "
        f"data.aws_partition.this.partition, {quote(region.name)}, "
        "data.aws_caller_identity.this.account_id)"
    )


def _home_table_arn(env: Environment) -> Hcl:
    return _arn("dynamodb", env.home, f"table/{env.table_name}")


def _primary_database_arn(env: Environment) -> Hcl:
    return _arn("rds", env.primary, f"db:{env.database_identifier(env.primary.name)}")


def _rebased(call: dict, to_top: str) -> dict:
    """A module call from a root `to_top` below the environment's folder, where modules/ is."""
    return {**call, "source": quote(f"{to_top}modules/{call['folder']}")}


def _remote_reader(env: Environment) -> Read:
    """`ref` for the calls in `links/`; a region root's call, read from that root's state."""
    owner = {
        label(kind, region): identifier(region.alias)
        for region in env.regions
        for kind in REGION_KINDS
    }

    def read(module: Hcl, output: str) -> Hcl:
        if module not in owner:
            return ref(module, output)
        return expression(f"data.terraform_remote_state.{owner[module]}.outputs.{module}.{output}")

    return read


def _remote_state(env: Environment, region: Region) -> dict[str, Hcl]:
    backend = env.backend
    if backend.type == "local":
        config = Attributes(path=f"../{region_folder(region)}/terraform.tfstate")
    else:
        config = s3_state(env, region_folder(region))
    return {
        "label": quote(region.alias),
        "backend": quote(backend.type),
        "config": literal(config, indent=2),
    }
