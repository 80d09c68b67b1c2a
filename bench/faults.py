"""Fault table: kill -9 during ingest, index damage, concurrent ingests, bad input files and upload
names, bad LLM servers — end to end with the ``rag`` command line in temporary data directories.

    python bench/faults.py [--quick] [--sections abcde] [--cases SUBSTRING] [--keep DIR]

(a) kill: ``rag ingest --replace`` of the five-document corpus over a two-document index is killed
    with SIGKILL after t seconds (several t); then ``rag ask`` must answer from the previous (or, when
    the kill came after the switch, the new) index and a following ``rag ingest`` must complete.
(b) damage: for each case of ``tests/damage_cases.py`` a clean index is copied, damaged, then
    ``rag ask`` (before repair) → ``rag ingest`` → ``rag ask`` (after) run as separate processes.
(c) concurrency: two ``rag ingest --replace`` of different corpora at once; what each side said and
    which index is live afterwards.
(d) bad inputs (``tests/bad_inputs.py``): ``rag ingest FILE`` per file, and ``rag.index.kb.add_upload``
    per hostile upload name, each in a child process: outcome, wall seconds and peak RSS of that child
    (``os.wait4``), and whether every indexed document is still there and answering.
(e) bad servers: a scripted OpenAI-compatible server (``tests/test_llm.FakeOpenAI``) answering empty,
    cut off, 429 with Retry-After 120, HTTP 500, hanging, stalling mid-stream, or obeying an injected
    instruction; ``rag ask`` wall time and outcome with the default settings (``RAG_LLM_BUDGET`` 30 s).

Prints one Markdown table per section and a summary line. ``--quick`` runs two kill points, six
damage cases, the bad inputs without the 50 MB text and 10,000-paragraph DOCX, and the servers with a
5-second budget. Exit code 1 when any case was not handled.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from core_support import MINI_DOC_IDS, Q_LEADERS, make_corpus  # noqa: E402
from bad_inputs import INPUTS, UPLOAD_NAMES  # noqa: E402
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


def live_docs(data: Path) -> list[str] | None:
    """Document ids of the live generation (CURRENT.json), or None when it cannot be read."""
    try:
        return json.loads((data / "index" / "CURRENT.json").read_text(encoding="utf-8"))["documents"]
    except (OSError, ValueError, KeyError):
        return None


def measured(args: list[str], env: dict, timeout: float = 600) -> tuple[subprocess.CompletedProcess, float, float, bool]:
    """Run ``python -m rag.cli *args`` (or ``python *args`` when args[0] is "-c") as a child:
    (result, wall seconds, peak RSS of that child in MiB from ``os.wait4``, killed after ``timeout``)."""
    cmd = [sys.executable, *(args if args[0] == "-c" else ["-m", "rag.cli", *args])]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=ROOT)
        killed: list[bool] = []
        timer = threading.Timer(timeout, lambda: (killed.append(True), proc.kill()))
        timer.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(cmd, proc.returncode, out.read().decode("utf-8", "replace"),
                                             err.read().decode("utf-8", "replace"))
    return result, time.perf_counter() - started, usage.ru_maxrss / 1024, bool(killed)


def no_traceback(*procs) -> bool:
    return all("Traceback" not in p.stderr for p in procs)


# --- (a) kill -9 during an ingest ------------------------------------------------------------------
def _kill_when(proc: subprocess.Popen, data: Path, point) -> bool:
    """Wait for ``point`` (seconds, "generation" = a new generation folder exists, "switch" =
    CURRENT.json names another generation), then SIGKILL; True when the child was still running."""
    index = data / "index"
    gens = {p.name for p in index.iterdir() if p.is_dir()}
    current = (index / "CURRENT.json").read_bytes()
    deadline = time.monotonic() + (point if isinstance(point, float) else 120)
    while proc.poll() is None and time.monotonic() < deadline:
        if point == "generation" and {p.name for p in index.iterdir() if p.is_dir()} - gens:
            break
        if point == "switch" and (index / "CURRENT.json").exists() and (index / "CURRENT.json").read_bytes() != current:
            break
        time.sleep(0.01)
    running = proc.poll() is None
    proc.kill()
    proc.wait()
    return running


def kill_rows(work: Path, corpus: Path, points) -> list[tuple[list[str], bool]]:
    """kill -9 of ``rag ingest --replace <five-document corpus>`` over a two-document index."""
    from core_support import CORPUS_DIR

    base = work / "kill-base"
    rag(["ingest"], environment(base, corpus))
    before = live_docs(base)
    rows = []
    for point in points:
        label = f"after {point:g} s" if isinstance(point, float) else {
            "generation": "as the new generation folder appears", "switch": "just after CURRENT.json switched"}[point]
        data = work / f"kill-{point}"
        shutil.copytree(base, data)
        env = environment(data, corpus)
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", "--replace", str(CORPUS_DIR)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        running = _kill_when(proc, data, point)
        live = live_docs(data)
        state = ("previous index (2 docs)" if live == before else f"new index ({len(live)} docs)" if live
                 else "CURRENT.json unreadable")
        ask = rag(["ask", Q_LEADERS], env)
        again, secs, _rss, _ = measured(["ingest"], env)
        after = rag(["ask", Q_LEADERS], env)
        final = live_docs(data) or []
        good = (ask.returncode == 0 and again.returncode == 0 and after.returncode == 0
                and set(before) <= set(final) and no_traceback(ask, again, after))
        first = again.stdout.strip().splitlines()[0][:70] if again.returncode == 0 and again.stdout.strip() \
            else outcome(again)
        rows.append(([f"kill -9 {label}" + ("" if running else " (ingest had finished)"), state, outcome(ask),
                      f"{first} ({secs:.1f} s)", outcome(after)], good))
        print(" | ".join(rows[-1][0]), file=sys.stderr, flush=True)
    return rows


# --- (d) bad inputs ---------------------------------------------------------------------------------
SLOW_INPUTS = ("10 MB Chinese text", "50 MB text", "DOCX of 10,000 paragraphs")
_UPLOAD = r"""
import json, sys
from pathlib import Path
from rag.errors import RagError
from rag.index.kb import add_upload, uploads_dir
from rag.settings import Settings
settings = Settings.from_env()
path, name = json.loads(sys.argv[1])
try:
    doc_id, _report = add_upload(settings, path, name)
except RagError as exc:
    print("error: " + str(exc), file=sys.stderr)
    sys.exit(1)
print(json.dumps({"doc_id": doc_id, "files": sorted(p.name for p in uploads_dir(settings).iterdir())},
                 ensure_ascii=False))
"""


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} B"


def _chunk_texts(data: Path, doc_ids) -> str:
    pointer = json.loads((data / "index" / "CURRENT.json").read_text(encoding="utf-8"))
    lines = (data / "index" / pointer["generation"] / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    return "\n".join(c["text"] for c in map(json.loads, lines) if c.get("doc_id") in doc_ids)


def input_rows(work: Path, clean: Path, corpus: Path, quick: bool) -> list[tuple[list[str], bool]]:
    folder = work / "inputs"
    folder.mkdir(exist_ok=True)
    rows = []
    for name, (maker, expected) in INPUTS.items():
        if quick and name in SLOW_INPUTS:
            continue
        path = maker(folder)
        data = work / ("input-" + "".join(c if c.isalnum() else "_" for c in name))
        shutil.copytree(clean, data)
        env = environment(data, corpus)
        before = live_docs(data) or []
        proc, secs, rss, killed = measured(["ingest", str(path)], env, timeout=600)
        after_docs = live_docs(data) or []
        ask = rag(["ask", Q_LEADERS], env)
        added = sorted(set(after_docs) - set(before))
        kept = set(before) <= set(after_docs) and ask.returncode == 0
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        if expected == "refused":
            ok = proc.returncode != 0 and len(errors) == 1 and not added
        elif expected == "indexed":
            ok = proc.returncode == 0 and len(added) == 1
        else:
            ok = True
        note = ""
        if "script" in name and added:
            text = _chunk_texts(data, added)
            if name.startswith("HTML"):  # script elements and handlers are markup, not text
                note = (" — SCRIPT CODE IN PASSAGES" if "alert('x')" in text or "onerror" in text
                        or "document.write" in text else " — script elements/handlers dropped, page text kept")
                ok = ok and "SCRIPT" not in note
            else:  # in a text file the markup is the document's own text: quoted verbatim, shown as text
                note = " — markup kept verbatim as text" if "<script>" in text else " — markup not in passages"
        elif proc.returncode == 0:
            note = f" — added {', '.join(added)}" if added else ""
        good = ok and kept and not killed and no_traceback(proc, ask)
        result = "KILLED after 600 s" if killed else (
            (proc.stdout.strip().splitlines() or ["ok"])[0][:70] if proc.returncode == 0 else outcome(proc))
        rows.append(([f"{name} ({_size(path)})", expected, result + note, f"{secs:.1f}", f"{rss:.0f}",
                      "yes" if kept else "NO"], good))
        print(" | ".join(rows[-1][0]), file=sys.stderr, flush=True)
    data = work / "input-uploads"
    shutil.copytree(clean, data)
    env = environment(data, corpus)
    from bad_inputs import POLICY_TEXT

    src = folder / "upload-source.txt"
    src.write_text(POLICY_TEXT, encoding="utf-8")
    for label, upload_name in UPLOAD_NAMES.items():
        before = live_docs(data) or []
        proc, secs, rss, killed = measured(["-c", _UPLOAD, json.dumps([str(src), upload_name])], env, timeout=300)
        after_docs = live_docs(data) or []
        stored = json.loads(proc.stdout)["files"] if proc.returncode == 0 else []
        outside = [p for p in (data / "uploads").glob("**/*") if p.parent != data / "uploads"]
        try:  # where a traversal name would have landed
            target = (data / "uploads" / upload_name).resolve()
            escaped = target.exists() and data not in target.parents
        except (OSError, ValueError):  # a name no file system accepts (too long, NUL) landed nowhere
            escaped = False
        safe = (not outside and not escaped
                and all(n.isprintable() and "/" not in n and len(n.encode()) <= 255 for n in stored))
        kept = set(before) <= set(after_docs)
        good = safe and kept and not killed and no_traceback(proc)
        shown = upload_name if len(upload_name) < 40 else upload_name[:20] + f"…({len(upload_name)} chars)"
        doc_id = json.loads(proc.stdout)["doc_id"] if proc.returncode == 0 else ""
        result = (f"stored as {doc_id if len(doc_id) < 40 else doc_id[:20] + f'…({len(doc_id)} chars)'}"
                  if proc.returncode == 0 else outcome(proc))
        rows.append(([f"upload name {label}: {shown!r}", "safe name", result[:90], f"{secs:.1f}", f"{rss:.0f}",
                      "yes" if kept else "NO"], good))
        print(" | ".join(rows[-1][0]), file=sys.stderr, flush=True)
    return rows


# --- (e) bad servers --------------------------------------------------------------------------------
SERVER_CASES = {
    "empty reply": dict(mode="ok", pieces=[]),
    "cut-off stream (no finish, no [DONE])": dict(mode="ok", pieces=["到2027年，", "四川要培育30家以上具有全国"], finish=None),
    "429 with Retry-After: 120": dict(mode="429", retry_after=120),
    "HTTP 500": dict(mode="500"),
    "hang (no response)": dict(mode="slow", delay=900),
    "stall mid-stream": dict(mode="stall", delay=900),
    "obeys an injected instruction (999万元)": dict(mode="ok", pieces=["补贴金额为999万元[1]。"]),
}
HUNG = ("hang (no response)", "stall mid-stream")


def server_rows(work: Path, clean: Path, corpus: Path, budget: float | None) -> list[tuple[list[str], bool, float]]:
    from test_llm import FakeOpenAI

    data = work / "servers"
    shutil.copytree(clean, data)
    rows = []
    limit = budget or 30.0
    for name, script in SERVER_CASES.items():
        script = dict(script)
        srv = FakeOpenAI(script.pop("mode"), script.pop("delay", 0.0), **script)
        try:
            env = environment(data, corpus)
            env.update(OPENAI_BASE_URL=srv.base_url, OPENAI_API_KEY="test", RAG_LLM="on", RAG_LLM_MODEL="test-model")
            if budget:
                env["RAG_LLM_BUDGET"] = str(budget)
            proc, secs, _rss, killed = measured(["ask", Q_LEADERS], env, timeout=limit + 120)
        finally:
            srv.close()
        final = proc.stdout.split("〕", 1)[-1] if "〔以上为大模型的原始输出" in proc.stdout else proc.stdout
        notice = next((line.strip() for line in final.splitlines() if line.strip().startswith("注意")), "")
        answer = final.split("注意：", 1)[0]  # the answer text (notices may quote a removed sentence)
        good = (proc.returncode == 0 and "30家以上" in answer and "999" not in answer and not killed
                and secs < limit + 10 and no_traceback(proc))
        said = notice[:90] or (outcome(proc) if proc.returncode else final.strip().splitlines()[0][:60])
        rows.append(([name, f"{secs:.1f}", said, "extractive figure shown" if "30家以上" in final else "NO figure",
                      f"{len(srv.requests)}"], good, secs))
        print(" | ".join(rows[-1][0]), file=sys.stderr, flush=True)
    return rows


def table(header: list[str], rows) -> None:
    print("| " + " | ".join(header) + " | handled |")
    print("|" + "---|" * (len(header) + 1))
    for row in rows:
        cells, good = row[0], row[1]
        print("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + f" | {'yes' if good else 'NO'} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer kill points and damage cases, no 50 MB inputs, 5 s LLM budget")
    ap.add_argument("--sections", default="abcde", help="which sections to run (letters a–e, default all)")
    ap.add_argument("--cases", default="", help="only the damage cases whose name contains this")
    ap.add_argument("--no-concurrent", action="store_true", help="skip the concurrent-ingest case (section c)")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it (default: a temp dir)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="rag-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    sections = set(args.sections) - ({"c"} if args.no_concurrent else set())
    started = time.perf_counter()
    try:
        corpus = make_corpus(work / "corpus")
        clean = work / "clean"
        built = rag(["ingest"], environment(clean, corpus))
        if built.returncode != 0:
            print(built.stderr, file=sys.stderr)
            return 2
        faults, inputs, damage, worst = [], [], [], None
        if "a" in sections:
            points = (1.0, "generation") if args.quick else (0.5, 1.0, 2.0, 3.0, 4.0, "generation", "switch")
            rows = kill_rows(work, corpus, points)
            faults += [good for _r, good in rows]
            print("\n## (a) kill -9 during `rag ingest --replace` (2 → 5 documents)\n")
            table(["case", "live index after the kill", "`rag ask`", "next `rag ingest`", "`rag ask` after"], rows)
        if "b" in sections:
            names = [n for n in CASES if args.cases in n]
            if args.quick:
                names = names[::5]
            rows = [damage_row(n, CASES[n], clean, work, corpus) for n in names]
            for row, _good in rows:
                print(" | ".join(row), file=sys.stderr, flush=True)
            damage += [good for _r, good in rows]
            print("\n## (b) index damage\n")
            table(["case", "`rag ask` before repair", "`rag ingest`", "`rag ask` after"], rows)
        if "c" in sections:
            row = concurrent_row(work, corpus)
            faults.append(row[1])
            print("\n## (c) concurrency\n")
            table(["case", "what each side said", "live index", "`rag ask` after"], [row])
        if "d" in sections:
            rows = input_rows(work, clean, corpus, args.quick)
            inputs += [good for _r, good in rows]
            print("\n## (d) bad inputs (`rag ingest FILE`; upload names via `rag.index.kb.add_upload`), each in a child process\n")
            table(["input", "expected", "outcome", "s", "peak RSS MiB", "indexed documents kept"], rows)
        if "e" in sections:
            budget = 5.0 if args.quick else None
            rows = server_rows(work, clean, corpus, budget)
            faults += [good for _r, good, _s in rows]
            worst = max(secs for r, _g, secs in rows if r[0] in HUNG)
            print(f"\n## (e) bad LLM servers (`rag ask`, RAG_LLM_BUDGET={budget or 'default 30'} s)\n")
            table(["server", "wall s", "notice shown", "answer", "requests"], rows)
        parts = [f"faults survived {sum(faults)}/{len(faults)}" if faults else None,
                 f"bad inputs handled {sum(inputs)}/{len(inputs)}" if inputs else None,
                 f"damage cases repaired {sum(damage)}/{len(damage)}" if damage else None,
                 f"worst-case question time with a hung server {worst:.1f} s" if worst is not None else None]
        print("\nSummary: " + "; ".join(p for p in parts if p) + f"; {time.perf_counter() - started:.0f} s in all")
        return 0 if all(faults + inputs + damage) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
