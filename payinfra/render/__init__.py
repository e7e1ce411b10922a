"""Turn a validated Environment into the files of a Terraform root: a pure function."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import jinja2

from payinfra import assets
from payinfra.config import Environment
from payinfra.hcl import Attributes, Hcl, expression, identifier, literal
from payinfra.package import build_zip
from payinfra.render.calls import module_call
from payinfra.render.constants import (
    AWS_PROVIDER_CONSTRAINT,
    BOOTSTRAP_TEMPLATES,
    DOMAIN_MODULES,
    LAMBDA_PACKAGE,
    MODULES,
    ROOT_TEMPLATES,
    SHARED_MODULES,
    STATE_BUCKET_MODULE,
    STATE_IDENTITY_OUTPUT,
    TERRAFORM_MIN,
    Files,
)
from payinfra.render.regions import (
    LINKS_FOLDER,
    links_context,
    region_folder,
    region_root_context,
    root_of,
)
from payinfra.render.root import provider_context, replica_imports, root_context

__all__ = ["STATE_IDENTITY_OUTPUT", "Files", "render_bootstrap", "render_environment"]


def render_environment(
    env: Environment,
    adopted_replicas: Collection[str] = (),
    adoption: Sequence[tuple[str, str]] = (),
) -> Files:
    """Every generated file of `out/<env>/`, keyed by relative path, in sorted order.
    `adopted_replicas`: regions whose table replica exists as a `replica` block of the table in
    the state (an earlier payinfra's): `imports.tf` adopts each into its table-replica module.
    `adoption`: (address, id) of each reference-stack resource `payinfra adopt` takes over:
    `adoption.tf` imports them."""
    if env.layout == "region-roots":
        files = _region_roots(env, adoption)
    else:
        files = _one_root(env, adopted_replicas, adoption)
    for module in (*MODULES, *SHARED_MODULES):
        files.update(_module_files(module))
    for module in DOMAIN_MODULES if env.api.domain else ():
        files.update(_module_files(module))
    files[LAMBDA_PACKAGE] = build_zip(assets.lambda_source_dir())
    return dict(sorted(files.items()))


def _one_root(
    env: Environment, adopted_replicas: Collection[str], adoption: Sequence[tuple[str, str]]
) -> Files:
    context = root_context(env)
    jinja = _jinja(assets.templates_dir() / "root")
    files: Files = {
        name: jinja.get_template(f"{name}.j2").render(context) for name in ROOT_TEMPLATES
    }
    if adopted_replicas:
        files["imports.tf"] = jinja.get_template("imports.tf.j2").render(
            imports=replica_imports(env, adopted_replicas)
        )
    if adoption:
        files["adoption.tf"] = jinja.get_template("adoption.tf.j2").render(
            imports=[{"to": expression(to), "id": literal(id_)} for to, id_ in adoption]
        )
    return files


def _region_roots(env: Environment, adoption: Sequence[tuple[str, str]]) -> Files:
    """A root per region and `links/` (docs/region-roots.md); an adoption's import blocks go to
    the root that holds each address."""
    jinja = _jinja(assets.templates_dir() / "root")
    contexts = {region_folder(region): region_root_context(env, region) for region in env.regions}
    contexts[LINKS_FOLDER] = links_context(env)
    files: Files = {}
    for folder, context in contexts.items():
        for name in ROOT_TEMPLATES:
            text = jinja.get_template(f"{name}.j2").render(context)
            if text.strip():
                files[f"{folder}/{name}"] = text
        imports = [
            {"to": expression(to), "id": literal(id_)}
            for to, id_ in adoption
            if root_of(env, to) == folder
        ]
        if imports:
            files[f"{folder}/adoption.tf"] = jinja.get_template("adoption.tf.j2").render(
                imports=imports
            )
    return files


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


_RESOURCE_ADDRESS = re.compile(r"(module\.[a-z0-9_]+\.)*aws_[a-z0-9_]+\.[a-z0-9_]+")


def _resource_address(address: str) -> str:
    """An import's `to` is an address, not a string: only a plain resource address passes."""
    if not _RESOURCE_ADDRESS.fullmatch(address):
        raise ValueError(f"not a resource address: {address!r}")
    return address


def render_bootstrap(
    env: Environment, imports: Mapping[str, str] | None = None, *, region: str | None = None
) -> Files:
    """A small root that creates the S3 state bucket the YAML names (`region`: the bucket of
    that region's root, backend.region_buckets), its state kept locally; `imports`
    ({address: id}) adopts what an interrupted bootstrap left in AWS."""
    backend = env.backend
    bucket, bucket_region = backend.state_bucket(region)
    if bucket is None or bucket_region is None:
        raise ValueError("bootstrap renders only for an s3 backend")
    context = {
        "terraform_min": literal(f">= {TERRAFORM_MIN}"),
        "aws_constraint": literal(AWS_PROVIDER_CONSTRAINT),
        "backend": None,
        "providers": [provider_context(env, bucket_region, None, env.backend_role_arn)],
        "module": module_call(
            identifier("state_bucket"),
            STATE_BUCKET_MODULE,
            {"aws": expression("aws")},
            Attributes(
                bucket=bucket,
                environment=env.name,
                noncurrent_version_expiration_days=env.storage.noncurrent_version_expiration_days,
                **({"emulator_compatible": True} if env.emulator else {}),
            ),
        ),
    }
    jinja = _jinja(assets.templates_dir() / "root")
    files: Files = {
        name: jinja.get_template(f"{name}.j2").render(context) for name in BOOTSTRAP_TEMPLATES
    }
    files["main.tf"] = jinja.get_template("bootstrap-main.tf.j2").render(context)
    if imports:
        adopted = [
            {"to": expression(_resource_address(address)), "id": literal(imports[address])}
            for address in sorted(imports)
        ]
        files["imports.tf"] = jinja.get_template("bootstrap-imports.tf.j2").render(imports=adopted)
    for module in (STATE_BUCKET_MODULE, *SHARED_MODULES):
        files.update(_module_files(module))
    return dict(sorted(files.items()))
