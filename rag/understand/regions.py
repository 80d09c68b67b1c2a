"""Regions and region-qualified document names a question writes out, from manifest fields.

* ``derived_names`` / ``region_names`` — the names a question may call a document by beside its title
  (the title without its region prefix, or after the region's bare name: "北京机动车停车条例");
* ``referenced_documents`` — ids of the documents whose title, short name or document number occurs in
  the question (one Aho–Corasick pass, built once per ``docs`` mapping: ``_docs_lookup``);
* ``LEVEL_WORDS`` / ``level_region`` / ``region_words`` — 省里, 全市 … and the one indexed region they name;
* ``referenced_regions`` / ``indexed_regions`` — the indexed documents' regions a question names, by
  full or bare name or by a level word;
* ``_place_spans`` / ``_masked`` — gazetteer place names in a text, and the text with them blanked.

Split out of ``rag.understand.references``, which builds document references on these and re-exports
every name; this module imports nothing from it. All functions are pure (the lookup cache is keyed by
the ``docs`` mapping).
"""

from __future__ import annotations

import re
import threading

from rag.ingest.metadata import bare_region
from rag.text import normalize


_SPECIAL_ZONE = re.compile(r"^(?:经济特区|特区)")  # 深圳经济特区数据条例: the zone word belongs to the place
_DOC_KINDS = ("规划", "方案", "意见", "办法", "通知", "条例", "规定")  # what a policy or regulation title ends with
_QUOTES = re.compile(r"[“”\"'‘’《》〈〉]")


def derived_names(meta) -> tuple[str, ...]:
    """Names a question may call a document by that its title implies, beside the title itself: the
    title without its region prefix ("北京市机动车停车条例" → "机动车停车条例", also after a special-zone
    word: "深圳经济特区数据条例" → "数据条例") and that rest after the region's bare name ("北京机动车停车条例").
    Only the ``region`` read from the document is used; () when the title does not start with it or
    the rest is a bare kind word."""
    title = _QUOTES.sub("", normalize(meta.title or ""))
    region = normalize(meta.region or "")
    bare = bare_region(region)
    rest = None
    for prefix in (region, bare):
        if prefix and title.startswith(prefix) and len(title) > len(prefix):
            rest = title[len(prefix):]
            break
    if not rest:
        return ()
    rest = _SPECIAL_ZONE.sub("", rest) or rest
    if len(rest) < 4 or rest in _DOC_KINDS:
        return ()
    return tuple(dict.fromkeys(n for n in (f"{bare}{rest}", rest) if n != title))


def region_names(meta) -> tuple[str, ...]:
    """The names of a document that include its region (title, manifest short names, the bare region
    name + title rest from ``derived_names``) — each names one document (or its versions)."""
    bare = bare_region(normalize(meta.region or ""))
    qualified = [n for n in derived_names(meta) if bare and n.startswith(bare)]
    return tuple(n for n in (meta.title, *meta.short_names, *qualified) if n)


def referenced_documents(question: str, docs: dict) -> tuple[str, ...]:
    """Ids of documents whose title, short name (manifest, or the bare region name + title rest:
    ``derived_names``) or document number occurs in the question."""
    automaton, order, _regions = _docs_lookup(docs)
    found = {d for _, ids in automaton.iter(normalize(question)) for d in ids} if len(automaton) else ()
    return tuple(sorted(found, key=order.__getitem__))


_NAMES_CACHE: dict[int, tuple] = {}
_NAMES_LOCK = threading.Lock()


def _docs_lookup(docs: dict):
    """(Aho–Corasick automaton: normalised name of ≥ 4 characters → ids of the documents it names, doc_id →
    place in ``docs``, the documents' distinct regions other than 全国 sorted) for ``referenced_documents``,
    ``indexed_regions`` and ``level_region``, built once per ``docs`` mapping (the loaded index's; the last
    few are kept): a question is matched in one pass over its characters, not per document."""
    cached = _NAMES_CACHE.get(id(docs))
    if cached is not None and cached[0] is docs and cached[1] == len(docs):
        return cached[2:]
    import ahocorasick

    with _NAMES_LOCK:
        names: dict[str, list[str]] = {}
        for doc_id, meta in docs.items():
            for n in (*region_names(meta), meta.doc_number or ""):
                n = normalize(n) if n else ""
                if len(n) >= 4 and doc_id not in names.setdefault(n, []):
                    names[n].append(doc_id)
        automaton = ahocorasick.Automaton()
        for n, ids in names.items():
            automaton.add_word(n, tuple(ids))
        if len(automaton):
            automaton.make_automaton()
        regions = tuple(sorted({m.region for m in docs.values() if m.region and m.region != "全国"}))
        cached = (docs, len(docs), automaton, {d: i for i, d in enumerate(docs)}, regions)
        while len(_NAMES_CACHE) >= 4:
            _NAMES_CACHE.pop(next(iter(_NAMES_CACHE)))
        _NAMES_CACHE[id(docs)] = cached
    return cached[2:]


# words that name "the province" / "the city" of the documents without its name (省里, 我市)
LEVEL_WORDS = {"省": ("省里", "全省", "我省", "省级", "省方案", "省政府"),
               "市": ("市里", "全市", "我市", "市级", "市方案", "市政府")}
_ATTRIBUTE_WORDS = ("省级", "全省", "市级", "全市")  # a level or an extent (省级绿色工厂, 全省营收), not a reference
_KIND_AFTER = re.compile(r"的?(?:规划|方案|意见|办法|通知|文件|政策)")
_NOT_A_CITY_WORD = re.compile(r"[城都超]市")  # 城市里, 都市, 超市 are no 市 words


def _place_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the places ``text`` names (gazetteer full and short names: 某某省, 某某市, 某某)."""
    from rag.ingest.metadata import _place_index

    _by_name, full_rx, short_rx = _place_index()
    spans = [m.span() for m in full_rx.finditer(text)]
    spans += [m.span() for m in short_rx.finditer(text) if not any(a < m.end() and m.start() < b for a, b in spans)]
    return sorted(spans)


def _masked(text: str, spans) -> str:
    """``text`` with each span replaced by as many spaces (offsets kept)."""
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def level_region(char: str, docs: dict) -> str | None:
    """The one region of the indexed documents that a level word (``LEVEL_WORDS``: 省里, 全市 …) names:
    the only region whose name ends with ``char`` ("省" or "市"); None when there are none or several.
    ``docs``: doc_id → DocumentMeta (its ``region``, read from each document)."""
    found = {r for r in _docs_lookup(docs)[2] if r.endswith(char)}
    return found.pop() if len(found) == 1 else None


def region_words(region: str | None, docs: dict | None = None) -> tuple[str, ...]:
    """Words a question may use for ``region``: its full and bare names (某某省, 某某) and, when ``docs``
    is None or ``region`` is the only region of its level there (``level_region``), the level words of
    its suffix (省里, 全省 … for a 省). () for None."""
    if not region:
        return ()
    out = [region, *([bare_region(region)] if bare_region(region) != region else [])]
    char = region[-1]
    if char in LEVEL_WORDS and (docs is None or level_region(char, docs) == region):
        out += LEVEL_WORDS[char]
    return tuple(out)


def referenced_regions(question: str, docs: dict) -> tuple[str, ...]:
    """Regions of the indexed documents the question names, narrower divisions first (a city before a
    province: ``_level_rank``), then in the order they occur in the question: by full or
    bare name (``indexed_regions``), or by a level word (省里, 我省, 市里 …) when one indexed region has
    that level (``level_region``); "省级"/"全省"/"市级"/"全市" count only right before a document word
    (省级方案, 全省的政策): "某市要创建多少家省级绿色工厂" names 某市 only. Level words inside a place
    name (某某省政府) do not count. ``docs``: doc_id → DocumentMeta."""
    found = {r: question.find(bare_region(r) or r) for r in indexed_regions(question, docs)}
    q = _NOT_A_CITY_WORD.sub("  ", _masked(question, _place_spans(question)))
    for char, words in LEVEL_WORDS.items():
        region = level_region(char, docs)
        if not region or region in found:
            continue
        plain = [w for w in words if w not in _ATTRIBUTE_WORDS]
        hits = [q.find(w) for w in plain if w in q]
        hits += [m.start() for w in _ATTRIBUTE_WORDS if w in words for m in re.finditer(w, q)
                 if _KIND_AFTER.match(q, m.end())]
        if hits:
            found[region] = min(hits)
    return tuple(sorted(found, key=lambda r: (_level_rank(r), found[r])))


_LEVEL_RANK = {"county": 0, "city": 1, "province": 2}


def _level_rank(region: str) -> int:
    """0 for a county, 1 for a prefecture, 2 for a province-level division (gazetteer; 1 when unknown):
    a question naming a city and its province ("作为某省省会，某市…") is first about the narrower one."""
    from rag.ingest.metadata import _place_index

    places = _place_index()[0].get(region, [])
    return min((_LEVEL_RANK[p.level] for p in places), default=1)


def indexed_regions(question: str, docs: dict) -> tuple[str, ...]:
    """Regions of the indexed documents (``DocumentMeta.region``, read from each text) that the question
    names, by full name (山东省) or bare name (山东, ``bare_region``), in the order they occur in it; a
    name inside a longer region name found at the same place (云浮 in 云浮市) counts once. ``docs``:
    doc_id → DocumentMeta."""
    norm = normalize(question)
    spans: list[tuple[int, int, str]] = []
    for region in _docs_lookup(docs)[2]:
        for name in {normalize(region), normalize(bare_region(region) or "")}:
            if len(name) >= 2:
                spans += [(m.start(), m.end(), region) for m in re.finditer(re.escape(name), norm)]
    found: list[str] = []
    for start, end, region in sorted(spans, key=lambda t: (t[0], -(t[1] - t[0]))):
        if region not in found and not any(a <= start and end <= b and r != region for a, b, r in spans
                                           if (a, b) != (start, end)):
            found.append(region)
    return tuple(found)
