"""Profile → facets: each profile fact with its *links* to the documents' vocabulary.

A product links to itself (weight 1), to the term (0.85) and aliases (0.75) of the concepts of
``corpus/concepts.json`` it triggers (钠离子电池 → 新型储能; short forms too: 航发 → 航空发动机, see
``rag.matching.concepts``), to their broader terms (0.4) and the aliases of those (0.3); a word no
concept knows links to its own jieba sub-words (0.5). An industry word no concept knows (食品配料) also
links to the *sectors* of the products — the broader terms of the concepts they trigger (甜菊糖 → 甜菊糖苷 →
合成生物) — at SECTOR (their aliases at SECTOR_ALIAS): the industry as the documents name it, which a
curated profile's own sector word often is not (the free-text parser takes the policy term directly).
A need links to its policy words (用地/空间 → 工业用地 …, 补贴/奖励 → 补助, 奖补 …), a qualification to its
concept or, for the documents' own terms, to itself and its stem (中小企业 → 中小), the location
to the names documents use for it (district, city; the economic zones of ``rag/data/place_aliases.json``
at 0.6). ``FACET_WEIGHTS`` weigh the facet kinds in the ranking (``rag.matching.matcher``).
"""

from __future__ import annotations

from rag.matching.concepts import concept_matches
from rag.matching.profile import Profile
from rag.matching.provisions import Facet, TermLink
from rag.text import STOPWORDS, normalize

# --- vocabulary of needs and qualifications -----------------------------------------------------------
NEED_TERMS: dict[str, tuple[str, ...]] = {  # need → policy words; the first NEED_CORE[need] are its core words
    "研发": ("研发", "技术攻关", "关键核心技术", "攻关", "创新平台", "研发投入", "成果转化", "产学研"),
    "融资": ("融资", "基金", "金融", "贷款", "投资", "资本市场", "上市"),
    "补贴/奖励": ("补贴", "补助", "奖励", "奖补", "资助", "专项资金", "贴息", "税收优惠", "加计扣除", "财政"),
    "人才": ("人才", "创新团队", "引进", "技能", "工程师", "培训"),
    "应用场景": ("应用场景", "场景", "示范应用", "应用示范", "示范", "试点", "城市机会清单"),
    "用地/空间": ("工业用地", "用地", "土地", "标准厂房", "厂房", "产业园区", "载体", "空间"),
    "市场": ("推广应用", "首台套", "首台(套)", "首批次", "政府采购", "开拓", "市场", "品牌"),
    "数字化转型": ("智能化改造", "数字化转型", "智能化", "数字化", "智能工厂", "数字化车间", "工业互联网", "技术改造"),
    "绿色低碳": ("绿色低碳", "节能", "降碳", "碳达峰", "清洁生产", "绿色制造", "循环利用", "低碳"),
}
NEED_CORE = {"研发": 3, "融资": 3, "补贴/奖励": 5, "人才": 2, "应用场景": 2, "用地/空间": 3, "市场": 5, "数字化转型": 4, "绿色低碳": 4}
NEED_CONCEPTS: dict[str, tuple[str, ...]] = {  # concepts whose term and aliases extend a need's words
    "研发": ("n-rd", "n-transfer", "q-platforms"), "融资": ("n-finance", "n-fund", "n-loan"), "补贴/奖励": ("n-tax",),
    "人才": ("n-talent", "n-skilled"), "应用场景": ("n-scenario",), "用地/空间": ("n-land", "n-plant", "n-park"),
    "市场": ("n-market", "n-first-set"), "数字化转型": ("digital-transformation",), "绿色低碳": ("green-low-carbon",),
}
# Factor needs (要素保障) are served by provisions of their own — industry provisions rarely speak of land
# or funds — so each gets its best own provision. Direction needs (研发, 市场, 数字化转型, 绿色低碳 and needs
# in the company's own words) are what industry provisions are about; they add a bonus to them.
FACTOR_NEEDS = frozenset({"融资", "补贴/奖励", "人才", "应用场景", "用地/空间"})
QUALIFICATION_CONCEPTS = {"高新技术企业": "q-hnte", "科技型中小企业": "q-tech-sme", "专精特新": "q-zjtx",
                          "小巨人": "q-little-giant", "单项冠军": "q-champion", "瞪羚企业": "q-gazelle",
                          "独角兽企业": "q-unicorn", "雏鹰企业": "q-chick", "链主企业": "q-chain-leader",
                          "规上企业": "q-above-scale"}

# --- link and facet weights ------------------------------------------------------------------------
BROADER = 0.4  # link weight of a concept's broader term
BROADER_ALIAS = 0.3  # … and of the aliases of the broader concept
SECTOR = 0.6  # link weight of a product's sector for an industry word no concept knows
SECTOR_ALIAS = 0.5  # … and of that sector's aliases
REGION_WEIGHT = 0.6  # link weight of an economic zone the documents name for the company's city
FACET_WEIGHTS = {"product": 1.0, "industry": 0.6, "need": 0.6, "direction": 0.3, "qualification": 0.25,
                 "location": 0.6}


def _word_links(kind: str, word: str, concepts, tokenizer) -> list[TermLink]:
    """The links of one company word (see the module docstring)."""
    links = [TermLink(kind, word, normalize(word), "literal", 1.0)]
    matches = concept_matches(word, concepts, abbreviations=True)
    for m in matches:
        concept = next(c for c in concepts if c.concept_id == m.concept_id)
        links.append(TermLink(kind, word, m.term, "concept", 0.85, m.concept_id, m.term))
        links += [TermLink(kind, word, a, "concept", 0.75, m.concept_id, m.term) for a in concept.aliases]
        for b in concept.broader:  # the broader term, and (weaker) how its own concept is also written
            links.append(TermLink(kind, word, b, "broader", BROADER, m.concept_id, b))
            for upper in concepts:
                if upper.term == b:
                    links += [TermLink(kind, word, a, "broader", BROADER_ALIAS, upper.concept_id, b)
                              for a in upper.aliases]
    if tokenizer is not None and not matches:  # a word no concept knows: its own sub-words
        links += [TermLink(kind, word, t, "part", 0.5) for t in tokenizer.tokens(word)
                  if len(t) >= 2 and t != normalize(word).lower() and t not in STOPWORDS]
    return links


def _product_sectors(products, concepts) -> list[str]:
    """The broader terms of the concepts the products trigger, in order: the sectors under which the
    documents file the company's products (甜菊糖 → 甜菊糖苷 → 合成生物)."""
    by_id = {c.concept_id: c for c in concepts}
    sectors: list[str] = []
    for p in products:
        for m in concept_matches(p, concepts, abbreviations=True):
            sectors += by_id[m.concept_id].broader
    return list(dict.fromkeys(sectors))


def _sector_links(word: str, sectors: list[str], concepts) -> list[TermLink]:
    """Links of an industry word no concept knows (食品配料): the products' sectors stand in for it, at
    SECTOR weight (their aliases at SECTOR_ALIAS) — what the documents call the company's industry."""
    links: list[TermLink] = []
    for b in sectors:
        upper = next((c for c in concepts if c.term == b), None)
        links.append(TermLink("industry", word, b, "concept", SECTOR, upper.concept_id if upper else None, b))
        if upper is not None:
            links += [TermLink("industry", word, a, "concept", SECTOR_ALIAS, upper.concept_id, b) for a in upper.aliases]
    return links


def build_facets(profile: Profile, concepts, tokenizer=None, home=()) -> list[Facet]:
    """The facets of a profile (see the module docstring), products first, then industry words, needs,
    qualifications and the location. ``concepts``: ``rag.understand.query.Concept`` records; ``tokenizer``: gives
    the sub-words of unknown words (None: no sub-word links)."""
    by_id = {c.concept_id: c for c in concepts}
    facets: list[Facet] = []
    words = [("product", p) for p in profile.products]
    if profile.industry and profile.industry not in profile.products:
        words += [("industry", w) for w in profile.industry.replace("／", "/").split("/") if w.strip()]
    sectors = _product_sectors(profile.products, concepts)
    for kind, word in words:
        links = _word_links(kind, word, concepts, tokenizer)
        if kind == "industry" and not any(link.via == "concept" for link in links):
            links += _sector_links(word, sectors, concepts)
        terms = [word] + [link.term for link in links if link.via == "concept"][:4]
        facets.append(Facet(kind, word, tuple(links), " ".join(dict.fromkeys(terms)), FACET_WEIGHTS[kind]))
    for need in profile.needs:
        terms = list(NEED_TERMS.get(need, (need,)))
        for cid in NEED_CONCEPTS.get(need, ()):
            if cid in by_id:
                terms += [by_id[cid].term, *by_id[cid].aliases]
        terms = list(dict.fromkeys(terms))
        core = NEED_CORE.get(need, 1)
        links = tuple(TermLink("need", need, t, "need", 1.0 if i < core else 0.5) for i, t in enumerate(terms))
        kind = "need" if need in FACTOR_NEEDS else "direction"
        facets.append(Facet(kind, need, links, " ".join(terms[:8]), FACET_WEIGHTS[kind]))
    for q in profile.qualifications:
        c = by_id.get(QUALIFICATION_CONCEPTS.get(q, ""))
        bare = [q[:-2]] if q.endswith("企业") and len(q) >= 4 else []  # 中小企业 → also 中小(微)企业
        terms = list(dict.fromkeys([q, *bare, *((c.term, *c.aliases) if c else ())]))
        links = tuple(TermLink("qualification", q, t, "qualification", 1.0) for t in terms)
        facets.append(Facet("qualification", q, links, " ".join(terms), FACET_WEIGHTS["qualification"]))
    places = profile.place_words(home)  # home: the indexed documents' regions (``Profile.place_words``)
    if places:
        label = profile.district or profile.city
        links = tuple(TermLink("location", label, p, "place", 1.0) for p in places) + \
            tuple(TermLink("location", label, p, "place", REGION_WEIGHT) for p in profile.region_words())
        facets.append(Facet("location", label, links, " ".join(places), FACET_WEIGHTS["location"]))
    return facets
