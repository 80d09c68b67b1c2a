"""Hybrid retrieval: BM25 over jieba words + dense (Chroma) fused by reciprocal rank fusion.

``HybridRetriever.retrieve(question, k, filters)`` → list of ``Hit`` (length ≤ k, rank 1 first).
Modes (``Settings.retrieval_mode``): "hybrid" (default), "bm25", "dense".
Reciprocal rank fusion: score(d) = Σ_r 1 / (k_rrf + rank_r(d)), k_rrf = 60 (Cormack, Clarke &
Büttcher, SIGIR 2009). The merge helpers live in ``rag.fusion`` (fusion, protected rows, scope slots)
and ``rag.lists`` (a list question's section and enumeration continuations); their names are
importable from here too (``from rag.retrieval import protect_rows`` keeps working).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np

from rag.fusion import PROTECTED_ROWS, guarantee_scope_slots, protect_rows, reciprocal_rank_fusion
from rag.index import LoadedIndex, card_rows
from rag.meta_answers import version_order
from rag.lists import (OUTLINE_DEPTH, OUTLINE_RANK, add_continuations, continuation_rows, list_section_rows,
                       merge_outline, outline_chunks)
from rag.query import QueryPlan, chunk_section_labels, is_comparison, plan_query, scope_weights
from rag.settings import Settings
from rag.types import Hit


@dataclass(frozen=True)
class Filters:
    """Metadata filters. ``doc_ids``: keep only these documents; ``region``: a region of the indexed documents ("某某省");
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
        """Boolean array over chunk rows: the chunk's document passes ``filters`` (cached per filters).
        ``filters.allows`` is asked once per document and spread to the chunks through ``_doc_rows``."""
        if filters not in self._mask_cache:
            doc_ids, doc_rows = self._doc_rows()
            docs = self.index.docs
            allowed = np.array([filters.allows(docs[d]) for d in doc_ids], dtype=bool)
            self._mask_cache[filters] = allowed[doc_rows] if len(doc_rows) else np.zeros(0, dtype=bool)
        return self._mask_cache[filters]

    def _doc_rows(self) -> tuple[list[str], np.ndarray]:
        """(document ids, int array over chunk rows: position of the chunk's document in those ids), once
        per retriever."""
        cached = getattr(self, "_doc_rows_cache", None)
        if cached is None:
            position: dict[str, int] = {}
            rows = np.fromiter((position.setdefault(c.doc_id, len(position)) for c in self.index.chunks),
                               dtype=np.int64, count=len(self.index.chunks))
            cached = self._doc_rows_cache = (list(position), rows)
        return cached

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
    def _lists(self, tokens, text: str, n: int, scope: Filters, bm25_all, dense_sims: dict):
        """The BM25 and/or dense rankings (per ``retrieval_mode``) of one query within ``scope``;
        returns ``(rankings, bm25_all)`` and records cosine similarities in ``dense_sims``."""
        rankings = []
        if self.settings.retrieval_mode in ("hybrid", "bm25"):
            ranking, scores = self.bm25_ranking(list(tokens), n, scope)
            bm25_all = scores if bm25_all is None else bm25_all
            rankings.append(ranking)
        if self.settings.retrieval_mode in ("hybrid", "dense"):
            ranking, sims = self.dense_ranking(text, n, scope)
            for row, sim in sims.items():
                dense_sims.setdefault(row, sim)
            rankings.append(ranking)
        return rankings, bm25_all

    def _card_rows(self, doc_ids, filters: Filters) -> list[int]:
        """Rows of the document cards of ``doc_ids`` (in that order) that ``filters`` allows."""
        cards = card_rows(self.index)
        mask = self._mask(filters)
        return [cards[d] for d in doc_ids if d in cards and mask[cards[d]]]

    def _section_rows(self, labels, doc_ids, filters: Filters) -> list[int]:
        """Rows of chunks under a heading in ``labels`` (of ``doc_ids`` when given) that ``filters``
        allows."""
        mask = self._mask(filters)
        wanted = set(labels)
        chunks = self.index.chunks
        return [row for row, labs in enumerate(chunk_section_labels(self.index))
                if mask[row] and not wanted.isdisjoint(labs) and (not doc_ids or chunks[row].doc_id in doc_ids)]

    def _next_rows(self) -> dict[int, int]:
        """Row → row of the next chunk of the same document section and kind (by start offset), for
        the text chunks whose enumeration continues there (``continues_enumeration``); computed once."""
        if not hasattr(self, "_continuations"):
            self._continuations = continuation_rows(self.index.chunks)
        return self._continuations

    def retrieve(self, question: str, k: int = 5, filters: Filters = NO_FILTERS,
                 plan: QueryPlan | None = None) -> list[Hit]:
        """The top ``k`` hits for ``question`` (rank 1 first); an empty list when nothing matches.

        The global ranking fuses BM25 and dense rankings of the whole question. With
        ``use_doc_routing`` (routing is additive — it never evicts the global ranking's best rows):

        * a compared plan (``plan.compare``: two or more documents/regions compared) keeps the global
          top ``PROTECTED_ROWS`` first and then gets ``slots_per_scope`` passages of each scope from
          that scope's sub-query (round-robin, ``guarantee_scope_slots``);
        * any other plan naming documents adds one in-document ranking per document, weighted by
          ``scope_weights`` (an ambiguous reference only nudges); named sections add a ranking; a
          question about a document itself (``plan.about_document``) gets the cards of its documents
          first; then (unless the question asks about the documents in general, which the cards
          answer) the global top ``PROTECTED_ROWS`` are put back into the first
          ``min(k, top_k)`` places if routing pushed them out (``protect_rows``);
        * a list question (``plan.wants_list``, not compared; ``use_list_sections``) adds a ranking (by
          BM25, weight ``routing_weight``) of the chunks of the section around the best fused hit
          (``list_section_rows``: its sub-headings and 专栏 hold the other items), unless it names a
          section (that section's ranking already says where to look);
        * a list question (``plan.wants_list``, not compared, not about a document itself) gets no
          document card (a card lists no items);
        * a list question (``plan.wants_list``, not compared; ``use_list_continuation``) gets the next
          chunk of the section of a top hit whose enumeration is unfinished right after that hit
          (``add_continuations``, at most ``MAX_CONTINUATIONS``, the global top 2 kept in the window);
        * a list question (``plan.wants_list``, not compared; ``use_outlines``) whose first hits lie in
          two or more sub-sections of one section gets that section's outline (its sub-headings with
          their first sentences, ``merge_outline``) in place ``OUTLINE_RANK`` (3), pushing the last hit
          that is not a global top row out of the top ``k``.

        ``Hit.score`` is 1/(k_rrf + final rank) when the order was changed after fusion;
        ``scores["rrf"]`` keeps the fused score. Raises ValueError when ``k`` < 1."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        plan = plan or plan_query(question, self.index, self.settings)
        routing = self.settings.use_doc_routing
        multi = routing and plan.compare and len(plan.scopes) >= 2
        rankings, weights, bm25_all, dense_sims = [], [], None, {}
        n = max(self.settings.candidate_k, k)
        scopes = [(filters, plan.tokens, plan.dense_text, 1.0)]
        if routing and not multi:
            # named documents (one, or the candidates of an ambiguous reference): their in-document
            # rankings of the whole question (no other scope's words to keep out), weighted
            for d, w in scope_weights(plan, self.settings.routing_weight).items():
                if filters.doc_ids is None or d in filters.doc_ids:
                    scope = Filters(doc_ids=(d,), region=filters.region, in_force_on=filters.in_force_on)
                    scopes.append((scope, plan.tokens, plan.dense_text, w))
        for scope, tokens, text, w in scopes:
            lists, bm25_all = self._lists(tokens, text, n, scope, bm25_all, dense_sims)
            rankings += lists
            weights += [w] * len(lists)
            if len(rankings) == len(lists):  # the global ranking, before any routing
                plain = [row for row, _ in reciprocal_rank_fusion(lists, k=self.settings.rrf_k)]
        if routing and plan.sections and bm25_all is not None:
            # the question names a section (发展愿景, 发展基础): its chunks form one more ranking
            rows = self._section_rows(plan.sections, plan.doc_ids, filters)
            rankings.append(sorted(rows, key=lambda r: -bm25_all[r]))
            weights.append(self.settings.routing_weight)
        fused = reciprocal_rank_fusion(rankings, k=self.settings.rrf_k, weights=weights)
        if (routing and self.settings.use_list_sections and plan.wants_list and not multi and not plan.sections
                and fused and bm25_all is not None):
            # a list question: the enumeration often spans the sub-sections/专栏 of the best hit's section
            rows = list_section_rows(self.index.chunks, fused[0][0], self._mask(filters))
            if len(rows) > 1:
                rankings.append(sorted(rows, key=lambda r: -bm25_all[r]))
                weights.append(self.settings.routing_weight)
                fused = reciprocal_rank_fusion(rankings, k=self.settings.rrf_k, weights=weights)
        rrf = dict(fused)
        order = [row for row, _ in fused]
        reordered = False
        if multi:
            per_scope = []
            for s in plan.scopes:
                ids = tuple(d for d in s.doc_ids if filters.doc_ids is None or d in filters.doc_ids)
                scope = Filters(doc_ids=ids, region=filters.region, in_force_on=filters.in_force_on)
                lists, bm25_all = self._lists(s.tokens or plan.tokens, s.dense_text or plan.dense_text,
                                              n, scope, bm25_all, dense_sims)
                per_scope.append([row for row, _ in reciprocal_rank_fusion(lists, k=self.settings.rrf_k)])
            # an explicit comparison (分别, 各自, 有什么不同) keeps the global best; two documents named
            # without comparison words may still ask about one passage, so the global top 2 stay first
            head = plain[:1 if is_comparison(plan.question) else PROTECTED_ROWS]
            order = head + [row for row in order if row not in head]
            slots = max(1, (self.settings.top_k - 1) // len(per_scope))
            order = guarantee_scope_slots(order, per_scope, slots, head=len(head))
            reordered = True
        if routing and plan.about_document:
            position = {row: i for i, row in enumerate(order)}
            cards = sorted(self._card_rows(plan.card_doc_ids, filters), key=lambda r: position.get(r, len(order)))
            preferred = version_order(plan.question, [self.index.chunks[r].doc_id for r in cards], self.index.docs)
            cards = sorted(cards, key=lambda r: preferred.index(self.index.chunks[r].doc_id))
            order = cards + [row for row in order if row not in cards]
            reordered = reordered or bool(cards)
        if routing and not multi and not (plan.about_document and not plan.scopes
                                          and WHICH_DOCUMENT.search(plan.question)):
            # (a question about the documents in general — 哪份文件最新 — is answered by the cards)
            protected = protect_rows(order, plain[:PROTECTED_ROWS], min(k, self.settings.top_k))
            reordered = reordered or protected != order
            order = protected
        if routing and plan.wants_list and not multi and not plan.about_document:
            # a list question about the documents' content: a card (title, issuer, period) lists no items
            cards = set(card_rows(self.index).values())
            plain = [row for row in plain if row not in cards]  # nor as a protected global top row
            if any(row in cards for row in order[:k]):
                order = [row for row in order if row not in cards]
                reordered = True
        if routing and self.settings.use_list_continuation and plan.wants_list and not multi:
            # a list question: an enumeration a top hit leaves unfinished continues in the next chunk
            extended = add_continuations(order, self._next_rows(), min(k, self.settings.top_k),
                                         plain[:PROTECTED_ROWS])
            reordered = reordered or extended != order
            order = extended
        outline = None
        if routing and self.settings.use_outlines and plan.wants_list and not multi and k >= OUTLINE_RANK:
            # a list question whose top hits spread over the sub-sections of one section: that
            # section's sub-headings are the items (auto-merging into the parent's outline), placed
            # behind the first two hits; the global top rows stay in the window
            outline = merge_outline([self.index.chunks[row] for row in order[:OUTLINE_DEPTH]],
                                    outline_chunks(self.index), rrf_k=self.settings.rrf_k)
            if outline is not None:
                order = protect_rows(order[:OUTLINE_RANK - 1] + [_OUTLINE] + order[OUTLINE_RANK - 1:],
                                     plain[:PROTECTED_ROWS], min(k, self.settings.top_k))
                reordered = True
        hits = []
        for rank, row in enumerate(order[:k], start=1):
            if row == _OUTLINE:
                hits.append(Hit(rank, 1.0 / (self.settings.rrf_k + rank), outline,
                                self.index.docs[outline.doc_id].title, {}))
                continue
            chunk = self.index.chunks[row]
            scores = {"rrf": rrf.get(row, 0.0)}
            if bm25_all is not None:
                scores["bm25"] = float(bm25_all[row])
            if row in dense_sims:
                scores["dense"] = dense_sims[row]
            score = 1.0 / (self.settings.rrf_k + rank) if reordered else scores["rrf"]
            hits.append(Hit(rank, score, chunk, self.index.docs[chunk.doc_id].title, scores))
        return hits


_OUTLINE = -1  # the merged outline's place in a row order (it has no row: outlines are not indexed)
WHICH_DOCUMENT = re.compile(r"哪(?:一|几)?[份个些部](?:文件|规划|方案|意见|政策)?|几份")  # asks which document
