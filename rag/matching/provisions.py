"""The records a policy match produces and the caveats (flags) of a provision's document.

``Flag`` (plain-language caveat), ``TermLink`` (one step from a company word to the documents'
vocabulary), ``Facet`` (a profile fact to match), ``Provision`` and ``MatchResult`` (the output), and
``document_flags`` / ``document_status`` (jurisdiction, ended plan, repealed, draft on a given day),
``in_force_tier`` and ``display_order`` (documents in force first; consecutive numbering in display order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rag.matching.profile import Profile
from rag.text import normalize
from rag.types import Chunk, DocumentMeta

KIND_LABELS = {"product": "产品", "industry": "行业", "need": "需求", "direction": "需求", "qualification": "资质",
               "location": "所在地"}


@dataclass(frozen=True)
class Flag:
    """A plain-language caveat of a provision's document. ``code``: "only_city" | "only_province" |
    "repealed" | "expired" | "not_started" | "draft"; ``text``: what the user reads, e.g.
    "仅适用于某某市", "规划期已结束（2021—2025年）"."""

    code: str
    text: str


@dataclass(frozen=True)
class TermLink:
    """One way a profile fact reaches the documents' vocabulary.

    ``via``: "literal" (the word itself), "concept" (term/alias of a concept it triggers), "broader"
    (a concept's broader term), "part" (a word inside it), "need", "qualification", "place";
    ``weight`` in (0, 1].
    """

    kind: str
    word: str
    term: str
    via: str
    weight: float
    concept_id: str | None = None
    concept_term: str | None = None  # the concept's own term when ``term`` is one of its aliases

    def mapping(self) -> str:
        """The word → vocabulary step itself: 产品“钠离子电池”→政策术语“新型储能”."""
        label = KIND_LABELS.get(self.kind, self.kind)
        target = self.concept_term or self.term
        if self.via == "concept":
            return f"{label}“{self.word}”→政策术语“{target}”"
        if self.via == "broader":
            return f"{label}“{self.word}”→上位术语“{target}”"
        if self.via == "part":
            return f"{label}“{self.word}”→条文词语“{self.term}”"
        if self.via == "place":
            return f"{label}“{self.word}”→条文提及“{self.term}”"
        if self.via == "literal":
            return f"{label}“{self.word}”"
        return f"{label}“{self.word}”→“{self.term}”"

    def reason(self) -> str:
        """Why a passage matches through this link, naming the word the passage uses."""
        label = KIND_LABELS.get(self.kind, self.kind)
        if self.via == "literal" or normalize(self.term) == normalize(self.word):
            return f"{label}“{self.word}”在条文中直接出现"
        if self.via in ("concept", "broader") and normalize(self.word) == normalize(self.concept_term or ""):
            return f"{label}“{self.word}”（条文用语“{self.term}”）"
        if self.via in ("concept", "broader") and self.concept_term and self.concept_term != self.term:
            return f"{self.mapping()}（条文用语“{self.term}”）"
        return self.mapping()

    def to_json(self) -> dict:
        """{"kind", "word", "term", "via", "concept_id"}; ``term`` is the concept's term for concept links."""
        return {"kind": self.kind, "word": self.word, "term": self.concept_term or self.term, "via": self.via,
                "concept_id": self.concept_id}


@dataclass(frozen=True)
class Facet:
    """A profile fact to match: ``links`` to look for, ``query`` for the retriever, facet ``weight``."""

    kind: str
    label: str
    links: tuple[TermLink, ...]
    query: str
    weight: float


@dataclass(frozen=True)
class Provision:
    """One matched provision: ``quote`` is verbatim ``chunk.text`` (a span of whole sentences)."""

    rank: int
    chunk: Chunk
    meta: DocumentMeta
    quote: str
    reasons: tuple[str, ...]
    flags: tuple[Flag, ...]
    status: str
    score: float

    @property
    def jurisdiction(self) -> str:
        if self.meta.region and self.meta.level:
            return f"{self.meta.region}（{self.meta.level}）"
        return self.meta.region or self.meta.level or "未注明"

    def to_json(self) -> dict:
        """{"rank", "doc_id", "title", "section", "quote", "reasons", "jurisdiction", "period", "status", "flags"}."""
        return {"rank": self.rank, "doc_id": self.meta.doc_id, "title": self.meta.title,
                "section": self.chunk.section, "quote": self.quote, "reasons": list(self.reasons),
                "jurisdiction": self.jurisdiction, "period": self.meta.period_label() or "未注明",
                "status": self.status, "flags": [f.text for f in self.flags]}


@dataclass(frozen=True)
class MatchResult:
    """Provisions in display order (``rank`` 1…k, see ``display_order``: grouped by document, documents in
    force first, best first within each group); ``mapping``: the links of the profile that were used
    (found in at least one chosen provision); ``summary_mode``: "llm" or "template"."""

    profile: Profile
    provisions: tuple[Provision, ...]
    summary: str
    mapping: tuple[TermLink, ...] = ()
    summary_mode: str = "template"
    today: date | None = None

    def by_document(self) -> list[tuple[DocumentMeta, list[Provision]]]:
        """Provisions grouped by document, in display order (the groups hold consecutive ranks)."""
        groups: dict[str, tuple[DocumentMeta, list[Provision]]] = {}
        for p in self.provisions:
            groups.setdefault(p.meta.doc_id, (p.meta, []))[1].append(p)
        return list(groups.values())

    def to_json(self) -> dict:
        """{"profile", "summary", "provisions": [PROVISION], "mapping": [{"kind","word","term","via","concept_id"}]}."""
        return {"profile": self.profile.to_json(), "summary": self.summary,
                "provisions": [p.to_json() for p in self.provisions],
                "mapping": [m.to_json() for m in self.mapping]}


# --- flags -------------------------------------------------------------------------------------------
def is_city_region(region: str | None) -> bool:
    """True for a jurisdiction below a province — a prefecture ("某某市", "某某自治州") or a county — by
    the gazetteer (a municipality such as 重庆市 counts as a province); else the old rule of thumb for
    names the gazetteer lacks (ends with 市/州). False for a province or unknown."""
    if not region:
        return False
    from rag.ingest.metadata import _place_index

    places = _place_index()[0].get(region, [])
    if places:
        return all(p.level != "province" for p in places)
    return region.endswith(("市", "州"))


def applies_elsewhere(meta: DocumentMeta, profile: Profile) -> bool:
    """True when the document's jurisdiction is known not to include the company (a city's document for
    a company in another city; a province's document for a company in another province:
    ``Profile.inside``). Unknown locations count as inside."""
    return profile.inside(meta.region) is False


REPEALED = ("废止", "失效", "停止执行", "撤销", "废除")  # words of a status that says the document no longer applies


def is_repealed(meta: DocumentMeta) -> bool:
    """True when the document's stated status says it no longer applies (已废止, 已失效 …)."""
    return bool(meta.status) and any(w in meta.status for w in REPEALED)


def is_ended(meta: DocumentMeta, today: date) -> bool:
    """True when the document no longer applies on ``today``: its stated period ended or its status says
    it was repealed."""
    return meta.expired_on(today) or is_repealed(meta)


def in_force_tier(meta: DocumentMeta, today: date) -> int:
    """How a document's provisions rank on ``today``: 0 in force, 1 period not yet started, 2 draft, 3
    ended (period over or repealed, drafts included). Lower comes first."""
    if is_ended(meta, today):
        return 3
    if meta.is_draft:
        return 2
    if meta.period_start is not None and today.year < meta.period_start:
        return 1
    return 0


def display_order(provisions, today: date) -> list:
    """Provisions in the order they are shown and numbered: grouped by document, documents in force
    first (``in_force_tier``), then by their best provision's score; within a document best first.
    ``provisions``: ``Provision`` records (any order); returns them re-ranked 1…n in that order."""
    from dataclasses import replace

    groups: dict[str, list] = {}
    for p in sorted(provisions, key=lambda p: -p.score):
        groups.setdefault(p.meta.doc_id, []).append(p)
    ordered = sorted(groups.values(), key=lambda items: (in_force_tier(items[0].meta, today), -items[0].score))
    return [replace(p, rank=i) for i, p in enumerate((p for items in ordered for p in items), start=1)]


def document_flags(meta: DocumentMeta, profile: Profile, today: date) -> tuple[Flag, ...]:
    """Caveats of a document for this company on ``today``: jurisdiction, ended plan, draft.

    A document of a city or county (``is_city_region``) is flagged "仅适用于<region>" unless the company
    is known to be there — also when its location is unknown; a province's document only for a company
    known to be elsewhere. ``code``: only_city | only_province | repealed | expired | not_started | draft."""
    flags = []
    if is_city_region(meta.region) and profile.inside(meta.region) is not True:
        flags.append(Flag("only_city", f"仅适用于{meta.region}"))
    elif meta.region and meta.region != "全国" and profile.inside(meta.region) is False:
        flags.append(Flag("only_province", f"仅适用于{meta.region}"))
    if is_repealed(meta):
        flags.append(Flag("repealed", f"文件已失效（{meta.status}）"))
    if meta.expired_on(today):
        label = meta.period_label() if meta.period_start else f"{meta.period_end}年止"
        flags.append(Flag("expired", f"规划期已结束（{label}）"))
    elif meta.period_start is not None and today.year < meta.period_start:
        flags.append(Flag("not_started", f"规划期尚未开始（{meta.period_label()}）"))
    if meta.is_draft:
        flags.append(Flag("draft", meta.status or "征求意见稿"))
    return tuple(flags)


def document_status(meta: DocumentMeta, today: date) -> str:
    """"已失效" | "征求意见稿" | "已到期" | "尚未开始" | "现行"."""
    if is_repealed(meta):
        return "已失效"
    if meta.is_draft:
        return meta.status or "征求意见稿"
    if meta.expired_on(today):
        return "已到期"
    if meta.period_start is not None and today.year < meta.period_start:
        return "尚未开始"
    return "现行"
