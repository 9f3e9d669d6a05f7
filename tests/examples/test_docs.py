"""The documentation builds, and the code in it runs.

- ``mkdocs build --strict`` succeeds: every page in the nav exists, every
  snippet (the examples' scripts and recorded outputs) is found, every API page
  renders from the docstrings without a warning.
- Every ```python block of README.md and of the documentation pages runs, the
  blocks of one page in order in one namespace, as a reader would paste them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NOT_OURS = {"internals.md", "terms.md"}  # contract and glossary: no runnable code
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models: one intra-op thread is faster on a shared two-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def python_blocks(page: Path) -> list[str]:
    """The page's ```python blocks, without those that only include a file."""
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    return [b for b in blocks if not b.lstrip().startswith("--8<--")]


PAGES = [ROOT / "README.md"] + [
    page
    for page in sorted(DOCS.rglob("*.md"))
    if page.name not in NOT_OURS and python_blocks(page)
]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # pages that save a model or a drawing write here
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for number, block in enumerate(python_blocks(page), start=1):
        code = compile(block, f"{page.name}, python block {number}", "exec")
        exec(code, namespace)


def test_readme_and_pages_have_code() -> None:
    names = {page.name for page in PAGES}
    assert {"README.md", "index.md", "getting-started.md", "data.md"} <= names


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    for module in ("mkdocs", "mkdocstrings", "material"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install -e '.[dev]'")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--quiet",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "examples" / "03_next20_from_last20" / "index.html").exists()
    api = (tmp_path / "api" / "data" / "index.html").read_text(encoding="utf-8")
    assert "from_wide" in api
    assert "&gt;&gt;&gt;" in api and "<blockquote>" not in api  # doctests as code
