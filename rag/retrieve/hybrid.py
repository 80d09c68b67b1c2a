"""Hybrid retrieval: BM25 over jieba words, the same candidates by character bigrams, and dense (Chroma),
fused by reciprocal rank fusion.

``HybridRetriever.retrieve(question, k, filters)`` → list of ``Hit`` (length ≤ k, rank 1 first).
Modes (``Settings.retrieval_mode``): "hybrid" (default), "bm25", "dense".
Reciprocal rank fusion: score(d) = Σ_r 1 / (k_rrf + rank_r(d)), k_rrf = 60 (Cormack, Clarke &
Büttcher, SIGIR 2009). The merge helpers live in ``rag.retrieve.fusion`` (fusion, protected rows, scope slots)
and ``rag.retrieve.lists`` (a list question's section and enumeration continuations); their names are
importable from here too (``from rag.retrieve.hybrid import protect_rows`` keeps working).

This module holds ``Filters``, the retriever's index access (filter masks and rows, BM25, character bigrams,
dense search, ``_lists``), ``retrieve`` (the order of its steps) and the core steps: the candidate rankings
(``_scope_rankings``, ``_dominant_match``, ``_named_section_ranking``), fusion (``_fuse``), document cards and
repeals first, the global top rows kept, and the hits (``_hits``). The other steps are mixins
``HybridRetriever`` inherits: ``rag.retrieve.comparison.ComparisonSteps`` (comparisons and versions) and
``rag.retrieve.list_value_steps.ListValueSteps`` (list questions, asked values, the asking clause, thresholds,
penalty articles, continuations, outlines); the state the steps pass on is ``rag.retrieve.state._Retrieval``.
Their names (``_Retrieval``, ``ENUMERATION_HEAD``, ``REPEAT_JACCARD``, …) are importable from here too; a
constant a step reads is patched on the step's module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from rag.retrieve.fusion import (PROTECTED_ROWS, add_citing_rows, article_pieces, guarantee_scope_slots,  # noqa: F401
                        protect_rows, reciprocal_rank_fusion, with_article_pieces)
from rag.index.store import LoadedIndex, card_rows
from rag.retrieve.arrays import MASK_CACHE, BoundedMap, index_arrays, top_rows
from rag.understand.meta_questions import asks_earlier_version, version_order  # noqa: F401
from rag.retrieve.lists import (OUTLINE_DEPTH, OUTLINE_RANK, add_continuations,  # noqa: F401
                       continuation_rows, list_section_rows, merge_outline, outline_chunks)
from rag.understand.query import (QueryPlan, changed_first, dominant_match, is_comparison, plan_query,  # noqa: F401
                       prepare_index, routing_rankings)
from rag.understand.scopes import applies_in
from rag.retrieve.values import ranked_asked_values, term_value_rows, value_rows  # noqa: F401
from rag.settings import Settings
from rag.types import Chunk, Hit  # noqa: F401
from rag.retrieve.filters import NO_FILTERS, Filters  # noqa: F401
from rag.retrieve.state import _OUTLINE, _Retrieval, _fuse_again  # noqa: F401
from rag.retrieve.comparison import (COUNTERPART_ROWS, PARALLEL_WEIGHT, REPEAT_JACCARD,  # noqa: F401
                                     _ARTICLE_LABEL, ComparisonSteps, _version_date)
from rag.retrieve.list_value_steps import (ENUMERATION_HEAD, ENUMERATION_WEIGHT, LIST_ASK,  # noqa: F401
                                           NEED_MIN_CHARS, NEED_SHARE, NEED_WEIGHT, ListValueSteps)




class HybridRetriever(ComparisonSteps, ListValueSteps):
    """BM25 + dense retrieval over a loaded index, fused by RRF, with metadata filters.

    Query planning (``rag.understand.query``) adds policy-concept synonyms to the lexical query and, when the
    question names documents, retrieves within each named document too so that every named document
    is represented (cross-document questions).

    The steps of ``retrieve`` on comparisons and versions come from ``ComparisonSteps`` (``rag.retrieve.comparison``),
    those on list questions, asked values, the asking clause, thresholds and penalty articles from
    ``ListValueSteps`` (``rag.retrieve.list_value_steps``).
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
          section's outline (``_section_outline``), another version's repeats last (``_version_repeats_last``), a
          passage for each coordinated item the question asks about (``_aspect_slots``), the passages of
          other places' local rules last (``_other_jurisdictions_last``).

        Each step is one method (below or in the mixins ``ComparisonSteps`` and ``ListValueSteps``, in the
        same order) whose docstring states its rule and when it applies; they pass one ``_Retrieval`` on,
        and ``_hits`` turns its rows into hits.

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
        self._aspect_slots(state)
        self._other_jurisdictions_last(state)
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

    def _other_jurisdictions_last(self, s: _Retrieval) -> None:
        """With routing, for a question naming places and comparing nothing (``plan.regions``, not
        ``plan.compare``): the passages of local documents that do not apply there — another city's or
        province's rules (``applies_in``: a place's own, its province's and, for a province, its cities'
        documents apply; a national text, no region or 全国, applies everywhere) — go after the others,
        in their order, unless the question names their document (``plan.doc_ids``). Why: in a library of
        thousands of regulations the top passages for "上海新建住宅小区的物业管理用房面积有什么硬性标准" were
        绍兴's, 山东's and 聊城's rules, which say nothing about 上海. lawref dev questions on the whole
        LawRefBook (3,450 documents): R@5 external 0.903 → 0.924, qa2 0.961 → 0.974, x8 0.870 → 0.907, the
        other five sets unchanged; on the dev corpora x4 0.983 → 1.000, the other eight unchanged."""
        plan = s.plan
        if not (s.routing and plan.regions and not plan.compare):
            return
        docs, chunks, named = self.index.docs, self.index.chunks, set(plan.doc_ids)
        applies: dict[str, bool] = {}

        def applying(row: int) -> bool:
            if row < 0:  # the section outline
                return True
            doc = chunks[row].doc_id
            if doc not in applies:
                applies[doc] = doc in named or applies_in(docs[doc].region, plan.regions)
            return applies[doc]

        flags = [applying(row) for row in s.order]
        if all(flags):
            return
        s.order = [r for r, ok in zip(s.order, flags) if ok] + [r for r, ok in zip(s.order, flags) if not ok]
        s.reordered = True

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


BIGRAM_POOL = 100  # word-BM25 candidates a query's character-bigram ranking reorders (rag.retrieve.ngrams)
SCORES_CACHE = 16  # token lists whose BM25 score arrays a retriever keeps
SMALL_DOC_FILTER = 64  # a filter naming at most this many documents is answered from their rows
DENSE_EXACT_ROWS = 8192  # a filter allowing at most this many chunks is searched exactly (RowVectors)


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


WHICH_DOCUMENT = re.compile(r"哪(?:一|几)?[份个些部](?:文件|规划|方案|意见|政策)?|几份")  # asks which document

