"""Metrics of the policy QA benchmark, with the matching rules of eval/BENCHMARK.md.

Matching: text is compared after NFKC normalisation and removal of all whitespace
(``rag.text.normalize``). An evidence anchor is *retrieved at rank r* when it is contained in the
r-th retrieved passage.

* anchor-recall@k — fraction of a question's anchors retrieved at rank ≤ k (BENCHMARK.md);
* reciprocal rank — 1/r for the best-ranked anchor, 0 when none is retrieved (MRR@k averages it);
* nDCG@10 — passage-level, binary relevance (a passage is relevant when it contains an anchor; the
  ideal ranking is taken over every chunk of the index that contains one), computed by ``ranx``
  (Bassani, ECIR 2022) with Järvelin & Kekäläinen's definition;
* key-fact recall — fraction of key facts contained in the answer;
* CRAG truthfulness (Yang et al., "CRAG — Comprehensive RAG Benchmark", 2024): perfect 1 (all key
  facts), acceptable 0.5 (some), missing 0 (a refusal), incorrect −1 (an answer without its key
  facts). For unanswerable questions a refusal is perfect (1) and any answer incorrect (−1);
* refusal precision / recall on unanswerable questions;
* citation precision — share of cited passages whose text contains an evidence anchor.
"""

from __future__ import annotations

from rag.text import normalize


def anchor_ranks(passages: list[str], anchors: list[str]) -> list[int | None]:
    """For each anchor, the 1-based rank of the first passage containing it (None if absent)."""
    norm_passages = [normalize(p) for p in passages]
    out: list[int | None] = []
    for anchor in anchors:
        a = normalize(anchor)
        out.append(next((i + 1 for i, p in enumerate(norm_passages) if a and a in p), None))
    return out


def recall_at_k(ranks: list[int | None], k: int) -> float:
    """Fraction of anchors retrieved at rank ≤ k (0.0 for no anchors)."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def reciprocal_rank(ranks: list[int | None], k: int = 10) -> float:
    """1/r of the best-ranked anchor within the first k passages; 0 when none."""
    found = [r for r in ranks if r is not None and r <= k]
    return 1.0 / min(found) if found else 0.0


def key_fact_recall(answer: str, key_facts: list[str]) -> float | None:
    """Fraction of key facts contained in the answer; None when there are no key facts."""
    if not key_facts:
        return None
    a = normalize(answer)
    return sum(1 for f in key_facts if normalize(f) in a) / len(key_facts)


def truthfulness(answerable: bool, refused: bool, fact_recall: float | None) -> float:
    """CRAG-style score in {1, 0.5, 0, −1} (see module docstring)."""
    if not answerable:
        return 1.0 if refused else -1.0
    if refused:
        return 0.0
    if fact_recall is None or fact_recall == 0:
        return -1.0
    return 1.0 if fact_recall >= 1.0 else 0.5


def citation_precision(cited_texts: list[str], anchors: list[str]) -> float | None:
    """Share of cited passages that contain at least one evidence anchor; None without citations."""
    if not cited_texts or not anchors:
        return None
    norm_anchors = [normalize(a) for a in anchors]
    good = sum(1 for t in cited_texts if any(a in normalize(t) for a in norm_anchors))
    return good / len(cited_texts)


def ndcg_at_10(runs: dict[str, list[str]], relevant: dict[str, set[str]]) -> dict[str, float]:
    """Per-question nDCG@10 with ranx. ``runs``: question id → ranked chunk ids; ``relevant``:
    question id → ids of all chunks containing an anchor. Questions without relevant chunks get 0."""
    from ranx import Qrels, Run, evaluate

    qids = [q for q in runs if relevant.get(q)]
    out = {q: 0.0 for q in runs}
    if not qids:
        return out
    qrels = Qrels({q: {c: 1 for c in relevant[q]} for q in qids})
    run = Run({q: {c: float(len(runs[q]) - i) for i, c in enumerate(runs[q])} or {"__none__": 0.0} for q in qids})
    evaluate(qrels, run, "ndcg@10", save_results_in_run=True)
    for q, value in run.scores["ndcg@10"].items():
        out[q] = float(value)
    return out


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in [0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def mean(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None
