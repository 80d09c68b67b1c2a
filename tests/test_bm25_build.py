"""The BM25 index written at ingest (rag.index.build._bm25_index, computed over the token arrays at once) is the
index bm25s builds from the same token ids (``BM25.index((id lists, vocab))``), file for file."""

from __future__ import annotations

import filecmp

import numpy as np

from rag import imports
from rag.index.build import _bm25_index


def test_vectorised_bm25_index_equals_bm25s_own(tmp_path):
    bm25s = imports.bm25s()
    vocab = ["", "数据", "条例", "罚款", "企业", "服务", "本市", "施行"]
    rng = np.random.default_rng(7)
    docs = [rng.integers(1, len(vocab), size=int(rng.integers(1, 40))).tolist() for _ in range(60)]
    docs[5] = [3, 3, 3, 3]  # repeated tokens
    docs[9] = []  # a chunk without tokens
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in docs])]).astype(np.int64)
    flat = np.array([t for d in docs for t in d], dtype=np.int32)

    own = bm25s.BM25(k1=1.2, b=0.75)
    own.index((docs, {t: i for i, t in enumerate(vocab)}), show_progress=False)
    own.save(str(tmp_path / "own"))
    _bm25_index(bm25s, vocab, flat, offsets).save(str(tmp_path / "ours"))
    names = sorted(p.name for p in (tmp_path / "own").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "ours").iterdir())
    for name in names:
        assert filecmp.cmp(tmp_path / "own" / name, tmp_path / "ours" / name, shallow=False), name
    assert flat.tolist() == [t for d in docs for t in d]  # the caller's token array is not reordered
