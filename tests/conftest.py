"""Shared fixtures of the core test suite.

* ``_isolated_env`` (autouse): every test runs with all state in its own tmp dir, no LLM credentials,
  ``RAG_LLM=off`` and a fixed ``RAG_TODAY``; nothing touches ``~/.local/share`` or the network.
* ``built_index`` (session): the bundled corpus ingested ONCE into a session tmp dir; read-only tests
  share it (tests that change an index build their own, usually from ``mini_corpus``).
* ``mini_corpus``: a copy of the bundled corpus in a tmp dir whose manifest lists only the two small
  documents, so that tests that ingest several times stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.settings import Settings

from core_support import CORPUS_DIR, TODAY, make_corpus, session_settings

# Environment variables the library reads besides RAG_*; cleared so that the caller's shell cannot leak in.
_LIB_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "XDG_DATA_HOME")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("RAG_") or name in _LIB_ENV:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("RAG_LLM", "off")
    monkeypatch.setenv("RAG_TODAY", TODAY)
    yield


@pytest.fixture(scope="session")
def built_index(tmp_path_factory) -> Settings:
    """Settings of an index of the whole bundled corpus, built once per session. Do not mutate."""
    from rag.index.build import ingest

    settings = session_settings(tmp_path_factory.mktemp("built") / "data")
    report = ingest(settings)
    assert not report.failed, report.failed
    assert report.n_documents == 5
    return settings


@pytest.fixture(scope="session")
def shared_qa(built_index):
    """One PolicyQA (extractive) over the shared index."""
    from rag.pipeline import PolicyQA

    return PolicyQA(built_index)


@pytest.fixture(scope="session")
def cleaned_docs() -> dict[str, str]:
    """doc_id → cleaned text of every bundled document (cleaning is cheap; computed once)."""
    from rag.ingest.corpus import load_manifest, read_text
    from rag.ingest.cleaning import clean_text

    return {s.meta.doc_id: clean_text(read_text(s.path)) for s in load_manifest(CORPUS_DIR)}


@pytest.fixture
def mini_corpus(tmp_path) -> Path:
    """A private corpus directory (manifest with the two small documents) the test may modify."""
    return make_corpus(tmp_path / "corpus")


@pytest.fixture
def mini_settings(tmp_path, mini_corpus) -> Settings:
    """Settings for a private, not yet built index of ``mini_corpus`` (environment already isolated)."""
    return Settings.from_env(data_dir=tmp_path / "data", corpus_dir=mini_corpus)


# --- test tiers -----------------------------------------------------------------------------------------
INDEX_FIXTURES = frozenset({"built_index", "shared_qa", "mini_corpus", "mini_settings", "mini_template",
                            "chroma_server"})
"""Fixtures that build or load a Chroma + BM25 index of (part of) the bundled corpus: a test using one is an
integration test."""


def pytest_collection_modifyitems(config, items):
    """Mark each collected test with its tier: ``browser`` (tests/browser, marked there), ``integration``
    (uses a fixture of ``INDEX_FIXTURES``: an index of the bundled corpus, a part of it or a Chroma server),
    or ``unit`` (hand-made inputs, no index). ``pytest -m unit`` runs the unit tier alone; `.ci/run` runs
    all three."""
    for item in items:
        if item.get_closest_marker("browser"):
            continue
        if INDEX_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)
