"""Refusal rule "detail": the question asks for a detail the documents never state (application
materials, eligibility conditions, scoring standards and weights, procedures, detailed rules, first-
batch lists) although its topic is there.

The *need noun* is found by position in the need clause (``rag.refusal.need_clause``): a word of
``DETAIL_NOUNS`` within a few characters after a question word (哪些/什么/怎样的/何种/如何/怎么) or
right before one (…条件是什么, …材料有哪些, …标准怎么定). The rule refuses when no top sentence
contains the noun (or a synonym) while covering ≥ ``min_detail_support`` (idf share, ``focus_coverage``)
of the question's focus words — "科创通平台需要准备哪些申请材料" finds 科创通 sentences, none about
材料. Calibrated on dev.jsonl by a grid (see eval/README).
"""

from __future__ import annotations

import re

from rag.text import normalize

# need noun → the words a sentence may state it with
DETAIL_NOUNS: dict[str, tuple[str, ...]] = {
    "材料": ("材料",), "条件": ("条件", "资格", "门槛"), "门槛": ("门槛", "条件"), "资格": ("资格", "条件"),
    "标准": ("标准",), "权重": ("权重",), "评分": ("评分", "打分", "分值"), "分数线": ("分数",),
    "办法": ("办法",), "细则": ("细则",), "程序": ("程序", "流程"), "流程": ("流程", "程序"),
    "名单": ("名单",), "价格": ("价格", "电价", "地价"),
}
_QWORD = r"(?:哪些|什么|怎样的?|何种|如何|怎么|哪几[个项类种条])"
_QAFTER = r"(?:是什么|有哪些|是怎样|是怎么|怎么|如何|是哪|包括哪|有什么|是多少|呢|？|\?|$)"


# nouns that are also topics (新材料, 特色材料) ask for a detail only after a filing verb
_NOUN_CONTEXT = {"材料": re.compile(r"(申请|申报|准备|提交|提供|证明|报送)[^，。？?；;]{0,4}材料")}


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
                   top: int = 8) -> tuple[str, float] | None:
    """For a question with need nouns (``need_nouns``): the noun whose best support is lowest and that
    support — the largest ``focus_coverage`` (idf share in [0, 1]) of a top-``top`` sentence that states
    the noun (one of its ``DETAIL_NOUNS`` words). None when the question asks for no need noun."""
    from rag.refusal import focus_coverage, need_clause

    nouns = need_nouns(need_clause(question))
    worst = None
    for noun in nouns:
        words = DETAIL_NOUNS[noun]
        # the noun itself is no focus word: it is what the sentence must state
        f = {t: w for t, w in focus.items() if not any(x in t for x in words)}
        support = max((focus_coverage(s, f, alternatives) for s in scored[:top]
                       if any(x in normalize(s.text) for x in words)), default=0.0)
        if worst is None or support < worst[1]:
            worst = (noun, support)
    return worst
