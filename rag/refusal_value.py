"""Refusal rule "value" (see ``rag.refusal``): the question asks for one value — a number (多少/几个),
a year or date (哪年/何时), a place (哪个县), an organisation (哪家企业/由谁), a person (叫什么名字) — and no
top sentence states a value of that kind while covering enough of the question's focus.

A number must also name the counted noun (``value_head``: 利润总额 in "利润总额的目标是多少"), carry the
asked unit (``asked_unit``: 多少辆 needs "…辆") and, for one named year, come from a text passage naming
that year; an item's numbering ("2. …", "（三）") states no value. ``value_support`` returns the
support; ``rag.refusal.check_refusal`` compares it with ``min_value_support``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import normalize

# An organisation *named*: a name ending in an organisation word (经济和信息化厅, 市科技局, 东方电气集团,
# 某某大学, 中国工程物理研究院) not preceded by a generic word (有关部门, 牵头单位, 各市(州)政府 name none),
# or enterprises listed by name (…等龙头企业); a quoted phrase (“研发—工程化—产业化”) names none.
ORG_NAME = re.compile(r"(?<!有关)(?<!相关)(?<!牵头)(?<!主管)(?<!职能)(?<!责任)(?<![各等])"
                      r"[\u4e00-\u9fff]{2,12}?(?:厅|局|委员会|委|办公室|公司|集团|股份|大学|学院|研究院|研究所|科学院"
                      r"|医院|银行|人民政府|[^技研究创新工程服务验测据算]中心)"
                      r"|等(?:龙头|骨干|领军|重点)?企业|为(?:龙头|支撑|引领|代表)")


def _city_pattern() -> str:
    """A regex alternation of every prefecture-level city's names in the gazetteer (``rag.metadata``:
    full and short, 绵阳 and 绵阳市): a city named without 市 names a place too. Built once."""
    global _CITY_NAMES
    if _CITY_NAMES is None:
        from rag.metadata import gazetteer

        names = {n for p in gazetteer() if p.level == "city" for n in (p.name, *p.aliases) if len(n) >= 2}
        _CITY_NAMES = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    return _CITY_NAMES


_CITY_NAMES: str | None = None


@dataclass(frozen=True)
class ValueKind:
    """A kind of information a question can ask for: ``name``; ``label`` (what it is, for reasons);
    ``trigger``, a regex on the need clause; ``evidence``, a regex a sentence must match to state one
    (a number, a year or date, a named place or organisation — and, as ``rag.refusal.NeedType``, an
    amount of money, a deadline, a phone number …)."""

    name: str
    label: str
    trigger: re.Pattern
    evidence: re.Pattern


VALUE_KINDS: tuple[ValueKind, ...] = (
    ValueKind("time", "年份、日期或期限", re.compile(r"哪一?年|哪一?天|何时|什么时候|几月|几号|哪个月|多久|几年(?![内里])"),
              re.compile(r"\d{4}\s*年|\d{1,2}\s*月|\d+\s*年(内|以?内|以上|左右)?|年底|年前|[一二三四五六七八九十两]年"
                         # a duration or date, in digits or Chinese numerals: 30分钟, 3个月, 三分钟, 九十日,
                         # 十五个工作日, 十月二十二日
                         r"|(?:\d+|[一二三四五六七八九十两百]+)\s*个?\s*(?:月|日|天|小时|周|工作日|分钟)")),
    ValueKind("number", "具体数字", re.compile(r"多少|(?<![哪些])几[个家项次名位座条类所批万亿千百十倍]|比例|比重|占比|百分之"),
              re.compile(r"\d|[一二三四五六七八九十两百千万亿][个家项次名位座条类所批倍]|[百千万亿]"
                         r"|[一二三四五六七八九十两]+(?:周岁|岁|日|天|小时|年|个月|人|元|米|吨|亩)"
                         r"|[一二三四五六七八九十]+分之[一二三四五六七八九十]+|过半数|半数")),
    ValueKind("place", "具体地点", re.compile(r"哪个?(县|区|市|州|镇|乡|园区|城市)|哪里|在哪(?!些)|什么地方|哪座城"),
              re.compile(r"[\u4e00-\u9fff]{2}(县|区|市|州|镇|乡|园|城|港|基地|中心)")),
    ValueKind("org", "具体机构或企业名称", re.compile(r"哪[一两二三四五六七八九几]?[家个所]?(企业|公司|机构|单位|部门|厅局|厅|局|委|高校|医院|院所|药企|车企|厂家|厂商|供应商|工厂|厂)|由谁|谁(来|负责|牵头|运营|审定|主办|承办)|牵头单位"),
              ORG_NAME),
    ValueKind("person", "人名", re.compile(r"叫什么名字|姓名|哪位|(?<!单位)(?<!部门)(?<!机构)(?<!企业)是谁(?!牵头|负责)"), re.compile(r"同志|先生|女士|(处|厅|局|部|主任|书记)长?[：:]")),
)


_LIST_NEED = re.compile(r"哪些|哪[几两二三四五六七八九十\d]")
# words between a counted thing and 多少 that say how it is measured or asked ("利润总额的目标是多少",
# "上市公司数量达到多少家"): skipped when looking for the thing itself (``value_head``)
_MEASURE_WORDS = frozenset(["的", "是", "为", "要", "将", "能", "会", "可", "有", "共", "一共", "总共", "到", "达", "达到", "提升", "提高", "突破", "增长", "增加", "实现", "力争", "计划", "预计", "大约", "大概", "约", "目标", "数量", "规模", "总量", "总额", "总数", "个数", "比重", "比例", "占比", "水平", "指标", "任务", "具体", "分别", "各", "年", "年底", "年末", "实际", "基数", "基期", "基期值", "目标值", "现状值", "数值", "值", "全市", "全省", "本市", "本省", "省里", "市里"])
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


# Units a number question may count in (多少辆, 几吨) whose family a stated number must carry: a
# sentence "推广新能源汽车" with other numbers does not say how many vehicles. Enterprises counted in
# 家/户/个 are left out (the documents use all three for the same thing).
UNIT_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("辆",), ("架",), ("艘",), ("颗",), ("吨",), ("人", "名", "位"),
    ("瓦", "千瓦", "兆瓦", "万千瓦", "千伏安", "万千伏安"), ("平方米", "亩", "公顷", "平方公里"), ("公里", "千米"),
)
_ASKED_UNIT = re.compile(r"(?:多少|几)(?:[十百千万亿]*)(辆|架|艘|颗|吨|人|名|位|千瓦|兆瓦|瓦|平方米|亩|公顷|平方公里|公里|千米)")


def asked_unit(need: str) -> tuple[str, ...] | None:
    """The unit family of a number question that names its unit (多少辆 → ("辆",), 几名 → 人/名/位),
    or None."""
    m = _ASKED_UNIT.search(need)
    return next((f for f in UNIT_FAMILIES if m and m.group(1) in f), None)


def asked_kinds(need: str) -> list[ValueKind]:
    """The value kinds the need clause asks for (``VALUE_KINDS``); a list question (哪些, 哪几, 列一下,
    分别是啥 — ``rag.query.asks_list``) asks for items, not one value, and gets no "number"."""
    from rag.query import asks_list

    # "除了几类…，还有哪几类", "一共几个方向？列一下": a count word inside a list question
    items = _LIST_NEED.search(need) is not None or asks_list(need)
    # a count word inside a yes/no question is indefinite: "新招的几个护工…，能先让他们上门吗", "多租几个人，可以吗"
    asked = _YES_NO.sub("", need)
    return [k for k in VALUE_KINDS if k.trigger.search(asked) and not (items and k.name == "number")]


# a yes/no question: a sentence (up to ？/。/！) that ends with 吗/么
_YES_NO = re.compile(r"[^。？?！!]*[吗么](?=[？?。！!]|$)[？?。！!]?")


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
    from rag.refusal import _NUMBER, _YEAR

    return (len(years) != 1 or sentence.hit.chunk.kind != "text" or len(_NUMBER.findall(sentence.text)) >= 3
            or years <= set(_YEAR.findall(sentence.hit.chunk.text)))


def continuation(sentence, reach: int) -> str:
    """The sentence's text followed by up to ``reach`` characters of its chunk after it (the next clause
    or sentence of the same passage: "…责令限期改正；逾期不改正的，处五百元以上…罚款"); the sentence alone for
    ``reach`` 0."""
    chunk = sentence.hit.chunk.text
    return chunk[sentence.start:min(len(chunk), sentence.end + reach)] if reach > 0 else sentence.text


def extended(sentence, reach: int):
    """The sentence as its ``continuation`` (an object with ``text`` and ``hit``, for
    ``rag.refusal.focus_coverage``); the sentence itself for ``reach`` 0."""
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
    ``focus``: ``rag.refusal.focus_terms``'s result when the caller has it already; ``reach``: a value
    stated within that many characters after the sentence in its chunk counts, and the focus is then
    measured on the sentence with that continuation (``continuation``)."""
    supports = value_supports(question, scored, index, plan, top, min_focus_idf, focus, reach)
    return min(supports, key=lambda ks: ks[1]) if supports else None


def value_supports(question: str, scored: list, index, plan=None, top: int = 8,
                   min_focus_idf: float = 0.0, focus=None, reach: int = 0) -> list[tuple[ValueKind, float]]:
    """``value_support`` for every asked kind: ``[(kind, support), …]`` in ``VALUE_KINDS`` order, [] when
    the question asks for no value or its focus weighs less than ``min_focus_idf``."""
    from rag.refusal import (
        _RANGE,
        _YEAR,
        _strip_names,
        focus_coverage,
        focus_terms,
        need_clause,
    )

    need = need_clause(question)
    kinds = asked_kinds(need)
    if not kinds:
        return []
    focus, alternatives = focus or focus_terms(question, index, plan)
    if sum(focus.values()) < min_focus_idf:
        return []
    # a year naming a version (2020年修正前后, 2024年修订后) is no year of the value
    years = set(_YEAR.findall(_VERSION_YEAR.sub("", _RANGE.sub("", _strip_names(need, getattr(index, "docs", {}))))))
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
    from rag.refusal import abbreviates

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
    from rag.refusal import _RANGE, _YEAR, _strip_names, focus_terms, need_clause

    need = need_clause(question)
    kinds = asked_kinds(need)
    if not kinds:
        return None
    focus, alternatives = focus or focus_terms(question, index, plan)
    years = set(_YEAR.findall(_VERSION_YEAR.sub("", _RANGE.sub("", _strip_names(need, getattr(index, "docs", {}))))))
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
