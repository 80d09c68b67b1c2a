"""The state one ``HybridRetriever.retrieve`` call passes through its steps (``_Retrieval``), the fusion a
step ends with when it adds a ranking (``_fuse_again``) and the merged outline's place in a row order
(``_OUTLINE``).

Shared by ``rag.retrieve.hybrid`` (the retriever, its core steps and ``retrieve``'s order of steps) and the
step mixins the retriever inherits (``rag.retrieve.comparison.ComparisonSteps``,
``rag.retrieve.list_value_steps.ListValueSteps``); it imports none of them (``Filters`` comes from
``rag.retrieve.filters``), so they can all import it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rag.retrieve.filters import Filters
from rag.retrieve.fusion import reciprocal_rank_fusion
from rag.settings import Settings
from rag.types import Chunk
from rag.understand.query import QueryPlan


@dataclass(eq=False)
class _Retrieval:
    """The state one ``HybridRetriever.retrieve`` call passes through its steps (rows: chunk rows of the
    index, best first).

    ``k``, ``filters``, ``plan``: the call's (the plan made when none was given); ``routing``:
    ``Settings.use_doc_routing``; ``multi``: routing a compared plan of two or more scopes; ``n``: rows per
    ranking (``max(candidate_k, k)``). Filled by the steps: ``rankings`` (row lists) and ``weights``
    (their RRF weights, same length); ``bm25_all`` (BM25 score of every chunk for the question's words,
    float64 array; None in dense mode); ``dense_sims`` (row → cosine similarity, from every dense ranking
    made); ``plain`` (the global ranking's fused rows before any routing: the rows routing keeps in the
    window); ``pieces`` (``article_pieces``); ``fused`` (``[(row, RRF score)]``, best first); ``order``
    (the rows to return, the outline's place as ``_OUTLINE``); ``reordered`` (``order`` changed after
    fusion); ``outline`` (the merged outline chunk, or None); ``scope_lists`` (a compared plan's rankings per
    scope with their weights, ``HybridRetriever._scope_lists``)."""

    k: int
    filters: Filters
    plan: QueryPlan
    routing: bool
    multi: bool
    n: int
    rankings: list[list[int]] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    bm25_all: np.ndarray | None = None
    dense_sims: dict[int, float] = field(default_factory=dict)
    plain: list[int] = field(default_factory=list)
    pieces: dict[int, tuple[int, ...]] = field(default_factory=dict)
    fused: list[tuple[int, float]] = field(default_factory=list)
    order: list[int] = field(default_factory=list)
    reordered: bool = False
    outline: Chunk | None = None
    scope_lists: list[tuple[list[list[int]], list[float]]] | None = None


def _fuse_again(s: _Retrieval, settings: Settings, ranking: list[int], weight: float | None = None) -> None:
    """Add ``ranking`` (rows, best first) with ``weight`` (default ``Settings.routing_weight``) to the rankings of ``s`` and
    fuse them again (``HybridRetriever._fuse``'s fusion, the pieces of an article as one unit): the end of
    every step adding a ranking that the fused order suggests (a list question's section, the passages
    stating an asked value)."""
    s.rankings.append(ranking)
    s.weights.append(settings.routing_weight if weight is None else weight)
    s.fused = reciprocal_rank_fusion(s.rankings, k=settings.rrf_k, weights=s.weights, pieces=s.pieces)


_OUTLINE = -1  # the merged outline's place in a row order (it has no row: outlines are not indexed)
