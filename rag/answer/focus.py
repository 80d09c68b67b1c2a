"""The question's focus and how far a retrieved sentence covers it (evidence scoring shared by the
extractive answer and the refusal signals).

* ``question_terms`` — the question's terms (jieba tokens of ≥ 2 characters or numbers) with their idf;
  ``concept_alternatives`` — the policy terms of matched concepts that count for a term.
* ``focus_terms`` — the content words of the information need (``rag.understand.need.need_clause``) without
  question, place, document and generic words.
* ``focus_coverage`` — the idf-weighted share of the focus a sentence (with its title, section path and
  table header) covers; ``abbreviates`` — a term is a Chinese abbreviation of words in a text.
"""

from __future__ import annotations

import functools
import re

from rag.understand.need import need_analysis, plain_need
from rag.text import normalize


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


# the words a statute writes for a modal of plain speech: Chinese legislation states duties and prohibitions with
# 应当, 不得 and 禁止 ("审计人员不得有下列行为" answers "哪些事是明令不能做的")
_PROHIBITIONS = ("不得", "禁止", "严禁")
STATUTORY_MODALS = {**dict.fromkeys(("不能", "不许", "不准", "不让"), _PROHIBITIONS), "必须": ("应当",)}


def concept_alternatives(terms, plan) -> dict[str, tuple[str, ...]]:
    """term → the lower-cased expansions of the concepts in ``plan.concepts`` (``rag.understand.query.ConceptMatch``)
    whose matched word contains the term or lies inside it: a concept's policy term (新型储能) counts
    for the company's word (钠离子电池); and for a modal of plain speech the words statutes write for it
    (``STATUTORY_MODALS``: 不能 → 不得, 禁止, 严禁; 必须 → 应当; not in an A-not-A question, 能不能, read from
    ``plan.question``). ``terms``: any iterable of lower-cased question
    terms; only the statutory modals when ``plan`` is None."""
    alternatives: dict[str, tuple[str, ...]] = {}
    for m in (plan.concepts if plan is not None else ()):
        matched = m.matched.lower()
        for t in terms:
            if t in matched or matched in t:
                alternatives[t] = alternatives.get(t, ()) + tuple(e.lower() for e in m.expansions)
    question = getattr(plan, "question", "") or ""
    for t in terms:
        # not the A-not-A question (能不能说停就停, 让不让: asks yes or no, forbids nothing)
        if t in STATUTORY_MODALS and not re.search(f"{t[1:]}{t}", question):
            alternatives[t] = alternatives.get(t, ()) + STATUTORY_MODALS[t]
    return alternatives


def _table_header(chunk) -> str:
    """The normalised header row of a table chunk (its ``context``, else its first line when that is
    a row of cells), "" for other chunks."""
    if chunk.kind != "table":
        return ""
    line = chunk.context or chunk.text.split("\n", 1)[0]
    return normalize(line).lower() if "\t" in line else ""


# --- the question's focus (rules "value", "detail", "members", "outcome"; rag.answer.refusal_value) ---------
_QUESTION_TOKEN = re.compile(r"[几哪啥谁]|多少|什么|怎么|怎样|如何|是否|能否|具体|分别|请问|有没有|^\d+$"
                             r"|^[一二三四五六七八九十两]+[条个项大类家种点年份]?$"
                             # the unit of an asked quantity, cut off its 多少 by jieba (多少/天内, 几/个工作日)
                             r"|^个?(?:天|日|年|月|周|小时|分钟|工作日)(?:内|以内|之内|后|以后)?$"
                             # the bound of an asked quantity (罚款上限多少, 最少几个人): a passage says 以下/不少于
                             r"|^(?:上限|下限|最高|最低|最多|最少|至少|最长|最短|最晚|最早)$")


_SCOPE_TOKEN = re.compile(r"^(省里|市里|全省|我省|本省|全市|本市|省级|市级|规划|方案|意见|文件|实施方案"
                          r"|实施意见|政策|提到|提出|要求|目标|计划|今年|明年|去年|十[一二三四五六七八九]五)$")


def _is_place_word(token: str) -> bool:
    """``token`` is exactly a gazetteer place name (full or short: 云南, 杭州市)."""
    from rag.ingest.metadata import find_places

    found = find_places(token)
    return len(found) == 1 and found[0][1] == 0 and token in (found[0][0].name, *found[0][0].aliases)


GENERIC_DF_SHARE = 0.15  # a word in ≥ 15 % of the passages (产业, 发展, 支持) is not a focus word
# jieba dictionary part-of-speech tags (ICTCLAS set) of words that say how a user talks, not what the need is
# about: particles and auxiliaries (的话), conjunctions (要是), modal particles, interjections, onomatopoeia and
# pronouns (这种, 这边). The corpus rarely writes them, so their idf was the largest of a colloquial question's
# focus ("在某市，被查到的话罚款是多少": focus 的话 9.5, 罚款 3.1). Adverbs, numerals, measure words, locatives and
# prepositions stay: leaving them out too lowered bundled dev refusal recall 149 → 145 of 192.
FUNCTION_TAGS = frozenset({"u", "uj", "ul", "uz", "ug", "uv", "ud", "c", "y", "e", "o", "r"})


def function_word(token: str) -> bool:
    """``token`` is a function word by its part-of-speech tag in jieba's dictionary (``FUNCTION_TAGS``): 的话,
    要是, 这种 → True; 罚款, 路边 → False; a word the dictionary lacks → False."""
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab.get(token) in FUNCTION_TAGS


def focus_terms(question: str, index, plan=None) -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
    """The focus of the question: the content words of its information need with their idf, and the
    concept expansions that count for them.

    The need clause (``need_clause``) without document names, tokenised as in
    ``rag.answer.focus.question_terms``; dropped: question words (多少/哪个/具体), region and document
    words (a gazetteer place, 省里, 规划, a five-year-plan era), function words (``function_word``: 的话, 要是, 这种),
    words in ≥ ``GENERIC_DF_SHARE`` of the passages, and jieba pieces
    that are no dictionary word and no corpus word (收要, 谷叫). Returns (term → idf, term →
    alternative spellings from ``plan.concepts``).
    """
    import jieba

    need = plain_need(need_analysis(question, plan), index.docs)  # the plan's analysis when it is of ``question``
    if hasattr(index, "doc_texts"):  # a short form the documents never write counts as its long form (非遗 → 非物质文化遗产)
        from rag.understand.abbreviations import abbreviation_matches, expand_abbreviations

        matches = abbreviation_matches(need, index)
        if matches:
            need = expand_abbreviations(need, matches)
    n = max(index.df.get("__N__", 1), 1) if hasattr(index, "df") else 1
    out: dict[str, float] = {}
    for t, w in question_terms(need, index.tokenizer, index.idf).items():
        if _QUESTION_TOKEN.search(t) or _SCOPE_TOKEN.match(t) or _is_place_word(t) or function_word(t):
            continue
        df = index.df.get(t, 0) if hasattr(index, "df") else 0
        if df / n >= GENERIC_DF_SHARE:
            continue
        if df == 0 and not 0 < jieba.dt.FREQ.get(t, 0):
            continue
        out[t] = w
    return out, concept_alternatives(out, plan)


def focus_coverage(sentence, focus: dict[str, float], alternatives: dict[str, tuple[str, ...]]) -> float:
    """Share (idf-weighted, in [0, 1]) of the focus words that occur in the sentence or in its
    document title / section path (for a table row also its table's header row: "2025年目标" is said
    by the column); 1.0 for an empty focus."""
    total = sum(focus.values())
    if not total:
        return 1.0
    sent = normalize(sentence.text).lower()
    ctx = normalize(sentence.hit.title + sentence.hit.chunk.section).lower()
    if "\t" in sentence.text:
        ctx += _table_header(sentence.hit.chunk)
    got = sum(w for t, w in focus.items() if any(o in sent or o in ctx for o in (t, *alternatives.get(t, ())))
              or abbreviates(t, sent))
    return got / total


_CJK_TERM = re.compile(r"[\u4e00-\u9fff]{3,8}")


@functools.lru_cache(maxsize=4096)
def _abbreviation_pattern(term: str) -> re.Pattern | None:
    """The regex of the full forms a Chinese term of 3–8 characters may abbreviate: its characters in
    order, at most two others between two of them, within one clause; None for any other term."""
    if not _CJK_TERM.fullmatch(term):
        return None
    return re.compile(re.escape(term[0]) + "".join(f"[\u4e00-\u9fff]{{0,2}}?{re.escape(c)}" for c in term[1:]))


def abbreviates(term: str, text: str) -> bool:
    """``term`` is a Chinese abbreviation of words in ``text`` (normalised): 电动车 of 电动自行车, 中医馆 of
    中医医疗馆 — its characters in order with at most two others between two of them, the span at most
    twice the term's length. Terms of fewer than 3 characters never match this way (充电 is no
    abbreviation of 充分用电)."""
    pattern = _abbreviation_pattern(term)
    return bool(pattern) and any(len(m.group(0)) <= 2 * len(term) for m in pattern.finditer(text))
