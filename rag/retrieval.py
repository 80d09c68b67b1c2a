"""Hybrid retrieval: BM25 over jieba words + dense (Chroma) fused by reciprocal rank fusion.

``HybridRetriever.retrieve(question, k, filters)`` → list of ``Hit`` (length ≤ k, rank 1 first).
Modes (``Settings.retrieval_mode``): "hybrid" (default), "bm25", "dense".
Reciprocal rank fusion: score(d) = Σ_r 1 / (k_rrf + rank_r(d)), k_rrf = 60 (Cormack, Clarke &
Büttcher, SIGIR 2009).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from rag.index import LoadedIndex
from rag.query import QueryPlan, plan_query
from rag.settings import Settings
from rag.types import Hit


@dataclass(frozen=True)
class Filters:
    """Metadata filters. ``doc_ids``: keep only these documents; ``region``: "四川省" or "成都市";
    ``in_force_on``: keep documents whose stated period covers that day and that are not drafts."""

    doc_ids: tuple[str, ...] | None = None
    region: str | None = None
    in_force_on: date | None = None

    def allows(self, meta) -> bool:
        if self.doc_ids is not None and meta.doc_id not in self.doc_ids:
            return False
        if self.region and meta.region != self.region:
            return False
        if self.in_force_on and not meta.in_force_on(self.in_force_on):
            return False
        return True

    def chroma_where(self) -> dict | None:
        """The same filter in Chroma's ``where`` syntax (None when there is no filter)."""
        clauses = []
        if self.doc_ids is not None:
            clauses.append({"doc_id": {"$in": list(self.doc_ids) or ["__none__"]}})
        if self.region:
            clauses.append({"region": self.region})
        if self.in_force_on:
            year = self.in_force_on.year
            clauses += [{"period_start": {"$lte": year}}, {"period_end": {"$gte": year}}, {"draft": False}]
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


NO_FILTERS = Filters()


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60,
                           weights: list[float] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids (best first) into one: ``[(id, score)]`` sorted by descending score.

    score(id) = Σ_i w_i / (k + rank_i(id)), ranks 1-based; ids missing from a list add nothing.
    Ties keep the order of first appearance.
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class HybridRetriever:
    """BM25 + dense retrieval over a loaded index, fused by RRF, with metadata filters.

    Query planning (``rag.query``) adds policy-concept synonyms to the lexical query and, when the
    question names documents, retrieves within each named document too so that every named document
    is represented (cross-document questions).
    """

    def __init__(self, index: LoadedIndex, settings: Settings):
        self.index = index
        self.settings = settings
        self._mask_cache: dict[Filters, np.ndarray] = {}

    # --- single retrievers -------------------------------------------------------------------
    def _mask(self, filters: Filters) -> np.ndarray:
        if filters not in self._mask_cache:
            docs = self.index.docs
            self._mask_cache[filters] = np.array([filters.allows(docs[c.doc_id]) for c in self.index.chunks])
        return self._mask_cache[filters]

    def bm25_ranking(self, tokens: list[str], n: int, filters: Filters) -> tuple[list[int], np.ndarray]:
        """Row ids of the top ``n`` chunks by BM25 (score > 0), and the full score array (BM25,
        higher is better, length = number of chunks)."""
        if not tokens:
            return [], np.zeros(len(self.index.chunks))
        scores = np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float64)
        masked = np.where(self._mask(filters), scores, -1.0)
        top = np.argsort(-masked, kind="stable")[:n]
        return [int(i) for i in top if masked[i] > 0], scores

    def dense_ranking(self, text: str, n: int, filters: Filters) -> tuple[list[int], dict[int, float]]:
        """Row ids of the top ``n`` chunks by cosine similarity of embeddings, and their similarities."""
        vector = self.index.embedder.embed_query(text)
        if not any(vector):
            return [], {}
        results = self.index.vectorstore.similarity_search_by_vector_with_relevance_scores(
            vector, k=min(n, len(self.index.chunks)), filter=filters.chroma_where())
        ranking, sims = [], {}
        for doc, distance in results:
            row = self.index.by_id.get(doc.metadata.get("chunk_id"))
            if row is not None:
                ranking.append(row)
                sims[row] = 1.0 - float(distance)
        return ranking, sims

    # --- hybrid ------------------------------------------------------------------------------
    def retrieve(self, question: str, k: int = 5, filters: Filters = NO_FILTERS,
                 plan: QueryPlan | None = None) -> list[Hit]:
        """The top ``k`` hits for ``question`` (rank 1 first); an empty list when nothing matches.
        Raises ValueError when ``k`` < 1."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        plan = plan or plan_query(question, self.index, self.settings)
        rankings, weights, bm25_all, dense_sims = [], [], None, {}
        n = max(self.settings.candidate_k, k)
        scopes = [filters]
        if plan.doc_ids and self.settings.use_doc_routing:
            scopes += [Filters(doc_ids=(d,), region=filters.region, in_force_on=filters.in_force_on)
                       for d in plan.doc_ids if filters.doc_ids is None or d in filters.doc_ids]
        if len(plan.regions) > 1 and self.settings.use_doc_routing and not filters.region:
            # a comparison across levels (省 vs 成都): make sure each region is represented
            scopes += [Filters(doc_ids=filters.doc_ids, region=r, in_force_on=filters.in_force_on)
                       for r in plan.regions]
        for i, scope in enumerate(scopes):
            weight = 1.0 if i == 0 else self.settings.routing_weight
            if self.settings.retrieval_mode in ("hybrid", "bm25"):
                ranking, scores = self.bm25_ranking(plan.tokens, n, scope)
                bm25_all = scores if bm25_all is None else bm25_all
                rankings.append(ranking)
                weights.append(weight)
            if self.settings.retrieval_mode in ("hybrid", "dense"):
                ranking, sims = self.dense_ranking(plan.dense_text, n, scope)
                dense_sims.update(sims)
                rankings.append(ranking)
                weights.append(weight)
        fused = reciprocal_rank_fusion(rankings, k=self.settings.rrf_k, weights=weights)
        hits = []
        for rank, (row, score) in enumerate(fused[:k], start=1):
            chunk = self.index.chunks[row]
            scores = {"rrf": score}
            if bm25_all is not None:
                scores["bm25"] = float(bm25_all[row])
            if row in dense_sims:
                scores["dense"] = dense_sims[row]
            hits.append(Hit(rank, score, chunk, self.index.docs[chunk.doc_id].title, scores))
        return hits
