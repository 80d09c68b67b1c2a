"""Headings of cleaned Chinese policy documents and regulations: heading levels and labels
(``heading_level``, ``heading_label``, ``is_heading_only``, ``cn_number``), labelled paragraphs, and the
line walk (``_walk``) that gives every non-blank line its heading level in context and its section path.
``rag.ingest.chunking`` builds chunks and outline passages on this walk (and re-exports these names).

Heading levels (the numbering styles of Chinese policy documents and regulations, outermost first;
a smaller level is an outer one — a heading closes every open heading of its level or deeper):

======= ============================================ ==========================================
level   pattern                                      example
======= ============================================ ==========================================
0       back matter: ``附件``/``附表``/``附录`` (with   ``附件2：重点项目清单``, ``名 词 解 释``
        a number or ``：title``), ``名词解释``
1–6     a Markdown heading ``#`` … ``######`` whose   ``## 总则`` (from a .md file, or a Word
        text has no numbering (the marks count; inside heading style / ``<h2>`` via the readers)
        a 编/章/节 it nests under the innermost one)
10      ``第X编`` / ``第X部分``                          ``第二编 物权``
11      ``第X章``                                      ``第三章 数据资源``
12      ``第X节``                                      ``第一节 一般规定``
13      ``第X条`` (an article; ``第X条之一`` too)         ``第十八条 市人民政府应当…``
20      ``一、`` … ``十、``                              ``二、重点突破方向``
21      ``（一）`` or ``(一)``                           ``（一）壮大新兴产业``
22      ``1.`` ``1．`` ``1、``                           ``2. 机器人``
23      ``专栏 N``                                     ``专栏 1 电子信息技术``
24      ``（1）`` or ``(1)``                             ``（1）集成电路``
25      ``①`` … ``⑳``                                  ``①芯片设计``
26      a labelled paragraph, one of ≥ 2 in its        ``加快培育领军企业。实施领军企业培育计划…``
        section outside articles (``label_paragraph``)
======= ============================================ ==========================================

Context decides the rest (``_walk``):

* inside an article every numbered line (``（一）``, ``1.``, ``（1）``, ``①``, ``一、``, ``专栏``) is a list item
  of that article, never a section: a regulation's section path ends at its article
  (``第三章 数据资源 › 第十八条``), and a long article is split into several chunks with that same path;
* a paragraph that opens with a short label sentence and goes on (``推进中小企业专精特新发展。实施…``,
  ``——集成电路。服务…``) is an unnumbered sub-section (level 26, named by its label) when its section
  holds two or more of them outside an article (``_label_lines``): the bold-labelled blocks of a plan; the
  paragraphs after one belong to it up to the next label or heading;
* ``第X款`` is not a heading: an article's paragraphs are its 款, and a line opening with ``第一款`` is a
  cross-reference (``第一款所列情形…``); lines opening with ``第X条规定``/``第X条所列``/``第X条的`` are too;
* back matter before the document's first other heading (``附件`` above the title of an attachment) is
  the document's cover label, not a heading;
* a table of contents — a run of heading-only lines before the body in which two headings close with no
  body, or one when the body's headings then start again (``第一章 总则`` ``第二章 …`` ``第八章 附则``, then the body's ``第一章 总则`` again) —
  is no section and no chunk text (the cleaning step removes tables of contents with page numbers;
  this catches the ones made of headings only).

Markdown marks are kept by the cleaning step only where they are the sole evidence of a heading (an
unnumbered heading that is not the document's title, see ``rag.ingest.cleaning``); on numbered headings the
numbering decides the level (the bundled 000 document puts ``#`` and ``####`` on headings of the same
level). A heading often opens its paragraph (``1.人工智能。坚持…``): the label is the text before the
first 。/./：; an article's label is its number (``第十八条``); a 第X章/节/编 label reads ``第三章 数据资源``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

SECTION_SEP = " › "

BACK_MATTER_LEVEL = 0
PART_LEVEL, CHAPTER_LEVEL, SECTION_LEVEL, ARTICLE_LEVEL = 10, 11, 12, 13
_CN_NUM = "[一二三四五六七八九十百千零〇两]+"
_NUMBER = rf"(?:{_CN_NUM}|\d{{1,4}})"
MAX_HEADING_CHARS = 40

_BACK_MATTER = re.compile(r"^(?:名\s*词\s*解\s*释|术\s*语\s*解\s*释|附\s*录|附\s*件|附\s*表)"
                          r"(?:\s*[\d一二三四五六七八九十]{1,3})?(?:\s*[：:][^。；;]{0,40})?$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")
_DIVISION = re.compile(rf"^(第{_NUMBER}(?:编|部分|章|节))\s*(.*)$")
_DIVISION_LEVEL = {"编": PART_LEVEL, "部分": PART_LEVEL, "章": CHAPTER_LEVEL, "节": SECTION_LEVEL}
_ARTICLE = re.compile(rf"^(第({_NUMBER})条(?:之{_CN_NUM})?)")
# what follows 第X条 in a cross-reference that opens a line (第十条规定的…, 第三条所列…, 第五条的…); an
# article may open the same way (第八条规定本市特别重大事项的…), so its number decides (``_walk``)
_REFERENCE_TAIL = re.compile(r"规定|所|的|中|至|、|和|或|及|第|款|项")
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}


def cn_number(s: str) -> int | None:
    """The value of a number written in Chinese numerals or ASCII digits (``一百零五`` → 105, ``十五``
    → 15, ``12`` → 12); None when ``s`` is not one."""
    if s.isdigit():
        return int(s)
    total, digit = 0, None
    for ch in s:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            total += (1 if digit is None else digit) * _CN_UNIT[ch]
            digit = None
        else:
            return None
    return total + (digit or 0) if s else None
_NUMBERED = [
    (20, re.compile(r"^[一二三四五六七八九十]{1,3}、")),
    (21, re.compile(r"^[（(][一二三四五六七八九十]{1,3}[）)]")),
    (22, re.compile(r"^\d{1,2}[.．、](?!\d)")),
    (23, re.compile(r"^专栏\s*\d{1,2}")),
    (24, re.compile(r"^[（(]\d{1,2}[）)]")),
    (25, re.compile(r"^[①-⑳]")),
]
_LIST_LIKE = {22, 24, 25}  # a long numbered sentence without a short label is a list item, not a heading
_LABEL_END = re.compile(r"[。：:]|(?<=[\u4e00-\u9fff])\.(?!\d)")
_SENTENCE_PUNCT = re.compile(r"[。；;！？!?]")


def _md_split(p: str) -> tuple[int, str]:
    """(number of leading Markdown heading marks, the rest) of a stripped line; (0, p) without marks."""
    m = _MD_HEADING.match(p)
    return (len(m.group(1)), m.group(2).strip()) if m else (0, p)


def numbered_heading_level(paragraph: str) -> int | None:
    """The level (10–25, or 0 for back matter) the paragraph's own numbering gives it as a heading, or
    None when it has none (Markdown marks are not looked at: see ``heading_level``). Context-free: a
    numbered line inside an article is still a list item (``_walk``)."""
    p = paragraph.strip()
    if not p:
        return None
    if _BACK_MATTER.match(p):
        return BACK_MATTER_LEVEL
    m = _DIVISION.match(p)
    if m:
        short = len(p) <= MAX_HEADING_CHARS and not _SENTENCE_PUNCT.search(p)
        return _DIVISION_LEVEL[m.group(1)[-2:] if m.group(1).endswith("部分") else m.group(1)[-1]] if short else None
    if _ARTICLE.match(p):
        return ARTICLE_LEVEL
    for level, pattern in _NUMBERED:
        if pattern.match(p):
            if level in _LIST_LIKE and len(p) > MAX_HEADING_CHARS and not _LABEL_END.search(p[:MAX_HEADING_CHARS]):
                return None
            return level
    return None


def heading_level(paragraph: str) -> int | None:
    """The heading level (see the module table) that ``paragraph`` opens, or None when it is body text.

    A Markdown heading (``## 总则``) takes its numbering's level when numbered, else its mark count
    (1–6). Context-free: ``_walk`` also makes numbered lines inside an article list items."""
    marks, rest = _md_split(paragraph.strip())
    level = numbered_heading_level(rest)
    if level is not None or not marks:
        return level
    return marks


def heading_label(paragraph: str) -> str:
    """The heading's label: the article number for an article (``第十八条``), ``第三章 数据资源`` for a
    chapter/section/part, the text without its marks for a Markdown heading; otherwise the whole
    paragraph when short, else the text before the first 。/./：.

    >>> heading_label("1.人工智能。坚持以数据高效汇聚为支撑")
    '1.人工智能'
    >>> heading_label("第十八条市人民政府应当加强数据资源建设。")
    '第十八条'
    """
    marks, p = _md_split(paragraph.strip())
    m = _ARTICLE.match(p)
    if m and numbered_heading_level(p) == ARTICLE_LEVEL:
        return m.group(1)
    m = _DIVISION.match(p)
    if m and numbered_heading_level(p) is not None:
        return f"{m.group(1)} {m.group(2).rstrip('。.')}".strip()
    m = _LABEL_END.search(p)
    if m and m.start() <= MAX_HEADING_CHARS:
        return p[: m.start()].strip()
    if len(p) <= MAX_HEADING_CHARS:
        return p.rstrip("。.")
    return p[:MAX_HEADING_CHARS] + "…"


def is_heading_only(paragraph: str) -> bool:
    """True when the paragraph is nothing but a heading (no body text after its label)."""
    p = paragraph.strip().rstrip("。.")
    level = heading_level(p)
    if level == ARTICLE_LEVEL:  # an article line is a heading only when it is nothing but its number
        return heading_label(p) == _md_split(p)[1]
    return level is not None and len(p) <= MAX_HEADING_CHARS and not _LABEL_END.search(p)


def _heading_key(paragraph: str) -> str:
    """What identifies a heading in a table of contents: its numbering (``第一章``, ``一、``) or, when
    unnumbered, its label."""
    _, p = _md_split(paragraph.strip())
    m = _DIVISION.match(p) or _ARTICLE.match(p)
    if m:
        return m.group(1)
    for _, pattern in _NUMBERED:
        m = pattern.match(p)
        if m:
            return m.group(0)
    return heading_label(p)


@dataclass(frozen=True)
class _Line:
    """One non-blank line of the cleaned text as ``_walk`` sees it."""

    start: int
    end: int
    level: float | None  # heading level in context (see _walk); None for body text (also a list item in an article)
    heading_only: bool
    path: str  # the section path after this line (the line's own section when it is a heading)
    parent: str  # the section path above this heading ("" for body lines)
    toc: bool = False  # part of a table of contents made of headings: no section, no chunk text


def _toc_lines(lines: list[tuple[int, int, str]]) -> set[int]:
    """Indexes (into ``lines``) of a table of contents made of heading-only lines (see the module
    docstring): the first run of heading-only lines, before any body under a heading, in which
    headings close without body — two of them, or one when the body's headings then start again
    (a heading with the same numbering as the run's first); it ends there, else it is the whole run."""
    run: list[int] = []
    seen_heading = False
    for i, (_, _, line) in enumerate(lines):
        level = heading_level(line)
        if level is not None and is_heading_only(line) and not (level == BACK_MATTER_LEVEL and not seen_heading):
            run.append(i)
            seen_heading = True
            continue
        if run or level is not None:
            break  # the first body after a heading (or a heading with body) ends the search
    levels = [heading_level(lines[i][2]) for i in run]
    empty = sum(any(levels[j] <= levels[k] for j in range(k + 1, len(levels))) for k in range(len(levels)))
    first = _heading_key(lines[run[0]][2]) if run else ""
    restart = next((k for k in range(1, len(run)) if _heading_key(lines[run[k]][2]) == first), len(run))
    if empty < 2 and not (empty and restart < len(run)):
        return set()
    return set(run[:restart])


LABEL_LEVEL = 26  # a paragraph opening with a label sentence, one of a run in its section (``_label_lines``)
_LABEL_CORE = re.compile(r"^[—\-－–]*\s*([^，,、：:；;（()）。.！？!?\s]{2,16})[。.]")


def label_paragraph(line: str) -> bool:
    """The paragraph opens with a short label sentence and goes on: ``加快培育领军企业。实施…``,
    ``——集成电路。服务国家…`` — a label of 2–16 characters without punctuation, ended by 。 (or a ``.``
    after a Chinese character), then the paragraph's text."""
    p = line.strip()
    m = _LABEL_CORE.match(p)
    if not m or not p[m.end():].strip():
        return False
    return p[m.end() - 1] == "。" or "\u4e00" <= p[m.end() - 2] <= "\u9fff"


def _label_lines(lines: list[tuple[int, int, str]], toc: set[int]) -> set[int]:
    """Indexes (into ``lines``) of label paragraphs (``label_paragraph``) that are unnumbered
    sub-sections: at least ``MIN_LABEL_RUN`` of them in one section (between two headings), outside
    articles — a section made of labelled blocks (“加快培育领军企业。…” “推进中小企业专精特新发展。…”
    “促进企业融通发展。…”) whose labels a printed document sets in bold."""
    out: set[int] = set()
    group: list[int] = []
    in_article = False
    for i, (_, _, line) in enumerate(lines + [(0, 0, "")]):
        level = heading_level(line) if i < len(lines) and i not in toc else None
        if i == len(lines) or level is not None:
            if len(group) >= MIN_LABEL_RUN and not in_article:
                out.update(group)
            group = []
            if level is not None:
                in_article = level == ARTICLE_LEVEL or (in_article and level > ARTICLE_LEVEL)
            continue
        if label_paragraph(line):
            group.append(i)
    return out


MIN_LABEL_RUN = 2


def _walk(text: str) -> Iterator[_Line]:
    """The non-blank lines of ``text`` in order, each with its heading level in context and the section
    path after it. Inside an article (an article heading on the stack) numbered lines are list items."""
    lines: list[tuple[int, int, str]] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            lines.append((pos, pos + len(line), line))
        pos += len(line) + 1
    toc = _toc_lines(lines)
    labels = _label_lines(lines, toc)
    stack: list[tuple[float, str]] = []
    seen_heading = False
    path = ""
    last_article: int | None = None
    for i, (start, end, line) in enumerate(lines):
        if i in toc:
            yield _Line(start, end, None, False, path, path, toc=True)
            continue
        level = LABEL_LEVEL if i in labels else heading_level(line)
        if level == ARTICLE_LEVEL:
            bare = _md_split(line.strip())[1]
            m = _ARTICLE.match(bare)
            number = cn_number(m.group(2))
            expected = number == (last_article + 1 if last_article is not None else 1)
            if not expected and _REFERENCE_TAIL.match(bare, m.end()):
                level = None  # a cross-reference opening a paragraph of the article, not an article
            elif number is not None and "之" not in m.group(1):
                last_article = number
        if level is not None and level > ARTICLE_LEVEL and any(lv == ARTICLE_LEVEL for lv, _ in stack):
            level = None  # a numbered list item inside an article
        if level == BACK_MATTER_LEVEL and not seen_heading:
            level = None  # a cover label (附件 above an attachment's title), not back matter
        if level is not None and level < PART_LEVEL and level != BACK_MATTER_LEVEL:
            divisions = [lv for lv, _ in stack if PART_LEVEL <= lv <= SECTION_LEVEL]
            if divisions:  # an unnumbered Markdown heading inside a chapter: between it and its articles
                level = max(divisions) + 0.5
        if level is None:
            yield _Line(start, end, None, False, path, "")
            continue
        seen_heading = True
        while stack and stack[-1][0] >= level:
            stack.pop()
        parent = SECTION_SEP.join(label for _, label in stack)
        stack.append((level, heading_label(line)))
        path = SECTION_SEP.join(label for _, label in stack)
        yield _Line(start, end, level, is_heading_only(line), path, parent)
