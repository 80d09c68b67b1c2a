"""When the extractive answer refuses ("文件中未找到…"), and why.

A question is refused when the retrieved evidence cannot hold what the question asks for. The rules,
checked in this order, look only at the question's *information need* (``need_clause``: the question
without the clauses in which a company describes itself, "我们是一家做火锅底料的企业，…"):

============  ===========================================================================================
rule          refuse when …
============  ===========================================================================================
no_content    the question has no recognisable content (``content_terms``): none of its words that hold a
              letter (Chinese or Latin) occurs in the index vocabulary — punctuation, code or SQL
              (`" OR 1=1 --`, ``<script>``), bare numbers, or words no indexed document uses. Its reason asks
              the user to describe the policy content in Chinese (an English question naming a term of the
              documents, "What is 专精特新?", has content and goes on to the rules below); the pipeline answers
              with ``NO_CONTENT_TEXT`` and shows no passages, as none is near such a question)
no_evidence   no question term occurs in any retrieved sentence (best coverage < ``min_evidence_coverage``)
region        the question names a province or city outside the corpus regions (manifest ``region``
              values and their cities) as a word (``mentioned_regions``: 川西藏区 names no 西藏) and no
              retrieved sentence mentions it
document      the document the question asks about (its first reference) has the topic of a corpus
              document but another five-year-plan era — "十四五战略性新兴产业发展规划" when the corpus
              has the 十三五 one (``rag.references.missing_document``)
year          the need names a year outside every document's stated period (2030年; 今年/明年/去年 count
              relative to ``settings.today``) that no retrieved top sentence, its chunk or section states
              (a range such as 2025—2027年 names a plan: not checked), or a five-year plan (十五五, the
              middle numeral required) that the corpus never names
answer_type   the need asks for a type of information — an amount of money, a calendar deadline, a phone
              number, an address, a website, a contact person, a tax/interest rate, rent exemption — and
              no top sentence contains that type (e.g. a number followed by 元/万元 for an amount)
value         the need asks for one value (``rag.refusal_value``) — a number (多少/几个), a year or date
              (哪年/何时), a place (哪个县), an organisation (哪家企业/由谁), a person (叫什么名字) — and no
              top-8 sentence states a value of that kind (a number: naming the counted noun, in the asked
              unit, for the one year asked) while covering ≥ ``min_value_support`` (idf share) of the question's *focus*
              (``focus_terms``: content words of the need without question, region, document and generic
              words; concept expansions count for the company's words). Skipped when the focus weighs
              < ``min_value_focus_idf``. Calibrated on dev.jsonl by a grid over both settings.
detail        the need asks for a detail by its noun (申请材料, 认定条件, 评分标准, 权重, 办法, 程序,
              名单 … — ``rag.refusal_need``) and no top-8 sentence states that noun while covering ≥
              ``min_detail_support`` of the focus. Calibrated on dev.jsonl by a grid.
members       the need asks to name the members of a group it counts (具体是哪8家, “三网”是指哪三张网 —
              ``rag.refusal_need.asks_members``) and no top-8 sentence enumerates ≥ min(count, 3) items
              while covering ≥ ``min_member_support`` of the focus (a sentence that only counts names none)
outcome       the need asks for an achieved result (实际完成了多少, 截至2024年底, 获批了吗) and no top-8
              sentence states an outcome (已建成, 累计达到, 获批; naming the asked years) while covering ≥
              ``min_outcome_support`` of the focus — plans state targets. Both calibrated on dev by a grid.
definition    the need asks what a term means (“硅巷”是什么意思, “N”具体指什么) and no top-8 sentence defines it
              (the term followed by 是指/指/即/是/为/包括/：)
missing_term  a word of the need occurs nowhere in the corpus (``rag.query.missing_terms``) and the best
              coverage is below
              ``need_missing_term_coverage`` (settings; 0 disables the rule)
============  ===========================================================================================

``check_refusal`` returns a ``RefusalDecision`` whose ``reason`` is a Chinese sentence for users (the
pipeline adds it to ``Answer.notices``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.query import corpus_text
from rag.refusal_value import (  # noqa: F401  (re-exported: ``from rag.refusal import …`` keeps working)
    ORG_NAME, SICHUAN_CITIES, VALUE_KINDS, ValueKind, asked_kinds, asked_unit, value_head, value_support)
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
        r"|(一次性|最高)(奖励|补贴|补助|资助)"),
        re.compile(r"\d[\d.,]*\s*[十百千万亿]*元")),
    NeedType("deadline", "具体日期或截止时间", re.compile(
        r"截止|哪一?天|几月几[日号]|几号|(申报|申请|受理|报名)(时间|日期|期限)"),
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

# Provinces, province-level cities and large cities outside Sichuan (a question about them asks for
# another jurisdiction's policy).
OTHER_REGIONS = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "贵州", "云南", "陕西", "甘肃", "青海", "台湾",
    "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门", "深圳", "广州", "杭州", "南京", "武汉", "西安",
    "苏州", "合肥", "长沙", "郑州", "青岛", "厦门", "宁波", "昆明", "贵阳", "兰州", "济南", "沈阳", "大连",
    "哈尔滨", "长春", "福州", "南昌", "南宁", "太原", "石家庄", "乌鲁木齐", "拉萨", "呼和浩特", "银川", "西宁",
)
def mentioned_regions(question: str) -> list[str]:
    """The ``OTHER_REGIONS`` the question names as words: a jieba word (precise mode) that is the
    region or starts with it (云南省, 西藏自治区), not a region's characters inside another place name
    (川西藏区 is 川西/藏区, not 西藏; 浙江西部 names 浙江, not 江西)."""
    import jieba

    words = [w for w in jieba.lcut(normalize(question)) if len(w) >= 2]
    return [r for r in OTHER_REGIONS if any(w.startswith(r) for w in words)]


_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_RANGE = re.compile(r"(?:19|20)\d{2}\s*年?\s*[—–\-~至到]+\s*(?:19|20)\d{2}")
_RELATIVE_YEARS = {"今年": 0, "本年度": 0, "明年": 1, "去年": -1}
# a five-year plan: 十三五/十四五/十五五 — the middle numeral is required (十五个重点领域, 第十五届 are numbers)
_FIVE_YEAR_PLAN = re.compile(r"(?<![一二三四五六七八九十百])十[一二三四五六七八九]五(?![个届万亿千百岁名家位条项次倍%％])")
TOP_SENTENCES = 5  # evidence = the best-scoring sentences (and their chunks for the year rule)


# --- the question's focus (rules "value", "detail", "members", "outcome"; rag.refusal_value) ---------
_QUESTION_TOKEN = re.compile(r"[几哪啥谁]|多少|什么|怎么|怎样|如何|是否|能否|具体|分别|请问|有没有|^\d+$"
                             r"|^[一二三四五六七八九十两]+[条个项大类家种点年份]?$")
_SCOPE_TOKEN = re.compile(r"^(四川|成都|省里|市里|全省|我省|全市|省级|市级|四川省|成都市|规划|方案|意见|文件|实施方案"
                          r"|实施意见|十三五|十四五|政策|提到|提出|要求|目标|计划|今年|明年|去年)$")
GENERIC_DF_SHARE = 0.15  # a word in ≥ 15 % of the passages (产业, 发展, 支持) is not a focus word


def focus_terms(question: str, index, plan=None) -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
    """The focus of the question: the content words of its information need with their idf, and the
    concept expansions that count for them.

    The need clause (``need_clause``) without document names, tokenised as in
    ``rag.extractive.question_terms``; dropped: question words (多少/哪个/具体), region and document
    words (四川/省里/规划/十四五), words in ≥ ``GENERIC_DF_SHARE`` of the passages, and jieba pieces
    that are no dictionary word and no corpus word (收要, 谷叫). Returns (term → idf, term →
    alternative spellings from ``plan.concepts``).
    """
    import jieba

    from rag.extractive import concept_alternatives, question_terms

    need = _strip_names(need_clause(question), index.docs)
    n = max(index.df.get("__N__", 1), 1) if hasattr(index, "df") else 1
    out: dict[str, float] = {}
    for t, w in question_terms(need, index.tokenizer, index.idf).items():
        if _QUESTION_TOKEN.search(t) or _SCOPE_TOKEN.match(t):
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
    got = sum(w for t, w in focus.items() if any(o in sent or o in ctx for o in (t, *alternatives.get(t, ()))))
    return got / total


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
    Chinese sentence saying why (None when answered)."""

    refused: bool
    rule: str | None = None
    reason: str | None = None


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


def check_refusal(question: str, scored: list, index, settings, plan=None) -> RefusalDecision:
    """Decide whether to refuse (rules in the module docstring).

    ``scored``: ``rag.extractive.ScoredSentence`` list, best first; ``index``: the LoadedIndex (``docs``,
    corpus text); ``settings``: ``min_evidence_coverage``, ``need_missing_term_coverage``; ``plan``: the
    QueryPlan (its concept matches count as covering the company's words).
    """
    if hasattr(index, "tokenizer") and hasattr(index, "df") and not content_terms(question, index):
        return RefusalDecision(True, "no_content", NO_CONTENT_REASON)
    if not scored:
        return RefusalDecision(True, "no_evidence", "检索到的段落与问题没有共同的关键词。")
    best_coverage = max(s.coverage for s in scored[:TOP_SENTENCES])
    if best_coverage < settings.min_evidence_coverage:
        return RefusalDecision(True, "no_evidence",
                               f"检索到的段落与问题的关键词重合很少（覆盖率 {best_coverage:.2f}）。")
    top = scored[:TOP_SENTENCES]
    top_text = normalize("".join(s.text for s in top))
    need = need_clause(question)

    corpus_regions = {m.region for m in index.docs.values() if m.region}
    names_corpus_region = any(r[:2] in question for r in corpus_regions)
    for region in mentioned_regions(question):
        # another jurisdiction is the subject (no corpus region named), or the evidence never mentions it
        if not any(region in r for r in corpus_regions) and (not names_corpus_region or region not in top_text):
            return RefusalDecision(True, "region", f"文件只涉及{'、'.join(sorted(corpus_regions))}，"
                                                   f"检索到的段落没有关于“{region}”的内容。")

    from rag.references import missing_document

    missing = missing_document(need, index) if hasattr(index, "tokenizer") else None
    if missing:
        era, doc_id = missing
        meta = index.docs[doc_id]
        return RefusalDecision(True, "document", f"文件库中没有{era}时期的这份文件；同一主题的只有《{meta.title}》"
                                                 f"（{meta.period_label() or '期限未注明'}）。")

    # years of the need that no document's stated period covers (a period range "2025—2027年" names a plan)
    covered = {y for m in index.docs.values() if m.period_start and m.period_end
               for y in range(m.period_start, m.period_end + 1)}
    need_text = _RANGE.sub("", _strip_names(need, index.docs))
    this_year = settings.today_date().year  # 今年/明年/去年 are years too (relative to settings.today)
    named = _YEAR.findall(need_text) + [str(this_year + d) for w, d in _RELATIVE_YEARS.items() if w in need_text]
    need_years = {y for y in named if int(y) not in covered}
    for label in _FIVE_YEAR_PLAN.findall(need_text):  # a five-year plan (十五五) no document belongs to
        if label not in corpus_text(index):
            return RefusalDecision(True, "year", f"文件中没有“{label}”时期的规划。")
    if need_years:
        context = normalize("".join(s.hit.chunk.text + s.hit.chunk.section for s in top[:3]))
        absent = sorted(y for y in need_years if y not in context)
        if absent:
            return RefusalDecision(True, "year", f"检索到的段落没有提到{'、'.join(absent)}年的内容。")

    for need_type in asked_types(need):
        if not any(need_type.evidence.search(normalize(s.text)) for s in top):
            return RefusalDecision(True, "answer_type",
                                   f"问题询问的是{need_type.label}，检索到的段落中没有这类信息。")

    # the focus of the need (``focus_terms``), computed once for the value, detail, members and outcome rules
    focus = focus_terms(question, index, plan) if hasattr(index, "df") else None
    threshold = getattr(settings, "min_value_support", 0.0)
    if threshold > 0 and focus is not None:
        support = value_support(question, scored, index, plan,
                                min_focus_idf=getattr(settings, "min_value_focus_idf", 0.0), focus=focus)
        if support is not None and support[1] < threshold:
            kind, share = support
            return RefusalDecision(True, "value", f"问题询问的是{kind.label}，检索到的段落中没有同时提到问题要点"
                                                  f"和这类信息的句子（要点覆盖 {share:.2f}）。")

    detail_threshold = getattr(settings, "min_detail_support", 0.0)
    if detail_threshold > 0 and focus is not None:
        from rag.refusal_need import detail_support

        detail = detail_support(question, scored, *focus)
        if detail is not None and detail[1] < detail_threshold:
            noun, share = detail
            return RefusalDecision(True, "detail", f"问题询问的是“{noun}”这类具体规定，检索到的段落中没有同时提到"
                                                   f"问题要点和“{noun}”的句子（要点覆盖 {share:.2f}）。")

    from rag.refusal_need import definition_refusal, member_or_outcome_refusal

    decision = (member_or_outcome_refusal(question, scored, index, settings, plan, focus=focus)
                or definition_refusal(question, scored))
    if decision is not None:
        return decision

    if settings.need_missing_term_coverage <= 0 or best_coverage >= settings.need_missing_term_coverage:
        return ANSWER
    from rag.query import missing_terms

    from rag.extractive import question_terms

    terms = question_terms(need, index.tokenizer, index.idf)
    covered = {m.matched for m in (plan.concepts if plan else ())}
    absent_terms = missing_terms([t for t in terms if not any(t in c or c in t for c in covered)],
                                 corpus_text(index))
    if absent_terms:
        return RefusalDecision(True, "missing_term", f"文件中没有出现“{'、'.join(absent_terms)}”。")
    return ANSWER


_FIELD = re.compile(r"哪个(领域|方向|专项|板块|产业|工程|行业)|哪块|哪一块|哪类|属于|沾边|对应的?(培育)?方向|相关的?(方向|工程|专项)")


def asks_field(question: str) -> bool:
    """True when the question asks which field/direction of a plan something falls under (an applicability
    question: a company describing itself, or "属于规划里的哪个领域"); answers then name the section."""
    return bool(_FIELD.search(question)) or need_clause(question) != question

