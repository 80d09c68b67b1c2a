"""Places in a text, through the administrative-division gazetteer: the ``Place`` type, the gazetteer of
China's provinces, prefectures and counties read from the ``jionlp`` package's data (``gazetteer``, cached
in one process by ``lru_cache`` and across processes in a temp file), the name index over it
(``_place_index``, ``NameMatcher``), ``find_places`` and ``bare_region``.

Split from ``rag.ingest.metadata``, which reads a document's ``level``/``region`` with it and re-exports
every name here; the question path (``rag.understand``, ``rag.answer``, ``rag.matching``) uses it too.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Place:
    """An administrative division: full ``name`` (杭州市), ``level`` ("province" | "city" | "county"),
    ``code`` (6-digit GB/T 2260 code), ``province`` (full name of its province) and ``aliases``."""

    name: str
    level: str
    code: str
    province: str
    aliases: tuple[str, ...] = ()


GAZETTEER_CACHE_VERSION = 1
"""Bump when ``_parse_gazetteer`` changes: the cached table of an older version is then parsed afresh."""


@functools.lru_cache(maxsize=1)
def gazetteer() -> tuple[Place, ...]:
    """Every province, prefecture and county of China from ``jionlp``'s ``dictionary/china_location.zip``
    (read directly, without importing jionlp: the data only). Municipalities (北京市…) are listed once,
    as provinces. Raises RuntimeError naming the package when it is not installed.

    The zip holds 6.8 MB of text down to townships; inflating and scanning it took 0.4 s of every new
    process (each ``rag ask`` resolves place names). The places parsed from it are therefore kept in a
    cache file in the system temp directory (``_gazetteer_cache_path``: named by the zip's path, size and
    modification time and ``GAZETTEER_CACHE_VERSION``, written atomically; ≈ 0.2 MB) and read from there
    (≈ 10 ms) while the zip is unchanged, as jieba keeps its dictionary cache. A missing, unreadable or
    damaged cache file is parsed afresh; failing to write it only costs the next process the parse."""
    import importlib.util
    import json

    spec = importlib.util.find_spec("jionlp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the gazetteer needs the jionlp package: pip install jionlp")
    path = Path(list(spec.submodule_search_locations)[0]) / "dictionary" / "china_location.zip"
    cache = _gazetteer_cache_path(path)
    try:
        rows = json.loads(cache.read_text(encoding="utf-8"))
        return tuple(Place(name, level, code, province, tuple(aliases))
                     for name, level, code, province, aliases in rows)
    except (OSError, ValueError, TypeError):
        pass
    places = _parse_gazetteer(path)
    _write_cache(cache, json.dumps([[p.name, p.level, p.code, p.province, list(p.aliases)] for p in places],
                                   ensure_ascii=False))
    return places


def _gazetteer_cache_path(path: Path) -> Path:
    """The cache file of the gazetteer parsed from the zip at ``path`` (see ``gazetteer``)."""
    import hashlib
    import os
    import tempfile

    stat = os.stat(path)
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{GAZETTEER_CACHE_VERSION}"
                       .encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"policy-rag-gazetteer-{key}.json"


def _write_cache(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temp file beside it, then os.replace); errors are ignored."""
    import os
    import tempfile

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _parse_gazetteer(path: Path) -> tuple[Place, ...]:
    """The places of jionlp's ``china_location.zip`` at ``path`` (see ``gazetteer``)."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        data = z.read("china_location.txt").decode("utf-8")
    places: list[Place] = []
    province = ""
    for tabs, name, code, alias in re.findall(r"\n(\t{0,2})([^\t\n]+)\t(\d{6})\t([^\t\n]*)", "\n" + data):
        level = ("province", "city", "county")[len(tabs)]
        name, alias = name.strip(), alias.strip()
        if level == "province":
            province = name
        elif level == "city" and name == province:
            continue  # a municipality's own city entry
        aliases = tuple(a for a in alias.split("/") if a and a != name and len(a) >= 2)
        places.append(Place(name, level, code, province, aliases))
    return tuple(places)


class NameMatch(tuple):
    """One match of a ``NameMatcher``: ``(start, end, name)`` with the ``re.Match`` accessors the callers
    use (``start()``, ``end()``, ``span()``, ``group()``); offsets in characters, end exclusive."""

    __slots__ = ()

    def start(self) -> int:
        return self[0]

    def end(self) -> int:
        return self[1]

    def span(self) -> tuple[int, int]:
        return self[0], self[1]

    def group(self) -> str:
        return self[2]


class NameMatcher:
    """The names of a word list found in a text, as ``re.compile("|".join(names sorted longest first))``
    would find them — leftmost match first, the longest name starting there, then on after its end (no
    overlaps) — in one Aho–Corasick pass (pyahocorasick) instead of a regex alternation of thousands of
    names, which cost ~0.15 s to compile in every new process. ``names``: non-empty strings."""

    def __init__(self, names):
        import ahocorasick

        self._automaton = ahocorasick.Automaton()
        for name in names:
            if name:
                self._automaton.add_word(name, len(name))
        if len(self._automaton):
            self._automaton.make_automaton()

    def finditer(self, text: str) -> list[NameMatch]:
        """The non-overlapping matches in ``text``, left to right (a list of ``NameMatch``)."""
        if not text or not len(self._automaton) or self._automaton.kind != 2:  # 2: ahocorasick.AHOCORASICK
            return []
        found = sorted((end + 1 - n, -n) for end, n in self._automaton.iter(text))
        out: list[NameMatch] = []
        done = 0
        for start, neg in found:
            if start >= done:  # the first candidate at a start is its longest name
                done = start - neg
                out.append(NameMatch((start, done, text[start:done])))
        return out


@functools.lru_cache(maxsize=1)
def _place_index() -> tuple[dict, NameMatcher, NameMatcher]:
    """(name → [Place], matcher of full names, matcher of province/city short names); the matchers'
    ``finditer`` finds names as a regex alternation of them, longest first, would (``NameMatcher``)."""
    by_name: dict[str, list[Place]] = {}
    for p in gazetteer():
        by_name.setdefault(p.name, []).append(p)
        if p.level != "county":
            for a in p.aliases:
                by_name.setdefault(a, []).append(p)
    full = {p.name for p in gazetteer()}
    short = {a for p in gazetteer() if p.level != "county" for a in p.aliases}
    return by_name, NameMatcher(full), NameMatcher(short)


def find_places(text: str, short_names: bool = True) -> list[tuple[Place, int]]:
    """Places named in ``text`` with their character offsets, in order: full names (杭州市, 西湖区)
    anywhere, and — when ``short_names`` — short names of provinces and prefectures (浙江, 杭州) not
    followed by a character that makes a longer name. A name shared by several places resolves to
    the one inside a province named earlier in the text, else the highest-level one."""
    by_name, full_rx, short_rx = _place_index()
    spans: list[tuple[int, int, str]] = [(m.start(), m.end(), m.group()) for m in full_rx.finditer(text)]
    if short_names:
        taken = [(s, e) for s, e, _ in spans]
        for m in short_rx.finditer(text):
            if not any(s < m.end() and m.start() < e for s, e in taken):
                spans.append((m.start(), m.end(), m.group()))
    spans.sort()
    out: list[tuple[Place, int]] = []
    seen_provinces: list[str] = []
    for start, _end, name in spans:
        cands = by_name.get(name, [])
        if not cands:
            continue
        inside = [c for c in cands if c.province in seen_provinces]
        order = {"province": 0, "city": 1, "county": 2}
        place = (inside or sorted(cands, key=lambda c: order[c.level]))[0]
        seen_provinces.append(place.province)
        out.append((place, start))
    return out


def bare_region(region: str | None) -> str | None:
    """A region's name without its division suffix (北京市 → 北京, 广东省 → 广东, 杭州市 → 杭州); names
    of two characters or fewer, and other divisions (自治区, 县), stay as they are."""
    if region and len(region) > 2 and region[-1] in "省市":
        return region[:-1]
    return region
