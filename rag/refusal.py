"""When the extractive answer refuses ("文件中未找到…"), and why.

One answerability decision (issue 11 §4) replaces the former ordered chain of hand-written rules:

1. **Hard rules** (``hard_refusal``) — those that hold on every corpus:

   ============  ======================================================================================
   no_content    no word of the question that holds a letter occurs in the index vocabulary (punctuation,
                 code or SQL, bare numbers, words no document uses); the pipeline answers with
                 ``NO_CONTENT_TEXT`` and shows no passages
   no_evidence   no sentence was retrieved, or none shares a word with the question (best coverage 0)
   region        the question names a province or city (the gazetteer, ``named_places``) that no indexed
                 document covers (``place_covered``: the documents' own ``region`` fields, a province
                 question may use its cities' documents, a city lies in its province) and it names no
                 covered place or no top sentence mentions it
   ============  ======================================================================================

2. **The answerability model** (``rag.answerability``): a logistic regression fitted on the tuning
   questions over evidence features — the former rules' signals (``rule_signals``: coverage, focus
   coverage, each asked value kind vs. the values the sentences state and whether the best-ranked
   sentences state it, asked detail noun, members, outcome, definition, years and five-year plans,
   another era's document, answer types such as amounts or phone numbers, words no document contains,
   a place beside the covered ones), the scope of the hits and the retrieval scores (BM25, fused).
   The refusal names its decisive feature with that signal's one-line Chinese reason.

The question's *information need* (``need_clause``) is the question without the clauses in which a
company describes itself ("我们是一家做火锅底料的企业，…"); its *focus* (``focus_terms``) the need's
content words without question, place, document and generic words.

``check_refusal`` returns a ``RefusalDecision`` whose ``reason`` is a Chinese sentence for users (the
pipeline adds it to ``Answer.notices``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rag.text import corpus_text
from rag.refusal_value import (  # noqa: F401  (re-exported: ``from rag.refusal import …`` keeps working)
    ORG_NAME,
    VALUE_KINDS,
    ValueKind,
    asked_kinds,
    asked_unit,
    continuation,
    value_head,
    value_support,
)
from rag.text import normalize

# Clauses in which a company describes itself (not the information need).
_SELF = re.compile(r"^(我们|我司|我厂|我公司|本公司|本企业|我单位|我们公司|我们厂|我们团队|我是|本人|我在|我家)")
_ASKS = re.compile(r"[?？吗呢]|哪|什么|怎么|怎样|如何|多少|几|是否|能否|可否|有没有|可以")
_CLAUSE = re.compile(r"[，,；;。]")


def need_clause(question: str) -> str:
    """The question without its self-description clauses: clauses that start with 我们/我司/本公司…
    and ask nothing. "我们厂是做泡菜的，省里有相关方向吗？" → "省里有相关方向吗？". Returns the whole
    question when every clause would be dropped."""
    kept, describing = [], False
    for part in (p for p in _CLAUSE.split(question) if p.strip()):
        asks = bool(_ASKS.search(part))
        # a self-description continues over the following clauses that ask nothing ("…，类似空中出租车，")
        describing = not asks and (describing or bool(_SELF.match(part.strip())))
        if not describing:
            kept.append(part)
    return "，".join(kept) if kept else question


NeedType = ValueKind  # a type of information a question can ask for (the same record: name, label,
# trigger on the need clause, evidence a sentence must match)


NEED_TYPES: tuple[NeedType, ...] = (
    NeedType("amount", "具体金额", re.compile(
        r"(多少|几)[十百千万亿]*元|(多少|几)[千万亿]+(?=元|[？?]|$)|金额|额度|(补贴|奖励|资助|补助|奖补|贴息|扶持资金|奖金)有?(多少|几|标准)"
        r"|(多少|几)[\u4e00-\u9fff]{0,2}?(奖金|补贴|奖励|资助|补助|钱)"
        r"|(一次性|最高)(奖励|补贴|补助|资助)"
        # a sum of money by its noun: an allowance, a fee, a fine, a wage, a deposit
        r"|(多少|几)[\u4e00-\u9fff]{0,3}?(津贴|费(?!者)|罚款|工资|薪酬|保证金|押金)"
        r"|(津贴|费|罚款|工资|薪酬|保证金|押金)(标准)?(是|为)?(交|收|要交|要收)?(多少|几)"),
        re.compile(r"(?:\d[\d.,]*|[一二三四五六七八九十两百千万亿]+)\s*[十百千万亿]*元")),
    NeedType("deadline", "具体日期或截止时间", re.compile(
        r"截止|(申报|申请|受理|报名)(时间|日期|期限)|(哪一?天|几月几[日号]|几号)(前|之前|截止)"),
        re.compile(r"(截止|截至|之前|申报|受理).{0,20}(\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2})"
                   r"|(\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}).{0,6}(截止|前)")),
    NeedType("phone", "联系电话或联系方式", re.compile(r"电话|热线|联系方式|手机号|传真|邮箱|怎么联系|如何联系"),
             re.compile(r"\d{3,4}-\d{7,8}|1\d{10}|\d{8}|@")),
    NeedType("address", "地址", re.compile(r"地址|办公地点|在哪里?办|去哪里?办|哪里申请|窗口"),
             re.compile(r"[路街巷]\d+号|\d+号楼")),
    NeedType("website", "网址", re.compile(r"网址|网站|官网|链接|网页|公众号|小程序|二维码"),
             re.compile(r"https?://|www\.|\.gov\.cn|\.com")),
    NeedType("person", "联系人或负责人姓名", re.compile(r"联系人|负责人是谁|负责人叫|姓名|叫什么名字"),
             re.compile(r"联系人|同志|先生|女士")),
    NeedType("rate", "税率或利率", re.compile(r"税率|利率|费率|税负|即征即退|退税|优惠幅度"),
             re.compile(r"税率|利率|费率|税负|即征即退|退税")),
    NeedType("rent", "租金减免", re.compile(r"免租|租金|房租|减租"), re.compile(r"免租|租金|房租|减租")),
)

# --- places (hard rule "region"): the gazetteer against the regions of the indexed documents ---------
def named_places(question: str) -> list:
    """The provinces and prefecture-level cities (``rag.metadata.Place``) the question names as words:
    a gazetteer name (full 云南省 or short 云南, ``rag.metadata.find_places``) starting a jieba word (precise
    mode) — a region's characters inside another word name none (川西藏区 is 川西/藏区, not 西藏; 浙江西部
    names 浙江, not 江西). In question order, each place once."""
    import jieba

    from rag.metadata import find_places

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
    from rag.metadata import find_places

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


def uncovered_place(question: str, docs: dict, top_text: str) -> str | None:
    """The name of a place the question names (``named_places``) that no indexed document covers
    (``place_covered``) when the question is about it: it names no covered place, or the top
    sentences (``top_text``, normalised) never mention it. None otherwise."""
    places = named_places(question)
    uncovered = [p for p in places if not place_covered(p, docs)]
    if not uncovered:
        return None
    names_covered = len(uncovered) < len(places)
    for p in uncovered:
        mentioned = any(n in top_text for n in (p.name, *p.aliases))
        if not names_covered or not mentioned:
            return p.name
    return None


_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_RANGE = re.compile(r"(?:19|20)\d{2}\s*年?\s*[—–\-~至到]+\s*(?:19|20)\d{2}")
_RELATIVE_YEARS = {"今年": 0, "本年度": 0, "明年": 1, "去年": -1}
# a five-year plan (十X五) — the middle numeral is required (十五个重点领域, 第十五届 are numbers)
_FIVE_YEAR_PLAN = re.compile(r"(?<![一二三四五六七八九十百])十[一二三四五六七八九]五(?![个届万亿千百岁名家位条项次倍%％])")
NEAR = 60  # characters after a sentence, in its passage, where an asked value or detail may stand
TOP_SENTENCES = 5  # evidence = the best-scoring sentences (and their chunks for the year rule)


# --- the question's focus (rules "value", "detail", "members", "outcome"; rag.refusal_value) ---------
_QUESTION_TOKEN = re.compile(r"[几哪啥谁]|多少|什么|怎么|怎样|如何|是否|能否|具体|分别|请问|有没有|^\d+$"
                             r"|^[一二三四五六七八九十两]+[条个项大类家种点年份]?$")
_SCOPE_TOKEN = re.compile(r"^(省里|市里|全省|我省|本省|全市|本市|省级|市级|规划|方案|意见|文件|实施方案"
                          r"|实施意见|政策|提到|提出|要求|目标|计划|今年|明年|去年|十[一二三四五六七八九]五)$")


def _is_place_word(token: str) -> bool:
    """``token`` is exactly a gazetteer place name (full or short: 云南, 杭州市)."""
    from rag.metadata import find_places

    found = find_places(token)
    return len(found) == 1 and found[0][1] == 0 and token in (found[0][0].name, *found[0][0].aliases)
GENERIC_DF_SHARE = 0.15  # a word in ≥ 15 % of the passages (产业, 发展, 支持) is not a focus word


def focus_terms(question: str, index, plan=None) -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
    """The focus of the question: the content words of its information need with their idf, and the
    concept expansions that count for them.

    The need clause (``need_clause``) without document names, tokenised as in
    ``rag.extractive.question_terms``; dropped: question words (多少/哪个/具体), region and document
    words (a gazetteer place, 省里, 规划, a five-year-plan era), words in ≥ ``GENERIC_DF_SHARE`` of the passages, and jieba pieces
    that are no dictionary word and no corpus word (收要, 谷叫). Returns (term → idf, term →
    alternative spellings from ``plan.concepts``).
    """
    import jieba

    from rag.extractive import concept_alternatives, question_terms

    need = _strip_names(need_clause(question), index.docs)
    n = max(index.df.get("__N__", 1), 1) if hasattr(index, "df") else 1
    out: dict[str, float] = {}
    for t, w in question_terms(need, index.tokenizer, index.idf).items():
        if _QUESTION_TOKEN.search(t) or _SCOPE_TOKEN.match(t) or _is_place_word(t):
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
    from rag.extractive import _table_header

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


_LETTER = re.compile(r"[^\W\d_]")  # a letter of any script (Chinese characters included), not a digit
NO_CONTENT_TEXT = "问题中没有可识别的查询内容，请用中文描述要查询的政策内容。"  # the answer text (no passages shown)
NO_CONTENT_REASON = "问题里没有一个词出现在已收录的文件中（只有符号、数字、代码或文件中没有的词）。"


def content_terms(question: str, index) -> list[str]:
    """The question's words that carry recognisable content: index tokens (``index.tokenizer.tokens``:
    no stopwords, no punctuation) holding at least one letter of any script and occurring in the
    index vocabulary (``index.df`` > 0). Numbers and symbols alone are no content (`" OR 1=1 --` has
    only "or", absent from a Chinese corpus, and "1"). Returns them in question order, possibly []."""
    return [t for t in index.tokenizer.tokens(question) if _LETTER.search(t) and index.df.get(t, 0) > 0]


@dataclass(frozen=True)
class RefusalDecision:
    """``refused``; ``rule``: which rule refused (see module docstring) or None; ``reason``: a user-facing
    Chinese sentence saying why (None when answered); ``probability``: the model's refusal probability in
    [0, 1] (None when a hard rule decided)."""

    refused: bool
    rule: str | None = None
    reason: str | None = None
    probability: float | None = None  # the answerability model's refusal probability (None for a hard rule)


ANSWER = RefusalDecision(False)


def asked_types(need: str) -> list[NeedType]:
    """The answer types the need clause asks for (see ``NEED_TYPES``)."""
    return [t for t in NEED_TYPES if t.trigger.search(need)]


def _strip_names(question: str, docs: dict) -> str:
    """The question without the titles, short names and numbers of documents (years inside a title
    such as "(2025—2027年)" are names, not needs)."""
    q = normalize(question)
    for meta in docs.values():
        for name in sorted([meta.title, *meta.short_names, meta.doc_number or ""], key=len, reverse=True):
            n = normalize(name)
            if len(n) >= 4:
                q = q.replace(n, "")
    return q


def hard_refusal(question: str, scored: list, index) -> RefusalDecision | None:
    """The refusals that hold on every corpus, checked before the answerability model
    (``rag.answerability``): no recognisable content (``content_terms``), no retrieved sentence or none
    sharing a word with the question (best coverage 0), a place no indexed document covers
    (``uncovered_place``) and a document named by place and topic words that no indexed document of that
    place matches (``rag.references.unmatched_document``). None when none applies."""
    if hasattr(index, "tokenizer") and hasattr(index, "df") and not content_terms(question, index):
        return RefusalDecision(True, "no_content", NO_CONTENT_REASON)
    if not scored:
        return RefusalDecision(True, "no_evidence", "没有检索到与问题相关的段落。")
    best_coverage = max(s.coverage for s in scored[:TOP_SENTENCES])
    if best_coverage <= 0:
        return RefusalDecision(True, "no_evidence", "检索到的段落与问题没有共同的关键词。")
    top_text = normalize("".join(s.text for s in scored[:TOP_SENTENCES]))
    place = uncovered_place(question, index.docs, top_text)
    if place:
        regions = "、".join(sorted({m.region for m in index.docs.values() if m.region}))
        return RefusalDecision(True, "region", f"已收录的文件只涉及{regions}，没有关于“{place}”的文件，"
                                               f"检索到的段落也没有提到它。")
    if hasattr(index, "tokenizer"):
        from rag.references import unmatched_document

        unmatched = unmatched_document(question, index)
        if unmatched is not None:
            return RefusalDecision(True, "unmatched_document", unmatched.reason)
    return None


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
    need = need_clause(question)

    # a place the documents do not cover, named beside one they do (the hard rule takes the rest)
    places = named_places(question)
    uncovered = [p for p in places if not place_covered(p, index.docs)]
    out["place"] = (1.0 if uncovered else 0.0,
                    f"问题问的是“{uncovered[0].name}”，已收录的文件不涉及该地区。" if uncovered else None)

    from rag.references import missing_document

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
    need_text = _RANGE.sub("", _strip_names(need, index.docs))
    this_year = settings.today_date().year  # 今年/明年/去年 are years too (relative to settings.today)
    named = _YEAR.findall(need_text) + [str(this_year + d) for w, d in _RELATIVE_YEARS.items() if w in need_text]
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
    missing_type = next((t for t in asked_types(need)
                         if not any(t.evidence.search(normalize(continuation(s, NEAR))) for s in top)), None)
    out["answer_type"] = (1.0 if missing_type else 0.0,
                          f"问题询问的是{missing_type.label}，检索到的段落中没有这类信息。" if missing_type else None)

    from rag.refusal_need import (
        asked_term,
        defines,
        detail_support,
        member_support,
        outcome_support,
    )
    from rag.refusal_value import value_in_top, value_supports

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
    detail = detail_support(question, scored, focus, alternatives, reach=NEAR) if has_df else None
    members = member_support(question, scored, focus, alternatives) if has_df else None
    outcome = outcome_support(question, scored, focus, alternatives) if has_df else None
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
        from rag.extractive import question_terms
        from rag.query import missing_terms

        terms = question_terms(need, index.tokenizer, index.idf)
        matched = {m.matched for m in (plan.concepts if plan else ())}
        absent = missing_terms([t for t in terms if not any(t in c or c in t for c in matched)], corpus_text(index))
        total = sum(terms.values())
        if absent and total:
            missing_share = sum(terms.get(t, 0.0) for t in absent) / total
            reason = f"文件中没有出现“{'、'.join(absent)}”。"
    out["missing_term"] = (missing_share, reason)
    return out


def check_refusal(question: str, scored: list, index, settings, plan=None, model=None) -> RefusalDecision:
    """Decide whether to refuse: first the hard rules (``hard_refusal``), then one answerability decision
    by the fitted model (``rag.answerability``) over the evidence features — the rule signals
    (``rule_signals``) and the retrieval scores of the hits. The decision's ``rule`` names the decisive
    feature (the one that pushed the refusal probability up most) and ``reason`` states it in one
    Chinese line; ``probability`` is the model's refusal probability.

    ``scored``: ``rag.extractive.ScoredSentence`` list, best first; ``index``: the LoadedIndex (``docs``,
    corpus text); ``settings``: the rule settings (``min_*``); ``plan``: the QueryPlan (its concept
    matches count as covering the company's words); ``model``: an ``rag.answerability.Model`` (default:
    the bundled fitted one).
    """
    hard = hard_refusal(question, scored, index)
    if hard is not None:
        return hard
    from rag import answerability

    return answerability.decide(answerability.features(question, scored, index, settings, plan), model)


_FIELD = re.compile(r"哪个(领域|方向|专项|板块|产业|工程|行业)|哪块|哪一块|哪类|属于|沾边|对应的?(培育)?方向|相关的?(方向|工程|专项)")


def asks_field(question: str) -> bool:
    """True when the question asks which field/direction of a plan something falls under (an applicability
    question: a company describing itself, or "属于规划里的哪个领域"); answers then name the section."""
    return bool(_FIELD.search(question)) or need_clause(question) != question

