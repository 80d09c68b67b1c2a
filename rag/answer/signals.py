"""The evidence signals of the former refusal rules (``rule_signals``), read by the answerability model
(``rag.answer.answerability.features``), and the places a question names against the regions the indexed
documents cover (``named_places``, ``place_covered``, also read by the hard rule "region" of
``rag.answer.refusal``).

Each signal is ``name → (value, reason)``: a value that is higher when the evidence fits the question
less and the one-line Chinese sentence a refusal decided by this signal states.
"""

from __future__ import annotations

import re

from rag.answer.focus import focus_coverage, focus_terms
from rag.understand.need import _RANGE, _YEAR, VALUE_KINDS, need_analysis, plain_need
from rag.answer.refusal_value import continuation
from rag.text import corpus_text, normalize


# --- places (hard rule "region"): the gazetteer against the regions of the indexed documents ---------
def named_places(question: str) -> list:
    """The provinces and prefecture-level cities (``rag.ingest.metadata.Place``) the question names as words:
    a gazetteer name (full 云南省 or short 云南, ``rag.ingest.metadata.find_places``) starting a jieba word (precise
    mode) — a region's characters inside another word name none (川西藏区 is 川西/藏区, not 西藏; 浙江西部
    names 浙江, not 江西). In question order, each place once."""
    import jieba

    from rag.ingest.metadata import find_places

    text = normalize(question)
    starts, pos = set(), 0
    for w in jieba.lcut(text):
        starts.add(pos)
        pos += len(w)
    out = []
    for place, offset in find_places(text):
        if place.level in ("province", "city") and offset in starts and place not in out:
            out.append(place)
    return out


def _region_places(docs: dict) -> list:
    """The gazetteer places of the indexed documents' regions (``DocumentMeta.region``)."""
    from rag.ingest.metadata import find_places

    out = []
    for region in {m.region for m in docs.values() if m.region}:
        found = find_places(normalize(region))
        if found:
            out.append(found[0][0])
    return out


def place_covered(place, docs: dict) -> bool:
    """True when an indexed document covers ``place``: a document of that place, of a division inside it
    (a province question may use its cities' documents), of the province it lies in, or a national one
    (region 全国); also True when no document states a region (nothing is known against it)."""
    regions = {m.region for m in docs.values() if m.region}
    if not regions or "全国" in regions:
        return True
    for d in _region_places(docs):
        if d.code == place.code or d.name == place.name:
            return True
        if place.level == "province" and d.province == place.name:
            return True
        if d.level == "province" and place.province == d.name:
            return True
        if d.level == "city" and place.level == "county" and place.code[:4] == d.code[:4]:
            return True
    return False


_RELATIVE_YEARS = {"今年": 0, "本年度": 0, "明年": 1, "去年": -1}
# 今年/明年 before an age ("我妈今年72岁", "明年就满六十周岁") dates the asker's age, not what the question asks about
_AGE_YEAR = re.compile(r"(?:今年|明年|去年)(?=\s*(?:已经|已|刚|才|就|都|正好)?\s*满?\s*[\d一二三四五六七八九十两]+\s*(?:周岁|岁))")


# a five-year plan (十X五) — the middle numeral is required (十五个重点领域, 第十五届 are numbers)
_FIVE_YEAR_PLAN = re.compile(r"(?<![一二三四五六七八九十百])十[一二三四五六七八九]五(?![个届万亿千百岁名家位条项次倍%％])")


NEAR = 60  # characters after a sentence, in its passage, where an asked value or detail may stand


TOP_SENTENCES = 5  # evidence = the best-scoring sentences (and their chunks for the year rule)


def document_years(docs: dict) -> set[int]:
    """Years the indexed documents speak of by their metadata: every year of a stated period and the
    years of the issued and effective dates (a version adopted or amended in 2024 answers "2024年修改后…").
    An outlook year (远景2035) is not one: a plan states few targets for it."""
    years = {y for m in docs.values() if m.period_start and m.period_end
             for y in range(m.period_start, m.period_end + 1)}
    for m in docs.values():
        for d in (m.date, getattr(m, "effective_date", None)):
            if d and _YEAR.match(d[:4]):
                years.add(int(d[:4]))
    return years


def rule_signals(question: str, scored: list, index, settings, plan=None) -> dict[str, tuple[float, str | None]]:
    """The evidence signals of the former refusal rules, each ``name → (value, reason)``: ``value`` a
    float (a share in [0, 1] or 0/1) that is higher when the evidence fits the question less, ``reason``
    the one-line Chinese sentence a refusal decided by this signal states (None when the signal says
    nothing against the evidence). Names: ``coverage`` (1 − best coverage of the top sentences),
    ``year`` (a year or five-year plan of the need absent from the evidence and the documents' periods),
    ``document`` (the asked document exists only in another era), ``answer_type`` (an asked type of
    information — amount, deadline, phone … — absent), ``value``, ``detail``, ``members``, ``outcome``
    (1 − support, when the need asks for that; 0 otherwise; a value or detail may stand within ``NEAR``
    characters after the sentence in its passage; ``value`` is the worst asked kind), ``value_<kind>``
    (1 − support of each asked value kind of ``VALUE_KINDS``, 0 when not asked), ``*_fires`` (1 when
    that support is below the former rule's setting ``min_*_support``), ``definition`` (the asked term
    is defined by no sentence), ``missing_term`` (idf share of need words no document contains),
    ``focus`` (1 − best focus coverage of a top sentence; a focus word also counts when the sentence
    holds a full form it abbreviates, ``abbreviates``), ``place`` (the question names a place no
    document covers, but also one they cover). Requires ``scored`` non-empty. ``index`` needs
    ``docs``; without ``tokenizer``/``df`` (hand-made test indexes) the
    focus-based signals are 0."""
    out: dict[str, tuple[float, str | None]] = {}
    top = scored[:TOP_SENTENCES]
    best_coverage = max(s.coverage for s in top)
    out["coverage"] = (1.0 - best_coverage, f"检索到的段落与问题的关键词重合很少（覆盖率 {best_coverage:.2f}）。")
    analysis = need_analysis(question, plan)  # the plan's analysis when it is of ``question``
    need = analysis.need

    # a place the documents do not cover, named beside one they do (the hard rule takes the rest)
    places = named_places(question)
    uncovered = [p for p in places if not place_covered(p, index.docs)]
    out["place"] = (1.0 if uncovered else 0.0,
                    f"问题问的是“{uncovered[0].name}”，已收录的文件不涉及该地区。" if uncovered else None)

    from rag.understand.references import missing_document

    missing = missing_document(need, index) if hasattr(index, "tokenizer") else None
    reason = None
    if missing:
        era, doc_id = missing
        meta = index.docs[doc_id]
        reason = (f"文件库中没有{era}时期的这份文件；同一主题的只有《{meta.title}》"
                  f"（{meta.period_label() or '期限未注明'}）。")
    out["document"] = (1.0 if missing else 0.0, reason)

    # years of the need that no document's stated period covers (a period range "2025—2027年" names a plan)
    covered = document_years(index.docs)
    need_text = _RANGE.sub("", plain_need(analysis, index.docs))
    this_year = settings.today_date().year  # 今年/明年/去年 are years too (relative to settings.today)
    relative = _AGE_YEAR.sub("", need_text)
    named = _YEAR.findall(need_text) + [str(this_year + d) for w, d in _RELATIVE_YEARS.items() if w in relative]
    need_years = {y for y in named if int(y) not in covered}
    year_reason = None
    for label in _FIVE_YEAR_PLAN.findall(need_text):  # a five-year plan no document belongs to
        if label not in corpus_text(index):
            year_reason = f"文件中没有“{label}”时期的规划。"
    if year_reason is None and need_years:
        context = normalize("".join(s.hit.chunk.text + s.hit.chunk.section for s in top[:3]))
        absent = sorted(y for y in need_years if y not in context)
        if absent:
            year_reason = f"检索到的段落没有提到{'、'.join(absent)}年的内容。"
    out["year"] = (1.0 if year_reason else 0.0, year_reason)

    # a value may stand in the next clause of its passage ('…责令改正；拒不改正的，可以处…罚款')
    missing_type = next((t for t in analysis.types
                         if not any(t.evidence.search(normalize(continuation(s, NEAR))) for s in top)), None)
    out["answer_type"] = (1.0 if missing_type else 0.0,
                          f"问题询问的是{missing_type.label}，检索到的段落中没有这类信息。" if missing_type else None)

    from rag.answer.refusal_need import (
        asked_term,
        defines,
        detail_support,
        member_support,
        outcome_support,
    )
    from rag.answer.refusal_value import value_in_top, value_supports

    term = asked_term(need)
    undefined = term is not None and not any(defines(term, s.text) for s in scored[:8])
    out["definition"] = (1.0 if undefined else 0.0,
                         f"问题询问“{term}”的含义，检索到的段落只提到它，没有给出解释。" if undefined else None)

    has_df = hasattr(index, "df") and hasattr(index, "tokenizer")
    focus, alternatives = focus_terms(question, index, plan) if has_df else ({}, {})
    weight = sum(focus.values())
    best_focus = max((focus_coverage(s, focus, alternatives) for s in scored[:8]), default=0.0) if has_df else 1.0
    out["focus"] = (1.0 - best_focus, f"检索到的段落没有同时提到问题要点的句子（要点覆盖 {best_focus:.2f}）。")

    gate = weight >= getattr(settings, "min_value_focus_idf", 0.0)
    # a value or detail may stand in the next clause of the sentence's passage (``NEAR`` characters):
    # "…责令限期改正；逾期不改正的，处五百元以上五千元以下罚款"
    per_kind = (value_supports(question, scored, index, plan, focus=(focus, alternatives), reach=NEAR)
                if has_df and gate else [])
    value = min(per_kind, key=lambda ks: ks[1]) if per_kind else None
    detail = detail_support(question, scored, focus, alternatives, reach=NEAR, plan=plan) if has_df else None
    members = member_support(question, scored, focus, alternatives, plan=plan) if has_df else None
    outcome = outcome_support(question, scored, focus, alternatives, plan=plan) if has_df else None
    supports = {
        "value": (value[1] if value else None, getattr(settings, "min_value_support", 0.4),
                  f"问题询问的是{value[0].label}，检索到的段落中没有同时提到问题要点和这类信息的句子" if value else ""),
        "detail": (detail[1] if detail else None, getattr(settings, "min_detail_support", 0.3),
                   f"问题询问的是“{detail[0]}”这类具体规定，检索到的段落中没有同时提到问题要点和“{detail[0]}”的句子"
                   if detail else ""),
        "members": (members, getattr(settings, "min_member_support", 0.8),
                    "问题要求列出这些成员的具体名单，检索到的段落只给出数量，没有同时提到问题要点并逐一列出名称的句子"),
        "outcome": (outcome, getattr(settings, "min_outcome_support", 0.5),
                    "问题询问的是实际完成或审批的结果，文件只写了目标和部署，没有同时提到问题要点和实际结果的句子"),
    }
    for name, (support, threshold, text) in supports.items():
        reason = f"{text}（要点覆盖 {support:.2f}）。" if support is not None else None
        out[name] = (0.0 if support is None else 1.0 - support, reason)
        out[f"{name}_fires"] = (1.0 if support is not None and support < threshold else 0.0, reason)
    # the asked values in the best-ranked sentences (rank-based: a paraphrasing question lowers no share)
    top_share = value_in_top(question, scored, index, plan, focus=(focus, alternatives), reach=NEAR) if (
        has_df and gate) else None
    out["value_top"] = (0.0 if top_share is None else 1.0 - top_share, None if top_share is None or top_share == 1 else
                        f"问题询问的是{value[0].label}，排在最前的段落没有给出这类信息。" if value else None)
    # value-kind match per asked kind (a year, a number, a place, an organisation, a person): the model
    # learns how far each kind's evidence pattern can be trusted
    asked = {k.name: sup for k, sup in per_kind}
    for k in VALUE_KINDS:
        sup = asked.get(k.name)
        out[f"value_{k.name}"] = (0.0 if sup is None else 1.0 - sup, None if sup is None else
                                  f"问题询问的是{k.label}，检索到的段落中没有同时提到问题要点和这类信息的句子（要点覆盖 {sup:.2f}）。")

    missing_share, reason = 0.0, None
    if has_df:
        from rag.answer.focus import question_terms
        from rag.understand.query import missing_terms

        terms = question_terms(need, index.tokenizer, index.idf)
        matched = {m.matched for m in (plan.concepts if plan else ())}
        absent = missing_terms([t for t in terms if not any(t in c or c in t for c in matched)], corpus_text(index))
        total = sum(terms.values())
        if absent and total:
            missing_share = sum(terms.get(t, 0.0) for t in absent) / total
            reason = f"文件中没有出现“{'、'.join(absent)}”。"
    out["missing_term"] = (missing_share, reason)
    return out
