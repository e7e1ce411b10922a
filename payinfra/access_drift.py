"""Access that exists in AWS and in no configuration: drift that widens who can reach what.

A security group's rules and a role's policies are usually managed as resources of their own
(`aws_vpc_security_group_ingress_rule`, `aws_iam_role_policy_attachment`, ...), so the group or
role itself sets no `ingress` or `managed_policy_arns` and ordinary drift, which compares only
what the configuration sets, never looks there. Here the refreshed state is read whole: every
rule a group has in AWS must be one that a managed rule resource describes, and every policy a
role carries must be one a managed attachment or inline policy describes. Whatever else is there
was added outside Terraform, from the console or another tool, and is reported, however the
state came to hold it (a later apply stores a console rule in the state too).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

SECURITY_GROUP_TYPES = frozenset({"aws_security_group", "aws_default_security_group"})
RULE_DIRECTIONS = {
    "aws_vpc_security_group_ingress_rule": "ingress",
    "aws_vpc_security_group_egress_rule": "egress",
}
LEGACY_RULE_TYPE = "aws_security_group_rule"
ROLE_TYPE = "aws_iam_role"
ATTACHMENT_TYPE = "aws_iam_role_policy_attachment"
INLINE_POLICY_TYPE = "aws_iam_role_policy"
# EC2 reports a protocol by name or by IANA number; "-1" is every protocol (ports then mean
# nothing).
_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}

Rule = tuple[str, str, str, int | None, int | None, str]  # group, direction, protocol, ports, peer


def unmanaged_access(state: dict, configured: dict[str, dict]) -> dict[str, list[str]]:
    """{resource address: descriptions of access it has in AWS that no configuration grants}.

    `state` is a plan's refreshed `prior_state`; `configured` maps each resource address
    (without instance keys) to the expressions its configuration sets: a group that sets its
    rules inline is left to ordinary drift."""
    resources = list(_resources((state.get("values") or {}).get("root_module") or {}))
    managed_rules = {rule for resource in resources for rule in _managed_rules(resource)}
    attached = _role_policies(resources)
    found: dict[str, list[str]] = {}
    for resource in resources:
        address, values = str(resource.get("address")), resource.get("values") or {}
        expressions = configured.get(without_instance_keys(address)) or {}
        if resource.get("type") in SECURITY_GROUP_TYPES:
            extra = [
                _describe(rule)
                for rule in _group_rules(values)
                if rule[1] not in expressions and rule not in managed_rules
            ]
        elif resource.get("type") == ROLE_TYPE:
            extra = _unmanaged_policies(values, attached.get(str(values.get("name")), set()))
        else:
            continue
        if extra:
            found[address] = sorted(extra)
    return found


def _resources(module: dict) -> Iterator[dict]:
    for resource in module.get("resources") or []:
        if resource.get("mode") == "managed":
            yield resource
    for child in module.get("child_modules") or []:
        yield from _resources(child)


# ---- Security groups ----


def _managed_rules(resource: dict) -> list[Rule]:
    values, kind = resource.get("values") or {}, resource.get("type")
    if kind in RULE_DIRECTIONS:
        peer = (
            values.get("cidr_ipv4")
            or values.get("cidr_ipv6")
            or values.get("prefix_list_id")
            or _group_id(values.get("referenced_security_group_id"))
        )
        return [
            _rule(
                values.get("security_group_id"),
                RULE_DIRECTIONS[kind],
                values.get("ip_protocol"),
                values.get("from_port"),
                values.get("to_port"),
                peer,
            )
        ]
    if kind == LEGACY_RULE_TYPE:
        group = values.get("security_group_id")
        peers = _peers(values, group)
        return [
            _rule(group, values.get("type"), values.get("protocol"), values.get("from_port"),
                  values.get("to_port"), peer)
            for peer in peers
        ]  # fmt: skip
    return []


def _group_rules(values: dict) -> Iterator[Rule]:
    group = values.get("id")
    for direction in ("ingress", "egress"):
        for entry in values.get(direction) or []:
            for peer in _peers(entry, group):
                yield _rule(
                    group,
                    direction,
                    entry.get("protocol"),
                    entry.get("from_port"),
                    entry.get("to_port"),
                    peer,
                )


def _peers(entry: dict, group: object) -> list[str]:
    """Every source or destination of a rule entry, one per peer (EC2 groups several)."""
    groups = list(entry.get("security_groups") or [])
    if entry.get("source_security_group_id"):  # aws_security_group_rule
        groups.append(entry["source_security_group_id"])
    if entry.get("self"):
        groups.append(group)
    peers = [
        *(entry.get("cidr_blocks") or []),
        *(entry.get("ipv6_cidr_blocks") or []),
        *(entry.get("prefix_list_ids") or []),
        *(_group_id(other) for other in groups),
    ]
    return [str(peer) for peer in peers]


def _group_id(value: object) -> str:
    """`sg-1` or, for a group of another account, `123456789012/sg-1`: compared by the id."""
    return str(value or "").rsplit("/", 1)[-1]


def _rule(
    group: object, direction: object, protocol: object, low: object, high: object, peer: object
) -> Rule:
    name = str(protocol if protocol is not None else "-1").lower()
    name = _PROTOCOL_NAMES.get(name, name)
    ports = (None, None) if name == "-1" else (_port(low), _port(high))
    return (str(group), str(direction), name, *ports, str(peer))


def _port(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _describe(rule: Rule) -> str:
    _, direction, protocol, low, high, peer = rule
    traffic = "all traffic" if protocol == "-1" else f"{protocol} {_ports(low, high)}"
    side = "from" if direction == "ingress" else "to"
    return f"{direction}: {traffic} {side} {peer} (in AWS, in no configuration)"


def _ports(low: int | None, high: int | None) -> str:
    if low is None or (low, high) in ((0, 65535), (-1, -1)):
        return "all ports"
    return f"port {low}" if low == high else f"ports {low}-{high}"


# ---- IAM roles ----


def _role_policies(resources: list[dict]) -> dict[str, set[str]]:
    """{role name: the managed policy ARNs and inline policy names configuration gives it}."""
    policies: dict[str, set[str]] = {}
    for resource in resources:
        values = resource.get("values") or {}
        if resource.get("type") == ATTACHMENT_TYPE:
            policies.setdefault(str(values.get("role")), set()).add(str(values.get("policy_arn")))
        elif resource.get("type") == INLINE_POLICY_TYPE:
            role = str(values.get("role")).rsplit(":", 1)[-1]
            policies.setdefault(role, set()).add(f"inline:{values.get('name')}")
    return policies


def _unmanaged_policies(values: dict, managed: set[str]) -> list[str]:
    found = [
        f"managed_policy_arns: {arn} attached (in AWS, in no configuration)"
        for arn in values.get("managed_policy_arns") or []
        if arn not in managed
    ]
    found += [
        f"inline_policy: {policy.get('name')} (in AWS, in no configuration)"
        for policy in values.get("inline_policy") or []
        if policy.get("name") and f"inline:{policy.get('name')}" not in managed
    ]
    return found


def without_instance_keys(address: str) -> str:
    """`module.a.aws_x.b["k"]` -> `module.a.aws_x.b`, as configuration addresses are written."""
    return re.sub(r"\[[^\]]*\]", "", address)
