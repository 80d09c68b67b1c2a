"""Query latency profile on a built index (a benchmark reports numbers; it asserts nothing).

Loads the index of ``RAG_DATA_DIR`` in this process and measures, with the LLM off:

  load_s          seconds to load the index (``PolicyQA.index``)
  first_q_s       seconds for the first ``ask`` of the process (everything built on first use shows here)
  ret p50/p95     warm ``retrieve`` ms over the questions (after the first one)
  ask p50/p95     warm extractive ``ask`` ms over the same questions
  slowest         the slowest warm questions (ask ms)

Questions are made from the indexed documents themselves (deterministic, ``--seed``), so that any corpus works
and every query path is exercised: a named document (《T》…, T without quotes, T's article), a region and a
document's topic words, a list question, a penalty question, a comparison of two regions' documents, and plain
content questions made from a passage's words. ``--profile FILE`` writes cProfile statistics of the warm
questions (``python -m pstats FILE``) and prints the top functions by cumulative time; ``--first-profile``
profiles the first question instead.

    RAG_DATA_DIR=/path/to/data python bench/profile_queries.py [--questions 40] [--rounds 1] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import sys
import time


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (q in [0, 1]); NaN for no values."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


_SENTENCE = re.compile(r"[^。；！？\n]{12,60}[。；！？]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{4,12}")


def make_questions(index, n: int, seed: int = 0) -> list[str]:
    """``n`` questions made from ``index`` (a LoadedIndex): document names, regions, topic words and passage
    words of documents picked with ``seed``; each kind of question in turn."""
    rng = random.Random(seed)
    docs = sorted(index.docs.values(), key=lambda m: m.doc_id)
    texts = [c for c in index.chunks if c.kind == "text" and len(c.text) > 60]
    by_region: dict[str, list] = {}
    for m in docs:
        if m.region and m.title:
            by_region.setdefault(m.region, []).append(m)
    regions = sorted(r for r, ms in by_region.items() if len(ms) >= 1)

    def title():
        return rng.choice(docs).title or "条例"

    def words(chunk) -> str:
        runs = _CJK_RUN.findall(chunk.text)
        return rng.choice(runs) if runs else chunk.text[:10]

    def content():
        chunk = rng.choice(texts)
        sentences = _SENTENCE.findall(chunk.text)
        s = rng.choice(sentences) if sentences else chunk.text[:30]
        return s.rstrip("。；！？")[:28] + "是怎么规定的？"

    def topic_words(m) -> str:
        t = m.title or ""
        for prefix in (m.region or "",):
            t = t.replace(prefix, "")
        return re.sub(r"(条例|办法|规定|实施细则|决定)$", "", t)[:10]

    kinds = [
        lambda: f"《{title()}》的施行日期是什么？",
        lambda: f"{title()}第三条规定了什么？",
        content,
        lambda: f"{words(rng.choice(texts))}的主要措施有哪些？",
        lambda: f"违反{title()}的规定要承担什么法律责任？",
        lambda: (lambda r: f"{r}关于{topic_words(rng.choice(by_region[r]))}有哪些规定？")(rng.choice(regions))
        if regions else content(),
        content,
        lambda: (lambda a, b: f"{a}和{b}的{topic_words(rng.choice(by_region[a]))}条例有什么不同？")(
            *rng.sample(regions, 2)) if len(regions) >= 2 else content(),
        lambda: f"{words(rng.choice(texts))}包括哪些内容？",
        lambda: f"{title()}由哪个部门负责实施？",
    ]
    return [kinds[i % len(kinds)]() for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", help="write cProfile stats of the warm questions to this file")
    parser.add_argument("--first-profile", action="store_true", help="profile the first question instead")
    parser.add_argument("--top", type=int, default=30, help="functions printed from the profile")
    parser.add_argument("--show", action="store_true", help="print the questions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("RAG_DATA_DIR"):
        print("error: set RAG_DATA_DIR to the data directory of a built index", file=sys.stderr)
        return 2
    os.environ.setdefault("RAG_LLM", "off")

    from rag.pipeline import PolicyQA
    from rag.settings import Settings

    qa = PolicyQA(Settings.from_env())
    t = time.perf_counter()
    index = qa.index
    load_s = time.perf_counter() - t
    questions = make_questions(index, args.questions, args.seed)
    if args.show:
        for q in questions:
            print(q, file=sys.stderr)
    profiler = cProfile.Profile() if args.profile else None
    t = time.perf_counter()
    if profiler and args.first_profile:
        profiler.enable()
    qa.ask(questions[0], k=5)
    first_q_s = time.perf_counter() - t
    if profiler and args.first_profile:
        profiler.disable()
    ret, ask = [], []
    for _ in range(args.rounds):  # all retrieves, then all asks: no question reuses its own cached scores
        for times, run in ((ret, qa.retrieve), (ask, qa.ask)):
            for q in questions[1:]:
                if profiler and not args.first_profile:
                    profiler.enable()
                t = time.perf_counter()
                run(q, k=5)
                times.append((time.perf_counter() - t) * 1000)
                if profiler and not args.first_profile:
                    profiler.disable()
    slow = [(a, r, q) for a, r, q in zip(ask, ret, questions[1:] * args.rounds)]
    row = {"chunks": len(index.chunks), "docs": len(index.docs), "load_s": round(load_s, 2),
           "first_q_s": round(first_q_s, 3), "ret_p50": round(percentile(ret, .5), 1),
           "ret_p95": round(percentile(ret, .95), 1), "ask_p50": round(percentile(ask, .5), 1),
           "ask_p95": round(percentile(ask, .95), 1)}
    if args.json:
        print(json.dumps(row, ensure_ascii=False))
    else:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
        for a, r, q in sorted(slow, reverse=True)[:5]:
            print(f"  slow: ask {a:.0f} ms, retrieve {r:.0f} ms  {q}")
    if profiler:
        profiler.dump_stats(args.profile)
        pstats.Stats(args.profile, stream=sys.stdout).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
