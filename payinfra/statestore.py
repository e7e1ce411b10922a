"""Where an environment's Terraform states live, read and written without terraform, for
`payinfra move-state`: a `terraform.tfstate` beside each root (local backend), or an object
under the S3 backend's key prefix (`<key_prefix>/<env>/[<root>/]terraform.tfstate`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from payinfra import accounts, writer
from payinfra.config import Environment
from payinfra.errors import Refused, StateUnreachable
from payinfra.render.root import state_bucket, state_key
from payinfra.states import LOCAL_STATE, read_local_state, read_state
from payinfra.workspace import Workspace, backend_target

# Beside the one-root state's place: where `move-state` keeps it (never overwritten).
ONE_ROOT_BACKUP_SUFFIX = ".one-root-backup"


class States(Protocol):
    def where(self, folder: str) -> str: ...

    def read(self, folder: str) -> dict | None:
        """The state of the root in `folder` ("" for the one root): {} when there is none,
        None when what is there is no state."""

    def write(self, folder: str, state: dict) -> None: ...

    def set_aside(self) -> str:
        """Keep the one-root state under its backup name; where it went."""


class LocalStates:
    def __init__(self, tree: Path):
        self.tree = tree

    def where(self, folder: str) -> str:
        return str(self.tree / folder / LOCAL_STATE)

    def read(self, folder: str) -> dict | None:
        return read_local_state(self.tree / folder / LOCAL_STATE)

    def write(self, folder: str, state: dict) -> None:
        writer.replace_file(self.tree / folder / LOCAL_STATE, json.dumps(state, indent=2) + "\n")

    def set_aside(self) -> str:
        source = self.tree / LOCAL_STATE
        backup = self.tree / (LOCAL_STATE + ONE_ROOT_BACKUP_SUFFIX)
        if backup.exists():
            raise Refused(f"{backup} already exists; nothing was changed: move it away first")
        source.rename(backup)
        return str(backup)


class S3States:
    """Each root's state object: in the bucket of its region (backend.region_buckets) or the
    environment's; `s3(region)` is a client acting in that region."""

    def __init__(self, env: Environment, s3: Callable[[str], Any]):
        self.env, self.s3 = env, s3

    def key(self, folder: str) -> str:
        return state_key(self.env, folder or None)

    def place(self, folder: str) -> tuple[Any, str]:
        """(client, bucket) of the root in `folder`'s state."""
        bucket, region = state_bucket(self.env, folder or None)
        return self.s3(region or self.env.primary.name), bucket or ""

    def where(self, folder: str) -> str:
        return f"s3://{self.place(folder)[1]}/{self.key(folder)}"

    def read(self, folder: str) -> dict | None:
        from botocore.exceptions import BotoCoreError, ClientError

        s3, bucket = self.place(folder)
        try:
            body = s3.get_object(Bucket=bucket, Key=self.key(folder))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return {}
            raise StateUnreachable(f"cannot read {self.where(folder)}: {error}") from None
        except BotoCoreError as error:
            raise StateUnreachable(f"cannot read {self.where(folder)}: {error}") from None
        return read_state(body.decode("utf-8"))

    def write(self, folder: str, state: dict) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        body = (json.dumps(state, indent=2) + "\n").encode("utf-8")
        s3, bucket = self.place(folder)
        try:
            s3.put_object(Bucket=bucket, Key=self.key(folder), Body=body)
        except (BotoCoreError, ClientError) as error:
            raise StateUnreachable(f"cannot write {self.where(folder)}: {error}") from None

    def set_aside(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        source, backup = self.key(""), self.key("") + ONE_ROOT_BACKUP_SUFFIX
        s3, bucket = self.place("")
        try:
            taken = s3.list_objects_v2(Bucket=bucket, Prefix=backup).get("KeyCount")
            if not taken:
                copied = {"Bucket": bucket, "Key": source}
                s3.copy_object(Bucket=bucket, Key=backup, CopySource=copied)
                s3.delete_object(Bucket=bucket, Key=source)
        except (BotoCoreError, ClientError) as error:
            raise StateUnreachable(f"cannot set {self.where('')} aside: {error}") from None
        if taken:
            raise Refused(
                f"s3://{bucket}/{backup} already exists; nothing was changed: move it away first"
            )
        return f"s3://{bucket}/{backup}"


def states_of(ws: Workspace) -> States:
    """The states of `ws`'s environment, as its backend keeps them."""
    env = ws.env
    if env.backend.type == "local":
        return LocalStates(ws.tree)
    target = backend_target(env, None)
    session = accounts.session(target)
    clients: dict[str, Any] = {}

    def s3(region: str) -> Any:
        if region not in clients:
            clients[region] = session.client("s3", region_name=region, endpoint_url=target.endpoint)
        return clients[region]

    return S3States(env, s3)
