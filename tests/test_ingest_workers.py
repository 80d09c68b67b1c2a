"""rag.ingest_workers: an ingest whose reading, chunking and tokenising run in worker processes writes the
same chunks, tokens, BM25 statistics and metadata as one that runs in a single process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag import ingest as rag_ingest
from rag.index import read_current
from rag.ingest import ingest
from rag.ingest_workers import Workers, worker_count
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _generation(settings: Settings) -> Path:
    return Path(settings.data_dir) / "index" / read_current(settings)["generation"]


def test_workers_write_the_same_index_as_one_process(tmp_path, monkeypatch):
    sources = sorted((ROOT / "eval" / "corpora" / "lawref-dev").glob("*.md"))[:12]
    monkeypatch.setenv("RAG_INGEST_WORKERS", "1")
    single = Settings.from_env(data_dir=tmp_path / "single")
    report_single = ingest(single, sources)
    monkeypatch.setenv("RAG_INGEST_WORKERS", "2")
    monkeypatch.setattr(rag_ingest, "PARALLEL_MIN_BYTES", 0)  # every job goes to the workers
    monkeypatch.setattr(rag_ingest, "PARALLEL_MIN_CHUNKS", 0)
    monkeypatch.setattr(rag_ingest, "TOKEN_BATCH", 37)  # several batches, gathered in order
    started = []
    real_close = Workers.close
    monkeypatch.setattr(Workers, "close", lambda self: started.append(self._pool is not None) or real_close(self))
    parallel = Settings.from_env(data_dir=tmp_path / "parallel")
    report_parallel = ingest(parallel, sources)
    assert started == [True]  # the pool ran
    assert report_parallel.added == report_single.added and report_parallel.n_chunks == report_single.n_chunks
    a, b = _generation(single), _generation(parallel)
    assert (a / "chunks.jsonl").read_bytes() == (b / "chunks.jsonl").read_bytes()
    assert (a / "df.json").read_bytes() == (b / "df.json").read_bytes()
    docs_a = json.loads((a / "documents.json").read_text(encoding="utf-8"))
    docs_b = json.loads((b / "documents.json").read_text(encoding="utf-8"))
    assert docs_a == docs_b
    with np.load(a / "tokens.npz") as ta, np.load(b / "tokens.npz") as tb:
        assert all(np.array_equal(ta[k], tb[k]) for k in ta.files)


def test_worker_count_setting(monkeypatch):
    monkeypatch.setenv("RAG_INGEST_WORKERS", "3")
    assert worker_count() == 3
    monkeypatch.setenv("RAG_INGEST_WORKERS", "no")
    assert 1 <= worker_count() <= 4
    monkeypatch.setenv("RAG_INGEST_WORKERS", "1")
    with Workers() as workers:  # one worker: everything in this process, no pool started
        assert workers.map(len, ["ab", "c"], parallel=True) == [2, 1] and workers._pool is None
