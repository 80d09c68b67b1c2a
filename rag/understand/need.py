"""The question's information need and the values it asks for (question analysis; computed once per
question on ``rag.understand.query.QueryPlan.asked_values``, read by retrieval, answering and the refusal signals).

* ``need_clause`` — the question without the clauses in which a company describes itself.
* ``VALUE_KINDS`` / ``asked_kinds`` — the kind of one value asked (a time, a number, a place, an
  organisation, a person), each with the evidence a sentence must match to state one; ``asked_unit``
  the unit family of a number question (多少辆 → 辆).
* ``NEED_TYPES`` / ``asked_types`` — types of information asked (an amount of money, a deadline, a phone
  number, an address, a website …).
* ``asked_values`` / ``asked_quantity`` — the evidence patterns of the asked values, an amount of money
  (``MONEY_STATED``) or a duration (``DURATION_STATED``) when the wording asks for one.
* ``asks_list`` — the question asks for a list of items (then no single number is asked).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass


# An organisation *named*: a name ending in an organisation word (经济和信息化厅, 市科技局, 东方电气集团,
# 某某大学, 中国工程物理研究院) not preceded by a generic word (有关部门, 牵头单位, 各市(州)政府 name none),
# or enterprises listed by name (…等龙头企业); a quoted phrase (“研发—工程化—产业化”) names none.
ORG_NAME = re.compile(r"(?<!有关)(?<!相关)(?<!牵头)(?<!主管)(?<!职能)(?<!责任)(?<![各等])"
                      r"[\u4e00-\u9fff]{2,12}?(?:厅|局|委员会|委|办公室|公司|集团|股份|大学|学院|研究院|研究所|科学院"
                      r"|医院|银行|人民政府|[^技研究创新工程服务验测据算]中心)"
                      r"|等(?:龙头|骨干|领军|重点)?企业|为(?:龙头|支撑|引领|代表)"
                      # a regulation names the responsible body by its function: 区中医药主管部门, 供气单位, 消防救援机构
                      # (not 有关部门, 任何单位, 牵头部门, 成员单位; 机关 is left out: 大飞机关键部件 holds it)
                      r"|[\u4e00-\u9fff]{2,10}?(?<!有关)(?<!相关)(?<!其他)(?<!任何)(?<!职能)(?<!牵头)(?<!责任)(?<!成员)(?:部门|机构|单位)")


def _city_pattern() -> str:
    """A regex alternation of every prefecture-level city's names in the gazetteer (``rag.ingest.metadata``:
    full and short, 绵阳 and 绵阳市): a city named without 市 names a place too. Built once."""
    global _CITY_NAMES
    if _CITY_NAMES is None:
        from rag.ingest.metadata import gazetteer

        names = {n for p in gazetteer() if p.level == "city" for n in (p.name, *p.aliases) if len(n) >= 2}
        _CITY_NAMES = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    return _CITY_NAMES


_CITY_NAMES: str | None = None


# an ordinal (第十二条, 第3次, 第一百二十条: an article's or a time's rank) counts nothing
_NOT_ORDINAL = "".join(rf"(?<!第{_n})" for _n in ("", "[一二三四五六七八九十百零〇两]", "[一二三四五六七八九十百零〇两]{2}",
                                                  "[一二三四五六七八九十百零〇两]{3}", "[一二三四五六七八九十百零〇两]{4}"))


@dataclass(frozen=True)
class ValueKind:
    """A kind of information a question can ask for: ``name``; ``label`` (what it is, for reasons);
    ``trigger``, a regex on the need clause; ``evidence``, a regex a sentence must match to state one
    (a number, a year or date, a named place or organisation — and, as ``NeedType``, an
    amount of money, a deadline, a phone number …)."""

    name: str
    label: str
    trigger: re.Pattern
    evidence: re.Pattern


# 叫什么名字 asks a person's name only after a word for a person ("那位负责人叫什么名字"); "信息系统叫什么名字"
# asks the name of a thing
_PERSON_NAMED = r"(?:人|者|长|员|主任|书记|同志|老师|师傅|代表)[^，,。？?！!]{0,4}叫什么名字"


VALUE_KINDS: tuple[ValueKind, ...] = (
    ValueKind("time", "年份、日期或期限", re.compile(r"哪一?年|哪一?天|何时|什么时候|几月|几号|哪个月|多久|几年(?![内里])"),
              re.compile(r"\d{4}\s*年|\d{1,2}\s*月|\d+\s*年(内|以?内|以上|左右)?|年底|年前|[一二三四五六七八九十两]年"
                         # a duration or date, in digits or Chinese numerals: 30分钟, 3个月, 三分钟, 九十日,
                         # 十五个工作日, 十月二十二日
                         r"|(?:\d+|[一二三四五六七八九十两百]+)\s*个?\s*(?:月|日|天|小时|周(?!岁)|工作日|分钟)")),
    ValueKind("number", "具体数字", re.compile(r"多少|(?<![哪些])几[个家项次名位座条类所批万亿千百十倍]|比例|比重|占比|百分之"),
              re.compile(r"(?<![第\d])\d|" + _NOT_ORDINAL + r"[一二三四五六七八九十两百千万亿][个家项次名位座条类所批倍]"
                         r"|" + _NOT_ORDINAL + r"[百千万亿]"
                         r"|" + _NOT_ORDINAL + r"[一二三四五六七八九十两]+(?:周岁|岁|日|天|小时|年|个月|人|元|米|吨|亩)"
                         r"|[一二三四五六七八九十]+分之[一二三四五六七八九十]+|过半数|半数")),
    ValueKind("place", "具体地点", re.compile(r"哪个?(县|区|市|州|镇|乡|园区|城市)|哪里|在哪(?!些|一?[天年日]|个?月)|什么地方|哪座城"),
              re.compile(r"[\u4e00-\u9fff]{2}(县|区|市|州|镇|乡|园|城|港|基地|中心)")),
    ValueKind("org", "具体机构或企业名称", re.compile(r"哪[一两二三四五六七八九几]?[家个所]?(企业|公司|机构|单位|部门|厅局|厅|局|委|高校|医院|院所|药企|车企|厂家|厂商|供应商|工厂|厂)|由谁|谁(来|负责|牵头|运营|审定|主办|承办)|牵头单位"),
              ORG_NAME),
    ValueKind("person", "人名", re.compile(_PERSON_NAMED + r"|姓名|哪位|(?<!单位)(?<!部门)(?<!机构)(?<!企业)是谁(?!牵头|负责)"), re.compile(r"同志|先生|女士|(处|厅|局|部|主任|书记)长?[：:]")),
)


_LIST_NEED = re.compile(r"哪些|哪[几两二三四五六七八九十\d]")


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
    分别是啥 — ``asks_list``) asks for items, not one value, and gets no "number"."""
    # "除了几类…，还有哪几类", "一共几个方向？列一下": a count word inside a list question
    items = _LIST_NEED.search(need) is not None or asks_list(need)
    # a count word inside a yes/no question is indefinite: "新招的几个护工…，能先让他们上门吗", "多租几个人，可以吗"
    asked = _YES_NO.sub("", _without_stated_counts(need))
    return [k for k in VALUE_KINDS if k.trigger.search(asked) and not (items and k.name == "number")]


# in a clause that is not the question's last, a count word after a completed verb, 好 or a condition is indefinite,
# a statement: "我们在某市开了几个快递网点，…有什么要求？", "招过好几名外地员工，…", "要是几个地方登的文字对不上，…"
# (but "去年开了几家门店？" asks)
_INDEFINITE = re.compile(r"(?:了|过|好|要是|如果|若是|假如)几(?=[个家名位项次条处所台辆间])")


def _stated_clause(clause: str, last: bool) -> str:
    """``clause`` without its indefinite count words (``_INDEFINITE``) unless it is the question's last clause or
    asks itself (holds ？)."""
    return clause if last or re.search(r"[?？]", clause) else _INDEFINITE.sub("", clause)


def _without_stated_counts(text: str) -> str:
    """``text`` with each clause as ``_stated_clause`` reads it: "我们开了几个网点，…有什么要求？" →
    "我们开网点，…有什么要求？"."""
    parts = re.split(r"(?<=[，,；;。？?！!])", text)
    return "".join(_stated_clause(p, i == len(parts) - 1) for i, p in enumerate(parts))


# a yes/no question: a sentence (up to ？/。/！) that ends with 吗/么
_YES_NO = re.compile(r"[^。？?！!]*[吗么](?=[？?。！!]|$)[？?。！!]?")


# Clauses in which a company describes itself (not the information need).
_SELF = re.compile(r"^(我们|我司|我厂|我公司|本公司|本企业|我单位|我们公司|我们厂|我们团队|我是|本人|我在|我家)")
_ASKS = re.compile(r"[?？吗呢]|哪|什么|怎么|怎样|如何|多少|几|是否|能否|可否|有没有|可以")


_CLAUSE = re.compile(r"[，,；;。]")


def need_clause(question: str) -> str:
    """The question without its self-description clauses: clauses that start with 我们/我司/本公司…
    and ask nothing. "我们厂是做泡菜的，省里有相关方向吗？" → "省里有相关方向吗？". Returns the whole
    question when every clause would be dropped."""
    kept, describing = [], False
    parts = [p for p in _CLAUSE.split(question) if p.strip()]
    for i, part in enumerate(parts):
        asks = bool(_ASKS.search(_stated_clause(part, i == len(parts) - 1)))
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
        # (a multiple, 多少倍 of a wage, is no sum of money: the "number" kind asks it)
        r"|(多少|几)(?!倍)[\u4e00-\u9fff]{0,2}?(奖金|补贴|奖励|资助|补助|钱)"
        r"|(一次性|最高)(奖励|补贴|补助|资助)"
        # a sum of money by its noun: an allowance, a fee, a fine, a wage, a deposit
        r"|(多少|几)(?!倍)[\u4e00-\u9fff]{0,3}?(津贴|费(?!者)|罚款|工资|薪酬|保证金|押金)"
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
    NeedType("person", "联系人或负责人姓名", re.compile(r"联系人|负责人是谁|负责人叫|姓名|" + _PERSON_NAMED),
             re.compile(r"联系人|同志|先生|女士")),
    NeedType("rate", "税率或利率", re.compile(r"税率|利率|费率|税负|即征即退|退税|优惠幅度"),
             re.compile(r"税率|利率|费率|税负|即征即退|退税")),
    NeedType("rent", "租金减免", re.compile(r"免租|租金|房租|减租"), re.compile(r"免租|租金|房租|减租")),
)


# answer types that name a thing (a phone number, an address, a website, a person): a question asking how
# long or how much money ("多久核对更新一次商家的身份、地址、许可这些信息") mentions such a thing as the
# object of the asked value, it does not ask for it
_NAMED_TYPES = frozenset({"phone", "address", "website", "person"})


def asked_types(need: str) -> list[NeedType]:
    """The answer types the need clause asks for (see ``NEED_TYPES``); a need asking a duration or an
    amount of money (``asked_quantity``) asks no phone number, address, website or person
    (``_NAMED_TYPES``) that it mentions, and nor does a clause that asks nothing (``_ASKS``: no question word).
    """
    types = [t for t in NEED_TYPES if t.trigger.search(need)]
    if types and asked_quantity(need) is not None:
        types = [t for t in types if t.name not in _NAMED_TYPES]
    # a thing named in a clause that asks nothing is mentioned, not asked: "报纸、网站上都会登，…以哪个文本为准"
    asking = [c for c in _CLAUSE.split(need) if _ASKS.search(c)]
    return [t for t in types if t.name not in _NAMED_TYPES or any(t.trigger.search(c) for c in asking)]


def asked_values(question: str) -> list[re.Pattern]:
    """Patterns of the values ``question`` asks for — a number, a year or date, a place, an
    organisation, a person (``asked_kinds`` on its need clause: 多少/几个, 哪一年,
    哪个县, 牵头单位/哪个部门, 叫什么名字) — each the evidence a sentence must match to state one; [] for
    a question that asks for no single value (a list, a description). A number is ``NUMBER_STATED``;
    a number or time asked by its wording as an amount of money or a duration (``asked_quantity``: 罚多少,
    多长时间内) is that quantity."""
    need = need_clause(question)
    return _asked_values(need, asked_kinds(need))


def _asked_values(need: str, kinds: list[ValueKind]) -> list[re.Pattern]:
    """``asked_values`` of a question whose need clause is ``need`` and asked kinds ``kinds``."""
    quantity = asked_quantity(need)
    if quantity is MONEY_STATED and not any(k.name in ("number", "time") for k in kinds):
        quantity = None  # "补贴标准有哪些": a list, no one amount
    if quantity is not None:  # 罚多少, 多长时间内: the number must be an amount in 元 / a duration
        kinds = [k for k in kinds if k.name not in ("number", "time")]
        return [quantity, *(k.evidence for k in kinds)]
    return [NUMBER_STATED if k.name == "number" else k.evidence for k in kinds]


_NUMERAL = r"(?:\d[\d.,]*|[一二三四五六七八九十两百千万亿零〇]+)"


# the kinds of quantity a number question may ask for by its wording, each with the evidence a sentence
# must match to state one: an amount of money (罚多少, 多少钱, 罚款是多少, 补贴多少 → "五百元以上五千元以下",
# "10万元") and a duration (多长时间内, 多久, 几个工作日, 多少天 → "五个工作日内", "30日")
MONEY_ASKED = re.compile(r"(?:罚|钱|金额|费用?|补贴|补助|奖励|资助|奖金|价格?)[\u4e00-\u9fff]{0,4}?(?:多少|几|标准|上限|最[高低多少])"
                         r"|(?:多少|几)[十百千万亿]*(?:钱|元)|最[高多低少]罚")


MONEY_STATED = re.compile(_NUMERAL + r"\s*[十百千万亿]*\s*元")


DURATION_ASKED = re.compile(r"多长时间|多久|多少(?:个)?(?:工作日|天|日|小时|个月|周)|几(?:个)?(?:工作日|天|日|小时|个月|周)"
                            r"|(?:期限|时限)[\u4e00-\u9fff]{0,2}?(?:是|为|有)?(?:多少|几|多长)"
                            # the length of a period named by its noun: 周期多长, 有效期多长, 试用期是多长, 年限多长
                            r"|(?:期|年限|时长)(?:是|为|有)?多长")


# (上一年度, 下一个月, 一年级: a previous or next period, a year of study, are no length of time)
DURATION_STATED = re.compile(r"(?<![\d月上下])(?:\d{1,3}|[一二三四五六七八九十两百]+)\s*个?(?:工作日|日|天|小时|分钟|秒钟?|个月|周(?!岁)|年(?![度级]))")


# a number stated: digits other than a year or a date ("2020年", "5月1日" date the sentence; they count nothing),
# or Chinese numerals with a unit or counter ("五年", "二次", "三名") — a 百/千/万 inside a word (千行百业, 千家万户),
# "一批" (a batch) and an ordinal (第十二条) are none
NUMBER_STATED = re.compile(r"(?<![\d.])(?<!第)(?!\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{1,2}\s*日)\d"
                           r"|" + _NOT_ORDINAL + r"[一二三四五六七八九十两零〇][十百千万亿]*(?:[个家项次名位座条类所倍元日天年月周岁人米吨亩户件]"
                           r"|平方米|公里)")


_QUANTITIES = (MONEY_STATED, DURATION_STATED, NUMBER_STATED)


def asked_quantity(need: str) -> re.Pattern | None:
    """The evidence pattern of the quantity a question's need clause asks for by its wording: an amount
    of money (``MONEY_STATED``, for 罚多少/多少钱/补贴标准) or a duration (``DURATION_STATED``, for
    多长时间/多久/几个工作日); None for any other question (a count, a share, a date)."""
    if MONEY_ASKED.search(need):
        return MONEY_STATED
    if DURATION_ASKED.search(need):
        return DURATION_STATED
    return None


# The words of ``rag.answer.extractive.ASKS_LIST`` that ask for several items (哪些, 哪几/哪三/哪5, 包括,
# 几大, 列举/列一下/罗列, 都有啥/都有什么, 分别是/分别有/分别指 but not 分别是怎么/分别是多少): ASKS_LIST's 重点/有什么/主要方向 and a
# bare 分别 (分别怎么部署, a comparison) also open questions that want one passage, which an added
# continuation would push down.
LIST_QUESTION = re.compile(r"哪些|哪[几两二三四五六七八九十\d]|包括|几大|列举|列(?:一下|出来|出|个清单)|罗列|(?<![成首京])都有(?:啥|什么)"
                           r"|分别(?:[是有指为叫](?!怎|如何|多少|哪一|何时)|啥)")


def asks_list(question: str) -> bool:
    """True when ``question`` asks for a list of items (``LIST_QUESTION``; a subset of
    ``rag.answer.extractive.ASKS_LIST``): "某市未来产业的六大重点培育领域是哪些？" → True,
    "到2027年要培育多少家领军企业？" → False."""
    return LIST_QUESTION.search(question) is not None


_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


_RANGE = re.compile(r"(?:19|20)\d{2}\s*年?\s*[—–\-~至到]+\s*(?:19|20)\d{2}")


_PART_END = re.compile(r"(?<=[？?])")


def question_parts(question: str) -> list[str]:
    """The parts of a question that asks several things, each ending in ？/?: “…的目标是多少？由哪个部门
    负责？” → two parts; ``[question]`` for a question with one part."""
    parts = [p.strip() for p in _PART_END.split(question) if p.strip(" \t？?，,。；;")]
    return parts if len(parts) >= 2 else [question]


def strip_document_names(question: str, docs: dict) -> str:
    """The question (normalised, ``rag.text.normalize``) without the titles, short names and numbers of
    documents (years inside a title such as "(2025—2027年)" are names, not needs); ``docs``: doc_id →
    DocMeta (``title``, ``short_names``, ``doc_number``). The names are removed one after the other, each
    document's longest first (``document_names``: normalised once per ``docs``)."""
    from rag.text import normalize

    q = normalize(question)
    for name in document_names(docs):
        if name in q:
            q = q.replace(name, "")
    return q


_NAMES_KEPT = 4  # docs mappings whose names are kept (a loaded index's, a test's)
_NAMES: dict[int, tuple[dict, tuple, tuple[str, ...]]] = {}  # id(docs) → (docs, its metas, their names)
_NAMES_LOCK = threading.Lock()


def document_names(docs: dict) -> tuple[str, ...]:
    """The normalised names of ``docs`` (doc_id → DocMeta) of at least 4 characters, in the order
    ``strip_document_names`` removes them: document by document, each one's title, short names and number
    longest first. Built once per ``docs`` mapping and kept for the last ``_NAMES_KEPT`` mappings; a mapping
    whose DocMeta objects are not the same ones (by identity: DocumentMeta is frozen) is read again. On a
    library of 3,450 documents this takes the 7,000 ``normalize`` calls per question out of planning."""
    from rag.text import normalize

    metas = tuple(docs.values())
    kept = _NAMES.get(id(docs))
    if kept is not None and kept[0] is docs and len(kept[1]) == len(metas) and all(
            a is b for a, b in zip(kept[1], metas)):
        return kept[2]
    names = tuple(n for meta in metas
                  for n in (normalize(x) for x in sorted([meta.title, *meta.short_names, meta.doc_number or ""],
                                                         key=len, reverse=True))
                  if len(n) >= 4)
    with _NAMES_LOCK:
        if id(docs) not in _NAMES and len(_NAMES) >= _NAMES_KEPT:
            _NAMES.pop(next(iter(_NAMES)))
        _NAMES[id(docs)] = (docs, metas, names)
    return names


@dataclass(frozen=True)
class NeedAnalysis:
    """The information-need analysis of one question text, computed once (``analyse_need``; held by
    ``rag.understand.query.QueryPlan.need``) and read by the answer stage instead of re-parsing the text.

    ``question``: the text analysed (the answer stage uses the record only for this same text, see
    ``need_analysis``); ``need``: ``need_clause(question)``; ``kinds``: ``asked_kinds(need)``; ``types``:
    ``asked_types(need)``; ``unit``: ``asked_unit(need)``; ``lists``: ``asks_list(question)``; ``values``:
    ``asked_values(question)``; ``parts``: ``question_parts(question)``; ``part_values``: ``asked_values``
    of each part; ``plain_need``: the need clause without the documents' names
    (``strip_document_names(need, index.docs)``), None when no index was given."""

    question: str
    need: str
    kinds: tuple[ValueKind, ...]
    types: tuple[NeedType, ...]
    unit: tuple[str, ...] | None
    lists: bool
    values: tuple[re.Pattern, ...]
    parts: tuple[str, ...]
    part_values: tuple[tuple[re.Pattern, ...], ...]
    plain_need: str | None = None


def analyse_need(question: str, docs: dict | None = None) -> NeedAnalysis:
    """The ``NeedAnalysis`` of ``question``; ``docs`` (doc_id → DocMeta, optional) gives ``plain_need``."""
    need = need_clause(question)
    kinds = asked_kinds(need)
    parts = tuple(question_parts(question))
    values = tuple(_asked_values(need, kinds))  # = asked_values(question)
    return NeedAnalysis(question, need, tuple(kinds), tuple(asked_types(need)), asked_unit(need),
                        asks_list(question), values, parts,
                        tuple(values if p == question else tuple(asked_values(p)) for p in parts),
                        strip_document_names(need, docs) if docs is not None else None)


def need_analysis(question: str, plan=None) -> NeedAnalysis:
    """The ``NeedAnalysis`` of ``question``: the plan's (``plan.need``) when ``plan`` was built for this same
    text, else computed now (a call without a plan, or with the plan of another text — a rewritten
    query, a sub-query); ``plain_need`` is then None."""
    analysis = getattr(plan, "need", None)
    if analysis is not None and analysis.question == question:
        return analysis
    return analyse_need(question)


def plain_need(analysis: NeedAnalysis, docs: dict) -> str:
    """``analysis.plain_need``, or the need clause without the names of ``docs`` when it was not computed."""
    if analysis.plain_need is not None:
        return analysis.plain_need
    return strip_document_names(analysis.need, docs)
