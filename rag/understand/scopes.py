"""Scopes: the documents and regions a question refers to, and the sub-query searched inside each.

``_scopes`` turns the question's document references (``rag.understand.references.document_scopes``) and
the regions it names into ``Scope`` records and decides whether they are compared (分别, 有什么不同, an
evolution, two distinct documents); ``implicit_scope`` finds the document a question names only by its
region and topic words; ``_sub_query`` is the question without the words that refer to a scope;
``jurisdiction_covers`` tells whether a region's documents apply in the regions a question names (the
place, its province, a province's cities). Used by ``rag.understand.query.plan_query``
(``QueryPlan.scopes``, ``QueryPlan.region_doc_ids``); the names are re-exported by ``rag.understand.query``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.ingest.metadata import NATIONAL_REGION
from rag.text import normalize
from rag.understand.references import _EVOLUTION, document_scopes, is_comparison, region_words


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


def applies_in(region: str | None, regions: tuple[str, ...]) -> bool:
    """True when a document of ``region`` applies in the places ``regions``: a national text (no region, or
    ``NATIONAL_REGION`` "全国") everywhere, a local one as ``jurisdiction_covers`` says."""
    return not region or region == NATIONAL_REGION or jurisdiction_covers(region, regions)


@lru_cache(maxsize=1024)
def _province_of(region: str) -> str | None:
    """The full name of the province a full division name lies in (itself for a province or a
    municipality), from the gazetteer; None when the name is not a division."""
    from rag.ingest.metadata import find_places

    found = [p for p, start in find_places(region, short_names=False) if start == 0 and p.name == region]
    return found[0].province if found else None
