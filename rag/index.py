"""Index storage: where the index lives in the data directory, and loading it for retrieval.

Layout under ``Settings.data_dir`` (everything the product writes lives here)::

    chroma/                  Chroma PersistentClient (unless RAG_CHROMA_HOST names a server);
                             one collection ``chunks_<generation>`` per index generation
    index/CURRENT.json       the live generation; replaced atomically (os.replace) at the end of an ingest
    index/<generation>/      chunks.jsonl, documents.json, bm25/ (bm25s), lsa.npz (offline embedder)

An ingest writes a complete new generation beside the live one and only then switches CURRENT, so
an interrupted or failed ingest leaves the previous index usable; stale generations are removed by
the next successful ingest.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.errors import IndexNotBuiltError, RagError
from rag.settings import Settings
from rag.text import Tokenizer
from rag.types import Chunk, DocumentMeta

INDEX_FORMAT = 10 # bump when cleaning/chunking changes so that ingest re-chunks unchanged files


def index_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "index"


def current_path(settings: Settings) -> Path:
    return index_dir(settings) / "CURRENT.json"


def read_current(settings: Settings) -> dict | None:
    """The CURRENT pointer as a dict, or None when no index was built yet."""
    try:
        return json.loads(current_path(settings).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise RagError(f"{current_path(settings)} is unreadable ({exc}); run `rag ingest` to rebuild") from None


def write_current(settings: Settings, pointer: dict) -> None:
    """Atomically replace CURRENT.json (write a temp file, fsync, os.replace)."""
    path = current_path(settings)
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(pointer, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def chroma_client(settings: Settings):
    """A Chroma client: ``HttpClient`` when ``chroma_host`` is set, else an embedded ``PersistentClient``
    under ``data_dir/chroma``. Telemetry is off; no embedding function is ever attached."""
    import chromadb

    chroma_settings = chromadb.config.Settings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    path = Path(settings.data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def chunk_metadata(chunk: Chunk, meta: DocumentMeta) -> dict:
    """Chroma metadata of a chunk (filterable: doc_id, region, level, period bounds, draft, kind)."""
    return {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "section": chunk.section,
        "kind": chunk.kind,
        "region": meta.region or "",
        "level": meta.level or "",
        "period_start": meta.period_start if meta.period_start is not None else -1,
        "period_end": meta.period_end if meta.period_end is not None else 9999,
        "draft": meta.is_draft,
    }


def indexed_text(chunk: Chunk, meta: DocumentMeta) -> str:
    """The text that BM25 and the embedder see: short title, section path, table header, passage."""
    return "\n".join(p for p in (meta.title, chunk.section, chunk.context, chunk.text) if p)


@dataclass
class LoadedIndex:
    """A loaded index generation, ready for retrieval (read-only; safe to share between threads).

    ``chunks``: all chunks, row i of BM25 is chunks[i]; ``docs``: doc_id → DocumentMeta;
    ``doc_texts``: doc_id → cleaned text; ``bm25``: bm25s.BM25; ``embedder``: LangChain Embeddings;
    ``vectorstore``: langchain_chroma.Chroma over the generation's collection.
    """

    pointer: dict
    chunks: list[Chunk]
    docs: dict[str, DocumentMeta]
    doc_texts: dict[str, str]
    bm25: object
    embedder: object
    vectorstore: object
    tokenizer: Tokenizer
    df: dict  # token → chunk frequency; "__N__" → number of chunks

    def __post_init__(self):
        self.by_id = {c.chunk_id: i for i, c in enumerate(self.chunks)}

    def idf(self, token: str) -> float:
        """Robertson–Spärck Jones idf with +1 smoothing (as in Lucene BM25): ln(1 + (N − df + .5)/(df + .5)).
        A token absent from the corpus gets the largest idf."""
        import math

        n = self.df.get("__N__", 1)
        d = self.df.get(token, 0)
        return math.log(1 + (n - d + 0.5) / (d + 0.5))

    @property
    def generation(self) -> str:
        return self.pointer["generation"]


def card_rows(index: "LoadedIndex") -> dict[str, int]:
    """doc_id → row (index into ``index.chunks``) of the document's card (``kind == "card"``);
    computed once per loaded index and kept on it (documents without a card are absent)."""
    cached = getattr(index, "_card_rows", None)
    if cached is None:
        cached = index._card_rows = {c.doc_id: row for row, c in enumerate(index.chunks) if c.kind == "card"}
    return cached


def chunk_from_json(row: dict) -> Chunk:
    return Chunk(**{k: row[k] for k in Chunk.__dataclass_fields__ if k in row})


def chunk_to_json(chunk: Chunk) -> dict:
    return asdict(chunk)


def meta_from_json(row: dict) -> DocumentMeta:
    row = dict(row)
    row["short_names"] = tuple(row.get("short_names") or ())
    row["sources"] = tuple(tuple(pair) for pair in row.get("sources") or ())
    return DocumentMeta(**{k: row[k] for k in DocumentMeta.__dataclass_fields__ if k in row})


def userdict_path(settings: Settings) -> Path | None:
    """The jieba user dictionary of policy terms shipped with the corpus, if present."""
    path = Path(settings.corpus_dir) / "userdict.txt"
    return path if path.exists() else None


def make_embedder(settings: Settings, gen_dir: Path | None, tokenizer: Tokenizer):
    """The embedder for a generation: the persisted LSA model, or an OpenAI-compatible endpoint."""
    if settings.embeddings == "openai":
        from rag.embeddings import openai_embeddings

        return openai_embeddings(settings.embedding_model, settings.embedding_base_url, settings.llm_api_key)
    from rag.embeddings import LSAEmbeddings

    return LSAEmbeddings.load(gen_dir / "lsa.npz", tokenizer)


_CACHE: dict[tuple, LoadedIndex] = {}
_CACHE_LOCK = threading.Lock()


def load_index(settings: Settings) -> LoadedIndex:
    """Load the live generation (cached per data directory and generation).

    Raises IndexNotBuiltError when no index exists; RagError when its files are damaged.
    """
    pointer = read_current(settings)
    if pointer is None:
        raise IndexNotBuiltError(f"no index in {settings.data_dir}; run `rag ingest` first")
    key = (str(Path(settings.data_dir).resolve()), pointer["generation"], settings.chroma_host)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        gen_dir = index_dir(settings) / pointer["generation"]
        try:
            import bm25s
            from langchain_chroma import Chroma

            chunks = [chunk_from_json(json.loads(line))
                      for line in (gen_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
            docs_json = json.loads((gen_dir / "documents.json").read_text(encoding="utf-8"))
            bm25 = bm25s.BM25.load(str(gen_dir / "bm25"))
            df = json.loads((gen_dir / "df.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise RagError(f"index generation {pointer['generation']} is damaged ({exc}); run `rag ingest`") from None
        tokenizer = Tokenizer(userdict_path(settings))
        embed_settings = settings.with_(embeddings=pointer.get("embeddings", settings.embeddings))
        embedder = make_embedder(embed_settings, gen_dir, tokenizer)
        vectorstore = Chroma(collection_name=pointer["collection"], embedding_function=embedder,
                             client=chroma_client(settings), create_collection_if_not_exists=False)
        loaded = LoadedIndex(
            pointer=pointer, chunks=chunks,
            docs={d["meta"]["doc_id"]: meta_from_json(d["meta"]) for d in docs_json},
            doc_texts={d["meta"]["doc_id"]: d["text"] for d in docs_json},
            bm25=bm25, embedder=embedder, vectorstore=vectorstore, tokenizer=tokenizer, df=df,
        )
        _CACHE.clear()  # keep only the newest generation in memory
        _CACHE[key] = loaded
        return loaded


def remove_stale(settings: Settings, keep: set[str], client=None) -> None:
    """Delete generation folders and Chroma collections whose generation is not in ``keep`` (best effort)."""
    root = index_dir(settings)
    for child in root.iterdir() if root.exists() else []:
        if child.is_dir() and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
    if client is not None:
        for col in client.list_collections():
            name = getattr(col, "name", col)
            if name.startswith("chunks_") and name.removeprefix("chunks_") not in keep:
                try:
                    client.delete_collection(name)
                except Exception:  # noqa: BLE001 - a stale collection that is already gone is fine
                    pass
