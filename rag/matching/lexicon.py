"""The dictionaries of company profiles and their canonical forms.

Qualification patterns (中小企业, 小微企业, 规上企业, 高新技术企业, 专精特新, 小巨人 …), stages
(初创/成长/成熟/龙头) and needs (研发, 融资, 补贴/奖励, 人才, 应用场景, 用地/空间, 市场, 数字化转型, 绿色低碳)
with the keywords that imply them (a need word is never a product); and the ``canonical_*`` functions
that map a written form to its canonical label. Places (cities, districts, zones) come from the
administrative-division gazetteer: ``rag.matching.places`` (``canonical_city`` / ``canonical_district``
are re-exported here).
"""

from __future__ import annotations

import re

from rag.matching.places import canonical_city, canonical_district  # noqa: F401  (re-exported)

QUALIFICATIONS: dict[str, tuple[str, ...]] = {  # canonical → regular expressions (order: specific first)
    "小巨人": (r"小巨人",),
    "专精特新": (r"专精特新(?!\s*[“\"']?\s*小巨人)", r"创新型中小企业"),
    "高新技术企业": (r"高新技术企业", r"国高新", r"高新企业", r"高新证书", r"高新认定", r"(?<!提)高企"),
    "科技型中小企业": (r"科技型中小企业", r"科技型企业", r"科小"),
    "瞪羚企业": (r"瞪羚",),
    "链主企业": (r"链主",),
    "独角兽企业": (r"独角兽",),
    "单项冠军": (r"单项冠军", r"隐形冠军"),
    "规上企业": (r"规上", r"规模以上"),
    "雏鹰企业": (r"雏鹰",),
    "中小企业": (r"中小微?企业", r"中小型企业"),  # before 小微企业: 中小微企业 is 中小企业
    "小微企业": (r"小微企业", r"小型微型企业", r"小微型企业"),
}
STAGES: dict[str, tuple[str, ...]] = {  # first stage whose keyword occurs wins (order matters)
    "龙头": ("龙头", "链主", "头部企业", "领军企业", "行业第一"),
    "初创": ("初创", "刚成立", "创业", "天使轮", "种子轮", "孵化"),
    "成熟": ("老牌", "多年", "成熟", "上市公司", "规上", "规模以上"),
    "成长": ("成长", "A轮", "B轮", "C轮", "扩产", "扩大产能", "量产", "上量", "快速发展"),
}
NEEDS = ("研发", "融资", "补贴/奖励", "人才", "应用场景", "用地/空间", "市场", "数字化转型", "绿色低碳")
NEED_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (  # keyword → needs it implies
    ("扩产", ("用地/空间", "融资")), ("扩大产能", ("用地/空间", "融资")), ("扩能", ("用地/空间", "融资")),
    ("量产线", ("用地/空间",)), ("生产线", ("用地/空间",)), ("建一条线", ("用地/空间",)), ("新产线", ("用地/空间",)),
    ("用地", ("用地/空间",)), ("拿地", ("用地/空间",)), ("土地", ("用地/空间",)), ("厂房", ("用地/空间",)),
    ("建厂", ("用地/空间",)), ("新厂", ("用地/空间",)), ("场地", ("用地/空间",)), ("园区", ("用地/空间",)),
    ("招人", ("人才",)), ("招聘", ("人才",)), ("人才", ("人才",)), ("引才", ("人才",)), ("招工", ("人才",)),
    ("缺人", ("人才",)), ("用工", ("人才",)),
    ("研发", ("研发",)), ("攻关", ("研发",)), ("新品", ("研发",)), ("新一代", ("研发",)), ("开发新", ("研发",)),
    ("高校合作", ("研发",)), ("和高校", ("研发",)), ("产学研", ("研发",)), ("样机", ("研发",)), ("中试", ("研发",)),
    ("贷款", ("融资",)), ("资金", ("融资",)), ("投资", ("融资",)), ("融资", ("融资",)), ("在融", ("融资",)),
    ("基金", ("融资",)), ("天使轮", ("融资",)), ("下一轮", ("融资",)), ("上市", ("融资",)), ("IPO", ("融资",)),
    ("补贴", ("补贴/奖励",)), ("补助", ("补贴/奖励",)), ("奖补", ("补贴/奖励",)), ("奖励", ("补贴/奖励",)),
    ("资助", ("补贴/奖励",)), ("贴息", ("补贴/奖励", "融资")), ("专项资金", ("补贴/奖励",)),
    ("扶持资金", ("补贴/奖励",)), ("税收优惠", ("补贴/奖励",)), ("减税", ("补贴/奖励",)), ("免税", ("补贴/奖励",)),
    ("退税", ("补贴/奖励",)), ("加计扣除", ("补贴/奖励", "研发")), ("政策支持", ("补贴/奖励",)),
    ("订单", ("市场",)), ("销路", ("市场",)), ("推广", ("市场",)), ("市场", ("市场",)), ("客户", ("市场",)),
    ("首台套", ("市场",)), ("供货", ("市场",)), ("配套", ("市场",)), ("出口", ("市场",)),
    ("场景", ("应用场景",)), ("示范", ("应用场景",)), ("试点", ("应用场景",)), ("落地", ("应用场景",)),
    ("智能化改造", ("数字化转型",)), ("数字化", ("数字化转型",)), ("智能化", ("数字化转型",)),
    ("自动化", ("数字化转型",)), ("全自动", ("数字化转型",)), ("技改", ("数字化转型",)),
    ("节能", ("绿色低碳",)), ("降碳", ("绿色低碳",)), ("低碳", ("绿色低碳",)), ("减排", ("绿色低碳",)),
    ("双碳", ("绿色低碳",)), ("能耗", ("绿色低碳",)),
)
NEED_SYNONYMS = {"用地": "用地/空间", "空间": "用地/空间", "厂房": "用地/空间", "场地": "用地/空间",
                 "市场/首台套": "市场", "首台套": "市场", "销路": "市场", "场景": "应用场景", "示范": "应用场景",
                 "资金": "融资", "贷款": "融资", "补贴": "补贴/奖励", "奖励": "补贴/奖励", "补助": "补贴/奖励",
                 "奖补": "补贴/奖励", "资助": "补贴/奖励", "税收优惠": "补贴/奖励", "财政支持": "补贴/奖励",
                 "投资": "融资", "招人": "人才", "技术": "研发", "攻关": "研发",
                 "扩产": "用地/空间", "数字化": "数字化转型", "智能化改造": "数字化转型", "低碳": "绿色低碳"}
PROFILE_KEYS = ("city", "district", "industry", "products", "qualifications", "stage", "needs")


def _one_of(table: dict[str, tuple[str, ...]], value: str) -> str | None:
    """The canonical key whose written forms (or itself) equal or start ``value``."""
    v = value.strip()
    for canon, forms in table.items():
        if v == canon or v in forms or any(v.startswith(f) for f in forms if len(f) >= 2):
            return canon
    return None


def canonical_need(value: str) -> str:
    """"用地" → "用地/空间", "资金" → "融资"; a need outside NEEDS/NEED_SYNONYMS is kept as written."""
    v = value.strip()
    return v if v in NEEDS else NEED_SYNONYMS.get(v, v)


def needs_of_word(value: str) -> tuple[str, ...]:
    """The needs a word names when the whole word is need vocabulary ("补贴" → ("补贴/奖励",), "研发补贴" →
    ("研发", "补贴/奖励"), "银行贷款" → ()); () for anything else (a product, an industry …)."""
    v = value.strip()
    if not v:
        return ()
    if v in NEEDS or v in NEED_SYNONYMS:
        return (canonical_need(v),)
    covered = [False] * len(v)
    found: list[tuple[int, str]] = []
    for word, implied in NEED_KEYWORDS:
        for m in re.finditer(re.escape(word), v):
            covered[m.start():m.end()] = [True] * (m.end() - m.start())
            found += [(m.start(), n) for n in implied]
    return unique(n for _, n in sorted(found)) if all(covered) else ()


def canonical_stage(value: str | None) -> str | None:
    """"成长期"/"成长阶段" → "成长", "龙头企业" → "龙头"; other words are kept."""
    if not value or not value.strip():
        return None
    raw = value.strip()
    v = re.sub(r"(期|阶段|企业)$", "", raw) or raw
    return next((s for s in STAGES if v == s or raw in STAGES[s] or v in STAGES[s]), v)


def canonical_qualification(value: str) -> str:
    """"国高新" → "高新技术企业", "隐形冠军" → "单项冠军"; unknown qualifications are kept as written."""
    v = value.strip()
    for canon, patterns in QUALIFICATIONS.items():
        if v == canon or any(re.search(p, v) for p in patterns):
            return canon
    return v


def unique(items) -> tuple[str, ...]:
    """The non-empty items in first-seen order, without repeats."""
    out: list[str] = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return tuple(out)
