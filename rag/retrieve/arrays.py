"""What the retriever derives once per loaded index so that no question loops over every chunk or document:
``IndexArrays`` (document positions, rows per document, regions, section-label rows, enumeration
continuations, citing articles) with ``RowVectors`` (stored embeddings per row, fetched per document on first
use), kept per index by ``RetrievalData``; ``top_rows`` (top-n rows of a score array by ``np.partition``) and
``BoundedMap`` (the small thread-safe LRU map the retriever's caches use).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rag.index.store import LoadedIndex
from rag.retrieve.fusion import DocumentCitations
from rag.retrieve.lists import DocumentContinuations
from rag.types import DerivedData, locked_cached_property
from rag.understand.query import chunk_section_labels

MASK_CACHE = 256  # filters whose chunk masks / row arrays a retriever keeps (a UI session's filters, per-document scopes)
VECTOR_BATCH = 500  # vectors fetched from the store per request


class RowVectors:
    """The stored embedding of each chunk row, fetched from the vector store per document on first use
    (``of_rows``) and kept in a row-aligned float32 matrix (allocated when the first vectors arrive;
    untouched rows cost no memory). Thread-safe. The store is the loaded index's Chroma collection
    (``vectorstore.collection`` or LangChain's ``_collection``), vectors looked up by the index's
    ``vector_ids`` when it has them, else by chunk id."""

    def __init__(self, index: LoadedIndex, doc_of_row: np.ndarray, rows_of_doc):
        self._index = index
        self._doc_of_row = doc_of_row
        self._rows_of_doc = rows_of_doc
        self._have = np.zeros(len(rows_of_doc), dtype=bool)
        self._matrix: np.ndarray | None = None
        self._lock = threading.Lock()
        self._failed = False

    def _collection(self):
        store = self._index.vectorstore
        collection = getattr(store, "collection", None)
        return collection if collection is not None else getattr(store, "_collection", None)

    def _ids(self, rows) -> list[str]:
        ids = getattr(self._index, "vector_ids", None)
        chunks = self._index.chunks
        return [str(ids[r]) if ids is not None else chunks[r].chunk_id for r in rows]

    def of_rows(self, rows: np.ndarray) -> np.ndarray | None:
        """float32 array (len(rows), dimension): the stored vectors of ``rows``; None when the store
        cannot give them (the caller then asks the store's own search)."""
        if self._failed:
            return None
        positions = np.unique(self._doc_of_row[rows])
        missing = positions[~self._have[positions]]
        if len(missing):
            with self._lock:
                missing = missing[~self._have[missing]]
                if len(missing) and not self._fetch(missing):
                    self._failed = True
                    return None
        return self._matrix[rows]

    def _fetch(self, positions) -> bool:
        collection = self._collection()
        if collection is None:
            return False
        rows = np.concatenate([self._rows_of_doc[p] for p in positions])
        ids = self._ids(rows)
        row_of = dict(zip(ids, (int(r) for r in rows)))
        got: dict[int, object] = {}
        try:
            for i in range(0, len(ids), VECTOR_BATCH):
                found = collection.get(ids=ids[i:i + VECTOR_BATCH], include=["embeddings"])
                for vid, vec in zip(found["ids"], found["embeddings"]):
                    if vid in row_of:
                        got[row_of[vid]] = vec
        except Exception:  # noqa: BLE001 - a store that cannot list vectors: use its own search
            return False
        if len(got) != len(rows):
            return False
        if self._matrix is None:
            dim = len(next(iter(got.values())))
            self._matrix = np.zeros((len(self._doc_of_row), dim), dtype=np.float32)
        for row, vec in got.items():
            self._matrix[row] = vec
        self._have[positions] = True
        return True


class BoundedMap:
    """A small thread-safe LRU map (``get`` / ``put``, ``put`` returns the value kept)."""

    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value):
        with self._lock:
            value = self._items.setdefault(key, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return value


def top_rows(scores: np.ndarray, n: int, rows: np.ndarray | None = None) -> list[int]:
    """The ``n`` rows with the highest ``scores`` above 0, best first, ties by lower row — as
    ``np.argsort(-scores, kind="stable")[:n]`` without the rows scoring ≤ 0 — among ``rows`` (int
    array, ascending; None: every row). ``np.partition`` keeps the time ~ len(rows) + n log n."""
    values = scores if rows is None else scores[rows]
    hit = np.flatnonzero(values > 0)
    if n < 1 or not len(hit):
        return []
    if len(hit) > n:
        kth = np.partition(values[hit], len(hit) - n)[len(hit) - n]  # the n-th highest score
        hit = hit[values[hit] >= kth]
    hit = hit[np.lexsort((hit, -values[hit]))][:n]
    return [int(r) for r in (hit if rows is None else rows[hit])]


@dataclass(frozen=True)
class IndexArrays:
    """Per loaded index, built once (``index_arrays``) so that no question loops over every chunk or
    document: ``doc_ids`` (document positions, in chunk order of first appearance) and ``position``
    (doc_id → position); ``doc_of_row`` (int array over chunk rows: the chunk's document position);
    ``rows_of_doc`` (position → its rows, ascending int array); ``region_of_doc`` (object array over
    positions: ``DocumentMeta.region``); ``label_rows`` (section label, ``rag.understand.query.section_labels`` →
    rows of the chunks under it, ascending); ``continuations`` (``rag.retrieve.lists.DocumentContinuations``);
    ``vectors`` (``RowVectors``: stored embeddings per row, fetched per document on first use)."""

    doc_ids: tuple[str, ...]
    position: dict
    doc_of_row: np.ndarray
    rows_of_doc: tuple
    region_of_doc: np.ndarray
    label_rows: dict
    continuations: Mapping
    vectors: RowVectors
    docs: dict
    _in_force: BoundedMap
    citations: Mapping

    def allowed_docs(self, filters) -> np.ndarray:
        """Boolean array over document positions: the document passes ``filters`` (a
        ``rag.retrieve.hybrid.Filters``; the same decision as ``Filters.allows``; the in-force test is made once per day and document)."""
        allowed = np.ones(len(self.doc_ids), dtype=bool)
        if filters.doc_ids is not None:
            allowed[:] = False
            allowed[[self.position[d] for d in filters.doc_ids if d in self.position]] = True
        if filters.region:
            allowed &= self.region_of_doc == filters.region
        if filters.in_force_on:
            day = filters.in_force_on
            in_force = self._in_force.get(day)
            if in_force is None:
                in_force = self._in_force.put(day, np.array([self.docs[d].in_force_on(day) for d in self.doc_ids],
                                                            dtype=bool))
            allowed &= in_force
        return allowed


class RetrievalData(DerivedData):
    """What the retriever derives from one index, built on first use (at load) and kept: ``arrays``
    (``IndexArrays``)."""

    @locked_cached_property
    def arrays(self) -> IndexArrays:
        index = self.index
        chunks = index.chunks
        position: dict[str, int] = {}
        doc_of_row = np.fromiter((position.setdefault(c.doc_id, len(position)) for c in chunks),
                                 dtype=np.int64, count=len(chunks))
        order = np.argsort(doc_of_row, kind="stable")
        bounds = np.searchsorted(doc_of_row[order], np.arange(len(position) + 1))
        rows_of_doc = tuple(order[bounds[p]:bounds[p + 1]] for p in range(len(position)))
        doc_ids = tuple(position)
        region = np.empty(len(doc_ids), dtype=object)
        region[:] = [index.docs[d].region for d in doc_ids]
        label_lists: dict[str, list[int]] = {}
        for row, labels in enumerate(chunk_section_labels(index)):
            for lab in labels:
                label_lists.setdefault(lab, []).append(row)
        label_rows = {lab: np.array(rows, dtype=np.int64) for lab, rows in label_lists.items()}
        return IndexArrays(doc_ids, position, doc_of_row, rows_of_doc, region, label_rows,
                           DocumentContinuations(chunks, doc_of_row, rows_of_doc),
                           RowVectors(index, doc_of_row, rows_of_doc), index.docs, BoundedMap(MASK_CACHE),
                           DocumentCitations(chunks, doc_of_row, rows_of_doc))


def index_arrays(index: LoadedIndex) -> IndexArrays:
    """The ``IndexArrays`` of ``index``, built on first call (at load: ``HybridRetriever.__init__``) and
    kept with it (``RetrievalData``, thread-safe: built once); one pass over the chunks."""
    return RetrievalData.of(index).arrays
