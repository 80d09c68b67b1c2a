"""Company words → policy concepts of ``corpus/concepts.json``: exact triggers and abbreviations.

A concept (``rag.understand.query.Concept``) is triggered by a word of the company when one of its triggers (term,
aliases, company words) occurs in it — normalised (``rag.text.normalize``), case-insensitive, Latin words
on word boundaries ("MR" is not in "mRNA"). Two refinements:

* **Shadowing.** A trigger found only inside a longer trigger of another concept says nothing of its
  own: in 电机控制器 (新能源汽车) the 控制器 of 伺服电机 is part of the longer word, so 伺服电机 is not
  triggered. Triggers of equal span (钠离子电池 → 新型储能 and 动力电池) are all kept.
* **Abbreviations.** Chinese short forms keep the characters of the full term in order, starting with
  its first: 航发 = 航空发动机, 锂电材料 = 锂电池材料, 钒电解液 = 钒电池电解液, 新能车 = 新能源汽车. A
  stretch that starts the word or follows an exact trigger, that no exact trigger covers completely, is such an in-order subsequence of a
  (longer, CJK) trigger and is not a plain substring of it, triggers that concept; two-character short
  forms only for triggers of at most five characters, longer ones for triggers at most about twice as
  long. Longest short forms first, non-overlapping. Used for the words of a profile (product, industry),
  never for whole sentences.
"""

from __future__ import annotations

import re

from rag.text import normalize

CJK = re.compile(r"^[\u4e00-\u9fff]+$")
SKIP_PREFIXES = ("q-", "n-")  # qualification and need concepts are matched elsewhere


def word_pattern(word: str) -> str:
    """A regex for ``word``; Latin words must not touch other Latin letters ("MR" is not in "mRNA")."""
    pat = re.escape(word)
    if re.match(r"[A-Za-z0-9]", word):
        pat = r"(?<![A-Za-z])" + pat
    if re.search(r"[A-Za-z0-9]$", word):
        pat += r"(?![A-Za-z])"
    return pat


def is_abbreviation(short: str, full: str) -> bool:
    """True when ``short`` is a Chinese short form of ``full``: both CJK, same first character, the
    characters of ``short`` occur in ``full`` in order, ``short`` is not a substring of ``full``, and
    ``full`` is not too long for it (≤ 5 characters for a two-character short form, else
    ≤ 2·len(short) + 1). "航发"/"航空发动机" → True; "储能"/"储能电池" → False (a plain substring)."""
    if len(short) < 2 or len(full) <= len(short) or short[0] != full[0] or short in full:
        return False
    if not (CJK.match(short) and CJK.match(full)):
        return False
    if len(full) > (5 if len(short) == 2 else 2 * len(short) + 1):
        return False
    it = iter(full)
    return all(ch in it for ch in short)


def concept_matches(text: str, concepts: tuple, skip_prefixes: tuple[str, ...] = SKIP_PREFIXES,
                    abbreviations: bool = False) -> list:
    """``rag.understand.query.ConceptMatch`` records of the concepts a word (or text) triggers, longest match first.

    ``matched`` is the normalised word found in ``text`` (the longest trigger of the concept, or the
    short form for an abbreviation); concepts whose id starts with ``skip_prefixes`` are left out;
    shadowed triggers are dropped and, with ``abbreviations``, short forms are added (module docstring).
    """
    from rag.understand.query import ConceptMatch

    t = normalize(text).lower()
    hits: list[tuple[int, int, int, str]] = []  # (start, end, concept index, matched)
    for ci, c in enumerate(concepts):
        if skip_prefixes and c.concept_id.startswith(skip_prefixes):
            continue
        for w in c.triggers():
            nw = normalize(w).lower()
            if len(nw) >= 2:
                hits += [(m.start(), m.end(), ci, nw) for m in re.finditer(word_pattern(nw), t)]
    spans = {(s, e) for s, e, _ci, _w in hits}
    hits = [h for h in hits if not any(s <= h[0] and h[1] <= e and e - s > h[1] - h[0] for s, e in spans)]
    best: dict[int, str] = {}
    for _s, _e, ci, w in hits:
        if len(w) > len(best.get(ci, "")):
            best[ci] = w
    if abbreviations:
        for ci, short in _abbreviations(t, concepts, skip_prefixes, spans).items():
            best.setdefault(ci, short)
    found = [ConceptMatch(concepts[ci].concept_id, w, concepts[ci].term, (concepts[ci].term, *concepts[ci].aliases))
             for ci, w in best.items()]
    found.sort(key=lambda m: -len(m.matched))
    return found


def _abbreviations(t: str, concepts: tuple, skip_prefixes: tuple[str, ...],
                   exact: set[tuple[int, int]]) -> dict[int, str]:
    """``{concept index: short form}`` for the stretches of ``t`` that abbreviate a trigger (see
    ``is_abbreviation``) that start the word or follow an exact match and do not lie inside one;
    longest first, non-overlapping."""
    fulls = [(ci, normalize(w).lower()) for ci, c in enumerate(concepts)
             if not (skip_prefixes and c.concept_id.startswith(skip_prefixes)) for w in c.triggers()]
    by_first: dict[str, list[tuple[int, str]]] = {}
    for ci, w in fulls:
        if len(w) >= 3 and CJK.match(w):
            by_first.setdefault(w[0], []).append((ci, w))
    starts = {0} | {e for _s, e in exact}
    taken: list[tuple[int, int]] = []
    out: dict[int, str] = {}
    for length in range(len(t), 1, -1):
        for s in sorted(x for x in starts if x + length <= len(t)):
            e = s + length
            short = t[s:e]
            if any(s < te and ts < e for ts, te in taken) or any(es <= s and e <= ee for es, ee in exact):
                continue
            cis = [ci for ci, full in by_first.get(short[0], ()) if is_abbreviation(short, full)]
            if cis:
                taken.append((s, e))
                for ci in cis:
                    out.setdefault(ci, short)
    return out
