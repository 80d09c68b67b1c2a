"""Repealed titles: the former texts the indexed text says no longer apply, and the questions naming them.

* ``title_key`` — a title as compared (NFKC, without 中华人民共和国 and 〈〉 marks);
* ``RepealData`` — per index, built once: title key → rows of the chunks with a sentence quoting that
  title and saying it no longer applies (…同时废止), and the indexed documents' title keys;
* ``repealed_titles`` — the repealed titles a question names (by a 《…》 title or part of one).

Split out of ``rag.understand.references``, which re-exports every name; this module imports nothing
from it. ``RepealData`` is cached on the index (``rag.types.DerivedData``).
"""

from __future__ import annotations

import re

from rag.text import normalize
from rag.types import DerivedData, locked_cached_property


_QUOTED_TITLE = re.compile(r"《([^《》\n]{2,80})》")  # a title the text quotes (inner 〈〉 allowed)
_REPEALS = re.compile(r"废止|失效|停止执行")  # a sentence saying a quoted text no longer applies
_SENTENCE = re.compile(r"[^。；;\n]+")
_TITLE_KIND = re.compile(r"(?:条例|规定|办法|决定|细则|规则|意见|通知|规划|方案|法)")
MIN_TITLE_PHRASE = 8  # characters of a question phrase that names a repealed title by part of it


def title_key(title: str) -> str:
    """A title as compared: NFKC-normalised, without 中华人民共和国 and without 〈〉/<> marks."""
    return re.sub(r"[〈〉<>]", "", normalize(title).replace("中华人民共和国", ""))


class RepealData(DerivedData):
    """What the indexed text says about former texts (``index``: needs ``chunks``), built on first use and
    kept: ``repealed`` = title key (``title_key``) → rows (ascending, distinct) of the chunks with a sentence
    quoting that title and saying it no longer applies ("本办法自2004年10月1日起施行。《北京市城市节约用水
    条例》同时废止。": 废止, 失效, 停止执行); ``joined`` = those keys, one per line (for substring search); ``indexed_titles`` = the title keys
    of the indexed documents (``index.docs``)."""

    @locked_cached_property
    def repealed(self) -> dict[str, tuple[int, ...]]:
        found: dict[str, list[int]] = {}
        for row, chunk in enumerate(self.index.chunks):
            text = chunk.text
            if "《" not in text or not _REPEALS.search(text):
                continue
            for sentence in _SENTENCE.findall(text):
                if _REPEALS.search(sentence):
                    for m in _QUOTED_TITLE.finditer(sentence):
                        found.setdefault(title_key(m.group(1)), []).append(row)
        return {t: tuple(dict.fromkeys(rows)) for t, rows in found.items()}

    @locked_cached_property
    def joined(self) -> str:
        return "\n".join(self.repealed)

    @locked_cached_property
    def indexed_titles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(title_key(m.title) for m in self.index.docs.values() if m.title))


def repealed_titles(question: str, index) -> tuple[str, ...]:
    """The title keys (``title_key``) of the repealed texts (``RepealData.repealed``: a sentence of the
    indexed text says they no longer apply) that ``question`` names: by a 《…》 title that is one of
    them or part of one, or by a phrase ending in a kind word (条例, 规定, 办法 …) of at least
    ``MIN_TITLE_PHRASE`` characters that is part of one ("上海人大常委会2012年出的那个关于规范性文件备案审查的规定"
    names 上海市人民代表大会常务委员会关于规范性文件备案审查的规定) and of no indexed document's title
    (that document is what the question names). Longest phrase first; () when none. ``index``: a loaded
    index (``chunks``, ``docs``)."""
    data = RepealData.of(index)
    if not data.repealed:
        return ()
    text = title_key(question)
    phrases = [title_key(m.group(1)) for m in _QUOTED_TITLE.finditer(normalize(question))]
    for m in _TITLE_KIND.finditer(text):
        end = m.end()
        phrases += [text[start:end] for start in range(max(0, end - 40), end - 3)]
    out: list[str] = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        if len(phrase) < MIN_TITLE_PHRASE or phrase not in data.joined or not _TITLE_KIND.search(phrase[-2:]):
            continue
        if any(phrase in key for key in data.indexed_titles):
            break  # the question names an indexed document
        out = [title for title in data.repealed if phrase in title]
        if out:
            break
    return tuple(out)
