"""Incremental reuse: what a new index generation takes over from the live one instead of computing it
again — the live generation's documents, chunks and cleaned texts (``_previous``, with each document's
row range as ``PreviousChunks``), the rows of unchanged documents (``_reused_rows``: their stored
chunks.jsonl lines, tokens and vector ids, copied by ``_write_chunks``), and the vector ids the Chroma
collection holds (``_known_ids`` from the pointer's record, else ``_collection_ids`` listing them).

Used by the ingest of ``rag.index.build`` and by ``rag.index.generation._build_generation``; reads the
generations ``rag.index.store`` writes and never writes an index file itself except the new chunks.jsonl.
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.index.store import chunk_from_json, chunk_to_json, index_dir
from rag.settings import Settings
from rag.types import Chunk


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
