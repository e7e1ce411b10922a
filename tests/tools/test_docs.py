"""README.md is a front page and docs/ holds the rest: every link between them resolves (the
file, and the heading an anchor names), and the front page stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lowercase, punctuation dropped, spaces -> '-'."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_resolves(page):
    broken = []
    for target in links(page):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no such heading in {resolved.name}")
    assert broken == []


def test_the_front_page_links_every_page_of_docs():
    linked = {Path(target.partition("#")[0]).name for target in links(REPO / "README.md")}
    assert {page.name for page in PAGES[1:]} <= linked


def test_the_front_page_is_short():
    assert len((REPO / "README.md").read_bytes()) < 12 * 1024


def test_a_broken_link_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](missing.md) [bad anchor](#nope)\n")
    assert links(page) == ["#title", "missing.md", "#nope"]
    assert anchors(page) == {"title"}


def test_every_module_readme_is_what_its_variables_and_outputs_say():
    """scripts/module_docs.py writes them; `make fmt` runs it, `make lint` checks it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("module_docs", REPO / "scripts/module_docs.py")
    assert spec and spec.loader
    module_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module_docs)
    assert module_docs.main(["--check"]) == 0
    compute = (REPO / "templates/modules/compute/README.md").read_text()
    assert "| `reserved_concurrency` | `number` | required |" in compute
