"""Enterprise policy matching: a company profile → the policy provisions that apply to it.

    from rag.matching import ProfileMatcher, parse_profile_text
    profile = parse_profile_text("我们是某市一家做钠离子电池的专精特新企业，想扩产")
    result = ProfileMatcher(settings).match(profile, k=10)   # MatchResult (ranked provisions + flags)
    result.to_json()                                          # {"profile", "summary", "provisions", "mapping"}

Stages, one module each: ``profile`` (profile record; dictionaries in ``lexicon``; the free-text parser
and reading a profile from JSON in ``parser``) → ``concepts`` (company words → policy concepts, incl.
short forms) → ``facets`` (profile facts with links to the documents' vocabulary) → ``matcher`` (evidence,
retrieval, ranking, selection; reasons and quotes in ``explain``), with its records and the document flags
in ``provisions`` → ``report`` (Markdown / JSON export) → ``cli`` (``rag match``); ``bench`` measures
recall@k / precision@k on ``eval/datasets/profiles.jsonl``. Importing this package imports nothing heavy.
"""

from __future__ import annotations

from rag.matching.parser import load_profile_file, parse_profile_text
from rag.matching.profile import Profile, ProfileError

__all__ = ["Profile", "ProfileError", "load_profile_file", "parse_profile_text", "ProfileMatcher", "MatchResult",
           "Provision", "evaluate_matching"]


def __getattr__(name: str):  # lazy: the matcher pulls in the index / retrieval modules
    if name == "ProfileMatcher":
        from rag.matching.matcher import ProfileMatcher

        return ProfileMatcher
    if name in {"MatchResult", "Provision"}:
        from rag.matching import provisions

        return getattr(provisions, name)
    if name == "evaluate_matching":
        from rag.matching.bench import evaluate_matching

        return evaluate_matching
    raise AttributeError(name)
