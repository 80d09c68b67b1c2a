"""Document references: which documents and regions a question refers to, from manifest fields.

* ``referenced_documents`` — exact titles, short names and document numbers in the question;
* ``referenced_regions`` — regions the question names as such (某市, 省里, 某省); "省级" and "全省"
  describe a level or an extent (省级绿色工厂, 全省营收) and do not name the province;
* ``reference_mentions`` / ``resolve_reference`` — references the manifest does not spell out
  ("某市的未来产业意见", "十一五那份规划", "省方案", "2025—2027年"), resolved from each document's
  ``DocumentCues`` (kind word, five-year-plan era, region, period, distinctive title words);
* ``document_scopes`` — ``(reference words, doc_ids)`` of every reference of a question;
* ``missing_document`` — a question about a document that does not exist (a topic of one document
  with another five-year-plan era: "十二五战略性新兴产业发展规划" when only a 十一五 one exists);
* ``unmatched_document`` — a question naming a document of a place by topic words that no indexed
  document of that place has in its name ("重庆市的生活垃圾分类条例" when the 重庆市 documents are
  安全生产/消防… regulations): no indexed document is that one;
* ``is_comparison`` — whether the question compares jurisdictions or documents.

Exact names and regions (``referenced_documents``, ``referenced_regions``, ``region_words``, level words)
live in ``rag.understand.regions``, repealed titles (``repealed_titles``, ``RepealData``, ``title_key``) in
``rag.understand.repeals``; both are re-exported here.

All functions are pure (the index is only read; ``document_scopes`` caches the cues on it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.understand.eras import FIRST_ERA, LAST_ERA, era_in, era_name, era_of_period, eras_in
from rag.ingest.metadata import bare_region
from rag.text import normalize
from rag.types import DerivedData, locked_cached_property
from rag.understand.regions import (LEVEL_WORDS, _ATTRIBUTE_WORDS, _DOC_KINDS, _KIND_AFTER,  # noqa: F401  (re-exported)
                                    _LEVEL_RANK, _NAMES_CACHE, _NAMES_LOCK, _NOT_A_CITY_WORD, _QUOTES,
                                    _SPECIAL_ZONE, _docs_lookup, _level_rank, _masked, _place_spans,
                                    derived_names, indexed_regions, level_region, referenced_documents,
                                    referenced_regions, region_names, region_words)
from rag.understand.repeals import (MIN_TITLE_PHRASE, RepealData, _QUOTED_TITLE, _REPEALS,  # noqa: F401  (re-exported)
                                    _SENTENCE, _TITLE_KIND, repealed_titles, title_key)


# --- document references and sub-queries ---------------------------------------------------
_GENERIC_KINDS = ("文件", "政策")  # refer to a document without saying which kind
_KIND_WORD = re.compile("|".join((*_DOC_KINDS, *_GENERIC_KINDS)))
# 规划期 is a period, 征求意见稿 a status; 有什么规定/相关规定/按规定 ask about or cite a rule, not a document
_NOT_A_KIND = re.compile(r"规划期|征求意见|意见稿|(?:什么|哪些|相关|有关|的|按|照|依|该|此|等)规定")
_REF_BREAK = re.compile(r"[，,。？?！!；;：:、\s]|以及|还是|和|与|及|跟|同|在|对|从|或|比")
_YEAR_RANGE = re.compile(r"(20\d{2})\s*年?\s*[—–\-~～至到]+\s*(20\d{2})")
MAX_REFERENCE_CHARS = 16  # a document reference ("十一五那份战略性新兴产业规划") is at most this long
_COMPARISON = re.compile(r"分别|各自|各有|不同|不一样|一致|区别|差异|异同|相比|对比|比较|两份|两个文件|二者|两者|都"
                         r"|哪个(?:先|早|晚|更)")
_EVOLUTION = re.compile(r"延续|演变|演进|沿革|一脉相承|一路|历次|历年|变迁|从.{0,12}到(?:现在|目前|如今|最新|今天)")


def plan_era(meta) -> str | None:
    """The five-year-plan era of a document ("十二五", ``rag.understand.eras``): named in its title, or derived from
    a stated period that is exactly one five-year-plan period (2011–2015 the 12th)."""
    return era_in(meta.title or "") or era_of_period(meta.period_start, meta.period_end)


@dataclass(frozen=True)
class DocumentCues:
    """What a question may call a document by, all from its manifest entry: ``names`` (title and
    short names, normalised, quotes removed), ``kinds`` (规划/方案/意见… its title uses), ``era``
    (十一五/十二五, ``rag.understand.eras``), ``region`` and its bare name (某省 → 某, 某某市 → 某某), ``level_char`` (省/市), ``period``."""

    doc_id: str
    names: str
    kinds: tuple[str, ...]
    era: str | None
    region: str | None
    region_name: str | None
    level_char: str | None
    period: tuple[int | None, int | None]


def document_cues(docs: dict) -> tuple[DocumentCues, ...]:
    """``DocumentCues`` of every document of ``docs`` (doc_id → DocumentMeta)."""
    out = []
    for doc_id, m in docs.items():
        names = "|".join(_QUOTES.sub("", normalize(n)) for n in (m.title, *m.short_names, *derived_names(m)) if n)
        title = re.sub(r"[(（][^)）]*[)）]", "", _QUOTES.sub("", normalize(m.title)))
        region_name = bare_region(m.region)
        out.append(DocumentCues(doc_id, names, tuple(k for k in _DOC_KINDS if k in title), plan_era(m),
                                m.region, region_name, (m.level or "")[:1] or None,
                                (m.period_start, m.period_end)))
    return tuple(out)


def _topic_words(cues: tuple[DocumentCues, ...], tokenizer) -> tuple[str, ...]:
    """Words of the documents' names that tell documents apart (高新技术, 制造业, 未来产业): in the
    names of at most half of the documents, and no region, era or kind word."""
    vocab = {w for c in cues for w in tokenizer.tokens(c.names.replace("|", " "))}
    fixed = {*(era_name(n) for n in range(FIRST_ERA, LAST_ERA + 1)), *_DOC_KINDS}
    for c in cues:
        fixed.update(x for x in (c.region, c.region_name) if x)
    shared = _names_containing(vocab, cues)
    return tuple(sorted(w for w in vocab if len(w) >= 2 and not w.isdigit()
                        and not any(f in w or w in f for f in fixed)
                        and 2 * shared[w] <= len(cues)))


def _names_containing(words, cues: tuple[DocumentCues, ...]) -> dict[str, int]:
    """word → number of ``cues`` whose names contain it (one Aho–Corasick pass over each document's names,
    not words × documents substring tests)."""
    import ahocorasick

    counts = dict.fromkeys(words, 0)
    automaton = ahocorasick.Automaton()
    for w in counts:
        if w:
            automaton.add_word(w, w)
    if not len(automaton):
        return counts
    automaton.make_automaton()
    for c in cues:
        for w in {w for _, w in automaton.iter(c.names)}:
            counts[w] += 1
    return counts


def _mention_region(mention: str, cues: tuple[DocumentCues, ...]) -> str | None:
    """The region a reference names: a document region's full or bare name (某某省, 某某), else the
    level character 省/市 outside any region name (省方案 → the documents of level 省级)."""
    found = {c.region for c in cues if c.region and c.region in mention}
    found |= {c.region for c in cues if c.region_name and c.region_name in mention}
    if not found:
        rest = mention
        for name in sorted({c.region for c in cues if c.region}, key=len, reverse=True):
            rest = rest.replace(name, "")
        found = {c.region for c in cues if c.level_char and c.level_char in rest}
    return found.pop() if len(found) == 1 else None


def _mention_cues(mention: str, topics: tuple[str, ...]) -> tuple[str | None, str | None, list[str]]:
    """The kind word a reference ends with (规划/方案…), the five-year-plan era it names (十一五) and its
    topic words (``_topic_words``), each None/[] when absent."""
    kind = next((k for k in _DOC_KINDS if mention.endswith(k)), None)
    era = era_in(mention)
    return kind, era, [w for w in topics if w in mention]


def resolve_reference(mention: str, cues: tuple[DocumentCues, ...], topics: tuple[str, ...]) -> tuple[str, ...]:
    """Documents a reference such as "某市的未来产业意见", "十一五那份规划", "省方案" or "2025—2027年"
    denotes: those consistent with its kind, era, region and years, and among them those whose
    names share most of its topic words — or, when no name shares one, whose names hold the rest of the
    reference as an abbreviation (青岛科创条例 → 科技创新促进条例, ``_abbreviated_names``); 最新/最早 keeps
    the one(s) whose period starts latest/earliest. () when the reference has none of these cues."""
    kind, era, words = _mention_cues(mention, topics)
    best = 0
    years = _YEAR_RANGE.search(mention)
    period = (int(years.group(1)), int(years.group(2))) if years else None
    region = _mention_region(mention, cues)
    if not (era or period or region or words):
        return ()
    if region and words and unmatched_region(mention, cues, topics):
        return ()  # a place's document on a topic none of its documents has: no document, not all of them
    found = [c for c in cues if (kind is None or kind in c.kinds) and (era is None or c.era == era)
             and (region is None or c.region == region) and (period is None or c.period == period)]
    if words:
        score = {c.doc_id: sum(w in c.names for w in words) for c in found}
        best = max(score.values(), default=0)
        if best:
            found = [c for c in found if score[c.doc_id] == best]
        elif not (era or period or region):
            return ()
        elif region and not _abbreviated_names(mention, found, cues):
            # no document of its kind and place: one of another kind word (广东省消防条例: 实施消防法办法)
            # or whose region was read otherwise — after an abbreviation of its kind (上海科技条例)
            local = [c for c in _local_cues(region, cues)
                     if (era is None or c.era == era) and (period is None or c.period == period)]
            found = _topic_leaders(local, words) or found
    if not words or not best:  # "青岛科创条例": the rest of the reference may abbreviate a name (科技创新促进条例)
        found = _abbreviated_names(mention, found, cues) or found
    dated = [c for c in found if c.period[0]]
    if len(found) > 1 and dated and ("最新" in mention or "最早" in mention):  # 最新省方案: the latest start
        pick = (max if "最新" in mention else min)(c.period[0] for c in dated)
        found = [c for c in dated if c.period[0] == pick]
    return tuple(c.doc_id for c in found)


_REFERENCE_FILLER = re.compile(r"[的那这该此份个部项]|现行|最新|旧版|新版|原来")  # words around a name in a reference
MAX_NAME_GAP = 5  # characters of a name between two characters of its abbreviation (科技创新: 科 +2 创)


def _abbreviated_names(mention: str, found: list, cues: tuple[DocumentCues, ...]) -> list:
    """The documents of ``found`` whose names hold the rest of ``mention`` — without region names, kind
    words, eras, years and filler words — as an abbreviation: its 2–4 characters in order, each within
    ``MAX_NAME_GAP`` characters of the previous one ("青岛科创条例" → 科技创新促进条例). [] when the rest
    is no such abbreviation, or every or no document of ``found`` holds it."""
    pattern = _abbreviation(mention, cues)
    if pattern is None or len(found) < 2:
        return []
    hits = [c for c in found if pattern.search(c.names)]
    return hits if len(hits) < len(found) else []


def _reference_rest(mention: str, cues: tuple[DocumentCues, ...]) -> str:
    """``mention`` without region names, kind words, eras, years, filler words and non-Han characters:
    the words that say which document of a place it is ("青岛科创条例" → 科创)."""
    rest = mention
    for name in sorted({n for c in cues for n in (c.region, c.region_name) if n}, key=len, reverse=True):
        rest = rest.replace(name, "")
    rest = _YEAR_RANGE.sub("", rest)
    for a, b, _era in reversed(eras_in(rest)):
        rest = rest[:a] + rest[b:]
    rest = _REFERENCE_FILLER.sub("", _KIND_WORD.sub("", rest))
    return re.sub(r"[^\u4e00-\u9fff]", "", rest)


def _abbreviation(mention: str, cues: tuple[DocumentCues, ...]) -> re.Pattern | None:
    """The pattern a name holding the rest of ``mention`` (``_reference_rest``) as an abbreviation matches:
    its 2–4 characters in order, each within ``MAX_NAME_GAP`` characters of the previous one; None when
    the rest is shorter or longer."""
    rest = _reference_rest(mention, cues)
    if not 2 <= len(rest) <= 4:
        return None
    return re.compile(re.escape(rest[0]) + "".join(f"[\u4e00-\u9fff]{{0,{MAX_NAME_GAP}}}?{re.escape(ch)}"
                                                   for ch in rest[1:]))


def unmatched_region(mention: str, cues: tuple[DocumentCues, ...], topics: tuple[str, ...]) -> str | None:
    """The region of a reference that names a document of one place by topic words (``_topic_words``:
    words of the indexed names) of which no name of that place's documents (``_local_cues``) holds
    ``MIN_TOPIC_SHARE`` of the weight — each word weighing log((N+1)/(n+1)), n of the N names holding it —
    nor holds the rest of the reference as an abbreviation (非遗 → 非物质文化遗产 is expanded before; 科创 →
    科技创新促进): "重庆市的生活垃圾分类条例" when the 重庆市 documents are 安全生产, 志愿服务, 消防 and
    非物质文化遗产 regulations; "广州的物业管理条例" when only 社会急救医疗管理条例 shares a word (管理).
    None when the reference names no single place or no topic word, or a document of the place shares
    them (whatever its kind word or era: 重庆消防办法 may mean 重庆市消防条例)."""
    # (经济特区 belongs to the place, as in derived names: 深圳经济特区数据条例 → 深圳数据条例)
    _kind, _era, words = _mention_cues(re.sub(r"经济特区|特区", "", mention), topics)
    region = _mention_region(mention, cues) if words else None
    if not region:
        return None
    local = _local_cues(region, cues)
    if not local:
        return None
    # each word weighs by how few names hold it (log N/n): 物业管理条例 is not matched by 急救医疗管理条例
    # through 管理 alone, 生活垃圾分类条例 is by 生活垃圾管理条例
    holders = _names_containing(words, cues)
    weight = {w: math.log((len(cues) + 1) / (holders[w] + 1)) + 1e-9 for w in words}
    total = sum(weight.values())
    if any(sum(weight[w] for w in words if w in c.names) >= MIN_TOPIC_SHARE * total for c in local):
        return None
    pattern = _abbreviation(mention, cues)
    if pattern is not None and any(pattern.search(c.names) for c in local):
        return None
    return region


MIN_TOPIC_SHARE = 0.5  # share of a reference's topic-word weight a name of its place must hold to match it


def _local_cues(region: str, cues: tuple[DocumentCues, ...]) -> list[DocumentCues]:
    """The cues of the documents of ``region``: its region, or a name that starts with the region's full or
    bare name (a city's regulation approved by the province may be read as the province's)."""
    bare = bare_region(region) or region
    return [c for c in cues if c.region == region
            or any(n.startswith((region, bare)) for n in c.names.split("|"))]


def _topic_leaders(local: list[DocumentCues], words: list[str]) -> list[DocumentCues]:
    """The cues of ``local`` whose names share most of ``words`` (at least one); [] when none shares one."""
    score = {c.doc_id: sum(w in c.names for w in words) for c in local}
    best = max(score.values(), default=0)
    return [c for c in local if best and score[c.doc_id] == best]


@dataclass(frozen=True)
class UnmatchedReference:
    """A document a question names that no indexed document matches (``unmatched_document``):
    ``mention``, the question's words naming it ("重庆市的生活垃圾分类条例"); ``region``, the place it
    names; ``suggestions``, the titles of that place's indexed documents, closest first (characters shared
    with the mention), at most ``MAX_SUGGESTIONS``."""

    mention: str
    region: str
    suggestions: tuple[str, ...]

    @property
    def reason(self) -> str:
        """One Chinese line stating that no indexed document matches, with the place's titles."""
        titles = "".join(f"《{t}》" for t in self.suggestions)
        return (f"已收录的文件中没有与“{self.mention}”相符的文件"
                + (f"；{self.region}已收录的文件有：{titles}。" if titles else "。"))


MAX_SUGGESTIONS = 5  # titles of the named place's documents listed with an unmatched reference


def unmatched_document(question: str, index) -> UnmatchedReference | None:
    """The first document reference of ``question`` (``reference_mentions``) that names a document of a
    place by topic words no indexed document of that place has in its name (``unmatched_region``), and
    that no title, short name or document number of the question names exactly; None otherwise.
    ``index``: the loaded index (``docs``, ``tokenizer``; the cues are cached on it)."""
    cues, topics = _cues(index)
    if referenced_documents(question, index.docs):
        return None
    for a, b in reference_mentions(question):
        mention = question[a:b]
        region = unmatched_region(mention, cues, topics)
        if region:
            chars = set(_reference_rest(mention, cues))
            titles = list(dict.fromkeys(index.docs[c.doc_id].title for c in _local_cues(region, cues)
                                        if index.docs[c.doc_id].title))
            titles.sort(key=lambda t: -len(chars & set(t)))  # stable: ties keep the index order
            return UnmatchedReference(mention, region, tuple(titles[:MAX_SUGGESTIONS]))
    return None


_ERA_AS_TIME = re.compile(r"十[一二三四五六七八九]五[”\"]?(?:期间|时期|以来|末|初|中)")  # a time ("十一五期间"), not a document's era


def era_conflict(mention: str, cues: tuple[DocumentCues, ...], topics: tuple[str, ...]) -> str | None:
    """The id of the document a reference names by its topic words but with another five-year-plan
    era, when no document has both: "十二五战略性新兴产业发展规划" names the topic of the 十一五
    战略性新兴产业发展规划, and the corpus has no 十二五 one. None when the reference has no era and
    kind word, no topic word, when the era is a time ("十一五期间…规划目标完成得怎么样" asks about the
    period), when a document of its era shares the topic, or when the topic's best document states
    no era (a 2025—2027 方案 may be meant by any era)."""
    kind, era, words = _mention_cues(mention, topics)
    if not (kind and era and words) or _ERA_AS_TIME.search(mention):
        return None
    score = {c.doc_id: sum(w in c.names for w in words) for c in cues if kind in c.kinds}
    best = max(score.values(), default=0)
    if not best:
        return None
    leaders = [c for c in cues if score.get(c.doc_id) == best]
    if any(c.era == era for c in leaders) or any(c.era is None for c in leaders):
        return None
    return leaders[0].doc_id


def missing_document(question: str, index) -> tuple[str, str] | None:
    """``(era, doc_id)`` when the question's first document reference — the document it asks
    about — names a document of another era (``era_conflict``): that document does not exist,
    ``doc_id`` is the one with its topic. A later reference ("十二五规划里怎么评价十一五高新技术
    产业规划") is something the first document discusses. None otherwise."""
    cues, topics = _cues(index)
    mentions = reference_mentions(question)
    if not mentions:
        return None
    mention = question[slice(*mentions[0])]
    doc_id = era_conflict(mention, cues, topics)
    return (_mention_cues(mention, topics)[1], doc_id) if doc_id else None


class ReferenceData(DerivedData):
    """What reference resolution derives from one index (``index``: needs ``docs`` and ``tokenizer``),
    built on first use and kept: ``cues`` = (``document_cues(index.docs)``, their topic words)."""

    @locked_cached_property
    def cues(self):
        cues = document_cues(self.index.docs)
        return cues, _topic_words(cues, self.index.tokenizer)


def _cues(index):
    """``ReferenceData.cues`` of ``index``."""
    return ReferenceData.of(index).cues


def kind_words(question: str) -> list[re.Match]:
    """The kind words of ``question`` (条例, 规定, 方案, 文件 …: ``_KIND_WORD``) that name a document — not those
    of 规划期, 征求意见稿, 按规定, 有什么规定 (``_NOT_A_KIND``), in question order."""
    return [m for m in _KIND_WORD.finditer(question)
            if not any(n.start() <= m.start() < n.end() for n in _NOT_A_KIND.finditer(question))]


def reference_mentions(question: str) -> list[tuple[int, int]]:
    """Spans of ``question`` that refer to a document: the words before a kind word (规划, 方案,
    意见, 文件…) back to the previous separator (，和 与 在…), at most ``MAX_REFERENCE_CHARS``; a
    five-year-plan era (十一五) or a year range (2025—2027) elsewhere is a reference of its own."""
    spans: list[tuple[int, int]] = []
    floor = 0
    for m in kind_words(question):
        lo = max(floor, m.start() - MAX_REFERENCE_CHARS)
        start = lo
        for b in _REF_BREAK.finditer(question, lo, m.start()):
            start = b.end()
        if start < m.start() or m.group() in _GENERIC_KINDS:
            spans.append((start, m.end()))
            floor = m.end()
    extra = [(a, b) for a, b, _era in eras_in(question)]
    extra += [(m.start(), m.end()) for m in _YEAR_RANGE.finditer(question)]
    extra = [(_region_before(question, a), b) for a, b in extra]  # "某市十二五" names the region too
    spans += [(a, b) for a, b in extra if not any(s <= a and b <= e for s, e in spans)]
    return sorted(spans)


_LEVEL_PREFIX = re.compile(r"(?:" + "|".join(sorted({w for ws in LEVEL_WORDS.values() for w in ws}, key=len,
                                                      reverse=True)) + r"|省|市)的?$")


def _region_before(question: str, start: int) -> int:
    """``start`` moved back over a place (gazetteer name) or level word (省里, 省, 市) right before it
    (某市十二五 → 某市)."""
    head = question[:start]
    lead = head[:-1] if head.endswith("的") else head
    for a, b in _place_spans(lead):
        if b == len(lead):
            return a
    m = _LEVEL_PREFIX.search(head)
    return m.start() if m else start


def _name_in(question: str, meta) -> str:
    """The words of ``question`` that name ``meta``: its longest title, short name or document number
    written as such; else the question's span that matches one after normalisation (NFKC, no
    whitespace — as ``referenced_documents`` compares: "成府发〔2024〕 2号"); else ``meta.title``
    (so that the reference is still a scope label)."""
    names = [n for n in (*region_names(meta), meta.doc_number or "") if n]
    exact = [n for n in names if n in question]
    if exact:
        return max(exact, key=len)
    for name in sorted((normalize(n) for n in names), key=len, reverse=True):
        span = _normalized_span(question, name) if len(name) >= 4 else None
        if span:
            return span
    return meta.title


def _normalized_span(text: str, norm_name: str) -> str | None:
    """The shortest span of ``text`` whose normalised form is ``norm_name`` (None when there is none)."""
    for start in range(len(text)):
        if text[start].isspace() or not norm_name.startswith(normalize(text[start])):
            continue
        for end in range(start + 1, len(text) + 1):
            got = normalize(text[start:end])
            if got == norm_name:
                return text[start:end]
            if not norm_name.startswith(got):
                break
    return None


def document_scopes(question: str, index) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(reference words, doc_ids)`` of each document reference of ``question`` (see
    ``reference_mentions`` / ``resolve_reference``), plus exact titles, short names and document
    numbers; equal sets are merged, and a set that contains a narrower one is dropped."""
    cues, topics = _cues(index)
    found: dict[tuple[str, ...], str] = {}
    for a, b in reference_mentions(question):
        ids = resolve_reference(question[a:b], cues, topics)
        if ids:
            found.setdefault(ids, question[a:b])
            # "北京和浙江的中医药条例": the region coordinated before the reference has its own such document
            other = _COORDINATED.search(question[max(0, a - 8):a])
            region = _mention_region(question[a:b], cues)
            if other and region:
                words = other.group(1)
                mention = re.sub(rf"^(?:{re.escape(region)}|{re.escape(bare_region(region) or region)})", words,
                                 question[a:b])
                if mention != question[a:b] and (more := resolve_reference(mention, cues, topics)) \
                        and _mention_region(mention, cues) not in (None, region):
                    found.setdefault(more, words)
    versions: dict[str, list[str]] = {}  # documents of one title (two dated versions) are one reference
    for doc_id in referenced_documents(question, index.docs):
        versions.setdefault(normalize(index.docs[doc_id].title), []).append(doc_id)
    for ids in versions.values():
        found.setdefault(tuple(ids), _name_in(question, index.docs[ids[0]]))
    return tuple((label, ids) for ids, label in found.items()
                 if not any(set(o) < set(ids) for o in found))


_COORDINATED = re.compile(r"([\u4e00-\u9fff]{2,4}?)(?:和|与|、|及|跟)$")  # "北京和" before "浙江的中医药条例"


def is_comparison(question: str) -> bool:
    """The question compares (分别, 各自, 有什么不同, 相比, 对比, 都…); the 都 of a place name (某都,
    gazetteer) or of 都市/首都 is not 都."""
    q = _masked(question, _place_spans(question)).replace("都市", "").replace("首都", "")
    return _COMPARISON.search(q) is not None
