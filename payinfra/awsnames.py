"""The AWS names the modules derive from `project`, the environment name, `name_suffix` and the
region, with the limits AWS puts on each, so a name that AWS would refuse at apply time is a
YAML error instead.

Each template below mirrors a name in `templates/modules/` (a test plans the longest names the
schema allows and compares every planned name with these templates). Characters need no check
here: every part is lowercase letters, digits and single inner hyphens, and `project` starts
with a letter, which is what the strictest of these names (RDS identifiers) demand.
"""

from __future__ import annotations

from dataclasses import dataclass

# The length of an AWS account id; its digits are unknown until plan time.
ACCOUNT_ID_LENGTH = 12
ACCOUNT_ID_PLACEHOLDER = "0" * ACCOUNT_ID_LENGTH
# aws_db_parameter_group.name_prefix gets 26 random characters appended.
GENERATED_SUFFIX_LENGTH = 26


@dataclass(frozen=True)
class NameRule:
    resource: str
    template: str  # placeholders: {prefix}, {region}, {account_id}
    max_length: int

    @property
    def per_region(self) -> bool:
        return "{region}" in self.template

    def name(self, prefix: str, region: str = "", account_id: str = ACCOUNT_ID_PLACEHOLDER) -> str:
        return self.template.format(prefix=prefix, region=region, account_id=account_id)


DATA_BUCKET = NameRule("S3 data bucket", "{prefix}-{region}-data-{account_id}", 63)
DATA_KEY_ALIAS = NameRule("KMS alias of the data bucket key", "alias/{prefix}-{region}-s3", 256)
FLOW_LOG_GROUP = NameRule("VPC flow log group", "/aws/vpc-flow-logs/{prefix}-{region}", 512)
DATABASE = NameRule("RDS instance identifier", "{prefix}-db", 63)
FINAL_SNAPSHOT = NameRule("RDS final snapshot identifier", "{prefix}-db-final", 255)
PARAMETER_GROUP = NameRule(
    "RDS parameter group name prefix", "{prefix}-pg-", 255 - GENERATED_SUFFIX_LENGTH
)
FUNCTION = NameRule("Lambda function", "{prefix}-payment-processor", 64)
FUNCTION_ROLE = NameRule("IAM role of the processor", "{prefix}-{region}-processor", 64)
DEAD_LETTER_QUEUE = NameRule("SQS dead-letter queue", "{prefix}-payment-processor-dlq", 80)
HTTP_API = NameRule("HTTP API", "{prefix}-payments", 128)
ACCESS_LOG_GROUP = NameRule("API access log group", "/aws/apigateway/{prefix}-payments/access", 512)
ALARM_TOPIC = NameRule("SNS alarm topic", "{prefix}-alarms", 256)
DASHBOARD = NameRule("CloudWatch dashboard", "{prefix}-{region}-payments", 255)
TABLE = NameRule("DynamoDB table", "{prefix}-transactions", 255)

NAME_RULES = (
    DATA_BUCKET,
    DATA_KEY_ALIAS,
    FLOW_LOG_GROUP,
    DATABASE,
    FINAL_SNAPSHOT,
    PARAMETER_GROUP,
    FUNCTION,
    FUNCTION_ROLE,
    DEAD_LETTER_QUEUE,
    HTTP_API,
    ACCESS_LOG_GROUP,
    ALARM_TOPIC,
    DASHBOARD,
    TABLE,
)


@dataclass(frozen=True)
class TooLong:
    rule: NameRule
    name: str
    region: str


def too_long_names(prefix: str, regions: list[str]) -> list[TooLong]:
    """Every derived name over its limit, the longest region's first."""
    found = []
    for rule in NAME_RULES:
        for region in sorted(regions, key=len, reverse=True) if rule.per_region else [""]:
            name = rule.name(prefix, region)
            if len(name) > rule.max_length:
                found.append(TooLong(rule, name, region))
                break
    return found
