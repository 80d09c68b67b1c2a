"""``rag eval``: run a benchmark dataset (or several configurations side by side) and write reports."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rag.settings import PROJECT_ROOT

DEFAULT_DATASET = PROJECT_ROOT / "eval" / "datasets" / "policy_qa.jsonl"


def register(sub) -> None:
    p = sub.add_parser("eval", help="run the QA benchmark and write records, summary, report and plots")
    p.add_argument("--dataset", default=str(DEFAULT_DATASET), help="JSONL in the BENCHMARK.md format, or a profiles file")
    p.add_argument("--k", type=int, default=10, help="retrieval depth for recall/MRR/nDCG (default 10)")
    p.add_argument("--config", default="hybrid", help="named configuration (hybrid, bm25-only, dense-only, naive-langchain, …)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting (repeatable)")
    p.add_argument("--compare", metavar="A,B,...", help="run several configurations and print one table")
    p.add_argument("--out", help="output directory (default: $RAG_DATA_DIR/eval/runs/<timestamp>, "
                                 "never the source tree)")
    p.add_argument("--corpus", metavar="DIR",
                   help="score on this folder of documents (named as in the dataset's 'doc'), indexed in its own "
                        "data directory under the data dir (reused while unchanged), instead of the bundled corpus")
    p.add_argument("--split", metavar="NAME", help="only the questions whose 'split' field is NAME (e.g. dev, holdout)")
    p.add_argument("--judge", action="store_true",
                   help="add LLM-judged faithfulness and answer relevancy (RAGAS); needs an LLM (OPENAI_BASE_URL/OPENAI_API_KEY)")
    p.add_argument("--judge-model", metavar="NAME", help="judge with this model instead of RAG_LLM_MODEL")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    """Run ``rag eval``. Bad input (missing or malformed dataset, unknown configuration or setting,
    ``--judge`` without an LLM) raises ConfigError before anything runs: one line, exit code 2."""
    from rag.cli import _progress, _settings
    from rag.eval.dataset import load_questions
    from rag.eval.configs import parse_set, resolve
    from rag.eval.report import compare_table, write_run
    from rag.eval.runner import run_config
    from rag.errors import ConfigError

    settings = _settings(args)
    dataset = Path(args.dataset)
    if not dataset.is_file():
        raise ConfigError(f"dataset {dataset} not found; give --dataset PATH")
    out = Path(args.out) if args.out else default_out_dir(settings)
    overrides = parse_set(args.set)
    judge = getattr(args, "judge", False)
    try:
        profiles = _is_profiles(dataset)
        if not profiles and not load_questions(str(dataset)):
            raise ValueError("the dataset contains no questions")
    except (ValueError, OSError) as exc:  # UnicodeDecodeError is a ValueError
        raise ConfigError(f"{dataset}: {_one_line(exc)}" if str(dataset) not in str(exc) else _one_line(exc)) from None
    if profiles:
        if judge:
            raise ConfigError("--judge applies to question datasets, not to a profiles file")
        from rag.matching.bench import evaluate_matching  # noqa: PLC0415 - optional feature

        result = evaluate_matching(settings.with_(**overrides), dataset, k=args.k)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        print(json.dumps(result, ensure_ascii=False, indent=1))
        print(f"\nreports written to {out}", file=sys.stderr)
        return 0
    configs = [c.strip() for c in args.compare.split(",")] if args.compare else [args.config]
    for name in configs:
        resolve(name)  # an unknown name fails before any configuration runs
    corpus = Path(args.corpus) if getattr(args, "corpus", None) else None
    if corpus is not None:
        from rag.eval.runner import corpus_files

        corpus_files(corpus)  # a missing or empty folder fails before anything runs
    if getattr(args, "split", None):
        from rag.eval.runner import select_split

        select_split(load_questions(str(dataset)), args.split)
    judge_llm = None
    if judge:
        from rag.eval.judge import judge_model

        judge_llm = judge_model(settings, getattr(args, "judge_model", None))
    summaries = []
    for name in configs:
        records, summary = run_config(settings, dataset, args.k, name, overrides, progress=_progress,
                                      judge_llm=judge_llm, corpus=corpus, split=getattr(args, "split", None))
        write_run(out / name if len(configs) > 1 else out, records, summary)
        summaries.append(summary)
    table = compare_table(summaries)
    if len(configs) > 1:
        (out / "compare.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"\nreports written to {out}", file=sys.stderr)
    return 0


def default_out_dir(settings) -> Path:
    """Where a run without ``--out`` writes: ``<data_dir>/eval/runs/<YYYYmmdd-HHMMSS>`` (the data
    directory holds all state; the source tree is never written to)."""
    return Path(settings.data_dir) / "eval" / "runs" / time.strftime("%Y%m%d-%H%M%S")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _is_profiles(path: Path) -> bool:
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        return False
    return "expected" in row and "question" not in row
