"""Policy concepts: the curated concept list (``corpus/concepts.json``), the built-in everyday-word list
(``rag/data/lay_terms.json``) and the concepts a text triggers.

A concept (``Concept``) maps the words a company uses (钠离子电池, 火锅底料, 减速器) to the documents'
vocabulary (新型储能, 绿色食品, 机器人); its ``variants`` are wordings the documents themselves use for one
thing (研发投入 / 研发经费 / R&D经费). The everyday-word list ``LAY_TERMS_PATH`` holds, in the same format and
for any corpus, the words people use for what laws and regulations name otherwise (驾照 → 驾驶证, 饭馆 → 餐饮服务,
房东 → 出租人); ``question_concepts`` gives both lists as one. ``match_concepts`` gives the concepts a text triggers
(``ConceptMatch``); ``rag.understand.query.plan_query`` adds their terms to the lexical and dense queries,
and policy matching (``rag.matching``) reads the same records. ``load_concepts`` keeps the last few files
read; the Aho–Corasick automaton over a concept list's words is built once per list (``_CONCEPT_AUTOMATA``,
guarded by ``_CONCEPT_LOCK``). The names are re-exported by ``rag.understand.query``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.settings import DATA_DIR
from rag.text import normalize

LAY_TERMS_PATH = DATA_DIR / "lay_terms.json"  # everyday word → the documents' term, for any corpus


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


@lru_cache(maxsize=8)
def _question_concepts(corpus_concepts: str, lay_terms: str) -> tuple[Concept, ...]:
    return load_concepts(corpus_concepts) + load_concepts(lay_terms)


def question_concepts(corpus_dir) -> tuple[Concept, ...]:
    """The concepts a question is matched against: the corpus's curated list (``corpus_dir/concepts.json``,
    none when absent) followed by the built-in everyday-word list (``LAY_TERMS_PATH``). One tuple per
    ``corpus_dir`` (kept, so that its Aho–Corasick automaton is built once)."""
    return _question_concepts(str(Path(corpus_dir) / "concepts.json"), str(LAY_TERMS_PATH))


def expansion_notice(expanded) -> str | None:
    """The one-line notice telling the user which of their words were searched as the documents' terms
    (``QueryPlan.expanded``: (question word, term) pairs) — "已按文件用语检索：驾照→驾驶证、司机→驾驶人。" —
    or None when none was."""
    pairs = [f"{word}→{term}" for word, term in dict.fromkeys(expanded)]
    return f"已按文件用语检索：{'、'.join(pairs)}。" if pairs else None


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
