"""Writing one index generation and switching to it atomically (``_build_generation``): the chunks,
tokens, BM25 index and document frequencies (``rag.index.lexical``) go to ``index/<generation>.partial``;
the embedder is kept frozen or fitted again (``_refit_reason``) and only the vectors the Chroma
collection lacks are computed and upserted; the directory is renamed and CURRENT.json switched only when
all is written, then what no kept generation references is deleted. A failure removes the partial
generation and the vectors it added (``_undo_vectors``) and leaves the previous index live.

Called by ``rag.index.build.ingest`` (which decides what changed) under the ingest lock; takes over
unchanged rows of the live generation through ``rag.index.reuse``.
"""

from __future__ import annotations

import json
import os
import shutil
import time

from rag.errors import IngestError, RagError
from rag.index.lexical import _bm25_index, _document_frequencies_ids, _token_counts, _tokens
from rag.index.reuse import _collection_ids, _generation_vector_ids, _known_ids, _reused_rows, _write_chunks
from rag.index.store import (chroma_client, chunk_metadata, index_dir, indexed_parts, make_embedder,
                             meta_from_json, remove_stale, userdict_path, write_current)
from rag.text import Tokenizer


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
