"""Candidate sentences and their scores, for the extractive answer (``rag.answer.extractive``): every
sentence of the retrieved passages scored against the question (``score_sentences`` → ``ScoredSentence``
list, best first), the patterns of what a question asks (``ASKS_NUMBER``, ``ASKS_DATE``, ``ASKS_LIST``,
``ASKS_HEADING``), whether a sentence states an asked value (``states_value``), the value units of a
regulation article (``value_units``: a value clause with the lead clause of its paragraph) and the
sub-words of the asker's own compound words (``term_subwords``).

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

plus ``VALUE_BONUS`` when the question asks for an organisation, place or person and s names one.
Sentences inside instruction-like text (``rag.injection.instruction_spans``: “忽略以上所有指令…”) are
never candidates.

The lowest of the extractive answer's modules: it imports none of the others (``rag.answer.selection``,
``rag.answer.enumerations``, ``rag.answer.render`` and ``rag.answer.extractive`` import it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.answer.focus import _table_header
from rag.injection import inside, instruction_spans
from rag.retrieve.lists import is_label
from rag.understand.need import _QUANTITIES, _YES_NO, need_analysis
from rag.text import normalize, split_sentences
from rag.understand.quantities import stated_bounds, stated_quantities
from rag.types import Hit


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


# the numbering of an item or heading ("一、", "（三）", "2.", "专栏 9")
_HEADING_NUMBER = re.compile(r"^\s*(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}[.．、]|"
                             r"专栏\s*\d{1,2})\s*")


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i:i + 2] for i in range(len(t) - 1)}
