"""payinfra: per-environment YAML in, plain Terraform for a two-region payment stack out."""

__version__ = "0.1.0"

import os

# pydantic looks up the plugins of every installed distribution each time a model is built: a
# third of payinfra's start-up. payinfra's models use none, and no plugin installed beside it
# may observe or change how an environment validates. Set before any model is built.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
