"""Answer text and citations of an extractive answer: ``_render`` turns the (prefix, sentences) answer
lines ``rag.answer.extractive.compose`` chose into the text with ``[n]`` markers and the numbered
``Citation`` list — text an earlier line already quoted left out (``_trim_overlap``, overlapping chunks),
one citation per passage with the verbatim span covering its sentences, a table row shown as header/cell
pairs (``table_cells``, ``align_header``), comparison lines labelled by their document (``doc_label``),
sentences by their section (``section_label``), citations whose quotes contain one another merged
(``merge_citations``).

Of the extractive answer's modules it imports ``rag.answer.scoring`` only.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answer.scoring import ScoredSentence
from rag.text import normalize
from rag.types import Citation, Hit


def section_label(hit: Hit) -> str:
    """The innermost heading of the hit's section path ("14. 生物农业"), "" for none."""
    return hit.chunk.section.split(" › ")[-1].strip() if hit.chunk.section else ""


def doc_label(doc_id: str, docs: dict) -> str:
    """"某省《short name》" for a document id (its first short name, else its title)."""
    meta = docs.get(doc_id)
    if meta is None:
        return doc_id
    name = meta.short_names[0] if meta.short_names else meta.title
    return f"{meta.region or ''}《{name}》"


def _doc_range(s: ScoredSentence) -> tuple[int, int] | None:
    """The sentence's character range in its document (None for outlines and cards, not slices)."""
    chunk = s.hit.chunk
    return (chunk.start + s.start, chunk.start + s.end) if chunk.kind in ("text", "table") else None


def _trim_overlap(s: ScoredSentence, covered: list[tuple[str, int, int, str]]) -> ScoredSentence | None:
    """``s`` without the part of its document text already quoted (``covered``: (doc_id, start, end,
    text) document ranges, used where the two chunks show the same text there): None when all of it
    is, else the verbatim rest (overlapping chunks repeat text)."""
    rng = _doc_range(s)
    if rng is None:
        return s
    a, b = rng
    base = s.hit.chunk.start
    for doc, ca, cb, ctext in covered:
        lo, hi = max(a, ca), min(b, cb)
        if doc != s.hit.chunk.doc_id or hi <= lo or s.hit.chunk.text[lo - base:hi - base] != ctext[lo - ca:hi - ca]:
            continue  # another document, no overlap, or offsets that do not show the same text
        if ca <= a and b <= cb:
            return None
        if ca <= a < cb:
            a = cb
        elif ca < b <= cb:
            b = ca
    text = s.hit.chunk.text[a - base:b - base]
    lead, tail = len(text) - len(text.lstrip()), len(text) - len(text.rstrip())
    a, b = a + lead, b - tail
    if b - a < 2:
        return None
    return ScoredSentence(s.hit, a - base, b - base, s.coverage, s.score)


def _render(rows, groups, docs, label_sections) -> tuple[str, list[Citation]]:
    """Answer lines and citations: text already quoted by an earlier line (overlapping chunks) is left
    out, a table row is shown as header/cell pairs (``table_cells``), one citation per passage with the
    verbatim span covering its sentences, and citations whose quotes contain one another are merged
    (``merge_citations``)."""
    numbers: dict[str, int] = {}
    spans: dict[str, list[int]] = {}
    covered: list[tuple[str, int, int, str]] = []
    parts = []
    for prefix, line in rows:
        kept = []
        for s in line:
            t = _trim_overlap(s, covered)
            if t is not None:
                kept.append(t)
                rng = _doc_range(t)
                if rng:
                    covered.append((t.hit.chunk.doc_id, *rng, t.text))
        if not kept:
            continue
        text = ""
        for j, s in enumerate(kept):
            cid = s.hit.chunk.chunk_id
            if cid not in numbers:
                numbers[cid] = len(numbers) + 1
                spans[cid] = [s.start, s.end]
            else:  # another sentence of the same passage: the quote becomes the verbatim span covering both
                spans[cid] = [min(spans[cid][0], s.start), max(spans[cid][1], s.end)]
            last_of_chunk = j + 1 == len(kept) or kept[j + 1].hit.chunk.chunk_id != cid
            shown = (table_cells(s) if len(kept) == 1 else None) or s.text
            if j and "\t" not in kept[j - 1].text and not _CLOSED.search(text):  # a heading before its content
                text += "："
            text += shown + (f"[{numbers[cid]}]" if last_of_chunk else "")
        s = kept[0]
        label = f"{doc_label(s.hit.chunk.doc_id, docs or {})}：" if groups else ""
        heading = section_label(s.hit) if label_sections else ""
        label += f"【{heading}】" if heading else ""
        parts.append(prefix + label + text)
    citations = []
    by_id = {s.hit.chunk.chunk_id: s.hit for _, line in rows for s in line}
    for cid, n in sorted(numbers.items(), key=lambda kv: kv[1]):
        hit = by_id[cid]
        start, end = spans[cid]
        citations.append(Citation(n, cid, hit.chunk.doc_id, hit.title, hit.chunk.section, hit.chunk.text[start:end]))
    return merge_citations("\n".join(parts), citations)


_MARKER = re.compile(r"\[(\d+)\]")
_CLOSED = re.compile(r"(?:[。；;：:！？!?.，,、）)\]”’]|\[\d+\])\s*$")  # text ending a sentence, clause or citation


def merge_citations(text: str, citations: list[Citation]) -> tuple[str, list[Citation]]:
    """One citation per quoted passage: a citation whose quote (normalised) lies inside another
    citation's quote of the same document is merged into it — its markers ``[n]`` in ``text`` point to
    the containing citation, which keeps the smaller number — and the citations are renumbered 1..n in
    order of first use in ``text`` (markers rewritten, a marker repeated right after itself dropped).
    Returns the new text and citations."""
    alias: dict[int, Citation] = {}
    keep: list[Citation] = []
    for c in citations:
        key = normalize(c.quote)
        for i, k in enumerate(keep):
            other = normalize(k.quote)
            if c.doc_id == k.doc_id and key in other:
                alias[c.n] = k
                break
            if c.doc_id == k.doc_id and other in key:  # the later quote holds the earlier: it takes its number
                keep[i] = replace(c, n=k.n)
                alias[c.n] = keep[i]
                for m, a in alias.items():
                    if a is k:
                        alias[m] = keep[i]
                alias[k.n] = keep[i]
                break
        else:
            keep.append(c)
            alias[c.n] = c
    order: dict[int, int] = {}  # old number of the kept citation → new number
    for m in _MARKER.finditer(text):
        old = int(m.group(1))
        if old in alias and alias[old].n not in order:
            order[alias[old].n] = len(order) + 1
    for c in keep:
        order.setdefault(c.n, len(order) + 1)

    def renumber(m):
        old = int(m.group(1))
        return f"[{order[alias[old].n]}]" if old in alias else m.group(0)

    text = _MARKER.sub(renumber, text)
    text = re.sub(r"(\[\d+\])\1+", r"\1", text)
    out = sorted((replace(c, n=order[c.n]) for c in keep), key=lambda c: c.n)
    return text, out


def table_cells(s: ScoredSentence) -> str | None:
    """``"header: cell | header: cell …"`` for a sentence that is one row of a tab-separated table
    (≥ 3 cells; header = the chunk's ``context`` row, else the table's first line in the chunk), or
    None. Every non-empty cell of the row with its column's header (a question naming one year often
    also needs the base year's value); cells are verbatim; the row itself stays the citation's quote.
    A header with fewer cells than the row (columns whose labels a PDF wrapped onto lines of their
    own) is placed by ``align_header``; cells it does not cover are shown without a label, except a
    leading row number. None when the header cannot be placed in exactly one way."""
    row = s.text
    cells = row.split("\t")
    if len(cells) < 3 or "\n" in row:
        return None
    text = s.hit.chunk.text
    header_line = s.hit.chunk.context or text.split("\n", 1)[0]
    if header_line.strip() == row.strip():
        return None
    labels = align_header(header_line.split("\t"), cells)
    if labels is None:
        return None
    shown = []
    for i, (h, c) in enumerate(zip(labels, cells)):
        if not c.strip() or (h is None and i == 0 and _SERIAL.fullmatch(c.strip())):
            continue
        shown.append(f"{h.strip()}: {c.strip()}" if h is not None else c.strip())
    return " | ".join(shown)


_SERIAL = re.compile(r"\d{1,3}")
_VALUE_CELL = re.compile(r"[<>≤≥≈~～]?[+\-−]?\d+(?:[.,]\d+)*[%％‰]?(?:[-~～–—]\d+(?:[.,]\d+)*[%％‰]?)?[*＊]?"
                         r"|[-－—–/／×]{1,2}")


def align_header(header: list[str], cells: list[str]) -> list[str | None] | None:
    """The column label of each of ``cells`` (one table row), from ``header`` (the table's header
    row). Labels must fit their cells: a label with a digit (``2020年``, ``2025 年目标``) stands over a
    number or a dash standing for no value; a label without one (``序号``, ``指标名称``) over anything.
    The header itself when both have the same number of cells and every label fits; for a header of
    ≥ 2 but fewer cells, the one offset at which the header is a run of consecutive columns that fit,
    with None for the cells outside it. None when no offset or several fit, or the header has more
    cells than the row."""
    def fits(label: str, cell: str) -> bool:
        return not any(ch.isdigit() for ch in label) or bool(_VALUE_CELL.fullmatch(cell.strip()))

    if len(header) == len(cells):
        return list(header) if all(map(fits, header, cells)) else None
    if len(header) < 2 or len(header) > len(cells):
        return None

    offsets = [o for o in range(len(cells) - len(header) + 1)
               if all(fits(h, cells[o + i]) for i, h in enumerate(header))]
    if len(offsets) != 1:
        return None
    o = offsets[0]
    return [None] * o + list(header) + [None] * (len(cells) - o - len(header))
