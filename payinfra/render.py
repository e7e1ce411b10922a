"""Turn a validated Environment into the files of a Terraform root: a pure function."""

from __future__ import annotations

from pathlib import Path

import jinja2

from payinfra import assets
from payinfra.config import Environment, Region
from payinfra.hcl import Hcl, expression, identifier, literal, quote

MODULES = ("network",)
ROOT_TEMPLATES = ("backend.tf", "main.tf", "outputs.tf", "providers.tf", "versions.tf")
TERRAFORM_MIN = "1.6"
# The S3 backend's native lock file (`use_lockfile`) arrived in Terraform 1.10.
TERRAFORM_MIN_S3_LOCKFILE = "1.10"
AWS_PROVIDER_CONSTRAINT = "~> 5.100"

Files = dict[str, str]


def render_environment(env: Environment) -> Files:
    """Every generated file of `out/<env>/`, keyed by relative path, in sorted order."""
    context = _root_context(env)
    jinja = _jinja(assets.templates_dir() / "root")
    files: Files = {
        name: jinja.get_template(f"{name}.j2").render(context) for name in ROOT_TEMPLATES
    }
    for module in MODULES:
        files.update(_module_files(module))
    return dict(sorted(files.items()))


def _module_files(module: str) -> Files:
    """Modules are static Terraform: copied verbatim, configured only through their variables."""
    folder = assets.templates_dir() / "modules" / module
    return {
        f"modules/{module}/{path.name}": path.read_text(encoding="utf-8")
        for path in sorted(folder.glob("*.tf"))
    }


def _jinja(folder: Path) -> jinja2.Environment:
    jinja = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_only_hcl,
    )
    jinja.filters["hcl"] = literal
    return jinja


def _only_hcl(value: object) -> object:
    if isinstance(value, str) and not isinstance(value, Hcl):
        raise TypeError(f"template interpolates a raw string {value!r}; pipe it through `hcl`")
    return value


# ---- Root module context ----


def _root_context(env: Environment) -> dict:
    regions = [_region_context(env, region) for region in env.regions]
    return {
        "terraform_min": literal(
            f">= {TERRAFORM_MIN_S3_LOCKFILE if env.backend.type == 's3' else TERRAFORM_MIN}"
        ),
        "aws_constraint": literal(AWS_PROVIDER_CONSTRAINT),
        "backend": _backend_context(env),
        "regions": regions,
        "outputs": _outputs(env),
    }


def _network_module(region: Region) -> Hcl:
    return identifier(f"network_{region.alias}")


def _per_region(env: Environment, attribute: str) -> Hcl:
    """A map from region name to one network module output, laid out for an output block."""
    values = {
        region.name: expression(f"module.{_network_module(region)}.{attribute}")
        for region in env.regions
    }
    return literal(values, indent=2)


def _outputs(env: Environment) -> list[dict[str, Hcl]]:
    return [
        {
            "name": quote("vpc_ids"),
            "description": literal("VPC id per region."),
            "value": _per_region(env, "vpc_id"),
        },
        {
            "name": quote("private_subnet_ids"),
            "description": literal("Private subnet ids per region, keyed by availability zone."),
            "value": _per_region(env, "private_subnet_ids"),
        },
    ]


def _region_context(env: Environment, region: Region) -> dict:
    return {
        "name": literal(region.name),
        "provider": expression(f"aws.{identifier(region.alias)}"),
        "alias": literal(region.alias),
        "default_tags": literal({**env.common_tags(), "Region": region.name}, indent=4),
        "network_label": quote(_network_module(region)),
        "network": {
            "name": literal(f"{env.name_prefix}-{region.name}"),
            "cidr_block": literal(region.cidr),
            "public_subnets": literal(dict(zip(region.azs, region.public_subnets)), indent=2),
            "private_subnets": literal(dict(zip(region.azs, region.private_subnets)), indent=2),
            "nat_mode": literal(env.nat_mode(region)),
            "flow_log_retention_days": literal(env.network.flow_log_retention_days),
        },
    }


def _backend_context(env: Environment) -> dict[str, Hcl] | None:
    backend = env.backend
    if backend.type == "local":
        return None
    return {
        "bucket": literal(backend.bucket),
        "key": literal(f"{backend.key_prefix}/{env.name}/terraform.tfstate"),
        "region": literal(backend.region),
    }
