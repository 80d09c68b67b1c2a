#!/usr/bin/env python3
"""Identical-records check (issue 14, rule 5): the eval records of a tree before and after a change.

``run`` evaluates a source tree (default: the tree this script is in) on named question sets through its own
``rag eval`` and writes one run directory; ``compare`` says, set by set, whether two run directories hold the
same per-question records, ignoring only what legitimately varies between two runs of the same code.

Usage:
    python eval/same_records.py run --out DIR [--sets dev|holdout|NAME,NAME,...] [--tree PATH]
                                    [--data-dir PATH] [--today YYYY-MM-DD] [--config NAME] [--set KEY=VALUE ...]
    python eval/same_records.py compare A B [--show N]

    # before a move:  python eval/same_records.py run --out /tmp/before
    # after it:       python eval/same_records.py run --out /tmp/after
    #                 python eval/same_records.py compare /tmp/before /tmp/after

Sets (``--sets``; default ``dev``, the nine tuning sets):
    bundled-dev    eval/datasets/dev.jsonl on the bundled corpus
    external-dev   eval/datasets/external_dev.jsonl, split dev, on eval/corpora/lawref-dev
    qa2-dev        eval/datasets/external_qa2.jsonl, split dev, on eval/corpora/lawref-dev
    x3-dev         eval/datasets/external_x3.jsonl, split dev, on eval/corpora/lawref-x3
    x4-dev         eval/datasets/external_x4.jsonl, split dev, on eval/corpora/lawref-dev
    x5-dev         eval/datasets/external_x5.jsonl, split dev, on eval/corpora/lawref-dev
    x6-dev         eval/datasets/external_x6.jsonl, split dev, on eval/corpora/lawref-dev
    x7-dev         eval/datasets/external_x7.jsonl, split dev, on eval/corpora/lawref-dev
    x8-dev         eval/datasets/external_x8.jsonl, split dev, on eval/corpora/lawref-dev
  ``holdout`` (bundled-holdout, external-holdout, qa2-holdout, x3-holdout, gd-holdout, x4-holdout, x5-holdout, x6-holdout, x7-holdout, x8-holdout) names the held-out
  sets; they are only run when named, by whoever may run them.

``run`` calls each set as ``rag eval --dataset … [--corpus …] [--split …] --out DIR/<set>`` in a subprocess
whose working directory is ``--tree``, through the ``rag`` console entry point the tree's pyproject.toml
names (so the tree's own code runs, wherever its modules live). Every run gets a fresh data directory
(a temporary one, removed afterwards, unless ``--data-dir``), so the index is built by the code under test;
``RAG_LLM=off`` (the LLM path is not deterministic), ``RAG_TODAY`` pinned (notices depend on the date:
``--today``, default ``$RAG_TODAY`` or 2026-12-01) and ``RAG_CORPUS_DIR`` unset (the bundled corpus is the
tree's). ``DIR/run.json`` records the tree, its git commit and whether it had uncommitted changes, the
commands, the RAG_* environment and each set's wall time (``compare`` notes when the runs' date, config,
overrides or environment differ). ``--config`` and ``--set`` are passed to ``rag eval`` (e.g. to show that
``compare`` notices a changed setting).

``compare`` reads ``DIR/<set>/records.jsonl`` (and ``summary.json``) of both directories, matches records by
``id`` and compares every field except ``IGNORED_RECORD_FIELDS`` (the per-stage timings); summaries are
compared without ``IGNORED_SUMMARY_FIELDS`` (latency percentiles, the data directory). Both lists were
found by running the same tree twice and diffing. Floats must be equal exactly. Per set it prints
``identical N records`` or how many differ with the first differing ids, their fields and the first
difference's values.

Exit status: 0 identical (``compare``) or all sets run (``run``); 1 a difference (``compare``) or a failed
eval (``run``); 2 bad input, with one ``error:`` line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# name -> (dataset, corpus folder or None for the bundled corpus, split or None for every question)
SETS: dict[str, tuple[str, str | None, str | None]] = {
    "bundled-dev": ("eval/datasets/dev.jsonl", None, None),
    "external-dev": ("eval/datasets/external_dev.jsonl", "eval/corpora/lawref-dev", "dev"),
    "qa2-dev": ("eval/datasets/external_qa2.jsonl", "eval/corpora/lawref-dev", "dev"),
    "x3-dev": ("eval/datasets/external_x3.jsonl", "eval/corpora/lawref-x3", "dev"),
    "x4-dev": ("eval/datasets/external_x4.jsonl", "eval/corpora/lawref-dev", "dev"),
    "x5-dev": ("eval/datasets/external_x5.jsonl", "eval/corpora/lawref-dev", "dev"),
    "x6-dev": ("eval/datasets/external_x6.jsonl", "eval/corpora/lawref-dev", "dev"),
    "x7-dev": ("eval/datasets/external_x7.jsonl", "eval/corpora/lawref-dev", "dev"),
    "x8-dev": ("eval/datasets/external_x8.jsonl", "eval/corpora/lawref-dev", "dev"),
    "bundled-holdout": ("eval/datasets/policy_qa.jsonl", None, None),
    "external-holdout": ("eval/datasets/external_dev.jsonl", "eval/corpora/lawref-dev", "holdout"),
    "qa2-holdout": ("eval/datasets/external_qa2.jsonl", "eval/corpora/lawref-dev", "holdout"),
    "x3-holdout": ("eval/datasets/external_x3.jsonl", "eval/corpora/lawref-x3", "holdout"),
    "gd-holdout": ("eval/datasets/external_gd.jsonl", "eval/corpora/lawref-gd", "holdout"),
    "x4-holdout": ("eval/datasets/external_x4.jsonl", "eval/corpora/lawref-dev", "holdout"),
    "x5-holdout": ("eval/datasets/external_x5.jsonl", "eval/corpora/lawref-dev", "holdout"),
    "x6-holdout": ("eval/datasets/external_x6.jsonl", "eval/corpora/lawref-dev", "holdout"),
    "x7-holdout": ("eval/datasets/external_x7.jsonl", "eval/corpora/lawref-dev", "holdout"),
    "x8-holdout": ("eval/datasets/external_x8.jsonl", "eval/corpora/lawref-dev", "holdout"),
}
GROUPS = {"dev": [s for s in SETS if s.endswith("-dev")], "holdout": [s for s in SETS if s.endswith("-holdout")]}
DEFAULT_TODAY = "2026-12-01"

# Fields that differ between two runs of the same tree (found by diffing two runs of one tree):
IGNORED_RECORD_FIELDS = frozenset({"timings_ms"})  # wall-clock milliseconds per stage
IGNORED_SUMMARY_FIELDS = frozenset({"latency_ms",  # percentiles of those timings
                                    "data_dir"})  # the run's (temporary) data directory


class BadInput(Exception):
    """A problem with the command line or a run directory: one line, exit status 2."""


# --- run ---------------------------------------------------------------------------------------
def parse_sets(text: str) -> list[str]:
    """``"dev"``, ``"holdout"`` or comma-separated set names → set names in the given order, without
    repeats. Raises BadInput for an unknown name."""
    names: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        for name in GROUPS.get(part, [part]):
            if name not in SETS:
                raise BadInput(f"unknown set {name!r}; choose from {', '.join([*GROUPS, *SETS])}")
            if name not in names:
                names.append(name)
    if not names:
        raise BadInput("--sets names no set")
    return names


def entry_point(tree: Path) -> tuple[str, str]:
    """``(module, function)`` of the ``rag`` console script in ``tree``'s pyproject.toml
    (``rag = "rag.cli:main"``). Raises BadInput when the tree has none."""
    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file():
        raise BadInput(f"{tree} has no pyproject.toml; give --tree the root of a source tree")
    match = re.search(r'^\s*rag\s*=\s*"([\w.]+):(\w+)"', pyproject.read_text(encoding="utf-8"), re.M)
    if not match:
        raise BadInput(f"{pyproject} names no `rag` console script under [project.scripts]")
    return match.group(1), match.group(2)


def eval_command(tree: Path, data_dir: Path, name: str, out: Path, config: str | None,
                 overrides: list[str]) -> list[str]:
    """The ``rag eval`` command line of set ``name`` (run with the working directory ``tree``)."""
    module, func = entry_point(tree)
    dataset, corpus, split = SETS[name]
    cmd = [sys.executable, "-c", f"import sys; from {module} import {func}; sys.exit({func}())",
           "--data-dir", str(data_dir), "eval", "--dataset", dataset]
    if corpus:
        cmd += ["--corpus", corpus]
    if split:
        cmd += ["--split", split]
    if config:
        cmd += ["--config", config]
    for pair in overrides:
        cmd += ["--set", pair]
    return cmd + ["--out", str(out)]


def _git(tree: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def run(out: Path, sets: list[str], tree: Path = REPO_ROOT, data_dir: Path | None = None,
        today: str = DEFAULT_TODAY, config: str | None = None, overrides: list[str] = ()) -> int:
    """Evaluate ``tree`` on ``sets`` into ``out/<set>`` (records.jsonl, summary.json, report.md, plots) and
    write ``out/run.json``. Returns 0, or 1 when an eval failed (its stderr's last lines are printed).
    Raises BadInput for a missing tree or dataset, or a non-empty ``out``."""
    tree = tree.resolve()
    for name in sets:
        dataset, corpus, _ = SETS[name]
        for path in (dataset, corpus):
            if path and not (tree / path).exists():
                raise BadInput(f"{tree / path} not found (set {name})")
    if out.exists() and any(out.iterdir()):
        raise BadInput(f"{out} is not empty; give a new --out directory")
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RAG_LLM": "off", "RAG_TODAY": today, "GRADIO_ANALYTICS_ENABLED": "False"}
    for key in ("RAG_DATA_DIR", "RAG_CORPUS_DIR"):  # the data dir is --data-dir; the bundled corpus the tree's
        env.pop(key, None)
    manifest = {
        "tree": str(tree), "git_commit": _git(tree, "rev-parse", "HEAD"),
        "git_uncommitted": (lambda s: None if s is None else bool(s))(_git(tree, "status", "--porcelain")),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "today": today, "config": config,
        "overrides": list(overrides), "data_dir": str(data_dir) if data_dir else "temporary",
        "env": {k: v for k, v in sorted(env.items()) if k.startswith("RAG_")}, "sets": {},
    }
    scratch = None if data_dir else Path(tempfile.mkdtemp(prefix="same-records-"))
    failed = 0
    try:
        for name in sets:
            cmd = eval_command(tree, data_dir or scratch, name, out / name, config, overrides)
            print(f"{name}: running …", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
            seconds = round(time.perf_counter() - t0, 1)
            manifest["sets"][name] = {"command": cmd[3:], "seconds": seconds, "exit_status": done.returncode}
            if done.returncode != 0:
                failed += 1
                tail = "\n".join(done.stderr.strip().splitlines()[-8:])
                print(f"{name}: rag eval failed (exit {done.returncode}) after {seconds} s:\n{tail}", file=sys.stderr)
            else:
                n = sum(1 for _ in open(out / name / "records.jsonl", encoding="utf-8"))
                manifest["sets"][name]["records"] = n
                print(f"{name}: {n} records in {seconds} s", file=sys.stderr, flush=True)
            (out / "run.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 1 if failed else 0


# --- compare -----------------------------------------------------------------------------------
def load_records(path: Path) -> dict[str, dict]:
    """``records.jsonl`` → {id: record}. Raises BadInput for a missing file, a malformed line, a record
    without ``id`` or a repeated id."""
    if not path.is_file():
        raise BadInput(f"{path} not found")
    out: dict[str, dict] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInput(f"{path}:{n}: not JSON ({exc.msg})") from None
            if not isinstance(rec, dict) or "id" not in rec:
                raise BadInput(f"{path}:{n}: a record needs an 'id'")
            if rec["id"] in out:
                raise BadInput(f"{path}:{n}: id {rec['id']!r} repeated")
            out[rec["id"]] = rec
    return out


def first_difference(a, b, path: str = "") -> tuple[str, object, object] | None:
    """The first place where ``a`` and ``b`` (JSON values) differ: ``(path, value in a, value in b)``, path
    like ``hits[3].chunk_id``; None when equal (floats exactly; 1 and 1.0 and True differ)."""
    if type(a) is not type(b):
        return path, a, b
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return sub, a.get(key, "<missing>"), b.get(key, "<missing>")
            found = first_difference(a[key], b[key], sub)
            if found:
                return found
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{path} length", len(a), len(b)
        return None
    return None if a == b else (path, a, b)


def differing_fields(a: dict, b: dict, ignored=IGNORED_RECORD_FIELDS) -> list[str]:
    """Top-level keys (not in ``ignored``) whose values differ between records ``a`` and ``b``, sorted."""
    return sorted(k for k in set(a) | set(b) if k not in ignored
                  and (k not in a or k not in b or first_difference(a[k], b[k]) is not None))


def _short(value, width: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def compare_set(dir_a: Path, dir_b: Path, show: int = 5) -> tuple[bool, list[str]]:
    """Compare one set's records (and summary) in two run directories. Returns ``(identical, lines)``."""
    a, b = load_records(dir_a / "records.jsonl"), load_records(dir_b / "records.jsonl")
    lines: list[str] = []
    only_a, only_b = [i for i in a if i not in b], [i for i in b if i not in a]
    if only_a or only_b:
        lines.append(f"ids only in A: {len(only_a)} {only_a[:show]}; only in B: {len(only_b)} {only_b[:show]}")
    diffs = [(i, differing_fields(a[i], b[i])) for i in a if i in b]
    diffs = [(i, f) for i, f in diffs if f]
    if diffs:
        lines.append(f"{len(diffs)} of {sum(1 for i in a if i in b)} records differ")
        for i, fields in diffs[:show]:
            lines.append(f"  {i}: {', '.join(fields)}")
        i, fields = diffs[0]
        where, va, vb = first_difference({k: a[i].get(k) for k in fields}, {k: b[i].get(k) for k in fields})
        lines.append(f"  first difference, {i} {where}: A {_short(va)} | B {_short(vb)}")
    summaries = [d / "summary.json" for d in (dir_a, dir_b)]
    if all(p.is_file() for p in summaries):
        try:
            sa, sb = (json.loads(p.read_text(encoding="utf-8")) for p in summaries)
        except json.JSONDecodeError as exc:
            raise BadInput(f"a summary.json of {dir_a.name} is not JSON ({exc.msg})") from None
        fields = differing_fields(sa, sb, IGNORED_SUMMARY_FIELDS)
        if fields:
            where, va, vb = first_difference({k: sa.get(k) for k in fields}, {k: sb.get(k) for k in fields})
            lines.append(f"summary differs in {', '.join(fields)}; first: {where}: A {_short(va)} | B {_short(vb)}")
    if not lines:
        return True, [f"identical {len(a)} records"]
    return False, lines


def _run_sets(run_dir: Path) -> list[str]:
    if not run_dir.is_dir():
        raise BadInput(f"{run_dir} is not a directory")
    sets = sorted(p.name for p in run_dir.iterdir() if (p / "records.jsonl").is_file())
    if not sets:
        raise BadInput(f"{run_dir} holds no <set>/records.jsonl; is it a `same_records.py run` directory?")
    return sets


def _manifest(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def compare(dir_a: Path, dir_b: Path, show: int = 5, out=None) -> int:
    """Print the comparison of two run directories set by set; 0 when every set is identical, 1 otherwise.
    Raises BadInput when a directory is no run directory or a file in it is malformed."""
    out = out or sys.stdout
    sets_a, sets_b = _run_sets(dir_a), _run_sets(dir_b)
    common = [s for s in sets_a if s in sets_b]
    if not common:
        raise BadInput(f"{dir_a} ({', '.join(sets_a)}) and {dir_b} ({', '.join(sets_b)}) share no set")
    ma, mb = _manifest(dir_a), _manifest(dir_b)
    for key in ("today", "config", "overrides", "env"):
        if ma.get(key) != mb.get(key):
            print(f"note: the runs differ in {key}: A {ma.get(key)!r}, B {mb.get(key)!r}", file=out)
    same = True
    for name in common:
        identical, lines = compare_set(dir_a / name, dir_b / name, show)
        same &= identical
        print(f"{name}: {lines[0]}", file=out)
        for line in lines[1:]:
            print(f"  {line}", file=out)
    for name in sorted(set(sets_a) ^ set(sets_b)):
        same = False
        print(f"{name}: only in {'A' if name in sets_a else 'B'}", file=out)
    return 0 if same else 1


# --- command line ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="evaluate a tree on the named sets into one run directory")
    p.add_argument("--out", required=True, type=Path, help="run directory to create (must be new or empty)")
    p.add_argument("--sets", default="dev", help="dev (default), holdout, or comma-separated set names: "
                                                 + ", ".join(SETS))
    p.add_argument("--tree", type=Path, default=REPO_ROOT, help="source tree to evaluate (default: this one)")
    p.add_argument("--data-dir", type=Path, help="reuse this data directory (default: a fresh temporary one)")
    p.add_argument("--today", default=os.environ.get("RAG_TODAY") or DEFAULT_TODAY,
                   help=f"RAG_TODAY of the runs (default $RAG_TODAY or {DEFAULT_TODAY})")
    p.add_argument("--config", help="rag eval --config NAME (default: hybrid)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="rag eval --set (repeatable)")
    c = sub.add_parser("compare", help="compare two run directories set by set")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--show", type=int, default=5, help="differing ids listed per set (default 5)")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.today):
                raise BadInput(f"--today {args.today!r}: use YYYY-MM-DD")
            return run(args.out, parse_sets(args.sets), args.tree, args.data_dir, args.today, args.config, args.set)
        return compare(args.a, args.b, args.show)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
