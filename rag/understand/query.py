"""Query planning: from a question to what the retrievers search for.

* **document references** — titles, short names, document numbers and references resolved from
  manifest fields (kind word, era, region, period, title words) live in ``rag.understand.references`` (its
  names are re-exported here); each reference becomes a ``Scope``;
* **compared scopes** — a question that compares (分别, 各自, 有什么不同, an evolution) or names two
  or more distinct documents gets one sub-query per scope (the question without the reference words)
  and the retriever gives each scope slots in the top k (``QueryPlan.compare``); any other question's
  references only add weighted in-document rankings (``scope_weights``): an ambiguous reference
  (十二五规划: two plans) splits the weight, an era or period alone (十一五期间) adds none, and
  regions (某市, 省里) become scopes only in comparisons;
* **questions about a document** (issuer, number, date, period, validity, draft) are marked so that
  the document cards rank first; section headings named in the question (发展愿景, not topic words
  such as 清洁能源 that the documents also use outside that section) add a ranking;
* **concept expansion** — the curated policy-concept list ``corpus/concepts.json`` maps the words a
  company uses (钠离子电池, 火锅底料, 减速器) to the documents' vocabulary (新型储能, 绿色食品,
  机器人); matched concept terms are added to the lexical query and the dense query text; a
  concept's ``variants`` (研发投入 / 研发经费 / R&D经费: wordings the documents themselves use for one
  thing) expand each other even though the documents use the question's word;
* **unseen corpora** — a question naming places but no document ranks within the documents of their
  jurisdiction (the place, its province, a province's cities: ``jurisdiction_covers``,
  ``routing_rankings``), so that articles saying 本市/本省 are found by place; question words the index
  lacks get the index's words that contain them (罚 → 罚款) or, for a count (几类), its numeral words
  (``vocabulary_expansions``); a BM25 first place far ahead of the second is kept (``dominant_match``);
  a question about what changed between versions of a title ranks the changed passages first
  (``changed_version_groups``, ``changed_first``), any other question naming such a title searches
  mainly the version it asks for — the year it names, the earliest for 修订前/旧版, else the latest
  (``other_versions``); a short form the documents never write (非遗, 营收) is planned as the long form
  the corpus writes (非物质文化遗产, 营业收入: ``rag.understand.abbreviations``) — for references always, for the
  search unless it is a title word of the named document.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.understand.references import (DocumentCues,
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
from rag.ingest.metadata import bare_region
from rag.understand.meta_questions import asked_metadata, asks_about_document  # noqa: F401  (re-exported)
from rag.understand.need import _YEAR, NeedAnalysis, asks_list
from rag.text import corpus_text, normalize  # noqa: F401  (corpus_text re-exported)
from rag.types import DerivedData, locked_cached_property


@dataclass(frozen=True)
class Concept:
    """One entry of concepts.json: ``term`` as the documents write it, and the words that lead to it.

    ``variants``: other words the documents themselves use for the same thing as ``term`` (研发投入 /
    研发经费 / R&D经费, 规模以上 / 规上), found by reading the documents; a question using any of
    them is expanded by the others although the documents use its word (retrieval only: policy
    matching reads ``triggers()``, which leaves them out)."""

    concept_id: str
    term: str
    aliases: tuple[str, ...] = ()
    company_words: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()

    def triggers(self) -> tuple[str, ...]:
        return (self.term, *self.aliases, *self.company_words)


@dataclass(frozen=True)
class ConceptMatch:
    """A concept the question triggered: ``matched`` is the question's word, ``term`` the policy term;
    ``variants``: the document wordings of the same thing other than ``matched`` (set only when
    ``matched`` is the term or one of its ``Concept.variants``)."""

    concept_id: str
    matched: str
    term: str
    expansions: tuple[str, ...]
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """One document or region a question refers to, with the sub-query to search inside it.

    ``doc_ids``: the documents of the scope (one named document, the documents of one plan era, or all
    documents of one region); ``region``: set when the scope is a whole region ("某省", "某市");
    ``label``: the question's words that refer to it (e.g. "某市的未来产业意见"); ``tokens`` /
    ``dense_text``: the sub-query — the question without the reference words of every scope.
    """

    label: str
    doc_ids: tuple[str, ...]
    region: str | None = None
    tokens: tuple[str, ...] = ()
    dense_text: str = ""
    implicit: bool = False  # named only by a region and topic words ("杭州…生活垃圾"), no kind word


@dataclass(frozen=True)
class QueryPlan:
    """``tokens``: lexical query (jieba tokens + expansions); ``dense_text``: text to embed;
    ``doc_ids``: documents the question names; ``concepts``: expansions that were applied;
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


@lru_cache(maxsize=8)
def load_concepts(path: str) -> tuple[Concept, ...]:
    """Concepts from a concepts.json file (empty when the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return ()
    data = json.loads(p.read_text(encoding="utf-8"))
    return tuple(
        Concept(c.get("id") or c["term"], c["term"], tuple(c.get("aliases") or ()),
                tuple(c.get("company_words") or ()), tuple(c.get("broader") or ()), tuple(c.get("variants") or ()))
        for c in data.get("concepts", [])
    )


def _contains_word(text: str, word: str) -> bool:
    """``word`` occurs in ``text``; a Latin/digit word must not be part of a longer Latin word
    (so "mr" does not match inside "mrna")."""
    if not word.isascii():
        return word in text
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None


def match_concepts(text: str, concepts: tuple[Concept, ...]) -> list[ConceptMatch]:
    """Concepts whose term, alias or company word occurs in ``text`` (normalised). A company word
    that only occurs inside a longer matched word is not counted twice; the policy term and its
    aliases are the expansions, ``broader`` terms are not (they would drift the query). A variant
    (``Concept.variants``) triggers too; when the matched word is the term or a variant, the
    match carries the other document wordings (``ConceptMatch.variants``)."""
    norm = normalize(text).lower()
    out: list[ConceptMatch] = []
    for concept in _concept_candidates(norm, concepts):
        best = None
        for word in (*concept.triggers(), *concept.variants):
            w = normalize(word).lower()
            if len(w) >= 2 and _contains_word(norm, w) and (best is None or len(w) > len(best)):
                best = word
        if best is not None:
            group = (concept.term, *concept.variants) if concept.variants else ()
            variants = tuple(v for v in group if v != best) if best in group else ()
            out.append(ConceptMatch(concept.concept_id, best, concept.term, (concept.term, *concept.aliases),
                                    variants))
    return out


_CONCEPT_AUTOMATA: dict[int, tuple] = {}
_CONCEPT_LOCK = threading.Lock()


def _concept_candidates(norm: str, concepts: tuple[Concept, ...]) -> list[Concept]:
    """The concepts (in their order) one of whose words (normalised, lower-cased, ≥ 2 characters) occurs in
    ``norm`` as a substring — those ``match_concepts`` then checks word by word; one pass of an
    Aho–Corasick automaton over the words of ``concepts``, built once per concept list (the last few kept)."""
    concepts = concepts if isinstance(concepts, tuple) else tuple(concepts)
    cached = _CONCEPT_AUTOMATA.get(id(concepts))
    if cached is None or cached[0] is not concepts:
        import ahocorasick

        with _CONCEPT_LOCK:
            owners: dict[str, set[int]] = {}
            for i, concept in enumerate(concepts):
                for word in (*concept.triggers(), *concept.variants):
                    w = normalize(word).lower()
                    if len(w) >= 2:
                        owners.setdefault(w, set()).add(i)
            automaton = ahocorasick.Automaton()
            for w, ids in owners.items():
                automaton.add_word(w, frozenset(ids))
            if len(automaton):
                automaton.make_automaton()
            cached = (concepts, automaton)
            while len(_CONCEPT_AUTOMATA) >= 8:
                _CONCEPT_AUTOMATA.pop(next(iter(_CONCEPT_AUTOMATA)))
            _CONCEPT_AUTOMATA[id(concepts)] = cached
    automaton = cached[1]
    if not len(automaton):
        return []
    found = {i for _, ids in automaton.iter(norm) for i in ids}
    return [concepts[i] for i in sorted(found)]


_QUESTION_WORD = re.compile(r"[几哪啥]|多少|什么|一年|^\d+$|^[a-z0-9]+$|^[一二三四五六七八九十两]+[条个项大类家种点年]")


COMMON_WORD_FREQ = 5000  # jieba dictionary frequency from which a word counts as everyday language


def missing_terms(terms, corpus: str, covered: set[str] = frozenset()) -> list[str]:
    """Question terms the corpus cannot answer for: no two-character window of the term occurs in
    any document, it is a dictionary word (segmentation artefacts such as 谷叫 do not count), it is not
    a question word or a bare number/Latin word, and no concept expansion covers it. A question about 免租 or 咨询电话
    asks for something the documents do not contain."""
    import jieba

    out = []
    for term in terms:
        t = normalize(term).lower()
        if len(t) < 2 or term in covered or _QUESTION_WORD.search(t):
            continue
        freq = jieba.dt.FREQ.get(term, 0)
        # out-of-vocabulary pieces cut out by jieba's HMM (收要, 谷叫) and everyday words (获得, 得到)
        # say nothing about what the question needs; specific words (免租, 税率, 咨询电话) do
        if not 0 < freq < COMMON_WORD_FREQ:
            continue
        if not any(t[i:i + 2] in corpus for i in range(len(t) - 1)):
            out.append(term)
    return out


def _scopes(question: str, index, regions: tuple[str, ...]) -> tuple[list[Scope], bool]:
    """The scopes a question refers to (documents first, then whole regions) and whether they are
    compared — see QueryPlan. Region scopes exist only in comparisons: a question that mentions a city
    and its province without comparing them ("某省支持某市建设…") is about one passage, not two regions."""
    refs = document_scopes(question, index)
    region_docs = {r: tuple(d for d, m in index.docs.items() if m.region == r) for r in regions}
    if len(regions) == 1:  # "某省…十二五规划": the era's documents of the named region only
        only = set(region_docs[regions[0]])
        refs = tuple((label, tuple(d for d in ids if d in only) or ids) for label, ids in refs)
    scopes = [Scope(label, ids) for ids, label in {ids: label for label, ids in reversed(refs)}.items()]
    if len(scopes) < 2 and _EVOLUTION.search(question):  # "从十一五到现在一路延续": every document
        docs = [d for d, m in index.docs.items() if not regions or m.region in regions]
        return [Scope(index.docs[d].title, (d,)) for d in docs], len(docs) >= 2
    comparison = is_comparison(question)
    if comparison:  # "某市的两份文件", "省里前后两个五年规划": each document is compared
        scopes = [t for s in scopes for t in ([Scope(s.label, (d,)) for d in s.doc_ids]
                                               if len(s.doc_ids) > 1 and _PLURAL.search(s.label) else [s])]
        for r in regions:
            if region_docs[r] and not any(set(s.doc_ids) <= set(region_docs[r]) for s in scopes):
                scopes.append(Scope(r, region_docs[r], r))
    if len(scopes) < 2:
        return scopes, False
    docs = [set(s.doc_ids) for s in scopes if s.region is None]
    disjoint = len(docs) >= 2 and all(a.isdisjoint(b) for i, a in enumerate(docs) for b in docs[i + 1:])
    return scopes, comparison or (disjoint and any(len(d) == 1 for d in docs))


_PLURAL = re.compile(r"[两二三四五几各每]\s*[份个部]|前后|这些|那些|历次")  # a reference to several documents


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


OTHER_VERSION_SHARE = 0.25  # share of the routing weight for the versions of a title the question does not ask for


def other_versions(question: str, scopes, docs: dict) -> tuple[str, ...]:
    """The documents of the question's scopes that are versions of one title (same normalised title, every
    version dated) other than the one the question asks for: the version dated in a year the question
    names ("2007年那版", "2024年修改后"), else the earliest for 修订前/原来/旧版 … and the latest otherwise —
    the version in force unless the question says which (``rag.answer.meta_answers`` version words). () for a
    scope of one document or of several titles. ``scopes``: ``Scope`` list; ``docs``: doc_id → DocumentMeta."""
    from rag.understand.meta_questions import _EARLIER_VERSION, _LATER_VERSION

    out: list[str] = []
    years = set(_YEAR.findall(question))
    for s in scopes:
        ids = [d for d in s.doc_ids if d in docs]
        if s.region is not None or len(ids) < 2 or len({normalize(docs[d].title or "") for d in ids}) != 1 \
                or not all(docs[d].date for d in ids):
            continue
        dated = sorted(ids, key=lambda d: docs[d].date)
        named = [d for d in ids if docs[d].date[:4] in years]
        if len(named) == 1:
            asked = named[0]
        elif _EARLIER_VERSION.search(question) and not _LATER_VERSION.search(question):
            asked = dated[0]
        else:
            asked = dated[-1]
        out += [d for d in ids if d != asked and d not in out]
    return tuple(out)


MIN_SUB_QUERY_TOKENS = 2  # a sub-query with fewer words left ("…里有哪些？") says too little to search with


MAX_IMPLICIT_DOCS = 2  # a region-and-topic reference names one document (or its two versions)
MIN_IMPLICIT_WORDS = 2  # topic words it shares with the names (one word, 代表 of 代表性, may be a coincidence)


def implicit_scope(question: str, index, region: str) -> list[Scope]:
    """The document a question names only by its region and topic words ("杭州单位不按规定分类投放生活
    垃圾…" → 杭州市生活垃圾管理条例): the documents of ``region`` whose names share most of the question's
    topic words (``rag.understand.references.resolve_reference`` on the whole question, restricted to the region) — at
    least ``MIN_IMPLICIT_WORDS`` of them, or one when the question says it means a document (a kind word: "上海的音像店…
    新旧两版条例", not 按规定) — when they are at most ``MAX_IMPLICIT_DOCS`` of one title and not every document of the
    region; [] otherwise.
    The scope is ``implicit``: its in-document ranking gets ``IMPLICIT_SHARE`` of the routing weight."""
    from rag.understand.references import _cues

    cues, topics = _cues(index)
    local = tuple(c for c in cues if c.region == region)
    words = [w for w in topics if w in question]
    if not words or len(local) < 2:
        return []
    score = {c.doc_id: sum(w in c.names for w in words) for c in local}
    best = max(score.values())
    # one topic word is enough when the question says it means a document (…条例, 新旧两版条例; not 按规定)
    from rag.understand.references import kind_words

    least = 1 if kind_words(question) else MIN_IMPLICIT_WORDS
    ids = tuple(d for d, n in score.items() if n == best and n >= least)
    titles = {normalize(index.docs[d].title) for d in ids}
    if not ids or len(ids) > MAX_IMPLICIT_DOCS or len(titles) != 1 or len(ids) == len(local):
        return []
    return [Scope("", ids, implicit=True)]


def _sub_query(question: str, scopes: list[Scope]) -> str:
    """The question without the words that refer to any scope (so that a scope's search is not
    pulled towards the other document's words)."""
    out = question
    for s in sorted(scopes, key=lambda s: -len(s.label)):
        if s.label:
            out = out.replace(s.label, " ")
    for s in scopes:  # a region of the indexed documents: its full and bare names, its level words (省里…)
        for w in sorted(region_words(s.region), key=len, reverse=True):
            if len(w) >= 2:
                out = out.replace(w, " ")
    return out


_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}[.．、]|专栏\s*\d{1,2})\s*")
MIN_SECTION_CHARS = 4


def section_labels(section: str) -> list[str]:
    """The headings of a section path without their numbering ("一、规划背景 › （一）发展基础" →
    ["规划背景", "发展基础"]), normalised."""
    return [normalize(_NUMBERING.sub("", part)) for part in section.split(" › ") if part]


class PlanningData(DerivedData):
    """What question planning derives from one index (``index``: a LoadedIndex or a stand-in with the
    attributes a value reads), each value built on first use and kept: ``chunk_section_labels``,
    ``section_headings``, ``heading_automata``, ``vocabulary``, ``penalty_sections`` (see the functions of
    those names); ``unchanged_rows``: version group → ``unchanged_rows`` result; ``prepared``: set by
    ``prepare_index``."""

    def __init__(self, index):
        super().__init__(index)
        self.unchanged_rows: dict[tuple[str, ...], frozenset[int]] = {}
        self.prepared = False

    @locked_cached_property
    def chunk_section_labels(self) -> list[frozenset[str]]:
        by_path: dict[str, frozenset[str]] = {}  # chunks of one section share its path: label it once
        return [by_path.get(c.section) or by_path.setdefault(c.section, frozenset(section_labels(c.section)))
                for c in self.index.chunks]

    @locked_cached_property
    def section_headings(self) -> tuple[str, ...]:
        index = self.index
        under: dict[str, int] = {}
        per_chunk = self.chunk_section_labels
        for labs in per_chunk:
            for lab in labs:
                if len(lab) >= MIN_SECTION_CHARS:
                    under[lab] = under.get(lab, 0) + 1
        outside = _mentions_outside(under, (normalize(c.text) for c in index.chunks), per_chunk)
        return tuple(sorted((lab for lab, n in under.items() if outside[lab] <= MAX_TOPIC_SHARE * n),
                            key=len, reverse=True))

    @locked_cached_property
    def heading_automata(self):
        import ahocorasick

        headings = self.section_headings
        verbatim, particle_free = ahocorasick.Automaton(), ahocorasick.Automaton()
        loose: dict[str, list[str]] = {}
        for lab in headings:
            verbatim.add_word(lab, lab)
            bare = _PARTICLES.sub("", lab)
            if len(bare) >= MIN_SECTION_CHARS:
                loose.setdefault(bare, []).append(lab)
        for bare, labs in loose.items():
            particle_free.add_word(bare, tuple(labs))
        for automaton in (verbatim, particle_free):
            if len(automaton):
                automaton.make_automaton()
        return verbatim, particle_free, {lab: i for i, lab in enumerate(headings)}

    @locked_cached_property
    def vocabulary(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        df = self.index.df
        by_char: dict[str, list[str]] = {}
        counts: dict[str, list[str]] = {}
        for w in sorted((w for w in df if w != "__N__"), key=lambda w: -df[w]):
            if w.isascii():
                continue
            for ch in set(w):
                by_char.setdefault(ch, []).append(w)
            m = NUMERAL_WORD.match(w)
            if m and not w.isdigit():
                counts.setdefault(m.group(1), []).append(w)
        return by_char, counts

    @locked_cached_property
    def penalty_sections(self) -> tuple[str, ...]:
        return tuple(sorted({lab for labs in self.chunk_section_labels for lab in labs
                             if lab.endswith(PENALTY_SECTION)}))


def chunk_section_labels(index) -> list[frozenset[str]]:
    """Per chunk row of ``index``: the set of its ``section_labels`` (computed once per loaded index
    and kept with it, ``PlanningData``; shared by ``section_headings`` and the retriever's named-section
    ranking)."""
    return PlanningData.of(index).chunk_section_labels


MAX_TOPIC_SHARE = 0.25  # a heading mentioned outside its section in more chunks than this share of
# the chunks under it is a topic word (科技服务业, 清洁能源), not the name of a section (发展愿景)


def section_headings(index) -> tuple[str, ...]:
    """Headings of the index that name a section rather than a topic, longest first (cached per
    index, ``PlanningData``): ≥ MIN_SECTION_CHARS characters without numbering, and the chunks outside
    the section that mention the heading number at most ``MAX_TOPIC_SHARE`` × the chunks under it."""
    return PlanningData.of(index).section_headings


def _mentions_outside(labels, texts, per_chunk) -> dict[str, int]:
    """label → number of chunks whose (normalised) text contains the label while the label is not one of
    that chunk's own section labels. One Aho–Corasick pass over each text (pyahocorasick): time ~ total
    characters + matches, not labels × chunks (a library of 50 k chunks and thousands of headings)."""
    import ahocorasick

    outside = dict.fromkeys(labels, 0)
    if not outside:
        return outside
    automaton = ahocorasick.Automaton()
    for lab in outside:
        automaton.add_word(lab, lab)
    automaton.make_automaton()
    for text, own in zip(texts, per_chunk):
        for lab in {lab for _, lab in automaton.iter(text)}:
            if lab not in own:
                outside[lab] += 1
    return outside


def named_sections(question: str, index, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Section headings (see ``section_headings``) that occur in the question — verbatim, or once the
    particles 的/之/了 are removed from both — outside the words of ``exclude`` (its document
    references: 壮大新兴产业 inside a title is no section): "发展愿景分了哪两个时间段" names the section
    发展愿景, "要培育发展的未来产业都有啥" the section 培育发展未来产业."""
    norm = normalize(question)
    for words in sorted(exclude, key=len, reverse=True):
        if words:
            norm = norm.replace(normalize(words), " ")
    loose = _PARTICLES.sub("", norm)
    verbatim, particle_free, rank = _heading_automata(index)
    found = {lab for _, lab in verbatim.iter(norm)} if len(verbatim) else set()
    if len(particle_free):
        found.update(lab for _, labs in particle_free.iter(loose) for lab in labs)
    return tuple(sorted(found, key=rank.__getitem__))


def _heading_automata(index):
    """Aho–Corasick automata over ``section_headings(index)`` (built once per loaded index and kept with
    it, ``PlanningData``): (heading → heading; heading without 的/之/了, when ≥ MIN_SECTION_CHARS → the
    headings it comes from; heading → its place in ``section_headings``) — a question is matched in one
    pass over its characters, not once per heading of the library."""
    return PlanningData.of(index).heading_automata


_PARTICLES = re.compile(r"[的之了]")  # "要培育发展的未来产业" names the section 培育发展未来产业


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
        _docs_lookup(index.docs)
        _cues(index)
        card_rows(index)
        _vocabulary(index)
        index.tokenizer.tokens("预热")  # loads the jieba dictionary
        _place_index()  # the gazetteer's place-name patterns (referenced_regions)
        prepare_abbreviations(index)  # the cache of the question words looked up in the corpus
        if settings is not None and settings.use_concepts:
            concepts = load_concepts(str(Path(settings.corpus_dir) / "concepts.json"))
            _concept_candidates("", concepts)
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
    if settings.use_concepts:
        matches = match_concepts(content, load_concepts(str(Path(settings.corpus_dir) / "concepts.json")))
        corpus = corpus_text(index)
        for m in matches:
            # expand only the company's words that the documents do not use themselves
            if normalize(m.matched).lower() not in corpus and normalize(m.term) not in normalize(content):
                extra.extend(m.expansions[:3])
            # the documents' other wordings of the same thing (研发投入 → 研发经费, R&D经费)
            extra.extend(v for v in m.variants if normalize(v).lower() not in normalize(content).lower()
                         and v not in extra)
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
        return QueryPlan(asked, tokens, dense_text, (), tuple(matches), (), asked_values=values, need=need)
    regions = referenced_regions(question, index.docs)
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
    region_docs: tuple[str, ...] = ()
    if regions and not compare and not doc_ids:  # 本市/本省 articles found by the place the question names
        region_docs = tuple(d for d, m in index.docs.items() if jurisdiction_covers(m.region, regions))
        if len(region_docs) == len(index.docs):
            region_docs = ()
    sections = named_sections(question, index, tuple(s.label for s in scopes))
    if (doc_ids or region_docs) and PENALTY_QUESTION.search(question):
        sections += penalty_sections(index)  # a named document's penalty is stated in its 法律责任 chapter
    changed = changed_version_groups(question, scopes, index.docs)
    return QueryPlan(asked, tokens, dense_text, doc_ids, tuple(matches), regions, tuple(scopes), about, cards,
                     tuple(dict.fromkeys(sections)), compare, asks_list(question), region_docs, changed,
                     () if compare or changed else other_versions(question, scopes, index.docs),
                     PENALTY_QUESTION.search(question) is not None, unmatched, values, need, repealed)


_ARABIC_ARTICLE = re.compile(r"第\s*(\d{1,3})\s*([编章节条款项])")
_DIGIT_CHARS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """``n`` (0–999) in Chinese numerals as laws number their parts: 3 → 三, 16 → 十六, 26 → 二十六,
    106 → 一百零六, 110 → 一百一十; ``str(n)`` from 1000 on."""
    if n < 10:
        return _DIGIT_CHARS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _DIGIT_CHARS[tens]) + "十" + (_DIGIT_CHARS[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = _DIGIT_CHARS[hundreds] + "百"
        if not rest:
            return head
        if rest < 10:
            return head + "零" + _DIGIT_CHARS[rest]
        tens, ones = divmod(rest, 10)
        return head + _DIGIT_CHARS[tens] + "十" + (_DIGIT_CHARS[ones] if ones else "")
    return str(n)


def arabic_articles(question: str) -> str:
    """``question`` with article, chapter, section … numbers written in Arabic digits in the Chinese
    numerals regulations use (第26条 → 第二十六条, 第3章 → 第三章), so that they match the section path."""
    return _ARABIC_ARTICLE.sub(lambda m: f"第{chinese_numeral(int(m.group(1)))}{m.group(2)}", question)


def jurisdiction_covers(region: str | None, regions: tuple[str, ...]) -> bool:
    """True when a document of ``region`` applies in one of ``regions`` or within it: the same region, the
    province of a named city (a province's regulations apply in its cities), or a city of a named
    province (a province question may use its cities' documents). Provinces from the gazetteer
    (``rag.ingest.metadata.find_places``)."""
    if not region:
        return False
    mine = _province_of(region)
    for r in regions:
        if region == r:
            return True
        theirs = _province_of(r)
        if mine and theirs == mine and (region == mine or r == mine):
            return True
    return False


@lru_cache(maxsize=1024)
def _province_of(region: str) -> str | None:
    """The full name of the province a full division name lies in (itself for a province or a
    municipality), from the gazetteer; None when the name is not a division."""
    from rag.ingest.metadata import find_places

    found = [p for p, start in find_places(region, short_names=False) if start == 0 and p.name == region]
    return found[0].province if found else None


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


# a question about what changed between versions of a document (修改后有什么变化, 修正前后有什么不同, 新旧版区别)
CHANGE_QUESTION = re.compile(r"变化|变动|改动|改变|(?:修改|修订|修正)[前后]|前后|新旧|区别|差别|差异|调整了|改了"
                             r"|(?:什么|何|哪些|哪里|哪儿)(?:不同|不一样)")  # not 不同车型: a kind, not a change


def changed_version_groups(question: str, scopes, docs: dict) -> tuple[tuple[str, ...], ...]:
    """Groups of the question's scope documents that are versions of one title (same normalised title,
    two or more documents) when the question asks what changed (``CHANGE_QUESTION``); () otherwise.
    ``scopes``: the plan's ``Scope`` list; ``docs``: doc_id → DocumentMeta."""
    if not CHANGE_QUESTION.search(question):
        return ()
    ids = dict.fromkeys(d for s in scopes for d in s.doc_ids if d in docs)
    by_title: dict[str, list[str]] = {}
    for d in ids:
        by_title.setdefault(normalize(docs[d].title or ""), []).append(d)
    return tuple(tuple(g) for t, g in by_title.items() if t and len(g) >= 2)


_ARTICLE_NUMBER = re.compile(r"^第[零〇一二三四五六七八九十百千\d]+条")
_SPACE = re.compile(r"\s+")


def unchanged_rows(index, group: tuple[str, ...]) -> frozenset[int]:
    """Rows of the chunks of the documents in ``group`` (versions of one title) whose text — without a
    leading article number (an article renumbered by a revision is the same text) and whitespace —
    stands verbatim in another version's cleaned text: passages the revision left as they were.
    Cached per index and group (``PlanningData.unchanged_rows``)."""
    cache = PlanningData.of(index).unchanged_rows
    if group not in cache:
        texts = {d: _SPACE.sub("", normalize(index.doc_texts.get(d, ""))) for d in group}
        rows = set()
        for row, c in enumerate(index.chunks):
            if c.doc_id in texts and c.kind != "card":
                body = _ARTICLE_NUMBER.sub("", _SPACE.sub("", normalize(c.text)))
                if body and any(body in t for d, t in texts.items() if d != c.doc_id):
                    rows.add(row)
        cache[group] = frozenset(rows)
    return cache[group]


def changed_first(rows: list[int], index, groups: tuple[tuple[str, ...], ...]) -> list[int]:
    """``rows`` (a ranking) with the rows of ``unchanged_rows`` of each version group after every other
    row, each part in its order: for "修改后有什么变化" the passages the versions share answer nothing."""
    same: set[int] = set()
    for g in groups:
        same |= unchanged_rows(index, g)
    if not same:
        return rows
    return [r for r in rows if r not in same] + [r for r in rows if r in same]


NUMERAL_QUESTION = re.compile(r"^(?:几|多少)(\w)$")  # 几类, 几项, 多少家: a count asked with its measure word
NUMERAL_WORD = re.compile(r"^[一二三四五六七八九十两百千\d]+(\w)$")
MAX_VOCABULARY_EXPANSIONS = 3  # index words added per question word


def vocabulary_expansions(tokens: list[str], index) -> list[str]:
    """Index words for question words the index does not contain (document frequency 0): the most
    frequent (up to ``MAX_VOCABULARY_EXPANSIONS``) index words that contain the question word (罚 →
    罚款, 处罚 — jieba keeps 罚款 whole, so 罚 alone matches nothing; a single character only when it is
    not an everyday word, ``_everyday_char``), and for a count asked with its
    measure word (几类, 多少项) the index's numeral words with that measure word (四类, 三类). Question
    words (``_QUESTION_WORD``) other than such counts, and bare numbers or Latin words, get none."""
    out: list[str] = []
    for t in dict.fromkeys(tokens):
        if index.df.get(t, 0) or not t or t.isascii():
            continue
        m = NUMERAL_QUESTION.match(t)
        if m:
            words = _vocabulary(index)[1].get(m.group(1), [])
        elif _QUESTION_WORD.search(t) or (len(t) == 1 and _everyday_char(t)):
            continue
        else:
            words = [w for w in _vocabulary(index)[0].get(t[0], ()) if t in w]
        out += [w for w in words[:MAX_VOCABULARY_EXPANSIONS] if w not in out and w not in tokens]
    return out


def _everyday_char(char: str) -> bool:
    """True when ``char`` is an everyday word of its own (jieba dictionary frequency ≥ COMMON_WORD_FREQ:
    字, 靠, 跟, 钱), whose compounds (数字, 可靠) are other words; a rarer one (罚, 骗, 遗) is the head of
    the documents' compounds (罚款, 骗取, 遗产)."""
    from rag.text import _jieba

    return _jieba(None).dt.FREQ.get(char, 0) >= COMMON_WORD_FREQ  # (the dictionary loaded on first use)


def _vocabulary(index) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(character → index words containing it, measure word → numeral words ending in it), each list
    most frequent first; built once per loaded index from its document frequencies ``index.df``
    (``PlanningData.vocabulary``)."""
    return PlanningData.of(index).vocabulary


# a question about the consequence of a violation (罚多少, 怎么处理, 要担什么责任); regulations state it in
# their chapter 法律责任 (the standard chapter of Chinese laws and regulations)
PENALTY_QUESTION = re.compile(r"罚|处分|法律责任|(?:怎么|如何|怎样)(?:处理|处置|追责)|追究|担什么责任|后果")
PENALTY_SECTION = "法律责任"


def penalty_sections(index) -> tuple[str, ...]:
    """Section labels of ``index`` (``chunk_section_labels``: 第八章法律责任) that are a 法律责任 chapter
    (cached per index, ``PlanningData``); () for documents without one (plans, 实施方案)."""
    return PlanningData.of(index).penalty_sections


def comparison_groups(plan, docs: dict) -> dict[str, set[str]] | None:
    """Groups of documents a cross-document question compares: one per named document
    (``plan.doc_ids``) when it names two or more, else one per named region (``plan.regions``, documents
    by ``DocumentMeta.region``) when it names two or more; None otherwise. The versions of one title
    (same normalised title) are one document, compared only when the question asks what changed between
    them (``plan.changed_versions``): "上海新建住宅小区的物业管理用房面积有什么标准" names one 规定."""
    if len(plan.doc_ids) >= 2:
        titles = {normalize(docs[d].title or "") for d in plan.doc_ids if d in docs}
        if len(titles) == 1 and not getattr(plan, "changed_versions", ()):
            return None
        return {d: {d} for d in plan.doc_ids}
    if len(plan.regions) >= 2:
        groups = {r: {d for d, m in docs.items() if m.region == r} for r in plan.regions}
        return {r: ids for r, ids in groups.items() if ids} or None
    return None
