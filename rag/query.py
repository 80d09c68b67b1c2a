"""Query planning: from a question to what the retrievers search for.

* **document references** — titles, short names and document numbers from the manifest that the
  question names (normalised as in ``rag.text.normalize``); the retriever then also searches inside
  each named document, so that a question naming two documents gets passages from both;
* **scopes and sub-queries** — references the manifest does not spell out are resolved from its
  fields (``resolve_reference``): the kind word (规划/方案/意见), the five-year-plan era (十三五 from a
  2016–2020 period), the region (成都/省里), a period (2025—2027) and distinctive title words; a
  question naming two or more documents or regions gets one sub-query per scope (the question
  without the reference words), and the retriever gives each scope slots in the top k;
* **questions about a document** (issuer, number, date, period, validity, draft) are marked so that
  the document cards rank first; section headings named in the question (发展愿景) add a ranking;
* **concept expansion** — the curated policy-concept list ``corpus/concepts.json`` maps the words a
  company uses (钠离子电池, 火锅底料, 减速器) to the documents' vocabulary (新型储能, 绿色食品,
  机器人); matched concept terms are added to the lexical query and the dense query text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.text import normalize


@dataclass(frozen=True)
class Concept:
    """One entry of concepts.json: ``term`` as the documents write it, and the words that lead to it."""

    concept_id: str
    term: str
    aliases: tuple[str, ...] = ()
    company_words: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()

    def triggers(self) -> tuple[str, ...]:
        return (self.term, *self.aliases, *self.company_words)


@dataclass(frozen=True)
class ConceptMatch:
    """A concept the question triggered: ``matched`` is the question's word, ``term`` the policy term."""

    concept_id: str
    matched: str
    term: str
    expansions: tuple[str, ...]


@dataclass(frozen=True)
class Scope:
    """One document or region a question refers to, with the sub-query to search inside it.

    ``doc_ids``: the documents of the scope (one named document, the documents of one plan era, or all
    documents of one region); ``region``: set when the scope is a whole region ("四川省", "成都市");
    ``label``: the question's words that refer to it (e.g. "成都的未来产业意见"); ``tokens`` /
    ``dense_text``: the sub-query — the question without the reference words of every scope.
    """

    label: str
    doc_ids: tuple[str, ...]
    region: str | None = None
    tokens: tuple[str, ...] = ()
    dense_text: str = ""


@dataclass(frozen=True)
class QueryPlan:
    """``tokens``: lexical query (jieba tokens + expansions); ``dense_text``: text to embed;
    ``doc_ids``: documents the question names; ``concepts``: expansions that were applied;
    ``regions``: regions the question names; ``scopes``: the documents/regions a cross-document
    question compares (≥ 2 scopes → one sub-query per scope, each given slots in the top k);
    ``about_document``: the question asks about a document itself (issuer, date, number, period,
    draft, validity) — its card ranks first; ``card_doc_ids``: the documents whose cards answer it;
    ``sections``: section headings the question names (发展愿景, 保障措施), see ``named_sections``."""

    question: str
    tokens: list[str]
    dense_text: str
    doc_ids: tuple[str, ...] = ()
    concepts: tuple[ConceptMatch, ...] = field(default_factory=tuple)
    regions: tuple[str, ...] = ()
    scopes: tuple[Scope, ...] = ()
    about_document: bool = False
    card_doc_ids: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()


@lru_cache(maxsize=8)
def load_concepts(path: str) -> tuple[Concept, ...]:
    """Concepts from a concepts.json file (empty when the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return ()
    data = json.loads(p.read_text(encoding="utf-8"))
    return tuple(
        Concept(c.get("id") or c["term"], c["term"], tuple(c.get("aliases") or ()),
                tuple(c.get("company_words") or ()), tuple(c.get("broader") or ()))
        for c in data.get("concepts", [])
    )


def _contains_word(text: str, word: str) -> bool:
    """``word`` occurs in ``text``; a Latin/digit word must not be part of a longer Latin word
    (so "mr" does not match inside "mrna")."""
    if not word.isascii():
        return word in text
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None


def match_concepts(text: str, concepts: tuple[Concept, ...]) -> list[ConceptMatch]:
    """Concepts whose term, alias or company word occurs in ``text`` (normalised). A company word
    that only occurs inside a longer matched word is not counted twice; the policy term and its
    aliases are the expansions, ``broader`` terms are not (they would drift the query)."""
    norm = normalize(text).lower()
    out: list[ConceptMatch] = []
    for concept in concepts:
        best = None
        for word in concept.triggers():
            w = normalize(word).lower()
            if len(w) >= 2 and _contains_word(norm, w) and (best is None or len(w) > len(best)):
                best = word
        if best is not None:
            out.append(ConceptMatch(concept.concept_id, best, concept.term, (concept.term, *concept.aliases)))
    return out


def referenced_documents(question: str, docs: dict) -> tuple[str, ...]:
    """Ids of documents whose title, short name or document number occurs in the question."""
    norm = normalize(question)
    found = []
    for doc_id, meta in docs.items():
        names = [meta.title, *meta.short_names, meta.doc_number or ""]
        if any(len(normalize(n)) >= 4 and normalize(n) in norm for n in names if n):
            found.append(doc_id)
    return tuple(found)


def corpus_text(index) -> str:
    """All cleaned document texts and cards of the index, normalised and lower-cased (computed once
    per loaded index and kept on it)."""
    cached = getattr(index, "_corpus_text", None)
    if cached is None:
        cards = "\n".join(c.text for c in index.chunks if c.kind == "card")
        cached = normalize("\n".join([*index.doc_texts.values(), cards])).lower()
        index._corpus_text = cached
    return cached


_QUESTION_WORD = re.compile(r"[几哪啥]|多少|什么|一年|^\d+$|^[a-z0-9]+$|^[一二三四五六七八九十两]+[条个项大类家种点年]")


COMMON_WORD_FREQ = 5000  # jieba dictionary frequency from which a word counts as everyday language


def missing_terms(terms, corpus: str, covered: set[str] = frozenset()) -> list[str]:
    """Question terms the corpus cannot answer for: no two-character window of the term occurs in
    any document, it is a dictionary word (segmentation artefacts such as 谷叫 do not count), it is not
    a question word or a bare number/Latin word, and no concept expansion covers it. A question about 免租 or 咨询电话
    asks for something the documents do not contain."""
    import jieba

    out = []
    for term in terms:
        t = normalize(term).lower()
        if len(t) < 2 or term in covered or _QUESTION_WORD.search(t):
            continue
        freq = jieba.dt.FREQ.get(term, 0)
        # out-of-vocabulary pieces cut out by jieba's HMM (收要, 谷叫) and everyday words (获得, 得到)
        # say nothing about what the question needs; specific words (免租, 税率, 咨询电话) do
        if not 0 < freq < COMMON_WORD_FREQ:
            continue
        if not any(t[i:i + 2] in corpus for i in range(len(t) - 1)):
            out.append(term)
    return out


_REGION_WORDS = {"成都市": ("成都", "蓉"), "四川省": ("四川", "省里", "全省", "我省", "省级", "省方案", "省政府", "川")}


def referenced_regions(question: str) -> tuple[str, ...]:
    """Regions the question names ("四川省", "成都市"); "成都" alone does not imply 四川省."""
    q = question.replace("成都", "")  # 成都 contains no province word, but 四川 checks must not see it
    found = []
    if any(w in question for w in _REGION_WORDS["成都市"][:1]):
        found.append("成都市")
    if any(w in q for w in _REGION_WORDS["四川省"][:-1]):
        found.append("四川省")
    return tuple(found)


# --- document references and sub-queries ---------------------------------------------------
_ERA_NUMERALS = {12: "十二五", 13: "十三五", 14: "十四五", 15: "十五五"}
_DOC_KINDS = ("规划", "方案", "意见", "办法", "通知")  # what a policy title ends with
_GENERIC_KINDS = ("文件", "政策")  # refer to a document without saying which kind
_KIND_WORD = re.compile("|".join((*_DOC_KINDS, *_GENERIC_KINDS)))
_NOT_A_KIND = re.compile(r"规划期|征求意见|意见稿")  # 规划期 is a period, 征求意见稿 a status
_REF_BREAK = re.compile(r"[，,。？?！!；;：:、\s]|以及|还是|和|与|及|跟|同|在|对|从|或|比")
_YEAR_RANGE = re.compile(r"(20\d{2})\s*年?\s*[—–\-~～至到]+\s*(20\d{2})")
_QUOTES = re.compile(r"[“”\"'‘’《》〈〉]")
MAX_REFERENCE_CHARS = 16  # a document reference ("十三五那份战略性新兴产业规划") is at most this long
_COMPARISON = re.compile(r"分别|各自|各有|不同|区别|差异|异同|相比|对比|比较|两份|两个文件|二者|两者|都")
_EVOLUTION = re.compile(r"延续|演变|演进|沿革|一脉相承|一路|历次|历年|变迁|从.{0,12}到(?:现在|目前|如今|最新|今天)")
_ABOUT_DOCUMENT = re.compile(
    r"(?:哪个|哪家|什么)(?:部门|单位|机关)[、，,]?[^，。？?]{0,6}(?:发布|印发|出台|制定|编制|出的|发的)|"
    r"谁(?:发布|印发|出台|制定|编制|发的|出的)|"
    r"(?:发布|印发|发文|制定|编制)(?:单位|机关|部门)|发文字号|文号|"
    r"(?:成文|印发|发布|出台)(?:日期|时间)|什么时候(?:出|发|印|公布|制定|编制)|哪一?年(?:出|发|印|公布)|"
    r"规划期|实施期|有效期|期限|执行期|起止|哪几年|还有效|是否有效|有效吗|仍然有效|过期|到期|失效|"
    r"征求意见稿|草案|草稿|正式(?:文件|发布|印发|稿|版)|最新|最早|先后|远景")


def plan_era(meta) -> str | None:
    """The five-year-plan era of a document ("十四五"): named in its title, or derived from a stated
    period that is exactly one five-year-plan period (2016–2020 the 13th, 2021–2025 the 14th)."""
    for era in _ERA_NUMERALS.values():
        if era in meta.title:
            return era
    ps, pe = meta.period_start, meta.period_end
    if ps and pe and pe - ps == 4 and (ps - 2016) % 5 == 0:
        return _ERA_NUMERALS.get(13 + (ps - 2016) // 5)
    return None


@dataclass(frozen=True)
class DocumentCues:
    """What a question may call a document by, all from its manifest entry: ``names`` (title and
    short names, normalised, quotes removed), ``kinds`` (规划/方案/意见… its title uses), ``era``
    (十三五/十四五), ``region`` and its bare name (四川, 成都), ``level_char`` (省/市), ``period``."""

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
        names = "|".join(_QUOTES.sub("", normalize(n)) for n in (m.title, *m.short_names) if n)
        title = re.sub(r"[(（][^)）]*[)）]", "", _QUOTES.sub("", normalize(m.title)))
        region_name = m.region[:-1] if m.region and m.region[-1] in "省市" else m.region
        out.append(DocumentCues(doc_id, names, tuple(k for k in _DOC_KINDS if k in title), plan_era(m),
                                m.region, region_name, (m.level or "")[:1] or None,
                                (m.period_start, m.period_end)))
    return tuple(out)


def _topic_words(cues: tuple[DocumentCues, ...], tokenizer) -> tuple[str, ...]:
    """Words of the documents' names that tell documents apart (高新技术, 制造业, 未来产业): in the
    names of at most half of the documents, and no region, era or kind word."""
    vocab = {w for c in cues for w in tokenizer.tokens(c.names.replace("|", " "))}
    fixed = {*_ERA_NUMERALS.values(), *_DOC_KINDS}
    for c in cues:
        fixed.update(x for x in (c.region, c.region_name) if x)
    return tuple(sorted(w for w in vocab if len(w) >= 2 and not w.isdigit()
                        and not any(f in w or w in f for f in fixed)
                        and 2 * sum(w in c.names for c in cues) <= len(cues)))


def _mention_region(mention: str, cues: tuple[DocumentCues, ...]) -> str | None:
    """The region a reference names: its bare name or alias (成都, 蓉, 四川), else 省/市."""
    found = {r for r, words in _REGION_WORDS.items() for w in words[:-1] if w in mention}
    found |= {c.region for c in cues if c.region_name and c.region_name in mention}
    if not found:
        found = {c.region for c in cues if c.level_char and c.level_char in mention.replace("成都市", "")}
    return found.pop() if len(found) == 1 else None


def resolve_reference(mention: str, cues: tuple[DocumentCues, ...], topics: tuple[str, ...]) -> tuple[str, ...]:
    """Documents a reference such as "成都的未来产业意见", "十三五那份规划", "省方案" or "2025—2027年"
    denotes: those consistent with its kind, era, region and years, and among them those whose
    names share most of its topic words. () when the reference has none of these cues."""
    kind = next((k for k in _DOC_KINDS if mention.endswith(k)), None)
    era = next((e for e in _ERA_NUMERALS.values() if e in mention), None)
    years = _YEAR_RANGE.search(mention)
    period = (int(years.group(1)), int(years.group(2))) if years else None
    region = _mention_region(mention, cues)
    words = [w for w in topics if w in mention]
    if not (era or period or region or words):
        return ()
    found = [c for c in cues if (kind is None or kind in c.kinds) and (era is None or c.era == era)
             and (region is None or c.region == region) and (period is None or c.period == period)]
    if words:
        score = {c.doc_id: sum(w in c.names for w in words) for c in found}
        best = max(score.values(), default=0)
        if best:
            found = [c for c in found if score[c.doc_id] == best]
        elif not (era or period or region):
            return ()
    return tuple(c.doc_id for c in found)


def reference_mentions(question: str) -> list[tuple[int, int]]:
    """Spans of ``question`` that refer to a document: the words before a kind word (规划, 方案,
    意见, 文件…) back to the previous separator (，和 与 在…), at most ``MAX_REFERENCE_CHARS``; a
    five-year-plan era (十三五) or a year range (2025—2027) elsewhere is a reference of its own."""
    spans: list[tuple[int, int]] = []
    floor = 0
    for m in _KIND_WORD.finditer(question):
        if any(n.start() <= m.start() < n.end() for n in _NOT_A_KIND.finditer(question)):
            continue
        lo = max(floor, m.start() - MAX_REFERENCE_CHARS)
        start = lo
        for b in _REF_BREAK.finditer(question, lo, m.start()):
            start = b.end()
        if start < m.start() or m.group() in _GENERIC_KINDS:
            spans.append((start, m.end()))
            floor = m.end()
    extra = [(m.start(), m.end()) for era in _ERA_NUMERALS.values() for m in re.finditer(era, question)]
    extra += [(m.start(), m.end()) for m in _YEAR_RANGE.finditer(question)]
    extra = [(_region_before(question, a), b) for a, b in extra]  # "成都十四五" names the region too
    spans += [(a, b) for a, b in extra if not any(s <= a and b <= e for s, e in spans)]
    return sorted(spans)


_REGION_PREFIX = re.compile(r"(?:" + "|".join(sorted({w for ws in _REGION_WORDS.values() for w in ws[:-1]}, key=len,
                                                       reverse=True)) + r"|省|市)的?$")


def _region_before(question: str, start: int) -> int:
    """``start`` moved back over a region word right before it (成都十四五 → 成都)."""
    m = _REGION_PREFIX.search(question[:start])
    return m.start() if m else start


def _name_in(question: str, meta) -> str:
    """The longest title, short name or document number of ``meta`` written as such in ``question``."""
    names = [n for n in (meta.title, *meta.short_names, meta.doc_number or "") if n and n in question]
    return max(names, key=len, default="")


def document_scopes(question: str, index) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(reference words, doc_ids)`` of each document reference of ``question`` (see
    ``reference_mentions`` / ``resolve_reference``), plus exact titles, short names and document
    numbers; equal sets are merged, and a set that contains a narrower one is dropped."""
    cached = getattr(index, "_document_cues", None)
    if cached is None:
        cues = document_cues(index.docs)
        cached = index._document_cues = (cues, _topic_words(cues, index.tokenizer))
    cues, topics = cached
    found: dict[tuple[str, ...], str] = {}
    for a, b in reference_mentions(question):
        ids = resolve_reference(question[a:b], cues, topics)
        if ids:
            found.setdefault(ids, question[a:b])
    for doc_id in referenced_documents(question, index.docs):
        found.setdefault((doc_id,), _name_in(question, index.docs[doc_id]))
    return tuple((label, ids) for ids, label in found.items()
                 if not any(set(o) < set(ids) for o in found))


def is_comparison(question: str) -> bool:
    """The question compares (分别, 各自, 有什么不同, 相比, 对比, 都…); 成都/都市 are not 都."""
    return _COMPARISON.search(question.replace("成都", "").replace("都市", "")) is not None


def asks_about_document(question: str) -> bool:
    """The question asks about a document itself: issuer, number, date, period, validity, draft."""
    return _ABOUT_DOCUMENT.search(question) is not None


def _scopes(question: str, index, regions: tuple[str, ...]) -> list[Scope]:
    """The scopes a question refers to (documents first, then whole regions) — see QueryPlan."""
    refs = document_scopes(question, index)
    region_docs = {r: tuple(d for d, m in index.docs.items() if m.region == r) for r in regions}
    if len(regions) == 1:  # "四川…十四五规划": the era's documents of the named region only
        only = set(region_docs[regions[0]])
        refs = tuple((label, tuple(d for d in ids if d in only) or ids) for label, ids in refs)
    scopes = [Scope(label, ids) for ids, label in {ids: label for label, ids in reversed(refs)}.items()]
    if len(scopes) < 2 and _EVOLUTION.search(question):  # "从十三五到现在一路延续": every document
        docs = [d for d, m in index.docs.items() if not regions or m.region in regions]
        return [Scope(index.docs[d].title, (d,)) for d in docs]
    if len(regions) > 1 or is_comparison(question):
        for r in regions:
            if region_docs[r] and not any(set(s.doc_ids) <= set(region_docs[r]) for s in scopes):
                scopes.append(Scope(r, region_docs[r], r))
    return scopes


def _sub_query(question: str, scopes: list[Scope]) -> str:
    """The question without the words that refer to any scope (so that a scope's search is not
    pulled towards the other document's words)."""
    out = question
    for s in sorted(scopes, key=lambda s: -len(s.label)):
        if s.label:
            out = out.replace(s.label, " ")
    for r, words in _REGION_WORDS.items():
        if any(s.region == r for s in scopes):
            for w in sorted(words[:-1], key=len, reverse=True):
                out = out.replace(w, " ")
    return out


_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}[.．、]|专栏\s*\d{1,2})\s*")
MIN_SECTION_CHARS = 4


def section_labels(section: str) -> list[str]:
    """The headings of a section path without their numbering ("一、规划背景 › （一）发展基础" →
    ["规划背景", "发展基础"]), normalised."""
    return [normalize(_NUMBERING.sub("", part)) for part in section.split(" › ") if part]


def named_sections(question: str, index) -> tuple[str, ...]:
    """Section headings (≥ MIN_SECTION_CHARS characters, numbering removed) that occur verbatim in
    the question — "发展愿景分了哪两个时间段" names the section 发展愿景."""
    labels = getattr(index, "_section_labels", None)
    if labels is None:
        labels = {lab for c in index.chunks for lab in section_labels(c.section) if len(lab) >= MIN_SECTION_CHARS}
        index._section_labels = labels = tuple(sorted(labels, key=len, reverse=True))
    norm = normalize(question)
    return tuple(lab for lab in labels if lab in norm)


def plan_query(question: str, index, settings) -> QueryPlan:
    """Build the QueryPlan of ``question`` over a loaded index (see module docstring)."""
    tokens = index.tokenizer.tokens(question)
    dense_text = question
    matches: list[ConceptMatch] = []
    extra: list[str] = []
    if settings.use_concepts:
        matches = match_concepts(question, load_concepts(str(Path(settings.corpus_dir) / "concepts.json")))
        corpus = corpus_text(index)
        for m in matches:
            # expand only the company's words that the documents do not use themselves
            if normalize(m.matched).lower() not in corpus and normalize(m.term) not in normalize(question):
                extra.extend(m.expansions[:3])
        for word in extra:
            tokens.extend(index.tokenizer.tokens(word))
        if extra:
            dense_text = question + " " + " ".join(extra)
    if not settings.use_doc_routing:
        return QueryPlan(question, tokens, dense_text, (), tuple(matches), ())
    regions = referenced_regions(question)
    scopes = _scopes(question, index, regions)
    doc_ids = tuple(dict.fromkeys(d for s in scopes if s.region is None for d in s.doc_ids))
    if scopes:
        sub = _sub_query(question, scopes)
        sub_tokens = index.tokenizer.tokens(sub) + [t for w in extra for t in index.tokenizer.tokens(w)]
        if sub_tokens:
            scopes = [Scope(s.label, s.doc_ids, s.region, tuple(sub_tokens), " ".join([sub, *extra]))
                      for s in scopes]
    about = asks_about_document(question)
    cards = ()
    if about:
        cards = tuple(dict.fromkeys(d for s in scopes for d in s.doc_ids))
        if not cards:
            cards = tuple(d for d, m in index.docs.items() if not regions or m.region in regions)
    return QueryPlan(question, tokens, dense_text, doc_ids, tuple(matches), regions, tuple(scopes), about, cards,
                     named_sections(question, index))
