"""What an interrupted `payinfra bootstrap` left in AWS and not in its state, found read-only.

Terraform records a resource in its state only after the call that created it returns, and a
local state is written when the run ends: a bootstrap killed half-way (a cancelled CI job) can
leave the state bucket, its key and its alias in AWS with an empty state beside them. Run again,
Terraform would create a second key and fail on the bucket's name. So before it plans, bootstrap
asks AWS for each of them that its state lacks, by names payinfra derives (the bucket's, the
alias `alias/<bucket>`, the key's `Name` tag `<bucket>-key`), and the root imports what it finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from payinfra import accounts
from payinfra.errors import AccountUnknown, Refused

KEY = "module.state_bucket.module.key.aws_kms_key.this"
ALIAS = "module.state_bucket.module.key.aws_kms_alias.this"
BUCKET = "module.state_bucket.aws_s3_bucket.this"
# Created only by those calls: each of the others is a PUT that Terraform may simply repeat.
ADOPTABLE = (KEY, ALIAS, BUCKET)


@dataclass(frozen=True)
class Found:
    imports: dict[str, str]  # address -> import id
    spare_keys: list[str]  # other keys tagged for this bucket (from earlier interrupted runs)


def find(target: accounts.Target, bucket: str, in_state: set[str]) -> Found:
    """Import ids for the adoptable resources missing from the state but present in AWS."""
    missing = [address for address in ADOPTABLE if address not in in_state]
    if not missing:
        return Found({}, [])
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = accounts.session(target)
        s3, kms = (session.client(name, endpoint_url=target.endpoint) for name in ("s3", "kms"))
        imports: dict[str, str] = {}
        if BUCKET in missing and _bucket_is_ours(s3, bucket):
            imports[BUCKET] = bucket
        alias_target = _alias_target(kms, f"alias/{bucket}")
        if ALIAS in missing and alias_target:
            imports[ALIAS] = f"alias/{bucket}"
        keys = _tagged_keys(kms, f"{bucket}-key") if KEY in missing else []
        key = alias_target if alias_target in keys else (keys[0] if keys else None)
        if KEY in missing and key:
            imports[KEY] = key
        return Found(imports, sorted(set(keys) - {key}))
    except (BotoCoreError, ClientError) as error:
        raise AccountUnknown(
            f"cannot look for what an earlier bootstrap of {bucket} created: {error}"
        ) from None


def _bucket_is_ours(s3: Any, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False
        if code in ("403", "AccessDenied"):
            raise Refused(
                f"the state bucket name {bucket} is taken by another account (or this one may "
                "not read it); choose another backend.bucket"
            ) from None
        raise
    return True


def _alias_target(kms: Any, alias: str) -> str | None:
    for page in kms.get_paginator("list_aliases").paginate():
        for entry in page["Aliases"]:
            if entry["AliasName"] == alias:
                return str(entry.get("TargetKeyId")) if entry.get("TargetKeyId") else None
    return None


def _tagged_keys(kms: Any, name: str) -> list[str]:
    """Usable customer-managed keys whose Name tag is `name`, oldest first."""
    found = []
    for page in kms.get_paginator("list_keys").paginate():
        for entry in page["Keys"]:
            metadata = kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
            if metadata.get("KeyManager") != "CUSTOMER" or metadata.get("KeyState") != "Enabled":
                continue
            tags = kms.list_resource_tags(KeyId=entry["KeyId"]).get("Tags", [])
            if {"TagKey": "Name", "TagValue": name} in tags:
                found.append((metadata.get("CreationDate"), str(entry["KeyId"])))
    return [key for _, key in sorted(found, key=lambda item: (str(item[0]), item[1]))]
