"""Signals "detail", "members", "outcome" and "definition" of the answerability decision (see
``rag.answer.signals.rule_signals`` and ``rag.answer.answerability``).

"detail": the question asks for a detail (application materials, eligibility conditions, scoring
standards and weights, procedures, detailed rules, first-batch lists) and the support is how well a
top sentence that states it covers the question's focus — "科创通平台需要准备哪些申请材料" finds 科创通
sentences, none about 材料.

The *need noun* is found by position in the need clause (``rag.understand.need.need_clause``): a word of
``DETAIL_NOUNS`` within a few characters after a question word (哪些/什么/怎样的/何种/如何/怎么) or
right before one (…条件是什么, …材料有哪些, …标准怎么定). "members": the members of a counted group
are asked and a sentence must enumerate them; "outcome": an achieved result is asked and a sentence
must state one; "definition": a term's meaning is asked and a sentence must define it.
"""

from __future__ import annotations

import re

from rag.answer.focus import focus_coverage
from rag.understand.need import need_analysis
from rag.text import normalize

# need noun → the words a sentence may state it with (a procedure by its steps: 提前书面告知, 听证, 报批)
DETAIL_NOUNS: dict[str, tuple[str, ...]] = {
    "材料": ("材料",), "条件": ("条件", "资格", "门槛", "要求"), "门槛": ("门槛", "条件"), "资格": ("资格", "条件"),
    "标准": ("标准",), "权重": ("权重",), "评分": ("评分", "打分", "分值"), "分数线": ("分数",),
    "办法": ("办法",), "细则": ("细则",), "程序": ("程序", "流程", "步骤", "告知", "听证", "批准", "审批", "备案", "公示"),
    "流程": ("流程", "程序", "步骤", "告知", "听证", "批准", "审批", "备案", "公示"),
    "名单": ("名单",), "价格": ("价格", "电价", "地价"),
    "处罚": ("处罚", "罚款", "罚则", "惩戒", "追究"), "罚款": ("罚款", "处罚", "罚"),
}
_QWORD = r"(?:哪些|什么|怎样的?|何种|如何|怎么|哪几[个项类种条])"
_QAFTER = r"(?:是什么|有哪些|是怎样|是怎么|怎么|如何|是哪|包括哪|有什么|是多少|呢|？|\?|$)"


# nouns that are also topics (新材料, 特色材料) ask for a detail only after a filing verb
_NOUN_CONTEXT = {"材料": re.compile(r"(申请|申报|准备|提交|递交|上交|交(?!通|易|流|互|付)|提供|证明|报送)[^，。？?；;]{0,4}材料")}


def need_nouns(need: str) -> list[str]:
    """The ``DETAIL_NOUNS`` the need clause asks for, by position: "需要准备哪些申请材料" → ["材料"],
    "入库条件和遴选程序是什么" → ["条件", "程序"]; a noun that is only a topic ("哪几类特色材料",
    新材料产业) → []."""
    out = []
    for noun in DETAIL_NOUNS:
        if re.search(rf"{_QWORD}[^，。？?；;]{{0,8}}{noun}|{noun}[\u4e00-\u9fff]{{0,2}}(?:[和、及与][^，。？?；;]{{0,8}})?{_QAFTER}", need) and (
                noun not in _NOUN_CONTEXT or _NOUN_CONTEXT[noun].search(need)):
            out.append(noun)
    return out


def detail_support(question: str, scored: list, focus: dict[str, float], alternatives: dict,
                   top: int = 8, reach: int = 0, plan=None) -> tuple[str, float] | None:
    """For a question with need nouns (``need_nouns``): the noun whose best support is lowest and that
    support — the largest ``focus_coverage`` (idf share in [0, 1]) of a top-``top`` sentence that states
    the noun (one of its ``DETAIL_NOUNS`` words, or for 标准 a measured quantity: ``_states_detail``; with
    ``reach``, also in that many characters after it in its chunk: ``rag.answer.refusal_value.continuation``). None when the question asks for no need noun.
    ``plan``: the QueryPlan (its need analysis is used when it is of ``question``) or None."""
    from rag.answer.refusal_value import continuation, extended

    nouns = need_nouns(need_analysis(question, plan).need)
    worst = None
    for noun in nouns:
        words = DETAIL_NOUNS[noun]
        # the noun itself is no focus word: it is what the sentence must state
        f = {t: w for t, w in focus.items() if not any(x in t for x in words)}
        support = max((focus_coverage(extended(s, reach), f, alternatives) for s in scored[:top]
                       if _states_detail(noun, words, normalize(continuation(s, reach)))), default=0.0)
        if worst is None or support < worst[1]:
            worst = (noun, support)
    return worst


def _states_detail(noun: str, words: tuple[str, ...], text: str) -> bool:
    """``text`` states the need noun: one of its ``words``, or for a standard (``MEASURED_NOUNS``) a measured
    quantity (``rag.understand.quantities.stated_quantities``: 不得低于一百平方米 is the standard of an area)."""
    if any(x in text for x in words):
        return True
    if noun in MEASURED_NOUNS:
        from rag.understand.quantities import stated_quantities

        return bool(stated_quantities(text))
    return False


MEASURED_NOUNS = frozenset({"标准"})  # need nouns a measured quantity states


# --- rule "members": the members of a counted group, when the documents only count them ------------
# a counted group the question names: "8家国家高新区", "5个千亿级产业集群", "“三网”", "“5+2”平台", "17户"
_COUNTED = re.compile(r"(?<![哪\d])(?:\d+|[一二三四五六七八九十两]+)\s*(?:家|个|户|座|张|项|类|所|条|大|座)[\u4e00-\u9fff“]"
                      r"|“[^”]*(?:\d|[一二三四五六七八九十两])[^”]*”")
# asking for the members: 哪8家, 哪几个, 哪些, 分别是哪/指什么, 具体是哪, 另外4个是哪些
_ASKS_MEMBERS = re.compile(r"哪\s*(?:\d+|[一二三四五六七八九十两几])\s*(?:家|个|户|座|张|项|类|所|条|大|座)?"
                           r"|哪些|分别(?:是|指|在|为)|指什么|是指|具体(?:是|包括)|包括哪")
_ERA = re.compile(r"十[一二三四五六七八九]五")  # a five-year-plan era (十X五) is not a counted group
_ASKED_COUNT = re.compile(r"哪\s*(\d+|[一二三四五六七八九十两])")
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九十", 0)} | {"两": 2}


def asks_members(need: str) -> int | None:
    """How many members of a counted group the need clause asks to name ("具体是哪8家" → 8, "分别是哪
    些" → 3: at least a short list), or None when it asks for no members of a group it counts."""
    counted = [m for m in _COUNTED.finditer(need) if not _ERA.fullmatch(m.group(0).strip("“”"))]
    if not (counted and _ASKS_MEMBERS.search(need)):
        return None
    m = _ASKED_COUNT.search(need)
    if m:
        n = m.group(1)
        return int(n) if n.isdigit() else _CN_DIGITS.get(n, 3)
    return 3


def enumerated_items(sentence: str) -> int:
    """How many items the sentence enumerates: 1 + its 、 (and one more for a closing 和/及/与)."""
    s = normalize(sentence)
    n = s.count("、")
    return 1 + n + (1 if re.search(r"[\u4e00-\u9fff](?:和|及|与|以及)[\u4e00-\u9fff]", s) else 0)


def member_support(question: str, scored: list, focus: dict[str, float], alternatives: dict,
                   top: int = 8, plan=None) -> float | None:
    """For a question asking to name the members of a counted group (``asks_members``): the largest
    ``focus_coverage`` (idf share in [0, 1]) of a top-``top`` sentence that enumerates at least
    min(asked count, 3) items — a sentence that only counts them ("国家高新区8家") names none.
    None when the question asks for no members. ``plan``: the QueryPlan (its need analysis is used when it
    is of ``question``) or None."""

    wanted = asks_members(need_analysis(question, plan).need)
    if wanted is None:
        return None
    need = min(max(wanted, 2), 3)
    return max((focus_coverage(s, focus, alternatives) for s in scored[:top]
                if enumerated_items(s.text) >= need), default=0.0)


# --- rule "outcome": an achieved result (实际完成了多少, 截至2024年底, 获批了吗) -------------------------
_ASKS_OUTCOME = re.compile(r"实际|完成了(?:多少|吗)|(?:目标|任务)[^，。？?]{0,4}(?:完成|实现|达到|达成)了吗"
                           r"|(?:达到|突破|实现|达成)[^，。？?]{0,8}了吗|获批|批下来|批复了吗|最后(?:成|批|建)"
                           r"|截至\s*(?:19|20)\d{2}\s*年(?:底|末)?|(?:已经|累计)建成了?(?:多少|几)|已经有(?:多少|几)"
                           r"|(?:现在|目前|如今|眼下|至今|迄今)[^，。？?]{0,8}(?:多少|几)"
                           r"|(?:建成|创建成功|建设成功|成功|投产|落地|开通|通车|运营|量产|产业化|出台|印发|颁布)了?(?:没有|吗)")
_STATES_OUTCOME = re.compile(r"已(?:经)?(?:完成|建成|达到|获批|实现|入选|突破|有)|累计(?:建成|达到|完成)|实际|获批|批复"
                             r"|共有|现有|拥有"
                             r"|(?:19|20)\d{2}\s*年[^，。；]{0,12}(?:达到|完成|实现|建成|突破)[^，。；]{0,12}\d")
_YEAR = re.compile(r"(?:19|20)\d{2}")


def outcome_support(question: str, scored: list, focus: dict[str, float], alternatives: dict,
                    top: int = 8, plan=None) -> float | None:
    """For a question asking for an achieved result (``_ASKS_OUTCOME``: 实际, 完成了吗, 获批了吗,
    截至2024年底 …): the largest ``focus_coverage`` of a top-``top`` sentence that states an outcome
    (``_STATES_OUTCOME``: 已建成, 累计达到, 获批, "2020年…达到…N") and names every year the question
    names. Plans state targets ("到2025年…突破2.96万亿元"), which answer no such question. None when
    the question asks for no outcome. ``plan``: the QueryPlan (its need analysis is used when it is of
    ``question``) or None."""

    need = need_analysis(question, plan).need
    if not _ASKS_OUTCOME.search(need):
        return None
    years = set(_YEAR.findall(need))
    return max((focus_coverage(s, focus, alternatives) for s in scored[:top]
                if _STATES_OUTCOME.search(normalize(s.text)) and years <= set(_YEAR.findall(s.text))),
               default=0.0)


# --- rule "definition": what a term means, when no sentence defines it -----------------------------
_ASKS_DEFINITION = re.compile(r"(?:到底|究竟|具体|分别)?(?:是什么意思|什么意思|指的是什么|是指什么|指什么|具体指|的含义|的定义"
                              r"|怎么理解|如何理解|是啥意思|啥意思)")
_TERM_BEFORE = re.compile(r"(?:“([^”]{1,16})”[\u4e00-\u9fff]{0,4}?|([\u4e00-\u9fffA-Za-z0-9+＋]{2,12}?))"
                          r"(?:的|这个词|这个说法|这个概念)?$")
_DEFINES = r"\s*[”\"]?\s*(?:是指|指的是|指|即|就是|是|为|包括|：|:|，即|（)"


def asked_term(need: str) -> str | None:
    """The term whose meaning the need asks ("“硅巷”到底是什么意思" → "硅巷", "其中的“N”具体指什么"
    → "N"), or None when it asks no meaning."""
    m = _ASKS_DEFINITION.search(need)
    if not m:
        return None
    t = _TERM_BEFORE.search(need[:m.start()])
    return (t.group(1) or t.group(2)) if t else None


def defines(term: str, text: str) -> bool:
    """``text`` defines ``term``: the term followed by 是指/指/即/是/为/包括/：/（ ("静脉产业：是垃圾回收…"),
    or an enumeration ending right before it, which names its members ("回收网点、分拣中心和集散市场
    “三位一体”", "A、B、C等“5+2”平台")."""
    s, t = normalize(text), normalize(term)
    if re.search(re.escape(t) + _DEFINES, s):
        return True
    for m in re.finditer(re.escape(t), s):
        before = s[max(0, m.start() - 24):m.start()]
        if "、" in before and not re.search(r"[，,；;。]", before[before.rfind("、"):]):
            return True
    return False
