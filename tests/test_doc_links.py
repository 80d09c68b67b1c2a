"""Every relative link and image of the repository's Markdown files (README.md, eval/README.md, …)
points to a file or folder that exists inside the repository (a fresh clone has nothing else)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from rag.settings import PROJECT_ROOT

ROOT = Path(PROJECT_ROOT).resolve()
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "artifacts", "build", "dist", "__pycache__", ".pytest_cache"}
GENERATED = ("eval/runs/",)  # run outputs (git-ignored), not documentation
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.I)


def markdown_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*.md"):
        rel = path.relative_to(ROOT)
        if set(rel.parts[:-1]) & SKIP_DIRS or any(p.endswith(".egg-info") for p in rel.parts):
            continue
        if rel.as_posix().startswith(GENERATED):
            continue
        files.append(path)
    return sorted(files)


CODE_PATH = re.compile(r"`(\.{1,2}/[^`\s]+)`")  # a path in inline code that says where it is: `../x.md`


USER_DOCS = {"README.md", "eval/README.md"}  # where a path in inline code is also a pointer for the reader


def relative_links(text: str, code_paths: bool = True) -> list[str]:
    """Targets of inline links/images and reference definitions outside fenced code, plus (with
    ``code_paths``) paths in inline code that start with ./ or ../; without external URLs (scheme:,
    //host) and same-page anchors (#…)."""
    text = FENCE.sub("", text)
    targets = INLINE.findall(re.sub(r"`[^`\n]*`", "", text)) + REFERENCE.findall(text)
    if code_paths:
        targets += CODE_PATH.findall(text)
    return [t for t in targets if not EXTERNAL.match(t)]


def test_link_extraction():
    text = ("See [eval](eval/README.md#tables), ![shot](docs/a%20b.png \"title\"), [web](https://x.org), "
            "[top](#top), `[code](nope.md)`, `../shared/F.md`, `corpus/`\n\n```\n[fenced](nope.md)\n```\n"
            "[ref]: ../x.md \"t\"\n")
    assert relative_links(text) == ["eval/README.md#tables", "docs/a%20b.png", "../x.md", "../shared/F.md"]


def test_readmes_are_checked():
    names = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert {"README.md", "eval/README.md"} <= names


@pytest.mark.parametrize("md", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve_inside_the_repository(md):
    broken = []
    rel = md.relative_to(ROOT).as_posix()
    for target in relative_links(md.read_text(encoding="utf-8"), code_paths=rel in USER_DOCS):
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        if not path:
            continue
        resolved = (ROOT / path.lstrip("/")) if path.startswith("/") else (md.parent / path)
        resolved = resolved.resolve()
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            broken.append(f"{target} (no such file)")
    assert broken == [], f"{rel}: " + "; ".join(broken)
