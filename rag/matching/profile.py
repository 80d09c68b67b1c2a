"""The company profile: a small frozen record, its validation, and a rule-based free-text parser.

A profile holds what a company says about itself — location (``city``, ``district``), ``industry`` and
``products`` in its own words, ``qualifications`` (高新技术企业, 专精特新, 小巨人 …), ``stage``
(初创/成长/成熟/龙头) and ``needs`` (研发, 融资, 人才, 应用场景, 用地/空间, 市场, 数字化转型, 绿色低碳).

``parse_profile_text`` turns one sentence ("我们是成都一家做钠离子电池的专精特新企业，想扩产") into a
profile with deterministic rules and the dictionaries below (no model): Sichuan's 21 cities/prefectures
and Chengdu's districts, counties and functional areas; qualification, stage and need keywords; products
are the company words/aliases/terms of ``corpus/concepts.json`` found in the text (widened to the noun
phrase after 做/生产/研发/从事 … that contains them), else that noun phrase itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.errors import RagError
from rag.text import normalize


class ProfileError(RagError, ValueError):
    """A profile (file, JSON object or text) is unusable; the message says which field and how to fix it."""

    exit_code = 2


# --- dictionaries ------------------------------------------------------------------------------------
SICHUAN_CITIES: dict[str, tuple[str, ...]] = {  # canonical name → how texts write it (longest first)
    "成都市": ("成都",), "自贡市": ("自贡",), "攀枝花市": ("攀枝花",), "泸州市": ("泸州",), "德阳市": ("德阳",),
    "绵阳市": ("绵阳",), "广元市": ("广元",), "遂宁市": ("遂宁",), "内江市": ("内江",), "乐山市": ("乐山",),
    "南充市": ("南充",), "眉山市": ("眉山",), "宜宾市": ("宜宾",), "广安市": ("广安",), "达州市": ("达州",),
    "雅安市": ("雅安",), "巴中市": ("巴中",), "资阳市": ("资阳",), "阿坝藏族羌族自治州": ("阿坝州", "阿坝"),
    "甘孜藏族自治州": ("甘孜州", "甘孜"), "凉山彝族自治州": ("凉山州", "凉山"),
}
# Chengdu's 12 districts, 3 counties, 5 county-level cities and 3 functional areas → written forms.
CHENGDU_DISTRICTS: dict[str, tuple[str, ...]] = {
    "锦江区": ("锦江",), "青羊区": ("青羊",), "金牛区": ("金牛",), "武侯区": ("武侯",), "成华区": ("成华",),
    "龙泉驿区": ("龙泉驿", "龙泉", "成都经开区"), "青白江区": ("青白江",), "新都区": ("新都",),
    "温江区": ("温江", "成都医学城"), "双流区": ("双流", "天府国际生物城"), "郫都区": ("郫都", "郫县"),
    "新津区": ("新津",), "简阳市": ("简阳",), "都江堰市": ("都江堰",), "彭州市": ("彭州",), "邛崃市": ("邛崃",),
    "崇州市": ("崇州",), "金堂县": ("金堂",), "大邑县": ("大邑",), "蒲江县": ("蒲江",),
    "高新区": ("成都高新区", "高新区"), "天府新区": ("天府新区",), "东部新区": ("东部新区",),
}
# A few well-known districts/counties of other cities (a district names its city).
OTHER_DISTRICTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "涪城区": ("绵阳市", ("涪城",)), "游仙区": ("绵阳市", ("游仙",)), "江油市": ("绵阳市", ("江油",)),
    "旌阳区": ("德阳市", ("旌阳",)), "广汉市": ("德阳市", ("广汉",)), "什邡市": ("德阳市", ("什邡",)),
    "绵竹市": ("德阳市", ("绵竹",)), "翠屏区": ("宜宾市", ("翠屏",)), "叙州区": ("宜宾市", ("叙州",)),
    "江阳区": ("泸州市", ("江阳",)), "龙马潭区": ("泸州市", ("龙马潭",)), "五通桥区": ("乐山市", ("五通桥",)),
    "夹江县": ("乐山市", ("夹江",)), "峨眉山市": ("乐山市", ("峨眉山",)), "自流井区": ("自贡市", ("自流井",)),
    "富顺县": ("自贡市", ("富顺",)), "西昌市": ("凉山彝族自治州", ("西昌",)), "彭山区": ("眉山市", ("彭山",)),
    "仁寿县": ("眉山市", ("仁寿",)), "射洪市": ("遂宁市", ("射洪",)), "隆昌市": ("内江市", ("隆昌",)),
    "米易县": ("攀枝花市", ("米易",)), "盐边县": ("攀枝花市", ("盐边",)), "阆中市": ("南充市", ("阆中",)),
}
# Regions that documents name instead of a city (四川五大经济区 and the Chengdu metropolitan belts).
REGIONS: dict[str, tuple[str, ...]] = {
    "攀西": ("攀枝花市", "凉山彝族自治州"), "川南": ("自贡市", "泸州市", "内江市", "宜宾市"),
    "川东北": ("南充市", "广安市", "达州市", "巴中市", "广元市"), "川西北": ("阿坝藏族羌族自治州", "甘孜藏族自治州"),
    "成德临港": ("德阳市",), "成德绵": ("德阳市", "绵阳市"), "成德眉资": ("德阳市", "眉山市", "资阳市"),
    "成眉高新": ("眉山市",), "成资临空": ("资阳市",),
}
OTHER_PROVINCE_CITIES = ("重庆", "北京", "上海", "天津", "广州", "深圳", "杭州", "苏州", "南京", "武汉", "西安",
                         "长沙", "合肥", "昆明", "贵阳")

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
}
STAGES: dict[str, tuple[str, ...]] = {  # first stage whose keyword occurs wins (order matters)
    "龙头": ("龙头", "链主", "头部企业", "领军企业", "行业第一"),
    "初创": ("初创", "刚成立", "创业", "天使轮", "种子轮", "孵化"),
    "成熟": ("老牌", "多年", "成熟", "上市公司", "规上", "规模以上"),
    "成长": ("成长", "A轮", "B轮", "C轮", "扩产", "扩大产能", "量产", "上量", "快速发展"),
}
NEEDS = ("研发", "融资", "人才", "应用场景", "用地/空间", "市场", "数字化转型", "绿色低碳")
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
                 "资金": "融资", "贷款": "融资", "投资": "融资", "招人": "人才", "技术": "研发", "攻关": "研发",
                 "扩产": "用地/空间", "数字化": "数字化转型", "智能化改造": "数字化转型", "低碳": "绿色低碳"}
PRODUCT_VERBS = re.compile(r"(?<![想要备算望搞])(?:做(?![完了过好])|生产|研发(?![中团投费力])|从事|制造|主营|主打|专注于?|专做)")
PRODUCT_STOP = re.compile(r"的|，|。|,|；|;|！|？|\s|给|为|供|卖|想|需要|客户|公司|企业|团队|厂(?![商])|主要|也在")
LIST_SPLIT = re.compile(r"和|及|与|、|跟|/|以及")
PROFILE_KEYS = ("city", "district", "industry", "products", "qualifications", "stage", "needs")


def _one_of(table: dict[str, tuple[str, ...]], value: str) -> str | None:
    """The canonical key whose written forms (or itself) equal or start ``value``."""
    v = value.strip()
    for canon, forms in table.items():
        if v == canon or v in forms or any(v.startswith(f) for f in forms if len(f) >= 2):
            return canon
    return None


def canonical_city(value: str | None) -> str | None:
    """"成都" → "成都市", "凉山" → "凉山彝族自治州"; other names are kept as given ("重庆" → "重庆市")."""
    if not value or not value.strip():
        return None
    v = value.strip()
    found = _one_of(SICHUAN_CITIES, v)
    if found:
        return found
    return v if v.endswith(("市", "州", "区", "县")) else v + "市"


def canonical_district(value: str | None) -> tuple[str | None, str | None]:
    """``(district, city it implies)``: "双流" → ("双流区", "成都市"); unknown names are kept, city None."""
    if not value or not value.strip():
        return None, None
    v = value.strip()
    found = _one_of(CHENGDU_DISTRICTS, v)
    if found:
        return found, "成都市"
    for canon, (city, forms) in OTHER_DISTRICTS.items():
        if v == canon or v in forms:
            return canon, city
    return v, None


def canonical_need(value: str) -> str:
    v = value.strip()
    return v if v in NEEDS else NEED_SYNONYMS.get(v, v)


def canonical_stage(value: str | None) -> str | None:
    """"成长期"/"成长阶段" → "成长", "龙头企业" → "龙头"; other words are kept."""
    if not value or not value.strip():
        return None
    raw = value.strip()
    v = re.sub(r"(期|阶段|企业)$", "", raw) or raw
    return next((s for s in STAGES if v == s or raw in STAGES[s] or v in STAGES[s]), v)


def canonical_qualification(value: str) -> str:
    v = value.strip()
    for canon, patterns in QUALIFICATIONS.items():
        if v == canon or any(re.search(p, v) for p in patterns):
            return canon
    return v


def _unique(items) -> tuple[str, ...]:
    out: list[str] = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return tuple(out)


@dataclass(frozen=True)
class Profile:
    """A company profile. Lists are tuples of canonical labels; unknown fields are None / empty.

    ``city``: "成都市", "绵阳市" …; ``district``: "双流区" …; ``industry``/``products``: the company's
    words; ``qualifications``: canonical names (QUALIFICATIONS); ``stage``: 初创/成长/成熟/龙头;
    ``needs``: canonical needs (NEEDS) or the company's own words; ``text``: the free text it came from.
    """

    city: str | None = None
    district: str | None = None
    industry: str | None = None
    products: tuple[str, ...] = ()
    qualifications: tuple[str, ...] = ()
    stage: str | None = None
    needs: tuple[str, ...] = ()
    text: str | None = field(default=None, compare=False)

    @property
    def in_sichuan(self) -> bool | None:
        """True/False when the city is known, None when it is not."""
        return None if not self.city else self.city in SICHUAN_CITIES

    @property
    def in_chengdu(self) -> bool | None:
        return None if not self.city else self.city == "成都市"

    def is_empty(self) -> bool:
        return not (self.industry or self.products or self.needs or self.qualifications)

    def place_words(self) -> tuple[str, ...]:
        """How documents write the company's location: district name and its forms, short city name.
        Chengdu itself is left out: nearly every passage of a Chengdu document names it."""
        words: list[str] = []
        if self.district:
            words += [self.district, *CHENGDU_DISTRICTS.get(self.district, ()),
                      *OTHER_DISTRICTS.get(self.district, ("", ()))[1]]
        if self.city and self.city != "成都市":
            words += [self.city, *SICHUAN_CITIES.get(self.city, ())]
        return _unique(w for w in words if len(w) >= 2)

    def region_words(self) -> tuple[str, ...]:
        """Regions the documents may name for the company's city (攀西 for 攀枝花市, 川南 for 宜宾市 …)."""
        return tuple(r for r, cities in REGIONS.items() if self.city in cities)

    def location_label(self) -> str:
        return "".join(p for p in (self.city, f"（{self.district}）" if self.district else "") if p) or "未注明"

    def to_json(self) -> dict:
        """{"city", "district", "industry", "products", "qualifications", "stage", "needs"} (+ "text")."""
        out = {"city": self.city, "district": self.district, "industry": self.industry,
               "products": list(self.products), "qualifications": list(self.qualifications),
               "stage": self.stage, "needs": list(self.needs)}
        if self.text:
            out["text"] = self.text
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Profile":
        """Validate and canonicalise a JSON object with the keys of ``to_json`` (all optional; lists may
        also be given as "、"/","-separated strings). Raises ProfileError naming the bad field."""
        if not isinstance(data, dict):
            raise ProfileError(f"a profile must be a JSON object with keys {', '.join(PROFILE_KEYS)}")
        unknown = sorted(set(data) - set(PROFILE_KEYS) - {"text", "id", "note"})
        if unknown:
            raise ProfileError(f"unknown profile field(s) {', '.join(unknown)}; allowed: {', '.join(PROFILE_KEYS)}")

        def text_field(name):
            v = data.get(name)
            if v is None:
                return None
            if not isinstance(v, str):
                raise ProfileError(f"profile.{name} must be a string, got {type(v).__name__}")
            return v.strip() or None

        def list_field(name):
            v = data.get(name)
            if v is None:
                return ()
            if isinstance(v, str):
                v = [x for x in re.split(r"[、,，;；\s]+", v) if x]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ProfileError(f"profile.{name} must be a list of strings")
            return tuple(x.strip() for x in v if x.strip())

        district, implied_city = canonical_district(text_field("district"))
        city = canonical_city(text_field("city")) or implied_city
        profile = cls(city=city, district=district, industry=text_field("industry"),
                      products=_unique(list_field("products")),
                      qualifications=_unique(canonical_qualification(q) for q in list_field("qualifications")),
                      stage=canonical_stage(text_field("stage")),
                      needs=_unique(canonical_need(n) for n in list_field("needs")),
                      text=text_field("text"))
        if profile.is_empty():
            if profile.text:
                parsed = parse_profile_text(profile.text)
                return replace(parsed, city=profile.city or parsed.city, district=profile.district or parsed.district)
            raise ProfileError("the profile names no industry, product, qualification or need; fill in at least one")
        return profile


# --- free-text parser --------------------------------------------------------------------------------
def _find_location(text: str) -> tuple[str | None, str | None]:
    hits: list[tuple[int, str, str]] = []  # (position, kind, canonical)
    for canon, forms in SICHUAN_CITIES.items():
        for f in forms:
            i = text.find(f)
            if i >= 0:
                hits.append((i, "city", canon))
    for canon, forms in CHENGDU_DISTRICTS.items():
        for f in forms:
            i = text.find(f)
            if i >= 0:
                hits.append((i, "district", canon))
    for canon, (_city, forms) in OTHER_DISTRICTS.items():
        for f in forms:
            i = text.find(f)
            if i >= 0:
                hits.append((i, "other_district", canon))
    for name in OTHER_PROVINCE_CITIES:
        i = text.find(name)
        if i >= 0:
            hits.append((i, "city", name + "市"))
    hits.sort()
    city = next((c for _, k, c in hits if k == "city"), None)
    district = None
    for _, kind, canon in hits:
        if kind == "other_district" and city in (None, OTHER_DISTRICTS[canon][0]):
            district, city = canon, OTHER_DISTRICTS[canon][0]
            break
        if kind == "district":
            if canon == "高新区" and city not in (None, "成都市"):
                district = "高新区"  # 高新区 of the named city
                break
            if city in (None, "成都市"):
                district, city = canon, "成都市"
                break
    return city, district


def _spans(text: str, patterns) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for p in patterns for m in re.finditer(p, text)]


def _product_phrases(text: str) -> list[tuple[int, str]]:
    """Noun phrases after 做/生产/研发/从事 …, split at 和/及/、: ``[(position, phrase)]``."""
    out = []
    for m in PRODUCT_VERBS.finditer(text):
        rest = text[m.end():]
        stop = PRODUCT_STOP.search(rest)
        phrase = rest[:stop.start()] if stop else rest
        pos = m.end()
        for part in LIST_SPLIT.split(phrase):
            part_pos = text.find(part, pos)
            part = part.strip()
            if 2 <= len(part) <= 12 and part not in {"产品", "业务", "项目", "东西", "生意"}:
                out.append((part_pos, part))
            pos = max(pos, part_pos + len(part))
    return out


def _word_pattern(word: str) -> str:
    """A regex for ``word``; Latin words must not touch other Latin letters ("MR" is not in "mRNA")."""
    pat = re.escape(word)
    if re.match(r"[A-Za-z0-9]", word):
        pat = r"(?<![A-Za-z])" + pat
    if re.search(r"[A-Za-z0-9]$", word):
        pat += r"(?![A-Za-z])"
    return pat


def concept_matches(text: str, concepts: tuple, skip_prefixes: tuple[str, ...] = ("q-", "n-")) -> list:
    """``rag.query.ConceptMatch`` records of the concepts whose term, alias or company word occurs in
    ``text`` (normalised, case-insensitive, Latin words on word boundaries), best (longest) word per
    concept, longest matches first; concepts whose id starts with ``skip_prefixes`` are left out."""
    from rag.query import ConceptMatch

    t = normalize(text)
    found = []
    for c in concepts:
        if skip_prefixes and c.concept_id.startswith(skip_prefixes):
            continue
        best = None
        for w in c.triggers():
            nw = normalize(w)
            if len(nw) >= 2 and (best is None or len(nw) > len(best)) and re.search(_word_pattern(nw), t, re.I):
                best = nw
        if best is not None:
            found.append(ConceptMatch(c.concept_id, best, c.term, (c.term, *c.aliases)))
    found.sort(key=lambda m: -len(m.matched))
    return found


def parse_profile_text(text: str, concepts: tuple | None = None) -> Profile:
    """A profile from one free-text sentence (see the module docstring for the rules).

    ``concepts``: ``rag.query.Concept`` records (default: the bundled ``corpus/concepts.json``).
    Raises ProfileError when the text is blank.
    """
    if not isinstance(text, str) or not text.strip():
        raise ProfileError("企业描述为空：请用一句话描述企业所在地、产品和需求 (empty profile text)")
    raw = text.strip()
    t = normalize(raw)
    if concepts is None:
        from rag.query import load_concepts
        from rag.settings import PROJECT_ROOT

        concepts = load_concepts(str(PROJECT_ROOT / "corpus" / "concepts.json"))
    city, district = _find_location(t)

    quals, taken = [], []
    for canon, patterns in QUALIFICATIONS.items():
        spans = _spans(t, patterns)
        if spans:
            quals.append((min(s for s, _ in spans), canon))
            taken += spans
    stage = next((s for s, words in STAGES.items() if any(w in t for w in words)), None)
    needs_found: list[tuple[int, str]] = []
    for word, implied in NEED_KEYWORDS:
        for s, e in _spans(t, [re.escape(word)]):
            taken.append((s, e))
            needs_found += [(s, n) for n in implied]
    place_spans = _spans(t, [re.escape(f) for forms in (*SICHUAN_CITIES.values(), *CHENGDU_DISTRICTS.values())
                             for f in forms])

    # products: concept triggers (not qualifications/needs, not inside a need/qualification/place word)
    phrases = _product_phrases(t)
    triggers: list[tuple[int, int, str]] = []
    for c in concepts:
        if c.concept_id.startswith(("q-", "n-")):
            continue
        for w in c.triggers():
            nw = normalize(w)
            if len(nw) < 2:
                continue
            for m in re.finditer(_word_pattern(nw), t, flags=re.I):
                s, e = m.span()
                if any(s < te and ts < e for ts, te in taken + place_spans):
                    continue
                triggers.append((s, e, t[s:e]))
    triggers.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    kept: list[tuple[int, int, str]] = []
    for s, e, w in triggers:  # longest non-overlapping
        if not any(s < ke and ks < e for ks, ke, _ in kept):
            kept.append((s, e, w))
    products: list[tuple[int, str]] = []
    for s, e, w in kept:
        phrase = next(((p, ph) for p, ph in phrases if p <= s and e <= p + len(ph)), None)
        products.append(phrase if phrase else (s, w))
    for p, ph in phrases:
        if not any(p <= s < p + len(ph) for s, _e, _w in kept):
            products.append((p, ph))
    products.sort()
    names = _unique(ph for _, ph in products)  # a word inside another product (储能 in 储能电池) adds nothing
    product_names = tuple(n for n in names if not any(n != o and n in o for o in names))
    industry = None
    if kept:
        first = concept_matches(kept[0][2], concepts)
        industry = first[0].term if first else None
    return Profile(city=city, district=district, industry=industry, products=product_names,
                   qualifications=_unique(q for _, q in sorted(quals)), stage=stage,
                   needs=_unique(n for _, n in sorted(needs_found)), text=raw)


def load_profile_file(path: str | Path) -> Profile:
    """A profile from a JSON file holding a profile object, ``{"profile": {...}}`` or ``{"text": "…"}``.

    Raises ProfileError when the file is missing, unreadable, not JSON, or not a valid profile.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"profile file {p} not found; give a JSON file with the company profile") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile file {p} ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"profile file {p} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return profile_from_json(data, where=str(p))


def profile_from_json(data, where: str = "profile") -> Profile:
    """A profile from a parsed JSON value: a profile object, ``{"profile": {...}}`` or ``{"text": "…"}``."""
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        inner = dict(data["profile"])
        if isinstance(data.get("text"), str) and "text" not in inner:
            inner["text"] = data["text"]
        data = inner
    elif isinstance(data, dict) and set(data) <= {"id", "text", "note"} and isinstance(data.get("text"), str):
        return parse_profile_text(data["text"])
    try:
        return Profile.from_dict(data)
    except ProfileError as exc:
        raise ProfileError(f"{where}: {exc}") from None
