"""When the extractive answer refuses ("文件中未找到…"), and why.

A question is refused when the retrieved evidence cannot hold what the question asks for. The rules,
checked in this order, look only at the question's *information need* (``need_clause``: the question
without the clauses in which a company describes itself, "我们是一家做火锅底料的企业，…"):

============  ===========================================================================================
rule          refuse when …
============  ===========================================================================================
no_evidence   no question term occurs in any retrieved sentence (best coverage < ``min_evidence_coverage``)
region        the question names a province or city outside the corpus regions (manifest ``region``
              values and their cities) and no retrieved sentence mentions it
year          the need names a year outside every document's stated period (2030年) that no retrieved top
              sentence, its chunk or section states (a range such as 2025—2027年 names a plan: not checked)
answer_type   the need asks for a type of information — an amount of money, a calendar deadline, a phone
              number, an address, a website, a contact person, a tax/interest rate, rent exemption — and
              no top sentence contains that type (e.g. a number followed by 元/万元 for an amount)
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


@dataclass(frozen=True)
class NeedType:
    """A type of information a question can ask for. ``trigger``: regex on the need clause;
    ``evidence``: regex a sentence must match to hold that type; ``label``: what it is, for reasons."""

    name: str
    label: str
    trigger: re.Pattern
    evidence: re.Pattern


NEED_TYPES: tuple[NeedType, ...] = (
    NeedType("amount", "具体金额", re.compile(
        r"(多少|几)[十百千万亿]*元|(多少|几)[千万亿]+(?=元|[？?]|$)|金额|额度|(补贴|奖励|资助|补助|奖补|贴息|扶持资金|奖金)有?(多少|几|标准)"
        r"|(多少|几)(奖金|补贴|奖励|资助|钱)"
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
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_RANGE = re.compile(r"(?:19|20)\d{2}\s*年?\s*[—–\-~至到]+\s*(?:19|20)\d{2}")
_RELATIVE_YEARS = {"今年": 0, "本年度": 0, "明年": 1, "去年": -1}
_FIVE_YEAR_PLAN = re.compile(r"十[一二三四五六七八九]?五")
TOP_SENTENCES = 5  # evidence = the best-scoring sentences (and their chunks for the year rule)


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


def corpus_text_of(index) -> str:
    """The normalised corpus text (``rag.query.corpus_text``; "" for an index without documents)."""
    if not hasattr(index, "doc_texts") and not hasattr(index, "_corpus_text"):
        return ""
    from rag.query import corpus_text

    return corpus_text(index)


def check_refusal(question: str, scored: list, index, settings, plan=None) -> RefusalDecision:
    """Decide whether to refuse (rules in the module docstring).

    ``scored``: ``rag.extractive.ScoredSentence`` list, best first; ``index``: the LoadedIndex (``docs``,
    corpus text); ``settings``: ``min_evidence_coverage``, ``need_missing_term_coverage``; ``plan``: the
    QueryPlan (its concept matches count as covering the company's words).
    """
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
    for region in OTHER_REGIONS:
        # another jurisdiction is the subject (no corpus region named), or the evidence never mentions it
        if region in question and not any(region in r for r in corpus_regions) and (
                not names_corpus_region or region not in top_text):
            return RefusalDecision(True, "region", f"文件只涉及{'、'.join(sorted(corpus_regions))}，"
                                                   f"检索到的段落没有关于“{region}”的内容。")

    # years of the need that no document's stated period covers (a period range "2025—2027年" names a plan)
    covered = {y for m in index.docs.values() if m.period_start and m.period_end
               for y in range(m.period_start, m.period_end + 1)}
    need_text = _RANGE.sub("", _strip_names(need, index.docs))
    need_years = {y for y in _YEAR.findall(need_text) if int(y) not in covered}
    this_year = settings.today_date().year  # 今年/明年/去年 are years too (relative to settings.today)
    need_years |= {str(this_year + d) for w, d in _RELATIVE_YEARS.items() if w in need_text}
    for label in _FIVE_YEAR_PLAN.findall(need_text):  # a five-year plan (十五五) no document belongs to
        if label not in corpus_text_of(index):
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

    if settings.need_missing_term_coverage <= 0 or best_coverage >= settings.need_missing_term_coverage:
        return ANSWER
    from rag.query import corpus_text, missing_terms

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


def comparison_groups(plan, docs: dict) -> dict[str, set[str]] | None:
    """Groups of documents a cross-document question compares: one per named document
    (``plan.doc_ids``) when it names two or more, else one per named region (``plan.regions``, documents
    by ``DocumentMeta.region``) when it names two or more; None otherwise."""
    if len(plan.doc_ids) >= 2:
        return {d: {d} for d in plan.doc_ids}
    if len(plan.regions) >= 2:
        groups = {r: {d for d, m in docs.items() if m.region == r} for r in plan.regions}
        return {r: ids for r, ids in groups.items() if ids} or None
    return None
