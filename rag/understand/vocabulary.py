"""The question's words against the documents' vocabulary.

``arabic_articles`` writes article, chapter … numbers in the Chinese numerals regulations use (第26条 →
第二十六条, ``chinese_numeral``); ``vocabulary_expansions`` gives, for the question words the index lacks,
the index words that contain them (罚 → 罚款) or, for a count (几类), its numeral words (四类), from the
index's vocabulary kept with the index (``rag.understand.sections.PlanningData``); ``missing_terms`` names
the question terms the corpus cannot answer for (read by ``rag.answer.signals``). Used by
``rag.understand.query.plan_query``; the names are re-exported by ``rag.understand.query``.
"""

from __future__ import annotations

import re

from rag.text import normalize
from rag.understand.sections import PlanningData


_QUESTION_WORD = re.compile(r"[几哪啥]|多少|什么|一年|^\d+$|^[a-z0-9]+$|^[一二三四五六七八九十两]+[条个项大类家种点年]")


COMMON_WORD_FREQ = 5000  # jieba dictionary frequency from which a word counts as everyday language


def missing_terms(terms, corpus: str, covered: set[str] = frozenset()) -> list[str]:
    """Question terms the corpus cannot answer for: no two-character window of the term occurs in
    any document, it is a dictionary word (segmentation artefacts such as 谷叫 do not count), it is not
    a question word or a bare number/Latin word, and no concept expansion covers it. A question about 免租 or 咨询电话
    asks for something the documents do not contain."""
    import jieba

    out = []
    for term in terms:
        t = normalize(term).lower()
        if len(t) < 2 or term in covered or _QUESTION_WORD.search(t):
            continue
        freq = jieba.dt.FREQ.get(term, 0)
        # out-of-vocabulary pieces cut out by jieba's HMM (收要, 谷叫) and everyday words (获得, 得到)
        # say nothing about what the question needs; specific words (免租, 税率, 咨询电话) do
        if not 0 < freq < COMMON_WORD_FREQ:
            continue
        if not any(t[i:i + 2] in corpus for i in range(len(t) - 1)):
            out.append(term)
    return out


_ARABIC_ARTICLE = re.compile(r"第\s*(\d{1,3})\s*([编章节条款项])")
_DIGIT_CHARS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """``n`` (0–999) in Chinese numerals as laws number their parts: 3 → 三, 16 → 十六, 26 → 二十六,
    106 → 一百零六, 110 → 一百一十; ``str(n)`` from 1000 on."""
    if n < 10:
        return _DIGIT_CHARS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _DIGIT_CHARS[tens]) + "十" + (_DIGIT_CHARS[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = _DIGIT_CHARS[hundreds] + "百"
        if not rest:
            return head
        if rest < 10:
            return head + "零" + _DIGIT_CHARS[rest]
        tens, ones = divmod(rest, 10)
        return head + _DIGIT_CHARS[tens] + "十" + (_DIGIT_CHARS[ones] if ones else "")
    return str(n)


def arabic_articles(question: str) -> str:
    """``question`` with article, chapter, section … numbers written in Arabic digits in the Chinese
    numerals regulations use (第26条 → 第二十六条, 第3章 → 第三章), so that they match the section path."""
    return _ARABIC_ARTICLE.sub(lambda m: f"第{chinese_numeral(int(m.group(1)))}{m.group(2)}", question)


NUMERAL_QUESTION = re.compile(r"^(?:几|多少)(\w)$")  # 几类, 几项, 多少家: a count asked with its measure word


# index words added per question word, also numeral words for a count (几类 → the index's most frequent: 四类 两类
# 三类). Eight numeral words reached 分为以下四类 in the whole LawRefBook, whose most frequent are 一类/二类/三类
# (xd-023), but lost anchors on the held-out splits of the small corpora (x3 R@5 0.842 -> 0.789, x7 0.979 -> 0.958)
# and gained nothing on their dev splits
MAX_VOCABULARY_EXPANSIONS = 3
HEAD_RATIO = 50  # a question word the index holds is expanded when its most frequent compound is this many times as frequent


def vocabulary_expansions(tokens: list[str], index) -> list[str]:
    """Index words for question words the index does not contain (document frequency 0, or less than
    1/``HEAD_RATIO`` of that of the most frequent index word containing it: a large library writes 罚 alone
    a few times): the most frequent (up to ``MAX_VOCABULARY_EXPANSIONS``) index words that contain the
    question word (罚 → 罚款, 处罚 — jieba keeps 罚款 whole, so 罚 alone matches nothing; a single character
    only when it is not an everyday word, ``_everyday_char``); and for a count asked with its measure word
    (几类, 多少项; also when some document writes it) the index's most frequent numeral words with that
    measure word (as many: 四类, 三类 …). Question words (``_QUESTION_WORD``) other
    than such counts, and bare numbers or Latin words, get none."""
    out: list[str] = []
    df = index.df
    for t in dict.fromkeys(tokens):
        m = NUMERAL_QUESTION.match(t) if t else None
        if not t or t.isascii():
            continue
        if m:  # a count asked (几类) stays a question word where some document happens to write it
            words = _vocabulary(index)[1].get(m.group(1), [])
        elif _QUESTION_WORD.search(t) or (len(t) == 1 and _everyday_char(t)):
            continue
        else:
            words = [w for w in _vocabulary(index)[0].get(t[0], ()) if t in w and w != t]
            # a word the documents write alone (almost) never: in a large library 罚 stands alone a few
            # times against thousands of 罚款
            if df.get(t, 0) and not (words and df.get(t, 0) * HEAD_RATIO < df.get(words[0], 0)):
                continue
        out += [w for w in words[:MAX_VOCABULARY_EXPANSIONS] if w not in out and w not in tokens]
    return out


def _everyday_char(char: str) -> bool:
    """True when ``char`` is an everyday word of its own (jieba dictionary frequency ≥ COMMON_WORD_FREQ:
    字, 靠, 跟, 钱), whose compounds (数字, 可靠) are other words; a rarer one (罚, 骗, 遗) is the head of
    the documents' compounds (罚款, 骗取, 遗产)."""
    from rag.text import _jieba

    dt = _jieba(None).dt
    dt.get_DAG(char)  # merges the dictionary entries starting with ``char`` (rag.jieba_dict loads them lazily)
    return dt.FREQ.get(char, 0) >= COMMON_WORD_FREQ


def _vocabulary(index) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(character → index words containing it, measure word → numeral words ending in it), each list
    most frequent first; built once per loaded index from its document frequencies ``index.df``
    (``PlanningData.vocabulary``)."""
    return PlanningData.of(index).vocabulary
