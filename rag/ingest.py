"""Incremental, atomic ingestion: sources → cleaned documents → chunks → BM25 + Chroma index.

``ingest`` syncs the index to exactly the given sources (default: the bundled corpus plus files
uploaded into ``data_dir/uploads``) minus the documents it is told to ``exclude`` (default: the
bundled documents hidden in the knowledge base, ``data_dir/kb.json``, also when explicit paths are
given, so that the index and kb.json agree; pass ``exclude=[]`` to index them): unchanged files (same sha256,
same chunking settings) reuse their chunks, changed files are re-chunked, files no longer present or
excluded lose their chunks. A file that cannot be read is reported and skipped; if an earlier version
of it was indexed, that version is kept. Nothing changes when nothing changed — unless the live
generation is damaged (``rag.index.check_index``: a file missing, unreadable or inconsistent), which is
then rebuilt from the sources (``IngestReport.repaired`` says what was wrong). The new generation
becomes live only when complete. One ingest runs at a time per data directory (``rag.index.ingest_lock``:
a second one waits for the first, then syncs against the index the first one left).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from rag.chunking import chunk_document
from rag.metadata import METADATA_VERSION
from rag.injection import flagged_passages
from rag.corpus import Source, card_statements, collect_sources, file_sha256, load_document
from rag.errors import DocumentReadError, IngestError, RagError
from rag.index import (INDEX_FORMAT, check_index, chroma_client, chunk_from_json, chunk_metadata, chunk_to_json,
                       index_dir, indexed_text, ingest_lock, make_embedder, meta_from_json, read_current,
                       release_chroma, remove_stale, userdict_path, write_current)
from rag.settings import Settings
from rag.text import Tokenizer
from rag.types import Chunk, DocumentMeta

Progress = Callable[[Iterable, str, int], Iterable]
CARD_SECTION = "文件信息"


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
    # "UTF-16LE", "UTF-8 (BOM)" …; rag.readers.decode_bytes)
    encodings: dict[str, str] = field(default_factory=dict)
    # the damage found in the live generation and repaired by rebuilding it ("<file>: <what was wrong>",
    # rag.index.check_index), None when it was sound
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
    """Ids of the bundled documents hidden in the knowledge-base tab (``rag.kb.excluded``: the list in
    ``data_dir/kb.json``; [] when absent). Raises KnowledgeBaseError when kb.json is damaged."""
    from rag import kb

    return kb.excluded(settings)


def build_card(meta: DocumentMeta, statements: Iterable[str], text: str) -> Chunk:
    """A synthetic passage describing the document from its metadata (read from its text, the manifest
    or user corrections: ``DocumentMeta``), so that questions about the documents themselves (issuer,
    number, type, dates, period, status) retrieve it. It quotes the verbatim ``statements`` (the
    manifest's, or the lines the metadata was read from) that occur in the cleaned text; the type and
    effective date lines appear only when known."""
    unknown = "未注明"
    period = meta.period_label() or unknown
    if meta.outlook_year:
        period += f"，远景展望至{meta.outlook_year}年"
    lines = [
        f"文件名称：{meta.title}",
        *([f"文件类型：{meta.doc_type}"] if meta.doc_type else []),
        f"发布单位：{meta.issuer or unknown}",
        f"层级与适用地区：{meta.level or unknown}，{meta.region or unknown}",
        f"文号：{meta.doc_number or unknown}",
        f"成文日期：{meta.date or unknown}",
        *([f"施行日期：{meta.effective_date}"] if meta.effective_date else []),
        f"规划期（实施期）：{period}",
        f"状态：{meta.status or unknown}",
    ]
    quoted = [q for q in (_verbatim(s, text) for s in statements) if q]
    if quoted:
        lines.append("原文：" + " / ".join(quoted))
    body = "\n".join(lines)
    from rag.chunking import chunk_id
    from rag.text import count_tokens

    return Chunk(chunk_id(meta.doc_id, "card\n" + body), meta.doc_id, CARD_SECTION, body, -1, -1,
                 count_tokens(body), "card")


def _verbatim(statement: str, text: str) -> str | None:
    """``statement`` as the cleaned ``text`` writes it: itself when it occurs there, else the first span
    of ``text`` equal to it up to whitespace (a header line "2024年3月29日 北京市…通过" read from the raw file
    before cleaning joined it without the space); None when the text has no such span."""
    import re

    if not statement or not statement.strip():
        return None
    if statement in text:
        return statement
    chars = [re.escape(c) for c in statement if not c.isspace()]
    m = re.search(r"\s*".join(chars), text)
    return m.group() if m else None


def _previous(settings: Settings, pointer: dict | None) -> tuple[dict, dict, dict]:
    """(doc entries, chunks by doc, cleaned texts by doc) of the live generation, or empty dicts."""
    if not pointer:
        return {}, {}, {}
    gen_dir = index_dir(settings) / pointer["generation"]
    try:
        docs = json.loads((gen_dir / "documents.json").read_text(encoding="utf-8"))
        chunks: dict[str, list[Chunk]] = {}
        for line in (gen_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
            c = chunk_from_json(json.loads(line))
            chunks.setdefault(c.doc_id, []).append(c)
        by_id = {d["meta"]["doc_id"]: d for d in docs}
        if any(len(chunks.get(doc_id, ())) != int(d.get("n_chunks", -1)) for doc_id, d in by_id.items()):
            return {}, {}, {}  # chunks.jsonl and documents.json disagree: re-read every source
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}, {}, {}  # a damaged live generation: rebuild everything
    return by_id, chunks, {d["meta"]["doc_id"]: d["text"] for d in docs}


def _fingerprint(settings: Settings) -> dict:
    """What the chunks and vectors depend on besides the files; a change re-indexes everything."""
    userdict = userdict_path(settings)
    return {"format": INDEX_FORMAT, "chunk_tokens": settings.chunk_tokens, "embeddings": settings.embeddings,
            "userdict": file_sha256(userdict)[:16] if userdict else None,
            "embedding_model": settings.embedding_model if settings.embeddings == "openai" else "lsa"}


def ingest(settings: Settings, paths: list[Path] | None = None, progress: Progress = _no_progress,
           exclude: Iterable[str] | None = None, keep_others: bool = False, on_wait=None) -> IngestReport:
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
    is restored (``rag.kb.restore_document`` / ``rag.kb.unhide``); ``[]`` indexes every source.

    A damaged live generation (``rag.index.check_index``) is rebuilt from the sources even when no file
    changed; ``IngestReport.repaired`` holds the damage found.

    The whole sync holds the data directory's ingest lock (``rag.index.ingest_lock``): while another
    ingest or knowledge-base change runs, this one waits (``on_wait()`` is called once when it starts
    waiting), then reads the index that one left.

    Returns an IngestReport. Raises IngestError when no document could be indexed (also when all were
    excluded) or the index could not be written, IngestBusyError when the lock stayed held beyond the
    wait, and KnowledgeBaseError when ``exclude`` is None and kb.json is damaged; the previous index stays
    live in every case.
    """
    with ingest_lock(settings, on_wait=on_wait):
        return _ingest(settings, paths, progress, exclude, keep_others)


def _ingest(settings, paths, progress, exclude, keep_others) -> IngestReport:
    started = time.perf_counter()
    if exclude is None:
        exclude = default_exclude(settings)
    leave_out = set(exclude)
    sources = []
    report = IngestReport()
    corrections = _corrections(settings)
    for source in collect_sources(paths or default_sources(settings)):
        if source.meta.doc_id in corrections:
            source = replace(source, overrides=tuple(sorted(corrections[source.meta.doc_id].items())))
        if source.meta.doc_id in leave_out:
            report.excluded.append(source.meta.doc_id)
        else:
            sources.append(source)
    damage = check_index(settings)
    pointer = None if damage is not None and damage.path == "index/CURRENT.json" else read_current(settings)
    if damage is not None:
        report.repaired = damage.detail
        if damage.path.startswith("chroma"):
            _set_aside_chroma(settings)
    fingerprint = _fingerprint(settings)
    same_settings = bool(pointer) and pointer.get("fingerprint") == fingerprint
    prev_docs, prev_chunks, prev_texts = _previous(settings, pointer)

    entries: dict[str, dict] = {}
    chunks_by_doc: dict[str, list[Chunk]] = {}
    seen_ids: set[str] = set()
    for source in progress(sources, "读取与分块", len(sources)):
        source = _unique(source, seen_ids)
        doc_id = source.meta.doc_id
        prev = prev_docs.get(doc_id)
        try:
            sha = file_sha256(source.path)
        except OSError as exc:
            report.failed.append((str(source.path), f"cannot be read ({exc.strerror or exc})"))
            sha = None
        # what the metadata depends on besides the text: manifest entry, corrections, extractor version
        meta_json = {**asdict(source.meta), "manifest_fields": list(source.manifest_fields),
                     "overrides": [list(p) for p in source.overrides], "extractor": METADATA_VERSION}
        if sha and prev and same_settings and prev["sha256"] == sha and prev.get("meta_in") == _jsonable(meta_json):
            entries[doc_id] = {**prev, "source": str(source.path)}  # the same bytes may have moved
            chunks_by_doc[doc_id] = prev_chunks.get(doc_id, [])
            report.unchanged.append(doc_id)
            continue
        if sha is None:
            doc = None
        else:
            try:
                doc = load_document(source, sha)
            except DocumentReadError as exc:
                report.failed.append((exc.path, exc.reason))
                doc = None
        if doc is None:
            if prev:  # keep the last good version: nothing is lost
                entries[doc_id] = prev
                chunks_by_doc[doc_id] = prev_chunks.get(doc_id, [])
                report.unchanged.append(doc_id)
            continue
        if doc.encoding and doc.encoding != "UTF-8":
            report.encodings[doc_id] = doc.encoding
        chunks = chunk_document(doc_id, doc.text, settings.chunk_tokens)
        chunks.append(build_card(doc.meta, card_statements(source, doc.meta), doc.text))
        entries[doc_id] = {"meta": _jsonable(asdict(doc.meta)), "meta_in": _jsonable(meta_json), "sha256": sha,
                           "source": str(source.path), "text": doc.text, "n_chunks": len(chunks),
                           "encoding": doc.encoding,
                           # passages with instruction-like text (rag.injection): listed in the knowledge base
                           "instruction_like": flagged_passages(chunks)}
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
                                          keep_previous=damage is None)
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


def _corrections(settings: Settings) -> dict[str, dict]:
    """doc_id → {field: value} of the user's metadata corrections (``rag.kb.metadata_corrections``)."""
    from rag import kb

    return kb.metadata_corrections(settings)


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


def _build_generation(settings, entries, chunks_by_doc, fingerprint, pointer, progress, keep_previous=True) -> str:
    import bm25s

    generation = f"g{time.time_ns():x}"
    root = index_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    tmp_dir = root / (generation + ".partial")
    gen_dir = root / generation
    client = None
    collection_name = f"chunks_{generation}"
    try:
        tmp_dir.mkdir()
        chunks = [c for doc_id in entries for c in chunks_by_doc[doc_id]]
        metas = {d: meta_from_json(e["meta"]) for d, e in entries.items()}
        texts = [indexed_text(c, metas[c.doc_id]) for c in chunks]
        tokenizer = Tokenizer(userdict_path(settings))
        corpus_tokens = [tokenizer.tokens(t) or [""] for t in progress(texts, "分词", len(texts))]
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index(corpus_tokens, show_progress=False)
        bm25.save(str(tmp_dir / "bm25"))
        (tmp_dir / "df.json").write_text(json.dumps(_document_frequencies(corpus_tokens), ensure_ascii=False),
                                         encoding="utf-8")
        if settings.embeddings == "lsa":
            from rag.embeddings import LSAEmbeddings

            embedder = LSAEmbeddings.fit(texts, tokenizer, tokens=corpus_tokens)
            embedder.save(tmp_dir / "lsa.npz")
        else:
            embedder = make_embedder(settings, tmp_dir, tokenizer)
        vectors = _embed(embedder, chunks, texts, settings, pointer, progress)
        with open(tmp_dir / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c in chunks:
                fh.write(json.dumps(chunk_to_json(c), ensure_ascii=False) + "\n")
        (tmp_dir / "documents.json").write_text(json.dumps(list(entries.values()), ensure_ascii=False),
                                                encoding="utf-8")
        client = chroma_client(settings)
        collection = client.create_collection(collection_name, embedding_function=None,
                                              metadata={"hnsw:space": "cosine"})
        batch = 256
        for i in progress(range(0, len(chunks), batch), "写入向量库", (len(chunks) + batch - 1) // batch):
            part = chunks[i:i + batch]
            collection.add(ids=[c.chunk_id for c in part], embeddings=vectors[i:i + batch],
                           documents=[c.text for c in part],
                           metadatas=[chunk_metadata(c, metas[c.doc_id]) for c in part])
        tmp_dir.rename(gen_dir)
        write_current(settings, {"generation": generation, "collection": collection_name,
                                 "embeddings": settings.embeddings, "fingerprint": fingerprint,
                                 "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                 "documents": sorted(entries)})
    except BaseException as exc:
        import shutil

        shutil.rmtree(tmp_dir, ignore_errors=True)
        shutil.rmtree(gen_dir, ignore_errors=True)
        if client is not None:
            try:
                client.delete_collection(collection_name)
            except Exception:  # noqa: BLE001 - it may not exist yet
                pass
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(exc, RagError):
            raise
        raise IngestError(f"indexing failed ({type(exc).__name__}: {exc}); the previous index is unchanged") from exc
    # keep the previous generation one ingest longer: answers in flight may still be reading it
    # (unless it is damaged)
    remove_stale(settings, keep={generation, pointer["generation"]} if pointer and keep_previous else {generation},
                 client=client)
    return generation


def _document_frequencies(corpus_tokens: list[list[str]]) -> dict:
    """Token → number of chunks containing it, plus ``"__N__"``: the number of chunks."""
    from collections import Counter

    df = Counter(t for tokens in corpus_tokens for t in set(tokens) if t)
    return {"__N__": len(corpus_tokens), **df}


def _embed(embedder, chunks, texts, settings, pointer, progress) -> list[list[float]]:
    """Vectors for all chunks; with a remote embedder, vectors of unchanged chunks are copied from the
    live collection instead of being requested again."""
    reuse: dict[str, list[float]] = {}
    if settings.embeddings == "openai" and pointer and pointer.get("fingerprint", {}).get("embeddings") == "openai":
        try:
            old = chroma_client(settings).get_collection(pointer["collection"])
            got = old.get(ids=[c.chunk_id for c in chunks], include=["embeddings"])
            reuse = {i: list(v) for i, v in zip(got["ids"], got["embeddings"])}
        except Exception:  # noqa: BLE001 - nothing to reuse
            reuse = {}
    todo = [i for i, c in enumerate(chunks) if c.chunk_id not in reuse]
    vectors: dict[int, list[float]] = {}
    batch = 64
    for start in progress(range(0, len(todo), batch), "向量化", (len(todo) + batch - 1) // batch):
        idx = todo[start:start + batch]
        for i, vec in zip(idx, embedder.embed_documents([texts[i] for i in idx])):
            vectors[i] = vec
    return [vectors[i] if i in vectors else reuse[c.chunk_id] for i, c in enumerate(chunks)]
