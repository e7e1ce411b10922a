"""payinfra: per-environment YAML in, plain Terraform for a two-region payment stack out."""

__version__ = "0.1.0"
