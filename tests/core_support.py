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


def regulation_text(title: str, articles) -> str:
    """A regulation's Markdown text: ``title``, then each of ``articles`` as 第一条, 第二条 … in order."""
    from rag.understand.query import chinese_numeral

    body = "\n\n".join(f"第{chinese_numeral(n)}条 {text}" for n, text in enumerate(articles, start=1))
    return f"{title}\n\n{body}\n"


def ingest_texts(tmp_path: Path, files: dict[str, str]) -> Settings:
    """Write ``files`` (file name → text) to ``tmp_path/docs``, ingest them into ``tmp_path/data`` (failing the
    test when a file fails) and return the session settings of that index."""
    from rag.index.build import ingest

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    return settings


def rank_of(qa, question: str, needle: str, k: int = 10):
    """1-based rank of the first of ``qa.retrieve(question, k)``'s hits whose text holds ``needle``; None when none."""
    hits = qa.retrieve(question, k)
    return next((i + 1 for i, h in enumerate(hits) if needle in h.chunk.text), None)


def fused_state(retriever, question: str, settings: Settings):
    """The retrieval state of an uncompared ``question`` after its candidate rankings and their fusion
    (``HybridRetriever._scope_rankings``, ``_fuse``), for testing one later step on it."""
    from rag.retrieve import hybrid
    from rag.understand.query import plan_query

    plan = plan_query(question, retriever.index, settings)
    state = hybrid._Retrieval(k=5, filters=hybrid.NO_FILTERS, plan=plan, routing=True, multi=False, n=30)
    retriever._scope_rankings(state)
    retriever._fuse(state)
    return state
