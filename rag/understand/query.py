"""Query planning: from a question to what the retrievers search for.

* **document references** — titles, short names, document numbers and references resolved from
  manifest fields (kind word, era, region, period, title words) live in ``rag.understand.references`` (its
  names are re-exported here); each reference becomes a ``Scope``;
* **compared scopes** — a question that compares (分别, 各自, 有什么不同, an evolution) or names two
  or more distinct documents gets one sub-query per scope (the question without the reference words:
  ``rag.understand.scopes``) and the retriever gives each scope slots in the top k (``QueryPlan.compare``);
  any other question's references only add weighted in-document rankings (``scope_weights``): an
  ambiguous reference (十二五规划: two plans) splits the weight, an era or period alone (十一五期间) adds
  none, and regions (某市, 省里) become scopes only in comparisons;
* **questions about a document** (issuer, number, date, period, validity, draft) are marked so that
  the document cards rank first; section headings named in the question (发展愿景, not topic words
  such as 清洁能源 that the documents also use outside that section) add a ranking
  (``rag.understand.sections``);
* **concept expansion** — the curated policy-concept list ``corpus/concepts.json``
  (``rag.understand.concepts``) maps the words a company uses (钠离子电池, 火锅底料, 减速器) to the
  documents' vocabulary (新型储能, 绿色食品, 机器人), and the built-in everyday-word list
  ``rag/data/lay_terms.json`` maps, for any corpus, the words people use to the words regulations use
  (驾照 → 驾驶证, 饭馆 → 餐饮服务); matched concept terms are added to the lexical query and the dense query
  text when the documents never write the question's word themselves (those of the places the question names,
  when it names some: ``_written_where``); a concept's ``variants`` (研发投入 / 研发经费 / R&D经费: wordings the documents
  themselves use for one thing) expand each other even though the documents use the question's word;
* **unseen corpora** — a question naming places but no document ranks within the documents of their
  jurisdiction (the place, its province, a province's cities: ``jurisdiction_covers``,
  ``routing_rankings``), so that articles saying 本市/本省 are found by place; question words the index
  lacks get the index's words that contain them (罚 → 罚款) or, for a count (几类), its numeral words
  (``vocabulary_expansions``, ``rag.understand.vocabulary``); a BM25 first place far ahead of the second
  is kept (``dominant_match``); a question about what changed between versions of a title ranks the
  changed passages first (``changed_version_groups``, ``changed_first``: ``rag.understand.versions``), any
  other question naming such a title searches mainly the version it asks for — the year it names, the
  earliest for 修订前/旧版, else the latest (``other_versions``); a short form the documents never write
  (非遗, 营收) is planned as the long form the corpus writes (非物质文化遗产, 营业收入:
  ``rag.understand.abbreviations``) — for references always, for the search unless it is a title word of
  the named document.

This module keeps ``QueryPlan``, ``plan_query``, ``prepare_index`` (what a question would build on first
use, built when the index is loaded) and how a plan's references weigh in retrieval (``scope_weights``,
``routing_rankings``, ``dominant_match``); the helpers live in ``rag.understand.concepts``, ``scopes``,
``sections`` (with ``PlanningData``, what planning derives once per index), ``versions`` and
``vocabulary``, and their names are re-exported here.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from rag.understand.references import (DocumentCues,  # noqa: F401  (re-exported)
                                       MAX_REFERENCE_CHARS,
                                       RepealData,
                                       UnmatchedReference,
                                       _EVOLUTION,
                                       _KIND_WORD,
                                       _topic_words,
                                       document_cues,
                                       document_scopes,
                                       indexed_regions,
                                       is_comparison,
                                       plan_era,
                                       repealed_titles,
                                       reference_mentions,
                                       referenced_documents,
                                       referenced_regions,
                                       region_words,
                                       resolve_reference,
                                       unmatched_document)
from rag.ingest.metadata import bare_region  # noqa: F401  (re-exported)
from rag.understand.meta_questions import asked_metadata, asks_about_document  # noqa: F401  (re-exported)
from rag.understand.need import _YEAR, NeedAnalysis, asks_list  # noqa: F401  (_YEAR re-exported)
from rag.text import TextData, corpus_text, normalize  # noqa: F401  (corpus_text re-exported)
from rag.types import DerivedData, locked_cached_property  # noqa: F401  (re-exported)
from rag.understand.concepts import (_CONCEPT_AUTOMATA, _CONCEPT_LOCK,  # noqa: F401  (re-exported)
                                     Concept, ConceptMatch, _concept_candidates, _contains_word,
                                     load_concepts, match_concepts, question_concepts)
from rag.understand.scopes import (MAX_IMPLICIT_DOCS, MIN_IMPLICIT_WORDS,  # noqa: F401  (re-exported)
                                   _PLURAL, Scope, _province_of, _scopes, _sub_query, implicit_scope,
                                   jurisdiction_covers)
from rag.understand.sections import (MAX_TOPIC_SHARE, MIN_SECTION_CHARS,  # noqa: F401  (re-exported)
                                     NUMERAL_WORD, PENALTY_QUESTION, PENALTY_SECTION, _NUMBERING,
                                     _PARTICLES, PlanningData, _heading_automata, _mentions_outside,
                                     chunk_section_labels, named_sections, penalty_sections,
                                     section_headings, section_labels)
from rag.understand.versions import (CHANGE_QUESTION, OTHER_VERSION_SHARE,  # noqa: F401  (re-exported)
                                     _ARTICLE_NUMBER, _SPACE, changed_first, changed_version_groups,
                                     comparison_groups, other_versions, unchanged_rows)
from rag.understand.vocabulary import (COMMON_WORD_FREQ, MAX_VOCABULARY_EXPANSIONS,  # noqa: F401  (re-exported)
                                       NUMERAL_QUESTION, _ARABIC_ARTICLE, _DIGIT_CHARS, _QUESTION_WORD,
                                       _everyday_char, _vocabulary, arabic_articles, chinese_numeral,
                                       missing_terms, vocabulary_expansions)


@dataclass(frozen=True)
class QueryPlan:
    """``tokens``: lexical query (jieba tokens + expansions); ``dense_text``: text to embed;
    ``doc_ids``: documents the question names; ``concepts``: the concepts the question triggered
    (``match_concepts``; their terms also count for the refusal's focus); ``expanded``: the (question word,
    document term) pairs the lexical and dense queries were expanded with — a concept whose question word
    no indexed document writes (驾照 → 驾驶证), shown to the user as a notice;
    ``regions``: regions the question names; ``scopes``: the documents/regions a cross-document
    question compares (≥ 2 scopes → one sub-query per scope, each given slots in the top k);
    ``about_document``: the question asks about a document itself (issuer, date, number, period,
    draft, validity) — its card ranks first; ``card_doc_ids``: the documents whose cards answer it;
    ``sections``: section headings the question names (发展愿景, 保障措施), see ``named_sections``;
    ``compare``: the scopes are compared (a comparison word, an evolution question, or two or more
    distinct documents each named unambiguously) — only then does each scope get slots in the top k;
    otherwise the scopes' documents only add weighted in-document rankings (``scope_weights``);
    ``wants_list``: the question asks for several items (``asks_list``) — the retriever then adds
    the next chunk of a section whose enumeration a top hit leaves unfinished;
    ``region_doc_ids``: the documents of the regions a question names when it names no document and
    compares nothing ("青岛设立了哪些专项资金": the 青岛市 documents, whose articles say 本市) — one
    weighted ranking within them (``routing_rankings``); ``changed_versions``: groups of doc_ids that are
    versions of one title (same normalised title) when the question asks what changed between them
    (修改后有什么变化, 修正前后有什么不同) — passages whose text stands unchanged in another version rank
    after the changed ones (``changed_first``); ``other_versions``: the versions of a named title
    that the question does not ask for (``other_versions``) — their in-document rankings get
    ``OTHER_VERSION_SHARE`` of the weight; ``asks_penalty``: the question asks about the consequence of
    a violation (``PENALTY_QUESTION``: 罚多少, 有什么后果) — the articles citing a top hit's article
    (违反本条例第X条…的，处…罚款) are placed right after it; ``unmatched_reference``: a document the
    question names that no indexed document matches (``rag.understand.references.unmatched_document``: 重庆市的生活垃圾
    分类条例 when no 重庆市 document is about 生活垃圾), with its words and the place's titles — the answer
    says so instead of stating other documents' facts; ``asked_values``: the evidence patterns of the
    values the question asks for (``rag.understand.need.asked_values``: an amount of money for 罚多少/奖励金额,
    a duration for 多少天内/多久, a year or date for 何时, a number, a place, an organisation …), one per
    asked kind — the retriever ranks the candidate passages stating an amount, a duration or a date
    (``value_rows``); ``need``: the information-need analysis of ``question`` as asked
    (``rag.understand.need.NeedAnalysis``: need clause, asked value kinds, answer types, unit, list intent,
    parts; built once here, read by the answer stage through ``rag.understand.need.need_analysis``);
    ``repealed``: for a question about a document itself, the former texts it names that the indexed
    text says no longer apply (``rag.understand.references.repealed_titles``: "以前的《北京市城市节约用水条例》
    现在还有效吗") — the passages saying so rank first, and the cards of their documents answer."""

    question: str
    tokens: list[str]
    dense_text: str
    doc_ids: tuple[str, ...] = ()
    concepts: tuple[ConceptMatch, ...] = field(default_factory=tuple)
    regions: tuple[str, ...] = ()
    scopes: tuple[Scope, ...] = ()
    about_document: bool = False
    card_doc_ids: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    compare: bool = False
    wants_list: bool = False
    region_doc_ids: tuple[str, ...] = ()
    changed_versions: tuple[tuple[str, ...], ...] = ()
    other_versions: tuple[str, ...] = ()
    asks_penalty: bool = False
    unmatched_reference: UnmatchedReference | None = None
    asked_values: tuple[re.Pattern, ...] = ()
    need: NeedAnalysis | None = None
    repealed: tuple[str, ...] = ()
    expanded: tuple[tuple[str, str], ...] = ()


_DOC_NUMBER = re.compile(r"[〔\[(（]\d{4}[〕\])）]\d+号")  # 成府发〔2024〕2号 names one document
WEAK_SHARE = 0.0  # share of the routing weight for a reference that is only an era or a period
IMPLICIT_SHARE = 0.5  # share for a document named only by its region and topic words (``implicit_scope``)


def scope_weights(plan: QueryPlan, weight: float) -> dict[str, float]:
    """RRF weight of the in-document ranking of each document a non-compared plan names: ``weight``
    for a document named unambiguously, ``weight / n`` for each of the n documents an ambiguous
    reference ("十二五规划": two plans) may denote, so that an ambiguous reference only nudges the
    ranking (a label with a kind word, a document number or over MAX_REFERENCE_CHARS names a document;
    an era or period alone gets WEAK_SHARE); the largest share when a document is named twice. {} for
    a compared plan."""
    if plan.compare:
        return {}
    out: dict[str, float] = {}
    for s in plan.scopes:
        if s.region is None and s.doc_ids:
            # an era or a period alone ("十一五期间", "某市十二五") may name a time, not a document
            named = _KIND_WORD.search(s.label) or _DOC_NUMBER.search(normalize(s.label))
            w = weight if named or len(s.label) > MAX_REFERENCE_CHARS else weight * WEAK_SHARE
            if s.implicit:
                w = weight * IMPLICIT_SHARE
            asked = [d for d in s.doc_ids if d not in plan.other_versions]
            others = [d for d in s.doc_ids if d in plan.other_versions]
            shares = {d: w / len(asked) for d in asked} if asked and others else \
                {d: w / len(s.doc_ids) for d in s.doc_ids}
            shares.update({d: w * OTHER_VERSION_SHARE / len(others) for d in others if asked})
            for d, share in shares.items():
                out[d] = max(out.get(d, 0.0), share)
    return out


MIN_SUB_QUERY_TOKENS = 2  # a sub-query with fewer words left ("…里有哪些？") says too little to search with


def prepare_index(index, settings=None) -> None:
    """Build, once per loaded index, everything a question would otherwise build on its first use (called
    when the index is loaded: ``rag.retrieve.hybrid.HybridRetriever``), so that the first question of a process
    costs what a later one does: the section labels, headings and their automata, the normalised corpus
    text, the documents' names, cues and topic words, the cards, the jieba dictionary, the abbreviation
    cache (``rag.understand.abbreviations``) and the concept list of ``settings``. Thread-safe (one build per index)."""
    data = PlanningData.of(index)
    if data.prepared:
        return
    with _PREPARE_LOCK:
        if data.prepared:
            return
        from rag.understand.abbreviations import prepare_abbreviations
        from rag.index.store import card_rows
        from rag.ingest.metadata import _place_index
        from rag.understand.references import _cues, _docs_lookup

        penalty_sections(index)  # chunk_section_labels
        _heading_automata(index)  # section_headings
        corpus_text(index)
        TextData.of(index).doc_starts  # where each document's text lies in it (_written_where)
        _docs_lookup(index.docs)
        _cues(index)
        card_rows(index)
        _vocabulary(index)
        index.tokenizer.tokens("预热")  # loads the jieba dictionary
        _place_index()  # the gazetteer's place-name patterns (referenced_regions)
        prepare_abbreviations(index)  # the cache of the question words looked up in the corpus
        if settings is not None and settings.use_concepts:
            _concept_candidates("", question_concepts(settings.corpus_dir))
        data.prepared = True


_PREPARE_LOCK = threading.Lock()


def plan_query(question: str, index, settings) -> QueryPlan:
    """Build the QueryPlan of ``question`` over a loaded index (see module docstring)."""
    from rag.understand.abbreviations import abbreviation_matches, expand_abbreviations
    from rag.understand.need import analyse_need

    asked = question
    need = analyse_need(asked, getattr(index, "docs", None))  # need clause, asked kinds and values …: once per question
    values = need.values  # 罚多少 → an amount in 元, 多久 → a duration
    question = arabic_articles(question)  # 第26条 → 第二十六条, as the regulations number their articles
    # 非遗 → 非物质文化遗产: a short form the documents never write names documents by its long form, and
    # is searched as its long form unless it is a title word of the documents the question names
    # (某省战新规划: the title's words are no content to search the document for)
    abbreviations = abbreviation_matches(question, index)
    plain = question
    question = expand_abbreviations(question, abbreviations)
    content = plain
    if abbreviations:
        titles = [normalize(index.docs[d].title or "") for _label, ids in document_scopes(question, index) for d in ids]
        content = expand_abbreviations(plain, [(short, full) for short, full in abbreviations
                                               if not any(full in title for title in titles)])
    tokens = index.tokenizer.tokens(content)
    dense_text = content
    matches: list[ConceptMatch] = []
    extra: list[str] = []
    expanded: list[tuple[str, str]] = []
    regions = referenced_regions(question, index.docs)
    place_docs = _place_docs(index, regions)
    if settings.use_concepts:
        matches = match_concepts(content, question_concepts(settings.corpus_dir))
        written = _written_where(index, place_docs)
        for m in matches:
            # expand only the company's words that the documents do not use themselves — those of the
            # places the question names, when it names some (饭馆 in a 南阳 question: 南阳's documents say 餐饮)
            if not written(normalize(m.matched).lower()) and normalize(m.term) not in normalize(content):
                extra.extend(m.expansions[:3])
                expanded.append((m.matched, m.term))
            # the documents' other wordings of the same thing (研发投入 → 研发经费, R&D经费)
            extra.extend(v for v in m.variants if normalize(v).lower() not in normalize(content).lower()
                         and v not in extra)
        expanded.sort(key=lambda pair: normalize(content).lower().find(normalize(pair[0]).lower()))  # question order
        for word in extra:
            tokens.extend(index.tokenizer.tokens(word))
        if extra:
            dense_text = content + " " + " ".join(extra)
    words = vocabulary_expansions(tokens, index)
    if words:  # 罚 → 罚款/处罚, 几类 → 四类/三类: the documents' words for what the question's word names
        tokens.extend(words)
        extra.extend(words)
        dense_text = dense_text + " " + " ".join(words)
    if not settings.use_doc_routing:
        return QueryPlan(asked, tokens, dense_text, (), tuple(matches), (), asked_values=values, need=need,
                         expanded=tuple(expanded))
    scopes, compare = _scopes(question, index, regions)
    unmatched = unmatched_document(question, index)  # a named document no indexed one matches
    if not scopes and len(regions) == 1 and unmatched is None:
        scopes = implicit_scope(question, index, regions[0])
    doc_ids = tuple(dict.fromkeys(d for s in scopes if s.region is None for d in s.doc_ids))
    if scopes:
        sub = _sub_query(question, scopes)
        sub_tokens = index.tokenizer.tokens(sub) + [t for w in extra for t in index.tokenizer.tokens(w)]
        if len(sub_tokens) >= MIN_SUB_QUERY_TOKENS:  # else each scope searches with the whole question
            scopes = [Scope(s.label, s.doc_ids, s.region, tuple(sub_tokens), " ".join([sub, *extra]), s.implicit)
                      for s in scopes]
    about = asks_about_document(question)
    cards = ()
    # a former text the question names, asking its validity or dates: the documents saying it no
    # longer applies answer (its title, with the words of a kind-word phrase, is no content word)
    repealed = repealed_titles(question, index) if about or asked_metadata(question) else ()
    about = about or bool(repealed)
    if repealed:
        rows = RepealData.of(index).repealed
        cards = tuple(dict.fromkeys(index.chunks[r].doc_id for t in repealed for r in rows[t]))
        if not compare:  # the question names these documents (by the text they replaced)
            doc_ids = cards
        unmatched = None  # a text the corpus says is repealed is no document missing from it
    elif about:
        cards = tuple(dict.fromkeys(d for s in scopes for d in s.doc_ids))
        if not cards:
            cards = tuple(d for d, m in index.docs.items() if not regions or m.region in regions)
    # 本市/本省 articles found by the place the question names
    region_docs = place_docs if not compare and not doc_ids else ()
    sections = named_sections(question, index, tuple(s.label for s in scopes))
    if (doc_ids or region_docs) and PENALTY_QUESTION.search(question):
        sections += penalty_sections(index)  # a named document's penalty is stated in its 法律责任 chapter
    changed = changed_version_groups(question, scopes, index.docs)
    return QueryPlan(asked, tokens, dense_text, doc_ids, tuple(matches), regions, tuple(scopes), about, cards,
                     tuple(dict.fromkeys(sections)), compare, asks_list(question), region_docs, changed,
                     () if compare or changed else other_versions(question, scopes, index.docs),
                     PENALTY_QUESTION.search(question) is not None, unmatched, values, need, repealed,
                     tuple(expanded))


def _place_docs(index, regions: tuple[str, ...]) -> tuple[str, ...]:
    """The documents of the places ``regions`` names (``jurisdiction_covers``: a place's own, its province's
    and a province's cities' documents) when some but not all indexed documents are theirs; () otherwise."""
    if not regions:
        return ()
    ids = tuple(d for d, meta in index.docs.items() if jurisdiction_covers(meta.region, regions))
    return ids if len(ids) < len(index.docs) else ()


def _written_where(index, place_docs: tuple[str, ...]):
    """The test whether the documents write a (normalised, lower-cased) word: the documents of the places
    the question names (``place_docs``, ``_place_docs``) when there are some, else any document
    (``corpus_text``)."""
    if place_docs:
        data = TextData.of(index)
        return lambda word: data.written_in(word, place_docs)
    corpus = corpus_text(index)
    return lambda word: word in corpus


def routing_rankings(plan: QueryPlan, weight: float) -> list[tuple[tuple[str, ...], float]]:
    """The in-scope rankings a non-compared plan adds to the global one, as ``(doc_ids, RRF weight)``:
    one per named document (``scope_weights``) and, for a question that names regions but no document
    (``QueryPlan.region_doc_ids``), one over the documents of those regions with ``weight``. [] for a
    compared plan (its scopes get slots instead). Each searches with the whole question (searching a
    named document without its title words was tried: bundled dev R@5 0.938 -> 0.935)."""
    if plan.compare:
        return []
    out = [((d,), w) for d, w in scope_weights(plan, weight).items()]
    if plan.region_doc_ids:
        out.append((plan.region_doc_ids, weight))
    return out


DOMINANT_RATIO = 2.0  # a BM25 score at least this many times the runner-up's: one passage alone matches


def dominant_match(ranking: list[int], scores) -> int | None:
    """The first row of a BM25 ``ranking`` (rows, best first) when its score in ``scores`` (array over
    rows) is at least ``DOMINANT_RATIO`` × the second row's: the one passage that holds the question's
    rare words (首席数据官), which rank fusion would otherwise weigh like any first place and lose to
    passages the dense ranking likes for their common words. None otherwise."""
    if len(ranking) < 2:
        return None
    first, second = float(scores[ranking[0]]), float(scores[ranking[1]])
    return ranking[0] if second > 0 and first >= DOMINANT_RATIO * second else None
