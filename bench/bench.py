"""Speed benchmark of the main job (a benchmark reports numbers; it asserts nothing).

Measures on the bundled corpus, in a fresh temporary data directory:
  * ingest seconds (cold: empty data directory, in-process);
  * retrieve p50/p95 ms (warm, over the questions of eval/datasets/dev.jsonl, repeated --rounds times);
  * extractive ask p50/p95 ms (warm, same questions);
  * cold `rag ask` seconds: a new process answering one question on the built index (median of --cold runs).
Targets (2-core machine; issue 12): ingest ≤ 5 s, retrieve p50 ≤ 20 ms, ask p50 ≤ 60 ms, cold ask ≤ 3 s.

    python bench/bench.py [--rounds 3] [--cold 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    idx = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[idx]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    os.environ["RAG_DATA_DIR"] = str(data_dir)
    os.environ["RAG_LLM"] = "off"
    from rag.index.build import ingest
    from rag.pipeline import PolicyQA
    from rag.settings import Settings

    settings = Settings.from_env()
    t = time.perf_counter()
    report = ingest(settings)
    ingest_s = time.perf_counter() - t

    questions = [json.loads(line)["question"] for line in (ROOT / "eval/datasets/dev.jsonl").read_text("utf-8").splitlines() if line.strip()]
    qa = PolicyQA(settings)
    qa.retrieve(questions[0])  # warm-up: load index, jieba
    retrieve_ms, ask_ms = [], []
    for _ in range(args.rounds):
        for q in questions:
            t = time.perf_counter()
            qa.retrieve(q, k=5)
            retrieve_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            qa.ask(q, k=5)
            ask_ms.append((time.perf_counter() - t) * 1000)

    cold = []
    for _ in range(args.cold):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag.cli", "ask", "到2027年四川要打造几个千亿级产业集群？", "--json"],
                       check=True, capture_output=True, env={**os.environ})
        cold.append(time.perf_counter() - t)

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "chunks": report.n_chunks,
        "ingest_s": round(ingest_s, 2),
        "retrieve_ms_p50": round(percentile(retrieve_ms, 0.5), 1),
        "retrieve_ms_p95": round(percentile(retrieve_ms, 0.95), 1),
        "ask_extractive_ms_p50": round(percentile(ask_ms, 0.5), 1),
        "ask_extractive_ms_p95": round(percentile(ask_ms, 0.95), 1),
        "cold_ask_s_median": round(statistics.median(cold), 2),
        "n_questions": len(questions),
        "rounds": args.rounds,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        targets = {"ingest_s": "≤ 5", "retrieve_ms_p50": "≤ 20", "ask_extractive_ms_p50": "≤ 60", "cold_ask_s_median": "≤ 3"}
        for key, value in result.items():
            print(f"{key:24} {value}  {('target ' + targets[key]) if key in targets else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
