"""The typed records that flow between stages: corpus → chunking → index → retrieval → answer."""

from __future__ import annotations

from dataclasses import dataclass, field
import datetime as _dt


@dataclass(frozen=True)
class DocumentMeta:
    """One manifest entry: what the document's own text states about it; unknown fields are None.

    ``period_start``/``period_end`` are calendar years (inclusive); ``status`` is e.g. "征求意见稿".
    """

    doc_id: str
    file: str
    original_file: str
    title: str
    short_names: tuple[str, ...] = ()
    issuer: str | None = None
    level: str | None = None  # "省级" | "市级"
    region: str | None = None  # "四川省" | "成都市"
    doc_number: str | None = None
    date: str | None = None  # ISO date or "YYYY-MM" as precise as the text states
    period_start: int | None = None
    period_end: int | None = None
    outlook_year: int | None = None
    status: str | None = None

    @property
    def is_draft(self) -> bool:
        return bool(self.status and "征求意见" in self.status)

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
        if self.is_draft:
            return False
        if self.period_start is not None and day.year < self.period_start:
            return False
        return not self.expired_on(day)


@dataclass(frozen=True)
class Document:
    """A cleaned document: ``text`` is the cleaned text all chunk offsets refer to."""

    meta: DocumentMeta
    text: str
    sha256: str  # of the raw source bytes


@dataclass(frozen=True)
class Chunk:
    """A passage of one section of one document.

    ``text`` is exactly ``document.text[start:end]`` (character offsets into the cleaned text);
    ``section`` is the heading path joined by " › "; ``n_tokens`` counts cl100k tokens of ``text``.
    ``kind`` is "text", "table", "card" (a synthetic per-document card built from the manifest) or
    "outline" (a section's sub-headings, ``rag.chunking.build_outlines``, built when the index loads,
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
    (expired plan, draft, LLM unavailable); ``timings_ms`` has "retrieve", "answer", "total".
    """

    question: str
    text: str
    mode: str
    refused: bool
    citations: list[Citation]
    hits: list[Hit]
    notices: list[str] = field(default_factory=list)
    timings_ms: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "mode": self.mode,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "hits": [h.to_json() for h in self.hits],
            "notices": list(self.notices),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True)
class DocumentBadges:
    """What is shown next to a document's title wherever it is listed (knowledge-base table, source
    cards, Markdown export): ``level`` ("省级" | "市级"), ``region`` ("四川省" | "成都市"), ``period``
    (``DocumentMeta.period_label()``, "" when unknown), ``status`` (e.g. "征求意见稿"), ``expired`` (the
    stated period ended before the given day) and ``draft`` (a 征求意见稿). Unknown = None / "" / False."""

    level: str | None = None
    region: str | None = None
    period: str = ""
    status: str | None = None
    expired: bool = False
    draft: bool = False

    @classmethod
    def of(cls, meta: DocumentMeta | None, today: _dt.date) -> "DocumentBadges":
        """The badges of ``meta`` on ``today``; all unknown when ``meta`` is None (a document the
        index no longer lists)."""
        if meta is None:
            return cls()
        return cls(level=meta.level, region=meta.region, period=meta.period_label(), status=meta.status,
                   expired=meta.expired_on(today), draft=meta.is_draft)

    @property
    def status_labels(self) -> tuple[str, ...]:
        """The warning labels, in display order: "征求意见稿" for a draft, "已到期" for an ended period."""
        return tuple(label for label, on in (("征求意见稿", self.draft), ("已到期", self.expired)) if on)
