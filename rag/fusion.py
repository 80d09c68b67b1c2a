"""Merging rankings: reciprocal rank fusion and the re-orderings that routing applies after it.

All functions work on chunk row ids (ints, best first) and return new lists without duplicates:

* ``reciprocal_rank_fusion`` — score(d) = Σ_r w_r / (k_rrf + rank_r(d)), k_rrf = 60 (Cormack, Clarke &
  Büttcher, SIGIR 2009);
* ``protect_rows`` — the global ranking's best rows stay inside the top k whatever routing adds;
* ``guarantee_scope_slots`` — every compared scope (document/region) gets places early in the list;
* ``article_pieces`` — the pieces of a regulation article cut into several chunks, which fusion counts
  at the rank of the best-ranked one (``reciprocal_rank_fusion(…, pieces=…)``) and a compared scope's
  ranking lists together (``with_article_pieces``).
"""

from __future__ import annotations

import re

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
    (one pass over the chunks) and kept on it."""
    cached = getattr(index, "_article_pieces", None)
    if cached is None:
        by_article: dict[tuple[str, str], list[int]] = {}
        for row, chunk in enumerate(index.chunks):
            if chunk.kind == "text" and _ARTICLE.search(chunk.section or ""):
                by_article.setdefault((chunk.doc_id, chunk.section), []).append(row)
        cached = {}
        for rows in by_article.values():
            if len(rows) > 1:
                ordered = tuple(sorted(rows, key=lambda r: index.chunks[r].start))
                cached.update(dict.fromkeys(ordered, ordered))
        index._article_pieces = cached
    return cached


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
