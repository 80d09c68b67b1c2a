"""Extractive answering (no LLM): the best source sentences verbatim, each with its citation.

Sentence score (all parts in [0, 1]):

    coverage(s)  = Σ idf(t) over question terms t found in the sentence (or its section path or the
                   label sentence before it in the chunk, "驱动电机。", at half weight) / Σ idf(t) over all question terms          (BM25 idf, see LoadedIndex.idf)
    score(s)     = coverage(s) + 0.15·[question asks a number/date and s states one]
                                + 0.04·min(items, 8)·[question asks for a list and s enumerates
                                                      ≥ 3 items with 、, or s is a label heading
                                                      ≥ 2 further labels (is_label)]
                                + 0.05 / rank(hit)

Whether to answer at all is decided by ``rag.refusal.check_refusal`` (evidence coverage and the
question's information need).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.meta_answers import asked_metadata, metadata_answer  # noqa: F401  (re-exported)
from rag.text import normalize, split_sentences
from rag.types import Citation, Hit

ASKS_NUMBER = re.compile(r"多少|几[个家项大类条]?|比例|比重|目标|规模|增速|增长|达到|亿元|万元|占比|数量|多大|多高|百分")
ASKS_DATE = re.compile(r"何时|哪年|哪一年|什么时候|时间|期限|日期|年份|起止|规划期|多久|截至|到期|发布")
ASKS_LIST = re.compile(r"哪些|哪[几两二三四五六七八九十]|包括|有什么|列举|分别|几大|主要方向|重点")
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


def concept_alternatives(terms, plan) -> dict[str, tuple[str, ...]]:
    """term → the lower-cased expansions of the concepts in ``plan.concepts`` (``rag.query.ConceptMatch``)
    whose matched word contains the term or lies inside it: a concept's policy term (新型储能) counts
    for the company's word (钠离子电池). ``terms``: any iterable of lower-cased question terms; {} when
    ``plan`` is None."""
    alternatives: dict[str, tuple[str, ...]] = {}
    for m in (plan.concepts if plan is not None else ()):
        matched = m.matched.lower()
        for t in terms:
            if t in matched or matched in t:
                alternatives[t] = alternatives.get(t, ()) + tuple(e.lower() for e in m.expansions)
    return alternatives


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
        section_context = normalize(hit.title + hit.chunk.section).lower()
        spans = split_sentences(hit.chunk.text)
        label = ""  # the latest label sentence ("驱动电机。"): a heading for the sentences after it
        for i, (start, end) in enumerate(spans):
            if end - start > MAX_SENTENCE_CHARS * 2:
                continue
            raw = hit.chunk.text[start:end]
            sent = normalize(raw).lower()
            context = section_context + label
            if is_label(raw):
                label = sent
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
            if wants_list and sent.count("、") >= 2:  # an enumeration: the more items, the likelier the list
                bonus += 0.04 * min(sent.count("、") + 1, 8)
            elif wants_list and is_label(raw):  # a label heading a run of labels (专栏 items)
                run = len(_label_run(hit.chunk.text, spans, i))
                bonus += 0.04 * min(run, 8) if run >= 2 else 0.0
            out.append(ScoredSentence(hit, start, end, coverage, coverage + bonus))
    out.sort(key=lambda s: -s.score)
    return out


_LABEL_STRIP = re.compile(r"^[—\-－–\s]+|[。；;.\s]+$")


def is_label(sentence: str) -> bool:
    """A short label sentence ("新型能源材料。", "——智能制造装备。"): ≤ 16 characters without
    punctuation inside — an item heading in a 专栏 or an enumeration split over sentences."""
    core = _LABEL_STRIP.sub("", sentence.strip())
    return 2 <= len(core) <= 16 and not re.search(r"[，,、：:；;（(]", core)


def _label_run(text: str, spans: list[tuple[int, int]], i: int) -> list[tuple[int, int]]:
    """The label sentences after sentence ``i`` of ``text`` up to the next "——" group heading."""
    out = []
    for start, end in spans[i + 1:]:
        raw = text[start:end]
        if raw.lstrip().startswith(("——", "--")):
            break
        if is_label(raw):
            out.append((start, end))
    return out


def section_label(hit: Hit) -> str:
    """The innermost heading of the hit's section path ("14. 生物农业"), "" for none."""
    return hit.chunk.section.split(" › ")[-1].strip() if hit.chunk.section else ""


def doc_label(doc_id: str, docs: dict) -> str:
    """"四川省《short name》" for a document id (its first short name, else its title)."""
    meta = docs.get(doc_id)
    if meta is None:
        return doc_id
    name = meta.short_names[0] if meta.short_names else meta.title
    return f"{meta.region or ''}《{name}》"


def _pick(sentences: list[ScoredSentence], max_sentences: int, chosen: list[ScoredSentence]) -> list[ScoredSentence]:
    """Up to ``max_sentences`` of ``sentences`` (best first) scoring ≥ 85 % of the best, skipping sentences
    already chosen or contained in a chosen one."""
    out: list[ScoredSentence] = []
    best = sentences[0].score if sentences else 0.0
    for s in sentences:
        if len(out) >= max_sentences or s.score < 0.85 * best:
            break
        if any(s.hit.chunk.chunk_id == c.hit.chunk.chunk_id and (c.start <= s.start < c.end) for c in chosen + out):
            continue
        if any(normalize(s.text) in normalize(c.text) for c in chosen + out):
            continue
        out.append(s)
    return out


def _continuation(s: ScoredSentence, hits: list[Hit], limit: int = 10) -> list[ScoredSentence]:
    """The rest of an enumeration that ``s`` heads: for a label sentence, the labels after it (a 专栏's
    items, "新型能源材料。…先进高分子材料。"); for a sentence ending in "：", the sentences after it.
    When the run reaches the end of the chunk it continues in the next chunk of the same document
    section among ``hits`` (chunks overlap by one sentence; repeats are dropped). Verbatim spans."""
    text = s.hit.chunk.text
    spans = split_sentences(text)
    i = next((j for j, (a, _) in enumerate(spans) if a == s.start), None)
    if i is None:
        return []
    colon = text[s.start:s.end].rstrip().endswith(("：", ":"))
    if not (colon or is_label(text[s.start:s.end])):
        return []
    out: list[ScoredSentence] = []
    hit, seen = s.hit, {normalize(text[s.start:s.end])}
    while hit is not None and len(out) < limit:
        if colon:
            items, stop = spans[i + 1:i + 1 + limit], False
        else:
            items = _label_run(hit.chunk.text, spans, i)
            stop = any(hit.chunk.text[a:b].lstrip().startswith(("——", "--")) for a, b in spans[i + 1:])
        for a, b in items:
            key = normalize(hit.chunk.text[a:b])
            if key not in seen and len(out) < limit:
                seen.add(key)
                out.append(ScoredSentence(hit, a, b, s.coverage, s.score))
        if stop or (colon and len(spans) - i - 1 > limit):
            break
        chunk = hit.chunk
        hit = min((h for h in hits if h.chunk.doc_id == chunk.doc_id and h.chunk.section == chunk.section
                   and h.chunk.kind == chunk.kind and chunk.start < h.chunk.start <= chunk.end),
                  key=lambda h: h.chunk.start, default=None)
        if hit is not None:
            spans, i = split_sentences(hit.chunk.text), -1
    return out


def _repeats(s: ScoredSentence, quoted: list[ScoredSentence]) -> bool:
    """``s`` is already quoted: its normalised text lies inside one of ``quoted`` (overlapping chunks
    repeat a sentence; an enumeration can be reached from two chosen sentences)."""
    key = normalize(s.text)
    return any(key in normalize(o.text) for o in quoted)


def compose(sentences: list[ScoredSentence], max_sentences: int = 3, groups: dict[str, set[str]] | None = None,
            docs: dict | None = None, label_sections: bool = False,
            wants_list: bool = False) -> tuple[str, list[Citation]]:
    """Answer text of verbatim sentences with ``[n]`` markers, and the numbered citations.

    Picks the best sentence and up to ``max_sentences - 1`` more scoring ≥ 85 % of it, skipping
    sentences already contained in a chosen one (chunks overlap by one sentence, so the same sentence
    can come from two chunks); citation numbers follow first use.
    ``groups`` (cross-document questions: group name → document ids, e.g. one group per named
    document or region): up to two sentences per group, plus the best sentence of each other document
    of the group scoring ≥ 85 % of the group's best, each labelled by its document (``doc_label``;
    ``docs`` = index.docs), at most 6 lines. ``label_sections``: prefix each sentence
    with the innermost heading of its section in 【】 (the field a company's activity falls under).
    ``wants_list`` (a list question): a chosen label or "…：" sentence is followed on its line by the
    rest of its enumeration (``_continuation``, also from the next chunk of the section), and unless a
    chosen sentence already heads a run of labels, the best enumerating sentence not chosen (≥ 3 items
    with 、, or a label heading ≥ 2 labels, with its run) scoring ≥ 60 % of the best is added. Labels are ours; the sentences and quotes are verbatim.
    """
    if not sentences:
        return "", []
    chosen: list[ScoredSentence] = []
    if groups:
        for doc_ids in groups.values():
            group = [s for s in sentences if s.hit.chunk.doc_id in doc_ids]
            picked = _pick(group, 2, chosen)
            for s in group:  # the best sentence of each other document of the group, when nearly as good
                if picked and s.score >= 0.85 * picked[0].score and all(
                        s.hit.chunk.doc_id != p.hit.chunk.doc_id for p in picked):
                    picked += _pick([s], 1, chosen + picked)
            chosen += picked
        chosen = chosen[:6]
    if not chosen:
        chosen = _pick(sentences, max_sentences, [])
    hits = list({s.hit.chunk.chunk_id: s.hit for s in sentences}.values())
    lines: list[list[ScoredSentence]] = []
    for s in chosen:
        line = [s]
        if wants_list:
            line += [c for c in _continuation(s, hits) if not _repeats(c, chosen + [x for ln in lines for x in ln])]
        lines.append(line)
    if wants_list and not groups and not any(len(line) > 2 for line in lines):
        # the best enumeration (≥ 3 items with 、, or a label heading ≥ 2 labels) not in the answer yet
        best = sentences[0].score
        for s in sentences[:12]:
            if s.score < 0.6 * best:
                break
            run = _continuation(s, hits) if is_label(s.text) else []
            quoted = [x for line in lines for x in line]
            if (s.text.count("、") >= 2 or len(run) >= 2) and _pick([s], 1, quoted):
                lines.append([s, *[c for c in run if not _repeats(c, quoted)]])
                break
    numbers: dict[str, int] = {}
    spans: dict[str, list[int]] = {}
    parts = []
    for line in lines:
        text = ""
        for j, s in enumerate(line):
            cid = s.hit.chunk.chunk_id
            if cid not in numbers:
                numbers[cid] = len(numbers) + 1
                spans[cid] = [s.start, s.end]
            else:  # another sentence of the same passage: the quote becomes the verbatim span covering both
                spans[cid] = [min(spans[cid][0], s.start), max(spans[cid][1], s.end)]
            last_of_chunk = j + 1 == len(line) or line[j + 1].hit.chunk.chunk_id != cid
            text += s.text + (f"[{numbers[cid]}]" if last_of_chunk else "")
        s = line[0]
        label = f"{doc_label(s.hit.chunk.doc_id, docs or {})}：" if groups else ""
        heading = section_label(s.hit) if label_sections else ""
        label += f"【{heading}】" if heading else ""
        parts.append(label + text)
    citations = []
    by_id = {s.hit.chunk.chunk_id: s.hit for line in lines for s in line}
    for cid, n in sorted(numbers.items(), key=lambda kv: kv[1]):
        hit = by_id[cid]
        start, end = spans[cid]
        citations.append(Citation(n, cid, hit.chunk.doc_id, hit.title, hit.chunk.section, hit.chunk.text[start:end]))
    return "\n".join(parts), citations
