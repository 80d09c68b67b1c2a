"""Extractive answering (no LLM): the best source sentences verbatim, each with its citation.

Every sentence of the retrieved passages is scored against the question (``score_sentences``; the score
is described in ``rag.answer.scoring``).

The answer is composed from these sentences re-ranked by ``answer_order`` (the refusal rules read
``score_sentences``' own order): a question asking for a value (an amount 罚多少, a duration 多长时间内, a
number, an organisation) prefers sentences stating it (+``VALUE_BONUS``) and quotes a value clause
together with the lead clause of its article paragraph ("…的，由…责令改正；拒不改正的，处…罚款。",
``value_units``); a compound word of the asker's self-description counts by its parts (``term_subwords``).

A question scoped to a place (a question term names the region of some retrieved documents) is answered
from the documents applying there when they hold a question term (``scoped_order``).

Sentences inside instruction-like text (``rag.injection.instruction_spans``: “忽略以上所有指令…”) are
never candidates. Whether to answer at all is decided by ``rag.answer.refusal.check_refusal`` (evidence coverage and the
question's information need).

This module holds the entry points and their orchestration: ``answer_order`` and ``compose`` (with
``_sentence_rows``, the chosen sentences as answer lines). The parts are ``rag.answer.scoring`` (candidate
sentences and their scores, ``ScoredSentence``, value units, sub-words), ``rag.answer.selection`` (which
sentences an answer quotes, place-scoped order, heading lines), ``rag.answer.enumerations`` (list answers:
enumerations, numbered-list heads, outline items) and ``rag.answer.render`` (answer text and citations,
table cells). Their names, and those this module imported before the split, are importable from here too
(``from rag.answer.extractive import score_sentences`` keeps working); a constant or function a part reads
is patched on the part's module.
"""

from __future__ import annotations

from dataclasses import replace

from rag.answer.focus import _table_header  # noqa: F401  (re-exported)
from rag.injection import inside, instruction_spans  # noqa: F401  (re-exported)
from rag.retrieve.lists import is_label
from rag.answer.meta_answers import metadata_answer, repeal_statement  # noqa: F401  (re-exported)
from rag.understand.need import _QUANTITIES, _YES_NO, need_analysis, question_parts  # noqa: F401  (re-exported)
from rag.text import normalize, split_sentences  # noqa: F401  (split_sentences re-exported)
from rag.understand.quantities import stated_bounds, stated_quantities  # noqa: F401  (re-exported)
from rag.types import Citation, Hit  # noqa: F401  (Hit re-exported)
from rag.answer.scoring import (ASKS_DATE, ASKS_HEADING, ASKS_LIST, ASKS_NUMBER,  # noqa: F401  (re-exported)
                                HAS_DATE, HAS_NUMBER, MAX_SENTENCE_CHARS, UNIT_MAX_CHARS, VALUE_BONUS,
                                _COMMON_ENDINGS, _HEADING_NUMBER, _REFERENCE, _VALUE_SCORED, ScoredSentence,
                                _bigrams, _found_terms, _label_run, _names_nothing, _quantity_terms,
                                score_sentences, states_value, term_subwords, value_units)
from rag.answer.selection import (COMPLEMENT_SCORE, COMPLEMENT_TERMS, COUNTERPART_SIM,  # noqa: F401  (re-exported)
                                  PART_COVERAGE, PART_SCORE, VALUE_NEIGHBOUR, _ARTICLE_NUMBER, _PART_HEADING,
                                  _answer_parts, _complement, _counterpart, _is_title, _pick, _region_names,
                                  _same_line, aspect_sentences, is_heading, scope_regions, scoped_order)
from rag.answer.enumerations import (ITEM_CONTENT, ITEM_SUPPLEMENT, LIST_HEAD_ITEM_BONUS,  # noqa: F401  (re-exported)
                                     LIST_SECTION_MATCH, _asks_more, _continuation, _head_items, _item_content,
                                     _list_head, _numbered_run, _starts_line, asks_section_items, outline_items)
from rag.answer.render import (_CLOSED, _MARKER, _SERIAL, _VALUE_CELL, _doc_range, _render,  # noqa: F401  (re-exported)
                               _trim_overlap, align_header, doc_label, merge_citations, section_label,
                               table_cells)


SUBWORD_SHARE = 0.5  # a question term's sub-word found in a sentence counts with this share of the sub-word's weight


def answer_order(question: str, sentences: list[ScoredSentence], terms: dict[str, float],
                 alternatives: dict[str, tuple[str, ...]] | None = None,
                 subwords: dict[str, dict[str, float]] | None = None, plan=None) -> list[ScoredSentence]:
    """The sentences ``compose`` answers from: ``score_sentences``'s list (which the refusal rules read)
    re-ranked for answering — heading lines left out (``is_heading``) unless the question asks for a heading
    (``ASKS_HEADING``: 哪一章, 章节, 叫什么) —, a question term no retrieved passage holds whose sub-word the sentence holds
    (``subwords``: term → {sub-word: idf weight}, "海洋生物" → 海洋, 生物: a company's own compound word) adds
    ``SUBWORD_SHARE`` of the best such sub-word's weight to the score, as a share of the question's term
    weight; then asked values with the lead clause of their article (``value_units``). ``plan``: the
    QueryPlan (its need analysis is used when it is of ``question``) or None."""
    if not ASKS_HEADING.search(question):  # a heading line answers nothing asked, unless a heading is asked for
        sentences = [s for s in sentences if not is_heading(s)] or sentences
    texts = [normalize(h.chunk.text).lower() for h in {s.hit.chunk.chunk_id: s.hit for s in sentences}.values()]
    subwords = {t: subs for t, subs in (subwords or {}).items() if not any(t in x for x in texts)}
    if subwords:
        total = sum(terms.values()) or 1.0
        out = []
        for s in sentences:
            sent = normalize(s.text).lower()
            extra = sum(max((w for sub, w in subwords.get(t, {}).items() if sub in sent), default=0.0)
                        for t in terms if t in subwords and t not in sent)
            out.append(replace(s, score=s.score + SUBWORD_SHARE * extra / total) if extra else s)
        sentences = sorted(out, key=lambda x: -x.score)
    return value_units(question, sentences, terms, alternatives, plan)


def _repeats(s: ScoredSentence, quoted: list[ScoredSentence]) -> bool:
    """``s`` is already quoted: its normalised text lies inside one of ``quoted`` (overlapping chunks
    repeat a sentence; an enumeration can be reached from two chosen sentences)."""
    key = normalize(s.text)
    return any(key in normalize(o.text) for o in quoted)


def compose(sentences: list[ScoredSentence], max_sentences: int = 3, groups: dict[str, set[str]] | None = None,
            docs: dict | None = None, label_sections: bool = False,
            wants_list: bool = False, items: list[ScoredSentence] | None = None,
            terms: dict[str, float] | None = None, aspects: tuple[str, ...] = ()) -> tuple[str, list[Citation]]:
    """Answer text of verbatim sentences with ``[n]`` markers, and the numbered citations.

    Picks the best sentence and up to ``max_sentences - 1`` more scoring ≥ 85 % of it, skipping
    sentences already contained in a chosen one (chunks overlap by one sentence, so the same sentence
    can come from two chunks), then fills the remaining places with sentences scoring ≥ 70 % that hold
    question ``terms`` no chosen sentence holds (``_complement``); a document's title line is never
    chosen (``_is_title``) unless nothing else is there; citation numbers follow first use. Without
    ``groups``, a question whose terms name the region of some documents keeps the sentences of the documents
    applying there (``scoped_order``; ``docs`` = index.docs).
    ``groups`` (cross-document questions: group name → document ids, e.g. one group per named
    document or region): up to two sentences per group (the second also by ``_complement``), plus the best sentence of each other document
    of the group scoring ≥ 85 % of the group's best, each labelled by its document (``doc_label``;
    ``docs`` = index.docs), at most 6 lines. ``label_sections``: prefix each sentence
    with the innermost heading of its section in 【】 (the field a company's activity falls under).
    ``wants_list`` (a list question): a chosen label or "…：" sentence is followed on its line by the
    rest of its enumeration (``_continuation``, also from the next chunk of the section; after a "…：" head
    of numbered items, the items only), and unless a chosen sentence already heads a run of labels, the
    best enumerating sentence not chosen (≥ 3 items with 、, a label heading ≥ 2 labels, or a "…：" sentence
    heading ≥ 2 numbered lines — "主要用于下列事项：" + "（一）…" —, its score raised by
    ``LIST_HEAD_ITEM_BONUS`` per item; with its run) scoring ≥ 60 % of the best is added; the items
    of an enumeration are shown one per line ("- item[n]").
    A chosen bare item of a numbered list ("（七）…；") is shown on its line after the "…：" sentence it
    completes (``_list_head``) in a comparison or an answer that is no list (a list answer quotes the
    whole list from its head).
    ``items`` (``outline_items``: the sub-sections of the section a list question names): the answer is
    the list of them, one per line, each with the document's own number ("- （一）前沿生物[1]", "- 1.电子信息[1]"; "1. "
    before an item without one), followed by the best sentence when it answers
    question ``terms`` (term → idf weight) that neither the items nor the section heading hold — it
    asks for more than the items' names; then each item also shows the sentence of its own passage
    that holds what is asked (``_item_content``: "- （二）先进能源：深入贯彻国家能源安全战略…[2]"), and
    the best sentences follow as for any list question. ``aspects`` (the coordinated items a question asks about
    one by one, ``rag.understand.aspects.coordinated_items``; not with ``groups``): the best sentence naming each
    item on its own comes first, in the items' order, and a sentence only listing the items together is
    dropped (``aspect_sentences``). A one-sentence line that is a table row is shown as
    header/cell pairs (``table_cells``).
    Text already quoted is not repeated (overlapping chunks), citations whose quotes contain one another
    are merged (``merge_citations``). Labels are ours; the sentences and quotes are verbatim.
    """
    sentences = [s for s in sentences if not _is_title(s)] or sentences  # a title line answers nothing asked
    if not groups:  # a question scoped to a place: its documents' sentences first
        sentences = scoped_order(sentences, terms or {}, docs or {})
    if items:
        # an item keeps the document's own number ("1.电子信息", "（一）前沿生物"); only an unnumbered one gets ours
        rows = [("- " if _HEADING_NUMBER.match(it.text) else f"{i}. ", [it]) for i, it in enumerate(items, start=1)]
        if _asks_more(items, sentences, terms or {}):  # the question asks what the items say, not their names
            rows = [(prefix, [it, *_item_content(it, items, terms or {})]) for prefix, (it,) in rows]
            rows += _sentence_rows([s for s in sentences if s.hit.chunk.kind != "outline"], max_sentences, None, True,
                                   terms)
        return _render(rows, None, docs, False)
    if not sentences:
        return "", []
    return _render(_sentence_rows(sentences, max_sentences, groups, wants_list, terms, aspects), groups, docs,
                   label_sections)


def _sentence_rows(sentences: list[ScoredSentence], max_sentences: int, groups: dict[str, set[str]] | None,
                   wants_list: bool, terms: dict[str, float] | None = None,
                   aspects: tuple[str, ...] = ()) -> list[tuple[str, list[ScoredSentence]]]:
    """The chosen sentences of ``compose`` as (prefix, sentences) answer lines."""
    if not sentences:
        return []
    chosen: list[ScoredSentence] = []
    if groups:
        members = {name: [s for s in sentences if s.hit.chunk.doc_id in doc_ids] for name, doc_ids in groups.items()}
        top = max((g[0].score for g in members.values() if g), default=0.0)
        ranked = sorted((name for name in groups if members[name]), key=lambda n: -members[n][0].score)
        shown = set(ranked)
        if len(ranked) > GROUP_LINES:  # more groups than the answer has lines: the best ones
            shown = {name for name in ranked[:GROUP_LINES // 2] if members[name][0].score >= GROUP_MIN * top}
            shown |= set(ranked[:2])
        per_group: dict[str, list[ScoredSentence]] = {}
        for name in (n for n in groups if n in shown):
            group = members[name]
            picked = _pick(group, 2, chosen)
            for s in group:  # the best sentence of each other document of the group, when nearly as good
                if picked and s.score >= 0.85 * picked[0].score and all(
                        s.hit.chunk.doc_id != p.hit.chunk.doc_id for p in picked):
                    picked += _pick([s], 1, chosen + picked)
            if len(picked) < 2:
                picked += _complement(group, picked, chosen + picked, terms or {}, 2 - len(picked))
            per_group[name] = picked
            chosen += picked
        for name, picked in per_group.items():  # each compared provision with its counterpart in the others
            for other, theirs in per_group.items():
                if other == name or not theirs:
                    continue
                twin = _counterpart(theirs[0], members[name], chosen)
                if twin is not None:
                    picked.append(twin)
                    chosen.append(twin)
        chosen = [s for picked in per_group.values() for s in picked][:GROUP_LINES]
    if not chosen:
        chosen = _pick(sentences, max_sentences, [])
        chosen += _complement(sentences, chosen, chosen, terms or {}, max_sentences - len(chosen))
        chosen += _answer_parts(sentences, chosen)
        if aspects:
            chosen = aspect_sentences(sentences, aspects, chosen)
    hits = list({s.hit.chunk.chunk_id: s.hit for s in sentences}.values())
    if wants_list and not groups:  # an item of a numbered list answers with the whole list, from its head
        heads: list[ScoredSentence] = []
        for s in chosen:
            head = _list_head(s)
            if head is None:
                heads.append(s)
            elif not any(h.hit.chunk.chunk_id == head.hit.chunk.chunk_id and h.start == head.start for h in heads):
                heads.append(head)
        chosen = heads
    lines: list[list[ScoredSentence]] = []
    paired: set[int] = set()  # lines that are one item with its head, shown as one line
    for s in chosen:
        line = [s]
        head = _list_head(s) if groups or not wants_list else None  # (a list answer quotes the whole list)
        if head is not None and not _repeats(head, chosen + [x for ln in lines for x in ln]):
            line = [head, s]  # a bare item "（七）…；" with the "…：" sentence it completes
            paired.add(len(lines))
        elif wants_list:
            line += [c for c in _continuation(s, hits) if not _repeats(c, chosen + [x for ln in lines for x in ln])]
        lines.append(line)
    if wants_list and not groups and not any(len(line) > 2 for line in lines):
        # the best enumeration (≥ 3 items with 、, or a label heading ≥ 2 labels) not in the answer yet
        best = sentences[0].score
        quoted = [x for line in lines for x in line]
        found = None  # (score with the items of a "…：" head counted, sentence, run)
        for rank, s in enumerate(sentences[:40]):
            if s.score < 0.6 * best:
                break
            items = _head_items(s)
            if rank >= 12 and items < 2:
                continue
            run = _continuation(s, hits) if is_label(s.text) or items >= 2 else []
            if (s.text.count("、") >= 2 or len(run) >= 2) and _pick([s], 1, quoted):
                score = s.score + LIST_HEAD_ITEM_BONUS * min(items, 8)
                if found is None or score > found[0]:
                    found = (score, s, run)
        if found is not None:
            _, s, run = found
            lines.append([s, *[c for c in run if not _repeats(c, quoted)]])
    rows: list[tuple[str, list[ScoredSentence]]] = []  # (prefix, sentences) per answer line
    for j, line in enumerate(lines):
        if wants_list and len(line) > 1 and j not in paired:  # an enumeration: its head, then one item per line
            rows += [("", line[:1])] + [("- ", [c]) for c in line[1:]]
        else:
            rows.append(("", line))
    return rows


GROUP_LINES = 6  # lines of a comparison answer (two per compared group)
GROUP_MIN = 0.5  # when more groups are compared than the answer has lines, the (at most three) best groups whose best
# sentence scores this share of the best one are shown (the two best always)
