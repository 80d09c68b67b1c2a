"""List questions: which chunks hold the rest of an enumeration a top hit starts.

* ``list_section_rows`` — the section (with its sub-sections and 专栏) around a list question's best hit,
  ranked as one more list by the retriever;
* ``continuation_rows`` / ``add_continuations`` — the next chunk of a section whose enumeration a top
  hit leaves unfinished (``continues_enumeration``, ``item_start``) is placed right after that hit;
* ``outline_chunks`` / ``merge_outline`` — when a list question's top hits lie in two or more
  sub-sections of one section, that section's outline (its sub-headings with their first sentences in
  one passage, ``rag.ingest.chunking.build_outlines``) is added: the items are the sub-sections themselves.

Row ids are indexes into the index's chunk list (``LoadedIndex.chunks``), best first.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

from rag.ingest.chunking import SECTION_SEP, build_outlines, outline_section
from rag.ingest.headings import ARTICLE_LEVEL, numbered_heading_level
from rag.retrieve.fusion import PerDocumentRows, protect_rows
from rag.text import split_sentences
from rag.types import Chunk, DerivedData, locked_cached_property


MAX_SECTION_CHUNKS = 8  # a list question's section ranking covers at most this many chunks


def list_section_rows(chunks: list[Chunk], top: int, mask, limit: int = MAX_SECTION_CHUNKS,
                      doc_rows=None) -> list[int]:
    """Rows of the section around row ``top`` (the global best hit of a list question) whose items
    an enumeration may span: the shallowest ancestor of its section path, from the second heading
    level down (（六）生物与新医药技术 with its 1. 2. 3. sub-headings and 专栏), whose subtree (that
    section and its sub-sections, same document, allowed by ``mask``) has at most ``limit`` chunks;
    else the hit's own section when that is small enough; else [] (cards: none). Row ids in
    document order. ``doc_rows``: the rows of ``top``'s document in ascending order, when the caller
    has them (only those are then looked at: time ~ the document's chunks, not the library's)."""
    chunk = chunks[top]
    parts = chunk.section.split(" › ") if chunk.section and chunk.kind != "card" else []
    candidates = range(len(chunks)) if doc_rows is None else [int(r) for r in doc_rows]
    for depth in [*range(2, len(parts)), len(parts)] if parts else []:
        prefix = " › ".join(parts[:depth])
        rows = [row for row in candidates
                if (c := chunks[row]).doc_id == chunk.doc_id and c.kind != "card" and mask[row]
                and (c.section == prefix or c.section.startswith(prefix + " › "))]
        if len(rows) <= limit:
            return rows
    return []


# --- list questions: the continuation of an enumeration ------------------------------------------
MAX_CONTINUATIONS = 2  # next chunks added for one list question
CONTINUATION_RANKS = 3  # only hits among the first this many places have their enumeration continued
_UNFINISHED_END = ("、", "，", ",", "：", ":", "；", ";", "以下")
_NUMBERED_ITEM = re.compile(r"^(?:[（(]\d{1,2}[）)]|\d{1,2}[)）]|[①-⑳]|[一二三四五六七八九十]是|第[一二三四五六七八九十]+[，,、])")
_COLON_LABEL = re.compile(r"^[^，,、：:；;。（(]{2,16}[：:]")


def item_start(line: str) -> bool:
    """True when ``line`` opens an enumeration item: "——智能终端。…", "（1）…", "一是…", a label
    sentence followed by its text ("整车。着力扩大规模…", see ``rag.retrieve.lists.is_label``) or a short
    label with a colon ("大数据发展工程：…")."""
    line = line.strip()
    if not line:
        return False
    if line.startswith(("—", "--", "－")) or _NUMBERED_ITEM.match(line) or _COLON_LABEL.match(line):
        return True
    spans = split_sentences(line)
    return bool(spans) and is_label(line[spans[0][0]:spans[0][1]])


def continues_enumeration(chunk: Chunk, following: Chunk) -> bool:
    """True when ``following`` (the next chunk of ``chunk``'s section) carries on an enumeration that
    ``chunk`` leaves unfinished: ``chunk`` ends inside a sentence or on a list head (、，：；, 以下 —
    an enumeration cut by the size limit, "重点发展以下方向："), or ``following`` opens with an item
    (``item_start``: the section is a run of items, "——新型显示。…", "整车。…", whether ``chunk``
    holds earlier items or is the head of the run)."""
    if chunk.text.rstrip().endswith(_UNFINISHED_END):
        return True
    return item_start(following.text.split("\n", 1)[0])


def continuation_rows(chunks: list[Chunk], rows=None) -> dict[int, int]:
    """Row → row of the next chunk of the same document, section and kind (by start offset) when
    ``continues_enumeration`` holds for them; text chunks only (cards and tables have no items).
    ``chunks``: the index's chunks, row i = chunks[i]; ``rows``: only these rows (e.g. one document's,
    ascending), default all."""
    rows = range(len(chunks)) if rows is None else [int(r) for r in rows]
    order = sorted(rows, key=lambda r: (chunks[r].doc_id, chunks[r].section, chunks[r].kind, chunks[r].start))
    out: dict[int, int] = {}
    for a, b in zip(order, order[1:]):
        ca, cb = chunks[a], chunks[b]
        if (ca.kind == "text" and (ca.doc_id, ca.section, ca.kind) == (cb.doc_id, cb.section, cb.kind)
                and continues_enumeration(ca, cb)):
            out[a] = b
    return out


class DocumentContinuations(PerDocumentRows):
    """``continuation_rows`` of an index per document on first use (``rag.retrieve.fusion.PerDocumentRows``): a
    list question pays for the documents of its top hits, never for the whole library."""

    def __init__(self, chunks: list[Chunk], doc_of_row, rows_of_doc):
        super().__init__(chunks, doc_of_row, rows_of_doc, continuation_rows)


def add_continuations(order: list[int], next_rows: dict[int, int], window: int, protected: list[int],
                      limit: int = MAX_CONTINUATIONS, ranks: int = CONTINUATION_RANKS) -> list[int]:
    """``order`` with the continuation ``next_rows[row]`` of each of its first ``min(ranks, window)``
    rows (best first; at most ``limit`` added, none of an added row) placed directly after that row —
    but behind the rows of ``protected`` (the global top 2) and continuations of better rows that
    directly follow it, so that those keep their places — unless it is there already (or ranked before
    the row) or would land outside the first ``window`` places. A continuation ranked lower inside the
    window moves up behind its head (a later insertion, such as a section outline, then keeps it there
    instead of pushing it out); one from outside the window pushes the window's lowest-ranked row out
    of it; a row of ``protected`` stays inside (``protect_rows``). Row ids, best first, without duplicates."""
    out = list(order)
    added: list[int] = []
    for row in order[:min(ranks, window)]:
        nxt = next_rows.get(row)
        if len(added) >= limit or nxt is None:
            continue
        # behind the protected rows (and continuations of better rows) that directly follow the row
        at = out.index(row) + 1
        while at < len(out) and (out[at] in protected or out[at] in added):
            at += 1
        if nxt in out[:window] and out.index(nxt) <= at:
            continue  # already behind its head (or before it)
        if at < window:
            if nxt in out:
                out.remove(nxt)  # ranked after ``at``: removing it shifts no place before ``at``
            out.insert(at, nxt)
            added.append(nxt)
    return protect_rows(out, protected, window) if added else out


# --- list questions: the outline of a section whose sub-sections the top hits spread over ------------
OUTLINE_DEPTH = 10  # hits among the first this many places count for merging into a parent section
OUTLINE_RANK = 3  # the merged outline's place (1-based): behind the global top 2, which keep theirs
UNSPLIT = 1 << 30  # token limit that never splits an outline (outlines are not embedded)


def outline_chunks(index) -> Mapping[tuple[str, str], Chunk]:
    """(doc_id, section path) → the outline passage of that section (``rag.ingest.chunking.build_outlines``
    over the index's cleaned texts, never split), kept with the loaded index (``ListData``) and built per
    document on first use (``DocumentOutlines``). Outlines are not
    indexed: they are only added by ``merge_outline``."""
    return ListData.of(index).outlines


class ListData(DerivedData):
    """What list questions derive from one index (``index``: needs ``doc_texts``), made on first use and
    kept: ``outlines`` (``DocumentOutlines``, itself built per document)."""

    @locked_cached_property
    def outlines(self) -> "DocumentOutlines":
        return DocumentOutlines(self.index.doc_texts)


class DocumentOutlines(Mapping):
    """(doc_id, section path) → outline Chunk, built per document on first access of one of its keys
    (thread-safe): a question pays for the outlines of the documents its hits come from, never for
    every document of a large library. Iterating or ``len`` builds all documents."""

    def __init__(self, doc_texts: dict[str, str]):
        self._texts = doc_texts
        self._built: dict[str, dict[tuple[str, str], Chunk]] = {}
        self._lock = threading.Lock()

    def _doc(self, doc_id: str) -> dict[tuple[str, str], Chunk]:
        outlines = self._built.get(doc_id)
        if outlines is None:
            outlines = {}
            text = self._texts.get(doc_id)
            if text is not None:
                for chunk in build_outlines(doc_id, text, max_tokens=UNSPLIT):
                    outlines.setdefault((doc_id, outline_section(chunk)), chunk)
            with self._lock:
                outlines = self._built.setdefault(doc_id, outlines)
        return outlines

    def __getitem__(self, key: tuple[str, str]) -> Chunk:
        if not isinstance(key, tuple) or len(key) != 2:
            raise KeyError(key)
        return self._doc(key[0])[key]

    def __contains__(self, key) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and key in self._doc(key[0])

    def __iter__(self):
        for doc_id in self._texts:
            yield from self._doc(doc_id)

    def __len__(self) -> int:
        return sum(len(self._doc(doc_id)) for doc_id in self._texts)


def merge_outline(hits: list[Chunk], outlines: Mapping[tuple[str, str], Chunk],
                  depth: int = OUTLINE_DEPTH, rrf_k: int = 60, lead: int = OUTLINE_RANK - 1) -> Chunk | None:
    """The outline of the section whose sub-sections a list question's hits spread over, or None.

    Auto-merging (as LlamaIndex's AutoMergingRetriever merges retrieved children into their parent):
    every section S above a hit among the first ``depth`` of ``hits`` (text and table chunks, best
    first) scores Σ over S's distinct direct sub-sections c of 1/(rrf_k + best rank of a hit in c);
    the best-scoring S that holds one of the first ``lead`` hits (the list is where the best passages
    are), whose hits lie in at least two sub-sections that are not all articles (a
    regulation's chapter; on the dev splits R@5 external_dev 0.962 → 0.969, x6 0.913 → 0.957, key facts x4
    0.586 → 0.552, x5 0.821 → 0.846, the other sets unchanged) and that has an outline wins (a deeper section
    on ties). Before that: when the best hit is a passage of a section S itself that has an outline (it
    opens the list: "发展具有坚实基础和增长趋势的五大支柱产业" above 1.电子信息 … 5.绿色食品), S wins — on the
    bundled dev split R@5 0.949 → 0.955 (three list questions whose items are sub-sections), the other dev
    sets unchanged. The document level (chapters) never merges. ``hits``: chunks, best first."""
    # the best hit opens a section whose sub-sections are the items ("发展具有坚实基础的五大支柱产业" above
    # 1.电子信息 … 5.绿色食品): that section's outline
    top = next((c for c in hits[:1] if c.kind in ("text", "table") and c.section), None)
    if top is not None and (top.doc_id, top.section) in outlines:
        return outlines[(top.doc_id, top.section)]
    best: dict[tuple[str, str], dict[str, int]] = {}
    leading: set[tuple[str, str]] = set()
    for rank, chunk in enumerate(hits[:depth], start=1):
        if chunk.kind not in ("text", "table") or not chunk.section:
            continue
        parts = chunk.section.split(SECTION_SEP)
        for d in range(1, len(parts)):
            parent, child = SECTION_SEP.join(parts[:d]), parts[d]
            kids = best.setdefault((chunk.doc_id, parent), {})
            kids.setdefault(child, rank)
            if rank <= lead:
                leading.add((chunk.doc_id, parent))
    scored = [(sum(1.0 / (rrf_k + r) for r in kids.values()), key[1].count(SECTION_SEP), key)
              for key, kids in best.items() if len(kids) >= 2 and key in outlines and key in leading
              # a regulation's chapter whose hits are its articles: each article states its own items
              and not all(numbered_heading_level(child) == ARTICLE_LEVEL for child in kids)]
    if not scored:
        return None
    return outlines[max(scored)[2]]


_LABEL_STRIP = re.compile(r"^[—\-－–\s]+|[。；;.\s]+$")


def is_label(sentence: str) -> bool:
    """A short label sentence ("新型能源材料。", "——智能制造装备。"): ≤ 16 characters without
    punctuation inside — an item heading in a 专栏 or an enumeration split over sentences."""
    core = _LABEL_STRIP.sub("", sentence.strip())
    return 2 <= len(core) <= 16 and not re.search(r"[，,、：:；;（(]", core)
