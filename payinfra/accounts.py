"""Which AWS account the current credentials act in, after the YAML's role is assumed: checked
before terraform runs, so dev's credentials can never plan or apply prod (and the reverse).

The providers carry `allowed_account_ids` too; this check fails earlier, before any backend or
provider call, and names both accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from payinfra.errors import PayinfraError, Refused


@dataclass(frozen=True)
class Target:
    """Where and as whom to ask: the emulator endpoint (or None for AWS), a region, the role."""

    region: str
    endpoint: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str = "payinfra"
    credentials: tuple[str, str] | None = None  # (access key, secret) for the emulator


def session(target: Target) -> Any:
    """A boto3 session acting as `target.role_arn` (if any); clients take `target.endpoint`."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=target.credentials[0] if target.credentials else None,
        aws_secret_access_key=target.credentials[1] if target.credentials else None,
        region_name=target.region,
    )
    if not target.role_arn:
        return session
    assumed = session.client("sts", endpoint_url=target.endpoint).assume_role(
        RoleArn=target.role_arn,
        RoleSessionName=target.session_name,
        **({"ExternalId": target.external_id} if target.external_id else {}),
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
        region_name=target.region,
    )


def caller_account(target: Target) -> str:
    """The account id the credentials act in once `target.role_arn` (if any) is assumed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        sts = session(target).client("sts", endpoint_url=target.endpoint)
        return str(sts.get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as exc:
        role = f" assuming {target.role_arn}" if target.role_arn else ""
        raise PayinfraError(
            f"cannot tell which AWS account the credentials act in{role}: {exc}"
        ) from None


def require_account(name: str, expected: str, target: Target, source: str) -> None:
    """Refuse (exit 3) unless the credentials act in `expected`."""
    actual = caller_account(target)
    if actual != expected:
        raise Refused(
            f"{name} runs in AWS account {expected} (aws.account_id in {source}), but the "
            f"credentials act in account {actual}; nothing was changed. Use {name}'s credentials "
            "or role"
        )
