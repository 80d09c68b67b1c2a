"""Incremental, atomic ingestion: sources → cleaned documents → chunks → BM25 + Chroma index.

``ingest`` syncs the index to exactly the given sources (default: the bundled corpus plus files
uploaded into ``data_dir/uploads``) minus the documents it is told to ``exclude`` (default: the
bundled documents hidden in the knowledge base, ``data_dir/kb.json``, also when explicit paths are
given, so that the index and kb.json agree; pass ``exclude=[]`` to index them): unchanged files (same sha256,
same chunking settings) reuse their chunks, changed files are re-chunked, files no longer present or
excluded lose their chunks. A file that cannot be read is reported and skipped; if an earlier version
of it was indexed, that version is kept. Nothing changes when nothing changed — unless the live
generation is damaged (``rag.index.store.check_index``: a file missing, unreadable or inconsistent), which is
then rebuilt from the sources (``IngestReport.repaired`` says what was wrong). The new generation
becomes live only when complete. One ingest runs at a time per data directory (``rag.index.store.ingest_lock``:
a second one waits for the first, then syncs against the index the first one left).

This module decides what changed and reads, cleans and chunks the sources (in worker processes for a large
job, ``rag.index.workers``); ``rag.index.generation`` writes the new generation and switches to it, with
the tokens and BM25 index of ``rag.index.lexical`` and the rows it takes over from the live generation
through ``rag.index.reuse``.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from rag.ingest.corpus import Source, collect_sources, excluded, file_sha256, metadata_corrections
from rag.errors import IngestError
from rag.index.generation import _build_generation
from rag.index.reuse import _previous
from rag.index.store import INDEX_FORMAT, ingest_lock, inspect_index, read_current, release_chroma, userdict_path
from rag.index.workers import PARALLEL_MIN_BYTES, Workers, read_and_chunk
from rag.ingest.metadata import METADATA_VERSION
from rag.settings import Settings
from rag.types import Chunk

# Re-exported: the names this module defined or imported before the generation build, the tokens and BM25
# index, and the reuse of the live generation moved to rag.index.generation, rag.index.lexical and
# rag.index.reuse (patch a name in the module that reads it: monkeypatching it here no longer reaches it).
from rag.errors import RagError  # noqa: F401
from rag.index.generation import (DRIFT_MAX_OOV, DRIFT_MIN_SHARE, EMBED_BATCH, REFIT_ALWAYS_ROWS,  # noqa: F401
                                  UPSERT_BATCH, _collection_name, _refit_reason, _undo_vectors)
from rag.index.lexical import (_bm25_index, _document_frequencies_ids, _text_key, _token_counts,  # noqa: F401
                               _tokens)
from rag.index.reuse import (PreviousChunks, _chunks_by_doc, _collection_ids, _generation_vector_ids,  # noqa: F401
                             _known_ids, _reused_rows, _write_chunks)
from rag.index.store import (chroma_client, chunk_from_json, chunk_metadata, chunk_to_json, index_dir,  # noqa: F401
                             indexed_parts, make_embedder, meta_from_json, remove_stale, write_current)
from rag.index.workers import PARALLEL_MIN_CHUNKS, TOKEN_BATCH, chunk_tokens, tokenize_lines  # noqa: F401
from rag.text import Tokenizer  # noqa: F401

Progress = Callable[[Iterable, str, int], Iterable]


def _no_progress(items: Iterable, desc: str, total: int) -> Iterable:
    return items


@dataclass
class IngestReport:
    """What an ingest did. Lists hold document ids; ``failed`` holds ``(path, reason)``; ``excluded``
    holds the ids of the given sources that were left out (``exclude``), in source order."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    n_documents: int = 0
    n_chunks: int = 0
    generation: str | None = None
    seconds: float = 0.0
    excluded: list[str] = field(default_factory=list)
    # doc_id → encoding of the text/HTML files read (re-read) now that were not plain UTF-8 ("GB18030",
    # "UTF-16LE", "UTF-8 (BOM)" …; rag.ingest.readers.decode_bytes)
    encodings: dict[str, str] = field(default_factory=dict)
    # the damage found in the live generation and repaired by rebuilding it ("<file>: <what was wrong>",
    # rag.index.store.check_index), None when it was sound
    repaired: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.repaired)

    def to_json(self) -> dict:
        return asdict(self)


def default_sources(settings: Settings) -> list[Path]:
    """The bundled corpus directory plus the uploads folder (when it holds files). Documents hidden in
    the knowledge-base tab are not left out here but by ``ingest``'s ``exclude`` (``default_exclude``)."""
    paths = [Path(settings.corpus_dir)]
    uploads = Path(settings.data_dir) / "uploads"
    if uploads.exists() and any(uploads.iterdir()):
        paths.append(uploads)
    return paths


def default_exclude(settings: Settings) -> list[str]:
    """Ids of the bundled documents hidden in the knowledge-base tab (``rag.ingest.corpus.excluded``: the list in
    ``data_dir/kb.json``; [] when absent). Raises KnowledgeBaseError when kb.json is damaged."""
    return excluded(settings)


def _fingerprint(settings: Settings) -> dict:
    """What the chunks and vectors depend on besides the files; a change re-indexes everything."""
    import hashlib

    from rag.index.embeddings import embedder_spec
    from rag.text import STOPWORDS

    userdict = userdict_path(settings)
    return {"format": INDEX_FORMAT, "chunk_tokens": settings.chunk_tokens, "embeddings": settings.embeddings,
            "userdict": file_sha256(userdict)[:16] if userdict else None,
            # the words BM25 and LSA leave out: a change re-tokenises every chunk
            "stopwords": hashlib.sha256(" ".join(sorted(STOPWORDS)).encode("utf-8")).hexdigest()[:16],
            "embedding_model": embedder_spec(settings.embeddings).label(settings)}


def ingest(settings: Settings, paths: list[Path] | None = None, progress: Progress = _no_progress,
           exclude: Iterable[str] | None = None, keep_others: bool = False, on_wait=None,
           refit: bool = False, client_factory=None) -> IngestReport:
    """Sync the index with ``paths`` (files or directories; default ``default_sources``) without the
    documents whose ids are in ``exclude``.

    ``keep_others``: add or update the documents of ``paths`` and carry every other indexed document
    over unchanged, as long as its source file still exists and it is not in ``exclude`` (``rag ingest
    PATH`` and the knowledge base: adding one document never removes another). ``False``: ``paths``
    become the whole index (``rag ingest --replace``, evaluation corpora).

    ``exclude``: document ids (manifest ids, or file-name ids of loose files) to leave out of the index;
    when indexed before, their chunks are removed (``IngestReport.removed``), the files are not touched.
    Ids that match no source are ignored. ``None`` means ``default_exclude`` (the documents hidden in
    the knowledge base), with or without ``paths``: a hidden document stays out of the index until it
    is restored (``rag.index.kb.restore_document`` / ``rag.index.kb.unhide``); ``[]`` indexes every source.

    A damaged live generation (``rag.index.store.check_index``) is rebuilt from the sources even when no file
    changed; ``IngestReport.repaired`` holds the damage found.

    ``client_factory``: ``factory(settings, fresh=False)`` → the Chroma client the vectors go to (default
    ``rag.index.store.chroma_client``; see ``rag.index.store.load_index``).

    Work is proportional to what changed: chunks of unchanged text reuse their stored jieba tokens
    (tokens.npz), BM25 is rebuilt from stored tokens, and only vectors the persistent Chroma collection
    lacks are computed and upserted; a document carried over unchanged keeps its stored chunks.jsonl lines,
    tokens and vector ids (``_reused_rows``), and the collection's ids are listed only when it holds
    other vectors than the live pointer records (``_known_ids``). The offline LSA model stays frozen (new chunks are projected with
    it) unless ``refit`` (``rag ingest --replace``), the corpus is small (``REFIT_ALWAYS_ROWS``) or it
    drifted (``_refit_reason``); a refit fills a new collection and the old one is dropped after the switch.

    The whole sync holds the data directory's ingest lock (``rag.index.store.ingest_lock``): while another
    ingest or knowledge-base change runs, this one waits (``on_wait()`` is called once when it starts
    waiting), then reads the index that one left.

    Returns an IngestReport. Raises IngestError when no document could be indexed (also when all were
    excluded) or the index could not be written, IngestBusyError when the lock stayed held beyond the
    wait, and KnowledgeBaseError when ``exclude`` is None and kb.json is damaged; the previous index stays
    live in every case.
    """
    with ingest_lock(settings, on_wait=on_wait), Workers() as workers:
        return _ingest(settings, paths, progress, exclude, keep_others, refit, workers, client_factory)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _warm_imports() -> None:
    """Import, in a daemon thread, the libraries the later stages of an ingest need (Chroma's client,
    bm25s, SciPy's sparse matrices, the embeddings module): started while worker processes read and chunk
    the documents, when this process only waits for them, so that ~1.5 s of imports are not paid after.
    An import that fails here is left to fail, with its own error, where the stage imports it."""
    import threading

    def run():
        try:
            import scipy.sparse  # noqa: F401

            from rag import imports
            from rag.index import embeddings  # noqa: F401

            imports.bm25s()
            import chromadb  # noqa: F401
        except Exception:  # noqa: BLE001 - the stage that needs the module reports it
            pass

    threading.Thread(target=run, name="warm-imports", daemon=True).start()


def _ingest(settings, paths, progress, exclude, keep_others, refit=False, workers=None,
            client_factory=None) -> IngestReport:
    started = time.perf_counter()
    if workers is None:
        workers = Workers()  # never started: its map runs in this process unless a job is large
    from rag import imports

    imports.jieba()  # the tokenizer's jieba, imported without pkg_resources before anything imports it
    if exclude is None:
        exclude = default_exclude(settings)
    leave_out = set(exclude)
    sources = []
    report = IngestReport()
    corrections = metadata_corrections(settings)  # doc_id → {field: value}, data_dir/metadata.json
    for source in collect_sources(paths or default_sources(settings)):
        if source.meta.doc_id in corrections:
            source = replace(source, overrides=tuple(sorted(corrections[source.meta.doc_id].items())))
        if source.meta.doc_id in leave_out:
            report.excluded.append(source.meta.doc_id)
        else:
            sources.append(source)
    loaded, damage = inspect_index(settings, client_factory)
    pointer = None if damage is not None and damage.path == "index/CURRENT.json" else read_current(settings)
    if damage is not None:
        report.repaired = damage.detail
        if damage.path.startswith("chroma"):
            _set_aside_chroma(settings)
    fingerprint = _fingerprint(settings)
    same_settings = bool(pointer) and pointer.get("fingerprint") == fingerprint
    prev_docs, prev_chunks, prev_texts = _previous(settings, pointer, loaded)

    entries: dict[str, dict] = {}
    chunks_by_doc: dict[str, list[Chunk]] = {}
    seen_ids: set[str] = set()
    plan = []  # (source, sha256 or None, previous entry, metadata inputs, unchanged, failure to read it)
    for source in sources:
        source = _unique(source, seen_ids)
        prev = prev_docs.get(source.meta.doc_id)
        failure = None
        try:
            sha = file_sha256(source.path)
        except OSError as exc:
            failure = (str(source.path), f"cannot be read ({exc.strerror or exc})")
            sha = None
        # what the metadata depends on besides the text: manifest entry, corrections, extractor version
        meta_json = {**asdict(source.meta), "manifest_fields": list(source.manifest_fields),
                     "overrides": [list(p) for p in source.overrides], "extractor": METADATA_VERSION}
        unchanged = bool(sha and prev and same_settings and prev["sha256"] == sha
                         and prev.get("meta_in") == _jsonable(meta_json))
        plan.append((source, sha, prev, meta_json, unchanged, failure))
    # reading, cleaning and chunking: worker processes for a large job (rag.index.workers), same results
    jobs = [(source, sha, settings.chunk_tokens) for source, sha, _p, _m, unchanged, _f in plan
            if sha and not unchanged]
    size = sum(_file_size(job[0].path) for job in jobs)
    parallel = size >= PARALLEL_MIN_BYTES and len(jobs) > 1 and workers.n > 1
    if parallel:
        _warm_imports()
    loaded_docs = iter(workers.map(read_and_chunk, jobs, parallel, progress, "读取与分块"))
    for source, sha, prev, meta_json, unchanged, failure in plan:
        doc_id = source.meta.doc_id
        if failure is not None:
            report.failed.append(failure)
        if unchanged:
            entries[doc_id] = {**prev, "source": str(source.path)}  # the same bytes may have moved
            chunks_by_doc[doc_id] = prev_chunks.get(doc_id, [])
            report.unchanged.append(doc_id)
            continue
        doc = chunks = flagged = None
        if sha is not None:
            doc, chunks, flagged, failure = next(loaded_docs)
            if failure is not None:
                report.failed.append(failure)
        if doc is None:
            if prev:  # keep the last good version: nothing is lost
                entries[doc_id] = prev
                chunks_by_doc[doc_id] = prev_chunks.get(doc_id, [])
                report.unchanged.append(doc_id)
            continue
        if doc.encoding and doc.encoding != "UTF-8":
            report.encodings[doc_id] = doc.encoding
        entries[doc_id] = {"meta": _jsonable(asdict(doc.meta)), "meta_in": _jsonable(meta_json), "sha256": sha,
                           "source": str(source.path), "text": doc.text, "n_chunks": len(chunks),
                           "encoding": doc.encoding,
                           # passages with instruction-like text (rag.injection): listed in the knowledge base
                           "instruction_like": flagged}
        chunks_by_doc[doc_id] = chunks
        (report.updated if prev else report.added).append(doc_id)
    if keep_others:
        for doc_id, prev in prev_docs.items():
            if doc_id in entries or doc_id in leave_out or not Path(prev.get("source", "")).is_file():
                continue
            entries[doc_id] = prev
            chunks_by_doc[doc_id] = prev_chunks.get(doc_id, [])
            report.unchanged.append(doc_id)
    report.removed = [d for d in prev_docs if d not in entries]
    report.n_documents = len(entries)
    report.n_chunks = sum(len(v) for v in chunks_by_doc.values())
    if not entries:
        if report.failed:
            reason = "no document could be indexed: " + "; ".join(f"{p}: {r}" for p, r in report.failed)
        elif report.excluded:
            reason = (f"every document was excluded ({', '.join(report.excluded)}); leave at least one in the "
                      f"index; the previous index is unchanged")
        else:
            reason = "no .txt/.md/.pdf/.docx/.html documents found to ingest"
        raise IngestError(reason)
    if pointer and same_settings and not report.changed:
        report.generation = pointer["generation"]
        report.seconds = time.perf_counter() - started
        return report
    report.generation = _build_generation(settings, entries, chunks_by_doc, fingerprint, pointer, progress,
                                          keep_previous=damage is None, refit=refit, workers=workers,
                                          client_factory=client_factory)
    shutil.rmtree(Path(settings.data_dir) / CHROMA_ASIDE, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


CHROMA_ASIDE = "chroma.damaged"
"""Where a damaged embedded Chroma store is moved while the index is rebuilt (removed after success)."""


def _set_aside_chroma(settings: Settings) -> None:
    """Move a damaged embedded Chroma store (``data_dir/chroma``) to ``CHROMA_ASIDE`` and forget this
    process's client of it, so that the rebuild writes into a fresh store. No-op for a Chroma server."""
    if settings.chroma_host:
        return
    release_chroma(settings)
    store, aside = Path(settings.data_dir) / "chroma", Path(settings.data_dir) / CHROMA_ASIDE
    shutil.rmtree(aside, ignore_errors=True)
    if store.exists():
        store.rename(aside)


def _jsonable(meta_json: dict) -> dict:
    return json.loads(json.dumps(meta_json, ensure_ascii=False))


def _unique(source: Source, seen: set[str]) -> Source:
    doc_id, n = source.meta.doc_id, 2
    while doc_id in seen:
        doc_id, n = f"{source.meta.doc_id}-{n}", n + 1
    seen.add(doc_id)
    if doc_id == source.meta.doc_id:
        return source
    return replace(source, meta=replace(source.meta, doc_id=doc_id))
