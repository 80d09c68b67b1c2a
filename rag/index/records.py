"""A generation's per-chunk records: the rows of chunks.jsonl and documents.json (``chunk_to_json``,
``chunk_from_json``, ``meta_from_json``), a chunk's Chroma metadata and content-addressed vector id
(``chunk_metadata``, ``vector_id``, ``chunk_id_of``), the text BM25 and the embedder see (``indexed_text``,
``indexed_parts``) and the generation's ``tokens.npz`` (``save_tokens``, ``load_tokens``). Split out of
``rag.index.store``, which loads a generation with these and re-exports every name; written by
``rag.index.generation``, ``rag.index.build`` and ``rag.index.lexical``."""

from __future__ import annotations

import json
from pathlib import Path

from rag.types import Chunk, DocumentMeta

def chunk_from_json(row: dict) -> Chunk:
    return Chunk(**{k: row[k] for k in Chunk.__dataclass_fields__ if k in row})


_CHUNK_FIELDS = tuple(Chunk.__dataclass_fields__)


def chunk_to_json(chunk: Chunk) -> dict:
    """The chunk's fields in declaration order (``dataclasses.asdict`` without its deep copy: every field
    is a str or int; 8 s of asdict per 164 k chunks when writing chunks.jsonl)."""
    return {name: getattr(chunk, name) for name in _CHUNK_FIELDS}


def meta_from_json(row: dict) -> DocumentMeta:
    row = dict(row)
    row["short_names"] = tuple(row.get("short_names") or ())
    row["sources"] = tuple(tuple(pair) for pair in row.get("sources") or ())
    row["history"] = tuple(tuple(pair) for pair in row.get("history") or ())
    return DocumentMeta(**{k: row[k] for k in DocumentMeta.__dataclass_fields__ if k in row})


def chunk_metadata(chunk: Chunk, meta: DocumentMeta) -> dict:
    """Chroma metadata of a chunk: the fields ``rag.retrieve.hybrid.Filters.chroma_where`` filters on (doc_id,
    region, period bounds, draft) and nothing else — Chroma writes one SQLite row per key and vector, and
    the four unused keys it had (chunk_id, section, kind, level) made an upsert of 8.5 k vectors 0.65 s
    (14 %) slower. The chunk id is the vector id's prefix (``chunk_id_of``)."""
    return {
        "doc_id": chunk.doc_id,
        "region": meta.region or "",
        "period_start": meta.period_start if meta.period_start is not None else -1,
        "period_end": meta.period_end if meta.period_end is not None else 9999,
        "draft": meta.is_draft,
    }


def chunk_id_of(vector_id: str) -> str:
    """The chunk id of a vector id made by ``vector_id`` (``<chunk_id>-<12 hex>``)."""
    return vector_id.rsplit("-", 1)[0]


def vector_id(chunk: Chunk, text: str, metadata: dict) -> str:
    """The Chroma id of a chunk's vector: ``<chunk_id>-<12 hex>``, the hex a sha1 of its indexed ``text``
    and Chroma ``metadata`` (``chunk_metadata``), so that a chunk whose title, section, text or
    filterable fields changed gets a new id (and a new vector) while an unchanged one keeps its id."""
    import hashlib

    sig = hashlib.sha1((text + "\x00" + json.dumps(metadata, sort_keys=True, ensure_ascii=False)
                        + "\x00" + chunk.text).encode("utf-8")).hexdigest()[:12]
    return f"{chunk.chunk_id}-{sig}"


def indexed_text(chunk: Chunk, meta: DocumentMeta) -> str:
    """The text that BM25 and the embedder see: title, the document's region when the title does not name
    it (a 实施方案 of 某省 whose articles say 本省 is found by the place a question names), section path,
    table header, passage. For indexing only: the stored and quoted chunk text stays verbatim.
    ``"\\n".join(indexed_parts(chunk, meta))``."""
    return "\n".join(indexed_parts(chunk, meta))


def indexed_parts(chunk: Chunk, meta: DocumentMeta) -> list[str]:
    """The non-empty lines ``indexed_text`` joins: title, region (see there), section path, table header,
    passage (last). Most repeat over a document's chunks, so the ingest tokenises each distinct one once
    (``rag.index.build._tokens``: jieba never cuts across a line break)."""
    from rag.ingest.metadata import bare_region

    region = meta.region if meta.region and meta.region != "全国" else ""
    if region and (bare_region(region) or region) in (meta.title or ""):
        region = ""
    return [p for p in (meta.title, region, chunk.section, chunk.context, chunk.text) if p]


TOKENS_FILE = "tokens.npz"


def save_tokens(path: Path, vocab: list[str], ids, offsets, keys: list[str], vector_ids: list[str]) -> None:
    """Write a generation's ``tokens.npz``: ``vocab`` (token strings), ``ids`` (int32, the tokens of
    all chunks as vocabulary positions, concatenated), ``offsets`` (int64, n + 1: chunk i's tokens are
    ids[offsets[i]:offsets[i + 1]]), ``keys`` (sha1 of each chunk's indexed text, what its tokens depend
    on) and ``vector_ids`` (``vector_id`` of each chunk)."""
    import numpy as np

    with open(path, "wb") as fh:
        np.savez(fh, vocab=np.array(vocab, dtype=str), ids=np.asarray(ids, dtype=np.int32),
                 offsets=np.asarray(offsets, dtype=np.int64), keys=np.array(keys, dtype=str),
                 vector_ids=np.array(vector_ids, dtype=str))


def load_tokens(path: Path) -> dict:
    """The arrays of a ``tokens.npz`` (see ``save_tokens``) as a dict of NumPy arrays; raises OSError or
    ValueError when the file is missing or damaged."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        out = {k: data[k] for k in ("vocab", "ids", "offsets", "keys", "vector_ids")}
    n = len(out["keys"])
    if len(out["offsets"]) != n + 1 or len(out["vector_ids"]) != n or int(out["offsets"][-1]) != len(out["ids"]):
        raise ValueError("arrays of different lengths")
    return out


def _load_vector_ids(path: Path) -> list[str]:
    """The ``vector_ids`` of a tokens.npz (the token arrays are not read: loading an index needs only
    these); raises ValueError when the file's arrays disagree in length."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        vector_ids, offsets = data["vector_ids"].tolist(), data["offsets"]
    if len(offsets) != len(vector_ids) + 1:
        raise ValueError("arrays of different lengths")
    return vector_ids
