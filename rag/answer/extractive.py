"""Extractive answering (no LLM): the best source sentences verbatim, each with its citation.

Sentence score (all parts in [0, 1]):

    coverage(s)  = Σ idf(t) over question terms t found in the sentence or its document's title (the title
                   is about every sentence: "河南省科学技术进步条例…由哪个部门负责解释" no longer prefers the
                   sentences writing 科学技术) (or only in its section path or the label sentence before it in
                   the chunk, "驱动电机。", at half weight) / Σ idf(t) over all question terms
                   (BM25 idf, see LoadedIndex.idf)
    score(s)     = coverage(s) + 0.15·[question asks a number/date and s states one]
                                + 0.04·min(items, 8)·[question asks for a list and s enumerates
                                                      ≥ 3 items with 、, or s is a label heading
                                                      ≥ 2 further labels (is_label)]
                                + 0.05 / rank(hit)

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.answer.focus import _table_header
from rag.injection import inside, instruction_spans
from rag.retrieve.lists import is_label
from rag.answer.meta_answers import metadata_answer, repeal_statement  # noqa: F401  (re-exported)
from rag.understand.need import _QUANTITIES, _YES_NO, need_analysis, question_parts  # noqa: F401  (question_parts re-exported)
from rag.text import normalize, split_sentences
from rag.understand.quantities import stated_bounds, stated_quantities
from rag.types import Citation, Hit

ASKS_NUMBER = re.compile(r"多少|几[个家项大类条]?|比例|比重|目标|规模|增速|增长|达到|亿元|万元|占比|数量|多大|多高|百分")
ASKS_DATE = re.compile(r"何时|哪年|哪一年|什么时候|时间|期限|日期|年份|起止|规划期|多久|截至|到期|发布")
ASKS_LIST = re.compile(r"哪些|哪[几两二三四五六七八九十]|包括|有什么|列举|分别|几大|主要方向|重点")
ASKS_HEADING = re.compile(r"章节|[哪几]个?一?[章节编]|第几[章节编条]|标题|叫什么|名称")
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
    value: tuple[bool, ...] = ()  # per question part: the sentence states a value of a kind it asks (``asked_values``)
    parts: tuple[float, ...] = ()  # coverage of each part of a several-part question (``question_parts``)

    @property
    def text(self) -> str:
        return self.hit.chunk.text[self.start:self.end]


_VALUE_SCORED = ("org", "place", "person")  # asked kinds whose stated value adds VALUE_BONUS (numbers and dates
# have their own bonus)
VALUE_BONUS = 0.15


def states_value(sentence: str, patterns: list[re.Pattern], question: str) -> bool:
    """``sentence`` states a value one of ``patterns`` (``asked_values``) matches that ``question``
    does not already contain (a name by its last four characters: “建设若干概念验证中心” is the 概念验证中心 the
    question names; a number, amount or duration as a whole: "五个工作日" is new to "几个工作日内"); an item's numbering ("2. …", "（三）", "专栏 9") and a reference to an article or item
    ("违反本条例第二十四条第一款规定", ``_REFERENCE``) state none."""
    sentence = _REFERENCE.sub("", _HEADING_NUMBER.sub("", sentence))
    return any((m.group(0) if p in _QUANTITIES else m.group(0)[-4:]) not in question and not _names_nothing(sentence, m)
               for p in patterns for m in p.finditer(sentence))


# a reference to an article, paragraph or item ("本条例第二十四条第一款", "第三十四条第二项", "前款第（三）项")
# states no value of its own
_REFERENCE = re.compile(r"第[一二三四五六七八九十百零〇两\d]+[条款项目章节编]|第?[（(][一二三四五六七八九十\d]{1,3}[）)]项")


_COMMON_ENDINGS = ("布局", "格局", "大局", "全局", "结局", "开局", "终局", "时局", "当局", "邮局")


def _names_nothing(sentence: str, m: re.Match) -> bool:
    """A match of an organisation pattern that names none: a common word ending in 局 (布局, 格局)
    or a 委 that opens a verb (委托)."""
    text = m.group(0)
    return text.endswith(_COMMON_ENDINGS) or (text.endswith("委") and sentence[m.end():m.end() + 1] in "托屈派")


def score_sentences(question: str, hits: list[Hit], terms: dict[str, float],
                    alternatives: dict[str, tuple[str, ...]] | None = None, plan=None) -> list[ScoredSentence]:
    """All sentences of the hits, scored as in the module docstring, best first. Each also records
    whether it states a value the question asks for (``value``: ``asked_values``, of any part) and,
    for a question of several parts (``question_parts``), its coverage of each part's terms (``parts``).
    ``plan``: the QueryPlan (its need analysis is used when it is of ``question``) or None."""
    total = sum(terms.values()) or 1.0
    alternatives = alternatives or {}
    analysis = need_analysis(question, plan)
    parts = list(analysis.parts)
    part_terms = [{t: w for t, w in terms.items() if t in part.lower()} for part in parts] if len(parts) > 1 else []
    from rag.understand.need import VALUE_KINDS

    asked = [list(v) for v in analysis.part_values]  # asked_values of each part
    values = [p for a in asked for p in a]
    scored_values = [k.evidence for k in VALUE_KINDS if k.name in _VALUE_SCORED and k.evidence in values]
    # a count word inside a yes/no question is indefinite ("多租几个人，可以吗"): no number is asked
    wants_number = bool(ASKS_NUMBER.search(_YES_NO.sub("", analysis.need)))
    wants_date = bool(ASKS_DATE.search(question))
    wants_list = bool(ASKS_LIST.search(question))
    quantity_terms, units = _quantity_terms(question, terms)
    out: list[ScoredSentence] = []
    for hit in hits:
        section_context = normalize(hit.title + hit.chunk.section).lower()
        title = normalize(hit.title).lower()
        spans = split_sentences(hit.chunk.text)
        label = ""  # the latest label sentence ("驱动电机。"): a heading for the sentences after it
        header = _table_header(hit.chunk)  # a table row's column labels are its context too
        orders = instruction_spans(hit.chunk.text)  # text addressed to a model is never an answer
        for i, (start, end) in enumerate(spans):
            if end - start > MAX_SENTENCE_CHARS * 2 or (orders and inside(orders, start, end)):
                continue
            raw = hit.chunk.text[start:end]
            sent = normalize(raw).lower()
            context = section_context + label + (header if "\t" in raw and sent != header else "")
            if is_label(raw):
                label = sent
            if len(sent) < 4:
                continue
            found = _found_terms(sent, context, terms, alternatives, title)
            if quantity_terms and any(b.unit in units for b in stated_bounds(raw)):
                found.update(quantity_terms)  # 八十多户 against 户数一百户以下: the threshold it turns on
            coverage = sum(found.values()) / total
            value = tuple(bool(a) and states_value(raw, a, question) for a in asked)
            covered = tuple(sum(found.get(t, 0.0) for t in pt) / (sum(pt.values()) or 1.0) for pt in part_terms)
            bonus = 0.05 / hit.rank
            if scored_values and states_value(raw, scored_values, question):
                bonus += VALUE_BONUS
            if wants_number and HAS_NUMBER.search(sent):
                bonus += 0.15
            if wants_date and HAS_DATE.search(sent):
                bonus += 0.15
            if wants_list and sent.count("、") >= 2:  # an enumeration: the more items, the likelier the list
                bonus += 0.04 * min(sent.count("、") + 1, 8)
            elif wants_list and is_label(raw):  # a label heading a run of labels (专栏 items)
                run = len(_label_run(hit.chunk.text, spans, i))
                bonus += 0.04 * min(run, 8) if run >= 2 else 0.0
            out.append(ScoredSentence(hit, start, end, coverage, coverage + bonus, value, covered))
    out.sort(key=lambda s: -s.score)
    return out


def _quantity_terms(question: str, terms: dict[str, float]) -> tuple[dict[str, float], set[str]]:
    """The question terms (term → idf weight) overlapping a quantity the question states
    (``rag.understand.quantities.stated_quantities``: "十多户" of "八十多户"), and the units of those
    quantities; ({}, set()) when it states none. A sentence setting a threshold in such a unit
    ("户数一百户以下的住宅小区") holds them."""
    spans = stated_quantities(question)
    if not spans:
        return {}, set()
    q = question.lower()

    def overlaps(t: str) -> bool:
        at = q.find(t)
        while at != -1:
            if any(at < sp.end and at + len(t) > sp.start for sp in spans):
                return True
            at = q.find(t, at + 1)
        return False

    return {t: w for t, w in terms.items() if overlaps(t)}, {sp.unit for sp in spans}


def _found_terms(sent: str, context: str, terms: dict[str, float],
                 alternatives: dict[str, tuple[str, ...]], title: str = "") -> dict[str, float]:
    """Question ``terms`` (term → idf weight) that normalised, lower-cased ``sent`` or its document's
    ``title`` holds (full weight: a title word is about every sentence of the document, so it favours
    none of them over another) or only its ``context`` holds (half weight), a term's concept
    ``alternatives`` counting for it. On the dev splits key facts / truthfulness: bundled 0.794 → 0.808 /
    0.632 → 0.647, external_dev 0.927 → 0.938 / 0.905 → 0.931, x3 0.828 → 0.862 / 0.706 → 0.765, x4
    0.546 → 0.529 / 0.529 → 0.485, qa2 0.763 → 0.759 / 0.522, x5 and x6 unchanged."""
    found: dict[str, float] = {}
    for term, weight in terms.items():
        options = (term, *alternatives.get(term, ()))
        if any(o in sent for o in options) or (title and term in title):
            found[term] = weight
        elif any(o in context for o in options):
            found[term] = 0.5 * weight
    return found


UNIT_MAX_CHARS = 2 * MAX_SENTENCE_CHARS  # longest lead + value span quoted as one unit


def value_units(question: str, sentences: list[ScoredSentence], terms: dict[str, float],
                alternatives: dict[str, tuple[str, ...]] | None = None, plan=None) -> list[ScoredSentence]:
    """``sentences`` (``score_sentences``, best first) re-ranked for answering a question that asks for a
    value (a penalty amount, a time limit, a number, an organisation — ``asked_values``): a regulation
    article states the case in its lead clause and the value in a later clause of the same paragraph
    ("…的，由城管执法部门责令立即改正；" + "拒不改正的，处五十元以上二百元以下罚款。"), so each sentence stating an
    asked value (``value``) is also offered as a unit with the best earlier sentence of its paragraph in
    the same passage that covers the question (or one part of a several-part question) better: the verbatim span from that lead to the value (≤ ``UNIT_MAX_CHARS``), scored like a
    sentence on its whole text (coverage of question ``terms`` with their concept ``alternatives``, the
    value sentence's bonuses). Every sentence stating an asked value adds ``VALUE_BONUS`` (a neighbour
    sentence without the value answers nothing asked). ``sentences`` unchanged, in their order, when the
    question asks for no value or no sentence states one. ``plan``: the QueryPlan (its need analysis is used
    when it is of ``question``) or None."""
    analysis = need_analysis(question, plan)
    if not sentences or not analysis.values or not any(any(s.value) for s in sentences):
        return sentences  # a list question ("一共多少个方向？列一下") asks for no single value
    alternatives = alternatives or {}
    total = sum(terms.values()) or 1.0
    parts = list(analysis.parts)
    part_terms = [{t: w for t, w in terms.items() if t in part.lower()} for part in parts] if len(parts) > 1 else []
    by_chunk: dict[str, list[ScoredSentence]] = {}
    for s in sentences:
        by_chunk.setdefault(s.hit.chunk.chunk_id, []).append(s)
    out: list[ScoredSentence] = []
    for s in sentences:
        if not any(s.value):
            out.append(s)
            continue
        bonus = s.score - s.coverage + VALUE_BONUS
        out.append(replace(s, score=s.coverage + bonus))
        text = s.hit.chunk.text
        best = None
        for lead in by_chunk[s.hit.chunk.chunk_id]:
            better = lead.coverage > s.coverage or any(a > b for a, b in zip(lead.parts, s.parts))
            if not (lead.end <= s.start and "\n" not in text[lead.start:s.start]
                    and s.end - lead.start <= UNIT_MAX_CHARS and better):
                continue
            sent = normalize(text[lead.start:s.end]).lower()
            context = normalize(s.hit.title + s.hit.chunk.section).lower()
            found = _found_terms(sent, context, terms, alternatives, normalize(s.hit.title).lower())
            coverage = sum(found.values()) / total
            if best is None or coverage > best.coverage:
                covered = tuple(sum(found.get(t, 0.0) for t in pt) / (sum(pt.values()) or 1.0) for pt in part_terms)
                value = tuple(a or b for a, b in zip(s.value, lead.value)) if lead.value else s.value
                best = replace(s, start=lead.start, coverage=coverage, score=coverage + bonus, value=value,
                               parts=covered)
        if best is not None and best.coverage > s.coverage:
            out.append(best)
    out.sort(key=lambda x: -x.score)
    return out


LIST_HEAD_ITEM_BONUS = 0.04  # per item (at most 8) of the enumeration a "…下列事项：" sentence heads, as for 、 items


def _head_items(s: ScoredSentence) -> int:
    """The number of numbered items ("（一）", "1.", "一、") on the lines right after ``s`` in its passage
    when ``s`` ends in "：", else 0."""
    text = s.hit.chunk.text
    if not text[s.start:s.end].rstrip().endswith(("：", ":")) or "\n" not in text[s.end:s.end + 3]:
        return 0
    n = 0
    for line in text[s.end:].split("\n"):
        if not line.strip():
            continue
        if not _HEADING_NUMBER.match(line):
            break
        n += 1
    return n


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


def term_subwords(question: str, terms: dict[str, float], tokenizer, idf, plan=None) -> dict[str, dict[str, float]]:
    """term → {sub-word: idf weight} for the question ``terms`` of ≥ 3 characters that the asker uses to
    describe themselves (outside ``rag.understand.need.need_clause``: "我们是…做海洋生物材料的企业" — the documents
    name the field more broadly): the question's tokens (jieba search mode) of ≥ 2 characters inside the
    term ("海洋生物" → 海洋, 生物). {} for a question without a self-description. ``plan``: the QueryPlan
    (its need analysis is used when it is of ``question``) or None."""
    need = need_analysis(question, plan).need.lower()
    tokens = {t for t in tokenizer.tokens(question) if len(t) >= 2}
    out: dict[str, dict[str, float]] = {}
    for term in terms:
        if len(term) < 3 or term in need:
            continue
        subs = {t: idf(t) for t in tokens if t != term and t in term}
        if subs:
            out[term] = subs
    return out


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
    """"某省《short name》" for a document id (its first short name, else its title)."""
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
    section among ``hits`` (chunks overlap by one sentence, or follow after the line break that ends
    this one; repeats are dropped). Verbatim spans."""
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
            items, stop = _numbered_run(hit.chunk.text, spans[i + 1:i + 1 + limit]), False
        else:
            items = _label_run(hit.chunk.text, spans, i)
            stop = any(hit.chunk.text[a:b].lstrip().startswith(("——", "--")) for a, b in spans[i + 1:])
        orders = instruction_spans(hit.chunk.text)
        for a, b in items:
            key = normalize(hit.chunk.text[a:b])
            if key not in seen and len(out) < limit and not inside(orders, a, b):
                seen.add(key)
                out.append(ScoredSentence(hit, a, b, s.coverage, s.score))
        if stop or (colon and len(spans) - i - 1 > limit):
            break
        chunk = hit.chunk
        hit = min((h for h in hits if h.chunk.doc_id == chunk.doc_id and h.chunk.section == chunk.section
                   and h.chunk.kind == chunk.kind and chunk.start < h.chunk.start <= chunk.end + 1),
                  key=lambda h: h.chunk.start, default=None)
        if hit is not None:
            spans, i = split_sentences(hit.chunk.text), -1
    return out


def _list_head(s: ScoredSentence) -> ScoredSentence | None:
    """The "…：" sentence heading the numbered list that ``s`` is an item of ("第二十六条 本市生活垃圾分为以下
    四类：" for "（二）有害垃圾，指…"): ``s`` starts a line with an item number, and the lines before it in its
    passage are numbered items up to a line ending in "：" (its last sentence, which may follow the article's
    lead sentence: "第四十四条…提供相应的服务。物业服务合同可以约定下列服务事项："); that sentence with ``s``'s
    scores, else None."""
    text = s.hit.chunk.text
    if not _HEADING_NUMBER.match(text[s.start:s.end]) or not _starts_line(text, s.start):
        return None
    for a, b in reversed([sp for sp in split_sentences(text) if sp[1] <= s.start]):
        raw = text[a:b]
        if raw.rstrip().endswith(("：", ":")) and text[b:s.start].lstrip(" \t\u3000").startswith("\n"):
            return replace(s, start=a, end=b)  # the head ends its line (it may follow the article's lead sentence)
        if not _starts_line(text, a):
            continue  # a later sentence of an item's line
        if _HEADING_NUMBER.match(raw):
            continue
        return None
    return None


def _starts_line(text: str, a: int) -> bool:
    """Offset ``a`` of ``text`` begins a line (spaces before it aside)."""
    return a == 0 or text[:a].rstrip(" \t\u3000").endswith("\n")


def _numbered_run(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` (the sentences after a "…：" head) up to the first line that does not start with an item
    number when the first starts with one ("（一）…；（二）…" then the article's next paragraph); all of
    them otherwise."""
    if not spans or not _HEADING_NUMBER.match(text[spans[0][0]:spans[0][1]]):
        return spans
    out = []
    for a, b in spans:
        if _starts_line(text, a) and not _HEADING_NUMBER.match(text[a:b]):
            break
        out.append((a, b))
    return out


def _repeats(s: ScoredSentence, quoted: list[ScoredSentence]) -> bool:
    """``s`` is already quoted: its normalised text lies inside one of ``quoted`` (overlapping chunks
    repeat a sentence; an enumeration can be reached from two chosen sentences)."""
    key = normalize(s.text)
    return any(key in normalize(o.text) for o in quoted)


def compose(sentences: list[ScoredSentence], max_sentences: int = 3, groups: dict[str, set[str]] | None = None,
            docs: dict | None = None, label_sections: bool = False,
            wants_list: bool = False, items: list[ScoredSentence] | None = None,
            terms: dict[str, float] | None = None) -> tuple[str, list[Citation]]:
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
    the numbered list of them ("1. （一）前沿生物[1]"), followed by the best sentence when it answers
    question ``terms`` (term → idf weight) that neither the items nor the section heading hold — it
    asks for more than the items' names; then each item also shows the sentence of its own passage
    that holds what is asked (``_item_content``: "1. （二）先进能源：深入贯彻国家能源安全战略…[2]"), and
    the best sentences follow as for any list question. A one-sentence line that is a table row is shown as
    header/cell pairs (``table_cells``).
    Text already quoted is not repeated (overlapping chunks), citations whose quotes contain one another
    are merged (``merge_citations``). Labels are ours; the sentences and quotes are verbatim.
    """
    sentences = [s for s in sentences if not _is_title(s)] or sentences  # a title line answers nothing asked
    if not groups:  # a question scoped to a place: its documents' sentences first
        sentences = scoped_order(sentences, terms or {}, docs or {})
    if items:
        rows = [(f"{i}. ", [it]) for i, it in enumerate(items, start=1)]
        if _asks_more(items, sentences, terms or {}):  # the question asks what the items say, not their names
            rows = [(prefix, [it, *_item_content(it, items, terms or {})]) for prefix, (it,) in rows]
            rows += _sentence_rows([s for s in sentences if s.hit.chunk.kind != "outline"], max_sentences, None, True,
                                   terms)
        return _render(rows, None, docs, False)
    if not sentences:
        return "", []
    return _render(_sentence_rows(sentences, max_sentences, groups, wants_list, terms), groups, docs, label_sections)


def _sentence_rows(sentences: list[ScoredSentence], max_sentences: int, groups: dict[str, set[str]] | None,
                   wants_list: bool, terms: dict[str, float] | None = None) -> list[tuple[str, list[ScoredSentence]]]:
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
COUNTERPART_SIM = 0.6  # share of the shorter one's character bigrams a provision and its counterpart in another
# compared document have in common (overlap coefficient)
_ARTICLE_NUMBER = re.compile(r"^\s*第[一二三四五六七八九十百零〇\d]+条\s*")


def _counterpart(s: ScoredSentence, group: list[ScoredSentence], chosen: list[ScoredSentence]) -> ScoredSentence | None:
    """The sentence of ``group`` (another compared document's sentences) that says what ``s`` says — the
    same provision in the other document or version ("新建城镇住宅区…按照每百户不低于二十平方米…" /
    "新建城镇居住区按照每一百户不低于二十平方米…"): the highest overlap coefficient of character bigrams with
    ``s`` (|A∩B| / min(|A|, |B|), article numbers left out, sentences of ≥ 8 bigrams), at least
    ``COUNTERPART_SIM``, not already quoted (``_pick``); else None."""
    key = _bigrams(normalize(_ARTICLE_NUMBER.sub("", s.text)))
    best, best_sim = None, COUNTERPART_SIM
    for o in group:
        other = _bigrams(normalize(_ARTICLE_NUMBER.sub("", o.text)))
        if min(len(key), len(other)) < 8:
            continue
        sim = len(key & other) / min(len(key), len(other))
        if sim >= best_sim:
            best, best_sim = o, sim
    return best if best is not None and _pick([best], 1, chosen) else None


ITEM_SUPPLEMENT = 0.15  # share of the question's term weight the best sentence must add to the items


def _asks_more(items: list[ScoredSentence], sentences: list[ScoredSentence], terms: dict[str, float]) -> bool:
    """True when the best of ``sentences`` that is no outline line holds question ``terms`` (term →
    idf weight) worth ≥ ``ITEM_SUPPLEMENT`` of the question's weight that neither the ``items`` nor
    their section headings hold: the question asks for more than the items' names."""
    known = normalize("".join(it.text + it.hit.chunk.section for it in items)).lower()
    total = sum(terms.values()) or 1.0
    best = next((s for s in sentences if s.hit.chunk.kind != "outline"), None)
    if best is None:
        return False
    sent = normalize(best.text).lower()
    return sum(w for t, w in terms.items() if t in sent and t not in known) / total >= ITEM_SUPPLEMENT


COMPLEMENT_SCORE = 0.7  # a complementing sentence scores at least this share of the best one
COMPLEMENT_TERMS = 0.15  # … and holds at least this share of the question's term weight that no chosen sentence holds


def _complement(sentences: list[ScoredSentence], picked: list[ScoredSentence], chosen: list[ScoredSentence],
                terms: dict[str, float], room: int) -> list[ScoredSentence]:
    """Up to ``room`` more of ``sentences`` (best first) that carry what the ``picked`` ones lack: each
    scores ≥ ``COMPLEMENT_SCORE`` of the best of ``picked`` and holds question ``terms`` (term → idf
    weight) worth ≥ ``COMPLEMENT_TERMS`` of the question's weight that no sentence of ``picked`` (nor
    one added before it) holds, and is not already in ``chosen`` (``_pick``) — the one sentence that carries a part of the question is not left
    out for falling just under the 85 % cut of ``_pick``. [] without terms, picks or room."""
    if not terms or not picked or room <= 0:
        return []
    total = sum(terms.values()) or 1.0
    held = normalize("".join(s.text for s in picked)).lower()
    out: list[ScoredSentence] = []
    for s in sentences:
        if len(out) >= room or s.score < COMPLEMENT_SCORE * picked[0].score:
            break
        sent = normalize(s.text).lower()
        new = sum(w for t, w in terms.items() if t in sent and t not in held)
        if new / total >= COMPLEMENT_TERMS and _pick([s], 1, chosen + out):
            out.append(s)
            held += sent
    return out


PART_COVERAGE = 0.5  # a part of a question is answered by a sentence holding this share of its terms' weight
VALUE_NEIGHBOUR = 0.9  # a value sentence in the paragraph of an answering sentence counts with this share of its coverage
PART_SCORE = 0.5  # a sentence added for a part scores at least this share of the best sentence


def _same_line(a: ScoredSentence, b: ScoredSentence) -> bool:
    """``a`` and ``b`` lie in one paragraph (line) of the same passage."""
    if a.hit.chunk.chunk_id != b.hit.chunk.chunk_id:
        return False
    lo, hi = sorted((a.start, b.start))
    return "\n" not in a.hit.chunk.text[lo:hi]


def _answer_parts(sentences: list[ScoredSentence], chosen: list[ScoredSentence]) -> list[ScoredSentence]:
    """Sentences to add so that every part of the question is answered: for each part (``parts``; the
    whole question when it has one) that no chosen sentence answers — covers ≥ ``PART_COVERAGE`` of the
    part's terms and, when the question asks for a value, states one (``value``) — the sentence that
    does, best by its part coverage: a value sentence of the paragraph of a chosen or answering sentence
    (“……。[责任单位：市科技局…]”, the target after its lead-in) counts with ``VALUE_NEIGHBOUR`` of that
    sentence's coverage. A candidate scores ≥ ``PART_SCORE`` of the best sentence and is not already
    quoted. [] when every part is answered or no sentence does better."""
    if not sentences or not chosen:
        return []
    n_parts = len(chosen[0].parts) or 1
    best = sentences[0].score
    out: list[ScoredSentence] = []
    for i in range(n_parts):
        def part_cov(s: ScoredSentence) -> float:
            return s.parts[i] if s.parts else s.coverage

        wants_value = any(s.value[i] for s in sentences if s.value)

        def states(s: ScoredSentence) -> bool:
            return bool(s.value) and s.value[i]

        def answers(s: ScoredSentence) -> bool:
            return (not wants_value or states(s)) and (not s.parts or s.parts[i] >= PART_COVERAGE)

        if any(answers(s) for s in chosen + out):
            continue
        leads = [s for s in sentences[:40] if part_cov(s) > 0]
        pool = [s for s in sentences[:40] if s.score >= PART_SCORE * best or states(s)]
        candidates = []
        for s in pool:
            cov = part_cov(s)
            if wants_value and states(s):
                cov = max([cov] + [VALUE_NEIGHBOUR * part_cov(o) for o in leads if o is not s and _same_line(o, s)])
            if (not wants_value or states(s)) and cov >= (PART_COVERAGE if s.parts else PART_SCORE * chosen[0].coverage):
                candidates.append((cov + 0.05 / s.hit.rank, s))
        for _, s in sorted(candidates, key=lambda c: -c[0]):
            if _pick([s], 1, chosen + out):
                out.append(s)
                break
    return out


_PART_HEADING = re.compile(r"第[一二三四五六七八九十百千零〇两\d]+(?:编|章|节|部分)[^，,。；;：:！？!?、]{0,30}")


def is_heading(s: ScoredSentence) -> bool:
    """``s`` is a heading line, never an answer sentence: a part, chapter or section heading ("第五章
    物业服务", "第二节 监督管理") without punctuation, or a label of its own section path ("第五章 物业服务 ›
    第六十一条" → 第五章 物业服务, 第六十一条); whitespace and a final 。 ignored."""
    text = re.sub(r"\s+", "", normalize(s.text)).rstrip("。.")
    if not text:
        return False
    labels = {re.sub(r"\s+", "", normalize(p)).rstrip("。.") for p in s.hit.chunk.section.split(" › ")}
    return text in labels or _PART_HEADING.fullmatch(text) is not None


def scope_regions(terms: dict[str, float], docs: dict, doc_ids) -> tuple[str, ...]:
    """The regions of the documents ``doc_ids`` (``docs``: doc_id → DocumentMeta; ``scoped_order`` passes every
    indexed document, so that a named province whose own documents were not retrieved still scopes its cities'
    ones) that a question term (``terms``: lower-cased question terms) names by full or bare name (上海 → 上海市,
    ``rag.ingest.metadata.bare_region``), in ``doc_ids`` order; "全国" and documents without a region name none."""
    out: list[str] = []
    for d in doc_ids:
        meta = docs.get(d)
        region = getattr(meta, "region", None) if meta is not None else None
        if not region or region == "全国" or region in out:
            continue
        if any(n in t for n in _region_names(region) for t in terms):
            out.append(region)
    return tuple(out)


def _region_names(region: str) -> set[str]:
    """A region's full and bare name (上海市, 上海), lower-cased, each of ≥ 2 characters."""
    from rag.ingest.metadata import bare_region

    return {n.lower() for n in (region, bare_region(region) or region) if len(n) >= 2}


def scoped_order(sentences: list[ScoredSentence], terms: dict[str, float], docs: dict) -> list[ScoredSentence]:
    """``sentences`` (best first) of the documents that apply in the place a question is scoped to: when a
    question term names the region of some indexed documents (``scope_regions``) and a sentence of a
    document applying there (``rag.understand.query.jurisdiction_covers``: the region, its province, its cities;
    national documents and documents without a region too) holds a question term other than the place's
    name, the sentences of every other document are left out — another place's rule sharing more words
    with the question does not answer it. ``sentences`` unchanged otherwise."""
    from rag.understand.query import jurisdiction_covers

    regions = scope_regions(terms, docs, [*dict.fromkeys(s.hit.chunk.doc_id for s in sentences), *docs])
    if not regions:
        return sentences
    places = set().union(*(_region_names(r) for r in regions))
    asked = [t for t in terms if not any(t in p or p in t for p in places)]

    def applies(s: ScoredSentence) -> bool:
        meta = docs.get(s.hit.chunk.doc_id)
        region = getattr(meta, "region", None) if meta is not None else None
        return not region or region == "全国" or jurisdiction_covers(region, regions)

    inside = [s for s in sentences if applies(s)]
    if not any(t in normalize(s.text).lower() for s in inside for t in asked):
        return sentences
    return inside


def _is_title(s: ScoredSentence) -> bool:
    """``s`` is its document's title line (normalised, whitespace ignored): it names the document the
    question already names and says nothing it asks."""
    return bool(s.hit.title) and normalize(s.text).lower().strip("。.") == normalize(s.hit.title).lower().strip("。.")


ITEM_CONTENT = 0.4  # share of the asked terms' weight an item's sentence must hold to be shown with it


def _item_content(item: ScoredSentence, items: list[ScoredSentence], terms: dict[str, float]) -> list[ScoredSentence]:
    """The sentence of ``item``'s own passage (its sub-section's first passage; [] for an item quoted
    from the outline) that says what the question asks about the item: of the question ``terms``
    (term → idf weight) that neither the items, their section paths nor the document title hold (the
    asked terms: 牵头, 高地, 国家战略 …), it holds the largest weight, at least ``ITEM_CONTENT`` of
    them; the earliest on ties. [] when no sentence after the item's heading does."""
    chunk = item.hit.chunk
    if chunk.kind == "outline" or item.start < 0:
        return []
    known = normalize("".join(it.text + it.hit.chunk.section for it in items) + item.hit.title).lower()
    asked = {t: w for t, w in terms.items() if t not in known}
    total = sum(asked.values())
    if total <= 0:
        return []
    best, best_w = None, 0.0
    orders = instruction_spans(chunk.text)
    for a, b in split_sentences(chunk.text):
        if a < item.end or b - a > MAX_SENTENCE_CHARS * 2 or (orders and inside(orders, a, b)):
            continue
        sent = normalize(chunk.text[a:b]).lower()
        w = sum(v for t, v in asked.items() if t in sent)
        if w > best_w:
            best, best_w = (a, b), w
    if best is None or best_w < ITEM_CONTENT * total:
        return []
    return [ScoredSentence(item.hit, best[0], best[1], item.coverage, item.score)]


def _doc_range(s: ScoredSentence) -> tuple[int, int] | None:
    """The sentence's character range in its document (None for outlines and cards, not slices)."""
    chunk = s.hit.chunk
    return (chunk.start + s.start, chunk.start + s.end) if chunk.kind in ("text", "table") else None


def _trim_overlap(s: ScoredSentence, covered: list[tuple[str, int, int, str]]) -> ScoredSentence | None:
    """``s`` without the part of its document text already quoted (``covered``: (doc_id, start, end,
    text) document ranges, used where the two chunks show the same text there): None when all of it
    is, else the verbatim rest (overlapping chunks repeat text)."""
    rng = _doc_range(s)
    if rng is None:
        return s
    a, b = rng
    base = s.hit.chunk.start
    for doc, ca, cb, ctext in covered:
        lo, hi = max(a, ca), min(b, cb)
        if doc != s.hit.chunk.doc_id or hi <= lo or s.hit.chunk.text[lo - base:hi - base] != ctext[lo - ca:hi - ca]:
            continue  # another document, no overlap, or offsets that do not show the same text
        if ca <= a and b <= cb:
            return None
        if ca <= a < cb:
            a = cb
        elif ca < b <= cb:
            b = ca
    text = s.hit.chunk.text[a - base:b - base]
    lead, tail = len(text) - len(text.lstrip()), len(text) - len(text.rstrip())
    a, b = a + lead, b - tail
    if b - a < 2:
        return None
    return ScoredSentence(s.hit, a - base, b - base, s.coverage, s.score)


def _render(rows, groups, docs, label_sections) -> tuple[str, list[Citation]]:
    """Answer lines and citations: text already quoted by an earlier line (overlapping chunks) is left
    out, a table row is shown as header/cell pairs (``table_cells``), one citation per passage with the
    verbatim span covering its sentences, and citations whose quotes contain one another are merged
    (``merge_citations``)."""
    numbers: dict[str, int] = {}
    spans: dict[str, list[int]] = {}
    covered: list[tuple[str, int, int, str]] = []
    parts = []
    for prefix, line in rows:
        kept = []
        for s in line:
            t = _trim_overlap(s, covered)
            if t is not None:
                kept.append(t)
                rng = _doc_range(t)
                if rng:
                    covered.append((t.hit.chunk.doc_id, *rng, t.text))
        if not kept:
            continue
        text = ""
        for j, s in enumerate(kept):
            cid = s.hit.chunk.chunk_id
            if cid not in numbers:
                numbers[cid] = len(numbers) + 1
                spans[cid] = [s.start, s.end]
            else:  # another sentence of the same passage: the quote becomes the verbatim span covering both
                spans[cid] = [min(spans[cid][0], s.start), max(spans[cid][1], s.end)]
            last_of_chunk = j + 1 == len(kept) or kept[j + 1].hit.chunk.chunk_id != cid
            shown = (table_cells(s) if len(kept) == 1 else None) or s.text
            if j and "\t" not in kept[j - 1].text and not _CLOSED.search(text):  # a heading before its content
                text += "："
            text += shown + (f"[{numbers[cid]}]" if last_of_chunk else "")
        s = kept[0]
        label = f"{doc_label(s.hit.chunk.doc_id, docs or {})}：" if groups else ""
        heading = section_label(s.hit) if label_sections else ""
        label += f"【{heading}】" if heading else ""
        parts.append(prefix + label + text)
    citations = []
    by_id = {s.hit.chunk.chunk_id: s.hit for _, line in rows for s in line}
    for cid, n in sorted(numbers.items(), key=lambda kv: kv[1]):
        hit = by_id[cid]
        start, end = spans[cid]
        citations.append(Citation(n, cid, hit.chunk.doc_id, hit.title, hit.chunk.section, hit.chunk.text[start:end]))
    return merge_citations("\n".join(parts), citations)


_MARKER = re.compile(r"\[(\d+)\]")
_CLOSED = re.compile(r"(?:[。；;：:！？!?.，,、）)\]”’]|\[\d+\])\s*$")  # text ending a sentence, clause or citation


def merge_citations(text: str, citations: list[Citation]) -> tuple[str, list[Citation]]:
    """One citation per quoted passage: a citation whose quote (normalised) lies inside another
    citation's quote of the same document is merged into it — its markers ``[n]`` in ``text`` point to
    the containing citation, which keeps the smaller number — and the citations are renumbered 1..n in
    order of first use in ``text`` (markers rewritten, a marker repeated right after itself dropped).
    Returns the new text and citations."""
    alias: dict[int, Citation] = {}
    keep: list[Citation] = []
    for c in citations:
        key = normalize(c.quote)
        for i, k in enumerate(keep):
            other = normalize(k.quote)
            if c.doc_id == k.doc_id and key in other:
                alias[c.n] = k
                break
            if c.doc_id == k.doc_id and other in key:  # the later quote holds the earlier: it takes its number
                keep[i] = replace(c, n=k.n)
                alias[c.n] = keep[i]
                for m, a in alias.items():
                    if a is k:
                        alias[m] = keep[i]
                alias[k.n] = keep[i]
                break
        else:
            keep.append(c)
            alias[c.n] = c
    order: dict[int, int] = {}  # old number of the kept citation → new number
    for m in _MARKER.finditer(text):
        old = int(m.group(1))
        if old in alias and alias[old].n not in order:
            order[alias[old].n] = len(order) + 1
    for c in keep:
        order.setdefault(c.n, len(order) + 1)

    def renumber(m):
        old = int(m.group(1))
        return f"[{order[alias[old].n]}]" if old in alias else m.group(0)

    text = _MARKER.sub(renumber, text)
    text = re.sub(r"(\[\d+\])\1+", r"\1", text)
    out = sorted((replace(c, n=order[c.n]) for c in keep), key=lambda c: c.n)
    return text, out


# --- answers people can read: list items, table cells, one citation per passage --------------------
_HEADING_NUMBER = re.compile(r"^\s*(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}[.．、]|"
                             r"专栏\s*\d{1,2})\s*")
LIST_SECTION_MATCH = 0.75  # share of the section title's character bigrams the question must contain


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i:i + 2] for i in range(len(t) - 1)}


def asks_section_items(question: str, section_title: str) -> bool:
    """True when ``question`` names the section ``section_title`` ("五、保障措施", "(一)壮大新兴产业"):
    at least ``LIST_SECTION_MATCH`` of the title's character bigrams (its numbering stripped) occur in
    the question — then a list question asks for that section's sub-sections."""
    title = _HEADING_NUMBER.sub("", section_title).strip("。. ")
    grams = _bigrams(title)
    if not grams:
        return False
    q = re.sub(r"\s+", "", question)
    return sum(g in q for g in grams) / len(grams) >= LIST_SECTION_MATCH


def outline_items(question: str, outline: Hit, first_chunk=None) -> list[ScoredSentence]:
    """The items of the section an outline passage outlines (``rag.ingest.chunking.build_outlines``), when the
    question names that section (``asks_section_items``); [] otherwise or with fewer than two items.

    Each item is its sub-heading as the outline shows it (``_outline_entry``: "（三）未来交通",
    "1.人工智能。"), quoted verbatim from the sub-section's own first passage when
    ``first_chunk(doc_id, section_path) -> Hit | None`` finds one holding it (the reader opens the
    sub-section, not the outline), else from the outline passage itself. Document order."""
    from rag.ingest.chunking import SECTION_SEP, _outline_entry, heading_label, heading_level, outline_section

    parent = outline_section(outline.chunk)
    if not asks_section_items(question, parent.split(SECTION_SEP)[-1] if parent else ""):
        return []
    text = outline.chunk.text
    if any(heading_level(line) is not None and asks_section_items(question, heading_label(line))
           for line in text.split("\n")[1 if parent else 0:]):
        return []  # the question names one of the items: it asks about that sub-section
    items: list[ScoredSentence] = []
    pos = 0
    for i, line in enumerate(text.split("\n")):
        start, pos = pos, pos + len(line) + 1
        if heading_level(line) is None or (i == 0 and parent):
            continue  # lead sentences, and the section's own heading
        entry = _outline_entry(line)
        a = start + max(line.find(entry), 0)  # outline lines are stripped heading lines: entry is their prefix
        item = ScoredSentence(outline, a, a + len(entry), 1.0, 1.0)
        path = SECTION_SEP.join(p for p in (parent, heading_label(line)) if p)
        own = first_chunk(outline.chunk.doc_id, path) if first_chunk else None
        at = own.chunk.text.find(item.text) if own is not None else -1
        items.append(ScoredSentence(own, at, at + len(item.text), 1.0, 1.0) if at >= 0 else item)
    return items if len(items) >= 2 else []


def table_cells(s: ScoredSentence) -> str | None:
    """``"header: cell | header: cell …"`` for a sentence that is one row of a tab-separated table
    (≥ 3 cells; header = the chunk's ``context`` row, else the table's first line in the chunk), or
    None. Every non-empty cell of the row with its column's header (a question naming one year often
    also needs the base year's value); cells are verbatim; the row itself stays the citation's quote.
    A header with fewer cells than the row (columns whose labels a PDF wrapped onto lines of their
    own) is placed by ``align_header``; cells it does not cover are shown without a label, except a
    leading row number. None when the header cannot be placed in exactly one way."""
    row = s.text
    cells = row.split("\t")
    if len(cells) < 3 or "\n" in row:
        return None
    text = s.hit.chunk.text
    header_line = s.hit.chunk.context or text.split("\n", 1)[0]
    if header_line.strip() == row.strip():
        return None
    labels = align_header(header_line.split("\t"), cells)
    if labels is None:
        return None
    shown = []
    for i, (h, c) in enumerate(zip(labels, cells)):
        if not c.strip() or (h is None and i == 0 and _SERIAL.fullmatch(c.strip())):
            continue
        shown.append(f"{h.strip()}: {c.strip()}" if h is not None else c.strip())
    return " | ".join(shown)


_SERIAL = re.compile(r"\d{1,3}")
_VALUE_CELL = re.compile(r"[<>≤≥≈~～]?[+\-−]?\d+(?:[.,]\d+)*[%％‰]?(?:[-~～–—]\d+(?:[.,]\d+)*[%％‰]?)?[*＊]?"
                         r"|[-－—–/／×]{1,2}")


def align_header(header: list[str], cells: list[str]) -> list[str | None] | None:
    """The column label of each of ``cells`` (one table row), from ``header`` (the table's header
    row). Labels must fit their cells: a label with a digit (``2020年``, ``2025 年目标``) stands over a
    number or a dash standing for no value; a label without one (``序号``, ``指标名称``) over anything.
    The header itself when both have the same number of cells and every label fits; for a header of
    ≥ 2 but fewer cells, the one offset at which the header is a run of consecutive columns that fit,
    with None for the cells outside it. None when no offset or several fit, or the header has more
    cells than the row."""
    def fits(label: str, cell: str) -> bool:
        return not any(ch.isdigit() for ch in label) or bool(_VALUE_CELL.fullmatch(cell.strip()))

    if len(header) == len(cells):
        return list(header) if all(map(fits, header, cells)) else None
    if len(header) < 2 or len(header) > len(cells):
        return None

    offsets = [o for o in range(len(cells) - len(header) + 1)
               if all(fits(h, cells[o + i]) for i, h in enumerate(header))]
    if len(offsets) != 1:
        return None
    o = offsets[0]
    return [None] * o + list(header) + [None] * (len(cells) - o - len(header))
