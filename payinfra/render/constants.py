"""What the rendered roots are made of: the module folders, the root templates, the version
constraints, the Lambda package's place and the state's identity output."""

from __future__ import annotations

MODULES = (
    "bucket-replication",
    "compute",
    "data",
    "database",
    "network",
    "observability",
    "peering",
    "replication-alarms",
    "table-replica",
)

# Submodules that the modules above (and the state bucket's) call for a piece they share.
SHARED_MODULES = ("kms-key",)

# Only when the YAML asks for them (api.domain).
DOMAIN_MODULES = ("api-domain", "dns")

# With a root per region (layout: region-roots): out/ENV/regions/R/ for each region, and the
# root that joins them.
REGIONS_FOLDER = "regions"
LINKS_FOLDER = "links"

ROOT_TEMPLATES = ("backend.tf", "main.tf", "moves.tf", "outputs.tf", "providers.tf", "versions.tf")

TERRAFORM_MIN = "1.6"

# The S3 backend's native lock file (`use_lockfile`) arrived in Terraform 1.10.
TERRAFORM_MIN_S3_LOCKFILE = "1.10"

AWS_PROVIDER_CONSTRAINT = "~> 5.100"

LAMBDA_PACKAGE = "build/payment_processor.zip"

LAMBDA_HANDLER = "payment_processor.app.handler"

# The root output in which every state records the environment it belongs to and its protection.
STATE_IDENTITY_OUTPUT = "payinfra_environment"

Files = dict[str, str | bytes]

BOOTSTRAP_TEMPLATES = ("backend.tf", "providers.tf", "versions.tf")

STATE_BUCKET_MODULE = "state-bucket"
