"""The typed records that flow between stages: corpus → chunking → index → retrieval → answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
import datetime as _dt
import threading
from typing import TypeVar


@dataclass(frozen=True)
class DocumentMeta:
    """What the document's own text states about it (``rag.ingest.metadata.extract_metadata``), overridden by
    the manifest entry (``corpus/manifest.json``, optional) and by user corrections (``rag.index.kb.set_metadata``);
    unknown fields are None.

    ``period_start``/``period_end`` are calendar years (inclusive); ``status`` is e.g. "征求意见稿", "试行",
    "已废止"; ``level`` "国家级" | "省级" | "市级" | "县级"; ``region`` a full division name (某某省,
    某某市) or "全国"; ``date`` is the issued date (``issued_date``), ``effective_date`` the date it takes
    effect, both ISO "YYYY-MM-DD" or "YYYY-MM" as precise as stated; ``doc_type`` e.g. "实施方案", "条例";
    ``sources``: (field, source) pairs — the verbatim line a value was read from, "manifest", "user" or
    "file name" (``source_of``); ``history``: the adoption and amendment events a regulation's header states
    (题注: 通过, 修订, 修正, 批准) as (kind, ISO date) pairs, oldest first (``revisions``). New fields are appended
    so positional construction keeps working.
    """

    doc_id: str
    file: str
    original_file: str
    title: str
    short_names: tuple[str, ...] = ()
    issuer: str | None = None
    level: str | None = None  # "省级" | "市级"
    region: str | None = None  # a full division name ("某某省", "某某市") or "全国"
    doc_number: str | None = None
    date: str | None = None  # ISO date or "YYYY-MM" as precise as the text states
    period_start: int | None = None
    period_end: int | None = None
    outlook_year: int | None = None
    status: str | None = None
    doc_type: str | None = None
    effective_date: str | None = None
    sources: tuple[tuple[str, str], ...] = ()
    history: tuple[tuple[str, str], ...] = ()

    @property
    def revisions(self) -> tuple[tuple[str, str], ...]:
        """The amendments of ``history`` (修订: the text revised as a whole; 修正: amended by a decision), oldest
        first; a province's 批准 of a city's regulation and the first 通过 are none."""
        return tuple(e for e in self.history if e[0] in ("修订", "修正"))

    @property
    def issued_date(self) -> str | None:
        """The issued date (成文/印发/发布, or the adoption date of a regulation's version): ``date``."""
        return self.date

    def source_of(self, name: str) -> str | None:
        """Where field ``name`` (DOC names: ``issued_date`` is ``date``) came from; None when unknown."""
        name = "date" if name == "issued_date" else name
        return next((src for f, src in self.sources if f == name), None)

    def doc_fields(self) -> dict:
        """The DOC fields of ``rag info --json`` (without ``chunks``/``source``): doc_id, title, issuer,
        doc_number, doc_type, level, region, issued_date, effective_date, period_start, period_end, status."""
        return {"doc_id": self.doc_id, "title": self.title, "issuer": self.issuer, "doc_number": self.doc_number,
                "doc_type": self.doc_type, "level": self.level, "region": self.region,
                "issued_date": self.date, "effective_date": self.effective_date,
                "period_start": self.period_start, "period_end": self.period_end, "status": self.status}

    @property
    def is_draft(self) -> bool:
        return bool(self.status and ("征求意见" in self.status or "草案" in self.status or "送审稿" in self.status))

    @property
    def is_repealed(self) -> bool:
        """The text says it is repealed or no longer in force (已废止, 已失效)."""
        return bool(self.status and ("废止" in self.status or "失效" in self.status))

    def not_yet_in_force(self, day: _dt.date) -> bool:
        """True when the stated effective date (or, without one, the period start year) is after ``day``."""
        if self.effective_date:
            return self.effective_date > day.isoformat()[:len(self.effective_date)]
        return self.period_start is not None and day.year < self.period_start

    def notices(self, day: _dt.date) -> list[str]:
        """Plain-language remarks about the document on ``day``: draft, repealed, not yet in force, period
        ended — [] when none applies."""
        out = []
        if self.is_draft:
            out.append(f"《{self.title}》为{self.status}，不是正式发布的文本。")
        if self.is_repealed:
            out.append(f"《{self.title}》文本注明{self.status}。")
        if self.effective_date and self.not_yet_in_force(day):
            out.append(f"《{self.title}》自{self.effective_date}起施行，尚未生效。")
        if self.expired_on(day):
            out.append(f"《{self.title}》规划期为{self.period_label()}，已于{self.period_end}年底到期，所引内容反映当时的部署。")
        return out

    def period_label(self) -> str:
        """Human label of the period, e.g. "2021—2025年" or "2024年起"; "" when unknown."""
        if self.period_start and self.period_end:
            return f"{self.period_start}—{self.period_end}年"
        if self.period_start:
            return f"{self.period_start}年起"
        return ""

    def expired_on(self, day: _dt.date) -> bool:
        """True when the stated period ended before ``day`` (a plan without an end year never expires)."""
        return self.period_end is not None and day.year > self.period_end

    def in_force_on(self, day: _dt.date) -> bool:
        """True when ``day`` is inside the stated period (unknown bounds are open) and it is not a draft."""
        if self.is_draft or self.is_repealed or self.not_yet_in_force(day):
            return False
        return not self.expired_on(day)


@dataclass(frozen=True)
class Document:
    """A cleaned document: ``text`` is the cleaned text all chunk offsets refer to; ``encoding`` is the
    character encoding its text file was decoded from (e.g. "GB18030", "UTF-16LE"; None for PDF/DOCX),
    ``rag.ingest.readers.SourceText``."""

    meta: DocumentMeta
    text: str
    sha256: str  # of the raw source bytes
    encoding: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A passage of one section of one document.

    ``text`` is exactly ``document.text[start:end]`` (character offsets into the cleaned text);
    ``section`` is the heading path joined by " › "; ``n_tokens`` counts cl100k tokens of ``text``.
    ``kind`` is "text", "table", "card" (a synthetic per-document card built from the manifest) or
    "outline" (a section's sub-headings, ``rag.ingest.chunking.build_outlines``, built when the index loads,
    never indexed); for cards and outlines ``text`` is not a slice of the document.
    """

    chunk_id: str
    doc_id: str
    section: str
    text: str
    start: int
    end: int
    n_tokens: int
    kind: str = "text"
    context: str = ""  # extra indexed text not shown to users (e.g. a table's header row)


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. ``score``: fused score, higher is better (RRF unless a single retriever)."""

    rank: int
    score: float
    chunk: Chunk
    title: str
    scores: dict = field(default_factory=dict)  # per-retriever scores: {"bm25": .., "dense": .., "rrf": ..}

    def to_json(self) -> dict:
        """The HIT shape of the CLI: rank, score, chunk_id, doc_id, title, section, text."""
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "chunk_id": self.chunk.chunk_id,
            "doc_id": self.chunk.doc_id,
            "title": self.title,
            "section": self.chunk.section,
            "text": self.chunk.text,
        }


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer; ``quote`` is a verbatim span of the chunk text."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    quote: str

    def to_json(self) -> dict:
        return {"n": self.n, "chunk_id": self.chunk_id, "doc_id": self.doc_id, "title": self.title,
                "section": self.section, "quote": self.quote}


@dataclass(frozen=True)
class Answer:
    """The result of answering one question.

    ``mode`` is "extractive" or "llm"; ``notices`` are plain-language remarks shown with the answer
    (expired plan, draft, LLM unavailable); ``timings_ms`` has "retrieve", "answer", "total";
    ``grounding`` (when the LLM was asked; in ``to_json`` only then) counts the answer's sentences that state
    a number or date (``claims``), those found in a cited passage (``supported``), removed (``removed``) and
    re-cited to the passage holding them (``reassigned``).
    """

    question: str
    text: str
    mode: str
    refused: bool
    citations: list[Citation]
    hits: list[Hit]
    notices: list[str] = field(default_factory=list)
    timings_ms: dict = field(default_factory=dict)
    # LLM answers: {"claims", "supported", "removed", "reassigned"} sentence counts of rag.answer.llm.ground
    grounding: dict | None = None

    def to_json(self) -> dict:
        extra = {"grounding": dict(self.grounding)} if self.grounding is not None else {}
        return {
            "question": self.question,
            "answer": self.text,
            "mode": self.mode,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "hits": [h.to_json() for h in self.hits],
            "notices": list(self.notices),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            **extra,
        }


@dataclass(frozen=True)
class DocumentBadges:
    """What is shown next to a document's title wherever it is listed (knowledge-base table, source
    cards, Markdown export): ``level`` ("省级" | "市级"), ``region`` (a full division name), ``period``
    (``DocumentMeta.period_label()``, "" when unknown), ``status`` (e.g. "征求意见稿", "试行"), ``expired``
    (the stated period ended before the given day), ``draft`` (a 征求意见稿), then the document's
    ``issuer``, ``doc_number`` (文号), ``doc_type``, ``issued_date`` and ``effective_date`` (ISO
    "YYYY-MM-DD" / "YYYY-MM"), ``repealed`` (the text or a correction says 已废止/已失效) and
    ``not_in_force_yet`` (its effective date is after the given day). Unknown = None / "" / False."""

    level: str | None = None
    region: str | None = None
    period: str = ""
    status: str | None = None
    expired: bool = False
    draft: bool = False
    issuer: str | None = None
    doc_number: str | None = None
    doc_type: str | None = None
    issued_date: str | None = None
    effective_date: str | None = None
    repealed: bool = False
    not_in_force_yet: bool = False

    @classmethod
    def of(cls, meta: DocumentMeta | None, today: _dt.date) -> "DocumentBadges":
        """The badges of ``meta`` on ``today``; all unknown when ``meta`` is None (a document the
        index no longer lists)."""
        if meta is None:
            return cls()
        return cls(level=meta.level, region=meta.region, period=meta.period_label(), status=meta.status,
                   expired=meta.expired_on(today), draft=meta.is_draft, issuer=meta.issuer,
                   doc_number=meta.doc_number, doc_type=meta.doc_type, issued_date=meta.date,
                   effective_date=meta.effective_date, repealed=meta.is_repealed,
                   not_in_force_yet=bool(meta.effective_date) and meta.not_yet_in_force(today))

    @property
    def status_labels(self) -> tuple[str, ...]:
        """The warning labels, in display order: "征求意见稿" for a draft, "已废止" for a repealed
        document, "尚未施行" before its effective date, "已到期" for an ended period."""
        return tuple(label for label, on in (("征求意见稿", self.draft), ("已废止", self.repealed),
                                             ("尚未施行", self.not_in_force_yet), ("已到期", self.expired)) if on)


# --- data derived once per owner (a loaded index) ------------------------------------------------------

_D = TypeVar("_D", bound="DerivedData")
_DERIVED_LOCK = threading.Lock()


class locked_cached_property(cached_property):
    """``functools.cached_property`` computed at most once per instance, under the instance's ``lock``
    (an ``RLock``: one property may read another of the same instance). Python 3.11's cached_property
    locks all instances at once and 3.12 dropped the lock; a derived value here is built once even when
    several worker threads (the UI) ask for it at the same moment. Assigning the attribute sets the value
    (tests preset one)."""

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        cache = instance.__dict__
        try:
            return cache[self.attrname]
        except KeyError:
            pass
        with instance.lock:
            if self.attrname not in cache:
                cache[self.attrname] = self.func(instance)
            return cache[self.attrname]


class DerivedData:
    """Base of the typed data a stage derives from one owner — a loaded index (``rag.index.store.LoadedIndex``)
    or a hand-made stand-in with the attributes the subclass reads (``docs``, ``chunks``, ``doc_texts`` …).
    A subclass declares its values as ``locked_cached_property``s over ``self.index``, each built on
    first use and kept; ``Subclass.of(index)`` is the one instance of that subclass for that owner
    (``derived``). The owner's stage never imports the subclass: a later stage keeps its data on an
    earlier stage's object without that object knowing its type."""

    def __init__(self, index):
        self.index = index
        self.lock = threading.RLock()

    @classmethod
    def of(cls: type[_D], index) -> _D:
        """The one ``cls(index)`` of ``index`` (``derived``)."""
        return derived(index, cls)


def derived(owner, cls: type[_D]) -> _D:
    """The one instance of ``cls`` (a ``DerivedData`` subclass) for ``owner``, created on the first call
    under a lock (thread-safe: every caller gets the same object) and kept in ``owner._derived`` (class →
    instance; the attribute is added to a stand-in that lacks it). Creating one is cheap: its values are
    built lazily."""
    store = owner.__dict__.get("_derived")
    if store is not None:
        found = store.get(cls)
        if found is not None:
            return found
    with _DERIVED_LOCK:
        store = owner.__dict__.setdefault("_derived", {})
        found = store.get(cls)
        if found is None:
            found = store[cls] = cls(owner)
    return found
