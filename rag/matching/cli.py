"""``rag match``: enterprise profile → applicable provisions (registered by ``rag.cli.build_parser``).

    rag match --text "我们是某市一家做钠离子电池的专精特新企业，想扩产"      # Markdown checklist
    rag match --profile company.json --json --k 10                       # JSON (shape below)
    rag match --jsonl profiles.jsonl                                     # one JSON result per line, with "id"
    rag match --text "…" --output checklist.md                           # also write .md or .json

JSON = {"profile", "summary", "provisions": [{"rank", "doc_id", "title", "section", "quote", "reasons",
"jurisdiction", "period", "status", "flags"}], "mapping": [{"kind", "word", "term", "via", "concept_id"}]}.
Batch lines are {"id", "text"} or {"id", "profile"}; a bad line gives {"id", "error"}, the batch goes on
and the exit code is 1. Errors are RagError subclasses; ``rag.cli.main`` prints them as ``error: …``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rag.cli import _print_json
from rag.errors import RagError


def register(sub) -> None:
    """Add the ``match`` sub-command to an argparse sub-parsers object."""
    p = sub.add_parser("match", help="policy provisions that apply to a company profile",
                       description="企业画像 → 适用的政策条款（按文件分组，附原文、理由与提示）")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--profile", metavar="FILE", help="JSON file with the profile (city, district, industry, "
                                                        "products, qualifications, stage, needs) or {\"text\": …}")
    src.add_argument("--text", help="one free-text sentence describing the company")
    src.add_argument("--jsonl", metavar="FILE", help='batch: lines of {"id","text"} or {"id","profile"}; "-" = stdin')
    p.add_argument("--k", type=int, default=10, help="number of provisions (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the Markdown checklist")
    p.add_argument("--output", metavar="FILE", help="also write the result to FILE (.md or .json)")
    p.set_defaults(func=cmd_match)


def _settings(args):
    from rag.settings import Settings

    overrides = {"data_dir": Path(args.data_dir)} if getattr(args, "data_dir", None) else {}
    return Settings.from_env(**overrides)


def _batch_lines(path: str, parse=None):
    """Yield ``(id, profile_or_None, error_or_None)`` per non-blank line of a JSONL file or stdin
    (``parse``: the free-text parser for ``{"id", "text"}`` lines)."""
    from rag.cli import iter_jsonl
    from rag.matching.parser import profile_from_json
    from rag.matching.profile import ProfileError

    for no, obj, error in iter_jsonl(path):
        if obj is None:
            yield no, None, error
            continue
        pid = obj.get("id", no)
        try:
            yield pid, profile_from_json({k: v for k, v in obj.items() if k != "id"}, where=f"line {no}", parse=parse), None
        except ProfileError as exc:
            yield pid, None, str(exc)


def cmd_match(args) -> int:
    from rag.matching.matcher import ProfileMatcher
    from rag.matching.parser import load_profile_file, parse_profile_text
    from rag.matching.report import to_markdown, write_export
    from rag.understand.query import load_concepts

    settings = _settings(args)
    if args.jsonl:
        if args.output:
            raise RagError("--output writes one result; use it with --text or --profile, not --jsonl")
        matcher = ProfileMatcher(settings, auto_ingest=True)
        failed = 0
        for pid, profile, error in _batch_lines(args.jsonl, matcher.parse):
            if profile is not None:
                try:
                    _print_json({"id": pid, **matcher.match(profile, k=args.k).to_json()})
                    continue
                except RagError as exc:
                    error = str(exc)
            failed += 1
            _print_json({"id": pid, "error": error})
        return 1 if failed else 0
    if args.profile:  # the profile is checked before any index is loaded or built
        profile = load_profile_file(args.profile)
    else:  # a blank text is refused before any index is loaded or built
        parse_profile_text(args.text, load_concepts(str(Path(settings.corpus_dir) / "concepts.json")))
    matcher = ProfileMatcher(settings, auto_ingest=True)
    if not args.profile:  # read in the indexed documents' own terms (their enterprise designations)
        profile = matcher.parse(args.text)
    result = matcher.match(profile, k=args.k)
    if args.output:
        write_export(result, args.output)
    if args.json:
        _print_json(result.to_json())
    else:
        sys.stdout.write(to_markdown(result))
    return 0
