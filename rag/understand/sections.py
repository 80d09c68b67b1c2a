"""Section headings a question names, and what question planning derives once per index (``PlanningData``).

``section_labels`` reads the headings of a section path without their numbering; ``section_headings``
keeps those that name a section rather than a topic (发展愿景, not 清洁能源); ``named_sections`` finds
them in a question, verbatim or without 的/之/了, through Aho–Corasick automata built once per index;
``penalty_sections`` are the 法律责任 chapters within which a question about the consequence of a
violation (``PENALTY_QUESTION``) ranks. ``PlanningData`` keeps these per loaded index, with the index's
vocabulary (read by ``rag.understand.vocabulary``: words by character, numeral words ``NUMERAL_WORD`` by
measure word) and the passages the versions of a title share (``rag.understand.versions.unchanged_rows``);
``rag.understand.query.prepare_index`` builds them when the index is loaded. The names are re-exported by
``rag.understand.query``.
"""

from __future__ import annotations

import re

from rag.text import normalize
from rag.types import DerivedData, locked_cached_property


_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}[.．、]|专栏\s*\d{1,2})\s*")
MIN_SECTION_CHARS = 4


def section_labels(section: str) -> list[str]:
    """The headings of a section path without their numbering ("一、规划背景 › （一）发展基础" →
    ["规划背景", "发展基础"]), normalised."""
    return [normalize(_NUMBERING.sub("", part)) for part in section.split(" › ") if part]


NUMERAL_WORD = re.compile(r"^[一二三四五六七八九十两百千\d]+(\w)$")


class PlanningData(DerivedData):
    """What question planning derives from one index (``index``: a LoadedIndex or a stand-in with the
    attributes a value reads), each value built on first use and kept: ``chunk_section_labels``,
    ``section_headings``, ``heading_automata``, ``vocabulary``, ``penalty_sections`` (see the functions of
    those names); ``unchanged_rows``: version group → ``unchanged_rows`` result; ``prepared``: set by
    ``prepare_index``."""

    def __init__(self, index):
        super().__init__(index)
        self.unchanged_rows: dict[tuple[str, ...], frozenset[int]] = {}
        self.prepared = False

    @locked_cached_property
    def chunk_section_labels(self) -> list[frozenset[str]]:
        by_path: dict[str, frozenset[str]] = {}  # chunks of one section share its path: label it once
        return [by_path.get(c.section) or by_path.setdefault(c.section, frozenset(section_labels(c.section)))
                for c in self.index.chunks]

    @locked_cached_property
    def section_headings(self) -> tuple[str, ...]:
        index = self.index
        under: dict[str, int] = {}
        per_chunk = self.chunk_section_labels
        for labs in per_chunk:
            for lab in labs:
                if len(lab) >= MIN_SECTION_CHARS:
                    under[lab] = under.get(lab, 0) + 1
        outside = _mentions_outside(under, (normalize(c.text) for c in index.chunks), per_chunk)
        return tuple(sorted((lab for lab, n in under.items() if outside[lab] <= MAX_TOPIC_SHARE * n),
                            key=len, reverse=True))

    @locked_cached_property
    def heading_automata(self):
        import ahocorasick

        headings = self.section_headings
        verbatim, particle_free = ahocorasick.Automaton(), ahocorasick.Automaton()
        loose: dict[str, list[str]] = {}
        for lab in headings:
            verbatim.add_word(lab, lab)
            bare = _PARTICLES.sub("", lab)
            if len(bare) >= MIN_SECTION_CHARS:
                loose.setdefault(bare, []).append(lab)
        for bare, labs in loose.items():
            particle_free.add_word(bare, tuple(labs))
        for automaton in (verbatim, particle_free):
            if len(automaton):
                automaton.make_automaton()
        return verbatim, particle_free, {lab: i for i, lab in enumerate(headings)}

    @locked_cached_property
    def vocabulary(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        df = self.index.df
        by_char: dict[str, list[str]] = {}
        counts: dict[str, list[str]] = {}
        for w in sorted((w for w in df if w != "__N__"), key=lambda w: -df[w]):
            if w.isascii():
                continue
            for ch in set(w):
                by_char.setdefault(ch, []).append(w)
            m = NUMERAL_WORD.match(w)
            if m and not w.isdigit():
                counts.setdefault(m.group(1), []).append(w)
        return by_char, counts

    @locked_cached_property
    def penalty_sections(self) -> tuple[str, ...]:
        return tuple(sorted({lab for labs in self.chunk_section_labels for lab in labs
                             if lab.endswith(PENALTY_SECTION)}))


def chunk_section_labels(index) -> list[frozenset[str]]:
    """Per chunk row of ``index``: the set of its ``section_labels`` (computed once per loaded index
    and kept with it, ``PlanningData``; shared by ``section_headings`` and the retriever's named-section
    ranking)."""
    return PlanningData.of(index).chunk_section_labels


MAX_TOPIC_SHARE = 0.25  # a heading mentioned outside its section in more chunks than this share of
# the chunks under it is a topic word (科技服务业, 清洁能源), not the name of a section (发展愿景)


def section_headings(index) -> tuple[str, ...]:
    """Headings of the index that name a section rather than a topic, longest first (cached per
    index, ``PlanningData``): ≥ MIN_SECTION_CHARS characters without numbering, and the chunks outside
    the section that mention the heading number at most ``MAX_TOPIC_SHARE`` × the chunks under it."""
    return PlanningData.of(index).section_headings


def _mentions_outside(labels, texts, per_chunk) -> dict[str, int]:
    """label → number of chunks whose (normalised) text contains the label while the label is not one of
    that chunk's own section labels. One Aho–Corasick pass over each text (pyahocorasick): time ~ total
    characters + matches, not labels × chunks (a library of 50 k chunks and thousands of headings)."""
    import ahocorasick

    outside = dict.fromkeys(labels, 0)
    if not outside:
        return outside
    automaton = ahocorasick.Automaton()
    for lab in outside:
        automaton.add_word(lab, lab)
    automaton.make_automaton()
    for text, own in zip(texts, per_chunk):
        for lab in {lab for _, lab in automaton.iter(text)}:
            if lab not in own:
                outside[lab] += 1
    return outside


def named_sections(question: str, index, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Section headings (see ``section_headings``) that occur in the question — verbatim, or once the
    particles 的/之/了 are removed from both — outside the words of ``exclude`` (its document
    references: 壮大新兴产业 inside a title is no section): "发展愿景分了哪两个时间段" names the section
    发展愿景, "要培育发展的未来产业都有啥" the section 培育发展未来产业."""
    norm = normalize(question)
    for words in sorted(exclude, key=len, reverse=True):
        if words:
            norm = norm.replace(normalize(words), " ")
    loose = _PARTICLES.sub("", norm)
    verbatim, particle_free, rank = _heading_automata(index)
    found = {lab for _, lab in verbatim.iter(norm)} if len(verbatim) else set()
    if len(particle_free):
        found.update(lab for _, labs in particle_free.iter(loose) for lab in labs)
    return tuple(sorted(found, key=rank.__getitem__))


def _heading_automata(index):
    """Aho–Corasick automata over ``section_headings(index)`` (built once per loaded index and kept with
    it, ``PlanningData``): (heading → heading; heading without 的/之/了, when ≥ MIN_SECTION_CHARS → the
    headings it comes from; heading → its place in ``section_headings``) — a question is matched in one
    pass over its characters, not once per heading of the library."""
    return PlanningData.of(index).heading_automata


_PARTICLES = re.compile(r"[的之了]")  # "要培育发展的未来产业" names the section 培育发展未来产业


# a question about the consequence of a violation (罚多少, 怎么处理, 要担什么责任); regulations state it in
# their chapter 法律责任 (the standard chapter of Chinese laws and regulations)
PENALTY_QUESTION = re.compile(r"罚|处分|法律责任|(?:怎么|如何|怎样)(?:处理|处置|追责)|追究|担什么责任|后果")
PENALTY_SECTION = "法律责任"


def penalty_sections(index) -> tuple[str, ...]:
    """Section labels of ``index`` (``chunk_section_labels``: 第八章法律责任) that are a 法律责任 chapter
    (cached per index, ``PlanningData``); () for documents without one (plans, 实施方案)."""
    return PlanningData.of(index).penalty_sections
