"""Extractive answering (no LLM): the best source sentences verbatim, each with its citation.

Sentence score (all parts in [0, 1]):

    coverage(s)  = Σ idf(t) over question terms t found in the sentence (or its section path, at
                   half weight) / Σ idf(t) over all question terms          (BM25 idf, see LoadedIndex.idf)
    score(s)     = coverage(s) + 0.15·[question asks a number/date and s states one]
                                + 0.10·[question asks for a list and s enumerates with 、]
                                + 0.05 / rank(hit)

The answer is refused ("文件中未找到…") when the best coverage is below ``refusal_threshold``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import normalize, split_sentences
from rag.types import Citation, Hit

ASKS_NUMBER = re.compile(r"多少|几[个家项大类条]?|比例|比重|目标|规模|增速|增长|达到|亿元|万元|占比|数量|多大|多高|百分")
ASKS_DATE = re.compile(r"何时|哪年|哪一年|什么时候|时间|期限|日期|年份|起止|规划期|多久|截至|到期|发布")
ASKS_LIST = re.compile(r"哪些|哪几|包括|有什么|列举|分别|几大|主要方向|重点")
HAS_NUMBER = re.compile(r"\d")
HAS_DATE = re.compile(r"\d{4}\s*年|\d{1,2}月")
MAX_SENTENCE_CHARS = 220


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence: ``text`` is verbatim ``hit.chunk.text[start:end]``."""

    hit: Hit
    start: int
    end: int
    coverage: float
    score: float

    @property
    def text(self) -> str:
        return self.hit.chunk.text[self.start:self.end]


def question_terms(question: str, tokenizer, idf) -> dict[str, float]:
    """Question terms (jieba tokens of ≥ 2 characters or numbers, sub-words of longer terms dropped)
    with their idf weights. Concept expansions are not terms: they are passed to ``score_sentences``
    as alternatives of the words they expand."""
    terms: dict[str, float] = {}
    for t in tokenizer.tokens(question):
        if len(t) >= 2 or t.isdigit():
            terms[t] = idf(t)
    # drop sub-words of longer terms (jieba search mode emits both 影响 and 影响力)
    return {t: w for t, w in terms.items() if not any(t != o and t in o for o in terms)}


def score_sentences(question: str, hits: list[Hit], terms: dict[str, float],
                    alternatives: dict[str, tuple[str, ...]] | None = None) -> list[ScoredSentence]:
    """All sentences of the hits, scored as in the module docstring, best first."""
    total = sum(terms.values()) or 1.0
    alternatives = alternatives or {}
    wants_number = bool(ASKS_NUMBER.search(question))
    wants_date = bool(ASKS_DATE.search(question))
    wants_list = bool(ASKS_LIST.search(question))
    out: list[ScoredSentence] = []
    for hit in hits:
        context = normalize(hit.title + hit.chunk.section).lower()
        for start, end in split_sentences(hit.chunk.text):
            if end - start > MAX_SENTENCE_CHARS * 2:
                continue
            sent = normalize(hit.chunk.text[start:end]).lower()
            if len(sent) < 4:
                continue
            got = 0.0
            for term, weight in terms.items():
                options = (term, *alternatives.get(term, ()))
                if any(o in sent for o in options):
                    got += weight
                elif any(o in context for o in options):
                    got += 0.5 * weight
            coverage = got / total
            bonus = 0.05 / hit.rank
            if wants_number and HAS_NUMBER.search(sent):
                bonus += 0.15
            if wants_date and HAS_DATE.search(sent):
                bonus += 0.15
            if wants_list and sent.count("、") >= 2:
                bonus += 0.10
            out.append(ScoredSentence(hit, start, end, coverage, coverage + bonus))
    out.sort(key=lambda s: -s.score)
    return out


def compose(sentences: list[ScoredSentence], max_sentences: int = 3) -> tuple[str, list[Citation]]:
    """Answer text of verbatim sentences with ``[n]`` markers, and the numbered citations.

    Picks the best sentence and up to ``max_sentences - 1`` more scoring ≥ 85 % of it, skipping
    sentences already contained in a chosen one; citation numbers follow first use.
    """
    if not sentences:
        return "", []
    best = sentences[0].score
    chosen: list[ScoredSentence] = []
    for s in sentences:
        if len(chosen) >= max_sentences or s.score < 0.85 * best:
            break
        if any(s.hit.chunk.chunk_id == c.hit.chunk.chunk_id and (c.start <= s.start < c.end) for c in chosen):
            continue
        if any(normalize(s.text) in normalize(c.text) for c in chosen):
            continue
        chosen.append(s)
    numbers: dict[str, int] = {}
    spans: dict[str, list[int]] = {}
    parts = []
    for s in chosen:
        cid = s.hit.chunk.chunk_id
        if cid not in numbers:
            numbers[cid] = len(numbers) + 1
            spans[cid] = [s.start, s.end]
        else:  # a second sentence of the same passage: the quote becomes the verbatim span covering both
            spans[cid] = [min(spans[cid][0], s.start), max(spans[cid][1], s.end)]
        parts.append(f"{s.text}[{numbers[cid]}]")
    citations = []
    for s in chosen:
        cid = s.hit.chunk.chunk_id
        if numbers[cid] == len(citations) + 1:
            start, end = spans[cid]
            citations.append(Citation(numbers[cid], cid, s.hit.chunk.doc_id, s.hit.title, s.hit.chunk.section,
                                      s.hit.chunk.text[start:end]))
    return "\n".join(parts), citations
