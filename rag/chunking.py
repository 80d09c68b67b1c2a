"""Structure-aware chunking of cleaned Chinese policy documents.

Heading levels (the numbering styles of Chinese policy documents, in the order they nest):

====== ==================================== =====================================
level  pattern                              example
====== ==================================== =====================================
1      ``一、`` … ``十、``                   ``二、重点突破方向``
2      ``（一）`` or ``(一)``                ``（一）壮大新兴产业``
3      ``1.`` ``1．`` ``1、``                 ``2. 机器人``
4      ``专栏 N``                           ``专栏 1 电子信息技术``
====== ==================================== =====================================

Back matter — a glossary (``名词解释``, also spaced out as ``名 词 解 释``) or an appendix (``附录``) —
is a level-1 heading too, so that its entries are not sub-sections of the last chapter.

Markdown ``#`` marks in the source are not trusted for the level (the bundled 000 document puts
``#`` and ``####`` on headings of the same level); the numbering decides. A heading often opens
its paragraph (``1.人工智能。坚持…``): the label is the text before the first 。/./：.

Chunks never cross a section boundary, break only between sentences (or table rows, which stay
whole), and hold at most ``max_tokens`` cl100k tokens unless a single sentence or row is longer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from rag.text import count_tokens, split_sentences
from rag.types import Chunk

SECTION_SEP = " › "

_LEVELS = [
    # back matter (a glossary, an appendix) ends the last chapter: its entries are not that chapter's
    (1, re.compile(r"^(?:名\s*词\s*解\s*释|术\s*语\s*解\s*释|附\s*录)\s*$")),
    (1, re.compile(r"^[一二三四五六七八九十]{1,3}、")),
    (2, re.compile(r"^[（(][一二三四五六七八九十]{1,3}[）)]")),
    (3, re.compile(r"^\d{1,2}[.．、](?!\d)")),
    (4, re.compile(r"^专栏\s*\d{1,2}")),
]
_LABEL_END = re.compile(r"[。：:]|(?<=[\u4e00-\u9fff])\.(?!\d)")
MAX_HEADING_CHARS = 40


def heading_level(paragraph: str) -> int | None:
    """The heading level (1–4) that ``paragraph`` opens, or None when it is body text."""
    p = paragraph.strip()
    for level, pattern in _LEVELS:
        if pattern.match(p):
            if level == 3 and len(p) > MAX_HEADING_CHARS and not _LABEL_END.search(p[:MAX_HEADING_CHARS]):
                return None  # a long numbered sentence without a short label is a list item
            return level
    return None


def heading_label(paragraph: str) -> str:
    """The heading's label: the whole paragraph when short, else the text before the first 。/./：.

    >>> heading_label("1.人工智能。坚持以数据高效汇聚为支撑")
    '1.人工智能'
    """
    p = paragraph.strip()
    m = _LABEL_END.search(p)
    if m and m.start() <= MAX_HEADING_CHARS:
        return p[: m.start()].strip()
    if len(p) <= MAX_HEADING_CHARS:
        return p.rstrip("。.")
    return p[:MAX_HEADING_CHARS] + "…"


def is_heading_only(paragraph: str) -> bool:
    """True when the paragraph is nothing but a heading (no body text after its label)."""
    p = paragraph.strip().rstrip("。.")
    return heading_level(p) is not None and len(p) <= MAX_HEADING_CHARS and not _LABEL_END.search(p)


@dataclass
class _Unit:
    start: int
    end: int
    tokens: int
    table: bool
    para_end: bool  # the unit ends its paragraph
    header: str = ""  # for a table row: the first row of its table (run of consecutive rows)
    heading: bool = False  # the run of heading-only lines that opens a section's first chunk


def chunk_id(doc_id: str, text: str) -> str:
    """Stable id: same document and text → same id (sha1, 16 hex digits)."""
    return hashlib.sha1(f"{doc_id}\n{text}".encode("utf-8")).hexdigest()[:16]


def _sections(text: str):
    """Yield ``(path, [(start, end, is_table, is_heading)])`` per section, in document order.

    A run of heading-only lines ("二、重点方向", "（一）壮大新兴产业") becomes one paragraph
    (``is_heading``) in front of the next body line, so that the headings are chunk text too (a span
    of a heading line is then contained in a chunk); trailing headings without body form a section
    of their own."""
    stack: list[tuple[int, str]] = []
    path = ""
    paras: list[tuple[int, int, bool, bool]] = []
    pending: tuple[int, int] | None = None  # the run of heading-only lines not yet in a paragraph
    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            continue
        level = heading_level(line)
        if level is not None:
            if paras:
                yield path, paras
            paras = []
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading_label(line)))
            path = SECTION_SEP.join(label for _, label in stack)
            if is_heading_only(line):
                pending = (pending[0] if pending else start, end)
                continue
        table = line.count("\t") >= 2
        if pending:
            paras.append((pending[0], pending[1], table, True))
            pending = None
        paras.append((start, end, table, False))
    if pending:
        paras.append((pending[0], pending[1], False, True))
    if paras:
        yield path, paras


def _units(text: str, paras, max_tokens: int) -> list[_Unit]:
    units: list[_Unit] = []
    header = ""
    for start, end, table, heading in paras:
        tokens = count_tokens(text[start:end])
        if heading:  # joins the chunk of what follows it (a table's first chunk when a table follows)
            units.append(_Unit(start, end, tokens, table, True, heading=True))
            continue
        if table:
            if not (units and units[-1].table and not units[-1].heading):  # a table opens: its first row is the header
                header = text[start:end]
            units.append(_Unit(start, end, tokens, True, True, header))
            continue
        if tokens <= max_tokens:
            units.append(_Unit(start, end, tokens, False, True))
            continue
        spans = split_sentences(text[start:end], offset=start)
        for i, (s, e) in enumerate(spans):
            for ps, pe in _split_long(text, s, e, max_tokens, max(max_tokens // OVERLAP_DIVISOR, 1)):
                units.append(_Unit(ps, pe, count_tokens(text[ps:pe]), False, i == len(spans) - 1 and pe == e))
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
    if count_tokens(text[start:end]) <= max_tokens:
        return [(start, end)]
    piece_tokens = piece_tokens or max_tokens
    pieces, piece_start, last_break = [], start, None
    for m in _SOFT_BREAK.finditer(text, start, end):
        if count_tokens(text[piece_start:m.end()]) > piece_tokens and last_break and last_break > piece_start:
            pieces.append((piece_start, last_break))
            piece_start = last_break
        last_break = m.end()
    pieces.append((piece_start, end))
    return [(s, e) for s, e in pieces if text[s:e].strip()]


def overlap_start(text: str, group: list[_Unit], max_tokens: int) -> int:
    """Where the chunk after ``group`` starts when it continues ``group``'s last line: at least
    ``SPAN_CHARS`` non-space characters before the border (or the line's start / the group's start,
    when nearer), moved back to the latest sentence (unit) start, else to the latest clause break
    (，、；：space), that keeps the overlap within ``max_tokens // OVERLAP_DIVISOR`` tokens (or the
    tokens of the minimal tail, when that is more), but never to the group's start (only a group
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
    cap = max(max_tokens // OVERLAP_DIVISOR, count_tokens(text[p:end]))
    starts = [u.start for u in group if floor <= u.start <= p and u.start > group[0].start]
    breaks = [m.end() for m in _SOFT_BREAK.finditer(text, floor, p) if group[0].start < m.end() <= p]
    for candidates in (starts, breaks):
        for s in reversed(candidates):
            if count_tokens(text[s:end]) <= cap:
                return s
            break  # an earlier start would only be longer
    return p


def chunk_document(doc_id: str, text: str, max_tokens: int = 320) -> list[Chunk]:
    """Split a cleaned document into section-bounded chunks.

    Returns chunks in document order; ``chunk.text == text[chunk.start:chunk.end]``. Units (whole
    paragraphs when they fit, else sentences, and pieces of over-long sentences; table rows always
    whole; a section's heading-only lines open its first chunk) are packed greedily up to
    ``max_tokens``. A chunk that continues a line of the previous chunk first repeats the end of
    that chunk (``overlap_start``: ≥ ``SPAN_CHARS`` characters, preferably whole sentences, at most
    ``max_overlap_tokens``), so a chunk holds at most ``max_tokens`` + that overlap (more only when
    one unit alone is longer). Coverage invariant: every span of ≤ ``SPAN_CHARS`` non-space
    characters within one line of ``text`` is contained in some chunk. A table's first row (the
    first of a run of consecutive rows) is kept as ``context`` for chunks that continue the table.
    """
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for path, paras in _sections(text):
        group: list[_Unit] = []
        own = 0  # group[own:] is the chunk's own text; group[:own] repeats the previous chunk's end

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
            is_table = all(u.table for u in group)
            header = group[0].header
            context = header if is_table and header and not body.startswith(header) else ""
            chunks.append(Chunk(cid, doc_id, path, body, s, e, count_tokens(body), "table" if is_table else "text",
                                context))

        for unit in _units(text, paras, max_tokens):
            if group and (unit.table != group[-1].table
                          or count_tokens(text[group[own].start:unit.end]) > max_tokens):
                last = group[-1]
                start = None
                if not (unit.table or last.table or last.para_end):  # the border is inside a line
                    start = overlap_start(text, group, max_tokens)
                if group[-1].heading or (start is not None and start <= group[0].start):
                    own = len(group)  # headings alone, or a group shorter than the overlap: no chunk of its own
                else:
                    flush()
                    group = [_Unit(start, last.end, count_tokens(text[start:last.end]), False, False)] \
                        if start is not None else []
                    own = len(group)
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
    stack: list[tuple[int, str]] = []
    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        level = heading_level(line) if line.strip() else None
        if level is None:
            if lead and line.strip() and order and nodes[order[-1]].get("open"):
                node = nodes[order[-1]]
                spans = split_sentences(line.strip())
                node["entry"] += "\n" + (line.strip()[:spans[0][1]] if spans else line.strip())
                node["open"] = False
            elif line.strip() and order:
                nodes[order[-1]]["open"] = False
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        parent = SECTION_SEP.join(label for _, label in stack)
        stack.append((level, heading_label(line)))
        path = SECTION_SEP.join(label for _, label in stack)
        if path in nodes:  # the same heading path twice (a repeated label): keep the first
            continue
        entry = _outline_entry(line)
        rest = line.strip()[len(entry):]
        if lead and rest.strip():
            spans = split_sentences(rest)
            entry += rest[:spans[0][1]] if spans else rest
        nodes[path] = {"entry": entry, "start": start, "end": end, "children": [],
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
            if groups[-1] and count_tokens("\n".join(head + groups[-1] + [entry])) > max_tokens:
                groups.append([])
            groups[-1].append(entry)
        for group in groups:
            body = "\n".join(head + group)
            start = node["start"] if node["start"] is not None else nodes[kids[0]]["start"]
            section = SECTION_SEP.join(p for p in (path, OUTLINE_LABEL) if p)
            out.append(Chunk(chunk_id(doc_id, f"outline\n{path}\n{body}"), doc_id, section, body, start,
                             nodes[kids[-1]]["end"], count_tokens(body), "outline"))
    return out
