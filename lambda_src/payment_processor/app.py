"""Lambda entry point for the payments HTTP API (payload format 2.0)."""

import json


def handler(event, context):
    return {
        "statusCode": 501,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": "not_implemented"}),
    }
