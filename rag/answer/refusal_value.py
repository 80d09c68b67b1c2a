"""Refusal rule "value" (see ``rag.answer.refusal``): the question asks for one value — a number (多少/几个),
a year or date (哪年/何时), a place (哪个县), an organisation (哪家企业/由谁), a person (叫什么名字) — and no
top sentence states a value of that kind while covering enough of the question's focus.

A number must also name the counted noun (``value_head``: 利润总额 in "利润总额的目标是多少"), carry the
asked unit (``asked_unit``: 多少辆 needs "…辆") and, for one named year, come from a text passage naming
that year; an item's numbering ("2. …", "（三）") states no value. ``value_support`` returns the
support; ``rag.answer.refusal.check_refusal`` compares it with ``min_value_support``.
"""

from __future__ import annotations

import re

from rag.answer.focus import abbreviates, focus_coverage, focus_terms
from rag.understand.need import (_NUMBER, _RANGE, _YEAR, VALUE_KINDS, ValueKind, _city_pattern, asked_unit, need_analysis,
                      plain_need)
from rag.text import normalize


# words between a counted thing and 多少 that say how it is measured or asked ("利润总额的目标是多少",
# "上市公司数量达到多少家"): skipped when looking for the thing itself (``value_head``)
_MEASURE_WORDS = frozenset(["的", "是", "为", "要", "将", "能", "会", "可", "有", "共", "一共", "总共", "到", "达", "达到", "提升", "提高", "突破", "增长", "增加", "实现", "力争", "计划", "预计", "大约", "大概", "约", "目标", "数量", "规模", "总量", "总额", "总数", "个数", "比重", "比例", "占比", "水平", "指标", "任务", "幅度", "标准", "上限", "下限", "额度", "数额", "具体", "分别", "各", "年", "年底", "年末", "实际", "基数", "基期", "基期值", "目标值", "现状值", "数值", "值", "全市", "全省", "本市", "本省", "省里", "市里"])
_CLAUSE_PUNCT = re.compile(r"[，,。；;？?！!：:、“”\"]")


_VERSION_YEAR = re.compile(r"(?:19|20)\d{2}\s*年(?:[\u4e00-\u9fff]{0,2})?(?:修正|修订|修改|版)")
_COUNTED_AFTER = re.compile(r"[个位名家项次座条类所批]?([\u4e00-\u9fff]{2,8})")


def value_head(need: str, focus: dict[str, float]) -> str | None:
    """The thing a number question counts or measures: the noun right after 多少/几 and its measure
    word ("至少要请几位专家" → "专家", "分别几个工作日办完" → "工作日"), else the last noun (jieba part of
    speech n*, not a measuring word of ``_MEASURE_WORDS``) before 多少/几 within its clause, verbs,
    numbers and particles skipped — "2025年规上工业企业利润总额的目标是多少亿元" → "利润总额", "上市公司
    数量达到多少家" → "上市公司" — when it is a focus word (``focus_terms``); else None (the support then
    looks at the focus as a whole)."""
    from rag.jieba_dict import posseg

    m = VALUE_KINDS[1].trigger.search(need)
    if not m:
        return None
    after = _COUNTED_AFTER.match(need, m.end())
    if after:  # "几位专家", "多少业主", "几个工作日": the noun right after the count word and its measure word
        first = next(iter(posseg().lcut(after.group(1))), None)
        if first is not None and first.flag.startswith("n") and first.flag != "ns" and first.word in focus:
            return first.word
    for pair in reversed(posseg().lcut(need[:m.start()])):
        word, flag = pair.word.strip(), pair.flag
        if _CLAUSE_PUNCT.search(word):
            return None
        if not word or word in _MEASURE_WORDS or not flag.startswith("n") or flag == "ns":
            continue
        return word if word in focus else None
    return None
_PLACE_UNIT = re.compile(r"哪个?(县|区|州|镇|乡|市)")


_ITEM_LABEL = re.compile(r"^\s*(?:\d{1,2}\s*[.、．](?!\d)|[（(](?:[一二三四五六七八九十]{1,3}|\d{1,2})[）)]|专栏\s*\d{1,2})")


def _states(evidence: re.Pattern, sentence: str, question: str) -> bool:
    """The sentence states a value ``evidence`` matches that the question does not already contain;
    an item's numbering ("2. 新能源汽车产业布局", "（三）", "专栏 9") states no value."""
    sentence = _ITEM_LABEL.sub("", sentence)
    return any(m.group(0) not in question for m in evidence.finditer(sentence))


def _kind_evidence(kind: ValueKind, need: str) -> re.Pattern:
    """The pattern a sentence must match to state a value of ``kind`` for this need: 哪个市 needs a
    city named (绵阳, 宜宾市), 哪个县 a county, 多少辆 a number in that unit family; else ``kind.evidence``."""
    if kind.name == "place":
        unit = _PLACE_UNIT.search(need)
        if unit and unit.group(1) == "市":
            return re.compile(_city_pattern() + r"|[\u4e00-\u9fff]{2,3}市(?!场|级|区|州|域|民|政)")
        if unit:
            return re.compile(rf"[\u4e00-\u9fff]{{2,4}}?{unit.group(1)}")
    if kind.name == "number":
        family = asked_unit(need)
        if family:  # "500辆", "1.2万辆"
            return re.compile(r"(?:\d|[一二三四五六七八九十两])[\d.,]*\s*[十百千万亿]*\s*(?:" + "|".join(family) + ")")
    if kind.name in ("org", "person"):
        role = asked_role(need)
        if role:  # "管理人是谁": "施工单位为管理人"; "首席数据官由谁来担任": "首席数据官由…相关负责人担任"
            r = re.escape(role)
            return re.compile(rf"{kind.evidence.pattern}|(?:为|是){r}|{r}(?:由|为)[^，。；;]{{2,24}}?(?:担任|负责|承担)"
                              rf"|由[^，。；;]{{2,24}}?担任{r}")
    return kind.evidence


_ROLE_ASKED = re.compile(r"([\u4e00-\u9fff]{2,12}?)(?:是谁|由谁来?(?:担任|负责|承担|出任)?)")


def asked_role(need: str) -> str | None:
    """The role whose holder the need asks for ("生活垃圾分类投放的管理人是谁" → "管理人", "首席数据官由谁来
    担任" → "首席数据官"): the words right before 是谁/由谁, after the last 的 or clause break; None when
    the need asks for no role holder. A sentence that assigns the role (…为管理人, 首席数据官由…担任)
    names its holder, as a regulation does (a unit or an office rather than a person's name)."""
    m = _ROLE_ASKED.search(need)
    if not m:
        return None
    role = re.split(r"[的，,、]", need[:m.end(1)])[-1]
    return role[-6:] if len(role) >= 2 else None


def _names_year(sentence, years: set[str]) -> bool:
    """A number for one named year ("2019年底有多少户") comes from a text passage naming that year; a
    table — or a flattened table row, three numbers or more — states its years in a header row."""
    return (len(years) != 1 or sentence.hit.chunk.kind != "text" or len(_NUMBER.findall(sentence.text)) >= 3
            or years <= set(_YEAR.findall(sentence.hit.chunk.text)))


def continuation(sentence, reach: int) -> str:
    """The sentence's text followed by up to ``reach`` characters of its chunk after it (the next clause
    or sentence of the same passage: "…责令限期改正；逾期不改正的，处五百元以上…罚款") — never into the next
    article of a regulation (a line starting "第十二条"), whose values belong to another rule; the sentence
    alone for ``reach`` 0."""
    chunk = sentence.hit.chunk.text
    if reach <= 0:
        return sentence.text
    after = chunk[sentence.end:min(len(chunk), sentence.end + reach)]
    nxt = _NEXT_ARTICLE.search(after)
    return chunk[sentence.start:sentence.end] + (after[:nxt.start()] if nxt else after)


# the start of a regulation's next article: a line beginning "第…条"
_NEXT_ARTICLE = re.compile(r"\n\s*第[一二三四五六七八九十百零〇两\d]+条")


def extended(sentence, reach: int):
    """The sentence as its ``continuation`` (an object with ``text`` and ``hit``, for
    ``rag.answer.focus.focus_coverage``); the sentence itself for ``reach`` 0."""
    if reach <= 0:
        return sentence
    from types import SimpleNamespace

    return SimpleNamespace(text=continuation(sentence, reach), hit=sentence.hit)


def value_support(question: str, scored: list, index, plan=None, top: int = 8,
                  min_focus_idf: float = 0.0, focus=None, reach: int = 0) -> tuple[ValueKind, float] | None:
    """For a question asking for one value (``asked_kinds``): the asked kind whose best support is
    lowest, and that support — the largest ``focus_coverage`` (idf share in [0, 1]) of a top-``top``
    sentence that states a value of that kind (``_kind_evidence``; for a number also naming the counted
    noun, ``value_head``, and the one year the need names, ``_names_year``). None when the question
    asks for no value kind or its focus words weigh less than ``min_focus_idf`` (sum of idf).
    ``focus``: ``rag.answer.focus.focus_terms``'s result when the caller has it already; ``reach``: a value
    stated within that many characters after the sentence in its chunk counts, and the focus is then
    measured on the sentence with that continuation (``continuation``)."""
    supports = value_supports(question, scored, index, plan, top, min_focus_idf, focus, reach)
    return min(supports, key=lambda ks: ks[1]) if supports else None


def value_supports(question: str, scored: list, index, plan=None, top: int = 8,
                   min_focus_idf: float = 0.0, focus=None, reach: int = 0) -> list[tuple[ValueKind, float]]:
    """``value_support`` for every asked kind: ``[(kind, support), …]`` in ``VALUE_KINDS`` order, [] when
    the question asks for no value or its focus weighs less than ``min_focus_idf``."""
    analysis = need_analysis(question, plan)  # the plan's analysis when it is of ``question``
    need, kinds = analysis.need, analysis.kinds
    if not kinds:
        return []
    focus, alternatives = focus or focus_terms(question, index, plan)
    if sum(focus.values()) < min_focus_idf:
        return []
    # a year naming a version (2020年修正前后, 2024年修订后) is no year of the value
    years = set(_YEAR.findall(_VERSION_YEAR.sub("", _RANGE.sub("", plain_need(analysis, getattr(index, "docs", {}))))))
    out = []
    for kind in kinds:
        states = _stating(question, need, kind, focus, alternatives, years, reach)
        own = _asking_sentence_focus(need, kind, focus)
        support = max((focus_coverage(extended(s, reach), own, alternatives) for s in scored[:top] if states(s)),
                      default=0.0)
        out.append((kind, support))
    return out


def _stating(question: str, need: str, kind: ValueKind, focus: dict, alternatives: dict, years: set, reach: int):
    """The predicate "this scored sentence (with ``reach`` characters of its passage after it) states a
    value of ``kind`` for this need": ``_kind_evidence``, and for a number the counted noun
    (``value_head``, also abbreviated) and the one year the need names (``_names_year``)."""
    evidence = _kind_evidence(kind, need)
    number = kind.name == "number"
    head = value_head(need, focus) if number else None
    heads = (head, *alternatives.get(head, ())) if head else ()

    def states(s) -> bool:
        text = normalize(continuation(s, reach))
        return (_states(evidence, text, question)
                and (not heads or any(h in text.lower() or abbreviates(h, text) for h in heads))
                and (not number or _names_year(s, years)))

    return states


def value_in_top(question: str, scored: list, index, plan=None, top: int = 2, focus=None,
                 reach: int = 0) -> float | None:
    """For a question asking for values (``asked_kinds``): the share of the asked kinds that one of the
    ``top`` best-ranked sentences states (``_stating``) — rank-based, it does not depend on how many of
    the question's words the passage repeats. None when no value is asked."""
    analysis = need_analysis(question, plan)  # the plan's analysis when it is of ``question``
    need, kinds = analysis.need, analysis.kinds
    if not kinds:
        return None
    focus, alternatives = focus or focus_terms(question, index, plan)
    years = set(_YEAR.findall(_VERSION_YEAR.sub("", _RANGE.sub("", plain_need(analysis, getattr(index, "docs", {}))))))
    stated = [any(_stating(question, need, k, focus, alternatives, years, reach)(s) for s in scored[:top])
              for k in kinds]
    return sum(stated) / len(stated)


_SENTENCE_END = re.compile(r"(?<=[？?。！!])")


def _asking_sentence_focus(need: str, kind: ValueKind, focus: dict[str, float]) -> dict[str, float]:
    """The focus words of the sentence of a several-sentence question that asks for ``kind``
    ("…是哪天开始施行的？它替代了哪部旧法规？": the first); the whole focus for a one-sentence question or
    when that sentence holds none of it. A value answers its own part of the question."""
    parts = [p for p in _SENTENCE_END.split(need) if p.strip()]
    if len(parts) < 2:
        return focus
    asking = [p for p in parts if kind.trigger.search(p)]
    own = {t: w for t, w in focus.items() if any(t in p for p in asking)}
    return own or focus
