"""Index storage: where the index lives in the data directory, and loading it for retrieval.

Layout under ``Settings.data_dir`` (everything the product writes lives here)::

    chroma/                  Chroma PersistentClient (unless RAG_CHROMA_HOST names a server); one
                             persistent collection ``chunks_<embedder id>`` per embedding model (a fitted
                             LSA model, or a remote model), updated in place by every ingest
    index/CURRENT.json       the live generation; replaced atomically (os.replace) at the end of an ingest
    index/<generation>/      chunks.jsonl, documents.json, bm25/ (bm25s), df.json, tokens.npz (each chunk's
                             jieba tokens, computed once), lsa.npz (offline embedder; a hard link shared by
                             the generations that use the same fitted model)
    ingest.lock              the ingest lock (``ingest_lock``): one ingest or knowledge-base change at a time

An ingest writes a complete new generation beside the live one and only then switches CURRENT, so
an interrupted or failed ingest leaves the previous index usable; stale generations are removed by
the next successful ingest. The generation's chunks.jsonl is the truth: the vectors of its chunks are
upserted into the collection under content-addressed ids (``vector_id``: chunk id + a hash of what the
vector and its metadata depend on) before the switch — only ids the collection lacks are embedded —
and ids no kept generation references are deleted after it. Retrieval sees only the live generation's
ids (``LiveVectors``), so vectors an interrupted ingest left behind are ignored until the next ingest
deletes them.

The per-chunk records (chunks.jsonl and documents.json rows, Chroma metadata, ``vector_id``, ``indexed_text``,
tokens.npz) live in ``rag.index.records`` and are re-exported here.

A damaged live generation (a file missing, unreadable or inconsistent with the others: ``check_index``)
is reported by ``load_index`` as one ``IndexDamagedError`` naming the file and the fix (``rag ingest``);
``rag.index.build.ingest`` checks the live generation the same way and rebuilds it when it is damaged.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import IndexDamagedError, IndexNotBuiltError, IngestBusyError
from rag.index.records import (_CHUNK_FIELDS, TOKENS_FILE, _load_vector_ids, chunk_from_json, chunk_id_of,  # noqa: F401
                               chunk_metadata, chunk_to_json, indexed_parts, indexed_text, load_tokens,
                               meta_from_json, save_tokens, vector_id)
from rag.settings import Settings
from rag.text import Tokenizer
from rag.types import Chunk, DerivedData, DocumentMeta, locked_cached_property

INDEX_FORMAT = 15  # bump when cleaning, chunking or the document card changes: ingest re-chunks unchanged files


def index_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "index"


def current_path(settings: Settings) -> Path:
    return index_dir(settings) / "CURRENT.json"


def read_current(settings: Settings) -> dict | None:
    """The CURRENT pointer as a dict (at least ``generation`` and ``collection``), or None when no index
    was built yet. Raises IndexDamagedError when CURRENT.json is unreadable, empty or incomplete."""
    try:
        pointer = json.loads(current_path(settings).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _damage("index/CURRENT.json", exc) from None
    if not isinstance(pointer, dict) or not all(isinstance(pointer.get(k), str) and pointer[k]
                                                for k in ("generation", "collection")):
        raise _damage("index/CURRENT.json", "no generation or collection")
    return pointer


REPAIR_HINT = "运行 `rag ingest` 即可修复 (run `rag ingest` to repair it)"


def _damage(what: str, why) -> IndexDamagedError:
    """An IndexDamagedError with a one-line message: which file (``what``), why, and the fix."""
    if isinstance(why, FileNotFoundError):
        why = "missing"
    elif isinstance(why, BaseException):
        why = f"{type(why).__name__}: {why}"
    why = " ".join(str(why).split())[:160]
    return IndexDamagedError(f"索引已损坏 (index damaged): {what}: {why}; {REPAIR_HINT}", path=what,
                             detail=f"{what}: {why}")


_LOCKS: dict[str, object] = {}
_LOCKS_LOCK = threading.Lock()


def lock_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "ingest.lock"


@contextmanager
def ingest_lock(settings: Settings, wait_s: float | None = None, on_wait=None):
    """Hold the data directory's ingest lock (``data_dir/ingest.lock``, a ``filelock.FileLock``) for the
    duration of the ``with`` block: one ingest or knowledge-base change at a time, across threads and
    processes on this machine (a killed holder releases it). Re-entrant in the thread that holds it.

    A second holder waits up to ``wait_s`` seconds (default ``settings.ingest_wait_s``, ``RAG_INGEST_WAIT``)
    and then runs; ``on_wait()`` is called once when it has to wait. Raises IngestBusyError when the lock
    is still held after the wait. With ``RAG_CHROMA_HOST`` the lock only covers this machine."""
    import filelock

    if wait_s is None:
        wait_s = settings.ingest_wait_s
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    with _LOCKS_LOCK:  # one FileLock per path and process: it is re-entrant per thread
        lock = _LOCKS.setdefault(key, filelock.FileLock(key))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        if on_wait is not None:
            on_wait()
        try:
            lock.acquire(timeout=max(wait_s, 0))
        except filelock.Timeout:
            raise IngestBusyError(
                f"另一个索引任务正在进行 (another ingest is running in {settings.data_dir}; waited {wait_s:.0f} s); "
                f"请等它完成后再试 (try again when it has finished)") from None
    try:
        yield
    finally:
        lock.release()


_MADE_LIVE_HERE: dict[str, str] = {}
"""data directory → the generation this process last made live (its embedded Chroma client made every
change of that generation, so loading it needs no fresh client: ``_load_generation``)."""


def write_current(settings: Settings, pointer: dict) -> None:
    """Atomically replace CURRENT.json (write a temp file, fsync, os.replace)."""
    path = current_path(settings)
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(pointer, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _MADE_LIVE_HERE[str(Path(settings.data_dir).resolve())] = pointer.get("generation")


def chroma_client(settings: Settings, fresh: bool = False):
    """A Chroma client: ``HttpClient`` when ``chroma_host`` is set, else an embedded ``PersistentClient``
    under ``data_dir/chroma``. Telemetry is off; no embedding function is ever attached.

    ``fresh`` (embedded only): open the store anew instead of reusing this process's client of it. An
    embedded client keeps a collection's HNSW index in memory and does not see what another process
    upserted or deleted since; a fresh one reads the files as they are now. Clients opened earlier stay
    usable (an answer in progress keeps its index) and are freed with the last index using them."""
    import chromadb

    chroma_settings = chromadb.config.Settings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    path = Path(settings.data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    if fresh:
        try:
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(str(path), None)  # detached, not stopped
        except (ImportError, AttributeError):
            pass
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


@dataclass
class LoadedIndex:
    """A loaded index generation, ready for retrieval (read-only; safe to share between threads).

    ``chunks``: all chunks, row i of BM25 is chunks[i]; ``docs``: doc_id → DocumentMeta;
    ``doc_texts``: doc_id → cleaned text; ``bm25``: bm25s.BM25; ``embedder``: LangChain Embeddings;
    ``vectorstore``: ``LiveVectors`` over the collection (LangChain Chroma's
    ``similarity_search_by_vector_with_relevance_scores``, restricted to this generation's vectors);
    ``vector_ids``: the Chroma id of each chunk's vector (row-aligned with ``chunks``).
    ``_derived``: what the stages derive from the index once (``DerivedData`` subclass → its one instance,
    ``rag.types.derived``: ``PlanningData.of(index)``), built on first use and kept with the index.
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
    vector_ids: list | None = None
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

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


class LiveVectors:
    """The vector store as one generation sees it: the persistent Chroma collection, searched for the
    vectors of ``live_ids`` (the generation's ``vector_id``s) only. The collection may also hold vectors
    of the generation kept for answers in flight, or of an interrupted ingest: a search asks Chroma for
    ``k`` plus that many more (``n_extra``) and drops them, so the result is the top ``k`` live vectors.
    ``texts``: the chunk text of each live vector id (the collection stores vectors and metadata only:
    chunks.jsonl holds the texts, and Chroma's full-text index of stored documents made upserts ~1.7×
    slower). ``store`` is the LangChain ``Chroma`` over the collection (made on first use: importing
    langchain_chroma takes seconds); other attributes are looked up on it."""

    def __init__(self, make_store, collection, live_ids, n_extra: int, texts=None):
        self._make_store = make_store
        self._store = None
        self.collection = collection
        self.texts = texts if texts is not None else {}
        self.live_ids = frozenset(live_ids)
        self.n_extra = max(0, int(n_extra))

    def similarity_search_by_vector_with_relevance_scores(self, embedding, k: int = 4, filter=None, **_kwargs):
        """``[(Document, cosine distance)]`` of the ``k`` nearest live vectors (nearest first) that match
        the Chroma ``filter`` (a ``where`` dict or None); each Document carries the chunk's Chroma metadata
        (``doc_id`` …) and its ``chunk_id``, its vector id as ``id`` and the chunk text (``texts``)."""
        from langchain_core.documents import Document

        if k <= 0:
            return []
        n = min(k + self.n_extra, max(len(self.live_ids) + self.n_extra, 1))
        got = self.collection.query(query_embeddings=[list(map(float, embedding))], n_results=n, where=filter,
                                    include=["metadatas", "distances"])
        out = []
        for vid, meta, dist in zip(got["ids"][0], got["metadatas"][0], got["distances"][0]):
            if vid in self.live_ids:
                out.append((Document(page_content=self.texts.get(vid, ""),
                                     metadata={**(meta or {}), "chunk_id": chunk_id_of(vid)}, id=vid),
                            float(dist)))
                if len(out) == k:
                    break
        return out

    @property
    def store(self):
        if self._store is None:
            self._store = self._make_store()
        return self._store

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.store, name)


class IndexData(DerivedData):
    """What the index stage derives from a loaded index (``index``: a ``LoadedIndex`` or a stand-in with
    ``chunks``), built once per index on first use."""

    @locked_cached_property
    def card_rows(self) -> dict[str, int]:
        """doc_id → row (index into ``index.chunks``) of the document's card (``kind == "card"``)."""
        return {c.doc_id: row for row, c in enumerate(self.index.chunks) if c.kind == "card"}


def card_rows(index: "LoadedIndex") -> dict[str, int]:
    """doc_id → row (index into ``index.chunks``) of the document's card (``kind == "card"``);
    computed once per loaded index and kept with it (``IndexData``; documents without a card are absent)."""
    return IndexData.of(index).card_rows


def userdict_path(settings: Settings) -> Path | None:
    """The jieba user dictionary of policy terms shipped with the corpus, if present."""
    path = Path(settings.corpus_dir) / "userdict.txt"
    return path if path.exists() else None


def make_embedder(settings: Settings, gen_dir: Path | None, tokenizer: Tokenizer):
    """The embedder for a generation, made by the registered ``EmbedderSpec`` of ``settings.embeddings``
    (``rag.index.embeddings.embedder_spec``): the persisted LSA model of ``gen_dir``, an OpenAI-compatible
    endpoint, or an embedder registered with ``register_embedder``. Raises ConfigError for an unknown name."""
    from rag.index.embeddings import embedder_spec

    return embedder_spec(settings.embeddings).make(settings, gen_dir, tokenizer)


_CACHE: dict[tuple, LoadedIndex] = {}
_CACHE_LOCK = threading.Lock()


def load_index(settings: Settings, client_factory=None) -> LoadedIndex:
    """Load the live generation (cached per data directory, generation and ``client_factory``).

    ``client_factory``: ``factory(settings, fresh=False)`` → the Chroma client (``chromadb.ClientAPI``)
    holding the index's vectors; default ``chroma_client`` (embedded store under ``data_dir/chroma``, or
    the server of ``RAG_CHROMA_HOST``). ``fresh`` asks an embedded store to be opened anew (another
    process may have changed it); a factory may ignore it. Ingest with the same factory
    (``rag.index.build.ingest(client_factory=...)``).

    Raises IndexNotBuiltError when no index exists; IndexDamagedError (one line naming the file and
    ``rag ingest``) when a file of the generation is missing, unreadable or inconsistent (``check_index``).
    """
    pointer = read_current(settings)
    if pointer is None:
        raise IndexNotBuiltError(f"no index in {settings.data_dir}; run `rag ingest` first")
    key = (str(Path(settings.data_dir).resolve()), pointer["generation"], settings.chroma_host) \
        + ((client_factory,) if client_factory is not None else ())
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        loaded = _load_generation(settings, pointer, client_factory)
        _CACHE.clear()  # keep only the newest generation in memory
        _CACHE[key] = loaded
        return loaded


def check_index(settings: Settings) -> IndexDamagedError | None:
    """Verify the live generation from disk (not from the cache): CURRENT.json, documents.json,
    chunks.jsonl, the bm25/ files, df.json, lsa.npz (offline embeddings), the Chroma store and collection
    are present and readable, and the numbers of documents, chunks, BM25 rows, df's ``__N__`` and Chroma
    vectors agree (the collection holds at least one vector per chunk, probed chunks' vectors are stored
    and a vector query finds one), tokens.npz has a row per chunk. Returns None when the index is sound or
    not built yet, else the IndexDamagedError ``load_index`` would raise (its ``path`` names the damaged part)."""
    return inspect_index(settings)[1]


def inspect_index(settings: Settings, client_factory=None) -> tuple[LoadedIndex | None, IndexDamagedError | None]:
    """``check_index`` that also returns what it loaded: ``(LoadedIndex, None)`` for a sound index,
    ``(None, damage)`` for a damaged one, ``(None, None)`` when no index was built yet. The LoadedIndex
    also carries ``entries``: the rows of documents.json as read (for ``rag.index.build``).
    ``client_factory``: as in ``load_index``."""
    try:
        pointer = read_current(settings)
        if pointer is not None:
            return _load_generation(settings, pointer, client_factory), None
    except IndexDamagedError as exc:
        return None, exc
    return None, None


def pointer_format(pointer: dict) -> int | None:
    """The index format (``INDEX_FORMAT`` of the version that wrote it) of a CURRENT.json pointer, or
    None when it records none."""
    fingerprint = pointer.get("fingerprint")
    found = fingerprint.get("format") if isinstance(fingerprint, dict) else None
    return found if isinstance(found, int) else None


def _outdated(pointer: dict, damage: IndexDamagedError) -> IndexDamagedError:
    """``damage`` of a generation written by an older index format (``fingerprint.format`` of
    CURRENT.json below ``INDEX_FORMAT``) said as such: the index predates this version and
    ``rag ingest`` rebuilds it; ``damage`` itself otherwise."""
    old = pointer_format(pointer)
    if old is None or old >= INDEX_FORMAT:
        return damage
    return IndexDamagedError(f"索引由旧版本建立 (index built by an older version: format {old}, this version "
                             f"reads {INDEX_FORMAT}); 运行 `rag ingest` 重建 (run `rag ingest` to rebuild it)",
                             path=damage.path, detail=f"{damage.detail} (index format {old} < {INDEX_FORMAT})",
                             outdated=True)


def _load_generation(settings: Settings, pointer: dict, client_factory=None) -> LoadedIndex:
    """Read and check every file of ``pointer``'s generation; raises IndexDamagedError at the first
    problem (saying that the index predates this version when its format is older)."""
    try:
        return _read_generation(settings, pointer, client_factory)
    except IndexDamagedError as exc:
        raise _outdated(pointer, exc) from None


def _read_generation(settings: Settings, pointer: dict, client_factory=None) -> LoadedIndex:
    """``_load_generation`` without the format check."""
    import numpy as np

    from rag import imports

    bm25s = imports.bm25s()  # without numba: bm25s' NumPy backend is the one used

    generation = pointer["generation"]
    gen_dir = index_dir(settings) / generation

    def read(name: str, load):
        try:
            return load(gen_dir / name)
        except Exception as exc:  # noqa: BLE001 - any failure to read a file of the index is damage
            if not gen_dir.is_dir():
                raise _damage(f"index/{generation}/", "missing") from None
            raise _damage(f"index/{generation}/{name}", exc) from None

    def damaged(name: str, why: str):
        return _damage(f"index/{generation}/{name}", why)

    chunks = read("chunks.jsonl", lambda p: [chunk_from_json(json.loads(line))
                                             for line in p.read_text(encoding="utf-8").splitlines() if line])
    docs_json = read("documents.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
    try:
        docs = {d["meta"]["doc_id"]: meta_from_json(d["meta"]) for d in docs_json}
        doc_texts = {d["meta"]["doc_id"]: d["text"] for d in docs_json}
        n_listed = sum(int(d.get("n_chunks", 0)) for d in docs_json)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise damaged("documents.json", exc) from None
    if not chunks or not docs:
        raise damaged("chunks.jsonl" if not chunks else "documents.json", "empty")
    if n_listed != len(chunks) or not {c.doc_id for c in chunks} <= docs.keys():
        raise damaged("chunks.jsonl", f"{len(chunks)} chunks, documents.json lists {n_listed}")
    if not (gen_dir / "bm25").is_dir():
        raise damaged("bm25/", "missing")
    missing = [n for n in BM25_FILES if not (gen_dir / "bm25" / n).is_file()]
    if missing:
        raise damaged(f"bm25/{missing[0]}", "missing")
    try:
        bm25 = bm25s.BM25.load(str(gen_dir / "bm25"))
    except Exception:  # noqa: BLE001 - name the file that cannot be read
        import numpy as np

        for name in BM25_FILES:
            read(f"bm25/{name}", np.load if name.endswith(".npy")
                 else lambda p: json.loads(p.read_text(encoding="utf-8")))
        bm25 = read("bm25", lambda p: bm25s.BM25.load(str(p)))
    n_rows = _bm25_rows(bm25)
    if n_rows != len(chunks):
        raise damaged("bm25/", f"{n_rows} rows for {len(chunks)} chunks")
    df = read("df.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
    if not isinstance(df, dict) or df.get("__N__") != len(chunks):
        raise damaged("df.json", f"__N__ is {df.get('__N__') if isinstance(df, dict) else None} "
                                 f"for {len(chunks)} chunks")
    vector_ids = read(TOKENS_FILE, _load_vector_ids)
    if len(vector_ids) != len(chunks):
        raise damaged(TOKENS_FILE, f"{len(vector_ids)} rows for {len(chunks)} chunks")
    imports.chromadb()  # (chroma_client's import) without the optional packages it would load for nothing
    tokenizer = Tokenizer(userdict_path(settings))
    imports.jieba()  # the tokenizer's jieba, imported without pkg_resources before anything imports it
    embed_settings = settings.with_(embeddings=pointer.get("embeddings", settings.embeddings))
    from rag.index.embeddings import embedder_spec

    spec = embedder_spec(embed_settings.embeddings)
    if spec.fitted:  # the model fitted at ingest is a file of the generation
        embedder = read(spec.file, lambda p: make_embedder(embed_settings, gen_dir, tokenizer))
    else:
        embedder = make_embedder(embed_settings, gen_dir, tokenizer)
    collection_name = pointer["collection"]
    where = "chroma/" if not settings.chroma_host else f"chroma server {settings.chroma_host}:{settings.chroma_port}"
    for attempt in (1, 2):
        try:
            if client_factory is None and not settings.chroma_host \
                    and not (Path(settings.data_dir) / "chroma" / "chroma.sqlite3").is_file():
                raise FileNotFoundError("chroma.sqlite3")
            # a generation another process made live may have changed the collection this process has open
            client = (client_factory or chroma_client)(settings, fresh=_MADE_LIVE_HERE.get(str(Path(settings.data_dir).resolve()))
                                   != generation)
            collection = client.get_collection(collection_name)
            n_vectors = collection.count()
            # a few vectors of the generation (first, last and evenly between) must be stored and searchable
            probes = sorted({vector_ids[int(i)] for i in np.linspace(0, len(vector_ids) - 1, num=8)})
            probe = collection.get(ids=probes, include=["embeddings"])
            found = collection.query(query_embeddings=[list(probe["embeddings"][0])], n_results=1)["ids"][0] \
                if len(probe["ids"]) else []
            break
        except Exception as exc:  # noqa: BLE001 - a missing or unreadable store or collection is damage
            if attempt == 1 and not isinstance(exc, FileNotFoundError) and not settings.chroma_host:
                release_chroma(settings)  # this process's client may predate a store rebuilt by another one
                continue
            why = "missing" if isinstance(exc, FileNotFoundError) else f"collection {collection_name}: {exc}"
            raise _damage(where, why) from None
    if n_vectors < len(chunks) or len(probe["ids"]) != len(probes) or not found:
        missing = len(probes) - len(probe["ids"])
        raise _damage(where, f"collection {collection_name} holds {n_vectors} vectors for {len(chunks)} chunks"
                             + (f", {missing} of {len(probes)} probed chunks missing" if missing else "")
                             + ("" if found else ", none found"))
    def store():
        from langchain_chroma import Chroma

        return Chroma(collection_name=collection_name, embedding_function=embedder, client=client,
                      create_collection_if_not_exists=False)

    vectorstore = LiveVectors(store, collection, vector_ids, n_vectors - len(chunks),
                              texts=dict(zip(vector_ids, (c.text for c in chunks))))
    loaded = LoadedIndex(pointer=pointer, chunks=chunks, docs=docs, doc_texts=doc_texts, bm25=bm25,
                         embedder=embedder, vectorstore=vectorstore, tokenizer=tokenizer, df=df, vector_ids=vector_ids)
    loaded.entries = docs_json
    return loaded


BM25_FILES = ("params.index.json", "vocab.index.json", "data.csc.index.npy", "indices.csc.index.npy",
              "indptr.csc.index.npy")
"""The files ``bm25s.BM25.save`` writes into a generation's ``bm25/`` folder."""


def _bm25_rows(bm25) -> int:
    """Number of documents (chunks) a loaded bm25s index scores; -1 when its arrays disagree."""
    scores = bm25.scores
    n = int(scores.get("num_docs") or -1)
    data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
    if len(data) != len(indices) or not len(indptr) or int(indptr[-1]) != len(data):
        return -1
    if len(indices) and (int(indices.max()) >= n or int(indices.min()) < 0):
        return -1
    return n


def release_chroma(settings: Settings) -> None:
    """Forget this process's embedded Chroma client of ``data_dir/chroma`` (stopping it), so that the
    next ``chroma_client`` opens the files on disk afresh — after the store was found damaged and is
    rebuilt. No-op for a Chroma server."""
    if settings.chroma_host:
        return
    try:
        from chromadb.api.shared_system_client import SharedSystemClient
    except ImportError:
        return
    identifier = str(Path(settings.data_dir) / "chroma")
    system = SharedSystemClient._identifier_to_system.pop(identifier, None)
    SharedSystemClient._identifier_to_refcount.pop(identifier, None)
    if system is not None:
        try:
            system.stop()
        except Exception:  # noqa: BLE001 - a broken store may fail to stop cleanly
            pass


def remove_stale(settings: Settings, keep: set[str], client=None, keep_collections: set[str] = frozenset()) -> None:
    """Delete generation folders whose generation is not in ``keep``, and Chroma collections named
    ``chunks_…`` that are not in ``keep_collections`` (best effort)."""
    root = index_dir(settings)
    for child in root.iterdir() if root.exists() else []:
        if child.is_dir() and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
    if client is not None:
        for col in client.list_collections():
            name = getattr(col, "name", col)
            if name.startswith("chunks_") and name not in keep_collections:
                try:
                    client.delete_collection(name)
                except Exception:  # noqa: BLE001 - a stale collection that is already gone is fine
                    pass
