"""Merging rankings: reciprocal rank fusion and the re-orderings that routing applies after it.

All functions work on chunk row ids (ints, best first) and return new lists without duplicates:

* ``reciprocal_rank_fusion`` — score(d) = Σ_r w_r / (k_rrf + rank_r(d)), k_rrf = 60 (Cormack, Clarke &
  Büttcher, SIGIR 2009);
* ``protect_rows`` — the global ranking's best rows stay inside the top k whatever routing adds;
* ``guarantee_scope_slots`` — every compared scope (document/region) gets places early in the list;
* ``article_pieces`` — the pieces of a regulation article cut into several chunks, which fusion counts
  at the rank of the best-ranked one (``reciprocal_rank_fusion(…, pieces=…)``) and a compared scope's
  ranking lists together (``with_article_pieces``);
* ``DocumentCitations`` / ``add_citing_rows`` — the articles of a regulation that cite an article
  ("违反本条例第二十一条第一款…的，…处…罚款": the penalty of that article's obligation), placed right
  after a top hit on the cited article when a question asks about a penalty.
"""

from __future__ import annotations

import operator
import re
import threading
from collections.abc import Mapping

from rag.types import DerivedData, locked_cached_property

PROTECTED_ROWS = 2  # the global ranking's best rows, which routing may move down but not out of the top k


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60, weights: list[float] | None = None,
                           pieces: dict[int, tuple[int, ...]] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids (best first) into one: ``[(id, score)]`` sorted by descending score.

    score(id) = Σ_i w_i / (k + rank_i(id)), ranks 1-based; ids missing from a list add nothing.
    ``pieces`` (``article_pieces``: row → all pieces of its article): within each list, a piece counts
    at the rank of the best-ranked piece of its article, the pieces a list did not place there
    ``PIECE_OFFSET`` behind it, unless the list ranks them better themselves — an article is one unit,
    and its pieces take no place from the rows ranked after it. Ties keep the order of first appearance.
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        ranks: dict[int, float] = {}
        for rank, item in enumerate(ranking, start=1):
            for row in (pieces.get(item, (item,)) if pieces else (item,)):
                own = rank if row == item else rank + PIECE_OFFSET
                if own < ranks.get(row, float("inf")):
                    ranks[row] = own
        for row, rank in ranks.items():
            scores[row] = scores.get(row, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


PIECE_OFFSET = 1  # places behind the best-ranked piece at which a list counts the other pieces of its article


def protect_rows(order: list[int], protected: list[int], window: int) -> list[int]:
    """``order`` with every row of ``protected`` inside its first ``window`` places.

    Nothing changes when they already are; otherwise the window keeps its protected rows and the
    best ``window - len(protected)`` other rows, in their order in ``order`` (a protected row ranked
    lower thus moves up to just inside the window; one missing from ``order`` goes last in it), and
    the other rows follow. Row ids, best first, without duplicates."""
    protected = list(dict.fromkeys(protected))[:max(window, 0)]
    if window < 1 or all(row in order[:window] for row in protected):
        return list(order)
    keep = set(protected)
    others = [row for row in order if row not in keep]
    keep.update(others[:window - len(protected)])
    head = [row for row in order if row in keep]
    return head + [row for row in protected if row not in head] + others[window - len(protected):]


def guarantee_scope_slots(global_order: list[int], scope_orders: list[list[int]], slots: int,
                          head: int = 1) -> list[int]:
    """Merge a global ranking with per-scope rankings so that every scope is represented early.

    The result starts with the global ranking's first ``head`` rows, then takes rows round-robin from the scopes'
    rankings (skipping rows already taken) until each scope has ``slots`` of its rows in the list
    (a row counts for every scope whose ranking holds it), then continues with the global ranking and
    finally with the scopes' remaining rows. Row ids, best first, without duplicates.
    """
    out = list(global_order[:head])
    members = [set(o) for o in scope_orders]
    pointers = [0] * len(scope_orders)

    def have(i):
        return sum(1 for row in out if row in members[i])

    progress = True
    while progress:
        progress = False
        for i, ranking in enumerate(scope_orders):
            if have(i) >= slots:
                continue
            while pointers[i] < len(ranking) and ranking[pointers[i]] in out:
                pointers[i] += 1
            if pointers[i] < len(ranking):
                out.append(ranking[pointers[i]])
                progress = True
    taken = set(out)
    for row in [*global_order, *(r for o in scope_orders for r in o)]:
        if row not in taken:
            out.append(row)
            taken.add(row)
    return out


_ARTICLE = re.compile(r"第[零〇一二三四五六七八九十百千\d]+条$")  # a section path ending in an article (第二十六条)


def article_pieces(index) -> dict[int, tuple[int, ...]]:
    """Row → the rows of all pieces of its article, in text order, for the text chunks of a regulation
    article (section path ending in 第…条, the standard unit of Chinese laws and regulations) that
    chunking cut into two or more chunks; rows of whole articles are absent. Built once per loaded index
    (one pass over the chunks) and kept with it (``FusionData``)."""
    return FusionData.of(index).article_pieces


class FusionData(DerivedData):
    """What fusion derives from one index (``index``: needs ``chunks``), built on first use and kept:
    ``article_pieces`` (see the function of that name)."""

    @locked_cached_property
    def article_pieces(self) -> dict[int, tuple[int, ...]]:
        chunks = self.index.chunks
        by_article: dict[tuple[str, str], list[int]] = {}
        for row, chunk in enumerate(chunks):
            if chunk.kind == "text" and _ARTICLE.search(chunk.section or ""):
                by_article.setdefault((chunk.doc_id, chunk.section), []).append(row)
        pieces: dict[int, tuple[int, ...]] = {}
        for rows in by_article.values():
            if len(rows) > 1:
                ordered = tuple(sorted(rows, key=lambda r: chunks[r].start))
                pieces.update(dict.fromkeys(ordered, ordered))
        return pieces


def with_article_pieces(ranking: list[int], pieces: dict[int, tuple[int, ...]]) -> list[int]:
    """``ranking`` (rows, best first) with all pieces of each article (``article_pieces``) in the place
    of its best-ranked piece, in text order: an article is retrieved as one unit, so that
    the head of an enumeration ("本市生活垃圾分为以下四类：") comes with the items one ranking liked and
    the items with the head another ranking liked. Rows without pieces keep their order."""
    if not pieces:
        return ranking
    out: list[int] = []
    seen: set[int] = set()
    for row in ranking:
        for r in pieces.get(row, (row,)):
            if r not in seen:
                seen.add(r)
                out.append(r)
    return out


# --- articles citing an article: the penalty for breaking an obligation ------------------------------
_NUM = "[零〇一二三四五六七八九十百千\\d]+"
# "违反本条例第九条第四款", "违反本办法第十条、第十二条规定", "违反本条例第八条至第十条": the articles a
# sentence says are broken — the standard wording of a 法律责任 article of Chinese laws and regulations
_CITATION = re.compile(rf"违反本(?:条例|办法|规定|细则|决定|法)((?:第{_NUM}[条款项]|、|，|,|和|及|与|或者|或|以及|至|到)+)")
_CITED = re.compile(rf"第({_NUM})条(?:(?:第{_NUM}[款项])*(?:至|到)第({_NUM})条)?")
_ARTICLE_NUMBER = re.compile(rf"第({_NUM})条$")
MAX_CITED_SPAN = 20  # a range "第八条至第十条" is expanded up to this many articles


def cited_articles(text: str) -> list[int]:
    """Article numbers ``text`` says are broken (``违反本条例第X条…``), in order of first mention:
    "违反本条例第九条第四款…或者违反本条例第二十一条第一款" → [9, 21]; "违反本办法第八条至第十条规定" →
    [8, 9, 10]. [] when it cites none (a generic "违反本条例规定" names no article)."""
    from rag.ingest.chunking import cn_number

    out: list[int] = []
    for m in _CITATION.finditer(text):
        for c in _CITED.finditer(m.group(1)):
            first = cn_number(c.group(1))
            last = cn_number(c.group(2)) if c.group(2) else first
            if first is None or last is None:
                continue
            span = range(first, last + 1) if 0 <= last - first <= MAX_CITED_SPAN else (first,)
            out += [n for n in span if n not in out]
    return out


def article_number(section: str) -> int | None:
    """The number of the article a section path ends in ("第三章 服务规范 › 第二十一条" → 21); None for
    any other section."""
    from rag.ingest.chunking import cn_number

    m = _ARTICLE_NUMBER.search(section or "")
    return cn_number(m.group(1)) if m else None


def citing_rows(chunks, rows) -> dict[int, tuple[int, ...]]:
    """Row → the rows of the same document's text chunks that cite its article (``cited_articles``), for
    the text chunks of regulation articles among ``rows`` (one document's rows): every piece of
    第二十一条 → the piece of 第二十二条 saying "违反本条例第二十一条第一款…的，…罚款". An article's citations of
    itself are left out; rows in text order."""
    by_number: dict[int, list[int]] = {}
    cites: list[tuple[int, int, list[int]]] = []
    for row in rows:
        row = int(row)
        chunk = chunks[row]
        if chunk.kind != "text":
            continue
        number = article_number(chunk.section)
        if number is None:
            continue
        by_number.setdefault(number, []).append(row)
        if "违反本" in chunk.text:
            cited = cited_articles(chunk.text)
            if cited:
                cites.append((row, number, cited))
    links: dict[int, list[int]] = {}
    for row, own, cited in sorted(cites, key=lambda c: chunks[c[0]].start):
        for n in cited:
            if n != own:
                for target in by_number.get(n, ()):
                    if row not in links.setdefault(target, []):
                        links[target].append(row)
    return {row: tuple(citing) for row, citing in links.items()}


class PerDocumentRows(Mapping):
    """Row → value of a per-document map of an index (``build(chunks, rows of one document)`` → ``{row:
    value}``), computed per document on first access of one of its rows (thread-safe): a question pays
    for the documents of its top hits, never for the whole library. ``chunks``: the index's chunks;
    ``doc_of_row``: int array, row → document position; ``rows_of_doc``: document position → its rows in
    ascending order. A row outside the index or of no entry is absent; iterating or ``len`` computes every
    document."""

    def __init__(self, chunks, doc_of_row, rows_of_doc, build):
        self._chunks = chunks
        self._doc_of_row = doc_of_row
        self._rows_of_doc = rows_of_doc
        self._build = build
        self._built: dict[int, dict] = {}
        self._lock = threading.Lock()

    def _doc(self, position: int) -> dict:
        built = self._built.get(position)
        if built is None:
            built = self._build(self._chunks, self._rows_of_doc[position])
            with self._lock:
                built = self._built.setdefault(position, built)
        return built

    def _of(self, row) -> dict:
        try:
            row = operator.index(row)
        except TypeError:
            return {}
        if not 0 <= row < len(self._chunks):
            return {}
        return self._doc(int(self._doc_of_row[row]))

    def __getitem__(self, row: int):
        return self._of(row)[row]

    def __contains__(self, row) -> bool:
        return row in self._of(row)

    def __iter__(self):
        for position in range(len(self._rows_of_doc)):
            yield from self._doc(position)

    def __len__(self) -> int:
        return sum(len(self._doc(p)) for p in range(len(self._rows_of_doc)))


class DocumentCitations(PerDocumentRows):
    """``citing_rows`` of an index per document on first use (``PerDocumentRows``): row of an article →
    rows of the articles of its document that cite it."""

    def __init__(self, chunks, doc_of_row, rows_of_doc):
        super().__init__(chunks, doc_of_row, rows_of_doc, citing_rows)


MAX_CITING = 2  # citing articles added for one question
CITING_RANKS = 3  # only hits among the first this many places bring the articles citing them


def add_citing_rows(order: list[int], citing: Mapping[int, tuple[int, ...]], window: int, protected: list[int],
                    limit: int = MAX_CITING, ranks: int = CITING_RANKS) -> list[int]:
    """``order`` (rows, best first) with the rows citing each of its first ``min(ranks, window)`` rows
    (``citing[row]``, ``DocumentCitations``: the penalty articles of an obligation) moved or added
    directly after that row (behind citing rows already placed there; at most ``limit`` in all), unless
    the citing row already ranks before the row it cites or would land outside the first ``window``
    places. Each addition pushes the window's lowest-ranked row down; the rows of ``protected`` (the
    global top 2) stay inside the window (``protect_rows``). Row ids, best first, without duplicates."""
    out = list(order)
    added: list[int] = []
    for row in order[:min(ranks, window)]:
        for c in citing.get(row, ()):
            if len(added) >= limit:
                break
            at = out.index(row) + 1
            if c in added or (c in out and out.index(c) < at):
                continue
            while at < len(out) and out[at] in added:
                at += 1
            if at >= window:
                continue
            if c in out:
                out.remove(c)  # ranked after ``at``: removing it shifts no place before it
            out.insert(at, c)
            added.append(c)
    return protect_rows(out, protected, window) if added else out
