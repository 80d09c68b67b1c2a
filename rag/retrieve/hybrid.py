"""Hybrid retrieval: BM25 over jieba words, the same candidates by character bigrams, and dense (Chroma),
fused by reciprocal rank fusion.

``HybridRetriever.retrieve(question, k, filters)`` → list of ``Hit`` (length ≤ k, rank 1 first).
Modes (``Settings.retrieval_mode``): "hybrid" (default), "bm25", "dense".
Reciprocal rank fusion: score(d) = Σ_r 1 / (k_rrf + rank_r(d)), k_rrf = 60 (Cormack, Clarke &
Büttcher, SIGIR 2009). The merge helpers live in ``rag.retrieve.fusion`` (fusion, protected rows, scope slots)
and ``rag.retrieve.lists`` (a list question's section and enumeration continuations); their names are
importable from here too (``from rag.retrieve.hybrid import protect_rows`` keeps working).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from rag.retrieve.fusion import (PROTECTED_ROWS, add_citing_rows, article_pieces, guarantee_scope_slots,
                        protect_rows, reciprocal_rank_fusion, with_article_pieces)
from rag.index.store import LoadedIndex, card_rows
from rag.retrieve.arrays import MASK_CACHE, BoundedMap, index_arrays, top_rows
from rag.understand.meta_questions import asks_earlier_version, version_order
from rag.retrieve.lists import (OUTLINE_DEPTH, OUTLINE_RANK, add_continuations,  # noqa: F401
                       continuation_rows, list_section_rows, merge_outline, outline_chunks)
from rag.understand.query import (QueryPlan, changed_first, dominant_match, is_comparison, plan_query,
                       prepare_index, routing_rankings)
from rag.retrieve.values import ranked_asked_values, term_value_rows, value_rows
from rag.settings import Settings
from rag.types import Chunk, Hit


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

    Query planning (``rag.understand.query``) adds policy-concept synonyms to the lexical query and, when the
    question names documents, retrieves within each named document too so that every named document
    is represented (cross-document questions).
    """

    def __init__(self, index: LoadedIndex, settings: Settings):
        self.index = index
        self.settings = settings
        self.arrays = index_arrays(index)  # built once per loaded index, shared by its retrievers
        prepare_index(index, settings)  # what the first question would build (rag.understand.query.prepare_index)
        outline_chunks(index)  # the per-document outline map (outlines themselves are built per document)
        article_pieces(index)  # the pieces of regulation articles cut into several chunks
        self._mask_cache = BoundedMap(MASK_CACHE)
        self._rows_cache = BoundedMap(MASK_CACHE)
        self._scores_cache = BoundedMap(SCORES_CACHE)
        self._vector_cache = BoundedMap(SCORES_CACHE)

    # --- filters as index arrays --------------------------------------------------------------
    def _mask(self, filters: Filters) -> np.ndarray:
        """Boolean array over chunk rows: the chunk's document passes ``filters`` (the last
        ``MASK_CACHE`` filters are kept). Documents are judged once (``IndexArrays.allowed_docs``) and the
        result is spread to the chunks through ``IndexArrays.doc_of_row``."""
        mask = self._mask_cache.get(filters)
        if mask is None:
            mask = self._mask_cache.put(filters, self.arrays.allowed_docs(filters)[self.arrays.doc_of_row])
        return mask

    def _rows(self, filters: Filters) -> np.ndarray | None:
        """The rows ``filters`` allows, ascending (int array); None when it allows every row. A filter
        naming a few documents costs their chunks, not the library's."""
        if filters == NO_FILTERS:
            return None
        rows = self._rows_cache.get(filters)
        if rows is None:
            arrays = self.arrays
            if filters.doc_ids is not None and len(filters.doc_ids) <= SMALL_DOC_FILTER:
                allowed = arrays.allowed_docs(filters)
                parts = [arrays.rows_of_doc[p] for p in sorted({arrays.position[d] for d in filters.doc_ids
                                                                 if d in arrays.position}) if allowed[p]]
                rows = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
            else:
                rows = np.flatnonzero(self._mask(filters))
            rows = self._rows_cache.put(filters, rows)
        return rows

    def _bm25_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 scores of every chunk for ``tokens`` (float64, length = number of chunks); the last
        ``SCORES_CACHE`` token lists are kept (a question's scopes search with the same words)."""
        key = tuple(tokens)
        scores = self._scores_cache.get(key)
        if scores is None:
            scores = np.asarray(self.index.bm25.get_scores(list(tokens)), dtype=np.float64)
            scores.flags.writeable = False
            scores = self._scores_cache.put(key, scores)
        return scores

    # --- single retrievers -------------------------------------------------------------------
    def bm25_ranking(self, tokens: list[str], n: int, filters: Filters) -> tuple[list[int], np.ndarray]:
        """Row ids of the top ``n`` chunks by BM25 (score > 0; ties: lower row first) among the rows
        ``filters`` allows, and the full score array (BM25, higher is better, length = number of
        chunks; read-only). Top-n by ``np.partition``: time ~ matching rows, no full sort."""
        if not tokens:
            return [], np.zeros(len(self.index.chunks))
        scores = self._bm25_scores(tokens)
        return top_rows(scores, n, self._rows(filters)), scores

    def bigram_ranking(self, text: str, pool: list[int], n: int) -> list[int]:
        """``pool`` (chunk rows) reordered by the character-bigram BM25 of ``text`` over the pool's indexed
        texts (``rag.index.store.indexed_text``; ``rag.retrieve.ngrams.pool_scores``, the pool's own statistics): the top
        ``n`` rows scoring above 0, ties in the pool's order; [] for an empty pool."""
        from rag.index.store import indexed_text
        from rag.retrieve.ngrams import pool_scores

        chunks, docs = self.index.chunks, self.index.docs
        scores = pool_scores([indexed_text(chunks[r], docs[chunks[r].doc_id]) for r in pool], text)
        order = np.argsort(-scores, kind="stable")
        return [pool[i] for i in order[:n] if scores[i] > 0]

    def _query_vector(self, text: str):
        """The embedding of ``text`` (``embedder.embed_query``; the last ``SCORES_CACHE`` texts are kept: a
        question's scopes embed the same text)."""
        vector = self._vector_cache.get(text)
        if vector is None:
            vector = self._vector_cache.put(text, list(self.index.embedder.embed_query(text)))
        return vector

    def dense_ranking(self, text: str, n: int, filters: Filters) -> tuple[list[int], dict[int, float]]:
        """Row ids of the top ``n`` chunks by cosine similarity of embeddings, and their similarities.

        When the filter (or, without one, the index) allows more than ``DENSE_EXACT_ROWS`` chunks, the
        vector store's nearest-neighbour search (Chroma HNSW, the filter as its ``where``) answers. Fewer
        chunks (a named document, the documents of a compared scope, a library of up to that many chunks)
        are searched exactly from their vectors (``RowVectors``, fetched from the store once per
        document): Chroma's filtered HNSW search costs ~100 ms at 85 k chunks whatever the filter, this ~
        the allowed chunks; and HNSW is approximate — its graph, and so the tail of its ranking, changed
        with the vector ids alone (7 of 58 external dev questions moved, key facts 0.917 → 0.896).
        Ties: lower row first."""
        vector = self._query_vector(text)
        if not any(vector):
            return [], {}
        rows = self._rows(filters)
        if rows is not None and not len(rows):
            return [], {}
        if rows is None and len(self.index.chunks) <= DENSE_EXACT_ROWS:
            rows = np.arange(len(self.index.chunks))  # a small library: exact, whatever HNSW's graph
        if rows is not None and len(rows) <= DENSE_EXACT_ROWS:
            matrix = self.arrays.vectors.of_rows(rows)
            if matrix is not None:
                query = np.asarray(vector, dtype=np.float32)
                norms = np.linalg.norm(matrix, axis=1) * np.float32(np.linalg.norm(query))
                sims = np.divide(matrix @ query, norms, out=np.zeros(len(rows), dtype=np.float32), where=norms > 0)
                best = np.lexsort((rows, -sims))[:min(n, len(rows))]
                ranking = [int(rows[i]) for i in best]
                return ranking, {int(rows[i]): float(sims[i]) for i in best}
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
        returns ``(rankings, bm25_all, weights)`` — ``weights`` each ranking's RRF weight factor (1 for
        BM25, ``Settings.bigram_weight`` for the character-bigram ranking of BM25's first ``BIGRAM_POOL``
        rows (``bigram_ranking``, when that weight is above 0), ``dense_fusion_weight`` for the
        dense ranking in hybrid mode) — and records cosine similarities in ``dense_sims``."""
        rankings, weights = [], []
        mode = self.settings.retrieval_mode
        if mode in ("hybrid", "bm25"):
            ranking, scores = self.bm25_ranking(list(tokens), n, scope)
            bm25_all = scores if bm25_all is None else bm25_all
            rankings.append(ranking)
            weights.append(1.0)
            if self.settings.bigram_weight > 0:
                # the same candidates reordered by character bigrams: terms jieba cut differently in the
                # question and the passage (满分 / 满 分为) still count
                pool = top_rows(scores, BIGRAM_POOL, self._rows(scope))
                rankings.append(self.bigram_ranking(text, pool, n))
                weights.append(self.settings.bigram_weight)
        if mode in ("hybrid", "dense"):
            ranking, sims = self.dense_ranking(text, n, scope)
            for row, sim in sims.items():
                dense_sims.setdefault(row, sim)
            rankings.append(ranking)
            weights.append(dense_fusion_weight(self.settings) if mode == "hybrid" else 1.0)
        return rankings, bm25_all, weights

    def _card_rows(self, doc_ids, filters: Filters) -> list[int]:
        """Rows of the document cards of ``doc_ids`` (in that order) that ``filters`` allows."""
        cards = card_rows(self.index)
        mask = self._mask(filters)
        return [cards[d] for d in doc_ids if d in cards and mask[cards[d]]]

    def _section_rows(self, labels, doc_ids, filters: Filters) -> list[int]:
        """Rows of chunks under a heading in ``labels`` (of ``doc_ids`` when given) that ``filters``
        allows, ascending; looked up in ``IndexArrays.label_rows`` (time ~ the chunks under them)."""
        arrays = self.arrays
        parts = [arrays.label_rows[lab] for lab in set(labels) if lab in arrays.label_rows]
        if not parts:
            return []
        rows = np.unique(np.concatenate(parts))
        rows = rows[self._mask(filters)[rows]]
        if doc_ids:
            wanted = np.zeros(len(arrays.doc_ids), dtype=bool)
            wanted[[arrays.position[d] for d in doc_ids if d in arrays.position]] = True
            rows = rows[wanted[arrays.doc_of_row[rows]]]
        return [int(r) for r in rows]

    def _next_rows(self) -> Mapping[int, int]:
        """Row → row of the next chunk of the same document section and kind (by start offset), for
        the text chunks whose enumeration continues there (``continues_enumeration``); computed per
        document on first use (``rag.retrieve.lists.DocumentContinuations``, in the index's ``IndexArrays``)."""
        return self.arrays.continuations

    def retrieve(self, question: str, k: int = 5, filters: Filters = NO_FILTERS,
                 plan: QueryPlan | None = None) -> list[Hit]:
        """The top ``k`` hits for ``question`` (rank 1 first); an empty list when nothing matches.

        The global ranking fuses the BM25 ranking of the whole question, its first ``BIGRAM_POOL`` rows
        reordered by character bigrams (``bigram_ranking``, weight ``Settings.bigram_weight``: words jieba
        cut differently in the question and a passage) and the dense ranking; in every fusion the pieces
        of a regulation article cut into several chunks count as ranked where a ranking placed the best
        of them (the others one place behind: ``reciprocal_rank_fusion(…, pieces=article_pieces)``). With
        ``use_doc_routing`` (routing is additive — it never evicts the global ranking's best rows):

        * more candidate rankings: routing scopes (``_scope_rankings``), a dominant match
          (``_dominant_match``), named sections (``_named_section_ranking``);
        * after fusion (``_fuse``), the rankings the fused order suggests: a list question's section
          (``_list_section_ranking``), the passages opening an enumeration (``_enumeration_ranking``), the
          passages stating an asked value (``_asked_value_ranking``), the passages stating a question word
          as a value (``_term_value_ranking``), a compared scope's passages parallel to another scope's best
          (``_parallel_rankings``), the candidates by the question's asking clause (``_need_ranking``), the
          candidates setting a threshold in a unit of the asker's quantities (``_threshold_ranking``);
        * then the reorderings of the fused rows, in this order: changed versions last, the best passage's
          other-version counterpart right after it (``_changed_versions_last``), comparison slots (``_comparison_slots``), document cards first
          (``_document_cards_first``), a former text's repeal first (``_repeal_passages_first``), the global top rows kept (``_protect_global_top_rows``), no card
          in a list answer (``_no_cards_in_list_answers``), penalty articles after the article they cite
          (``_citing_penalty_articles``), enumeration continuations (``_enumeration_continuations``), a
          section's outline (``_section_outline``).

        Each step is one method (below, in the same order) whose docstring states its rule and when it
        applies; they pass one ``_Retrieval`` on, and ``_hits`` turns its rows into hits.

        ``Hit.score`` is 1/(k_rrf + final rank) when the order was changed after fusion;
        ``scores["rrf"]`` keeps the fused score. Raises ValueError when ``k`` < 1."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        plan = plan or plan_query(question, self.index, self.settings)
        routing = self.settings.use_doc_routing
        state = _Retrieval(k=k, filters=filters, plan=plan, routing=routing,
                           multi=routing and plan.compare and len(plan.scopes) >= 2,
                           n=max(self.settings.candidate_k, k))
        # candidate rankings
        self._scope_rankings(state)
        self._dominant_match(state)
        self._named_section_ranking(state)
        # fusion, and the rankings the fused order suggests
        self._fuse(state)
        self._list_section_ranking(state)
        self._enumeration_ranking(state)
        self._asked_value_ranking(state)
        self._term_value_ranking(state)
        self._parallel_rankings(state)
        self._need_ranking(state)
        self._threshold_ranking(state)
        # reorderings of the fused rows
        state.order = [row for row, _ in state.fused]
        self._changed_versions_last(state)
        self._comparison_slots(state)
        self._document_cards_first(state)
        self._repeal_passages_first(state)
        self._protect_global_top_rows(state)
        self._no_cards_in_list_answers(state)
        self._citing_penalty_articles(state)
        self._enumeration_continuations(state)
        self._section_outline(state)
        self._version_repeats_last(state)
        return self._hits(state)

    # --- the steps of retrieve, in order ---------------------------------------------------------
    def _scope_rankings(self, s: _Retrieval) -> None:
        """The global rankings (BM25 and/or dense of the whole question within ``filters``: ``_lists``)
        and, with routing and no comparison (``routing_rankings``), one ranking per routing scope, within
        ``filters``, weighted:

        * a plan naming places but no document adds one ranking within the documents of their
          jurisdiction (``plan.region_doc_ids``: 本市/本省 articles found by place; ``routing_rankings``);
        * any other plan naming documents adds one in-document ranking per document, weighted by
          ``scope_weights`` (an ambiguous reference only nudges).

        Sets ``rankings``, ``weights``, ``bm25_all``, ``dense_sims`` and ``plain`` (the global
        rankings fused, before any routing)."""
        plan, filters = s.plan, s.filters
        scopes = [(filters, plan.tokens, plan.dense_text, 1.0)]
        if s.routing and not s.multi:
            # named documents (one, or the candidates of an ambiguous reference): their in-document
            # rankings of the whole question (no other scope's words to keep out), weighted
            # (and the documents of the regions a question names without naming a document)
            for ids, w in routing_rankings(plan, self.settings.routing_weight):
                ids = tuple(d for d in ids if filters.doc_ids is None or d in filters.doc_ids)
                if ids:
                    scope = Filters(doc_ids=ids, region=filters.region, in_force_on=filters.in_force_on)
                    scopes.append((scope, plan.tokens, plan.dense_text, w))
        for scope, tokens, text, w in scopes:
            lists, s.bm25_all, factors = self._lists(tokens, text, s.n, scope, s.bm25_all, s.dense_sims)
            s.rankings += lists
            s.weights += [w * f for f in factors]
            if len(s.rankings) == len(lists):  # the global ranking, before any routing
                s.plain = [row for row, _ in reciprocal_rank_fusion(lists, k=self.settings.rrf_k, weights=factors)]

    def _dominant_match(self, s: _Retrieval) -> None:
        """With routing: a BM25 first row scoring ``DOMINANT_RATIO`` × the second's (the one passage holding
        the question's rare words) gets a ranking of its own and counts as the first global top row
        (``rag.understand.query.dominant_match``)."""
        if not (s.routing and s.bm25_all is not None and s.rankings):
            return
        lead = dominant_match(s.rankings[0], s.bm25_all)
        if lead is not None:  # one passage alone holds the question's rare words: a ranking of its own,
            s.rankings.append([lead])  # and a place among the global top rows that routing keeps in the window
            s.weights.append(1.0)
            s.plain = [lead] + [row for row in s.plain if row != lead]

    def _named_section_ranking(self, s: _Retrieval) -> None:
        """With routing: named sections (``plan.sections``: 发展愿景, 发展基础) add a ranking (by BM25,
        weight ``routing_weight``) of their chunks — of the documents the question names, or of its
        places' documents (``_section_rows``)."""
        plan = s.plan
        if s.routing and plan.sections and s.bm25_all is not None:
            # the question names a section (发展愿景, 发展基础): its chunks form one more ranking
            rows = self._section_rows(plan.sections, plan.doc_ids or plan.region_doc_ids, s.filters)
            s.rankings.append(sorted(rows, key=lambda r: -s.bm25_all[r]))
            s.weights.append(self.settings.routing_weight)

    def _fuse(self, s: _Retrieval) -> None:
        """Reciprocal rank fusion of the rankings so far (``reciprocal_rank_fusion``, weighted, with the
        pieces of regulation articles as one unit: ``article_pieces``). Sets ``pieces`` and ``fused``."""
        # a regulation article cut into pieces is one unit: its pieces count where a ranking placed the best
        # of them (the head "分为以下四类：" with the items the dense ranking liked)
        s.pieces = article_pieces(self.index)
        s.fused = reciprocal_rank_fusion(s.rankings, k=self.settings.rrf_k, weights=s.weights, pieces=s.pieces)

    def _list_section_ranking(self, s: _Retrieval) -> None:
        """A list question (``plan.wants_list``, not compared; ``use_list_sections``) adds a ranking (by
        BM25, weight ``routing_weight``) of the chunks of the section around the best fused hit
        (``list_section_rows``: its sub-headings and 专栏 hold the other items), unless it names a
        section (that section's ranking already says where to look); fused again."""
        plan = s.plan
        if (s.routing and self.settings.use_list_sections and plan.wants_list and not s.multi and not plan.sections
                and s.fused and s.bm25_all is not None):
            # a list question: the enumeration often spans the sub-sections/专栏 of the best hit's section
            top = s.fused[0][0]
            rows = list_section_rows(self.index.chunks, top, self._mask(s.filters),
                                     doc_rows=self.arrays.rows_of_doc[self.arrays.doc_of_row[top]])
            if len(rows) > 1:
                _fuse_again(s, self.settings, sorted(rows, key=lambda r: -s.bm25_all[r]))

    def _enumeration_ranking(self, s: _Retrieval) -> None:
        """A question asking which items (``plan.wants_list`` and 哪些/哪几 in its need clause, ``LIST_ASK``; not
        compared, not about a document itself; ``use_list_sections``) adds a ranking (weight
        ``ENUMERATION_WEIGHT`` × ``routing_weight``) of the first ``candidate_k`` fused rows that open an
        enumeration (``ENUMERATION_HEAD``: "…可以在法定权限范围内采取下列激励措施：\n（一）…"), in fused order;
        fused again. Why: every article of the right regulation shares the question's words; the one
        answering "哪些" lists them. On the dev splits: x4 R@5 0.902 → 0.948, x5 0.974 → 1.000 (x5 unseen
        when this was built), external_dev 0.969 → 0.962 (an item of 青岛…哪些专项资金 from 5th to 6th);
        bundled, qa2, x3 unchanged."""
        plan = s.plan
        if not (s.routing and self.settings.use_list_sections and plan.wants_list and not s.multi
                and not plan.about_document and s.fused):
            return
        if not LIST_ASK.search(plan.need.need if plan.need is not None else plan.question):
            return  # 包括…吗 asks yes or no, not for the items
        chunks = self.index.chunks
        rows = [row for row, _ in s.fused[:s.n] if ENUMERATION_HEAD.search(chunks[row].text)]
        if rows:
            _fuse_again(s, self.settings, rows, self.settings.routing_weight * ENUMERATION_WEIGHT)

    def _asked_value_ranking(self, s: _Retrieval) -> None:
        """A question asking an amount of money, a duration or a date (``plan.asked_values``, else by its
        wording: ``typed_value_patterns`` — 奖励金额分哪几档; not compared; ``use_value_ranking``) adds a
        ranking (weight ``routing_weight``) of the first ``candidate_k``
        fused rows — of the documents it names, or of its places' documents, when it names any — whose
        text states a value of that kind, in fused order (``value_rows``: "二十日内", "三万元以下" — the
        article stating the value among the regulation's articles sharing the question's words); fused
        again."""
        plan = s.plan
        asked = ranked_asked_values(plan)
        if s.routing and self.settings.use_value_ranking and asked and not s.multi and s.fused:
            # a question asking an amount, a duration or a date: every article of the right regulation shares
            # its words; the candidates stating a value of the asked kind form one more ranking
            # (among the documents the question names, or those of the places it names, when it names any:
            # another document's value answers a question about another document)
            named = set(plan.doc_ids or plan.region_doc_ids)
            candidates = [row for row, _ in s.fused[:s.n] if not named or self.index.chunks[row].doc_id in named]
            rows = value_rows(candidates, self.index.chunks, asked, plan.question)
            if rows:
                _fuse_again(s, self.settings, rows)

    def _term_value_ranking(self, s: _Retrieval) -> None:
        """A question asking an amount of money, a duration or a date (the ``ranked_value_patterns`` among
        ``plan.asked_values`` and ``typed_value_patterns``; not compared; ``use_value_ranking``) adds a ranking
        (weight ``routing_weight``) of the first ``candidate_k`` fused rows whose text states one of the
        question's words as equal to or bounded by a value (``term_value_rows``: "记分周期为十二个月" for
        "记分…一个周期多长"), in fused order; fused again. Why: every article of the right regulation shares
        the question's words and states some value; the one answering says the asked thing *is* the value.
        Only the kinds of ``ranked_value_patterns``: for a bare number (多少家) the target rows of plans'
        tables state no "为", and the ranking lowered bundled dev MRR 0.850 → 0.846."""
        plan = s.plan
        if not (s.routing and self.settings.use_value_ranking and not s.multi and s.fused
                and ranked_asked_values(plan)):
            return
        rows = term_value_rows([row for row, _ in s.fused[:s.n]], self.index.chunks, plan.tokens)
        if rows:
            _fuse_again(s, self.settings, rows)

    def _need_ranking(self, s: _Retrieval) -> None:
        """A question whose asking clause is a part of it (``plan.need``: the need clause, without the
        documents' names, ``NEED_MIN_CHARS`` characters or more and at most ``NEED_SHARE`` of the question;
        with routing) adds a ranking (weight ``NEED_WEIGHT``) of the first ``candidate_k`` fused rows by the
        character-bigram BM25 of that clause, with the pool's statistics (``bigram_ranking``), rows
        scoring 0 left out; fused again.

        Why: a question that first describes the asker ("我在某市要开家两百来平米的小饭馆，不在商场综合体里，") and
        then asks ("开业前一定要去申请消防安全检查吗") is matched on all its words, and the passages sharing the
        description outrank the one answering the ask. On the dev splits R@5 / MRR: bundled 0.948 → 0.949
        / 0.849 → 0.857, x4 0.966 / 0.810 → 0.828, x6 0.870 → 0.891 / 0.862 → 0.870, external_dev 0.962 /
        0.896 → 0.893, x3 0.948 / 0.865 → 0.848, qa2 and x5 unchanged (weights 0.2–0.45 alike; 0.6 lowered x4)."""
        plan = s.plan
        if not (s.routing and plan.need is not None and s.fused):
            return
        need = plan.need.plain_need or plan.need.need
        if len(need) < NEED_MIN_CHARS or len(need) > NEED_SHARE * len(plan.question):
            return
        pool = [row for row, _ in s.fused[:s.n]]
        rows = self.bigram_ranking(need, pool, len(pool))
        if rows:
            _fuse_again(s, self.settings, rows, NEED_WEIGHT)

    def _threshold_ranking(self, s: _Retrieval) -> None:
        """A question stating a quantity of the asker ("我们小区总共才八十多户", "两百来平米的小饭馆";
        ``rag.understand.quantities.stated_quantities``; with routing, not compared) adds a ranking (weight
        ``routing_weight``) of the first ``candidate_k`` fused rows that set a threshold in that unit
        ("户数一百户以下的住宅小区", "三百平方米以下的公众聚集场所"), those whose threshold the quantity meets first
        (``bound_rows``); fused again. Why: whether a rule applies to the asker turns on such thresholds,
        and the question states the quantity, not the threshold's words."""
        if not (s.routing and not s.multi and s.fused):
            return
        from rag.understand.quantities import bound_rows

        rows = bound_rows([row for row, _ in s.fused[:s.n]], self.index.chunks, s.plan.question)
        if rows:
            _fuse_again(s, self.settings, rows)

    def _changed_versions_last(self, s: _Retrieval) -> None:
        """With routing: a question asking what changed between versions of a title
        (``plan.changed_versions``) gets the passages a revision left unchanged after the others, in
        ``order`` and in ``plain`` (``rag.understand.query.changed_first``), and its best passage's counterpart in
        the other version right after it (``_with_counterparts``). On the dev splits R@5: x8 0.926 → 0.944; qa2 MRR
        0.893 → 0.890 (xq-049's anchor at 10 went below); the other sets unchanged."""
        if s.routing and s.plan.changed_versions:  # 修改后有什么变化: passages the versions share come last
            s.order, s.plain = (changed_first(rows, self.index, s.plan.changed_versions) for rows in (s.order, s.plain))
            s.order = self._with_counterparts(s.order, s.plan.changed_versions)
            s.reordered = True

    def _with_counterparts(self, order: list[int], groups: tuple[tuple[str, ...], ...]) -> list[int]:
        """``order`` with, right after each of its first ``COUNTERPART_ROWS`` passages (kind "text", among its first
        ``top_k`` rows) that belongs to a version group,
        that passage's counterpart in the group's other versions — their passage of the largest character-bigram
        Jaccard with it, which a revision changed (not in ``order`` before it). Why: "2024年修正后…改叫什么了"
        is asked in the old text's words; the new text's article states the change in other words."""
        from rag.retrieve.ngrams import bigram_keys

        chunks, arrays = self.index.chunks, self.arrays
        doc_group = {d: g for g in groups for d in g}
        out = list(order)
        passages = [row for row in order[:self.settings.top_k] if row >= 0 and chunks[row].kind == "text"]
        for row in passages[:COUNTERPART_ROWS]:
            doc = chunks[row].doc_id
            if doc not in doc_group:
                continue
            keys = set(bigram_keys(chunks[row].text).tolist())
            best, best_sim = None, 0.0
            for other in doc_group[doc]:
                if other == doc or other not in arrays.position:
                    continue
                for r in arrays.rows_of_doc[arrays.position[other]].tolist():
                    if chunks[r].kind == "text":
                        k2 = set(bigram_keys(chunks[r].text).tolist())
                        sim = len(keys & k2) / max(1, len(keys | k2))
                        if sim > best_sim:
                            best, best_sim = r, sim
            if best is None or best_sim >= 1.0 or best in out[:out.index(row)]:
                continue
            if best in out:
                out.remove(best)
            out.insert(out.index(row) + 1, best)
        return out

    def _comparison_slots(self, s: _Retrieval) -> None:
        """A compared plan (``plan.compare``: two or more documents/regions compared) keeps the global
        top ``PROTECTED_ROWS`` first (the global best alone for an explicit comparison,
        ``is_comparison``) and then gets ``slots_per_scope`` passages of each scope from that scope's
        sub-query (round-robin, ``guarantee_scope_slots``). A penalty question (``plan.asks_penalty``:
        分别会怎么罚) gets, in each scope, the articles citing the scope's best article ("违反本办法第二十五条
        第三款规定的，…") right after it (``add_citing_rows``)."""
        if not s.multi:
            return
        plan = s.plan
        per_scope = []
        for lists, factors in self._scope_lists(s):
            rows = [row for row, _ in reciprocal_rank_fusion(lists, k=self.settings.rrf_k, weights=factors)]
            if plan.asks_penalty:  # 分别会怎么罚: a scope's penalty article right after the article it cites
                rows = add_citing_rows(rows, self.arrays.citations, len(rows), [], ranks=1)
            per_scope.append(rows)
        if not plan.changed_versions:  # a scope's slots hold no passage another version repeats
            per_scope = [self._repeats_last(rows, plan) for rows in per_scope]
        # an explicit comparison (分别, 各自, 有什么不同) keeps the global best; two documents named
        # without comparison words may still ask about one passage, so the global top 2 stay first
        head = s.plain[:1 if is_comparison(plan.question) else PROTECTED_ROWS]
        order = head + [row for row in s.order if row not in head]
        slots = max(1, (self.settings.top_k - 1) // len(per_scope))
        s.order = guarantee_scope_slots(order, per_scope, slots, head=len(head))
        s.reordered = True

    def _scope_lists(self, s: _Retrieval) -> list[tuple[list[list[int]], list[float]]]:
        """For a compared plan: per scope of ``plan.scopes`` (documents/regions, within ``filters``), the
        rankings of the scope's sub-query (``_lists``: BM25, character bigrams, dense) with their RRF weight
        factors, each ranking listing an article's pieces together (``with_article_pieces``: a compared
        place's best article is shown whole); computed on first use and kept in ``s.scope_lists``."""
        if s.scope_lists is None:
            plan, filters = s.plan, s.filters
            s.scope_lists = []
            for scope_plan in plan.scopes:
                ids = tuple(d for d in scope_plan.doc_ids if filters.doc_ids is None or d in filters.doc_ids)
                scope = Filters(doc_ids=ids, region=filters.region, in_force_on=filters.in_force_on)
                lists, s.bm25_all, factors = self._lists(scope_plan.tokens or plan.tokens,
                                                         scope_plan.dense_text or plan.dense_text,
                                                         s.n, scope, s.bm25_all, s.dense_sims)
                s.scope_lists.append(([with_article_pieces(r, s.pieces) for r in lists], list(factors)))
        return s.scope_lists

    def _parallel_rankings(self, s: _Retrieval) -> None:
        """A compared plan (``multi``; not a penalty question, whose scopes follow the articles they cite)
        adds, per scope, a ranking of the scope's first ``candidate_k`` rows (its sub-query's fused order)
        by their similarity to the best row of each other scope — character-bigram BM25 with the pool's
        statistics (``rag.retrieve.ngrams.pool_scores``) of the other scope's best passage as the query,
        scaled to 1 per other scope, the highest kept — weight ``PARALLEL_WEIGHT``, both in the scope's
        rankings (``_comparison_slots``) and in the global ones; fused again.

        Why: a comparison asks the same provision of two places' or documents' texts, and regulations on one
        topic are drafted alike ("公共数据按照开放类型分为无条件开放、有条件开放和非开放三类" against "…按照开放条件分为
        无条件开放、有条件开放和不予开放三类"): a scope's best passage finds its parallel in the other scope
        when the question's own words (叫法, 怎么分类) do not. On the dev splits R@5: x4 0.948 → 0.966, bundled
        0.946 → 0.948; external_dev, qa2, x3, x5, x6 unchanged."""
        if not (s.multi and not s.plan.asks_penalty and s.fused):
            return
        from rag.retrieve.ngrams import pool_scores

        chunks = self.index.chunks
        orders = [[row for row, _ in reciprocal_rank_fusion(lists, k=self.settings.rrf_k, weights=factors)][:s.n]
                  for lists, factors in self._scope_lists(s)]
        added = False
        for i, pool in enumerate(orders):
            exemplars = [order[0] for j, order in enumerate(orders) if j != i and order]
            if not pool or not exemplars:
                continue
            texts = [chunks[row].text for row in pool]
            similarity = np.zeros(len(pool))
            for row in exemplars:
                scores = pool_scores(texts, chunks[row].text)
                if scores.max() > 0:
                    similarity = np.maximum(similarity, scores / scores.max())
            if not similarity.any():
                continue
            parallel = [pool[t] for t in np.argsort(-similarity, kind="stable")]
            lists, factors = s.scope_lists[i]
            lists.append(parallel)
            factors.append(PARALLEL_WEIGHT)
            s.rankings.append(parallel)
            s.weights.append(PARALLEL_WEIGHT)
            added = True
        if added:
            s.fused = reciprocal_rank_fusion(s.rankings, k=self.settings.rrf_k, weights=s.weights, pieces=s.pieces)

    def _document_cards_first(self, s: _Retrieval) -> None:
        """With routing: a question about a document itself (``plan.about_document``) gets the cards of its
        documents (``plan.card_doc_ids``) first — in fused order, then in the version order the question
        asks for (``version_order``)."""
        if s.routing and s.plan.about_document:
            order = s.order
            position = {row: i for i, row in enumerate(order)}
            cards = sorted(self._card_rows(s.plan.card_doc_ids, s.filters), key=lambda r: position.get(r, len(order)))
            preferred = version_order(s.plan.question, [self.index.chunks[r].doc_id for r in cards], self.index.docs)
            cards = sorted(cards, key=lambda r: preferred.index(self.index.chunks[r].doc_id))
            s.order = cards + [row for row in order if row not in cards]
            s.reordered = s.reordered or bool(cards)

    def _repeal_passages_first(self, s: _Retrieval) -> None:
        """With routing: a question about a former text (``plan.repealed``: "以前的《…条例》现在还有效吗")
        gets the passages saying it no longer applies ("…同时废止", ``RepealData.repealed``) first, in
        fused order (those ``filters`` allows)."""
        if not (s.routing and s.plan.repealed):
            return
        from rag.understand.references import RepealData

        repealed = RepealData.of(self.index).repealed
        mask = self._mask(s.filters)
        rows = {r for t in s.plan.repealed for r in repealed.get(t, ()) if mask[r]}
        if rows:
            position = {row: i for i, row in enumerate(s.order)}
            first = sorted(rows, key=lambda r: (position.get(r, len(s.order)), r))
            s.order = first + [row for row in s.order if row not in rows]
            s.reordered = True

    def _protect_global_top_rows(self, s: _Retrieval) -> None:
        """With routing, not compared: unless the question asks about the documents in general, which the
        cards answer (``plan.about_document`` without scopes, ``WHICH_DOCUMENT``: 哪份文件最新), the global
        top ``PROTECTED_ROWS`` are put back into the first ``min(k, top_k)`` places if routing pushed
        them out (``protect_rows``)."""
        plan = s.plan
        if s.routing and not s.multi and not (plan.about_document and not plan.scopes
                                              and WHICH_DOCUMENT.search(plan.question)):
            # (a question about the documents in general — 哪份文件最新 — is answered by the cards)
            protected = protect_rows(s.order, s.plain[:PROTECTED_ROWS], min(s.k, self.settings.top_k))
            s.reordered = s.reordered or protected != s.order
            s.order = protected

    def _no_cards_in_list_answers(self, s: _Retrieval) -> None:
        """With routing: a list question (``plan.wants_list``, not compared, not about a document itself)
        gets no document card (a card lists no items) — in ``order``, nor in ``plain`` (no card is a
        protected global top row in the steps after this one)."""
        if s.routing and s.plan.wants_list and not s.multi and not s.plan.about_document:
            # a list question about the documents' content: a card (title, issuer, period) lists no items
            cards = set(card_rows(self.index).values())
            s.plain = [row for row in s.plain if row not in cards]  # nor as a protected global top row
            if any(row in cards for row in s.order[:s.k]):
                s.order = [row for row in s.order if row not in cards]
                s.reordered = True

    def _citing_penalty_articles(self, s: _Retrieval) -> None:
        """With routing: a question about a penalty (``plan.asks_penalty``, not compared) gets the articles of
        the same regulation that cite the article of one of its first ``CITING_RANKS`` hits
        ("违反本条例第二十一条…的，…处…罚款", ``rag.retrieve.fusion.DocumentCitations``) right after that hit
        (``add_citing_rows``, at most ``MAX_CITING``, the global top 2 kept in the window)."""
        if s.routing and s.plan.asks_penalty and not s.multi:
            # a penalty question: the articles citing a top hit's article ("违反本条例第二十一条…的，…罚款")
            # state the penalty for breaking it — right after that hit
            cited = add_citing_rows(s.order, self.arrays.citations, min(s.k, self.settings.top_k),
                                    s.plain[:PROTECTED_ROWS])
            s.reordered = s.reordered or cited != s.order
            s.order = cited

    def _enumeration_continuations(self, s: _Retrieval) -> None:
        """With routing: a list question (``plan.wants_list``, not compared; ``use_list_continuation``) gets
        the next chunk of the section of a top hit whose enumeration is unfinished right after that hit
        (``add_continuations``, at most ``MAX_CONTINUATIONS``, the global top 2 kept in the window)."""
        if s.routing and self.settings.use_list_continuation and s.plan.wants_list and not s.multi:
            # a list question: an enumeration a top hit leaves unfinished continues in the next chunk
            extended = add_continuations(s.order, self._next_rows(), min(s.k, self.settings.top_k),
                                         s.plain[:PROTECTED_ROWS])
            s.reordered = s.reordered or extended != s.order
            s.order = extended

    def _section_outline(self, s: _Retrieval) -> None:
        """With routing: a list question (``plan.wants_list``, not compared; ``use_outlines``; ``k`` ≥
        ``OUTLINE_RANK``) whose first hits lie in two or more sub-sections of one section gets that
        section's outline (its sub-headings with their first sentences, ``merge_outline``) in place
        ``OUTLINE_RANK`` (3) — behind an enumeration continuation that directly follows its head —
        pushing the last hit that is not a global top row out of the top ``k``. Sets ``outline``; its
        place in ``order`` is ``_OUTLINE``."""
        if s.routing and self.settings.use_outlines and s.plan.wants_list and not s.multi and s.k >= OUTLINE_RANK:
            # a list question whose top hits spread over the sub-sections of one section: that
            # section's sub-headings are the items (auto-merging into the parent's outline), placed
            # behind the first two hits; the global top rows stay in the window
            order = s.order
            s.outline = merge_outline([self.index.chunks[row] for row in order[:OUTLINE_DEPTH]],
                                      outline_chunks(self.index), rrf_k=self.settings.rrf_k)
            if s.outline is not None:
                at = OUTLINE_RANK - 1
                if self.settings.use_list_continuation:
                    # an enumeration's continuation stays directly behind the chunk it continues
                    following = self._next_rows()
                    while at < len(order) and following.get(order[at - 1]) == order[at]:
                        at += 1
                s.order = protect_rows(order[:at] + [_OUTLINE] + order[at:],
                                       s.plain[:PROTECTED_ROWS], min(s.k, self.settings.top_k))
                s.reordered = True

    def _version_repeats_last(self, s: _Retrieval) -> None:
        """With routing, unless the question asks what changed between versions (``plan.changed_versions``): a
        passage that repeats one ranked before it from another version of the same document (same title,
        another document: the 2021 and the 2024 text of one 条例, article renumbered) goes to the end of
        ``order`` (``_repeats_last``), so the top ``k`` shows distinct passages, the copy of the version the
        question asks for first. On the dev splits R@5: x7 0.946 → 0.964 (a comparison of two cities, one
        with two versions, whose first two slots held the same article twice), x4 MRR 0.862 → 0.868; the
        other sets unchanged. Also applied to a comparison's per-scope rankings (``_comparison_slots``)."""
        if s.routing and not s.plan.changed_versions:
            new = self._repeats_last(s.order, s.plan)
            if new != s.order:
                s.order, s.reordered = new, True

    def _repeats_last(self, rows: list[int], plan: QueryPlan) -> list[int]:
        """``rows`` (chunk rows; ``_OUTLINE`` kept in place) with every row that repeats an earlier row of another
        version of the same document — same title, another document id, character-bigram Jaccard of the texts
        without their 第…章/条 labels ≥ ``REPEAT_JACCARD`` — moved to the end, in their order. Which copy keeps
        the first place: a copy of a version ``plan`` asks for replaces one of ``plan.other_versions``
        ("2010年的…规定" asks the 2010 text); when ``other_versions`` says nothing and the question does not
        ask for an earlier version (``asks_earlier_version``), a word-for-word copy (same bigrams) of the latest
        version (``DocumentMeta.date``, else ``effective_date``; ISO strings compared) replaces an older one.
        Time ~ len(rows) × the kept rows of the same title."""
        from rag.retrieve.ngrams import bigram_keys

        other = set(plan.other_versions)
        newest = not other and not asks_earlier_version(plan.question)
        chunks, docs = self.index.chunks, self.index.docs
        kept, later, seen = [], [], []  # seen: [title, doc id, bigram keys, place in kept]
        for row in rows:
            if row < 0:
                kept.append(row)
                continue
            chunk = chunks[row]
            title = docs[chunk.doc_id].title
            keys = set(bigram_keys(_ARTICLE_LABEL.sub("", chunk.text)).tolist())
            first = next((entry for entry in seen if entry[0] == title and entry[1] != chunk.doc_id and keys
                          and len(keys & entry[2]) / len(keys | entry[2]) >= REPEAT_JACCARD), None)
            if first is None:
                seen.append([title, chunk.doc_id, keys, len(kept)])
                kept.append(row)
            elif ((first[1] in other and chunk.doc_id not in other)
                  or (newest and keys == first[2] and _version_date(docs[chunk.doc_id]) > _version_date(docs[first[1]]))):
                later.append(kept[first[3]])  # the preferred version's copy takes the first copy's place
                kept[first[3]] = row
                first[1] = chunk.doc_id
            else:
                later.append(row)
        return kept + later

    def _hits(self, s: _Retrieval) -> list[Hit]:
        """The first ``k`` rows of ``order`` as hits: ``scores`` holds the fused score (``rrf``, 0 for a row
        fusion did not rank), the row's BM25 score and its cosine similarity when a dense ranking gave
        one; ``score`` is 1/(k_rrf + rank) when the order was changed after fusion, else the fused
        score. The outline's hit has no scores."""
        rrf = dict(s.fused)
        hits = []
        for rank, row in enumerate(s.order[:s.k], start=1):
            if row == _OUTLINE:
                hits.append(Hit(rank, 1.0 / (self.settings.rrf_k + rank), s.outline,
                                self.index.docs[s.outline.doc_id].title, {}))
                continue
            chunk = self.index.chunks[row]
            scores = {"rrf": rrf.get(row, 0.0)}
            if s.bm25_all is not None:
                scores["bm25"] = float(s.bm25_all[row])
            if row in s.dense_sims:
                scores["dense"] = s.dense_sims[row]
            score = 1.0 / (self.settings.rrf_k + rank) if s.reordered else scores["rrf"]
            hits.append(Hit(rank, score, chunk, self.index.docs[chunk.doc_id].title, scores))
        return hits


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


# a passage opening an enumeration: a colon, then its first item — （一）, 一、, 1. or ① — right after or on the next line
ENUMERATION_HEAD = re.compile(r"[：:]\s*(?:[（(]一[）)]|一、|1[.、．]|①)")
LIST_ASK = re.compile(r"哪些|哪[几两二三四五六七八九十]")  # asks which items (哪些情形, 哪几类)
NEED_WEIGHT = 0.3  # RRF weight of the asking clause's ranking of the fused candidates (HybridRetriever._need_ranking)
NEED_SHARE = 0.8  # an asking clause longer than this share of the question is the question: no ranking of its own
NEED_MIN_CHARS = 4  # a shorter asking clause (多少钱？) says too little to rank by
COUNTERPART_ROWS = 1  # top rows of a what-changed question that get their other version's passage right after them
REPEAT_JACCARD = 0.9  # character-bigram Jaccard at which another version's passage repeats one already ranked
_ARTICLE_LABEL = re.compile(r"第[零〇一二三四五六七八九十百千\d]+[章节条款]")
PARALLEL_WEIGHT = 1.0  # RRF weight of a compared scope's parallel-passage ranking (0.5, 1 and 2 on dev: same R@5)
ENUMERATION_WEIGHT = 0.5  # share of routing_weight the enumerating rows' ranking gets (0.5 and 1 on dev: same R@5)
BIGRAM_POOL = 100  # word-BM25 candidates a query's character-bigram ranking reorders (rag.retrieve.ngrams)
SCORES_CACHE = 16  # token lists whose BM25 score arrays a retriever keeps
SMALL_DOC_FILTER = 64  # a filter naming at most this many documents is answered from their rows
DENSE_EXACT_ROWS = 8192  # a filter allowing at most this many chunks is searched exactly (RowVectors)


def _fuse_again(s: _Retrieval, settings: Settings, ranking: list[int], weight: float | None = None) -> None:
    """Add ``ranking`` (rows, best first) with ``weight`` (default ``Settings.routing_weight``) to the rankings of ``s`` and
    fuse them again (``HybridRetriever._fuse``'s fusion, the pieces of an article as one unit): the end of
    every step adding a ranking that the fused order suggests (a list question's section, the passages
    stating an asked value)."""
    s.rankings.append(ranking)
    s.weights.append(settings.routing_weight if weight is None else weight)
    s.fused = reciprocal_rank_fusion(s.rankings, k=settings.rrf_k, weights=s.weights, pieces=s.pieces)


def _version_date(meta) -> str:
    """A document's date for ordering versions of one title: its issued date, else its 施行 date, else ""."""
    return meta.date or meta.effective_date or ""


def dense_fusion_weight(settings: Settings) -> float:
    """The reciprocal-rank-fusion weight of the dense ranking beside BM25's 1 in hybrid retrieval:
    ``Settings.dense_weight`` when set, else the weight the embedder was registered with
    (``rag.index.embeddings.EmbedderSpec.fusion_weight``: ``rag.settings.LSA_DENSE_WEIGHT`` = 0 for the offline
    LSA, 1 for an embedding model — a registered custom embedder says its own). Raises ConfigError for an
    embedder name that is not registered."""
    from rag.index.embeddings import embedder_spec

    if settings.dense_weight is not None:
        return settings.dense_weight
    return embedder_spec(settings.embeddings).fusion_weight


_OUTLINE = -1  # the merged outline's place in a row order (it has no row: outlines are not indexed)
WHICH_DOCUMENT = re.compile(r"哪(?:一|几)?[份个些部](?:文件|规划|方案|意见|政策)?|几份")  # asks which document

