"""Query planning: from a question to what the retrievers search for.

* **document references** — titles, short names and document numbers from the manifest that the
  question names (normalised as in ``rag.text.normalize``); the retriever then also searches inside
  each named document, so that a question naming two documents gets passages from both;
* **concept expansion** — the curated policy-concept list ``corpus/concepts.json`` maps the words a
  company uses (钠离子电池, 火锅底料, 减速器) to the documents' vocabulary (新型储能, 绿色食品,
  机器人); matched concept terms are added to the lexical query and the dense query text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.text import normalize


@dataclass(frozen=True)
class Concept:
    """One entry of concepts.json: ``term`` as the documents write it, and the words that lead to it."""

    concept_id: str
    term: str
    aliases: tuple[str, ...] = ()
    company_words: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()

    def triggers(self) -> tuple[str, ...]:
        return (self.term, *self.aliases, *self.company_words)


@dataclass(frozen=True)
class ConceptMatch:
    """A concept the question triggered: ``matched`` is the question's word, ``term`` the policy term."""

    concept_id: str
    matched: str
    term: str
    expansions: tuple[str, ...]


@dataclass(frozen=True)
class QueryPlan:
    """``tokens``: lexical query (jieba tokens + expansions); ``dense_text``: text to embed;
    ``doc_ids``: documents the question names; ``concepts``: expansions that were applied."""

    question: str
    tokens: list[str]
    dense_text: str
    doc_ids: tuple[str, ...] = ()
    concepts: tuple[ConceptMatch, ...] = field(default_factory=tuple)
    regions: tuple[str, ...] = ()


@lru_cache(maxsize=8)
def load_concepts(path: str) -> tuple[Concept, ...]:
    """Concepts from a concepts.json file (empty when the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return ()
    data = json.loads(p.read_text(encoding="utf-8"))
    return tuple(
        Concept(c.get("id") or c["term"], c["term"], tuple(c.get("aliases") or ()),
                tuple(c.get("company_words") or ()), tuple(c.get("broader") or ()))
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
    aliases are the expansions, ``broader`` terms are not (they would drift the query)."""
    norm = normalize(text).lower()
    out: list[ConceptMatch] = []
    for concept in concepts:
        best = None
        for word in concept.triggers():
            w = normalize(word).lower()
            if len(w) >= 2 and _contains_word(norm, w) and (best is None or len(w) > len(best)):
                best = word
        if best is not None:
            out.append(ConceptMatch(concept.concept_id, best, concept.term, (concept.term, *concept.aliases)))
    return out


def referenced_documents(question: str, docs: dict) -> tuple[str, ...]:
    """Ids of documents whose title, short name or document number occurs in the question."""
    norm = normalize(question)
    found = []
    for doc_id, meta in docs.items():
        names = [meta.title, *meta.short_names, meta.doc_number or ""]
        if any(len(normalize(n)) >= 4 and normalize(n) in norm for n in names if n):
            found.append(doc_id)
    return tuple(found)


def corpus_text(index) -> str:
    """All cleaned document texts and cards of the index, normalised and lower-cased (computed once
    per loaded index and kept on it)."""
    cached = getattr(index, "_corpus_text", None)
    if cached is None:
        cards = "\n".join(c.text for c in index.chunks if c.kind == "card")
        cached = normalize("\n".join([*index.doc_texts.values(), cards])).lower()
        index._corpus_text = cached
    return cached


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


_REGION_WORDS = {"成都市": ("成都", "蓉"), "四川省": ("四川", "省里", "全省", "我省", "省级", "省方案", "省政府", "川")}


def referenced_regions(question: str) -> tuple[str, ...]:
    """Regions the question names ("四川省", "成都市"); "成都" alone does not imply 四川省."""
    q = question.replace("成都", "")  # 成都 contains no province word, but 四川 checks must not see it
    found = []
    if any(w in question for w in _REGION_WORDS["成都市"][:1]):
        found.append("成都市")
    if any(w in q for w in _REGION_WORDS["四川省"][:-1]):
        found.append("四川省")
    return tuple(found)


def plan_query(question: str, index, settings) -> QueryPlan:
    """Build the QueryPlan of ``question`` over a loaded index (see module docstring)."""
    tokens = index.tokenizer.tokens(question)
    dense_text = question
    matches: list[ConceptMatch] = []
    if settings.use_concepts:
        matches = match_concepts(question, load_concepts(str(Path(settings.corpus_dir) / "concepts.json")))
        corpus = corpus_text(index)
        extra = []
        for m in matches:
            # expand only the company's words that the documents do not use themselves
            if normalize(m.matched).lower() not in corpus and normalize(m.term) not in normalize(question):
                extra.extend(m.expansions[:3])
        for word in extra:
            tokens.extend(index.tokenizer.tokens(word))
        if extra:
            dense_text = question + " " + " ".join(extra)
    doc_ids = referenced_documents(question, index.docs) if settings.use_doc_routing else ()
    regions = referenced_regions(question) if settings.use_doc_routing else ()
    return QueryPlan(question, tokens, dense_text, doc_ids, tuple(matches), regions)
