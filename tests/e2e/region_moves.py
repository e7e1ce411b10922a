"""The steps of a region move on the emulator, through payinfra and the real terraform, and what
must be true after each. At every step the plan must name the step and carry no DATA LOSS line,
and the step's resources must be there afterwards.

Emulator limits (EMULATOR_GAPS): moto has no global-table replicas, so the table's replica is
covered by the HCL tests; the one-writer replay across regions is tested in-process
(tests/processor/test_one_writer.py). The API domain (ACM, Route 53) is covered at plan level
on prod.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import yaml

from tests.e2e.test_stack_lifecycle import Stack, plan_totals

A, B = "eu-west-1", "us-east-1"
# phase -> (workload, words the plan must print about the step)
STEPS = {
    "A only": (None, "one region: eu-west-1 runs the workload"),
    "1 standby": ({A: "primary", B: "standby"}, "step 1 (standby added)"),
    "2 switch": ({B: "primary", A: "former"}, "step 2 (switched"),
    "3 drain": ({B: "primary", A: "drained"}, "step 3 (former primary's processor retired"),
    "B only": ({B: "primary"}, "one region: us-east-1 runs the workload"),
    # A back as B's standby: its database kept from being primary still holds A's names, so
    # the new replica is a second generation (generations), beside it.
    "A standby again": ({B: "primary", A: "standby"}, "step 1 (standby added)"),
    # ...and takes the workload back: a planned switch promoting that replica.
    "A primary again": ({A: "primary", B: "former"}, "step 2 (switched"),
}
GENERATIONS = {"A standby again": {A: 2}, "A primary again": {A: 2}}
# Two chains that run side by side, each on an emulator of its own, so that the suite waits for
# the database waiters of the longer, not of both: the failover drill (test_failover_drill.py)
# takes A only -> 1 standby through an outage of A; the region move (test_region_move.py)
# starts from the switched layout applied from nothing (both databases standalone, as after a
# promotion or a failover) and ends with A back as B's standby and then the primary again.
FROM_THE_SWITCH = ("2 switch", "3 drain", "B only", "A standby again", "A primary again")


def set_workload(stack: Stack, workload: dict | None, generations: dict | None = None) -> None:
    path = stack.folder / "environments" / "local.yaml"
    local = yaml.safe_load(path.read_text())
    local["emulator"] = {"endpoint": stack.endpoint}
    local.pop("workload", None)
    if workload:
        local["workload"] = workload
    local.pop("generations", None)
    if generations:
        local["generations"] = generations
    path.write_text(yaml.safe_dump(local))


def move_through(
    mover: Stack,
    phases: tuple[str, ...],
    *,
    replan: bool = False,
    then: dict[str, Callable[[Stack], None]] | None = None,
) -> None:
    """Plan and apply each phase in turn, checking its plan and its result (and running what
    `then` has for it); `replan`: then nothing is left to change."""
    summaries = {}
    for phase in phases:
        workload, step = STEPS[phase]
        set_workload(mover, workload, GENERATIONS.get(phase))
        planned = mover.run(f"plan {phase}", "plan", "local")
        assert f"workload: {step}" in planned.stdout, planned.stdout[-3000:]
        assert "DATA LOSS" not in planned.stdout + planned.stderr, planned.stdout[-4000:]
        summaries[phase] = planned.stdout[planned.stdout.index("workload:") :]
        mover.run(f"apply {phase}", "apply", "local", "--", "-parallelism=20")
        CHECKS[phase](mover)
        (then or {}).get(phase, lambda _stack: None)(mover)
    if replan:  # everything the last step describes is in place
        assert_nothing_to_change(mover)
    for phase, text in summaries.items():
        print(f"\n--- {phase}\n{text.strip()}")


def assert_nothing_to_change(stack: Stack) -> None:
    """A plan with nothing to create, update, replace or destroy. terraform's exit code alone
    would not do: an apply changes some resources through others (a bucket's replication rules,
    a security group's rules, a source database's list of replicas, the managed secret RDS
    makes while it modifies a promoted database), which the next refresh reports as drift, and
    terraform then exits 2 with nothing to change."""
    replanned = stack.run("re-plan", "plan", "local", "--detailed-exitcode", ok=(0, 2))
    assert set(plan_totals(replanned.stdout).values()) == {0}, replanned.stdout[-3000:]
    drifted = [line for line in replanned.stdout.splitlines() if "Drift detected" in line]
    print("\nre-plan: nothing to change; refreshed: " + ("; ".join(drifted) or "nothing"))


def outputs(stack: Stack) -> dict:
    return json.loads(stack.run("output", "output", "local", "--json").stdout)


def writer_of(stack: Stack, region: str) -> str | None:
    functions = stack.client("lambda", region).list_functions()["Functions"]
    found = [f["Environment"]["Variables"]["WRITER_REGION"] for f in functions]
    return found[0] if found else None


def database(stack: Stack, region: str) -> dict | None:
    instances = stack.client("rds", region).describe_db_instances()["DBInstances"]
    return instances[0] if instances else None


def replication_targets(stack: Stack, bucket: str, region: str) -> set[str]:
    s3 = stack.client("s3", region)
    rules = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
    return {rule["Destination"]["Bucket"].split(":")[-1] for rule in rules}


def check_a_only(stack: Stack) -> None:
    assert outputs(stack)["workload"] == {A: "primary"}
    assert writer_of(stack, A) == A and writer_of(stack, B) is None
    assert database(stack, B) is None


def check_standby(stack: Stack) -> None:
    values = outputs(stack)
    assert writer_of(stack, A) == A and writer_of(stack, B) == A, "B serves, A writes"
    replica = database(stack, B)
    assert replica is not None
    assert replica["ReadReplicaSourceDBInstanceIdentifier"].endswith(":db:payment-local-db")
    assert replica["StorageEncrypted"] is True
    buckets = values["bucket_names"]
    assert buckets[B] in replication_targets(stack, buckets[A], A), "primary -> standby copy"
    # A caller holding the documented policy may invoke each serving region's API, whichever
    # region it signs for: the policy names the routes of both.
    policy = json.loads(values["api_invoke_policy_json"])
    for region in (A, B):
        for route in ("POST/payments", "GET/payments/tx-1", "POST/payment"):
            assert allows(policy, invoked_arn(stack, region, route)), (region, route, policy)
        assert not allows(policy, invoked_arn(stack, region, "DELETE/payments/tx-1"))
    # What an operator reads before step 2, through boto3 only.
    report = json.loads(stack.run("status", "status", "local", "--json").stdout)
    facts = {(line["region"], line["what"]): line["state"] for line in report}
    assert facts[(B, "role")] == "standby"
    assert facts[(B, "processor")] == f"deployed, writer region {A}"
    assert facts[(B, "database")].startswith("read replica of arn:")
    assert facts[(A, "database")].startswith("standalone")
    assert facts[(A, "table")] == "home table ACTIVE"
    # moto keeps no global-table replicas (EMULATOR_GAPS), so B's copy is reported missing.
    assert facts[(B, "table")] == "no replica yet"
    assert facts[(B, f"bucket copy from {A}")] == "no datapoint yet"


def invoked_arn(stack: Stack, region: str, route: str) -> str:
    """The execute-api ARN IAM authorizes for a request signed for `region` to its API."""
    (api,) = [a for a in stack.client("apigatewayv2", region).get_apis()["Items"]
              if a["Name"] == "payment-local-payments"]  # fmt: skip
    account = stack.client("sts", region).get_caller_identity()["Account"]
    return f"arn:aws:execute-api:{region}:{account}:{api['ApiId']}/$default/{route}"


def allows(policy: dict, arn: str) -> bool:
    """IAM's matching of an Allow statement's resources: `*` any run of characters, `?` one."""
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        for pattern in [resources] if isinstance(resources, str) else resources:
            wildcard = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
            if statement["Effect"] == "Allow" and re.fullmatch(wildcard, arn):
                return True
    return False


def check_switched_to(primary: str, former: str):
    def check(stack: Stack) -> None:
        assert writer_of(stack, primary) == primary and writer_of(stack, former) == primary
        assert database(stack, primary) is not None and database(stack, former) is not None
        buckets = outputs(stack)["bucket_names"]
        assert buckets[former] in replication_targets(stack, buckets[primary], primary)

    return check


def check_drained(stack: Stack) -> None:
    assert writer_of(stack, B) == B and writer_of(stack, A) is None, "A's processor retired"
    # Its audit trail outlives it: the log groups are forgotten by Terraform, not deleted.
    groups = stack.client("logs", A).describe_log_groups(logGroupNamePrefix="/aws/lambda/")
    assert [g["logGroupName"] for g in groups["logGroups"]] == [
        "/aws/lambda/payment-local-payment-processor"
    ]
    assert database(stack, A) is not None, "A's data is kept while it is drained"


def check_b_only(stack: Stack) -> None:
    assert outputs(stack)["workload"] == {B: "primary"}
    assert writer_of(stack, B) == B
    # The former primary's database is handed over, not destroyed (docs/region-moves.md).
    assert database(stack, A) is not None
    state = json.loads(stack.run("state", "output", "local", "--json").stdout)
    assert state["rds_endpoint"].startswith("payment-local-db.")


def check_standby_beside_the_kept_database(stack: Stack) -> None:
    """A's first database, kept when A was retired, is untouched beside A's new replica of B's."""
    instances = {
        i["DBInstanceIdentifier"]: i
        for i in stack.client("rds", A).describe_db_instances()["DBInstances"]
    }
    assert sorted(instances) == ["payment-local-db", "payment-local-g2-db"], sorted(instances)
    assert not instances["payment-local-db"].get("ReadReplicaSourceDBInstanceIdentifier")
    source = instances["payment-local-g2-db"]["ReadReplicaSourceDBInstanceIdentifier"]
    assert source.endswith(":db:payment-local-db"), source
    assert f":rds:{B}:" in source, source
    assert writer_of(stack, A) == B and writer_of(stack, B) == B, "A serves, B writes"


def check_switched_back(stack: Stack) -> None:
    """A's second-generation database, B's replica until now, is A's standalone writer; the one
    A kept from before is still there, untouched."""
    check_switched_to(A, B)(stack)
    instances = {
        i["DBInstanceIdentifier"]: i
        for i in stack.client("rds", A).describe_db_instances()["DBInstances"]
    }
    assert sorted(instances) == ["payment-local-db", "payment-local-g2-db"], sorted(instances)
    assert not instances["payment-local-g2-db"].get("ReadReplicaSourceDBInstanceIdentifier")


CHECKS = {
    "A only": check_a_only,
    "1 standby": check_standby,
    "2 switch": check_switched_to(B, A),
    "3 drain": check_drained,
    "B only": check_b_only,
    "A standby again": check_standby_beside_the_kept_database,
    "A primary again": check_switched_back,
}
