"""Worker processes for the two CPU-bound stages of a large ingest: reading and chunking documents, and
cutting chunks into jieba tokens.

Both stages are pure functions of their input (a source file; a chunk's lines), and their results are
gathered in input order, so an ingest with workers writes byte-identical chunks, tokens and vectors to one
without (tests/test_ingest_workers.py). Workers are started with the ``spawn`` method (safe in a process
that has threads, such as the UI) and only for a large job — ``PARALLEL_MIN_BYTES`` of files to read or
``PARALLEL_MIN_CHUNKS`` chunks to cut — because each one needs ~1.5 s to import the package and load
jieba's dictionary; adding a file or ingesting the bundled corpus stays in one process.

``RAG_INGEST_WORKERS`` sets the number of processes (default: the CPUs this process may run on, at most
``MAX_WORKERS``; ``1`` keeps everything in the ingesting process).
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, Sequence

PARALLEL_MIN_BYTES = 1_000_000
"""Files to read and chunk totalling at least this many bytes (≈ 330 k Chinese characters, three times
the bundled corpus) are read by workers; the pool then stays up for tokenising."""

PARALLEL_MIN_CHUNKS = 8_000
"""At least this many chunks to tokenise are cut by workers (more than ``TOKEN_BATCH`` when the workers
are already running from reading)."""

MAX_WORKERS = 4
TOKEN_BATCH = 400
"""Chunks per tokenisation task."""


def worker_count() -> int:
    """``RAG_INGEST_WORKERS`` when set to a positive integer, else the number of CPUs this process may run
    on (``os.sched_getaffinity``), at most ``MAX_WORKERS``."""
    raw = os.environ.get("RAG_INGEST_WORKERS", "").strip()
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


class Workers:
    """A pool of ``worker_count()`` spawned processes, started on the first ``map`` that is large enough
    and stopped by ``close`` (use as a context manager). ``map`` runs in this process when the pool
    would have one worker or the job is small."""

    def __init__(self):
        self.n = worker_count()
        self._pool = None

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def started(self) -> bool:
        """Whether the processes are running (an earlier ``map`` ran in them): a later job of any size
        costs them no start-up."""
        return self._pool is not None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def map(self, fn: Callable, jobs: Sequence, parallel: bool, progress=None, desc: str = "", total=None) -> list:
        """``[fn(job) for job in jobs]`` (in order), in the pool when ``parallel`` and more than one worker
        is configured; ``progress(iterable, desc, total)`` wraps the results as they arrive."""
        total = len(jobs) if total is None else total
        if parallel and self.n > 1 and len(jobs) > 1:
            if self._pool is None:
                import multiprocessing

                self._pool = multiprocessing.get_context("spawn").Pool(self.n)
            results: Iterable = self._pool.imap(fn, jobs)
        else:
            results = map(fn, jobs)
        if progress is not None:
            results = progress(results, desc, total)
        return list(results)


def read_and_chunk(job: tuple) -> tuple:
    """One source read, cleaned, chunked and checked: ``job = (source, sha256, chunk_tokens)`` →
    ``(Document, chunks with the card last, flagged passages, None)``, or ``(None, None, None, (path,
    reason))`` when the file cannot be read (DocumentReadError). The card is ``rag.ingest.corpus.build_card``."""
    from rag.ingest.chunking import chunk_document
    from rag.ingest.corpus import build_card, card_statements, load_document
    from rag.errors import DocumentReadError
    from rag.injection import flagged_passages

    source, sha, chunk_tokens = job
    try:
        doc = load_document(source, sha)
    except DocumentReadError as exc:
        return None, None, None, (exc.path, exc.reason)
    chunks = chunk_document(source.meta.doc_id, doc.text, chunk_tokens)
    chunks.append(build_card(doc.meta, card_statements(source, doc.meta), doc.text))
    return doc, chunks, flagged_passages(chunks), None


def tokenize_lines(job: tuple) -> list[str]:
    """Tokens of a batch of chunks: ``job = (userdict path or None, [lines of each chunk's indexed text])``
    → for each chunk its tokens joined by "\\n" (a token never holds a line break; "" for none). The lines
    before a chunk's passage are cut once per batch (see ``rag.index.build._tokens``)."""
    from pathlib import Path

    from rag.text import Tokenizer

    userdict, batch = job
    tokenizer = Tokenizer(Path(userdict) if userdict else None)
    return ["\n".join(tokens) for tokens in chunk_tokens(tokenizer, batch)]


def chunk_tokens(tokenizer, batch: Iterable[Sequence[str]]) -> list[list[str]]:
    """Each chunk's tokens from its lines (``rag.index.store.indexed_parts``: jieba never cuts across a line
    break, so a text's tokens are its lines' tokens in order); the lines before the passage (title,
    region, section path, table header), repeated over a document's chunks, are cut once each."""
    memo: dict[str, list[str]] = {}

    def line_tokens(line: str) -> list[str]:
        got = memo.get(line)
        if got is None:
            got = memo[line] = tokenizer.tokens(line)
        return got

    out = []
    for lines in batch:
        if not lines:
            out.append([])
            continue
        *head, passage = lines
        out.append([w for line in head for w in line_tokens(line)] + tokenizer.tokens(passage))
    return out
