"""Strings from YAML can never become HCL syntax: quotes, backslashes, `${`, `%{`, newlines."""

from __future__ import annotations

import base64
import json
import string
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from payinfra.config import load_environment
from payinfra.hcl import Hcl, literal, quote
from payinfra.render import _jinja, render_environment
from tests.hclparse import literal_text, parse
from tests.toolchain import terraform

INJECTION = 'x" } resource "aws_iam_user" "evil" { name = "y'
NASTY = [
    INJECTION,
    '${file("/etc/passwd")}',
    "%{ if true }yes%{ endif }",
    "back\\slash\\",
    'quote"',
    "new\nline\r\ttab",
    "$${already escaped}",
    "$$$",
    "ends with $",
    "ends with %",
    "ünïcødé ✓ 支付",
    "\x00\x1b\x7f",
]
# Any text AWS could hold in a tag: all of Unicode but lone surrogates.
tag_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=60)


def python_hcl2_can_read(text: str) -> bool:
    """python-hcl2 rejects an escaped `$${`/`%%{` with no `}` after it, which terraform accepts
    (amplify-education/python-hcl2#238 and kin); terraform's own reading of such strings is
    checked by test_terraform_reads_any_string_back_unchanged."""
    for marker in ("${", "%{"):
        start = text.find(marker)
        while start != -1:
            if "}" not in text[start + 2 :]:
                return False
            start = text.find(marker, start + 1)
    return True


@given(tag_text)
@settings(max_examples=400)
def test_any_string_survives_a_parse_round_trip(text):
    assume(python_hcl2_can_read(text))
    parsed = parse(f"value = {quote(text)}\n")
    assert list(parsed) == ["value"]
    assert literal_text(parsed["value"]) == text


@given(st.dictionaries(tag_text, tag_text, min_size=1, max_size=5))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_any_tag_map_survives_as_the_same_strings(tags):
    assume(all(python_hcl2_can_read(text) for item in tags.items() for text in item))
    parsed = parse(f"tags = {literal(tags)}\n")
    assert {literal_text(k): literal_text(v) for k, v in parsed["tags"].items()} == tags


def test_injection_attempt_in_a_tag_stays_one_string(env_dir):
    env_dir.write("dev", {"tags": {"CostCentre": INJECTION, "Owner": "${var.x}"}})
    files = render_environment(load_environment(env_dir.path, "dev"))
    providers = parse(files["providers.tf"])
    assert list(providers) == ["provider"]
    for block in providers["provider"]:
        tags = block["aws"]["default_tags"][0]["tags"]
        assert literal_text(tags["CostCentre"]) == INJECTION
        assert literal_text(tags["Owner"]) == "${var.x}"
    terraform_files = [text for path, text in files.items() if path.endswith(".tf")]
    assert "aws_iam_user" not in "".join(
        str(parse(text).get("resource", "")) for text in terraform_files
    )


def test_templates_cannot_interpolate_a_raw_string(tmp_path):
    (tmp_path / "t.j2").write_text("name = {{ value }}\n")
    template = _jinja(tmp_path).get_template("t.j2")
    with pytest.raises(TypeError, match="raw string"):
        template.render(value="unescaped")
    assert template.render(value=quote("ok")) == 'name = "ok"\n'
    assert isinstance(literal("x"), Hcl)


def terraform_reads_back(folder, samples: list[str]) -> list[str]:
    (folder / "main.tf").write_text(f"locals {{\n  samples = {literal(samples)}\n}}\n")
    # base64 keeps terraform's own quoting of the console output out of the comparison.
    result = terraform(folder, "console", input="base64encode(jsonencode(local.samples))\n")
    return json.loads(base64.b64decode(result.stdout.strip().strip('"')))


@pytest.mark.terraform
def test_terraform_itself_reads_escaped_strings_back_unchanged(tmp_path):
    printable = "".join(ch for ch in string.printable if ch not in "\x0b\x0c")
    samples = [*NASTY, printable, "${", "%{", "a${b", "$${"]
    assert terraform_reads_back(tmp_path, samples) == samples


@pytest.mark.terraform
@given(st.lists(tag_text | st.sampled_from(NASTY), min_size=20, max_size=60))
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_terraform_reads_any_string_back_unchanged(tmp_path, samples):
    # Terraform is the real consumer; each example is one `terraform console` call. HCL
    # normalises every string to Unicode NFC, so that is the form that must come back.
    expected = [unicodedata.normalize("NFC", sample) for sample in samples]
    assert terraform_reads_back(tmp_path, samples) == expected
