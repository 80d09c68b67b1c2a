"""The comparison and version steps of ``HybridRetriever.retrieve`` (``rag.retrieve.hybrid``), as the mixin
``ComparisonSteps`` the retriever inherits.

A compared plan (two or more documents/regions): the rankings of each scope's sub-query (``_scope_lists``),
each scope's passages parallel to another scope's best (``_parallel_rankings``, weight ``PARALLEL_WEIGHT``) and
the slots per scope (``_comparison_slots``). A question asking what changed between versions: the passages a
revision left unchanged last and the best passage's counterpart in the other version right after it
(``_changed_versions_last``, ``_with_counterparts``, ``COUNTERPART_ROWS`` passages). Any other question: a
passage that another version of the same document repeats (character-bigram Jaccard ≥ ``REPEAT_JACCARD``) shown
once (``_version_repeats_last``, ``_repeats_last``). ``retrieve`` calls the steps in its order; their
constants are read here (``rag.retrieve.hybrid`` re-exports them: patch them on this module)."""

from __future__ import annotations

import re

import numpy as np

from rag.retrieve.fusion import (PROTECTED_ROWS, add_citing_rows, guarantee_scope_slots, reciprocal_rank_fusion,
                                 with_article_pieces)
from rag.retrieve.filters import Filters
from rag.retrieve.state import _Retrieval
from rag.understand.meta_questions import asks_earlier_version
from rag.understand.query import QueryPlan, changed_first, is_comparison

COUNTERPART_ROWS = 1  # top rows of a what-changed question that get their other version's passage right after them
REPEAT_JACCARD = 0.9  # character-bigram Jaccard at which another version's passage repeats one already ranked
_ARTICLE_LABEL = re.compile(r"第[零〇一二三四五六七八九十百千\d]+[章节条款]")
PARALLEL_WEIGHT = 1.0  # RRF weight of a compared scope's parallel-passage ranking (0.5, 1 and 2 on dev: same R@5)


class ComparisonSteps:
    """The comparison and version steps of ``HybridRetriever.retrieve`` — a mixin: ``HybridRetriever`` inherits
    it, and its methods use the retriever's ``self.index`` (``LoadedIndex``: chunks, documents),
    ``self.settings`` (``Settings``), ``self.arrays`` (``IndexArrays``: rows per document, citations) and
    ``self._lists`` (a scope's BM25, bigram and dense rankings). Each step takes the call's ``_Retrieval``
    (``rag.retrieve.state``) and updates it in place. A scope's ``Filters`` comes from
    ``rag.retrieve.filters``."""

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


def _version_date(meta) -> str:
    """A document's date for ordering versions of one title: its issued date, else its 施行 date, else ""."""
    return meta.date or meta.effective_date or ""
