"""Structure-aware chunking of cleaned Chinese policy documents and regulations, and the outline
passages of their sections (``build_outlines``).

Heading levels, heading labels and the line walk that gives each line its level in context and its
section path live in ``rag.ingest.headings`` (re-exported here); this module packs the lines of each
section into chunks.

Chunks never cross a section boundary, break only between sentences (or table rows, which stay
whole) unless one sentence alone does not fit, and hold at most ``max_tokens`` cl100k tokens — the
text a chunk repeats from the previous one and its section's heading lines included.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import deque
from dataclasses import dataclass

from rag.ingest.headings import (  # noqa: F401 (re-exported: the names of rag.ingest.chunking before the split)
    ARTICLE_LEVEL, BACK_MATTER_LEVEL, CHAPTER_LEVEL, LABEL_LEVEL, MAX_HEADING_CHARS, MIN_LABEL_RUN, PART_LEVEL,
    SECTION_LEVEL, SECTION_SEP, _ARTICLE, _BACK_MATTER, _CN_DIGIT, _CN_NUM, _CN_UNIT, _DIVISION, _DIVISION_LEVEL,
    _LABEL_CORE, _LABEL_END, _LIST_LIKE, _MD_HEADING, _NUMBER, _NUMBERED, _REFERENCE_TAIL, _SENTENCE_PUNCT, _Line,
    _heading_key, _label_lines, _md_split, _toc_lines, _walk, cn_number, heading_label, heading_level,
    is_heading_only, label_paragraph, numbered_heading_level)
from rag.text import count_tokens, split_sentences
from rag.types import Chunk

_count_tokens = functools.lru_cache(maxsize=8192)(count_tokens)
"""``count_tokens`` remembering the last 8192 texts: packing and splitting count the same spans again and
again (lawref-dev: 45 k counts of 22 k distinct spans, 2.8 s of its 3.5 s of chunking)."""


@dataclass
class _Unit:
    start: int
    end: int
    tokens: int
    table: bool
    para_end: bool  # the unit ends its paragraph
    header: str = ""  # for a table row: the first row of its table (run of consecutive rows)
    heading: bool = False  # the run of heading-only lines that opens a section's first chunk
    grain: int = 0  # 0 a paragraph or table row, 1 a sentence, 2 a piece of a sentence, 3 a cut piece
    limit: int = 0  # the chunk that takes this unit holds at most this many tokens (0: max_tokens)


def chunk_id(doc_id: str, text: str) -> str:
    """Stable id: same document and text → same id (sha1, 16 hex digits)."""
    return hashlib.sha1(f"{doc_id}\n{text}".encode("utf-8")).hexdigest()[:16]


def _sections(text: str):
    """Yield ``(path, [(start, end, is_table, is_heading)])`` per section, in document order.

    A run of heading-only lines ("二、重点方向", "（一）壮大新兴产业") becomes one paragraph
    (``is_heading``) in front of the next body line, so that the headings are chunk text too (a span
    of a heading line is then contained in a chunk); trailing headings without body form a section
    of their own. Table-of-contents lines (``_walk``) are left out."""
    path = ""
    paras: list[tuple[int, int, bool, bool]] = []
    pending: tuple[int, int] | None = None  # the run of heading-only lines not yet in a paragraph
    for ln in _walk(text):
        if ln.toc:  # no chunk spans a table of contents
            if paras:
                yield path, _within_tables(text, paras)
            paras = []
            continue
        if ln.level is not None:
            if paras:
                yield path, _within_tables(text, paras)
            paras = []
            path = ln.path
            if ln.heading_only:
                pending = (pending[0] if pending else ln.start, ln.end)
                continue
        table = text.count("\t", ln.start, ln.end) >= 2
        if pending:
            paras.append((pending[0], pending[1], table, True))
            pending = None
        paras.append((ln.start, ln.end, table, False))
    if pending:
        paras.append((pending[0], pending[1], False, True))
    if paras:
        yield path, _within_tables(text, paras)


_CELL_TEXT_CHARS = 60
_PROSE_PUNCT = re.compile(r"[，。；！？!?;]")


def _within_tables(text: str, paras: list[tuple[int, int, bool, bool]]) -> list[tuple[int, int, bool, bool]]:
    """``paras`` with the short lines between two rows of one table counted as table lines: cell text
    that a PDF table wrapped onto a line of its own (a column-group label ``创新驱动``, a long cell's
    second line; see ``rag.ingest.cleaning.mark_spaced_tables``) — ≤ 60 characters, no sentence punctuation.
    Then the rows around it stay one table with one header row (its first row) for every chunk."""
    out = list(paras)
    i = 0
    while i < len(out):
        if out[i][2] or out[i][3] or i == 0 or not out[i - 1][2]:
            i += 1
            continue
        j = i  # out[i:j] short non-table lines after a table row
        while (j < len(out) and not out[j][2] and not out[j][3] and out[j][1] - out[j][0] <= _CELL_TEXT_CHARS
               and not _PROSE_PUNCT.search(text, out[j][0], out[j][1])):
            j += 1
        if i < j < len(out) and out[j][2]:
            out[i:j] = [(s, e, True, False) for s, e, _, _ in out[i:j]]
        i = max(j, i + 1)
    return out


def _units(text: str, paras) -> list[_Unit]:
    """One unit per paragraph: heading runs, table rows (with their table's header row), paragraphs."""
    units: list[_Unit] = []
    header = ""
    for start, end, table, heading in paras:
        tokens = _count_tokens(text[start:end])
        if heading:  # joins the chunk of what follows it (a table's first chunk when a table follows)
            units.append(_Unit(start, end, tokens, table, True, heading=True))
            continue
        if table and not (units and units[-1].table and not units[-1].heading):  # a table opens: its first row
            header = text[start:end]
        units.append(_Unit(start, end, tokens, table, True, header if table else ""))
    return units


OVERLAP_DIVISOR = 4  # the overlap repeated at the start of the next chunk has ≤ max_tokens // 4 tokens
# (or the tokens of SPAN_CHARS characters when more); over-long sentences are cut into pieces of that size
SPAN_CHARS = 30  # the longest span (non-space characters within one line) that must be whole in some chunk:
# BENCHMARK.md evidence anchors are 6–30 characters within one line
_SOFT_BREAK = re.compile(r"[，,、：:；;]|\s+")


def max_overlap_tokens(max_tokens: int) -> int:
    """Upper bound of the tokens a chunk repeats from the previous one: ``max_tokens // 4``, or
    ``3 * SPAN_CHARS`` when more (a character is at most 3 cl100k tokens)."""
    return max(max_tokens // OVERLAP_DIVISOR, 3 * SPAN_CHARS)


def _split_long(text: str, start: int, end: int, max_tokens: int,
                piece_tokens: int | None = None) -> list[tuple[int, int]]:
    """Split one sentence of more than ``max_tokens`` tokens (e.g. a flattened table or a long
    enumeration) at commas or spaces into pieces of at most ``piece_tokens`` (default
    ``max_tokens``) tokens where the breaks allow; a sentence that fits is returned whole."""
    if _count_tokens(text[start:end]) <= max_tokens:
        return [(start, end)]
    piece_tokens = piece_tokens or max_tokens
    pieces, piece_start, last_break = [], start, None
    for m in _SOFT_BREAK.finditer(text, start, end):
        if _count_tokens(text[piece_start:m.end()]) > piece_tokens and last_break and last_break > piece_start:
            pieces.append((piece_start, last_break))
            piece_start = last_break
        last_break = m.end()
    pieces.append((piece_start, end))
    return [(s, e) for s, e in pieces if text[s:e].strip()]


def _cut(text: str, base: int, end: int, tokens: int, least: int) -> int:
    """The largest ``cut`` in ``(least, end]`` with ``text[base:cut]`` of at most ``tokens`` tokens
    (``least + 1`` when none: a cut holds at least one character). Binary search."""
    lo, hi = least + 1, end
    if end - base > 8 * tokens:  # a long piece: gallop first, so a cut costs O(its length), not O(piece)
        step = 4 * tokens
        while base + step < hi:
            if _count_tokens(text[base:base + step]) > tokens:
                hi = max(lo, base + step - 1)
                break
            lo, step = max(lo, base + step), step * 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _count_tokens(text[base:mid]) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _cut_all(text: str, start: int, end: int, tokens: int) -> list[tuple[int, int]]:
    """``text[start:end]`` (a piece without clause breaks) cut into consecutive spans of at most
    ``tokens`` tokens (at least one character each), longest first."""
    out = []
    while start < end:
        cut = _cut(text, start, end, tokens, start)
        out.append((start, cut))
        start = cut
    return out


def _split_unit(text: str, unit: _Unit, max_tokens: int, head_start: int) -> list[_Unit] | None:
    """Smaller units for a unit that does not fit behind ``text[head_start:unit.start]`` (the chunk so
    far): a paragraph (or table row) into sentences, a sentence into pieces at clause breaks of
    ≤ ``max_tokens // 4`` tokens, a piece without breaks into cuts — the first as long as still fits
    behind the chunk so far, the rest of ≤ ``max_tokens - max_overlap_tokens`` tokens (so each fits
    behind an overlap). None when the unit cannot be smaller (heading lines, one character)."""
    if unit.heading:
        return None  # heading lines stay whole
    s, e = unit.start, unit.end
    spans: list[tuple[int, int]] = []
    grain = unit.grain
    while len(spans) < 2 and grain < 2:
        grain += 1
        spans = (split_sentences(text[s:e], offset=s) if grain == 1
                 else _split_long(text, s, e, 0, max(max_tokens // OVERLAP_DIVISOR, 1)))
    if len(spans) < 2:
        grain = 3
        first = _cut(text, head_start, e, max_tokens, s)
        rest = max(max_tokens - max_overlap_tokens(max_tokens), max_tokens // OVERLAP_DIVISOR, 1)
        spans = [(s, first)] + ([] if first >= e else _cut_all(text, first, e, rest))
    if len(spans) < 2:
        return None
    limit = unit.limit
    if grain == 1 and not unit.table:  # a paragraph into sentences: chunks of even size, no small tail chunk
        per_chunk = max_tokens - max_tokens // OVERLAP_DIVISOR
        n = -(-(_count_tokens(text[head_start:e])) // per_chunk)
        limit = min(max_tokens, -(-_count_tokens(text[head_start:e]) // max(n, 1)) + max_tokens // OVERLAP_DIVISOR)
    return [_Unit(ps, pe, _count_tokens(text[ps:pe]), unit.table, unit.para_end and i == len(spans) - 1,
                  unit.header, grain=grain, limit=limit) for i, (ps, pe) in enumerate(spans)]


def overlap_start(text: str, group: list[_Unit], max_tokens: int, room_for: int = 0) -> int:
    """Where the chunk after ``group`` starts when it continues ``group``'s last line: at least
    ``SPAN_CHARS`` non-space characters before the border (or the line's start / the group's start,
    when nearer), moved back to the latest sentence (unit) start, else to the latest clause break
    (，、；：space), that keeps the overlap within ``max_tokens // OVERLAP_DIVISOR`` tokens and within
    ``max_tokens - room_for`` (the tokens of the unit that follows it; or the tokens of the minimal
    tail, when that is more), but never to the group's start (only a group
    shorter than the minimal tail repeats whole: the caller then keeps it as the head of the next
    chunk instead of emitting it alone). Every span of ≤ ``SPAN_CHARS`` characters that
    crosses the border then lies in the next chunk. Returns a character offset into ``text``."""
    end = group[-1].end
    floor = max(text.rfind("\n", 0, end) + 1, group[0].start)
    p, need = end, SPAN_CHARS
    while p > floor and need > 0:
        p -= 1
        need -= not text[p].isspace()
    if p <= floor:
        return floor
    least = _count_tokens(text[p:end])
    cap = max(min(max_tokens // OVERLAP_DIVISOR, max_tokens - room_for), least)
    starts = [u.start for u in group if floor <= u.start <= p and u.start > group[0].start]
    breaks = [m.end() for m in _SOFT_BREAK.finditer(text, floor, p) if group[0].start < m.end() <= p]
    for candidates in (starts, breaks):
        for s in reversed(candidates):
            if _count_tokens(text[s:end]) <= cap:
                return s
            break  # an earlier start would only be longer
    return p


SMALL_LINE_TOKENS = 40  # a line this short beside a table (its caption, a column-group label, a 备注) joins it


def _table_border(own: list[_Unit], unit: _Unit, last: bool) -> bool:
    """Whether ``unit`` starts a new chunk because it crosses a border between table rows and text.
    Short text does not stand alone beside a table: text of ≤ ``SMALL_LINE_TOKENS`` tokens (after the
    section's heading lines) before a table's first row opens the table's chunk, and a short line
    that ends its section after the table's last row (“备注：…”, “注：…”) closes the table's chunk —
    else such a line is a tiny chunk that section and title words alone rank high."""
    rows = any(u.table for u in own)
    if unit.table == rows:
        return False
    if unit.table:  # text so far, a table starts
        return sum(u.tokens for u in own if not u.heading) > SMALL_LINE_TOKENS
    return not (last and unit.tokens <= SMALL_LINE_TOKENS)


def chunk_document(doc_id: str, text: str, max_tokens: int = 320) -> list[Chunk]:
    """Split a cleaned document into section-bounded chunks of at most ``max_tokens`` cl100k tokens.

    Returns chunks in document order; ``chunk.text == text[chunk.start:chunk.end]`` and
    ``chunk.section`` is the heading path (``第三章 数据资源 › 第十八条``; "" before the first heading).
    Units — whole paragraphs and table rows, a section's heading-only lines (which open its first
    chunk) — are packed greedily; a unit that does not fit in an otherwise empty chunk is split on
    demand: a paragraph (or an over-long row) into sentences, a sentence into clause pieces, a piece
    into cuts. A chunk that continues a line of the previous chunk first repeats the end of that
    chunk (``overlap_start``: ≥ ``SPAN_CHARS`` characters, preferably whole sentences, at most
    ``max_overlap_tokens``). Every chunk, overlap and heading lines included, holds at most
    ``max_tokens`` tokens when ``max_tokens`` exceeds ``max_overlap_tokens`` (a smaller limit cannot
    hold the overlap; then a chunk holds the overlap and at least one character of its own).
    Coverage invariant: every span of ≤ ``SPAN_CHARS`` non-space characters within one line of
    ``text`` outside a table of contents is contained in some chunk. A table's first row (the first of
    a run of consecutive rows) is kept as ``context`` for chunks that continue the table.
    """
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for path, paras in _sections(text):
        group: list[_Unit] = []

        def flush():
            if not group:
                return
            s, e = group[0].start, group[-1].end
            body = text[s:e]
            cid = chunk_id(doc_id, path + "\n" + body)
            if cid in seen:  # identical text twice in one section path: disambiguate stably
                seen[cid] += 1
                cid = chunk_id(doc_id, f"{path}\n{body}#{seen[cid]}")
            else:
                seen[cid] = 1
            rows = [u for u in group if u.table]  # a table chunk may hold a short lead or trailing line
            is_table = bool(rows) and all(u.table or u.heading or u.tokens <= SMALL_LINE_TOKENS for u in group)
            header = rows[0].header if rows else ""
            # the header row for chunks not opening with it (continuations; a caption line before it)
            context = header if is_table and header and not body.startswith(header) else ""
            chunks.append(Chunk(cid, doc_id, path, body, s, e, _count_tokens(body), "table" if is_table else "text",
                                context))

        queue = deque(_units(text, paras))
        own = 0  # group[own:] is the chunk's own text; group[:own] repeats the previous chunk's end
        while queue:
            unit = queue.popleft()
            if len(group) > own and (_table_border(group[own:], unit, not queue)
                                     or _count_tokens(text[group[0].start:unit.end]) > (unit.limit or max_tokens)):
                last = group[-1]
                start = None
                if not (unit.table or last.table or last.para_end):  # the border is inside a line
                    start = overlap_start(text, group, max_tokens, unit.tokens)
                # heading lines alone, or a group shorter than the overlap, rather open the next chunk
                if not (all(u.heading for u in group) or (start is not None and start <= group[0].start)):
                    flush()
                    group = [_Unit(start, last.end, _count_tokens(text[start:last.end]), False, False)] \
                        if start is not None else []
                own = len(group)
            if _count_tokens(text[group[0].start if group else unit.start:unit.end]) > max_tokens:
                smaller = _split_unit(text, unit, max_tokens, group[0].start if group else unit.start)
                if smaller:
                    queue.extendleft(reversed(smaller))
                    continue
                if group and all(u.heading for u in group):
                    flush()  # heading lines too long to share a chunk even with one character
                    group = []
            group.append(unit)
        flush()
    return chunks


# --- outlines: a section's sub-headings in one passage ------------------------------------------
def _outline_entry(line: str) -> str:
    """What an outline shows of a heading line: the whole line when it is only a heading, else the
    line up to the end of its label ("1.人工智能。", "（一）加强组织领导。") or, for a long heading
    without a short label, its first sentence. Always a verbatim prefix of the stripped line."""
    p = line.strip()
    if is_heading_only(p):
        return p
    m = _LABEL_END.search(p)
    if m and m.start() <= MAX_HEADING_CHARS:
        return p[:m.end()]
    spans = split_sentences(p)
    return p[:spans[0][1]] if spans else p


OUTLINE_LABEL = "提纲"  # the last part of an outline's section path: "十一、保障措施 › 提纲"


def outline_section(chunk: Chunk) -> str:
    """The path of the section an outline passage outlines ("" for the document's chapters)."""
    return chunk.section[:-len(OUTLINE_LABEL)].removesuffix(SECTION_SEP)


def build_outlines(doc_id: str, text: str, max_tokens: int = 320, lead: bool = True) -> list[Chunk]:
    """Outline passages (``kind == "outline"``): for every section with at least two sub-sections —
    and for the document itself, whose sub-sections are its chapters — one passage listing the
    section's heading and each direct sub-section's heading, one per line (``_outline_entry``: a
    verbatim prefix of the heading line), with ``lead`` followed by the sub-section's first sentence
    (on the heading's line, "1.人工智能。坚持以数据高效汇聚为支撑…。", or, after a heading-only line,
    the first sentence of the next line). A list question ("规划有哪几项保障措施", "要培育哪些未来产业")
    then finds every item with its gist in one passage, although each item's body lies in its own
    section — a table of contents with lead sentences. Every line is verbatim document text.

    An outline longer than ``max_tokens`` is split into several, each starting with the section's
    heading line. ``section`` is the section's path plus " › 提纲" (``OUTLINE_LABEL``; "提纲" for the
    document's chapters); ``start``/``end`` span from the section's heading to its last sub-heading
    line (``text`` is not a slice of the document: it joins lines). Document order of sections."""
    nodes: dict[str, dict] = {"": {"entry": "", "start": None, "children": []}}
    order = [""]
    for ln in _walk(text):
        if ln.toc:
            continue
        line = text[ln.start:ln.end]
        if ln.level is None:
            if lead and order and nodes[order[-1]].get("open"):
                node = nodes[order[-1]]
                spans = split_sentences(line.strip())
                node["entry"] += "\n" + (line.strip()[:spans[0][1]] if spans else line.strip())
                node["open"] = False
            elif order:
                nodes[order[-1]]["open"] = False
            continue
        path, parent = ln.path, ln.parent
        if lead and ln.level == LABEL_LEVEL and nodes.get(parent, {}).get("open"):
            # a heading-only line whose text opens with labelled blocks: its lead is the first label
            nodes[parent]["entry"] += "\n" + _outline_entry(line)
            nodes[parent]["open"] = False
        if path in nodes:  # the same heading path twice (a repeated label): keep the first
            continue
        entry = _outline_entry(line)
        rest = line.strip()[len(entry):]
        if lead and rest.strip():
            spans = split_sentences(rest)
            entry += rest[:spans[0][1]] if spans else rest
        nodes[path] = {"entry": entry, "start": ln.start, "end": ln.end, "children": [],
                       "open": lead and not rest.strip()}
        order.append(path)
        nodes[parent]["children"].append(path)
    out: list[Chunk] = []
    for path in order:
        node = nodes[path]
        kids = node["children"]
        if len(kids) < 2:
            continue
        head = [node["entry"]] if node["entry"] else []
        groups: list[list[str]] = [[]]
        for kid in kids:
            entry = nodes[kid]["entry"]
            if groups[-1] and _count_tokens("\n".join(head + groups[-1] + [entry])) > max_tokens:
                groups.append([])
            groups[-1].append(entry)
        for group in groups:
            body = "\n".join(head + group)
            start = node["start"] if node["start"] is not None else nodes[kids[0]]["start"]
            section = SECTION_SEP.join(p for p in (path, OUTLINE_LABEL) if p)
            out.append(Chunk(chunk_id(doc_id, f"outline\n{path}\n{body}"), doc_id, section, body, start,
                             nodes[kids[-1]]["end"], _count_tokens(body), "outline"))
    return out
