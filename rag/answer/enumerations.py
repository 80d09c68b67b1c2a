"""List answers of the extractive answer (``rag.answer.extractive.compose``): the rest of an enumeration
a chosen sentence heads (``_continuation``: the labels after a label sentence, the numbered items after a
"…：" sentence, also from the next passage of the same section), the "…：" head of a bare numbered item
(``_list_head``), the number of items a head heads (``_head_items``, ``LIST_HEAD_ITEM_BONUS``), and the
sub-sections of a section a list question names (``asks_section_items``, ``outline_items``) with the
sentence that says what is asked about each (``_asks_more``, ``_item_content``).

Of the extractive answer's modules it imports ``rag.answer.scoring`` only.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answer.scoring import MAX_SENTENCE_CHARS, ScoredSentence, _HEADING_NUMBER, _bigrams, _label_run
from rag.injection import inside, instruction_spans
from rag.retrieve.lists import is_label
from rag.text import normalize, split_sentences
from rag.types import Hit


LIST_HEAD_ITEM_BONUS = 0.04  # per item (at most 8) of the enumeration a "…下列事项：" sentence heads, as for 、 items


def _head_items(s: ScoredSentence) -> int:
    """The number of numbered items ("（一）", "1.", "一、") on the lines right after ``s`` in its passage
    when ``s`` ends in "：", else 0."""
    text = s.hit.chunk.text
    if not text[s.start:s.end].rstrip().endswith(("：", ":")) or "\n" not in text[s.end:s.end + 3]:
        return 0
    n = 0
    for line in text[s.end:].split("\n"):
        if not line.strip():
            continue
        if not _HEADING_NUMBER.match(line):
            break
        n += 1
    return n


def _continuation(s: ScoredSentence, hits: list[Hit], limit: int = 10) -> list[ScoredSentence]:
    """The rest of an enumeration that ``s`` heads: for a label sentence, the labels after it (a 专栏's
    items, "新型能源材料。…先进高分子材料。"); for a sentence ending in "：", the sentences after it.
    When the run reaches the end of the chunk it continues in the next chunk of the same document
    section among ``hits`` (chunks overlap by one sentence, or follow after the line break that ends
    this one; repeats are dropped). Verbatim spans."""
    text = s.hit.chunk.text
    spans = split_sentences(text)
    i = next((j for j, (a, _) in enumerate(spans) if a == s.start), None)
    if i is None:
        return []
    colon = text[s.start:s.end].rstrip().endswith(("：", ":"))
    if not (colon or is_label(text[s.start:s.end])):
        return []
    out: list[ScoredSentence] = []
    hit, seen = s.hit, {normalize(text[s.start:s.end])}
    while hit is not None and len(out) < limit:
        if colon:
            items, stop = _numbered_run(hit.chunk.text, spans[i + 1:i + 1 + limit]), False
        else:
            items = _label_run(hit.chunk.text, spans, i)
            stop = any(hit.chunk.text[a:b].lstrip().startswith(("——", "--")) for a, b in spans[i + 1:])
        orders = instruction_spans(hit.chunk.text)
        for a, b in items:
            key = normalize(hit.chunk.text[a:b])
            if key not in seen and len(out) < limit and not inside(orders, a, b):
                seen.add(key)
                out.append(ScoredSentence(hit, a, b, s.coverage, s.score))
        if stop or (colon and len(spans) - i - 1 > limit):
            break
        chunk = hit.chunk
        hit = min((h for h in hits if h.chunk.doc_id == chunk.doc_id and h.chunk.section == chunk.section
                   and h.chunk.kind == chunk.kind and chunk.start < h.chunk.start <= chunk.end + 1),
                  key=lambda h: h.chunk.start, default=None)
        if hit is not None:
            spans, i = split_sentences(hit.chunk.text), -1
    return out


def _list_head(s: ScoredSentence) -> ScoredSentence | None:
    """The "…：" sentence heading the numbered list that ``s`` is an item of ("第二十六条 本市生活垃圾分为以下
    四类：" for "（二）有害垃圾，指…"): ``s`` starts a line with an item number, and the lines before it in its
    passage are numbered items up to a line ending in "：" (its last sentence, which may follow the article's
    lead sentence: "第四十四条…提供相应的服务。物业服务合同可以约定下列服务事项："); that sentence with ``s``'s
    scores, else None."""
    text = s.hit.chunk.text
    if not _HEADING_NUMBER.match(text[s.start:s.end]) or not _starts_line(text, s.start):
        return None
    for a, b in reversed([sp for sp in split_sentences(text) if sp[1] <= s.start]):
        raw = text[a:b]
        if raw.rstrip().endswith(("：", ":")) and text[b:s.start].lstrip(" \t\u3000").startswith("\n"):
            return replace(s, start=a, end=b)  # the head ends its line (it may follow the article's lead sentence)
        if not _starts_line(text, a):
            continue  # a later sentence of an item's line
        if _HEADING_NUMBER.match(raw):
            continue
        return None
    return None


def _starts_line(text: str, a: int) -> bool:
    """Offset ``a`` of ``text`` begins a line (spaces before it aside)."""
    return a == 0 or text[:a].rstrip(" \t\u3000").endswith("\n")


def _numbered_run(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` (the sentences after a "…：" head) up to the first line that does not start with an item
    number when the first starts with one ("（一）…；（二）…" then the article's next paragraph); all of
    them otherwise."""
    if not spans or not _HEADING_NUMBER.match(text[spans[0][0]:spans[0][1]]):
        return spans
    out = []
    for a, b in spans:
        if _starts_line(text, a) and not _HEADING_NUMBER.match(text[a:b]):
            break
        out.append((a, b))
    return out


ITEM_SUPPLEMENT = 0.15  # share of the question's term weight the best sentence must add to the items


def _asks_more(items: list[ScoredSentence], sentences: list[ScoredSentence], terms: dict[str, float]) -> bool:
    """True when the best of ``sentences`` that is no outline line holds question ``terms`` (term →
    idf weight) worth ≥ ``ITEM_SUPPLEMENT`` of the question's weight that neither the ``items`` nor
    their section headings hold: the question asks for more than the items' names."""
    known = normalize("".join(it.text + it.hit.chunk.section for it in items)).lower()
    total = sum(terms.values()) or 1.0
    best = next((s for s in sentences if s.hit.chunk.kind != "outline"), None)
    if best is None:
        return False
    sent = normalize(best.text).lower()
    return sum(w for t, w in terms.items() if t in sent and t not in known) / total >= ITEM_SUPPLEMENT


ITEM_CONTENT = 0.4  # share of the asked terms' weight an item's sentence must hold to be shown with it


def _item_content(item: ScoredSentence, items: list[ScoredSentence], terms: dict[str, float]) -> list[ScoredSentence]:
    """The sentence of ``item``'s own passage (its sub-section's first passage; [] for an item quoted
    from the outline) that says what the question asks about the item: of the question ``terms``
    (term → idf weight) that neither the items, their section paths nor the document title hold (the
    asked terms: 牵头, 高地, 国家战略 …), it holds the largest weight, at least ``ITEM_CONTENT`` of
    them; the earliest on ties. [] when no sentence after the item's heading does."""
    chunk = item.hit.chunk
    if chunk.kind == "outline" or item.start < 0:
        return []
    known = normalize("".join(it.text + it.hit.chunk.section for it in items) + item.hit.title).lower()
    asked = {t: w for t, w in terms.items() if t not in known}
    total = sum(asked.values())
    if total <= 0:
        return []
    best, best_w = None, 0.0
    orders = instruction_spans(chunk.text)
    for a, b in split_sentences(chunk.text):
        if a < item.end or b - a > MAX_SENTENCE_CHARS * 2 or (orders and inside(orders, a, b)):
            continue
        sent = normalize(chunk.text[a:b]).lower()
        w = sum(v for t, v in asked.items() if t in sent)
        if w > best_w:
            best, best_w = (a, b), w
    if best is None or best_w < ITEM_CONTENT * total:
        return []
    return [ScoredSentence(item.hit, best[0], best[1], item.coverage, item.score)]


LIST_SECTION_MATCH = 0.75  # share of the section title's character bigrams the question must contain
MIN_CLAUSE_CHARS = 4  # a clause of a two-part section title this long names the section on its own


def asks_section_items(question: str, section_title: str) -> bool:
    """True when ``question`` names the section ``section_title`` ("五、保障措施", "(一)壮大新兴产业"):
    at least ``LIST_SECTION_MATCH`` of the character bigrams of the title (its numbering stripped) or of
    one of its clauses (``MIN_CLAUSE_CHARS`` or more: "突出发展支柱产业" of "（一）突出发展支柱产业，推动能级再跃升")
    occur in the question — then a list question asks for that section's sub-sections."""
    title = _HEADING_NUMBER.sub("", section_title).strip("。. ")
    q = re.sub(r"\s+", "", question)
    # the title, or one clause of a two-part title ("突出发展支柱产业，推动能级再跃升" is named by 突出发展的五大支柱产业)
    clauses = [title] + [c for c in re.split(r"[，,；;]", title) if len(c) >= MIN_CLAUSE_CHARS and c != title]
    for clause in clauses:
        grams = _bigrams(clause)
        if grams and sum(g in q for g in grams) / len(grams) >= LIST_SECTION_MATCH:
            return True
    return False


def outline_items(question: str, outline: Hit, first_chunk=None) -> list[ScoredSentence]:
    """The items of the section an outline passage outlines (``rag.ingest.chunking.build_outlines``), when the
    question names that section (``asks_section_items``); [] otherwise or with fewer than two items.

    Each item is its sub-heading as the outline shows it (``_outline_entry``: "（三）未来交通",
    "1.人工智能。"), quoted verbatim from the sub-section's own first passage when
    ``first_chunk(doc_id, section_path) -> Hit | None`` finds one holding it (the reader opens the
    sub-section, not the outline), else from the outline passage itself. Document order."""
    from rag.ingest.chunking import SECTION_SEP, _outline_entry, heading_label, heading_level, outline_section

    parent = outline_section(outline.chunk)
    if not asks_section_items(question, parent.split(SECTION_SEP)[-1] if parent else ""):
        return []
    text = outline.chunk.text
    if any(heading_level(line) is not None and asks_section_items(question, heading_label(line))
           for line in text.split("\n")[1 if parent else 0:]):
        return []  # the question names one of the items: it asks about that sub-section
    items: list[ScoredSentence] = []
    pos = 0
    for i, line in enumerate(text.split("\n")):
        start, pos = pos, pos + len(line) + 1
        if heading_level(line) is None or (i == 0 and parent):
            continue  # lead sentences, and the section's own heading
        entry = _outline_entry(line)
        a = start + max(line.find(entry), 0)  # outline lines are stripped heading lines: entry is their prefix
        item = ScoredSentence(outline, a, a + len(entry), 1.0, 1.0)
        path = SECTION_SEP.join(p for p in (parent, heading_label(line)) if p)
        own = first_chunk(outline.chunk.doc_id, path) if first_chunk else None
        at = own.chunk.text.find(item.text) if own is not None else -1
        items.append(ScoredSentence(own, at, at + len(item.text), 1.0, 1.0) if at >= 0 else item)
    return items if len(items) >= 2 else []
