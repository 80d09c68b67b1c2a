"""Scale benchmark: ingest growing samples of an external corpus and measure ingest, memory, disk and queries
(a benchmark reports numbers; it asserts nothing).

For each size s in --sizes (multiples of the bundled corpus's characters, ≈ 100 k), a deterministic sample of
the corpus files (sorted paths shuffled with --seed, taken in that order until s × bundled characters) is
ingested with ``rag ingest --replace`` into a fresh data directory, in a child process. Printed per size:

  docs, chars, chunks      documents and characters of the sample, chunks of the index
  ingest_s, rss_mb         wall seconds and peak RSS (os.wait4 rusage of the child) of the ingest
  disk_mb                  size of the data directory after the ingest
  load_s, first_q_s        a new process: seconds to load the index, then to answer its first question
  ret_p50/p95, ask_p50/p95 warm retrieve / extractive ask ms over --questions generic questions made from
                           the indexed documents' titles (《T》的施行日期是什么？ …), after the first one
  add1_s                   `rag ingest FILE` of one more corpus file (added; every other document kept)
  base_s, ratio            jieba (search mode) + bm25s indexing the same chunk texts in a child process,
                           and ingest_s / base_s

    python bench/scale.py [--corpus DIR] [--sizes 1,10,100,200] [--questions 30] [--seed 0] [--json]

--corpus defaults to ../shared/corpora/lawrefbook (relative to the checkout) when present.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "lawrefbook"
SUFFIXES = {".txt", ".md", ".pdf", ".docx", ".html", ".htm"}
TEMPLATES = ("《{t}》的施行日期是什么？", "《{t}》第三条规定了什么？", "《{t}》的主要内容有哪些？")
COLUMNS = ("size", "docs", "chars", "chunks", "ingest_s", "rss_mb", "disk_mb", "load_s", "first_q_s",
           "ret_p50", "ret_p95", "ask_p50", "ask_p95", "add1_s", "base_s", "ratio")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (q in [0, 1]); NaN for no values."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def corpus_files(corpus: Path) -> list[tuple[Path, int]]:
    """(path, characters) of every readable document file under ``corpus`` (hidden files skipped), sorted by
    path. Characters are of the UTF-8 text (binary formats count their bytes)."""
    rows = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                       and not any(part.startswith(".") for part in p.relative_to(corpus).parts)):
        try:
            n = len(path.read_text(encoding="utf-8")) if path.suffix.lower() in {".txt", ".md", ".html", ".htm"} \
                else path.stat().st_size
        except (UnicodeDecodeError, OSError):
            continue
        rows.append((path, n))
    return rows


def sample(files: list[tuple[Path, int]], target_chars: int, seed: int = 0) -> tuple[list[Path], list[Path]]:
    """Deterministic sample: ``files`` shuffled with ``seed``, taken in that order until their characters reach
    ``target_chars`` (at least one file). Returns (sample, rest) — rest in the same shuffled order, so a larger
    target's sample contains a smaller one's and rest[0] is the next file (the add-one-file probe)."""
    order = list(files)
    random.Random(seed).shuffle(order)
    taken, total = [], 0
    for i, (path, n) in enumerate(order):
        if total >= target_chars and taken:
            return taken, [p for p, _ in order[i:]]
        taken.append(path)
        total += n
    return taken, []


def questions_from_titles(titles: list[str], n: int, seed: int = 0) -> list[str]:
    """``n`` generic questions over the given document titles: titles picked deterministically (sorted, shuffled
    with ``seed``), each used with the templates in turn (《T》的施行日期是什么？, 《T》第三条规定了什么？, …)."""
    titles = sorted({t for t in titles if t})
    random.Random(seed).shuffle(titles)
    if not titles:
        return []
    out = []
    for i in range(n):
        title = titles[(i // len(TEMPLATES)) % len(titles)]
        out.append(TEMPLATES[i % len(TEMPLATES)].format(t=title))
    return out


def format_table(rows: list[dict]) -> str:
    """A plain-text table of ``rows`` (dicts keyed by COLUMNS; missing values shown as '-')."""
    def cell(row, col):
        v = row.get(col)
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.0f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    cells = [[cell(r, c) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _run_child(cmd: list[str], env: dict, stdout_path: Path) -> tuple[float, float, int]:
    """Run ``cmd`` with stderr passed through (progress bars); returns (wall s, peak RSS MB, exit status)."""
    t = time.perf_counter()
    with open(stdout_path, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t, usage.ru_maxrss / 1024, proc.returncode


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def _env(data_dir: Path) -> dict:
    return {**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_LLM": "off", "RAG_PROGRESS": "1",
            "GRADIO_ANALYTICS_ENABLED": "False"}


def worker_queries(n_questions: int, seed: int, rounds: int) -> dict:
    """In a new process (RAG_DATA_DIR set): load time, first-question time, warm retrieve/ask times."""
    from tqdm import tqdm

    from rag.pipeline import PolicyQA
    from rag.settings import Settings

    qa = PolicyQA(Settings.from_env())
    t = time.perf_counter()
    index = qa.index
    load_s = time.perf_counter() - t
    questions = questions_from_titles([m.title for m in index.docs.values()], n_questions, seed)
    t = time.perf_counter()
    qa.ask(questions[0], k=5)
    first_q_s = time.perf_counter() - t
    ret, ask = [], []
    for _ in range(rounds):
        for q in tqdm(questions, desc="questions", file=sys.stderr, leave=False):
            t = time.perf_counter()
            qa.retrieve(q, k=5)
            ret.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            qa.ask(q, k=5)
            ask.append((time.perf_counter() - t) * 1000)
    return {"load_s": load_s, "first_q_s": first_q_s, "ret_p50": percentile(ret, .5), "ret_p95": percentile(ret, .95),
            "ask_p50": percentile(ask, .5), "ask_p95": percentile(ask, .95), "questions": questions}


def worker_baseline(chunks_path: Path) -> dict:
    """jieba search-mode words + bm25s index over the texts of ``chunks_path`` (chunks.jsonl)."""
    import bm25s
    import jieba
    from tqdm import tqdm

    texts = [json.loads(line)["text"] for line in chunks_path.read_text(encoding="utf-8").splitlines() if line]
    t = time.perf_counter()
    jieba.initialize()
    tokens = [jieba.lcut_for_search(x) for x in tqdm(texts, desc="baseline jieba", file=sys.stderr, leave=False)]
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index(tokens, show_progress=False)
    return {"base_s": time.perf_counter() - t, "chunks": len(texts)}


def run_size(size: float, files, bundled_chars: int, args, work: Path) -> dict:
    """Measure one sample size; returns a row of COLUMNS."""
    chosen, rest = sample(files, int(size * bundled_chars), args.seed)
    row = {"size": f"{size:g}x", "docs": len(chosen), "chars": sum(n for p, n in files if p in set(chosen))}
    src = work / f"sample-{size:g}"
    for path in chosen:  # keep the corpus's folders: equal file names in different folders stay apart
        dest = src / path.relative_to(args.corpus)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    data = work / f"data-{size:g}"
    env = _env(data)
    print(f"[{time.strftime('%H:%M:%S')}] {size:g}x: ingest {len(chosen)} files, {row['chars']:,} characters",
          file=sys.stderr, flush=True)
    wall, rss, code = _run_child([sys.executable, "-m", "rag.cli", "ingest", "--replace", str(src), "--json"],
                                 env, work / f"ingest-{size:g}.json")
    row.update(ingest_s=wall, rss_mb=rss)
    if code != 0:
        row["error"] = f"ingest exit {code}"
        return row
    report = json.loads((work / f"ingest-{size:g}.json").read_text("utf-8"))
    row["chunks"] = report.get("n_chunks")
    row["disk_mb"] = _disk_mb(data)

    wall, _, code = _run_child([sys.executable, __file__, "--_worker", "queries", "--questions", str(args.questions),
                                "--seed", str(args.seed), "--rounds", str(args.rounds)], env, work / f"q-{size:g}.json")
    if code == 0:
        q = json.loads((work / f"q-{size:g}.json").read_text("utf-8"))
        row.update({k: v for k, v in q.items() if k in COLUMNS})

    current = data / "index" / "CURRENT.json"
    pointer = json.loads(current.read_text("utf-8")) if current.exists() else None
    gen = data / "index" / pointer["generation"] if pointer else None
    chunks_path = gen / "chunks.jsonl" if gen else None
    if chunks_path and chunks_path.exists():
        _, _, code = _run_child([sys.executable, __file__, "--_worker", "baseline", "--chunks", str(chunks_path)],
                                env, work / f"base-{size:g}.json")
        if code == 0:
            row["base_s"] = json.loads((work / f"base-{size:g}.json").read_text("utf-8"))["base_s"]
            row["ratio"] = row["ingest_s"] / row["base_s"]
    if rest:
        extra = rest[0]
        wall, _, code = _run_child([sys.executable, "-m", "rag.cli", "ingest", str(extra), "--json"], env,
                                   work / f"add-{size:g}.json")
        added = json.loads((work / f"add-{size:g}.json").read_text("utf-8")) if code == 0 else {}
        if code == 0 and added.get("n_documents") == report.get("n_documents", 0) + 1:
            row["add1_s"] = wall
        else:
            row["error"] = f"add-one-file exit {code}, documents {added.get('n_documents')}"

    if not args.keep:
        shutil.rmtree(src, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS if DEFAULT_CORPUS.is_dir() else None)
    parser.add_argument("--sizes", default="1,10,100,200", help="comma-separated multiples of the bundled corpus")
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the sample and data directories")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--_worker", choices=("queries", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--chunks", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._worker == "queries":
        print(json.dumps(worker_queries(args.questions, args.seed, args.rounds), ensure_ascii=False))
        return 0
    if args._worker == "baseline":
        print(json.dumps(worker_baseline(args.chunks)))
        return 0

    if args.corpus is None or not args.corpus.is_dir():
        where = args.corpus or DEFAULT_CORPUS
        print(f"error: corpus folder {where} not found; pass --corpus DIR (a folder of .txt/.md/.pdf/.docx/.html "
              f"files)", file=sys.stderr)
        return 2
    try:
        sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        print(f"error: --sizes {args.sizes!r} is not a comma-separated list of numbers (e.g. --sizes 1,10)",
              file=sys.stderr)
        return 2
    files = corpus_files(args.corpus)
    if not files:
        print(f"error: no readable .txt/.md/.pdf/.docx/.html files under {args.corpus}; pass --corpus DIR",
              file=sys.stderr)
        return 2
    bundled = sum(n for _, n in corpus_files(ROOT / "corpus" / "docs"))
    work = Path(tempfile.mkdtemp(prefix="rag-scale-"))
    print(f"corpus {args.corpus}: {len(files)} files, {sum(n for _, n in files):,} characters; bundled corpus "
          f"{bundled:,} characters; work dir {work}", file=sys.stderr)
    rows = []
    for size in sizes:
        t = time.perf_counter()
        rows.append(run_size(size, files, bundled, args, work))
        print(f"[{time.strftime('%H:%M:%S')}] {size:g}x done in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        print(format_table(rows[-1:]), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        print(format_table(rows))
        for row in rows:
            if row.get("error"):
                print(f"{row['size']}: {row['error']}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
