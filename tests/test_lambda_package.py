"""The zip `payinfra render` builds is the deployable processor: deterministic, importable,
and working when unpacked on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from payinfra import assets
from payinfra.package import build_zip
from tests.hclparse import labelled
from tests.processor_harness import http_event, table_spec

RUNNER = r"""
import importlib, json, os, sys
import boto3
from moto import mock_aws

sys.path.insert(0, os.getcwd())  # the Lambda runtime puts the task root first, as here
spec, events = json.loads(sys.stdin.read())
module_name, function_name = os.environ["HANDLER"].rsplit(".", 1)
with mock_aws():
    boto3.client("dynamodb", region_name="eu-west-1").create_table(TableName="t", **spec)
    module = importlib.import_module(module_name)
    assert module.__file__.startswith(os.getcwd()), module.__file__
    handler = getattr(module, function_name)
    print(json.dumps([handler(event, None) for event in events]))
"""


def test_package_is_byte_identical_across_builds():
    assert build_zip(assets.lambda_source_dir()) == build_zip(assets.lambda_source_dir())


def test_package_has_fixed_timestamps_and_sorted_entries(rendered_roots):
    with zipfile.ZipFile(rendered_roots["dev"] / "build" / "payment_processor.zip") as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
        assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_unpacked_zip_imports_the_hcl_handler_and_serves_requests(rendered_roots, parsed, tmp_path):
    handler = labelled(parsed["dev"]["main.tf"], "module")["compute"]["handler"]
    with zipfile.ZipFile(rendered_roots["dev"] / "build" / "payment_processor.zip") as archive:
        archive.extractall(tmp_path / "task")
    body = {"transactionId": "tx-9", "customerId": "c-9", "amount": "10.00", "currency": "EUR"}
    events = [
        http_event("POST", "/payments", body),
        http_event("GET", "/payments/tx-9", transaction_id="tx-9"),
    ]
    completed = subprocess.run(
        [sys.executable, "-I", "-c", RUNNER],
        check=False,
        input=json.dumps([table_spec(parsed["dev"]), events]),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path / "task",
        env={
            "HANDLER": handler,
            "TABLE_NAME": "t",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "LOG_LEVEL": "WARNING",
        },
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    created, fetched = json.loads(completed.stdout.strip().splitlines()[-1])
    assert created["statusCode"] == 201
    assert (fetched["statusCode"], json.loads(fetched["body"])["amount"]) == (200, "10.00")


def test_package_stays_small(rendered_roots):
    size = (rendered_roots["dev"] / "build" / "payment_processor.zip").stat().st_size
    assert size < 64 * 1024, f"{size} bytes"
