"""The emulator process: moto's server, with the one place where payinfra corrects moto (5.2) to
answer as AWS does, and region outages for failover drills. `payinfra emulator start` and the
test suite both run it.

Outages: every request names its region in its SigV4 signature (`Credential=KEY/DATE/REGION/...`).
A region taken dark (`payinfra emulator dark REGION`) answers each of its requests with 503
ServiceUnavailable, as an AWS region in an outage does, until it is brought back; global services
signed in us-east-1 (IAM, STS, Route 53's API) go dark with it. Every signed request is counted
per region, dark or not, so a test can prove that an action made no call to a dark region.

Stage updates: moto has no UpdateStage for API Gateway v2 (a 500, which the AWS provider retries
for many minutes); AWS updates a stage's settings in place, and so does this.

Stage tags: moto routes no tagging request for a stage's ARN (a 404) and keeps a stage's tags as
they were at its creation; AWS tags a stage like any resource, which adopting the reference's
`prod` stage needs, and so does this.

Function updates: moto's UpdateFunctionConfiguration drops KMSKeyArn and TracingConfig, and its
UpdateFunctionCode drops Architectures; AWS applies them to the function (adopting the
reference's function changes all three), and so does this.

Table encryption: moto's UpdateTable drops SSESpecification, so a table created with AWS-owned
encryption keeps it; AWS moves the table to the customer-managed key given, and so does this.

Log group keys: moto has no AssociateKmsKey / DisassociateKmsKey (a 500, retried by the AWS
provider for many minutes), which adopting a log group created without a key needs; AWS keeps the
key on the group, and so does this.

Global tables: moto keeps no replicas, so a write to a table is copied, `lag` seconds later
(0.5 s unless set: POST .../replication/lag/SECONDS), to the table of the same name in every
other region of the account that has one, as DynamoDB global tables do: last writer wins (by
write time), and a change to or from a dark region waits until the region is back. The copy is
the emulator's own (no signed request, not counted), so what a failover loses is measured.

Transactions: moto undoes a cancelled transaction by putting back the whole table as it was when
the transaction began, so a write that landed meanwhile (a replicated copy, or another client's)
was lost with it; in DynamoDB a cancelled transaction changes nothing and other writes stand.
Every write to a table, transactions and copies included, is therefore made one at a time.

Promotion: AWS stops reporting a promoted read replica's source
(ReadReplicaSourceDBInstanceIdentifier) and drops it from the source's replica list; moto keeps
both, so the AWS provider would see the promoted database as a replica again and re-promote it
on every apply (about a minute of waiting each time), and `payinfra status` would call it a
replica.

Replicas and resource ids: moto looks a cross-region read replica's subnet group up in its
source's region, and gives every instance the same DbiResourceId; AWS looks in the replica's own
region (where the group must be) and gives each instance its own id, and so does this.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

import moto.server
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.rds.models import DBInstance, RDSBackend
from moto.server import main

from payinfra.emulator import CONTROL_PATH

_SIGNED_REGION = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/")
_CONTROL = re.compile(
    rf"^{CONTROL_PATH}(?:/(?P<region>[a-z0-9-]+)/(?P<action>dark|light)|/(?P<reset>reset)"
    r"|/replication/lag/(?P<lag>[0-9]{1,3}(?:\.[0-9]{1,3})?))?$"
)


def promoted_replicas_forget_their_source() -> None:
    promote = RDSBackend.promote_read_replica

    def promote_and_detach(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        database = promote(self, db_kwargs)
        source_id = database.source_db_instance_identifier
        if source_id:
            database.source_db_instance_identifier = None
            try:
                source = self.find_db_from_id(source_id)
            except Exception:  # the source may be gone already; nothing to detach from
                return database
            for name in (database.db_instance_arn, database.db_instance_identifier):
                if name in source.replicas:
                    source.replicas.remove(name)
        return database

    RDSBackend.promote_read_replica = promote_and_detach  # type: ignore[method-assign]


def replicas_are_instances_of_their_own() -> None:
    """moto copies a cross-region replica from its source and applies the request's settings to
    the copy in order, the subnet group before the backend (and so the region) it belongs to:
    the group was looked up in the source's region, and found there only while both regions'
    groups had one name. The backend first, so the replica's region is its own throughout. And
    every moto instance has one DbiResourceId, by which the AWS provider reads an instance: a
    region holding two (a kept database beside a new generation's) answered with both, which the
    provider takes for none. Each instance gets its own, as in AWS."""
    create = RDSBackend.create_db_instance_read_replica
    initialise = DBInstance.__init__

    def create_in_own_region(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        if self.arn_regex.match(db_kwargs["source_db_instance_identifier"]):
            db_kwargs = {"backend": self, **db_kwargs}
        replica = create(self, db_kwargs)
        replica.dbi_resource_id = _resource_id()
        return replica

    def initialise_with_own_id(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        initialise(self, *args, **kwargs)
        self.dbi_resource_id = _resource_id()

    RDSBackend.create_db_instance_read_replica = create_in_own_region  # type: ignore[method-assign]
    DBInstance.__init__ = initialise_with_own_id  # type: ignore[method-assign]


def _resource_id() -> str:
    """An RDS DbiResourceId: `db-` and 26 upper-case letters and digits."""
    alphabet = string.ascii_uppercase + string.digits
    return "db-" + "".join(secrets.choice(alphabet) for _ in range(26))


# UpdateStage's body keys and the attributes moto's Stage keeps them in.
_STAGE_SETTINGS = {
    "accessLogSettings": "access_log_settings",
    "autoDeploy": "auto_deploy",
    "defaultRouteSettings": "default_route_settings",
    "description": "description",
    "routeSettings": "route_settings",
    "stageVariables": "stage_variables",
}


def stages_update_in_place() -> None:
    from datetime import datetime

    from moto.apigatewayv2.responses import ApiGatewayV2Response

    def update_stage(self: ApiGatewayV2Response) -> tuple[int, dict[str, str], str]:
        api_id, stage_name = self.path.split("/")[-3], unquote(self.path.split("/")[-1])
        stage = self.apigatewayv2_backend.get_stage(api_id, stage_name)
        changes = json.loads(self.body or "{}")
        for key, attribute in _STAGE_SETTINGS.items():
            if key in changes:
                setattr(stage, attribute, changes[key])
        stage.updated = datetime.now()
        return 200, {}, json.dumps(stage.to_json())

    ApiGatewayV2Response.update_stage = update_stage  # type: ignore[attr-defined]


_STAGE_ARN = re.compile(r"/apis/(?P<api_id>[^/]+)/stages/(?P<stage>[^/]+)$")


def stages_take_tags() -> None:
    from moto.apigatewayv2 import urls
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    stage_tags = r"{0}/v2/tags/(?P<arn>[^/]+)/apis/(?P<api>[^/]+)/stages/(?P<stage>[^/]+)$"
    urls.url_paths[stage_tags] = ApiGatewayV2Response.dispatch
    tag, untag = ApiGatewayV2Response.tag_resource, ApiGatewayV2Response.untag_resource

    def stage_of(self: ApiGatewayV2Response) -> Any:
        found = _STAGE_ARN.search(unquote(self.path.split("/tags/")[1]))
        if not found:
            return None
        return self.apigatewayv2_backend.get_stage(found["api_id"], unquote(found["stage"]))

    def tag_stage(self: ApiGatewayV2Response) -> Any:
        answer = tag(self)
        stage = stage_of(self)
        if stage is not None:
            stage.tags = {**(stage.tags or {}), **json.loads(self.body).get("tags", {})}
        return answer

    def untag_stage(self: ApiGatewayV2Response) -> Any:
        answer = untag(self)
        stage = stage_of(self)
        if stage is not None:
            keys = set(self.querystring.get("tagKeys") or [])
            stage.tags = {k: v for k, v in (stage.tags or {}).items() if k not in keys}
        return answer

    ApiGatewayV2Response.tag_resource = tag_stage  # type: ignore[method-assign]
    ApiGatewayV2Response.untag_resource = untag_stage  # type: ignore[method-assign]


def tables_change_encryption() -> None:
    from moto.dynamodb.responses import DynamoHandler

    update = DynamoHandler.update_table

    def update_table(self: DynamoHandler) -> Any:
        sse = self.body.get("SSESpecification")
        if sse:
            table = self.dynamodb_backend.get_table(self.body["TableName"])
            table.sse_specification = dict(sse) if sse.get("Enabled") else None
        return update(self)

    DynamoHandler.update_table = update_table  # type: ignore[method-assign]


# UpdateFunctionConfiguration's keys that moto ignores, and the attributes it keeps them in.
_FUNCTION_SETTINGS = {"KMSKeyArn": "kms_key_arn", "TracingConfig": "tracing_config"}


def functions_update_fully() -> None:
    from moto.awslambda.models import LambdaFunction

    configure, recode = LambdaFunction.update_configuration, LambdaFunction.update_function_code

    def update_configuration(
        self: LambdaFunction, config_updates: dict[str, Any]
    ) -> dict[str, Any]:
        for key, attribute in _FUNCTION_SETTINGS.items():
            if key in config_updates:
                setattr(self, attribute, config_updates[key])
        return configure(self, config_updates)

    def update_function_code(self: LambdaFunction, updated_spec: dict[str, Any]) -> dict[str, Any]:
        if updated_spec.get("Architectures"):
            self.architectures = list(updated_spec["Architectures"])
        return recode(self, updated_spec)

    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    LambdaFunction.update_function_code = update_function_code  # type: ignore[method-assign]


def log_groups_take_keys() -> None:
    from moto.logs.responses import LogsResponse

    def keyed(key_of: Callable[[LogsResponse], str | None]) -> Callable[[LogsResponse], str]:
        def change_key(self: LogsResponse) -> str:
            name = self._get_param("logGroupName")
            group = self.logs_backend._find_log_group(log_group_name=name)
            group.kms_key_id = key_of(self)
            return ""

        return change_key

    LogsResponse.associate_kms_key = keyed(lambda r: r._get_param("kmsKeyId"))  # type: ignore[attr-defined]
    LogsResponse.disassociate_kms_key = keyed(lambda _: None)  # type: ignore[attr-defined]


class RegionOutages:
    """Which regions are dark and how many requests each region received, shared by the
    server's request threads."""

    def __init__(self) -> None:
        self.dark: set[str] = set()
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def admit(self, region: str) -> bool:
        """Count a request to `region`; False when the region is dark."""
        with self.lock:
            self.calls[region] += 1
            return region not in self.dark

    def is_dark(self, region: str) -> bool:
        with self.lock:
            return region in self.dark

    def set_dark(self, region: str, dark: bool) -> None:
        with self.lock:
            if dark:
                self.dark.add(region)
            else:
                self.dark.discard(region)

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {"dark": sorted(self.dark), "calls": dict(sorted(self.calls.items()))}


class TableReplication:
    """Global tables, emulated: each write's key is copied to the same-named table of every
    other region after `lag` seconds, newest write winning, held while either region is dark."""

    RETRY_SECONDS = 0.25

    def __init__(self, outages: RegionOutages, lag: float = 0.5) -> None:
        self.outages, self.lag = outages, lag
        self.lock = threading.Lock()
        # Held by every write to a table, clients' and copies' (see Transactions above);
        # reentrant, as moto's transactions write through put_item, update_item, delete_item.
        self.writes = threading.RLock()
        # (account, region, table, key) -> when that copy of the key was last written
        self.written: dict[tuple[str, str, str, str], float] = {}
        self.copying = threading.local()

    def wrote(self, source: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> None:
        """A client wrote `key` in `source`: schedule its copy to every other region's table."""
        if getattr(self.copying, "active", False):
            return  # a copy being applied, not a client's write
        when = time.time()
        self._stamp(source, table_name, key, when)
        for other in dynamodb_backends[source.account_id].values():
            if other is not source and table_name in other.tables:
                self._later(self.lag, source, other, table_name, key, when)

    def _later(self, delay: float, *copy: Any) -> None:
        timer = threading.Timer(delay, self._deliver, copy)
        timer.daemon = True
        timer.start()

    def _deliver(
        self,
        source: DynamoDBBackend,
        destination: DynamoDBBackend,
        table_name: str,
        key: dict[str, Any],
        when: float,
    ) -> None:
        if any(self.outages.is_dark(b.region_name) for b in (source, destination)):
            self._later(self.RETRY_SECONDS, source, destination, table_name, key, when)
            return
        with self.writes:
            with self.lock:
                if self.written.get(self._id(destination, table_name, key), 0.0) > when:
                    return  # the destination holds a newer write of this key
            if table_name not in source.tables or table_name not in destination.tables:
                return
            item = source.get_item(table_name, key)
            self.copying.active = True
            try:
                if item is None:
                    destination.delete_item(table_name, key)
                else:
                    destination.put_item(table_name, item.to_json()["Attributes"])
            finally:
                self.copying.active = False
            self._stamp(destination, table_name, key, when)

    def _stamp(self, backend: DynamoDBBackend, table_name: str, key: dict, when: float) -> None:
        with self.lock:
            self.written[self._id(backend, table_name, key)] = when

    @staticmethod
    def _id(backend: DynamoDBBackend, table_name: str, key: dict) -> tuple[str, str, str, str]:
        return (
            backend.account_id,
            backend.region_name,
            table_name,
            json.dumps(key, sort_keys=True),
        )


def tables_replicate(replication: TableReplication) -> None:
    """Every write path of moto's DynamoDB (transactions call these too) tells `replication`."""

    def key_of(backend: DynamoDBBackend, table_name: str, item: dict[str, Any]) -> dict:
        table = backend.get_table(table_name)
        names = [table.hash_key_attr, table.range_key_attr]
        return {name: item[name] for name in names if name and name in item}

    def reporting(write: Callable[..., Any], key: Callable[..., dict]) -> Callable[..., Any]:
        """`write` (put, update or delete), then its key told to `replication`."""

        def written(self: DynamoDBBackend, table_name: str, first: dict, *a: Any, **k: Any) -> Any:
            with replication.writes:
                result = write(self, table_name, first, *a, **k)
                replication.wrote(self, table_name, key(self, table_name, first))
            return result

        return written

    transact = DynamoDBBackend.transact_write_items

    def transact_alone(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with replication.writes:
            transact(self, transact_items)

    DynamoDBBackend.transact_write_items = transact_alone  # type: ignore[method-assign]

    def named_key(_backend: DynamoDBBackend, _table_name: str, key: dict) -> dict:
        return key  # update and delete are given the key itself

    for name, key in (("put_item", key_of), ("update_item", named_key), ("delete_item", named_key)):
        setattr(DynamoDBBackend, name, reporting(getattr(DynamoDBBackend, name), key))


Respond = Callable[..., Any]


def signed_region(environ: dict[str, Any]) -> str | None:
    """The region a request was signed for: its Authorization header, or a presigned URL's
    X-Amz-Credential."""
    for signed in (environ.get("HTTP_AUTHORIZATION", ""), unquote(environ.get("QUERY_STRING", ""))):
        found = _SIGNED_REGION.search(signed)
        if found:
            return found.group(1)
    return None


def with_outages(
    app: Callable[[dict[str, Any], Respond], Iterable[bytes]],
    outages: RegionOutages,
    replication: TableReplication | None = None,
) -> Callable[[dict[str, Any], Respond], Iterable[bytes]]:
    def serve(environ: dict[str, Any], start_response: Respond) -> Iterable[bytes]:
        control = _CONTROL.match(environ.get("PATH_INFO", ""))
        if control:
            return _control(environ, start_response, control, outages, replication)
        region = signed_region(environ)
        if region is not None and not outages.admit(region):
            return _unavailable(environ, start_response, region)
        return app(environ, start_response)

    return serve


def _unavailable(environ: dict[str, Any], start_response: Respond, region: str) -> Iterable[bytes]:
    """503 ServiceUnavailable in the request's protocol: JSON for JSON APIs, else the XML error
    shape the query (EC2, IAM, STS) and REST-XML (S3, Route 53) parsers all read."""
    message = f"{region} is dark (payinfra emulator)"
    if "json" in environ.get("CONTENT_TYPE", ""):
        body = json.dumps({"__type": "ServiceUnavailable", "message": message})
        content_type = "application/x-amz-json-1.0"
    else:
        body = (
            "<Response><Errors><Error><Code>ServiceUnavailable</Code>"
            f"<Message>{message}</Message></Error></Errors></Response>"
        )
        content_type = "text/xml"
    start_response("503 Service Unavailable", [("Content-Type", content_type)])
    return [body.encode()]


def _control(
    environ: dict[str, Any],
    start_response: Respond,
    match: re.Match[str],
    outages: RegionOutages,
    replication: TableReplication | None,
) -> Iterable[bytes]:
    """POST .../REGION/dark|light; POST .../reset zeroes the call counts once reported; POST
    .../replication/lag/SECONDS; any method: the report."""
    if environ.get("REQUEST_METHOD") == "POST" and match["region"]:
        outages.set_dark(match["region"], match["action"] == "dark")
    if environ.get("REQUEST_METHOD") == "POST" and match["lag"] and replication:
        replication.lag = float(match["lag"])
    # The pid tells `payinfra emulator` that the server answering is the process it started.
    report = {**outages.report(), "pid": os.getpid()}
    if replication:
        report["replication_lag"] = replication.lag
    if environ.get("REQUEST_METHOD") == "POST" and match["reset"]:
        outages.reset_calls()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(report).encode()]


def regions_can_go_dark(outages: RegionOutages, replication: TableReplication) -> None:
    """moto.server.main builds its dispatcher by this name: the outages wrap each request."""
    dispatcher = moto.server.DomainDispatcherApplication

    class OutageAwareDispatcher(dispatcher):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._serve = with_outages(super().__call__, outages, replication)

        def __call__(self, environ: dict[str, Any], start_response: Respond) -> Any:
            return self._serve(environ, start_response)

    moto.server.DomainDispatcherApplication = OutageAwareDispatcher  # type: ignore[misc]


if __name__ == "__main__":
    promoted_replicas_forget_their_source()
    replicas_are_instances_of_their_own()
    stages_update_in_place()
    log_groups_take_keys()
    stages_take_tags()
    functions_update_fully()
    tables_change_encryption()
    outages = RegionOutages()
    replication = TableReplication(outages)
    tables_replicate(replication)
    regions_can_go_dark(outages, replication)
    main(sys.argv[1:])
