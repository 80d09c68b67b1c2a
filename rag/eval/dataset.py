"""Loading and validating policy-QA benchmark files (JSONL).

The format is described in BENCHMARK.md: one JSON object per line with the
fields ``id``, ``question``, ``answer``, ``key_facts``, ``evidence`` (a list of
``{"doc", "anchor"}``), ``type`` and ``persona``; an optional ``tags`` list of
strings (e.g. ``["table"]``) and an optional ``split`` string (``dev`` / ``holdout``) are allowed.

Anchors and key facts are checked against the source texts: by default the repository's
``corpus/`` (``manifest.json`` maps each document's ``original_file`` — the name a benchmark's
``doc`` field uses — to its file under ``corpus/docs/``), or a directory of files named as in ``doc``
(``--seeds DIR``, or ``--corpus DIR`` when DIR has no ``manifest.json``, e.g. ``eval/corpora/lawref-dev``).
Pure standard library.  Command line::

    python -m rag.eval.dataset eval/datasets/dev.jsonl eval/datasets/policy_qa.jsonl [--corpus DIR | --seeds DIR]

prints every problem found and exits with status 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import unicodedata

DEFAULT_CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "corpus")
"""The repository's bundled corpus (``manifest.json`` + ``docs/``)."""

QUESTION_TYPES = frozenset(
    {"numeric", "factual", "list", "applicability", "cross_doc", "temporal", "unanswerable"}
)
PERSONAS = frozenset({"official", "enterprise", "evaluator"})

REQUIRED_FIELDS = {
    "id": str,
    "question": str,
    "answer": str,
    "key_facts": list,
    "evidence": list,
    "type": str,
    "persona": str,
}

KEY_FACTS_MIN, KEY_FACTS_MAX = 1, 3
KEY_FACT_LEN_MIN, KEY_FACT_LEN_MAX = 2, 15
ANCHOR_LEN_MIN, ANCHOR_LEN_MAX = 6, 30

_WS_RE = re.compile(r"\s+")
# Page-number artefacts left by PDF extraction: 一2一, - 2 -, -10-, ——12—
_PAGE_ARTEFACT_RE = re.compile(r"一\s*\d{1,3}\s*一|[-－—–]+\s*\d{1,3}\s*[-－—–]+(?![\d])")


def normalize(text: str) -> str:
    """Return ``text`` after Unicode NFKC normalisation with all whitespace removed.

    This is the comparison form used by the benchmark matching rules (anchors,
    key facts): full-width digits/letters become half-width, and wrapped lines
    join because newlines and spaces disappear.
    """
    return _WS_RE.sub("", unicodedata.normalize("NFKC", text))


def _structural_problems(rec: object) -> list[str]:
    """Return problems with the fields/types of one decoded record (no file access)."""
    if not isinstance(rec, dict):
        return [f"record is a JSON {type(rec).__name__}, expected an object"]
    problems: list[str] = []
    for field, ftype in REQUIRED_FIELDS.items():
        if field not in rec:
            problems.append(f"missing field '{field}'")
        elif not isinstance(rec[field], ftype):
            problems.append(
                f"field '{field}' must be {ftype.__name__}, got {type(rec[field]).__name__}"
            )
    if problems:
        return problems
    for field in ("id", "question", "answer"):
        if not rec[field].strip():
            problems.append(f"field '{field}' is empty")
    if rec["type"] not in QUESTION_TYPES:
        problems.append(f"type '{rec['type']}' not in {sorted(QUESTION_TYPES)}")
    if rec["persona"] not in PERSONAS:
        problems.append(f"persona '{rec['persona']}' not in {sorted(PERSONAS)}")
    for i, kf in enumerate(rec["key_facts"]):
        if not isinstance(kf, str):
            problems.append(f"key_facts[{i}] must be str, got {type(kf).__name__}")
    for i, ev in enumerate(rec["evidence"]):
        if not isinstance(ev, dict):
            problems.append(f"evidence[{i}] must be an object, got {type(ev).__name__}")
            continue
        for sub in ("doc", "anchor"):
            if sub not in ev:
                problems.append(f"evidence[{i}] missing '{sub}'")
            elif not isinstance(ev[sub], str):
                problems.append(f"evidence[{i}].{sub} must be str, got {type(ev[sub]).__name__}")
    if "tags" in rec:
        tags = rec["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            problems.append("field 'tags' must be a list of strings")
    if "split" in rec and (not isinstance(rec["split"], str) or not rec["split"].strip()):
        problems.append("field 'split' must be a non-empty string (e.g. 'dev', 'holdout')")
    return problems


def _read_records(path: str):
    """Yield ``(line_number, record_or_None, json_error_or_None)`` for non-blank lines."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield lineno, None, f"malformed JSON: {exc.msg} (column {exc.colno})"


def load_questions(path: str) -> list[dict]:
    """Load a benchmark JSONL file and return its records as a list of dicts.

    Blank lines are skipped.  Raises ``ValueError`` with a ``file:line:`` prefix on
    the first malformed JSON line, missing field, field of the wrong JSON type, or
    ``type``/``persona`` value outside the allowed sets.  Raises ``OSError`` if the
    file cannot be read.  Content checks against the source documents are done by
    :func:`validate_dataset`, not here.
    """
    records: list[dict] = []
    for lineno, rec, err in _read_records(path):
        if err:
            raise ValueError(f"{path}:{lineno}: {err}")
        problems = _structural_problems(rec)
        if problems:
            raise ValueError(f"{path}:{lineno}: " + "; ".join(problems))
        records.append(rec)
    return records


class _Seeds:
    """Lazy cache of source documents (raw lines and normalised full text) by ``doc`` name.

    ``seeds_dir`` given, or a ``corpus_dir`` without ``manifest.json`` (an external corpus such as
    ``eval/corpora/lawref-dev``): ``doc`` is a file name in that directory. Otherwise ``corpus_dir``'s
    ``manifest.json`` maps ``original_file`` (and, for convenience, the document ``id`` and the
    corpus file name) to the file; ``self.error`` is set when the manifest cannot be read.
    """

    def __init__(self, seeds_dir: str | None = None, corpus_dir: str | None = None):
        self.error: str | None = None
        self._paths: dict[str, str] | None = None
        if seeds_dir:
            self.dir = seeds_dir
        else:
            self.dir = corpus_dir or DEFAULT_CORPUS
            if corpus_dir and not os.path.isfile(os.path.join(corpus_dir, "manifest.json")):
                if not os.path.isdir(corpus_dir):
                    self.error = f"{corpus_dir}: corpus directory not found; give --corpus DIR"
            else:
                self._paths = self._manifest_paths(self.dir)
        self._cache: dict[str, tuple[list[str], str] | None] = {}

    def _manifest_paths(self, corpus_dir: str) -> dict[str, str]:
        manifest = os.path.join(corpus_dir, "manifest.json")
        try:
            with open(manifest, encoding="utf-8") as fh:
                docs = json.load(fh)["documents"]
            paths = {}
            for d in docs:
                path = os.path.join(corpus_dir, d["file"])
                for name in (d.get("original_file"), d.get("id"), os.path.basename(d["file"])):
                    if isinstance(name, str) and name:
                        paths.setdefault(name, path)
            return paths
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.error = f"{manifest}: cannot read the corpus manifest ({exc.__class__.__name__}: {exc})"
            return {}

    def _path(self, doc: str) -> str | None:
        if self._paths is not None:
            return self._paths.get(doc)
        if os.path.basename(doc) != doc:
            return None
        return os.path.join(self.dir, doc)

    def get(self, doc: str):
        if doc not in self._cache:
            path = self._path(doc)
            if path is None or not os.path.isfile(path):
                self._cache[doc] = None
            else:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                self._cache[doc] = (text.splitlines(), normalize(text))
        return self._cache[doc]


def _content_problems(rec: dict, seeds: _Seeds) -> list[str]:
    """Return rule violations of one structurally valid record against the seeds."""
    problems: list[str] = []
    kfs, evidence, qtype = rec["key_facts"], rec["evidence"], rec["type"]

    if qtype == "unanswerable":
        if kfs:
            problems.append("unanswerable question must have key_facts == []")
        if evidence:
            problems.append("unanswerable question must have evidence == []")
    else:
        if not (KEY_FACTS_MIN <= len(kfs) <= KEY_FACTS_MAX):
            problems.append(f"needs {KEY_FACTS_MIN}-{KEY_FACTS_MAX} key_facts, has {len(kfs)}")
        if not evidence:
            problems.append(f"type '{qtype}' needs at least one evidence anchor")

    norm_answer = normalize(rec["answer"])
    for kf in kfs:
        if not (KEY_FACT_LEN_MIN <= len(kf) <= KEY_FACT_LEN_MAX):
            problems.append(
                f"key fact {kf!r} has {len(kf)} chars (allowed {KEY_FACT_LEN_MIN}-{KEY_FACT_LEN_MAX})"
            )
        if kf != kf.strip():
            problems.append(f"key fact {kf!r} has leading/trailing whitespace")
        if normalize(kf) not in norm_answer:
            problems.append(f"key fact {kf!r} not contained in the answer")

    docs_seen: list[str] = []
    for i, ev in enumerate(evidence):
        doc, anchor = ev["doc"], ev["anchor"]
        if doc not in docs_seen:
            docs_seen.append(doc)
        if not (ANCHOR_LEN_MIN <= len(anchor) <= ANCHOR_LEN_MAX):
            problems.append(
                f"evidence[{i}] anchor {anchor!r} has {len(anchor)} chars "
                f"(allowed {ANCHOR_LEN_MIN}-{ANCHOR_LEN_MAX})"
            )
        if "\n" in anchor or "\r" in anchor:
            problems.append(f"evidence[{i}] anchor {anchor!r} spans a line break")
        if _PAGE_ARTEFACT_RE.search(anchor):
            problems.append(f"evidence[{i}] anchor {anchor!r} contains a page-number artefact")
        seed = seeds.get(doc)
        if seed is None:
            problems.append(f"evidence[{i}] doc {doc!r} not found in {seeds.dir}")
            continue
        lines, _ = seed
        if not any(anchor in line for line in lines):
            problems.append(
                f"evidence[{i}] anchor {anchor!r} not found verbatim within one line of {doc}"
            )

    if kfs and docs_seen:
        texts = [seeds.get(d)[1] for d in docs_seen if seeds.get(d) is not None]
        for kf in kfs:
            nkf = normalize(kf)
            if texts and not any(nkf in t for t in texts):
                problems.append(f"key fact {kf!r} not found in any evidence document")

    if qtype == "cross_doc" and len(docs_seen) < 2:
        problems.append("cross_doc question needs evidence anchors in at least 2 documents")
    return problems


def validate_dataset(path: str, seeds_dir: str | None = None, corpus_dir: str | None = None) -> list[str]:
    """Check a benchmark JSONL file and return a list of human-readable problems.

    Each problem is prefixed with ``file:line:`` (and the record id when known).
    An empty list means the file is valid.  Checks: JSON syntax; required fields
    and their types; unique ids; ``type``/``persona`` in the allowed sets; 1-3
    key facts of 2-15 chars each (none, and no evidence, for ``unanswerable`` and
    only for it); every anchor 6-30 chars, free of page-number artefacts and
    found verbatim within a single line of its ``doc`` — a file of ``seeds_dir`` when
    given or of a ``corpus_dir`` that has no ``manifest.json``, else the document whose
    ``original_file`` is ``doc`` in ``corpus_dir``'s manifest (default: the repository's ``corpus/``);
    every key fact contained in the normalised answer and in the normalised full text
    of at least one of the question's evidence documents; ``cross_doc`` questions
    cite at least two documents.  Never raises for bad content; an unreadable
    ``path`` or corpus manifest is reported as a problem.
    """
    problems: list[str] = []
    seeds = _Seeds(seeds_dir, corpus_dir)
    if seeds.error:
        return [seeds.error]
    seen_ids: dict[str, int] = {}
    try:
        rows = list(_read_records(path))
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: cannot read: {exc}"]
    if not rows:
        problems.append(f"{path}: file contains no questions")
    for lineno, rec, err in rows:
        where = f"{path}:{lineno}"
        if err:
            problems.append(f"{where}: {err}")
            continue
        structural = _structural_problems(rec)
        if isinstance(rec, dict) and isinstance(rec.get("id"), str):
            where += f" [{rec['id']}]"
            if rec["id"] in seen_ids:
                problems.append(f"{where}: duplicate id (first on line {seen_ids[rec['id']]})")
            else:
                seen_ids[rec["id"]] = lineno
        if structural:
            problems.extend(f"{where}: {p}" for p in structural)
            continue
        problems.extend(f"{where}: {p}" for p in _content_problems(rec, seeds))
    return problems


def cross_file_problems(paths: list[str]) -> list[str]:
    """Return ids or normalised question texts that occur in more than one of ``paths``.

    Used to keep a tuning set and a held-out set disjoint.  Unreadable or
    malformed lines are ignored here (``validate_dataset`` reports them).
    """
    problems: list[str] = []
    first_id: dict[str, str] = {}
    first_q: dict[str, str] = {}
    for path in paths:
        try:
            rows = list(_read_records(path))
        except (OSError, UnicodeDecodeError):
            continue
        for lineno, rec, err in rows:
            if err or not isinstance(rec, dict):
                continue
            where = f"{path}:{lineno}"
            rid, q = rec.get("id"), rec.get("question")
            if isinstance(rid, str):
                if rid in first_id and not first_id[rid].startswith(path + ":"):
                    problems.append(f"{where}: id {rid!r} also used at {first_id[rid]}")
                first_id.setdefault(rid, where)
            if isinstance(q, str):
                nq = normalize(q)
                if nq in first_q and not first_q[nq].startswith(path + ":"):
                    problems.append(f"{where}: same question as {first_q[nq]}")
                first_q.setdefault(nq, where)
    return problems


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit status (0 valid, 1 problems)."""
    parser = argparse.ArgumentParser(
        prog="python -m rag.eval.dataset", description="Validate policy-QA benchmark JSONL files."
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="JSONL file(s) to check")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--corpus", metavar="DIR", default=None,
                       help=f"corpus directory: with manifest.json, or files named as in 'doc' (default {DEFAULT_CORPUS})")
    group.add_argument("--seeds", metavar="DIR", help="directory of source documents named as in 'doc'")
    args = parser.parse_args(argv)

    problems: list[str] = []
    for path in args.paths:
        problems.extend(validate_dataset(path, args.seeds, args.corpus))
    if len(args.paths) > 1:
        problems.extend(cross_file_problems(args.paths))
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"OK: {', '.join(args.paths)} valid", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
