"""Why a provision matched and what to quote: one reason per matched facet, and the best verbatim span."""

from __future__ import annotations

from rag.matching.provisions import KIND_LABELS, Facet, TermLink
from rag.text import normalize, split_sentences

QUOTE_MAX_CHARS = 260  # longer passages are quoted by their best sentences


def reasons(links: list[tuple[float, TermLink]], retrieval: dict[int, float], facets: list[Facet]) -> list[str]:
    """One reason per matched facet, strongest first; an industry link that only repeats a product's
    policy term is left out; retrieval-only matches say so. ``links``: ``[(e_f, most direct link)]`` per
    matched facet; ``retrieval``: facet index → r_f of the passage."""
    ordered = [link for _e, link in sorted(links, key=lambda x: -x[0])]
    product_terms = {normalize(l.concept_term or l.term) for l in ordered if l.kind == "product"}
    out = [l.reason() for l in ordered
           if not (l.kind == "industry" and normalize(l.concept_term or l.term) in product_terms)]
    if not out:
        best = max(retrieval.items(), key=lambda kv: kv[1], default=None)
        if best is not None:
            f = facets[best[0]]
            out.append(f"检索相关：与{KIND_LABELS[f.kind]}“{f.label}”语义相近（未直接出现相关词语）")
    return list(dict.fromkeys(out))


def best_quote(text: str, terms: dict[str, float], max_chars: int | None = None) -> str:
    """A verbatim span of whole sentences of ``text``: the whole passage when it has at most
    ``max_chars`` characters (default QUOTE_MAX_CHARS), else the window of consecutive sentences
    (≤ max_chars, at least one sentence) whose distinct ``terms`` weigh most (term → weight), earlier
    and shorter windows first on ties."""
    max_chars = max_chars or QUOTE_MAX_CHARS
    spans = split_sentences(text)
    if not spans or len(text) <= max_chars:
        return text
    norm_terms = {normalize(t).lower(): w for t, w in terms.items() if len(normalize(t)) >= 2}
    hits = [{t for t in norm_terms if t in normalize(text[s:e]).lower()} for s, e in spans]
    best, best_key = (0, 0), (-1.0, 0)
    for i in range(len(spans)):
        got: set[str] = set()
        for j in range(i, len(spans)):
            if j > i and spans[j][1] - spans[i][0] > max_chars:
                break
            got |= hits[j]
            key = (round(sum(norm_terms[t] for t in got), 6), -(j - i))
            if key > best_key:
                best, best_key = (i, j), key
    i, j = best
    while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= max_chars:  # use the room left
        j += 1
    return text[spans[i][0]:spans[j][1]]
