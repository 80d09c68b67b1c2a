"""rag.index.workers: an ingest whose reading, chunking and tokenising run in worker processes writes the
same chunks, tokens, BM25 statistics and metadata as one that runs in a single process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.index.store import read_current
from rag.index.workers import Workers, worker_count
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _generation(settings: Settings) -> Path:
    return Path(settings.data_dir) / "index" / read_current(settings)["generation"]


INGEST_SCRIPT = """
import sys
from pathlib import Path
from rag.index import build as rag_ingest
from rag.index import lexical
from rag.index.workers import Workers
from rag.settings import Settings

data, workers = sys.argv[1], sys.argv[2]
sources = sorted(Path(sys.argv[3]).glob("*.md"))[:12]
if workers != "1":
    rag_ingest.PARALLEL_MIN_BYTES = lexical.PARALLEL_MIN_CHUNKS = 0  # every job goes to the workers
    lexical.TOKEN_BATCH = 37  # several batches, gathered in order
started = []
real_close = Workers.close
Workers.close = lambda self: started.append(self._pool is not None) or real_close(self)
report = rag_ingest.ingest(Settings.from_env(data_dir=Path(data)), sources)
print(report.n_chunks, started)
"""


def test_workers_write_the_same_index_as_one_process(tmp_path):
    """Each ingest in a new process: jieba's dictionary is process state (a user dictionary loaded by an
    earlier ingest of another corpus stays loaded), so both start from the same state."""
    import os
    import subprocess
    import sys

    runs = {}
    for workers in ("1", "2"):
        env = {**os.environ, "RAG_INGEST_WORKERS": workers}
        out = subprocess.run([sys.executable, "-c", INGEST_SCRIPT, str(tmp_path / workers), workers,
                              str(ROOT / "eval" / "corpora" / "lawref-dev")], env=env, capture_output=True,
                             text=True, timeout=600, check=True).stdout.split()
        runs[workers] = out
    assert runs["1"][1:] == ["[False]"] and runs["2"][1:] == ["[True]"]  # the pool ran in the second only
    assert runs["1"][0] == runs["2"][0]
    single = Settings.from_env(data_dir=tmp_path / "1")
    parallel = Settings.from_env(data_dir=tmp_path / "2")
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
