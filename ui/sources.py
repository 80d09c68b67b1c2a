"""The sources panel: one card per citation of an answer (or per nearest passage of a refusal); no gradio.

All document text is HTML-escaped (``esc``) before it is put into markup.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import Callable

from rag.text import normalize, split_sentences
from rag.types import Answer, DocumentBadges, DocumentMeta


def esc(text) -> str:
    """HTML-escape any text (quotes included); None → ""."""
    return html.escape("" if text is None else str(text), quote=True)


@dataclass(frozen=True)
class SourceView:
    """What the sources panel shows for one citation (or, for a refusal, one nearest passage).

    Kept in the session as ``to_json()`` (a plain dict, ``badges`` nested); ``from_json`` reads it back."""

    n: int
    doc_id: str
    title: str
    badges: DocumentBadges
    section: str
    passage: str  # the hit's chunk text
    quote: str  # the cited sentence ("" for a nearest passage)
    chunk_id: str = ""
    highlights: tuple[str, ...] = ()  # the quote's sentences the answer shows (() = the whole quote)

    def to_json(self) -> dict:
        """``{"n", "doc_id", "title", "badges": {"level", "region", "period", "status", "expired", "draft"},
        "section", "passage", "quote", "chunk_id", "highlights"}``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "SourceView":
        """The inverse of ``to_json``."""
        return cls(**{**data, "badges": DocumentBadges(**data.get("badges", {})),
                      "highlights": tuple(data.get("highlights", ()))})


def source_views(answer: Answer, docs: dict[str, DocumentMeta], today) -> list[SourceView]:
    """One view per citation; for an answer without citations, the top three hits (quote "")."""
    hits = {h.chunk.chunk_id: h for h in answer.hits}

    def view(n, doc_id, title, section, passage, quote, chunk_id, highlights=()):
        meta = docs.get(doc_id)
        return SourceView(n=n, doc_id=doc_id, title=meta.title if meta else title,
                          badges=DocumentBadges.of(meta, today), section=section, passage=passage, quote=quote,
                          chunk_id=chunk_id, highlights=highlights)

    if answer.citations:
        out = []
        for c in answer.citations:
            hit = hits.get(c.chunk_id)
            out.append(view(c.n, c.doc_id, c.title, c.section, hit.chunk.text if hit else c.quote, c.quote,
                            c.chunk_id, answer_sentences(c.quote, answer.text)))
        return out
    return [view(h.rank, h.chunk.doc_id, h.title, h.chunk.section, h.chunk.text, "", h.chunk.chunk_id)
            for h in answer.hits[:3]]


_BADGE_CLASS = {"征求意见稿": "rag-badge-draft", "已废止": "rag-badge-expired", "尚未施行": "rag-badge-draft",
                "已到期": "rag-badge-expired"}


def badges_html(badges: DocumentBadges) -> str:
    """Status badges (``DocumentBadges.status_labels``): 征求意见稿 (a draft), 已废止 (repealed), 尚未施行
    (effective date after today), 已到期 (the stated period ended before today); "" for none."""
    return "".join(f'<span class="rag-badge {_BADGE_CLASS[label]}">{label}</span>' for label in badges.status_labels)


def document_facts(badges: DocumentBadges) -> list[str]:
    """The known facts of a document in display order, as plain text (not escaped): level, region,
    issuer, 文号, document type, issued date ("发布 …"), effective date ("施行 …"), period ("规划期 …"),
    and a status that no badge shows (e.g. 试行, 暂行, 已修订). Unknown facts are left out."""
    b = badges
    status = b.status if b.status and not (b.draft or b.repealed) else None
    return [x for x in (b.level, b.region, b.issuer, b.doc_number, b.doc_type,
                        f"发布 {b.issued_date}" if b.issued_date else "",
                        f"施行 {b.effective_date}" if b.effective_date else "",
                        f"规划期 {b.period}" if b.period else "", status) if x]


def answer_sentences(quote: str, answer_text: str) -> tuple[str, ...]:
    """The sentences of ``quote`` (``rag.text.split_sentences``) that the answer shows, when they are
    fewer than all of them — a quote spanning several sentences of one passage (an enumeration's head
    and items with text between them) is then highlighted sentence by sentence; () otherwise."""
    spans = split_sentences(quote)
    shown = normalize(answer_text)
    picked = tuple(quote[a:b] for a, b in spans if normalize(quote[a:b]) in shown)
    return picked if picked and len(picked) < len(spans) else ()


def marked_passage(passage: str, quote: str, highlights: tuple[str, ...] = (), anchor: str = "") -> str:
    """The escaped passage with the first occurrence of ``quote`` wrapped in <mark> — or, with
    ``highlights`` (sentences of the quote), each of those inside it; the first <mark> gets the element
    id ``anchor`` (the citation script scrolls it into view). A quote not in the passage: no mark."""
    pos = passage.find(quote) if quote else -1
    if pos < 0:
        return esc(passage)
    ident = f' id="{esc(anchor)}"' if anchor else ""
    end = pos + len(quote)
    marks, at = [], pos
    for h in highlights:
        i = passage.find(h, at, end) if h else -1
        if i >= 0:
            marks.append((i, i + len(h)))
            at = i + len(h)
    marks = marks or [(pos, end)]
    out, last = [], 0
    for k, (a, b) in enumerate(marks):
        out.append(f'{esc(passage[last:a])}<mark{ident if k == 0 else ""}>{esc(passage[a:b])}</mark>')
        last = b
    return "".join(out) + esc(passage[last:])


def source_card_html(src: SourceView, turn: int) -> str:
    """One source card; its element id ``src-<turn>-<n>`` is the target of the answer's marker [n]."""
    b = src.badges
    facts = " · ".join(f'<span class="rag-period">{esc(x)}</span>' if x.startswith("规划期 ") else esc(x)
                       for x in document_facts(b))
    quote = (f'<blockquote class="rag-quote"><mark>{esc(src.quote)}</mark></blockquote>' if src.quote
             else f'<blockquote class="rag-quote">{esc(src.passage[:160])}{"…" if len(src.passage) > 160 else ""}'
                  f'</blockquote>')
    return (f'<div class="rag-src" id="src-{turn}-{src.n}" data-doc="{esc(src.doc_id)}">'
            f'<div class="rag-src-head"><span class="rag-n">[{src.n}]</span> '
            f'<span class="rag-title">《{esc(src.title)}》</span>{badges_html(b)}</div>'
            f'<div class="rag-src-meta">{facts}</div>'
            f'<div class="rag-section">章节：{esc(src.section) or "—"}</div>'
            f'{quote}'
            f'<details class="rag-passage"><summary>查看原文段落</summary>'
            f'<div class="rag-passage-text">'
            f'{marked_passage(src.passage, src.quote, src.highlights, f"mark-{turn}-{src.n}")}</div></details>'
            f'</div>')


EMPTY_PANEL = '<div class="rag-sources rag-empty">提问后，这里显示答案引用的文件与原文。</div>'


def sources_html(turns: list[dict] | None = None) -> str:
    """The sources panel of a conversation: one group per answer (``<div class="rag-turn-sources"
    id="srcs-<t>">``, t = 1, 2, … the turn number) holding that answer's cards (ids ``src-<t>-<n>``,
    the targets of its markers [n]); only the latest group is visible, the others carry ``hidden``
    until a marker of their answer is clicked (the citation script of ``ui.app`` shows its group).
    With more than one answer, each group's heading names its question. The same HTML as
    ``sources_renderer(turns[:-1])(turns[-1])``."""
    if not turns:
        return EMPTY_PANEL
    return sources_renderer(turns[:-1])(turns[-1])


def sources_renderer(earlier: list[dict]) -> Callable[[dict], str]:
    """For streaming one answer after the answers ``earlier``: renders their groups once, now, and
    returns ``render(current) -> str``, the whole panel (``sources_html([*earlier, current])``) with only
    the current answer's group rendered per call — an update costs the current answer's cards, not
    those of the whole session. ``earlier`` must not change while ``render`` is used."""
    n_turns = len(earlier) + 1
    head = '<div class="rag-sources">' + "".join(
        turn_group_html(turn, t, n_turns) for t, turn in enumerate(earlier, start=1))

    def render(current: dict) -> str:
        return f"{head}{turn_group_html(current, n_turns, n_turns)}</div>"

    return render


def turn_group_html(turn: dict, turn_no: int, n_turns: int) -> str:
    """The panel group of answer ``turn_no`` (1-based) of a conversation of ``n_turns`` answers: hidden
    unless it is the latest, headed with its question when there is more than one answer."""
    hidden = "" if turn_no == n_turns else " hidden"
    label = f"（第 {turn_no} 问：{esc(turn.get('question', ''))}）" if n_turns > 1 else ""
    return (f'<div class="rag-turn-sources" id="srcs-{turn_no}" data-turn="{turn_no}"{hidden}>'
            f'{_turn_sources_html(turn, turn_no, label)}</div>')


def _turn_sources_html(turn: dict, turn_no: int, label: str) -> str:
    """The cards of one answer (its citations, or the nearest passages of a refusal)."""
    if turn.get("pending"):
        return f'<div class="rag-empty">正在检索与作答…{label}</div>'
    srcs = [SourceView.from_json(s) for s in turn.get("sources", [])]
    if not srcs:
        return f'<div class="rag-empty">没有检索到相关段落。{label}</div>'
    head = "来源" if turn.get("citations") else "最接近的段落（未直接回答）"
    cards = "".join(source_card_html(s, turn_no) for s in srcs)
    return f'<div class="rag-sources-head">{head}{label}</div>{cards}'
