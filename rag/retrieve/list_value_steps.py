"""The list, value and asking-clause steps of ``HybridRetriever.retrieve`` (``rag.retrieve.hybrid``), as the
mixin ``ListValueSteps`` the retriever inherits.

After fusion, the rankings the fused order suggests: a list question's section (``_list_section_ranking``),
the passages opening an enumeration (``_enumeration_ranking``, ``ENUMERATION_HEAD``, ``LIST_ASK``, weight
``ENUMERATION_WEIGHT``), the passages stating an asked value (``_asked_value_ranking``) or a question word as a
value (``_term_value_ranking``), the candidates by the question's asking clause (``_need_ranking``,
``NEED_WEIGHT``, ``NEED_SHARE``, ``NEED_MIN_CHARS``) and those setting a threshold in a unit of the asker's
quantities (``_threshold_ranking``). Then the late reorderings: no document card in a list answer
(``_no_cards_in_list_answers``), penalty articles after the article they cite (``_citing_penalty_articles``),
enumeration continuations (``_enumeration_continuations``), a section's outline (``_section_outline``) and,
after the version repeats, a passage for each coordinated item the question asks about (``_aspect_slots``).
``retrieve`` calls the steps in its order; their constants are read here (``rag.retrieve.hybrid`` re-exports
them: patch them on this module). The helpers they call live in ``rag.retrieve.lists``,
``rag.retrieve.values``, ``rag.retrieve.fusion`` and ``rag.understand.quantities``."""

from __future__ import annotations

import re

from rag.index.store import card_rows
from rag.retrieve.fusion import PROTECTED_ROWS, add_citing_rows, protect_rows
from rag.retrieve.lists import (OUTLINE_DEPTH, OUTLINE_RANK, add_continuations, list_section_rows, merge_outline,
                                outline_chunks)
from rag.retrieve.state import _OUTLINE, _fuse_again, _Retrieval
from rag.retrieve.values import ranked_asked_values, term_value_rows, value_rows
from rag.understand.aspects import EACH, PassageTexts, coordinated_items, names_item

# a passage opening an enumeration: a colon, then its first item — （一）, 一、, 1. or ① — right after or on the next line
ENUMERATION_HEAD = re.compile(r"[：:]\s*(?:[（(]一[）)]|一、|1[.、．]|①)")
LIST_ASK = re.compile(r"哪些|哪[几两二三四五六七八九十]")  # asks which items (哪些情形, 哪几类)
NEED_WEIGHT = 0.3  # RRF weight of the asking clause's ranking of the fused candidates (HybridRetriever._need_ranking)
NEED_SHARE = 0.8  # an asking clause longer than this share of the question is the question: no ranking of its own
NEED_MIN_CHARS = 4  # a shorter asking clause (多少钱？) says too little to rank by
ENUMERATION_WEIGHT = 0.5  # share of routing_weight the enumerating rows' ranking gets (0.5 and 1 on dev: same R@5)


class ListValueSteps:
    """The list, value and asking-clause steps of ``HybridRetriever.retrieve`` — a mixin: ``HybridRetriever``
    inherits it, and its methods use the retriever's ``self.index`` (``LoadedIndex``: chunks, documents),
    ``self.settings`` (``Settings``), ``self.arrays`` (``IndexArrays``: rows per document, citations),
    ``self._mask`` (the rows a filter allows), ``self._next_rows`` (enumeration continuations) and
    ``self.bigram_ranking`` (a pool reordered by character bigrams). Each step takes the call's ``_Retrieval``
    (``rag.retrieve.state``) and updates it in place."""

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
        ``OUTLINE_RANK``) whose first hit opens a section with sub-sections, or whose first hits lie in two or
        more sub-sections of one section, gets that
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

    def _aspect_slots(self, s: _Retrieval) -> None:
        """With routing, not compared, not about a document itself: a question asking the same thing of
        coordinated items ("中心城区、城市新区、郊区新城各定了什么功能", ``rag.understand.aspects.coordinated_items``
        over the first ``n`` rows of ``order``) keeps, for each item, the best-ranked of those rows that names it
        on its own (``names_item``: a passage listing the items together names none of them) inside the first
        ``min(k, top_k)`` places, together with the global top rows (``protect_rows``; nothing moves when they
        are all there already): explicit diversification over the aspects the question states (xQuAD, PM2)."""
        plan = s.plan
        if not (s.routing and not s.multi and not plan.about_document and EACH.search(plan.question)):
            return
        pool = [row for row in s.order[:s.n] if row != _OUTLINE]
        written = PassageTexts(self.index.chunks[row].text for row in pool)
        items = coordinated_items(plan.question, written)
        if not items:
            return
        # each item's best-ranked passage naming it on its own (one already in the window stays there)
        chosen = [next((row for row, t in zip(pool, written.texts) if names_item(t, item, items)), None)
                  for item in items]
        protected = list(dict.fromkeys(s.plain[:PROTECTED_ROWS] + [row for row in chosen if row is not None]))
        order = protect_rows(s.order, protected, min(s.k, self.settings.top_k))
        s.reordered = s.reordered or order != s.order
        s.order = order
