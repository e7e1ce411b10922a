"""The zip `payinfra render` builds is the deployable processor: deterministic, importable,
and working when unpacked on its own."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest

from payinfra import assets
from payinfra.errors import RenderError
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
    compute = labelled(parsed["dev"]["main.tf"], "module")["compute_eu_west_1"]
    handler, settings = compute["handler"], compute["environment_variables"]
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
            # The settings exactly as the rendered module call passes them, table name aside.
            **{key: value for key, value in settings.items() if key != "TABLE_NAME"},
            "TABLE_NAME": "t",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "eu-west-1",
            # Lambda sets AWS_REGION; eu-west-1 is dev's writer region.
            "AWS_REGION": "eu-west-1",
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


def test_package_holds_exactly_the_processors_python_files(tmp_path):
    source = tmp_path / "lambda_src"
    package = source / "payment_processor"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text("def handler(event, context): ...\n")
    (package / "sub").mkdir()
    (package / "sub" / "__init__.py").write_text("")
    # What must never ship: secrets in dotfiles, caches, non-Python files, and whatever a
    # symlink points at (inside the tree or out of it).
    (source / ".env").write_text("DB_PASSWORD=hunter2\n")
    (package / ".env").write_text("DB_PASSWORD=hunter2\n")
    (package / ".hidden").mkdir()
    (package / ".hidden" / "x.py").write_text("")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (package / "notes.txt").write_text("internal\n")
    outside = tmp_path / "secret.py"
    outside.write_text("KEY = 'x'\n")
    (package / "linked.py").symlink_to(outside)
    (package / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    with zipfile.ZipFile(io.BytesIO(build_zip(source))) as archive:
        names = archive.namelist()
    assert names == [
        "payment_processor/__init__.py",
        "payment_processor/app.py",
        "payment_processor/sub/__init__.py",
    ]


def test_a_symlinked_processor_package_is_refused(tmp_path):
    real = tmp_path / "elsewhere"
    real.mkdir()
    (tmp_path / "lambda_src").mkdir()
    (tmp_path / "lambda_src" / "payment_processor").symlink_to(real, target_is_directory=True)
    with pytest.raises(RenderError, match="must be a real folder"):
        build_zip(tmp_path / "lambda_src")


def test_the_size_the_docs_give_is_the_packages():
    """docs/processor.md says how big the deployed zip is; it stays true."""
    import re

    from payinfra import assets
    from payinfra.package import build_zip
    from tests.conftest import REPO

    (stated,) = re.findall(r"about (\d+) KB", (REPO / "docs" / "processor.md").read_text())
    size_kb = len(build_zip(assets.lambda_source_dir())) / 1024
    assert abs(size_kb - int(stated)) <= 2, f"the zip is {size_kb:.1f} KB"
