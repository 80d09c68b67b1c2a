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
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from rag.ingest.corpus import Source, collect_sources, excluded, file_sha256, metadata_corrections
from rag.errors import IngestError, RagError
from rag.index.store import (INDEX_FORMAT, chroma_client, chunk_from_json, chunk_metadata, chunk_to_json,
                       index_dir, indexed_parts, ingest_lock, inspect_index, make_embedder, meta_from_json,
                       read_current, release_chroma, remove_stale, userdict_path, write_current)
from rag.index.workers import (PARALLEL_MIN_BYTES, PARALLEL_MIN_CHUNKS, TOKEN_BATCH, Workers, chunk_tokens,
                                read_and_chunk, tokenize_lines)
from rag.ingest.metadata import METADATA_VERSION
from rag.settings import Settings
from rag.text import Tokenizer
from rag.types import Chunk

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


def _previous(settings: Settings, pointer: dict | None, loaded=None) -> tuple[dict, dict, dict]:
    """(doc entries, chunks by doc, cleaned texts by doc) of the live generation, or empty dicts; taken
    from ``loaded`` (the generation as ``rag.index.store.inspect_index`` read it) when given."""
    if not pointer:
        return {}, {}, {}
    if loaded is not None and getattr(loaded, "entries", None) is not None \
            and loaded.generation == pointer["generation"]:
        chunks = _chunks_by_doc(loaded.chunks)
        by_id = {d["meta"]["doc_id"]: d for d in loaded.entries}
        return by_id, chunks, {d: e["text"] for d, e in by_id.items()}
    gen_dir = index_dir(settings) / pointer["generation"]
    try:
        docs = json.loads((gen_dir / "documents.json").read_text(encoding="utf-8"))
        chunks = _chunks_by_doc([chunk_from_json(json.loads(line))
                                 for line in (gen_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()])
        by_id = {d["meta"]["doc_id"]: d for d in docs}
        if any(len(chunks.get(doc_id, ())) != int(d.get("n_chunks", -1)) for doc_id, d in by_id.items()):
            return {}, {}, {}  # chunks.jsonl and documents.json disagree: re-read every source
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}, {}, {}  # a damaged live generation: rebuild everything
    return by_id, chunks, {d["meta"]["doc_id"]: d["text"] for d in docs}


class PreviousChunks(list):
    """A document's chunks as the live generation stores them: a list of Chunk that also records
    ``rows``, the range of rows (chunks.jsonl lines, tokens.npz rows) they occupy there, or None when
    the document's chunks are not one contiguous run. ``_build_generation`` reuses those rows' stored
    line, tokens and vector ids for a document whose chunk list is this very object (carried over
    unchanged), instead of serialising, hashing and tokenising its chunks again."""

    rows: tuple[int, int] | None = None


def _chunks_by_doc(chunks: list[Chunk]) -> dict[str, PreviousChunks]:
    """doc_id → PreviousChunks (with their row range) of a generation's ``chunks`` in row order."""
    out: dict[str, PreviousChunks] = {}
    start: dict[str, int] = {}
    broken: set[str] = set()
    last = None
    for row, c in enumerate(chunks):
        doc = c.doc_id
        if doc != last:
            if doc in out:
                broken.add(doc)  # a second run of the same document: no row range
            else:
                out[doc], start[doc] = PreviousChunks(), row
            last = doc
        out[doc].append(c)
    for doc, got in out.items():
        if doc not in broken:
            got.rows = (start[doc], start[doc] + len(got))
    return out


def _fingerprint(settings: Settings) -> dict:
    """What the chunks and vectors depend on besides the files; a change re-indexes everything."""
    from rag.index.embeddings import embedder_spec

    userdict = userdict_path(settings)
    return {"format": INDEX_FORMAT, "chunk_tokens": settings.chunk_tokens, "embeddings": settings.embeddings,
            "userdict": file_sha256(userdict)[:16] if userdict else None,
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


REFIT_ALWAYS_ROWS = 2000
"""A corpus of at most this many chunks gets a freshly fitted LSA model at every ingest that changes it
(exact and cheap at that size: the Gram-matrix SVD); a larger one keeps its frozen model until
``_refit_reason`` says it drifted."""

DRIFT_MIN_SHARE = 0.10
"""Drift is judged once the chunks embedded since the fit are at least this share of the corpus."""

DRIFT_MAX_OOV = 0.10
"""... and refits when their share of feature occurrences out of the model's vocabulary exceeds the
share measured on the corpus at fit time by more than this."""

UPSERT_BATCH = 1000
EMBED_BATCH = 2000


def _refit_reason(model, info: dict, n_rows: int) -> str | None:
    """Why the LSA model must be fitted again for a corpus of ``n_rows`` chunks (None: keep it frozen).
    ``info``: the live pointer's ``embedder`` record (fit statistics and the drift counters)."""
    if model is None:
        return "no model"
    if n_rows <= REFIT_ALWAYS_ROWS:
        return "small corpus"
    fit_rows = int(model.info.get("fit_rows") or 0)
    from rag.index.embeddings import FIT_MAX_ROWS

    if fit_rows < min(FIT_MAX_ROWS, n_rows) / 2:
        return f"fitted on {fit_rows} chunks, the corpus has {n_rows}"
    added, oov = int(info.get("added_rows") or 0), float(info.get("added_oov") or 0.0)
    if added >= DRIFT_MIN_SHARE * n_rows and oov > float(info.get("fit_oov") or 0.0) + DRIFT_MAX_OOV:
        return f"vocabulary drift ({oov:.0%} of new chunks' features unknown)"
    return None


def _text_key(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _collection_ids(collection) -> set[str]:
    """All ids stored in a Chroma collection (paged)."""
    ids: set[str] = set()
    page, offset = 20000, 0
    while True:
        got = collection.get(include=[], limit=page, offset=offset)["ids"]
        ids.update(got)
        if len(got) < page:
            return ids
        offset += page


def _tokens(settings, chunks, texts, prev_gen, progress, lines=None, workers=None, reuse=None, prev=None):
    """Each chunk's jieba tokens as vocabulary ids: ``(vocab list, flat int32 ids, int64 offsets, keys,
    previous tokens.npz arrays or None)``. Chunks whose indexed text (``keys``: its sha1) was tokenised
    in the previous generation reuse those tokens; only the others are tokenised. A chunk without
    tokens gets the empty token "" (BM25 needs one per row). The vocabulary keeps only used tokens.

    ``texts`` and ``lines`` may be sequences or callables row → value (computed only for the rows
    tokenised or keyed here). ``reuse`` (optional int array, one per chunk): the previous generation's
    row holding this chunk unchanged (same chunk, document metadata and so indexed text), or -1; such
    rows take that row's key and tokens without hashing their text. ``prev``: the previous
    generation's tokens.npz arrays when already loaded (else read from ``prev_gen``).

    ``lines``: per chunk, the lines its indexed text joins with "\\n" (``rag.index.store.indexed_parts``).
    jieba never cuts across a line break (it cuts runs of Han characters, letters and digits; NFKC and
    lower-casing stop there too), so a text's tokens are its lines' tokens in order: the lines before
    the passage (title, region, section path, table header), repeated over a document's chunks, are
    tokenised once each (a tenth to a third of the characters of a regulation's articles).
    ``workers`` (``rag.index.workers.Workers``): at least ``PARALLEL_MIN_CHUNKS`` chunks (more than
    ``TOKEN_BATCH`` when its processes already run) are cut in its processes, in batches of
    ``TOKEN_BATCH``; the results are the same."""
    import numpy as np

    from rag.index.store import TOKENS_FILE, load_tokens

    text_of = texts if callable(texts) else texts.__getitem__
    line_of = None if lines is None else (lines if callable(lines) else lines.__getitem__)
    if prev is None and prev_gen is not None:
        try:
            prev = load_tokens(prev_gen / TOKENS_FILE)
        except (OSError, ValueError, KeyError):
            prev = None
    if prev is None or reuse is None:
        reuse = np.full(len(chunks), -1, dtype=np.int64)
    prev_keys = prev["keys"].tolist() if prev is not None else []
    keys = [prev_keys[j] if j >= 0 else _text_key(text_of(i)) for i, j in enumerate(reuse.tolist())]
    vocab: list[str] = prev["vocab"].tolist() if prev is not None else []
    position = {t: i for i, t in enumerate(vocab)}
    src = reuse.astype(np.int64)  # per chunk: the previous generation's row with the same key, or -1
    rest = np.flatnonzero(src < 0).tolist()
    prev_rows = {k: i for i, k in enumerate(prev_keys)} if rest and prev_keys else {}
    todo = []
    for i in rest:
        j = prev_rows.get(keys[i])
        if j is None:
            todo.append(i)
        else:
            src[i] = j
    new_parts: dict[int, object] = {}
    userdict = userdict_path(settings)
    batches = [[line_of(i) if line_of is not None else [text_of(i)] for i in todo[at:at + TOKEN_BATCH]]
               for at in range(0, len(todo), TOKEN_BATCH)]
    if workers is not None and workers.n > 1 and (len(todo) >= PARALLEL_MIN_CHUNKS
                                                  or (workers.started and len(todo) > TOKEN_BATCH)):
        joined = workers.map(tokenize_lines, [(str(userdict) if userdict else None, b) for b in batches], True,
                             progress, "分词", len(batches))
        cut = (t.split("\n") if t else [] for part in joined for t in part)
    else:
        tokenizer = Tokenizer(userdict)
        cut = (words for batch in progress(batches, "分词", len(batches)) for words in chunk_tokens(tokenizer, batch))
    for i, words in zip(todo, cut):
        words = words or [""]
        new_parts[i] = np.fromiter((position.setdefault(w, len(position)) for w in words), dtype=np.int32,
                                   count=len(words))
    vocab.extend(list(position)[len(vocab):])
    lengths = np.zeros(len(chunks), dtype=np.int64)
    have = src >= 0
    if prev is not None and have.any():
        prev_ids, prev_off = prev["ids"], prev["offsets"]
        lengths[have] = prev_off[src[have] + 1] - prev_off[src[have]]
    for i, got in new_parts.items():
        lengths[i] = len(got)
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    pieces = []  # runs of consecutive previous rows are copied as one slice
    run_start = run_end = -1
    for i, j in enumerate(src.tolist()):
        if j >= 0:
            if j == run_end:
                run_end += 1
                continue
            if run_start >= 0:
                pieces.append(prev_ids[prev_off[run_start]:prev_off[run_end]])
            run_start, run_end = j, j + 1
            continue
        if run_start >= 0:
            pieces.append(prev_ids[prev_off[run_start]:prev_off[run_end]])
        run_start = run_end = -1
        pieces.append(new_parts[i])
    if run_start >= 0:
        pieces.append(prev_ids[prev_off[run_start]:prev_off[run_end]])
    flat = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, dtype=np.int32)
    used = np.bincount(flat, minlength=len(vocab)) > 0
    if not used.all():  # tokens of chunks no longer indexed leave the vocabulary
        remap = (np.cumsum(used) - 1).astype(np.int32)
        flat = remap[flat]
        vocab = [t for t, u in zip(vocab, used) if u]
    return vocab, flat, offsets, keys, prev, len(todo)


def _bm25_index(bm25s, vocab: list[str], flat, offsets, counts=None):
    """A ``bm25s.BM25(k1=1.2, b=0.75)`` (Lucene scoring, NumPy CSC backend) over the chunks whose token ids
    are ``flat[offsets[i]:offsets[i + 1]]`` (ids into ``vocab``) — the index ``BM25.index((id lists,
    vocab dict))`` builds, with the same float32 scores and CSC arrays, computed over the arrays at once
    instead of a Counter per chunk (whole LawRefBook corpus, 164 k chunks: ~6 s → well under 1 s). The
    term frequencies come from a chunk × token CSR matrix; each score is bm25s's
    ``idf · tf / (k1 · (1 − b + b · len / avg_len) + tf)`` in float64 with the idf rounded to float32 first,
    as bm25s computes it (``_score_idf_lucene`` with ``math.log``, ``_score_tfc_robertson``). ``counts``:
    ``_token_counts`` of the same chunks when already computed."""
    import math

    import numpy as np
    import scipy.sparse

    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    if bm25.method != "lucene" or bm25.idf_method != "lucene" or bm25.csc_backend != "numpy":
        raise RuntimeError(f"bm25s defaults changed ({bm25.method}, {bm25.csc_backend}): update _bm25_index")
    n, n_vocab = len(offsets) - 1, len(vocab)
    vocab_dict = {t: i for i, t in enumerate(vocab)}
    lengths = np.diff(np.asarray(offsets, dtype=np.int64))
    avg_len = lengths.mean() if n else np.float64("nan")
    matrix = _token_counts(n_vocab, flat, offsets) if counts is None else counts
    rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(matrix.indptr))
    cols = matrix.indices.astype(np.int32)
    df = np.bincount(cols, minlength=n_vocab)
    idf = np.zeros(n_vocab, dtype=bm25.dtype)
    for token, count in enumerate(df.tolist()):
        if count:
            idf[token] = math.log(1 + (n - count + 0.5) / (count + 0.5))
    k1, b = bm25.k1, bm25.b
    # the same IEEE operations, in the same order, as k1 * ((1 - b) + b * int(length) / avg_len) per chunk
    doc_part = k1 * ((1 - b) + b * lengths.astype(np.float64) / avg_len)
    tf = matrix.data.astype(bm25.dtype).astype(np.float64)
    scores = (idf[cols].astype(np.float64) * (tf / (doc_part[rows] + tf))).astype(bm25.dtype)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    # column-major order, rows ascending within a column: SciPy's CSR → CSC conversion (a counting sort,
    # stable over the row-ordered entries) instead of an argsort of (column, row) keys
    csc = scipy.sparse.csr_matrix((scores, cols, matrix.indptr), shape=matrix.shape).tocsc()
    bm25.scores = {"data": np.asarray(csc.data, dtype=bm25.dtype), "indices": csc.indices.astype(np.int32),
                   "indptr": indptr, "num_docs": n}
    bm25.nonoccurrence_array = None
    if "" not in vocab_dict:
        vocab_dict[""] = max(vocab_dict.values()) + 1
    bm25.vocab_dict = vocab_dict
    bm25.unique_token_ids_set = set(vocab_dict.values())
    return bm25


def _token_counts(n_vocab: int, flat, offsets):
    """The chunk × token count matrix (scipy CSR, int64, duplicates merged: each row's column indices are
    its chunk's distinct token ids, ascending) of the chunks ``flat[offsets[i]:offsets[i + 1]]``. Copies
    its inputs: merging sorts the index arrays in place, and ``flat`` is written to tokens.npz."""
    import numpy as np
    import scipy.sparse

    matrix = scipy.sparse.csr_matrix((np.ones(len(flat), dtype=np.int64), np.array(flat, dtype=np.int32),
                                      np.array(offsets, dtype=np.int64)), shape=(len(offsets) - 1, max(n_vocab, 1)))
    matrix.sum_duplicates()  # a sort per row (np.unique over all 13.6 M tokens of LawRefBook took 7.3 s, this 0.4 s)
    return matrix


def _document_frequencies_ids(vocab: list[str], flat, offsets, counts=None) -> dict:
    """Token → number of chunks containing it (the empty token left out), plus ``"__N__"``; ``counts``:
    ``_token_counts`` of the same chunks when already computed."""
    import numpy as np

    counts = _token_counts(len(vocab), flat, offsets) if counts is None else counts
    df = np.bincount(counts.indices, minlength=len(vocab))
    return {"__N__": len(offsets) - 1, **{vocab[i]: int(c) for i, c in enumerate(df) if c and vocab[i]}}


def _collection_name(settings, model) -> str:
    """``chunks_<fit id>`` for a fitted embedder, else ``chunks_`` + 12 hex of the sha1 of the spec's
    ``collection_key`` (``rag.index.embeddings.EmbedderSpec``)."""
    import hashlib

    from rag.index.embeddings import embedder_spec

    spec = embedder_spec(settings.embeddings)
    if spec.fitted:
        return f"chunks_{model.info['id']}"
    key = spec.collection_key(settings)
    return "chunks_" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def _build_generation(settings, entries, chunks_by_doc, fingerprint, pointer, progress, keep_previous=True,
                      refit=False, workers=None, client_factory=None) -> str:
    """Write a new generation from ``entries``/``chunks_by_doc``, upsert the vectors the collection lacks,
    switch CURRENT, then delete what no kept generation references. Returns the generation name."""
    import numpy as np

    from rag import imports

    bm25s = imports.bm25s()  # without numba: the NumPy backend is the one used

    from rag.index.store import TOKENS_FILE, load_tokens, save_tokens, vector_id

    generation = f"g{time.time_ns():x}"
    root = index_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    tmp_dir = root / (generation + ".partial")
    gen_dir = root / generation
    client = collection = None
    created_collection = None
    upserted: list[str] = []
    prev_gen = (root / pointer["generation"]) if pointer and pointer.get("fingerprint") == fingerprint else None
    try:
        tmp_dir.mkdir()
        chunks = [c for doc_id in entries for c in chunks_by_doc[doc_id]]
        metas = {d: meta_from_json(e["meta"]) for d, e in entries.items()}
        prev_tok = None
        if prev_gen is not None:
            try:
                prev_tok = load_tokens(prev_gen / TOKENS_FILE)
            except (OSError, ValueError, KeyError):
                prev_tok = None
        reuse = _reused_rows(entries, chunks_by_doc, chunks, prev_tok)
        reuse_list = reuse.tolist()
        # indexed text, its lines and the Chroma metadata: computed for a row only when needed (chunks
        # carried over unchanged take their key, tokens and vector id from the previous generation)
        parts_cache: dict[int, list[str]] = {}

        def parts_of(i: int) -> list[str]:
            got = parts_cache.get(i)
            if got is None:
                got = parts_cache[i] = indexed_parts(chunks[i], metas[chunks[i].doc_id])
            return got

        text_cache: dict[int, str] = {}

        def text_of(i: int) -> str:
            got = text_cache.get(i)
            if got is None:
                got = text_cache[i] = "\n".join(parts_of(i))  # indexed_text
            return got

        def meta_of(i: int) -> dict:
            return chunk_metadata(chunks[i], metas[chunks[i].doc_id])

        prev_vids = prev_tok["vector_ids"].tolist() if prev_tok is not None else []
        vids = [prev_vids[j] if j >= 0 else vector_id(chunks[i], text_of(i), meta_of(i))
                for i, j in enumerate(reuse_list)]
        vocab, flat, offsets, keys, prev_tok, n_tokenized = _tokens(settings, chunks, text_of, prev_gen, progress,
                                                                    parts_of, workers, reuse, prev_tok)
        vocab_arr = np.array(vocab, dtype=object)

        def tokens_of(i: int) -> list[str]:
            return [t for t in vocab_arr[flat[offsets[i]:offsets[i + 1]]] if t]

        counts = _token_counts(len(vocab), flat, offsets)
        bm25 = _bm25_index(bm25s, vocab, flat, offsets, counts)
        bm25.save(str(tmp_dir / "bm25"))
        (tmp_dir / "df.json").write_text(json.dumps(_document_frequencies_ids(vocab, flat, offsets, counts),
                                                    ensure_ascii=False), encoding="utf-8")
        save_tokens(tmp_dir / TOKENS_FILE, vocab, flat, offsets, keys, vids)

        tokenizer = Tokenizer(userdict_path(settings))
        fitted = None  # chunk row → row of the fit's vectors (-1: not fitted), after a refit
        info = dict((pointer or {}).get("embedder") or {}) if prev_gen is not None else {}
        from rag.index.embeddings import embedder_spec

        spec = embedder_spec(settings.embeddings)
        if spec.fitted:
            model = None
            if prev_gen is not None and not refit:
                try:
                    model = spec.make(settings, prev_gen, tokenizer)
                except Exception:  # noqa: BLE001 - a missing or damaged model is fitted again
                    model = None
            reason = "replace" if refit else _refit_reason(model, info, len(chunks))
            if reason is not None:
                from rag.index.embeddings import FIT_MAX_ROWS, sample_rows

                sample = sample_rows(len(chunks), FIT_MAX_ROWS)
                model = spec.fit([text_of(i) for i in sample], tokenizer, tokens=[tokens_of(i) for i in sample])
                model.info["corpus_rows"] = len(chunks)
                fitted = np.full(len(chunks), -1, dtype=np.int64)
                fitted[np.asarray(sample)[model.fit_rows]] = np.arange(len(model.fit_rows))
                model.save(tmp_dir / spec.file)
                info = {**model.info, "refit_reason": reason, "added_rows": 0, "added_oov": 0.0}
            else:
                try:
                    os.link(prev_gen / spec.file, tmp_dir / spec.file)
                except OSError:
                    shutil.copyfile(prev_gen / spec.file, tmp_dir / spec.file)
            embedder = model
        else:
            embedder = make_embedder(settings, tmp_dir, tokenizer)
            info = {"model": spec.label(settings)}
        name = _collection_name(settings, embedder)
        client = (client_factory or chroma_client)(settings)
        try:
            collection = client.get_collection(name)
            existing = _known_ids(collection, pointer, name, root, prev_vids if prev_tok is not None else None)
            if existing is None:
                existing = _collection_ids(collection)
        except Exception:  # noqa: BLE001 - not there yet (a new model, or a store rebuilt after damage)
            collection = client.create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
            created_collection, existing = name, set()
        todo = [i for i, v in enumerate(vids) if v not in existing]
        oov_sum, n_projected = 0.0, 0
        step = EMBED_BATCH if spec.fitted else 64
        for start in progress(range(0, len(todo), step), "向量化", (len(todo) + step - 1) // step):
            rows = todo[start:start + step]
            if spec.fitted:
                vectors = np.empty((len(rows), embedder.dim), dtype=np.float32)
                at_fit = fitted[rows] if fitted is not None else np.full(len(rows), -1)
                have = at_fit >= 0
                if have.any():  # the fit computed these already
                    vectors[have] = embedder.fit_vectors[at_fit[have]]
                other = [r for r, h in zip(rows, have) if not h]
                if other:
                    vectors[~have], oov = embedder.embed_features([tokens_of(i) for i in other],
                                                                  [text_of(i) for i in other])
                    oov_sum += oov * len(other)
                    n_projected += len(other)
            else:
                vectors = np.asarray(embedder.embed_documents([text_of(i) for i in rows]), dtype=np.float32)
            for at in range(0, len(rows), UPSERT_BATCH):
                part = rows[at:at + UPSERT_BATCH]
                # vectors and metadata only: the texts are in chunks.jsonl (LiveVectors.texts), and
                # Chroma's full-text index of documents made an upsert ~1.7x slower
                collection.upsert(ids=[vids[i] for i in part], embeddings=vectors[at:at + UPSERT_BATCH],
                                  metadatas=[meta_of(i) for i in part])
                upserted.extend(vids[i] for i in part)
        if spec.fitted and n_projected:
            if fitted is not None:  # chunks of the corpus outside the fitted sample: the baseline for drift
                info["fit_oov"] = round(oov_sum / n_projected, 4)
            else:
                added = int(info.get("added_rows") or 0)
                info["added_oov"] = round((float(info.get("added_oov") or 0.0) * added + oov_sum)
                                          / (added + n_projected), 4)
                info["added_rows"] = added + n_projected
        if fitted is not None:
            embedder.fit_vectors = None
        info.update(rows=len(chunks), embedded_now=len(todo), tokenized_now=n_tokenized)
        _write_chunks(tmp_dir / "chunks.jsonl", chunks, reuse_list, prev_gen)
        (tmp_dir / "documents.json").write_text(json.dumps(list(entries.values()), ensure_ascii=False),
                                                encoding="utf-8")
        # the vectors the collection holds once the stale ones are deleted below: this generation's,
        # and the previous one's while it is kept (read by the next ingest's _known_ids)
        keep_prev = bool(pointer) and keep_previous
        live = set(vids)
        kept = [generation]
        if keep_prev and pointer.get("collection") == name:
            live |= _generation_vector_ids(root / pointer["generation"], prev_tok if prev_gen is not None else None)
            kept.append(pointer["generation"])
        tmp_dir.rename(gen_dir)
        write_current(settings, {"generation": generation, "collection": name,
                                 "embeddings": settings.embeddings, "fingerprint": fingerprint,
                                 "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                 "documents": sorted(entries), "embedder": info,
                                 "vectors": {"count": len(live), "generations": kept}})
    except BaseException as exc:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        shutil.rmtree(gen_dir, ignore_errors=True)
        _undo_vectors(settings, client, created_collection, collection, upserted, pointer)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(exc, RagError):
            raise
        raise IngestError(f"indexing failed ({type(exc).__name__}: {exc}); the previous index is unchanged") from exc
    # keep the previous generation one ingest longer: answers in flight may still be reading it
    # (unless it is damaged); its vectors stay too, everything else leaves the collection
    stale = (existing | set(upserted)) - live
    if stale:
        stale_list = sorted(stale)
        try:
            for at in range(0, len(stale_list), 5000):
                collection.delete(ids=stale_list[at:at + 5000])
        except Exception:  # noqa: BLE001 - best effort: the next ingest deletes what is left
            pass
    remove_stale(settings, keep={generation, pointer["generation"]} if keep_prev else {generation},
                 client=client, keep_collections={name, pointer.get("collection")} if keep_prev else {name})
    return generation


def _reused_rows(entries: dict, chunks_by_doc: dict, chunks: list[Chunk], prev_tok: dict | None):
    """Per chunk of the new generation (``chunks``: the chunks of ``entries`` in order), the row of the
    previous generation (``prev_tok``: its tokens.npz arrays) that holds it unchanged, or -1 (int64
    array). A document's rows are reused when its chunk list is the previous generation's
    ``PreviousChunks`` (carried over with its stored metadata: same chunks, same indexed text and Chroma
    metadata, so the same key, tokens, vector id and chunks.jsonl line) and the stored vector ids there
    name the same chunks."""
    import numpy as np

    from rag.index.store import chunk_id_of

    reuse = np.full(len(chunks), -1, dtype=np.int64)
    if prev_tok is None:
        return reuse
    prev_vids = prev_tok["vector_ids"].tolist()
    at = 0
    for doc_id in entries:
        got = chunks_by_doc[doc_id]
        rows = got.rows if isinstance(got, PreviousChunks) else None
        if rows is not None and rows[1] - rows[0] == len(got) and rows[1] <= len(prev_vids) \
                and all(chunk_id_of(str(v)) == c.chunk_id for v, c in zip(prev_vids[rows[0]:rows[1]], got)):
            reuse[at:at + len(got)] = np.arange(rows[0], rows[1])
        at += len(got)
    return reuse


def _write_chunks(path: Path, chunks: list[Chunk], reuse: list[int], prev_gen: Path | None) -> None:
    """Write chunks.jsonl (one ``chunk_to_json`` object a line, UTF-8, not ASCII-escaped): a chunk with
    a reused row (``reuse[i] >= 0``, see ``_reused_rows``) gets that line of the previous generation's
    chunks.jsonl verbatim (the same bytes its serialisation gives; runs of consecutive rows are copied
    as one slice), the others are serialised. Falls back to serialising every chunk when that file is
    unreadable or its line count is off."""
    import numpy as np

    data = ends = None
    if prev_gen is not None and any(j >= 0 for j in reuse):
        try:
            data = (prev_gen / "chunks.jsonl").read_bytes()
            # JSON escapes newlines inside strings: one line a chunk
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1
            if not data.endswith(b"\n") or max(reuse) >= len(ends):
                data = ends = None
        except OSError:
            data = ends = None
    out: list[bytes] = []
    run_start = run_end = -1  # the previous generation's rows [run_start, run_end) waiting to be copied

    def flush():
        if run_start >= 0:
            out.append(data[int(ends[run_start - 1]) if run_start else 0:int(ends[run_end - 1])])

    for c, j in zip(chunks, reuse):
        if j >= 0 and data is not None:
            if j == run_end:
                run_end += 1
                continue
            flush()
            run_start, run_end = j, j + 1
            continue
        flush()
        run_start = run_end = -1
        out.append((json.dumps(chunk_to_json(c), ensure_ascii=False) + "\n").encode("utf-8"))
    flush()
    with open(path, "wb") as fh:
        for piece in out:
            fh.write(piece)


def _known_ids(collection, pointer: dict | None, name: str, root: Path, prev_vids: list[str] | None) -> set | None:
    """The ids in Chroma ``collection`` (named ``name``) without listing them, or None when they must be
    listed (``_collection_ids``): the live pointer records (``vectors``) how many vectors its ingest left
    in that collection and the generations they belong to; when the collection holds exactly that many
    and those generations' tokens.npz still name that many distinct vector ids, it holds just those
    (vectors an interrupted ingest left behind, or a failed stale deletion, change the count).
    ``prev_vids``: the live generation's vector ids when already read."""
    record = (pointer or {}).get("vectors")
    if not pointer or pointer.get("collection") != name or not isinstance(record, dict):
        return None
    try:
        count, generations = int(record["count"]), [str(g) for g in record["generations"]]
    except (KeyError, TypeError, ValueError):
        return None
    ids: set[str] = set()
    for gen in generations:
        got = set(prev_vids) if gen == pointer["generation"] and prev_vids is not None \
            else _generation_vector_ids(root / gen, None)
        if not got:
            return None
        ids |= got
    try:
        if len(ids) != count or collection.count() != count:
            return None
    except Exception:  # noqa: BLE001 - list the ids instead
        return None
    return ids


def _generation_vector_ids(gen_dir: Path, tokens: dict | None) -> set[str]:
    """The vector ids a generation references (from its tokens.npz; empty when unreadable)."""
    from rag.index.store import TOKENS_FILE, _load_vector_ids

    if tokens is None:
        try:
            return set(_load_vector_ids(gen_dir / TOKENS_FILE))
        except (OSError, ValueError, KeyError):
            return set()
    return set(tokens["vector_ids"].tolist())


def _undo_vectors(settings, client, created_collection, collection, upserted, pointer) -> None:
    """After a failed ingest: drop the collection it created, or the vectors it upserted into the live
    collection that the live generation does not use (best effort; retrieval ignores them anyway)."""
    if client is None:
        return
    try:
        if created_collection is not None:
            if not pointer or pointer.get("collection") != created_collection:
                client.delete_collection(created_collection)
            return
        if collection is not None and upserted:
            live = _generation_vector_ids(index_dir(settings) / pointer["generation"], None) if pointer else set()
            extra = sorted(set(upserted) - live)
            for at in range(0, len(extra), 5000):
                collection.delete(ids=extra[at:at + 5000])
    except Exception:  # noqa: BLE001 - best effort
        pass
