"""Run a benchmark dataset through the pipeline and compute per-question records and a summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

from rag.eval.dataset import load_questions
from rag.eval import metrics as M
from rag.eval.configs import resolve
from rag.pipeline import PolicyQA
from rag.settings import Settings
from rag.text import normalize

KS = (1, 3, 5, 10)
TYPES = ("numeric", "factual", "list", "applicability", "cross_doc", "temporal", "unanswerable")


def _anchors(q: dict) -> list[str]:
    return [e["anchor"] for e in q.get("evidence", [])]


def corpus_files(corpus: Path) -> list[Path]:
    """The documents of an external corpus directory: its supported files (``rag.ingest.corpus.SUPPORTED_SUFFIXES``,
    recursively, sorted), without README files (the folder's own description). Raises ConfigError when
    ``corpus`` is not a directory or holds no document."""
    from rag.ingest.corpus import SUPPORTED_SUFFIXES
    from rag.errors import ConfigError

    corpus = Path(corpus)
    if not corpus.is_dir():
        raise ConfigError(f"corpus {corpus} is not a directory; give --corpus DIR (a folder of documents)")
    files = [f for f in sorted(corpus.rglob("*")) if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES
             and f.stem.upper() != "README"]
    if not files:
        raise ConfigError(f"corpus {corpus} holds no .txt/.md/.pdf/.docx documents")
    return files


def corpus_data_dir(settings: Settings, corpus: Path) -> Path:
    """The data directory an external corpus is indexed in: ``<data_dir>/eval-corpora/<folder name>-<12 hex
    of sha256(resolved path)>``. One directory per corpus path; ingest is incremental there, so an unchanged
    corpus (same file contents, same index settings) is reused as it is and a changed file is re-indexed."""
    import hashlib

    resolved = Path(corpus).resolve()
    key = hashlib.sha256(str(resolved).encode("utf-8")).hexdigest()[:12]
    return Path(settings.data_dir) / "eval-corpora" / f"{resolved.name}-{key}"


def select_split(questions: list[dict], split: str | None) -> list[dict]:
    """The questions whose ``split`` field equals ``split`` (all when ``split`` is None). Raises ConfigError
    when none matches (naming the splits the dataset has)."""
    if split is None:
        return questions
    chosen = [q for q in questions if q.get("split") == split]
    if not chosen:
        from rag.errors import ConfigError

        have = sorted({str(q["split"]) for q in questions if "split" in q})
        raise ConfigError(f"no question has split {split!r}; the dataset's splits: {', '.join(have) or 'none'}")
    return chosen


def run_config(settings: Settings, dataset: Path, k: int = 10, config: str = "hybrid", overrides: dict | None = None,
               progress: Callable[[Iterable, str, int], Iterable] = lambda it, d, t: it,
               judge_llm=None, corpus: Path | None = None, split: str | None = None) -> tuple[list[dict], dict]:
    """Evaluate one configuration. Returns (records, summary) — see ``summarize`` for the summary keys.

    ``corpus``: an external corpus directory (documents named as in the dataset's ``doc``; see
    ``corpus_files``) indexed in its own data directory (``corpus_data_dir``) instead of the bundled corpus;
    the naive baseline reads the same files. ``split``: only the questions with that ``split`` value.

    Retrieval metrics use ``qa.retrieve(question, k)``; answers use ``qa.ask(question)`` with the
    configuration's default top-k, the same code path as ``rag ask``. With ``judge_llm`` (a LangChain
    chat model, see ``rag.eval.judge``) each record also gets ``faithfulness``, ``answer_relevancy``
    and the judge's details under ``judge``. Raises ValueError for a malformed dataset line and
    ConfigError for an unknown configuration.
    """
    questions = select_split(load_questions(dataset), split)
    cfg = resolve(config)
    naive = cfg.pop("naive", False)
    settings = settings.with_(**cfg, **(overrides or {}))
    files = None
    if corpus is not None:
        from rag.index.build import ingest

        files = corpus_files(corpus)
        settings = settings.with_(data_dir=corpus_data_dir(settings, corpus))
        ingest(settings, files, progress=progress, exclude=[])  # no-op when nothing changed
    qa = PolicyQA(settings, auto_ingest=files is None)
    index = qa.index
    naive_retriever = None
    if naive:
        from rag.eval.naive import NaiveRetriever

        naive_retriever = NaiveRetriever(settings, index.tokenizer, paths=files)
        from rag.ingest.chunking import chunk_id

        pool = {chunk_id(d.metadata["doc_id"], d.page_content): d.page_content for d in naive_retriever.retriever.docs}
    else:
        pool = {c.chunk_id: c.text for c in index.chunks}
    norm_pool = {cid: normalize(t) for cid, t in pool.items()}
    judge = None
    if judge_llm is not None:
        from rag.eval.judge import Judge

        judge = Judge(judge_llm, index.embedder)

    records = []
    for q in progress(questions, f"eval {config}", len(questions)):
        anchors = _anchors(q)
        t0 = time.perf_counter()
        if naive_retriever is not None:
            hits = naive_retriever.retrieve(q["question"], k)
            t1 = time.perf_counter()
            answer = qa.extractive_answer(q["question"], hits[: settings.top_k])
            t2 = time.perf_counter()
            answer.timings_ms.update({"retrieve": (t1 - t0) * 1000, "answer": (t2 - t1) * 1000,
                                      "total": (t2 - t0) * 1000})
        else:
            hits = qa.retrieve(q["question"], k)
            answer = qa.ask(q["question"])
        ranks = M.anchor_ranks([h.chunk.text for h in hits], anchors)
        facts = M.key_fact_recall(answer.text, q.get("key_facts", []))
        answerable = q["type"] != "unanswerable"
        cited_texts = [next((h.chunk.text for h in answer.hits if h.chunk.chunk_id == c.chunk_id), c.quote)
                       for c in answer.citations]
        relevant = {cid for cid, t in norm_pool.items() if any(normalize(a) in t for a in anchors)}
        records.append({
            "id": q["id"], "type": q["type"], "persona": q.get("persona"), "tags": q.get("tags", []),
            "question": q["question"], "anchors": anchors, "anchor_ranks": ranks,
            **{f"recall@{n}": (M.recall_at_k(ranks, n) if anchors else None) for n in KS},
            "rr": M.reciprocal_rank(ranks, 10) if anchors else None,
            "relevant_chunks": sorted(relevant),
            "hits": [{"rank": h.rank, "chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id,
                      "section": h.chunk.section, "score": h.score} for h in hits],
            "answer": answer.text, "mode": answer.mode, "refused": answer.refused,
            "citations": [c.to_json() for c in answer.citations], "notices": answer.notices,
            "key_fact_recall": facts, "truthfulness": M.truthfulness(answerable, answer.refused, facts),
            "citation_precision": M.citation_precision(cited_texts, anchors),
            "timings_ms": answer.timings_ms, "grounding": answer.grounding,
        })
        if judge is not None:
            verdict = judge.judge_answer(q["question"], answer.text, [h.chunk.text for h in answer.hits],
                                         answer.refused)
            records[-1].update({m: verdict[m]["score"] if m in verdict else None
                                for m in ("faithfulness", "answer_relevancy")}, judge=verdict)
    ndcg = M.ndcg_at_10({r["id"]: [h["chunk_id"] for h in r["hits"]] for r in records if r["anchors"]},
                        {r["id"]: set(r["relevant_chunks"]) for r in records if r["anchors"]})
    for r in records:
        r["ndcg@10"] = ndcg.get(r["id"]) if r["anchors"] else None
    summary = summarize(records, config, dataset, k, settings)
    if corpus is not None:
        summary.update(corpus=str(corpus), n_documents=len(files), data_dir=str(settings.data_dir))
    if split is not None:
        summary["split"] = split
    if judge is not None:
        from rag.eval.judge import METRICS, summarize_judge

        summary["judge"] = summarize_judge(records, judge.label)
        summary["needs_llm"] = list(METRICS)
    return records, summary


def _retrieval_block(rows: list[dict]) -> dict:
    rows = [r for r in rows if r["anchors"]]
    out = {"n": len(rows)}
    for n in KS:
        out[f"recall@{n}"] = M.mean([r[f"recall@{n}"] for r in rows])
    out["mrr@10"] = M.mean([r["rr"] for r in rows])
    out["ndcg@10"] = M.mean([r["ndcg@10"] for r in rows])
    return out


def summarize(records: list[dict], config: str, dataset: Path, k: int, settings: Settings) -> dict:
    """Summary: ``overall`` and ``by_type`` retrieval metrics; ``answers`` (key-fact recall,
    truthfulness, refusal precision/recall, answerable refusal rate, citation precision);
    ``latency_ms`` p50/p95 per stage; ``needs_llm`` lists metrics that required an LLM (none offline;
    ``run_config`` adds ``faithfulness`` and ``answer_relevancy`` and a ``judge`` block when judged).

    ``records``: dicts with at least ``id``, ``type``, ``anchors``, ``recall@{1,3,5,10}``, ``rr``,
    ``ndcg@10``, ``refused``, ``key_fact_recall``, ``truthfulness``, ``citation_precision``,
    ``timings_ms``; optional ``tags``. Means skip None values; ``by_type`` covers every type in TYPES
    (``n`` = questions with anchors, ``n_questions`` = all)."""
    answerable = [r for r in records if r["type"] != "unanswerable"]
    unanswerable = [r for r in records if r["type"] == "unanswerable"]
    refused = [r for r in records if r["refused"]]
    true_refusals = [r for r in refused if r["type"] == "unanswerable"]
    by_type = {t: _retrieval_block([r for r in records if r["type"] == t]) for t in TYPES}
    for t in TYPES:
        rows = [r for r in records if r["type"] == t]
        by_type[t]["n_questions"] = len(rows)
        by_type[t]["key_fact_recall"] = M.mean([r["key_fact_recall"] for r in rows])
        by_type[t]["truthfulness"] = M.mean([r["truthfulness"] for r in rows])
    tables = [r for r in records if "table" in r.get("tags", [])]
    return {
        "config": config,
        "dataset": str(dataset),
        "k": k,
        "n_questions": len(records),
        "settings": {"retrieval_mode": settings.retrieval_mode, "use_concepts": settings.use_concepts,
                     "use_doc_routing": settings.use_doc_routing, "top_k": settings.top_k,
                     "min_evidence_coverage": settings.min_evidence_coverage,
                     "need_missing_term_coverage": settings.need_missing_term_coverage, "embeddings": settings.embeddings,
                     "llm": settings.llm_model if settings.llm_enabled else None},
        "overall": _retrieval_block(records),
        "by_type": by_type,
        "table_questions": _retrieval_block(tables) if tables else None,
        "answers": {
            "key_fact_recall": M.mean([r["key_fact_recall"] for r in answerable]),
            "truthfulness": M.mean([r["truthfulness"] for r in records]),
            "refusal_precision": len(true_refusals) / len(refused) if refused else None,
            "refusal_recall": len(true_refusals) / len(unanswerable) if unanswerable else None,
            "answerable_refused_rate": (sum(r["refused"] for r in answerable) / len(answerable)) if answerable else None,
            "citation_precision": M.mean([r["citation_precision"] for r in records]),
        },
        "latency_ms": {stage: {"p50": M.percentile([r["timings_ms"].get(stage, 0) for r in records], 0.5),
                               "p95": M.percentile([r["timings_ms"].get(stage, 0) for r in records], 0.95)}
                       for stage in ("retrieve", "answer", "total")},
        "grounding": _grounding_block(records),
        "needs_llm": [],
    }


def _grounding_block(records: list[dict]) -> dict | None:
    """Totals of the grounding check of LLM answers (``Answer.grounding``: sentences stating a number,
    date or named body = ``claims``; ``supported`` by a cited passage; ``removed``) over the records
    that have one, with ``supported_share`` = supported / claims; None when no answer was generated."""
    rows = [r["grounding"] for r in records if r.get("grounding")]
    if not rows:
        return None
    totals = {key: sum(int(g.get(key) or 0) for g in rows) for key in ("claims", "supported", "removed")}
    return {"answers": len(rows), **totals,
            "supported_share": totals["supported"] / totals["claims"] if totals["claims"] else None}
