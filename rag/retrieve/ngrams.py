"""Character-bigram BM25 over a candidate pool: a lexical ranking that does not depend on word segmentation.

jieba cuts a question and a passage independently; when it cuts them differently the word-level BM25
misses the term they share (满分为12分 is cut 满 / 分为, the question's 满分 is one word). Overlapping
character bigrams of Chinese text — the standard segmentation-free indexing of Chinese IR (Kwok 1997; Lucene's CJKAnalyzer) — match such terms whatever the cut.
``pool_scores`` scores a pool of candidate passages (the word BM25's top ``rag.retrieve.hybrid.BIGRAM_POOL``) by
BM25 over the question's distinct bigrams, with the pool's own statistics, at query time: no index is
built or stored, so ingest costs nothing more, and a pool of 100 passages costs about a millisecond.
"""

from __future__ import annotations

import unicodedata

import numpy as np

K1 = 1.2
B = 0.75
_CJK_LO, _CJK_HI = 0x4E00, 0x9FFF  # CJK Unified Ideographs (the documents' text after cleaning)
_SHIFT = np.uint64(21)  # a code point fits in 21 bits: key = first << 21 | second


def _codes(text: str) -> np.ndarray:
    """The code points of ``text`` as a uint32 array."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _is_cjk(codes: np.ndarray) -> np.ndarray:
    return (codes >= _CJK_LO) & (codes <= _CJK_HI)


def bigram_keys(text: str) -> np.ndarray:
    """The distinct Chinese-character bigrams of ``text`` (NFKC, lower-cased) as sorted uint64 keys
    (first code point << 21 | second); two characters form a bigram only when both are CJK unified
    ideographs and adjacent (punctuation, digits, Latin letters and whitespace break a run):
    "满分几分？" → the keys of 满分, 分几, 几分."""
    codes = _codes(unicodedata.normalize("NFKC", text).lower())
    if len(codes) < 2:
        return np.zeros(0, dtype=np.uint64)
    cjk = _is_cjk(codes)
    ok = cjk[:-1] & cjk[1:]
    keys = (codes[:-1].astype(np.uint64) << _SHIFT) | codes[1:].astype(np.uint64)
    return np.unique(keys[ok])


def pool_scores(texts: list[str], query: str) -> np.ndarray:
    """float64 array over ``texts`` (a candidate pool): the BM25 score of each text for the distinct
    bigrams of ``query`` (``bigram_keys``), with document frequencies, lengths and idf taken over the pool
    itself (k1 = 1.2, b = 0.75, Lucene idf ln(1 + (P − df + 0.5)/(df + 0.5)), P = len(texts)). ``texts``
    are taken as they are (cleaned chunk text: ``rag.cleaning`` unifies compatibility ideographs), the
    query NFKC-normalised. Zeros when
    the query has no bigram; an empty array for an empty pool. One pass of array operations over the
    pool's joined text (no loop over texts or characters)."""
    n = len(texts)
    query_keys = bigram_keys(query)
    if not n or not len(query_keys):
        return np.zeros(n, dtype=np.float64)
    codes = _codes("\n".join(texts))  # cleaned chunk text: compatibility ideographs already unified
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=n)
    row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)[:len(codes)]
    cjk = _is_cjk(codes)
    ok = cjk[:-1] & cjk[1:]  # the "\n" separator is no CJK character: no bigram spans two texts
    keys = ((codes[:-1].astype(np.uint64) << _SHIFT) | codes[1:].astype(np.uint64))[ok]
    rows = row_of[:-1][ok]
    doc_len = np.bincount(rows, minlength=n).astype(np.float64)
    pos = np.searchsorted(query_keys, keys)
    hit = pos < len(query_keys)
    hit[hit] = query_keys[pos[hit]] == keys[hit]
    q = len(query_keys)
    tf = np.bincount(rows[hit] * q + pos[hit], minlength=n * q).reshape(n, q).astype(np.float64)
    df = (tf > 0).sum(axis=0)
    idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
    norm = K1 * (1.0 - B + B * doc_len / max(float(doc_len.mean()), 1e-9))
    return (idf * tf * (K1 + 1.0) / (tf + norm[:, None])).sum(axis=1)
