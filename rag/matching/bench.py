"""Benchmark of profile matching on ``eval/datasets/profiles.jsonl`` (a benchmark reports, it asserts nothing).

Per profile, over the top-k provisions (k = 10):

* **recall@k** — share of the expected anchors contained (NFKC + whitespace removed, ``rag.text.normalize``)
  in the passage text of a top-k provision of the expected document; ``quote_recall@k`` uses the shown
  quotes instead of the whole passages;
* **precision@k** — share of the top-k provisions whose passage contains at least one expected anchor;
* **flag accuracy** — over the expected documents that appear in the top-k: share whose shown flags
  (codes only_city / expired / draft) equal ``expected_flags`` exactly; split into **status** (expired /
  draft: the document on the day) and **place** (only_city: depends on the company's location, which
  a free text may not state — the expected flags are those of the curated profile's location). With
  ``--source text`` this is the *free-text flag accuracy*;
* **in-force first** — share of profiles whose list shows every in-force provision before the others
  (``numbered_in_order``: ranks are 1…k in the order shown).

Means over profiles. The file is split by id order: the first half (p-001…p-023) was used for tuning,
the second half is held out and was never tuned on; both are reported separately.
Expected flags were written for 2026-11-20, so that is the default evaluation date.

    python -m rag.matching.bench [--profiles FILE] [--k 10] [--source profile|text|both] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rag.errors import RagError
from rag.matching.provisions import in_force_tier
from rag.settings import PROJECT_ROOT, Settings
from rag.text import normalize

REFERENCE_TODAY = "2026-11-20"
DEFAULT_PROFILES = PROJECT_ROOT / "eval" / "datasets" / "profiles.jsonl"
FLAG_CODES = {"only_city", "expired", "draft"}
STATUS_CODES = {"expired", "draft"}  # the document's own status on the day; the rest depend on the location


def _load(path: Path) -> list[dict]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RagError(f"cannot read {path} ({exc.strerror or exc})") from None
    rows = []
    for no, line in enumerate(lines, start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RagError(f"{path}:{no} is not valid JSON ({exc.msg})") from None
    return sorted(rows, key=lambda r: str(r.get("id")))


def _file_to_id(settings: Settings) -> dict[str, str]:
    manifest = json.loads((Path(settings.corpus_dir) / "manifest.json").read_text(encoding="utf-8"))
    return {d["original_file"]: d["id"] for d in manifest["documents"] if d.get("original_file")}


def score_profile(row: dict, result, file_to_id: dict[str, str], k: int) -> dict:
    """Per-profile metrics of one MatchResult (see module docstring)."""
    provs = list(result.provisions)[:k]
    texts = [(p.meta.doc_id, normalize(p.chunk.text), normalize(p.quote)) for p in provs]
    anchors = [(file_to_id.get(e["doc"], e["doc"]), normalize(e["anchor"])) for e in row["expected"]]
    found = [any(d == doc and a in t for d, t, _q in texts) for doc, a in anchors]
    found_q = [any(d == doc and a in q for d, _t, q in texts) for doc, a in anchors]
    relevant = [any(d == doc and a in t for doc, a in anchors) for d, t, _q in texts]
    expected_flags = {file_to_id.get(f, f): set(v) for f, v in row.get("expected_flags", {}).items()}
    flag_ok, flag_n, status_ok, place_ok = 0, 0, 0, 0
    for doc in {d for d, _a in anchors}:
        shown = next((p for p in provs if p.meta.doc_id == doc), None)
        if shown is None:
            continue
        flag_n += 1
        codes, want = {f.code for f in shown.flags} & FLAG_CODES, expected_flags.get(doc, set())
        flag_ok += codes == want
        status_ok += codes & STATUS_CODES == want & STATUS_CODES
        place_ok += codes - STATUS_CODES == want - STATUS_CODES
    tiers = [in_force_tier(p.meta, result.today) for p in provs] if result.today else []
    return {"id": row["id"], "recall": sum(found) / len(found), "quote_recall": sum(found_q) / len(found_q),
            "precision": sum(relevant) / k, "flag_ok": flag_ok, "flag_n": flag_n, "status_ok": status_ok,
            "place_ok": place_ok, "in_force_first": tiers == sorted(tiers),
            "numbered": [p.rank for p in provs] == list(range(1, len(provs) + 1)),
            "missed": [e["anchor"] for e, f in zip(row["expected"], found) if not f]}


def _aggregate(per: list[dict], k: int) -> dict:
    n = len(per) or 1
    flag_n = sum(p["flag_n"] for p in per)
    return {"n_profiles": len(per), f"recall@{k}": sum(p["recall"] for p in per) / n,
            f"quote_recall@{k}": sum(p["quote_recall"] for p in per) / n,
            f"precision@{k}": sum(p["precision"] for p in per) / n,
            "flag_accuracy": (sum(p["flag_ok"] for p in per) / flag_n) if flag_n else None, "flag_docs": flag_n,
            "status_flag_accuracy": (sum(p["status_ok"] for p in per) / flag_n) if flag_n else None,
            "place_flag_accuracy": (sum(p["place_ok"] for p in per) / flag_n) if flag_n else None,
            "in_force_first": sum(p["in_force_first"] for p in per) / n,
            "numbered_in_order": sum(p["numbered"] for p in per) / n}


def evaluate_matching(settings: Settings, profiles_path=DEFAULT_PROFILES, k: int = 10, source: str = "profile",
                      today: str | None = REFERENCE_TODAY, matcher=None) -> dict:
    """Recall@k, precision@k and flag accuracy of profile matching, for the tuning half, the held-out
    half and all profiles: ``{"k", "source", "today", "tune": {...}, "holdout": {...}, "all": {...},
    "per_profile": [...], "seconds"}``; each part has ``recall@k``, ``quote_recall@k``, ``precision@k``,
    ``flag_accuracy``, ``n_profiles``.

    ``source``: match the curated structured "profile" or the parsed free "text" of each line;
    ``today``: evaluation date (default 2026-11-20, the date the expected flags refer to; None = settings).
    Raises RagError (unreadable file), IndexNotBuiltError (no index).
    """
    from rag.matching.matcher import ProfileMatcher
    from rag.matching.parser import parse_profile_text
    from rag.matching.profile import Profile

    if source not in ("profile", "text"):
        raise RagError(f"source={source!r}: use 'profile' or 'text'")
    if today:
        settings = settings.with_(today=today)
    settings = settings.with_(llm_enabled=False)
    rows = _load(Path(profiles_path))
    file_to_id = _file_to_id(settings)
    matcher = matcher or ProfileMatcher(settings)
    matcher.settings = settings
    t0 = time.perf_counter()
    per = []
    for row in rows:
        if source == "text":
            profile = matcher.parse(row["text"])  # concepts, document vocabulary and regions of the index
        else:
            profile = Profile.from_dict({key: v for key, v in row["profile"].items()}, parse=parse_profile_text)
        per.append(score_profile(row, matcher.match(profile, k=k, summarize=False), file_to_id, k))
    half = (len(per) + 1) // 2
    return {"k": k, "source": source, "today": settings.today, "split": f"tune = first {half} ids, holdout = rest",
            "tune": _aggregate(per[:half], k), "holdout": _aggregate(per[half:], k), "all": _aggregate(per, k),
            "per_profile": per, "seconds": round(time.perf_counter() - t0, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.matching.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default=str(DEFAULT_PROFILES))
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--source", choices=["profile", "text", "both"], default="both")
    parser.add_argument("--today", default=REFERENCE_TODAY, help="evaluation date (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--verbose", "-v", action="store_true", help="list missed anchors per profile")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        from rag.matching.matcher import ProfileMatcher

        matcher = ProfileMatcher(settings.with_(today=args.today), auto_ingest=True)
        results = [evaluate_matching(settings, args.profiles, args.k, s, args.today, matcher)
                   for s in (("profile", "text") if args.source == "both" else (args.source,))]
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
        return 0
    k = args.k
    print(f"profile matching on {args.profiles} (k={k}, today={args.today}, offline {settings.embeddings} "
          f"embeddings, index in {settings.data_dir})")
    print(f"{'input':8} {'split':8} {'n':>3} {'recall@k':>9} {'quote_r@k':>9} {'prec@k':>7} {'flag_acc':>8} "
          f"{'status':>7} {'place':>7} {'inforce1':>8}")
    for res in results:
        for part in ("tune", "holdout", "all"):
            m = res[part]
            fa, st, pl = ("-" if m[key] is None else f"{m[key]:.3f}"
                          for key in ("flag_accuracy", "status_flag_accuracy", "place_flag_accuracy"))
            print(f"{res['source']:8} {part:8} {m['n_profiles']:>3} {m[f'recall@{k}']:>9.3f} "
                  f"{m[f'quote_recall@{k}']:>9.3f} {m[f'precision@{k}']:>7.3f} {fa:>8} {st:>7} {pl:>7} "
                  f"{m['in_force_first']:>8.3f}")
        if args.verbose:
            for p in res["per_profile"]:
                if p["missed"]:
                    print(f"  {res['source']} {p['id']} recall {p['recall']:.2f} missed: {' | '.join(p['missed'])}")
        print(f"  ({res['seconds']} s for {res['all']['n_profiles']} profiles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
