"""Environment configuration: YAML in, a validated `Environment` out; nothing downstream ever sees
a raw dict. Importing goes one way: loading -> rules -> models."""

from payinfra.config.loading import list_environments, load_environment
from payinfra.config.models import (
    ALARM_DEFAULTS,
    PROTECTED_MIN_RETENTION_DAYS,
    AlarmSettings,
    Environment,
    Lambda,
    Region,
)

__all__ = [
    "ALARM_DEFAULTS",
    "PROTECTED_MIN_RETENTION_DAYS",
    "AlarmSettings",
    "Environment",
    "Lambda",
    "Region",
    "list_environments",
    "load_environment",
]
