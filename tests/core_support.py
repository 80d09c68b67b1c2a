"""Constants and helpers shared by the core tests (importable; conftest.py uses them too)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rag.settings import PROJECT_ROOT, Settings

CORPUS_DIR = PROJECT_ROOT / "corpus"
DOCS_DIR = CORPUS_DIR / "docs"
DEV_SET = PROJECT_ROOT / "eval" / "datasets" / "dev.jsonl"
TODAY = "2026-11-20"
MINI_DOC_IDS = ("sc-emerging-future-2025", "cd-future-industries-2024")
Q_LEADERS = "到2027年四川要培育多少家具有全国影响力的行业领军企业？"


def session_settings(data_dir: Path, corpus_dir: Path = CORPUS_DIR) -> Settings:
    """Settings not read from the environment (session fixtures outlive function-scoped monkeypatching)."""
    return Settings(data_dir=data_dir, corpus_dir=corpus_dir, today=TODAY, llm_enabled=False)


def make_corpus(dest: Path, doc_ids=MINI_DOC_IDS) -> Path:
    """Copy the bundled corpus to ``dest`` with a manifest restricted to ``doc_ids``."""
    shutil.copytree(CORPUS_DIR, dest)
    manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    manifest["documents"] = [d for d in manifest["documents"] if d["id"] in doc_ids]
    (dest / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return dest


def run(argv, capsys):
    """(exit code, stdout, stderr) of ``rag <argv>`` run in-process (argparse exits become codes)."""
    from rag.cli import main

    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err):
    """The CLI failed with exactly one ``error: …`` line on stderr and no traceback."""
    assert code not in (0, None)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
