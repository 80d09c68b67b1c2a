"""Per-field accuracy of metadata extraction (``rag.ingest.metadata.extract_metadata``) against the corpus
manifest or hand labels.

``python -m rag.eval.metadata_accuracy --check corpus/`` compares extraction from the files alone with the
manifest's non-null fields; ``--labels FILE --docs DIR`` compares with hand labels (JSONL of the DOC fields
plus ``file``, e.g. ``eval/datasets/external_meta.jsonl``). Prints per-field accuracy and the misses.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.ingest.metadata import DOC_FIELDS, ExtractedMetadata, extract_metadata
from rag.ingest.cleaning import fullwidth_alnum_to_ascii


def _field_equal(name: str, want, got) -> bool:
    if want is None:
        return got is None
    if got is None:
        return False
    if isinstance(want, str):
        norm = (lambda s: re.sub(r"\s+", "", fullwidth_alnum_to_ascii(str(s))))
        return norm(want) == norm(got)
    return want == got


_MANIFEST_FIELDS = {"title": "title", "issuer": "issuer", "level": "level", "region": "region",
                    "doc_number": "doc_number", "date": "issued_date", "period_start": "period_start",
                    "period_end": "period_end", "outlook_year": "outlook_year", "status": "status"}


def check(pairs: list[tuple[str, dict, ExtractedMetadata]], fields_map: dict[str, str]) -> dict:
    """Per-field accuracy of extraction against expected values over the fields that are non-null in
    the expectation. ``pairs``: (name, expected record, extracted); ``fields_map``: expected key →
    ExtractedMetadata field. Returns {"fields": {key: {"n", "correct", "accuracy"}}, "overall": {…},
    "misses": [(name, key, expected, got)]}."""
    per: dict[str, list[int]] = {}
    misses = []
    for name, want, got in pairs:
        for key, attr in fields_map.items():
            if want.get(key) is None:
                continue
            ok = _field_equal(key, want[key], getattr(got, attr))
            per.setdefault(key, [0, 0])
            per[key][0] += 1
            per[key][1] += ok
            if not ok:
                misses.append((name, key, want[key], getattr(got, attr)))
    n = sum(v[0] for v in per.values())
    c = sum(v[1] for v in per.values())
    return {"fields": {k: {"n": v[0], "correct": v[1], "accuracy": round(v[1] / v[0], 3)} for k, v in per.items()},
            "overall": {"n": n, "correct": c, "accuracy": round(c / n, 3) if n else None}, "misses": misses}


def _print_check(result: dict) -> None:
    for key, v in result["fields"].items():
        print(f"{key:15} {v['correct']:3}/{v['n']:<3} {v['accuracy']:.3f}")
    o = result["overall"]
    print(f"{'overall':15} {o['correct']:3}/{o['n']:<3} {o['accuracy']}")
    for name, key, want, got in result["misses"]:
        print(f"  miss {name} {key}: expected {want!r}, got {got!r}")


def main(argv: list[str] | None = None) -> int:
    """``python -m rag.eval.metadata_accuracy --check CORPUS_DIR`` (the manifest's non-null fields versus extraction
    from the files alone) or ``--labels FILE.jsonl --docs DIR`` (hand labels with a ``file`` key
    relative to DIR, DOC field names). Prints per-field accuracy and the misses; exit 0."""
    import argparse
    import json

    from rag.ingest.corpus import read_text

    ap = argparse.ArgumentParser(prog="python -m rag.eval.metadata_accuracy")
    ap.add_argument("--check", metavar="CORPUS_DIR")
    ap.add_argument("--labels", metavar="FILE")
    ap.add_argument("--docs", metavar="DIR", default=".")
    args = ap.parse_args(argv)
    if args.check:
        root = Path(args.check)
        entries = json.loads((root / "manifest.json").read_text(encoding="utf-8"))["documents"]
        pairs = [(e["id"], e, extract_metadata(read_text(root / e["file"]), Path(e["file"]).name)) for e in entries]
        _print_check(check(pairs, _MANIFEST_FIELDS))
    if args.labels:
        pairs = []
        for line in Path(args.labels).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            path = Path(args.docs) / rec["file"]
            pairs.append((rec.get("doc_id") or rec["file"], rec, extract_metadata(read_text(path), path.name)))
        _print_check(check(pairs, {k: k for k in DOC_FIELDS}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
