"""Free-text parser: one sentence about a company → a ``Profile``, by deterministic rules (no model).

"我们是某市一家做钠离子电池的专精特新企业，想扩产" → city 某市, products 钠离子电池, qualifications 专精特新,
stage 成长, needs 用地/空间 + 融资. The location comes from the gazetteer (``rag.matching.places``, the
indexed documents' regions as home), qualifications, stage and needs from the dictionaries of
``rag.matching.lexicon``; products are the company words/aliases/terms of ``corpus/concepts.json`` found
in the text (not inside a place, need or qualification word), widened to the noun phrase after
做/生产/研发/从事 … that contains them, else that noun phrase itself; the industry is the policy term of
the first product's concept.

A profile given as JSON or a file (``profile_from_json``, ``load_profile_file``) may hold such a text
instead of fields; it is read here too, so the profile record (``rag.matching.profile``) never imports
the parser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rag.matching.concepts import concept_matches, word_pattern
from rag.matching.lexicon import NEED_KEYWORDS, QUALIFICATIONS, STAGES, canonical_qualification, unique
from rag.matching.places import find_location, place_forms
from rag.matching.vocabulary import KIND_MAX
from rag.matching.profile import Profile, ProfileError
from rag.text import normalize

PRODUCT_VERBS = re.compile(r"(?<![想要备算望搞])(?:做(?![完了过好])|生产|研发(?![中团投费力])|从事|制造|主营|主打|专注于?|专做)")
PRODUCT_STOP = re.compile(r"的|，|。|,|；|;|！|？|\s|给|为|供|卖|想|需要|客户|公司|企业|团队|厂(?![商])|主要|也在")
LIST_SPLIT = re.compile(r"和|及|与|、|跟|/|以及")


def _spans(text: str, patterns) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for p in patterns for m in re.finditer(p, text)]


def _product_phrases(text: str, excluded=()) -> list[tuple[int, str]]:
    """Noun phrases after 做/生产/研发/从事 …, split at 和/及/、: ``[(position, phrase)]``. A phrase whose
    head (its last word, Chinese noun phrases end in their head) lies in a need, qualification or place
    word (``excluded`` spans) is left out — 研发补贴, 储能补贴 are needs, never products — while such words
    that only modify a head stay (高效节能锅炉, 新一代正极)."""
    out = []
    for m in PRODUCT_VERBS.finditer(text):
        rest = text[m.end():]
        stop = PRODUCT_STOP.search(rest)
        phrase = rest[:stop.start()] if stop else rest
        pos = m.end()
        for part in LIST_SPLIT.split(phrase):
            part_pos = text.find(part, pos)
            stripped = part.strip()
            part_pos += part.find(stripped) if stripped else 0
            part = stripped
            if part and any(s <= part_pos + len(part) - 1 < e for s, e in excluded):
                part = ""  # the head (last word) is a need/qualification/place word: 研发补贴, 储能补贴 are needs
            if 2 <= len(part) <= 12 and part not in {"产品", "业务", "项目", "东西", "生意"}:
                out.append((part_pos, part))
            pos = max(pos, part_pos + len(part))
    return out


def _overlaps_trigger(t: str, s: int, e: int, concepts) -> bool:
    """True when a product/industry concept trigger found in ``t`` overlaps ``t[s:e]`` (汽车 of 新能源汽车企业)."""
    for c in concepts:
        if c.concept_id.startswith(("q-", "n-")):
            continue
        for w in c.triggers():
            nw = normalize(w)
            if len(nw) >= 2 and any(m.start() < e and s < m.end() for m in re.finditer(word_pattern(nw), t, flags=re.I)):
                return True
    return False


def _document_qualifications(t: str, vocabulary, concepts, taken: list, place_spans) -> list[tuple[int, str]]:
    """Qualifications in the documents' own terms: their quoted designations (“链主”…) found in ``t``,
    and ``X企业`` phrases of the company that the documents also write (中小企业, 军民融合企业 …), unless X
    is or overlaps a product/industry word (汽车 of 新能源汽车企业), a stage or a place. Appends the spans found to ``taken``."""
    out: list[tuple[int, str]] = []

    def free(s, e):
        return not any(s < te and ts < e for ts, te in taken + list(place_spans))

    for d in vocabulary.designations:
        for m in re.finditer(re.escape(normalize(d)), t):
            if free(*m.span()):
                out.append((m.start(), canonical_qualification(d)))
                taken.append(m.span())
    stage_words = {w for words in STAGES.values() for w in words}
    for m in re.finditer("企业", t):
        kind = vocabulary.enterprise_kind(t[max(0, m.end() - 2 - KIND_MAX):m.end()])
        if not kind:
            continue
        s, e = m.end() - len(kind), m.end()
        x = kind[:-2]
        if (not free(s, e) or any(w in kind for w in stage_words) or concept_matches(x, concepts or ())
                or _overlaps_trigger(t, s, e - 2, concepts or ())):
            continue
        out.append((s, canonical_qualification(kind)))
        taken.append((s, e))
    return out


def parse_profile_text(text: str, concepts: tuple | None = None, vocabulary=None, home=()) -> Profile:
    """A profile from one free-text sentence (see the module docstring for the rules).

    ``concepts``: ``rag.understand.query.Concept`` records (default: the bundled ``corpus/concepts.json``);
    ``vocabulary``: a ``rag.matching.vocabulary.DocumentVocabulary`` of the indexed documents (None:
    qualifications from the built-in dictionary only; ``ProfileMatcher.vocabulary()`` gives one);
    ``home``: the regions of the indexed documents (``rag.matching.places.find_location``; ``ProfileMatcher.parse``
    passes them).
    Raises ProfileError when the text is blank.
    """
    if not isinstance(text, str) or not text.strip():
        raise ProfileError("企业描述为空：请用一句话描述企业所在地、产品和需求 (empty profile text)")
    raw = text.strip()
    t = normalize(raw)
    if concepts is None:
        from rag.understand.query import load_concepts
        from rag.settings import PROJECT_ROOT

        concepts = load_concepts(str(PROJECT_ROOT / "corpus" / "concepts.json"))
    city, district = find_location(t, home)

    quals: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []  # spans of qualification and need words: never part of a product

    def free(s: int, e: int, spans) -> bool:
        return not any(s < te and ts < e for ts, te in spans)

    for canon, patterns in QUALIFICATIONS.items():  # specific first: 科技型中小企业 before 中小企业
        for s, e in _spans(t, patterns):
            if free(s, e, taken):
                quals.append((s, canon))
                taken.append((s, e))
    stage = next((s for s, words in STAGES.items() if any(w in t for w in words)), None)
    needs_found: list[tuple[int, str]] = []
    for word, implied in NEED_KEYWORDS:
        for s, e in _spans(t, [re.escape(word)]):
            taken.append((s, e))
            needs_found += [(s, n) for n in implied]
    place_spans = _spans(t, [re.escape(f) for f in place_forms(home, city, district)])
    if vocabulary is not None:
        quals += _document_qualifications(t, vocabulary, concepts, taken, place_spans)

    # products: concept triggers (not qualifications/needs, not inside a need/qualification/place word)
    phrases = [(p, ph) for p, ph in _product_phrases(t, taken + place_spans) if len(ph) >= 2]
    triggers: list[tuple[int, int, str]] = []
    for c in concepts:
        if c.concept_id.startswith(("q-", "n-")):
            continue
        for w in c.triggers():
            nw = normalize(w)
            if len(nw) < 2:
                continue
            for m in re.finditer(word_pattern(nw), t, flags=re.I):
                s, e = m.span()
                if any(s < te and ts < e for ts, te in taken + place_spans):
                    continue
                triggers.append((s, e, t[s:e]))
    triggers.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    kept: list[tuple[int, int, str]] = []
    for s, e, w in triggers:  # longest non-overlapping
        if not any(s < ke and ks < e for ks, ke, _ in kept):
            kept.append((s, e, w))
    products: list[tuple[int, str]] = []
    for s, e, w in kept:
        phrase = next(((p, ph) for p, ph in phrases if p <= s and e <= p + len(ph)), None)
        products.append(phrase if phrase else (s, w))
    for p, ph in phrases:
        if not any(p <= s < p + len(ph) for s, _e, _w in kept):
            products.append((p, ph))
    products.sort()
    names = unique(ph for _, ph in products)  # a word inside another product (储能 in 储能电池) adds nothing
    product_names = tuple(n for n in names if not any(n != o and n in o for o in names))
    industry = None
    if kept:
        first = concept_matches(kept[0][2], concepts)
        industry = first[0].term if first else None
    return Profile(city=city, district=district, industry=industry, products=product_names,
                   qualifications=unique(q for _, q in sorted(quals)), stage=stage,
                   needs=unique(n for _, n in sorted(needs_found)), text=raw)


def load_profile_file(path: str | Path) -> Profile:
    """A profile from a JSON file holding a profile object, ``{"profile": {...}}`` or ``{"text": "…"}``.

    Raises ProfileError when the file is missing, unreadable, not JSON, or not a valid profile.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"profile file {p} not found; give a JSON file with the company profile") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile file {p} ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"profile file {p} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return profile_from_json(data, where=str(p))


def profile_from_json(data, where: str = "profile", parse=None) -> Profile:
    """A profile from a parsed JSON value: a profile object, ``{"profile": {...}}`` or ``{"text": "…"}``;
    ``parse``: the free-text parser for ``{"text"}`` (default ``parse_profile_text``; ``ProfileMatcher.parse``
    reads the text in the indexed documents' terms). A profile object that names nothing to match on is
    read from its ``text`` with ``parse_profile_text`` (``Profile.from_dict``). Raises ProfileError
    prefixed with ``where`` for an invalid profile object, and as ``parse_profile_text`` for a blank text."""
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        inner = dict(data["profile"])
        if isinstance(data.get("text"), str) and "text" not in inner:
            inner["text"] = data["text"]
        data = inner
    elif isinstance(data, dict) and set(data) <= {"id", "text", "note"} and isinstance(data.get("text"), str):
        return (parse or parse_profile_text)(data["text"])
    try:
        return Profile.from_dict(data, parse=parse_profile_text)
    except ProfileError as exc:
        raise ProfileError(f"{where}: {exc}") from None
