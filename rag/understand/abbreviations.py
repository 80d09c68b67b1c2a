"""Abbreviations a question uses for the documents' full terms, learnt from the indexed text.

Chinese short forms take the first character of the words of a term (非物质文化遗产 → 非遗, 营业收入 →
营收, 战略性新兴产业 → 战新). A question may use a short form that the documents never write; BM25 then
matches nothing (jieba cuts 非遗 into 非 / 遗) and a reference such as "重庆的非遗条例" names no title
word. ``abbreviation_matches`` finds such short forms and their long forms in the corpus itself — no
list of abbreviations:

* **candidates** (``abbreviation_candidates``): words of the question (jieba, 2–4 Chinese characters,
  a run of single characters jieba could not join, or a lone character with the next word's first
  character when the rest of that word begins a word the text writes: jieba cuts 非遗传承人 as 非 / 遗传 / 承人,
  and 传承人 is written; 打 / 报告 is a verb and its object) that are no index word, occur nowhere in the
  indexed text as a word (``in_corpus``: 人社 inside 个人/社会 is no writing of it) and neither begin nor
  end with a stopword (是从 is 是 + 从; a word of three or more characters that jieba cut whole may end
  with one: 业委会);
* **long form** (``long_form``): the corpus spans that start with the candidate's first character and
  hold its other characters in order (each within ``MAX_GAP`` characters of the previous one), cut at
  the end of the word holding the last one; a span counts when a word begins at its start (not 区 of
  地区生产总值), when every character of the short form after the first begins a word of two or more
  characters of it (jieba search mode: 营业/收入, 文化遗产 ⊃ 遗产) — the last one of a short form of three or
  more characters may instead end the long form (业主委员会 → 业委会: the head noun's last character; 新版 is
  no 新闻出版) — and when it is at least
  ``MIN_EXTRA`` characters longer than the short form. The most frequent such span is the long form when
  it occurs at least ``MIN_LONG_FORM_COUNT`` times and makes up at least ``MIN_LONG_FORM_SHARE`` of
  all the spans the short form's characters match (利率 in a corpus without 利率 is not 利用率: too
  short, and 利用率's 率 begins no word).

Results are cached per loaded index (``AbbreviationCache``; two scans of the corpus text per new candidate, ~0.5 ms per
million characters each; a word of the index vocabulary costs a dictionary lookup).
"""

from __future__ import annotations

import re
import threading
from collections import Counter

from rag.text import STOPWORDS, normalize
from rag.types import DerivedData

MAX_GAP = 5  # characters between two characters of a short form in its long form (非物质文化遗产: 非 +5 遗)
MIN_EXTRA = 2  # a long form has at least this many characters more than its short form (业委会 → 业主委员会)
MIN_LONG_FORM_COUNT = 3  # occurrences of a long form in the corpus (获国 → 获批国家 twice is chance)
MIN_LONG_FORM_SHARE = 0.5  # its share of the corpus spans its characters match
MAX_SCANNED = 500  # corpus spans looked at per short form
MAX_CHECKED = 100  # occurrences of a candidate cut by jieba to see whether the corpus writes it as a word
_TAIL = 8  # characters read after a span to finish the word holding its last character
_HEAD = 4  # characters read before a span to see that a word begins there
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
_ASKS = re.compile(r"[几哪啥谁]|多少|什么|怎么|如何")  # question words are no short forms


def abbreviation_candidates(question: str, index) -> list[str]:
    """Short-form candidates of ``question`` (normalised, in question order, distinct): its jieba words
    of 2–4 Chinese characters, its runs of 2–4 single Chinese characters jieba did not join (非 遗), and
    a lone single character with the first character of the word after it (非遗传承人 cut 非 / 遗传 / 承人),
    that are no index word (``index.df``), are written nowhere in the index's text as a word (``in_corpus``), are no
    stopword and ask nothing (几, 哪, 多少 …). ``index``: a loaded index (its tokenizer's jieba, its
    document frequencies and its corpus text)."""
    from rag.text import _jieba

    jieba = _jieba(getattr(index.tokenizer, "userdict", None))
    df = index.df
    out: list[str] = []

    def keep(word: str, whole: bool = False) -> None:
        # a word jieba cut whole (业委会) may end in a character that is a stopword alone (会);
        # a run of single characters may not (是从 is 是 + 从)
        edges_ok = word[0] not in STOPWORDS and (word[-1] not in STOPWORDS or (whole and len(word) >= 3))
        if 2 <= len(word) <= 4 and _CJK.match(word) and not df.get(word) and word not in STOPWORDS \
                and not _ASKS.search(word) and edges_ok and word not in out and not in_corpus(word, index):
            out.append(word)

    words = [*jieba.lcut(normalize(question).lower()), "。"]
    run: list[str] = []
    for i, w in enumerate(words):
        if len(w) == 1 and _CJK.match(w) and w not in STOPWORDS and not _ASKS.search(w):
            run.append(w)
            continue
        if len(run) >= 2:
            keep("".join(run))
        elif len(run) == 1 and _CJK.match(w) and _rest_is_word(w[1:], words[i + 1:i + 2], index):
            # 非遗传承人 cut 非 / 遗传 / 承人: the lone character and the next word's first one, when the rest of
            # that word begins a word (传 + 承人 = 传承人); 打 / 报告 (打报告) is a verb and its object
            keep(run[0] + w[0])
        run = []
        if len(w) >= 2:
            keep(w, whole=True)
    return out


def _rest_is_word(rest: str, following: list[str], index) -> bool:
    """``rest`` (a word without its first character), alone or joined to the word after it, is a word of two or
    more characters that the indexed text writes (``in_corpus``): the first character belongs to the short form
    before it (传 + 承人 = 传承人; 告 + 启动 is no word)."""
    return any(len(w) >= 2 and _CJK.match(w) and in_corpus(w, index) for w in (rest, rest + "".join(following)))


def in_corpus(word: str, index) -> bool:
    """``word`` is written by the index's text (``rag.text.corpus_text``) as a word: at one of its first
    ``MAX_CHECKED`` occurrences jieba, cutting ``_HEAD`` characters before and ``_TAIL`` after, begins a word
    at its first character and ends one after its last (cut the same way in search mode, 人力资源 ⊃ 资源). An
    occurrence straddling words is no writing of it: 人社 in 个人/社会 is not the short form 人社 (人力资源社会保障).
    One scan per word, cached on ``index`` with the long forms."""
    cache = _cache(index)
    key = ("in", word)
    if key not in cache:
        from rag.text import _jieba, corpus_text

        corpus = corpus_text(index)
        jieba = _jieba(getattr(index.tokenizer, "userdict", None))
        found = False
        for n, m in enumerate(re.finditer(re.escape(word), corpus), start=1):
            lo = max(0, m.start() - _HEAD)
            starts, ends = set(), set()
            for _w, a, b in jieba.tokenize(corpus[lo:m.end() + _TAIL], mode="search"):
                starts.add(lo + a)
                ends.add(lo + b)
            if m.start() in starts and m.end() in ends:
                found = True
                break
            if n >= MAX_CHECKED:
                break
        cache[key] = found
    return cache[key]


MAX_CACHED = 20_000  # words whose corpus look-ups an index keeps (then the cache starts afresh)


def prepare_abbreviations(index) -> None:
    """Create the per-index cache of ``in_corpus`` and ``long_form`` (called when the index is loaded:
    ``rag.understand.query.prepare_index``)."""
    _cache(index)


class AbbreviationCache(DerivedData):
    """Per index: ``words``, word → its ``in_corpus`` / ``long_form`` result (a new dict once it holds
    ``MAX_CACHED`` words)."""

    def __init__(self, index):
        super().__init__(index)
        self.words: dict = {}


def _cache(index) -> dict:
    """The per-index cache of ``in_corpus`` and ``long_form`` (emptied when it holds ``MAX_CACHED`` words)."""
    data = AbbreviationCache.of(index)
    cache = data.words
    if len(cache) >= MAX_CACHED:
        with _LOCK:
            cache = data.words
            if len(cache) >= MAX_CACHED:
                cache = data.words = {}
    return cache


def long_form(short: str, index) -> str | None:
    """The corpus's long form of ``short`` (see the module docstring), or None; cached on ``index``."""
    cache = _cache(index)
    if short not in cache:
        cache[short] = _long_form(short, index)
    return cache[short]


_LOCK = threading.Lock()


def _long_form(short: str, index) -> str | None:
    from rag.text import corpus_text
    from rag.text import _jieba

    if len(short) < 2:
        return None
    corpus = corpus_text(index)
    jieba = _jieba(getattr(index.tokenizer, "userdict", None))
    pattern = re.compile("(" + re.escape(short[0]) + ")" + "".join(
        f"[\u4e00-\u9fff]{{0,{MAX_GAP}}}?({re.escape(c)})" for c in short[1:]))
    spans: Counter = Counter()
    first: dict[str, re.Match] = {}
    for total, m in enumerate(pattern.finditer(corpus), start=1):
        spans[m.group(0)] += 1
        first.setdefault(m.group(0), m)
        if total >= MAX_SCANNED:
            break
    total = sum(spans.values())
    forms: Counter = Counter()
    for span, n in spans.items():  # one word cut per distinct span (非物质文化遗 × 500 is one)
        m = first[span]
        form = _word_span(jieba, corpus, m.start(), m.end())
        if form is None or len(form) < len(short) + MIN_EXTRA or not _CJK.match(form):
            continue
        starts = {a for _w, a, b in jieba.tokenize(form, mode="search") if b - a >= 2}
        # every later character begins a word of the long form (营业/收入), or the last one of a short form of
        # three or more ends it: the head noun's last character keeps its place (业主委员会 → 业委会, 委员会 ⊃ 会);
        # a two-character one keeps two word beginnings (新版 is no 新闻出版, 驾照 no 驾驶人按照)
        if all(m.start(g) - m.start() in starts
               or (g == len(short) >= 3 and m.end(g) - m.start() == len(form)) for g in range(2, len(short) + 1)):
            forms[form] += n
    if not forms:
        return None
    form, count = forms.most_common(1)[0]
    if count < MIN_LONG_FORM_COUNT or count < MIN_LONG_FORM_SHARE * total:
        return None
    return form


def _word_span(jieba, text: str, start: int, end: int) -> str | None:
    """The words of ``text`` (jieba, cut with ``_HEAD`` characters before and ``_TAIL`` after) from the
    one beginning at ``start`` to the one holding ``end - 1``; None when no word begins at ``start``
    (区 of 地区生产总值 is no word's start)."""
    lo = max(0, start - _HEAD)
    pos, form = lo, None
    for w in jieba.lcut(text[lo:end + _TAIL]):
        if pos == start:
            form = ""
        if form is not None:
            form += w
        pos += len(w)
        if pos >= end:
            break
    return form


def abbreviation_matches(question: str, index) -> list[tuple[str, str]]:
    """``(short form, long form)`` of each abbreviation ``question`` uses for a term of the indexed
    documents (``abbreviation_candidates`` with a ``long_form``): "重庆的非遗条例" → [("非遗", "非物质文化遗产")]."""
    out = []
    for short in abbreviation_candidates(question, index):
        full = long_form(short, index)
        if full:
            out.append((short, full))
    return out


def expand_abbreviations(question: str, matches: list[tuple[str, str]]) -> str:
    """``question`` with each short form of ``matches`` (``abbreviation_matches``) replaced by its long
    form (the question NFKC-normalised first when it does not write the short form as such); words
    right after the short form that the long form ends with are not repeated (战新产业 → 战略性新兴产业)."""
    out = question
    for short, full in matches:
        if short not in out:
            out = normalize(out)
        parts = out.split(short)
        for i in range(1, len(parts)):
            after = parts[i]
            overlap = next((n for n in range(min(len(full) - 1, len(after)), 0, -1) if after.startswith(full[-n:])), 0)
            parts[i] = after[overlap:]
        out = full.join(parts)
    return out
