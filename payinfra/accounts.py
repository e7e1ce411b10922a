"""Which AWS account the current credentials act in, after the YAML's role is assumed: checked
before terraform runs, so dev's credentials can never plan or apply prod (and the reverse).

The providers carry `allowed_account_ids` too; this check fails earlier, before any backend or
provider call, and names both accounts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from payinfra.errors import AccountUnknown, Refused, RoleNotAssumed


@dataclass(frozen=True)
class Target:
    """Where and as whom to ask: the emulator endpoint (or None for AWS), a region, the role."""

    region: str
    endpoint: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str = "payinfra"
    credentials: tuple[str, str] | None = None  # (access key, secret) for the emulator


# STS is asked before anything else runs: an endpoint that never answers must not hold a
# command for botocore's default of minutes (60 s reads, retried). At most about
# 2 x (3 + 5) s plus a short back-off.
STS_TIMEOUTS = {"connect_timeout": 3, "read_timeout": 5}
STS_ATTEMPTS = 2

# The read-only reports (status, preflight) ask many questions: each is bounded, so a region that
# does not answer is reported, not waited on.
REPORT_TIMEOUTS = {"connect_timeout": 3, "read_timeout": 10}
REPORT_ATTEMPTS = 2


def _sts_config() -> Any:
    from botocore.config import Config

    return Config(**STS_TIMEOUTS, retries={"mode": "standard", "max_attempts": STS_ATTEMPTS})


def sts_client(session: Any, target: Target) -> Any:
    return session.client("sts", endpoint_url=target.endpoint, config=_sts_config())


@cache
def _data_loader(search_path: str | None) -> Any:
    """botocore's service models and endpoint data, read once per process: each new session
    would otherwise parse them again (about 0.1 s of JSON per session, and a command opens one
    per region and per assumed role)."""
    from botocore.loaders import create_loader

    return create_loader(search_path)


def new_session(**settings: Any) -> Any:
    """A boto3 session (`settings`: its credentials and region) sharing the process's data."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    loader = _data_loader(core.get_config_variable("data_path"))
    core.register_component("data_loader", loader)
    session = boto3.session.Session(botocore_session=core, **settings)
    # boto3 adds its own data folder to the loader's search path for every new session.
    loader.search_paths[:] = dict.fromkeys(loader.search_paths)
    return session


def session(target: Target) -> Any:
    """A boto3 session acting as `target.role_arn` (if any); clients take `target.endpoint`."""
    session = new_session(
        aws_access_key_id=target.credentials[0] if target.credentials else None,
        aws_secret_access_key=target.credentials[1] if target.credentials else None,
        region_name=target.region,
    )
    if not target.role_arn:
        return session
    assumed = sts_client(session, target).assume_role(
        RoleArn=target.role_arn,
        RoleSessionName=target.session_name,
        **({"ExternalId": target.external_id} if target.external_id else {}),
    )["Credentials"]
    return new_session(
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
        region_name=target.region,
    )


# client(service, region): a bounded boto3 client acting as a Target.
Clients = Callable[[str, str], Any]


def clients(target: Target) -> Clients:
    """client(service, region) for the read-only reports, acting as `target`, each call bounded;
    one client per service and region (making one costs more than most calls)."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        acting = session(target)
    except (BotoCoreError, ClientError) as error:
        raise RoleNotAssumed(f"cannot assume {target.role_arn}: {error}") from None
    config = Config(
        **REPORT_TIMEOUTS, retries={"mode": "standard", "max_attempts": REPORT_ATTEMPTS}
    )

    @cache
    def client(service: str, region: str) -> Any:
        return acting.client(
            service, region_name=region, endpoint_url=target.endpoint, config=config
        )

    return client


def caller_account(target: Target) -> str:
    """The account id the credentials act in once `target.role_arn` (if any) is assumed. Any
    failure (no credentials, a refusal, a timeout, an answer that is not STS's) is one
    PayinfraError, within the bounded time above."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    role = f" assuming {target.role_arn}" if target.role_arn else ""
    where = f" at {target.endpoint}" if target.endpoint else ""
    try:
        answer = sts_client(session(target), target).get_caller_identity()
        account = answer["Account"]
    except (BotoCoreError, ClientError, ResponseParserError) as exc:
        detail = _first_line(exc)
        raise AccountUnknown(
            f"cannot tell which AWS account the credentials act in{role}: STS{where} "
            f"answered: {detail}"
        ) from None
    except (KeyError, TypeError) as exc:
        raise AccountUnknown(
            f"cannot tell which AWS account the credentials act in{role}: STS{where} gave no "
            f"account ({type(exc).__name__}); is that endpoint really AWS STS?"
        ) from None
    if not isinstance(account, str) or not account.isdigit():
        raise AccountUnknown(f"STS{where} answered {account!r} for the account id; not an account")
    return account


def unreachable_regions(
    target: Target, regions: Sequence[str], others: Sequence[str] = ()
) -> dict[str, str]:
    """{region: what happened} for each of `regions` whose STS cannot be reached or answers with
    a server error while another region's (of `regions`, else of `others`, asked only then)
    answers: a regional outage. Each probe is bounded as above. Other answers (no credentials,
    a refusal), and no region answering at all (no network, a wrong endpoint), are not one
    region's outage: the commands report those."""
    found = {region: why for region in regions if (why := _outage(target, region))}
    if len(found) < len(regions):
        return found
    answering = any(_outage(target, other) is None for other in others)
    return found if answering else {}


def _outage(target: Target, region: str) -> str | None:
    """What made `region`'s STS look dark, or None when it answered (or refused: not dark)."""
    from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

    here = dataclasses.replace(target, region=region)
    try:
        sts_client(session(here), here).get_caller_identity()
    except (ConnectionError, HTTPClientError) as exc:
        return _first_line(exc)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            return _first_line(exc)
    except (BotoCoreError, KeyError, ValueError):
        pass  # no credentials, or an answer that is not STS's (a portal's page): not an outage
    return None


def _first_line(exc: Exception) -> str:
    """What botocore said, in one line (its class name when it said nothing)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def require_account(
    name: str, expected: str, target: Target, source: str, actual: str | None = None
) -> None:
    """Refuse (exit 3) unless the credentials act in `expected` (`actual`, when already known)."""
    actual = actual or caller_account(target)
    if actual != expected:
        raise Refused(
            f"{name} runs in AWS account {expected} (aws.account_id in {source}), but the "
            f"credentials act in account {actual}; nothing was changed. Use {name}'s credentials "
            "or role"
        )
