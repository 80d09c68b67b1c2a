"""The lexical side of a new index generation: each chunk's jieba tokens as vocabulary ids (reusing the
previous generation's tokens.npz rows for unchanged text, cutting the rest in this process or in the
worker processes of ``rag.index.workers``), the BM25 index over them (bm25s, built from the arrays at
once) and the document frequencies written to df.json.

Used by ``rag.index.generation._build_generation`` (the ingest of ``rag.index.build``); pure functions of
their inputs apart from reading the previous generation's tokens.npz.
"""

from __future__ import annotations

from rag.index.store import userdict_path
from rag.index.workers import PARALLEL_MIN_CHUNKS, TOKEN_BATCH, chunk_tokens, tokenize_lines
from rag.text import Tokenizer


def _text_key(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _tokens(settings, chunks, texts, prev_gen, progress, lines=None, workers=None, reuse=None, prev=None):
    """Each chunk's jieba tokens as vocabulary ids: ``(vocab list, flat int32 ids, int64 offsets, keys,
    previous tokens.npz arrays or None)``. Chunks whose indexed text (``keys``: its sha1) was tokenised
    in the previous generation reuse those tokens; only the others are tokenised. A chunk without
    tokens gets the empty token "" (BM25 needs one per row). The vocabulary keeps only used tokens.

    ``texts`` and ``lines`` may be sequences or callables row → value (computed only for the rows
    tokenised or keyed here). ``reuse`` (optional int array, one per chunk): the previous generation's
    row holding this chunk unchanged (same chunk, document metadata and so indexed text), or -1; such
    rows take that row's key and tokens without hashing their text. ``prev``: the previous
    generation's tokens.npz arrays when already loaded (else read from ``prev_gen``).

    ``lines``: per chunk, the lines its indexed text joins with "\\n" (``rag.index.store.indexed_parts``).
    jieba never cuts across a line break (it cuts runs of Han characters, letters and digits; NFKC and
    lower-casing stop there too), so a text's tokens are its lines' tokens in order: the lines before
    the passage (title, region, section path, table header), repeated over a document's chunks, are
    tokenised once each (a tenth to a third of the characters of a regulation's articles).
    ``workers`` (``rag.index.workers.Workers``): at least ``PARALLEL_MIN_CHUNKS`` chunks (more than
    ``TOKEN_BATCH`` when its processes already run) are cut in its processes, in batches of
    ``TOKEN_BATCH``; the results are the same."""
    import numpy as np

    from rag.index.store import TOKENS_FILE, load_tokens

    text_of = texts if callable(texts) else texts.__getitem__
    line_of = None if lines is None else (lines if callable(lines) else lines.__getitem__)
    if prev is None and prev_gen is not None:
        try:
            prev = load_tokens(prev_gen / TOKENS_FILE)
        except (OSError, ValueError, KeyError):
            prev = None
    if prev is None or reuse is None:
        reuse = np.full(len(chunks), -1, dtype=np.int64)
    prev_keys = prev["keys"].tolist() if prev is not None else []
    keys = [prev_keys[j] if j >= 0 else _text_key(text_of(i)) for i, j in enumerate(reuse.tolist())]
    vocab: list[str] = prev["vocab"].tolist() if prev is not None else []
    position = {t: i for i, t in enumerate(vocab)}
    src = reuse.astype(np.int64)  # per chunk: the previous generation's row with the same key, or -1
    rest = np.flatnonzero(src < 0).tolist()
    prev_rows = {k: i for i, k in enumerate(prev_keys)} if rest and prev_keys else {}
    todo = []
    for i in rest:
        j = prev_rows.get(keys[i])
        if j is None:
            todo.append(i)
        else:
            src[i] = j
    new_parts: dict[int, object] = {}
    userdict = userdict_path(settings)
    batches = [[line_of(i) if line_of is not None else [text_of(i)] for i in todo[at:at + TOKEN_BATCH]]
               for at in range(0, len(todo), TOKEN_BATCH)]
    if workers is not None and workers.n > 1 and (len(todo) >= PARALLEL_MIN_CHUNKS
                                                  or (workers.started and len(todo) > TOKEN_BATCH)):
        joined = workers.map(tokenize_lines, [(str(userdict) if userdict else None, b) for b in batches], True,
                             progress, "分词", len(batches))
        cut = (t.split("\n") if t else [] for part in joined for t in part)
    else:
        tokenizer = Tokenizer(userdict)
        cut = (words for batch in progress(batches, "分词", len(batches)) for words in chunk_tokens(tokenizer, batch))
    for i, words in zip(todo, cut):
        words = words or [""]
        new_parts[i] = np.fromiter((position.setdefault(w, len(position)) for w in words), dtype=np.int32,
                                   count=len(words))
    vocab.extend(list(position)[len(vocab):])
    lengths = np.zeros(len(chunks), dtype=np.int64)
    have = src >= 0
    if prev is not None and have.any():
        prev_ids, prev_off = prev["ids"], prev["offsets"]
        lengths[have] = prev_off[src[have] + 1] - prev_off[src[have]]
    for i, got in new_parts.items():
        lengths[i] = len(got)
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    pieces = []  # runs of consecutive previous rows are copied as one slice
    run_start = run_end = -1
    for i, j in enumerate(src.tolist()):
        if j >= 0:
            if j == run_end:
                run_end += 1
                continue
            if run_start >= 0:
                pieces.append(prev_ids[prev_off[run_start]:prev_off[run_end]])
            run_start, run_end = j, j + 1
            continue
        if run_start >= 0:
            pieces.append(prev_ids[prev_off[run_start]:prev_off[run_end]])
        run_start = run_end = -1
        pieces.append(new_parts[i])
    if run_start >= 0:
        pieces.append(prev_ids[prev_off[run_start]:prev_off[run_end]])
    flat = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, dtype=np.int32)
    used = np.bincount(flat, minlength=len(vocab)) > 0
    if not used.all():  # tokens of chunks no longer indexed leave the vocabulary
        remap = (np.cumsum(used) - 1).astype(np.int32)
        flat = remap[flat]
        vocab = [t for t, u in zip(vocab, used) if u]
    return vocab, flat, offsets, keys, prev, len(todo)


def _bm25_index(bm25s, vocab: list[str], flat, offsets, counts=None):
    """A ``bm25s.BM25(k1=1.2, b=0.75)`` (Lucene scoring, NumPy CSC backend) over the chunks whose token ids
    are ``flat[offsets[i]:offsets[i + 1]]`` (ids into ``vocab``) — the index ``BM25.index((id lists,
    vocab dict))`` builds, with the same float32 scores and CSC arrays, computed over the arrays at once
    instead of a Counter per chunk (whole LawRefBook corpus, 164 k chunks: ~6 s → well under 1 s). The
    term frequencies come from a chunk × token CSR matrix; each score is bm25s's
    ``idf · tf / (k1 · (1 − b + b · len / avg_len) + tf)`` in float64 with the idf rounded to float32 first,
    as bm25s computes it (``_score_idf_lucene`` with ``math.log``, ``_score_tfc_robertson``). ``counts``:
    ``_token_counts`` of the same chunks when already computed."""
    import math

    import numpy as np
    import scipy.sparse

    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    if bm25.method != "lucene" or bm25.idf_method != "lucene" or bm25.csc_backend != "numpy":
        raise RuntimeError(f"bm25s defaults changed ({bm25.method}, {bm25.csc_backend}): update _bm25_index")
    n, n_vocab = len(offsets) - 1, len(vocab)
    vocab_dict = {t: i for i, t in enumerate(vocab)}
    lengths = np.diff(np.asarray(offsets, dtype=np.int64))
    avg_len = lengths.mean() if n else np.float64("nan")
    matrix = _token_counts(n_vocab, flat, offsets) if counts is None else counts
    rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(matrix.indptr))
    cols = matrix.indices.astype(np.int32)
    df = np.bincount(cols, minlength=n_vocab)
    idf = np.zeros(n_vocab, dtype=bm25.dtype)
    for token, count in enumerate(df.tolist()):
        if count:
            idf[token] = math.log(1 + (n - count + 0.5) / (count + 0.5))
    k1, b = bm25.k1, bm25.b
    # the same IEEE operations, in the same order, as k1 * ((1 - b) + b * int(length) / avg_len) per chunk
    doc_part = k1 * ((1 - b) + b * lengths.astype(np.float64) / avg_len)
    tf = matrix.data.astype(bm25.dtype).astype(np.float64)
    scores = (idf[cols].astype(np.float64) * (tf / (doc_part[rows] + tf))).astype(bm25.dtype)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    # column-major order, rows ascending within a column: SciPy's CSR → CSC conversion (a counting sort,
    # stable over the row-ordered entries) instead of an argsort of (column, row) keys
    csc = scipy.sparse.csr_matrix((scores, cols, matrix.indptr), shape=matrix.shape).tocsc()
    bm25.scores = {"data": np.asarray(csc.data, dtype=bm25.dtype), "indices": csc.indices.astype(np.int32),
                   "indptr": indptr, "num_docs": n}
    bm25.nonoccurrence_array = None
    if "" not in vocab_dict:
        vocab_dict[""] = max(vocab_dict.values()) + 1
    bm25.vocab_dict = vocab_dict
    bm25.unique_token_ids_set = set(vocab_dict.values())
    return bm25


def _token_counts(n_vocab: int, flat, offsets):
    """The chunk × token count matrix (scipy CSR, int64, duplicates merged: each row's column indices are
    its chunk's distinct token ids, ascending) of the chunks ``flat[offsets[i]:offsets[i + 1]]``. Copies
    its inputs: merging sorts the index arrays in place, and ``flat`` is written to tokens.npz."""
    import numpy as np
    import scipy.sparse

    matrix = scipy.sparse.csr_matrix((np.ones(len(flat), dtype=np.int64), np.array(flat, dtype=np.int32),
                                      np.array(offsets, dtype=np.int64)), shape=(len(offsets) - 1, max(n_vocab, 1)))
    matrix.sum_duplicates()  # a sort per row (np.unique over all 13.6 M tokens of LawRefBook took 7.3 s, this 0.4 s)
    return matrix


def _document_frequencies_ids(vocab: list[str], flat, offsets, counts=None) -> dict:
    """Token → number of chunks containing it (the empty token left out), plus ``"__N__"``; ``counts``:
    ``_token_counts`` of the same chunks when already computed."""
    import numpy as np

    counts = _token_counts(len(vocab), flat, offsets) if counts is None else counts
    df = np.bincount(counts.indices, minlength=len(vocab))
    return {"__N__": len(offsets) - 1, **{vocab[i]: int(c) for i, c in enumerate(df) if c and vocab[i]}}
