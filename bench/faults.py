"""Fault table: damage the index in every way of ``tests/damage_cases.py`` and run two concurrent
ingests, end to end with the ``rag`` command line in temporary data directories.

    python bench/faults.py [--cases SUBSTRING] [--keep DIR]

For each damage case: a clean index of a two-document copy of the bundled corpus is copied, damaged,
then ``rag ask`` (before repair) → ``rag ingest`` → ``rag ask`` (after) run as separate processes.
The concurrent case starts two ``rag ingest --replace`` of different corpora at once and reports what
each side said and which index is live afterwards. Prints a Markdown table: case → outcome of each
step (``ok``, the one-line ``error: …``, or ``TRACEBACK`` with the exception's last line).
Exit code 1 when any step printed a traceback or the index is not usable after ``rag ingest``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from core_support import MINI_DOC_IDS, Q_LEADERS, make_corpus  # noqa: E402
from damage_cases import CASES  # noqa: E402


def rag(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def outcome(proc: subprocess.CompletedProcess, ok_text: str = "ok") -> str:
    """One cell: ``ok`` / the error line / ``TRACEBACK: <last line>``."""
    err = proc.stderr.strip()
    if "Traceback" in err:
        return "TRACEBACK: " + err.splitlines()[-1][:90]
    if proc.returncode == 0:
        note = " (index built on first use)" if "正在建立索引" in err else ""
        return ok_text + note
    lines = [line for line in err.splitlines() if line.startswith("error:")] or err.splitlines() or ["(no output)"]
    more = "" if len(err.splitlines()) == 1 else f" [+{len(err.splitlines()) - 1} lines]"
    return f"exit {proc.returncode}: {lines[0][:110]}{more}"


def environment(data_dir: Path, corpus_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    env.update(RAG_DATA_DIR=str(data_dir), RAG_CORPUS_DIR=str(corpus_dir), RAG_LLM="off",
               PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False")
    return env


def damage_row(name: str, damage, clean: Path, work: Path, corpus: Path) -> tuple[list[str], bool]:
    data = work / name.replace("/", "_").replace(" ", "_")
    shutil.copytree(clean, data)
    damage(data)
    env = environment(data, corpus)
    before = rag(["ask", Q_LEADERS], env)
    repair = rag(["ingest"], env)
    after = rag(["ask", Q_LEADERS], env)
    msg = repair.stdout.strip().splitlines()[0][:110] if repair.returncode == 0 and repair.stdout.strip() \
        else outcome(repair)
    if "Traceback" in repair.stderr:
        msg = outcome(repair)
    good = (after.returncode == 0 and "Traceback" not in before.stderr + repair.stderr + after.stderr)
    return [name, outcome(before), msg, outcome(after)], good


def concurrent_row(work: Path, corpus: Path) -> tuple[list[str], bool]:
    """Two ``rag ingest --replace`` at once, of two different one-document corpora, on one data dir."""
    data = work / "concurrent"
    corpora = []
    for doc_id in MINI_DOC_IDS:
        corpora.append(make_corpus(work / f"corpus-{doc_id}", (doc_id,)))
    env = environment(data, corpus)
    rag(["ingest"], env)  # an index to replace
    live_before = json.loads((data / "index" / "CURRENT.json").read_text(encoding="utf-8"))["documents"]
    procs = [subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", "--replace", str(c)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) for c in corpora]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    live = json.loads((data / "index" / "CURRENT.json").read_text(encoding="utf-8"))["documents"]
    sides = []
    for doc_id, proc in zip(MINI_DOC_IDS, results):
        said = proc.stdout.strip().splitlines()[0][:60] if proc.returncode == 0 else outcome(proc)
        if "等待其完成" in proc.stderr:
            said = "waited for the other, then " + said
        sides.append(f"{doc_id}: {said}")
    after = rag(["ask", Q_LEADERS], env)
    good = all("Traceback" not in r.stderr for r in results) and after.returncode == 0
    # truthful: a side that failed must not claim the index was left as it was when the other side switched it
    if live != live_before and any(r.returncode != 0 and "unchanged" in r.stderr for r in results):
        good = False
    return ["two concurrent `rag ingest --replace`", " / ".join(sides), f"live afterwards: {', '.join(live)}",
            outcome(after)], good


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="", help="only the damage cases whose name contains this")
    ap.add_argument("--no-concurrent", action="store_true", help="skip the concurrent-ingest case")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it (default: a temp dir)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="rag-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        corpus = make_corpus(work / "corpus")
        clean = work / "clean"
        built = rag(["ingest"], environment(clean, corpus))
        if built.returncode != 0:
            print(built.stderr, file=sys.stderr)
            return 2
        rows, bad = [], 0
        for name, damage in CASES.items():
            if args.cases in name:
                row, good = damage_row(name, damage, clean, work, corpus)
                rows.append(row)
                bad += not good
                print(" | ".join(row), file=sys.stderr, flush=True)
        if not args.no_concurrent:
            row, good = concurrent_row(work, corpus)
            rows.append(row)
            bad += not good
        print("| case | `rag ask` before repair | `rag ingest` | `rag ask` after |")
        print("|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
        print(f"\n{len(rows) - bad}/{len(rows)} cases handled (no traceback, usable after `rag ingest`); "
              f"{time.perf_counter() - started:.0f} s")
        return 1 if bad else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
