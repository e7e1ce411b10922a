"""The reference stack's Terraform state, read only: from a local file or from `s3://bucket/key`.

Nothing here writes: a state is read whole into memory (its object is never locked, copied or
changed), and whatever is wrong with it is one `AdoptionSourceError` naming the source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from payinfra.errors import AdoptionSourceError

S3_SCHEME = "s3://"
# Terraform has written state format 4 since 0.12; an older state is not one terraform 1.x reads.
STATE_FORMAT = 4


def read_source(source: str, s3_client: Any = None) -> dict:
    """The state at `source` as a dict, checked to be a Terraform state of format 4."""
    return parse_state(read_text(source, s3_client), source)


def read_text(source: str, s3_client: Any = None) -> str:
    """The state's text as stored (a backup keeps it byte for byte)."""
    return _read_s3(source, s3_client) if source.startswith(S3_SCHEME) else _read_file(source)


def parse_state(text: str, source: str) -> dict:
    """A state's text as a dict, checked to be a Terraform state of format 4."""
    try:
        state = json.loads(text)
    except ValueError:
        raise AdoptionSourceError(f"{source}: not a Terraform state (not JSON)") from None
    if not isinstance(state, dict) or "resources" not in state or "version" not in state:
        raise AdoptionSourceError(f"{source}: not a Terraform state (no version and resources)")
    if state["version"] != STATE_FORMAT:
        raise AdoptionSourceError(
            f"{source}: state format {state['version']!r}; terraform 1.x writes {STATE_FORMAT}"
        )
    if not isinstance(state["resources"], list) or not state["resources"]:
        raise AdoptionSourceError(f"{source}: the state holds no resource: nothing to adopt")
    return state


def _read_file(source: str) -> str:
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AdoptionSourceError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise AdoptionSourceError(f"{source}: a folder, not a state file") from None
    except UnicodeDecodeError:
        raise AdoptionSourceError(f"{source}: not a Terraform state (not text)") from None
    except OSError as err:
        raise AdoptionSourceError(f"{source}: cannot be read ({reason(err)})") from None


def s3_location(source: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://BUCKET/KEY` source."""
    bucket, _, key = source.removeprefix(S3_SCHEME).partition("/")
    if not bucket or not key:
        raise AdoptionSourceError(f"{source}: an S3 source is s3://BUCKET/KEY")
    return bucket, key


def _read_s3(source: str, s3_client: Any) -> str:
    bucket, key = s3_location(source)
    if s3_client is None:
        raise AdoptionSourceError(f"{source}: no S3 client to read it with")
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return str(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise AdoptionSourceError(f"{source}: not a Terraform state (not text)") from None
    except Exception as err:  # botocore's errors: one line naming the source, never a traceback
        raise AdoptionSourceError(f"{source}: cannot be read ({reason(err)})") from None


def reason(err: BaseException) -> str:
    """An error's code (AWS's) or its OS reason, for one line."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return getattr(err, "strerror", None) or type(err).__name__
