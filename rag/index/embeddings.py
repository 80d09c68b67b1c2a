"""Pluggable embeddings (LangChain ``Embeddings`` interface).

* ``LSAEmbeddings`` — the offline default: TF-IDF over jieba words and Chinese character bigrams,
  reduced by truncated SVD (latent semantic analysis, Deerwester et al. 1990) to ``dim`` dimensions,
  L2-normalised so that the inner product is the cosine. Fitted on the corpus at ingest (NumPy and
  SciPy), persisted as one ``.npz`` beside the index, applied at query time with NumPy alone (no
  download, no model weights).
* ``openai_embeddings`` — any OpenAI-compatible ``/embeddings`` endpoint (model and base URL from
  ``Settings``), through ``langchain_openai.OpenAIEmbeddings``.

The embedder of an index is chosen by name (``Settings.embeddings``, ``RAG_EMBEDDINGS``) through a small
registry: ``embedder_spec(name)`` gives the ``EmbedderSpec`` (how to make the embedder for the settings,
whether it is fitted at ingest, its model label for the index fingerprint); ``register_embedder`` adds
one, e.g. a local sentence-embedding model::

    register_embedder("bge", make=lambda settings, gen_dir, tokenizer: MyBgeEmbeddings(),
                      label=lambda settings: "BAAI/bge-small-zh-v1.5")
    PolicyQA(settings, embedder="bge", auto_ingest=True)   # or RAG_EMBEDDINGS=bge, then `rag ingest --replace`

``lsa`` (fitted, the default) and ``openai`` are registered here.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from rag.errors import ConfigError
from rag.settings import LSA_DENSE_WEIGHT
from rag.text import Tokenizer

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from rag.settings import Settings

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def _bigrams(text: str) -> list[str]:
    return ["#" + run[i:i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]


def lsa_features(text: str, tokenizer: Tokenizer) -> list[str]:
    """Features of one text: jieba tokens plus character bigrams of each run of Chinese characters
    (bigrams make paraphrases that share characters but not words meet, e.g. 钠电 / 钠离子电池)."""
    return tokenizer.tokens(text) + _bigrams(text)


GRAM_MAX_ROWS = 2000
"""Largest number of fitted chunks whose SVD is computed exactly through the dense Gram matrix
(2000² float64 = 32 MB); larger fits use a randomized truncated SVD of the sparse matrix."""

FIT_MAX_ROWS = 20000
"""Largest number of chunks the LSA model is fitted on: a larger corpus is fitted on a deterministic
random sample of this many chunks (time ~ nnz·dim, memory ~ (rows + features)·dim) and every chunk is
projected with the fitted model."""

MAX_FEATURES = 120000
"""Largest vocabulary of a model fitted on more than ``GRAM_MAX_ROWS`` chunks: features seen in at least
two fitted chunks, the most frequent first (components are dim × features float32: ≤ 123 MB at dim 256)."""


def _limit_blas():
    """A context that keeps BLAS (OpenBLAS/MKL) to one thread: on a machine whose cores are busy, BLAS
    threads spinning against each other made a 900×900 eigendecomposition ten times slower."""
    import scipy.linalg  # noqa: F401 - load SciPy's own BLAS first: threadpoolctl limits loaded libraries only

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(1)


def randomized_svd(matrix, k: int, n_oversamples: int = 256, n_iter: int = 4, seed: int = 0):
    """Top-``k`` truncated SVD of a (sparse or dense) n×V ``matrix`` with n ≤ V (chunks × features):
    ``(U (n, k), sigma (k,), Vt (k, V))``, sigma descending. Randomized range finder with ``n_iter`` power
    iterations, re-orthonormalised on the row side (Halko, Martinsson & Tropp 2011, Algorithms 4.4 and
    5.1 — the method of scikit-learn's ``randomized_svd``); the small factor B = Qᵀ·A is decomposed
    through its w×w Gram matrix B·Bᵀ (w = k + n_oversamples), so that no V-sized QR or SVD is needed.
    Time ~ nnz·w·(2·n_iter + 2) + (n + V)·w², memory ~ (n + V)·w; the passes over the matrix run in float32.
    Deterministic for a given ``seed``. ``n_oversamples`` 64 would fit 8.5 k chunks in 3.3 s instead of
    5.3 s with the same self-retrieval (R@10 0.927 on 300 sentences), but it moved the smaller components
    enough (least principal-angle cosine 0.19 on the 6.4 k chunks of lawref-dev) to lower external dev
    key facts 0.917 → 0.896: 256 stays.
    Raises ValueError when k < 1."""
    from scipy import linalg

    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    n, v = matrix.shape
    width = min(k + n_oversamples, n, v)
    rng = np.random.default_rng(seed)
    matrix = matrix.astype(np.float32)  # the passes over the matrix in single precision: half the memory traffic
    q = np.asarray(matrix @ rng.standard_normal((v, width), dtype=np.float32))
    q, _ = linalg.qr(q, mode="economic", check_finite=False)
    for _ in range(n_iter):
        q, _ = linalg.qr(np.asarray(matrix @ np.asarray(matrix.T @ q)), mode="economic", check_finite=False)
    b = np.asarray(matrix.T @ q, dtype=np.float64).T  # width × V, B = Qᵀ A
    q = q.astype(np.float64)
    eigvals, eigvecs = linalg.eigh(b @ b.T, check_finite=False)
    order = np.argsort(eigvals)[::-1][:min(k, width)]
    sigma = np.sqrt(np.clip(eigvals[order], 1e-24, None))
    vt = (eigvecs[:, order].T @ b) / sigma[:, None]
    return q @ eigvecs[:, order], sigma, vt


def sample_rows(n: int, cap: int, seed: int = 0) -> np.ndarray:
    """Sorted row indices: all ``n`` rows when n ≤ cap, else a deterministic random ``cap`` of them."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))


def _flat_features(pairs) -> tuple[list[str], list[int]]:
    """All LSA features of many chunks in one list, and each chunk's count: for each ``(tokens, text)``
    the non-empty jieba tokens then the character bigrams of ``text``."""
    flat: list[str] = []
    lengths: list[int] = []
    for toks, text in pairs:
        before = len(flat)
        flat.extend(t for t in toks if t)
        flat.extend(_bigrams(text))
        lengths.append(len(flat) - before)
    return flat, lengths


class LSAEmbeddings:
    """Offline dense embeddings: TF-IDF (sublinear tf, smooth idf) → truncated SVD → L2 norm.

    It implements LangChain's ``Embeddings`` interface (``embed_documents``, ``embed_query`` and their
    async forms) without deriving from it: importing ``langchain_core.embeddings`` (its callbacks and
    pydantic models) cost a new process ~0.3 s before its first answer, and LangChain's ``Chroma`` only
    calls these methods.

    ``vocab``: feature → column; ``idf``: float32, length V; ``components``: float32 (dim, V);
    ``info``: how the model was fitted — ``id`` (unique per fit), ``fitted`` (ISO time), ``fit_rows``
    (chunks fitted on), ``corpus_rows`` (chunks of the corpus then), ``method`` ("gram" or "randomized").
    ``embed_query``/``embed_documents`` return lists of ``dim`` floats, unit length (zero vector for a
    text with no known feature); ``embed_features`` embeds many chunks at once as a float32 matrix.
    Right after ``fit``: ``fit_rows`` (the fitted rows of the texts, ascending) and ``fit_vectors``
    (their vectors, float32, as ``embed_features`` gives them) — the ingest stores them without
    computing them again.
    """

    def __init__(self, vocab: dict[str, int], idf: np.ndarray, components: np.ndarray, tokenizer: Tokenizer,
                 info: dict | None = None):
        self.vocab = vocab
        self.idf = idf.astype(np.float32)
        self.components = np.ascontiguousarray(components, dtype=np.float32)
        self.tokenizer = tokenizer
        self.info = dict(info or {})

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @classmethod
    def fit(cls, texts: list[str], tokenizer: Tokenizer, dim: int = 256,
            tokens: list[list[str]] | None = None, max_rows: int = FIT_MAX_ROWS) -> "LSAEmbeddings":
        """Fit on the corpus texts; ``tokens`` (the jieba tokens of each text) may be passed to avoid
        tokenising again. ``dim`` is capped at the number of fitted rows − 1. With more than ``max_rows``
        texts the model is fitted on a deterministic random sample of ``max_rows`` of them.

        TF-IDF as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``: tf = 1 + ln(count),
        idf = ln((1 + n) / (1 + df)) + 1, rows L2-normalised. Up to ``GRAM_MAX_ROWS`` fitted rows the
        truncated SVD is exact, through the eigendecomposition of the n×n Gram matrix X·Xᵀ = U Σ² Uᵀ
        (Vᵀ = Σ⁻¹ Uᵀ X); above, the vocabulary is the features of at least two fitted chunks (at most
        ``MAX_FEATURES``, most frequent first) and the SVD is ``randomized_svd`` of the sparse matrix.
        """
        import time as _time

        from scipy import sparse

        rows = sample_rows(len(texts), max_rows)
        flat, lengths = _flat_features((tokens[i] if tokens is not None else tokenizer.tokens(texts[i]), texts[i])
                                       for i in rows)
        n = len(rows)
        big = n > GRAM_MAX_ROWS
        # intern the features in order of first appearance (C-level map: no Python loop per occurrence)
        table: dict[str, int] = {}
        raw = np.fromiter(map(table.setdefault, flat, itertools.count()), dtype=np.int64, count=len(flat))
        first, cols = np.unique(raw, return_inverse=True)
        by_raw = {v: f for f, v in table.items()}
        names = [by_raw[int(r)] for r in first]
        row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
        counts = sparse.csr_matrix((np.ones(len(cols)), (row_of, cols.ravel())), shape=(n, len(names)))
        counts.sum_duplicates()
        n_occurrences = len(flat)
        if big:
            df_all = np.bincount(counts.indices, minlength=len(names))
            candidates = np.flatnonzero(df_all >= 2)
            keep = candidates[np.argsort(-df_all[candidates], kind="stable")[:MAX_FEATURES]]
            keep.sort()
            counts = counts[:, keep].tocsr()
            names = [names[i] for i in keep]
        vocab = {f: i for i, f in enumerate(names)}
        matrix = counts.astype(np.float64)
        matrix.data = 1.0 + np.log(matrix.data)
        df = np.bincount(matrix.indices, minlength=len(vocab))
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        matrix = matrix @ sparse.diags(idf)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        matrix = (sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ matrix).tocsr()
        info = {"id": f"{_time.time_ns():x}", "fitted": _time.strftime("%Y-%m-%dT%H:%M:%S"), "fit_rows": n,
                "corpus_rows": len(texts), "features": len(vocab), "method": "randomized" if big else "gram",
                # share of the fitted chunks' feature occurrences left out of the vocabulary (rare features)
                "fit_oov": round(1.0 - float(counts.sum()) / n_occurrences, 4) if n_occurrences else 0.0}
        with _limit_blas():
            if big:
                k = max(1, min(dim, n - 1, len(vocab) - 1))
                _u, _sigma, components = randomized_svd(matrix, k)
            else:
                gram = (matrix @ matrix.T).toarray()
                eigvals, eigvecs = np.linalg.eigh(gram)
                order = np.argsort(eigvals)[::-1][: max(1, min(dim, n - 1))]
                sigma = np.sqrt(np.clip(eigvals[order], 1e-12, None))
                components = (sparse.csr_matrix(eigvecs[:, order].T / sigma[:, None]) @ matrix).toarray()
            model = cls(vocab, idf, components, tokenizer, info)
            vectors = np.asarray(matrix @ model.components.T.astype(np.float64), dtype=np.float32)
        lengths_v = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.where(lengths_v > 0, lengths_v, 1.0)
        model.fit_rows, model.fit_vectors = rows, vectors
        return model

    def _vector(self, text: str) -> np.ndarray:
        counts = Counter(f for f in lsa_features(text, self.tokenizer) if f in self.vocab)
        if not counts:
            return np.zeros(self.dim, dtype=np.float32)
        cols = np.fromiter((self.vocab[f] for f in counts), dtype=np.int64, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
        weights = tf * self.idf[cols]
        weights /= np.linalg.norm(weights) or 1.0
        vec = self.components[:, cols] @ weights
        norm = np.linalg.norm(vec)
        return vec / norm if norm > 0 else vec

    def embed_features(self, tokens: list[list[str]], texts: list[str]) -> tuple[np.ndarray, float]:
        """Vectors of many chunks at once from their stored jieba ``tokens`` and indexed ``texts`` (for
        the character bigrams): float32 (len(texts), dim), unit rows (zero rows for chunks without a
        known feature), the same as ``embed_documents`` without tokenising again. Also returns the share
        of the chunks' feature occurrences that are out of the model's vocabulary (0..1; drift)."""
        from scipy import sparse

        flat, lengths = _flat_features(zip(tokens, texts))
        cols = np.fromiter(map(self.vocab.get, flat, itertools.repeat(-1)), dtype=np.int64, count=len(flat))
        row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        known_mask = cols >= 0
        total, known = len(flat), int(known_mask.sum())
        matrix = sparse.csr_matrix((np.ones(known, dtype=np.float32), (row_of[known_mask], cols[known_mask])),
                                   shape=(len(texts), len(self.vocab)))
        matrix.sum_duplicates()
        matrix.data = (1.0 + np.log(matrix.data)).astype(np.float32)
        matrix = (matrix @ sparse.diags(self.idf)).tocsr()
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        matrix = (sparse.diags((1.0 / np.where(norms > 0, norms, 1.0)).astype(np.float32)) @ matrix).tocsr()
        with _limit_blas():
            vectors = np.asarray(matrix @ self.components.T, dtype=np.float32)
        lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.where(lengths > 0, lengths, 1.0)
        return vectors, (1.0 - known / total) if total else 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t).tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text).tolist()

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """``embed_documents`` for async callers (NumPy only: no I/O to wait for)."""
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        """``embed_query`` for async callers (NumPy only: no I/O to wait for)."""
        return self.embed_query(text)

    def save(self, path: Path) -> None:
        """Write one ``.npz`` (terms, idf, components, info as JSON)."""
        import json

        terms = np.empty(len(self.vocab), dtype=object)
        for term, i in self.vocab.items():
            terms[i] = term
        with open(path, "wb") as fh:  # a file object: np.savez would append ".npz" to a path without it
            np.savez(fh, terms=np.array(terms.tolist(), dtype=str), idf=self.idf, components=self.components,
                     info=np.array(json.dumps(self.info)))

    @classmethod
    def load(cls, path: Path, tokenizer: Tokenizer) -> "LSAEmbeddings":
        """Read a model written by ``save`` (models saved before ``info`` existed load with info {})."""
        import json

        with np.load(path, allow_pickle=False) as data:
            vocab = {str(t): i for i, t in enumerate(data["terms"])}
            info = json.loads(str(data["info"])) if "info" in data.files else {}
            return cls(vocab, data["idf"], data["components"], tokenizer, info)


def openai_embeddings(model: str, base_url: str | None, api_key: str | None, timeout: float = 30.0) -> "Embeddings":
    """Embeddings from an OpenAI-compatible server (OpenAI, DeepSeek, Qwen, vLLM, Ollama …)."""
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(model=model, base_url=base_url, api_key=api_key or "not-needed",
                            check_embedding_ctx_length=False, timeout=timeout, max_retries=2)


@dataclass(frozen=True)
class EmbedderSpec:
    """How an index gets its embedder, registered under ``name`` (the value of ``Settings.embeddings``).

    ``make(settings, gen_dir, tokenizer)`` → a LangChain ``Embeddings`` (``embed_documents(texts)`` →
    list of float vectors, ``embed_query(text)`` → one vector, all of one length): the embedder of the
    generation in ``gen_dir`` (a ``Path``; for a fitted embedder it holds ``file``, which ``make`` loads).
    ``label(settings)`` → the model label written into the index fingerprint (``embedding_model``): a
    change of label re-indexes everything. ``fitted``: the model is fitted on the corpus at ingest
    (like LSA) and persisted in each generation as ``file``; then ``fit(texts, tokenizer, tokens=...)``
    must return a model with LSAEmbeddings' ingest interface (``save(path)``, ``embed_features``,
    ``dim``, ``info["id"]``, ``fit_rows``/``fit_vectors``) — its vectors go into the collection
    ``chunks_<info id>``. An embedder that is not fitted embeds the chunks with ``embed_documents``;
    its vectors go into the collection ``chunks_<sha1 of key(settings)>`` (default key: name and
    label), shared by every generation made with the same key. ``fusion_weight``: the reciprocal-rank-fusion
    weight of this embedder's dense ranking beside BM25's 1 when ``Settings.dense_weight`` is unset
    (``rag.retrieve.hybrid.dense_fusion_weight``): 1 for an embedding model, ``rag.settings.LSA_DENSE_WEIGHT``
    for the offline LSA.
    """

    name: str
    make: Callable[["Settings", "Path | None", Tokenizer], "Embeddings"]
    label: Callable[["Settings"], str]
    fitted: bool = False
    file: str | None = None
    fit: Callable | None = None
    key: Callable[["Settings"], str] | None = None
    fusion_weight: float = 1.0

    def collection_key(self, settings: "Settings") -> str:
        """What identifies the vectors of an embedder that is not fitted (hashed into the collection name)."""
        return self.key(settings) if self.key is not None else f"{self.name}|{self.label(settings)}"


_EMBEDDERS: dict[str, EmbedderSpec] = {}


def register_embedder(name: str | EmbedderSpec, make=None, *, label=None, fitted: bool = False,
                      file: str | None = None, fit=None, key=None, fusion_weight: float = 1.0) -> EmbedderSpec:
    """Register an embedder under ``name`` (lower case; replaces one of the same name) and return its
    ``EmbedderSpec``; or register a ready ``EmbedderSpec`` passed as ``name``. ``make``/``label``/``fit``/
    ``key``/``fusion_weight`` as in ``EmbedderSpec`` (``label`` defaults to the name). Raises ConfigError when the name is
    empty or has upper-case letters, or a fitted embedder lacks ``file`` or ``fit``."""
    if isinstance(name, EmbedderSpec):
        spec = name
    else:
        if make is None:
            raise ConfigError(f"embedder {name!r}: make(settings, gen_dir, tokenizer) is required")
        spec = EmbedderSpec(name=name, make=make, label=label or (lambda settings, _n=name: _n), fitted=fitted,
                            file=file, fit=fit, key=key, fusion_weight=fusion_weight)
    if not spec.name or spec.name != spec.name.lower():
        raise ConfigError(f"embedder name {spec.name!r}: use a non-empty lower-case name")
    if spec.fitted and (not spec.file or spec.fit is None):
        raise ConfigError(f"embedder {spec.name!r}: a fitted embedder needs file and fit")
    _EMBEDDERS[spec.name] = spec
    return spec


def registered_embedders() -> list[str]:
    """The registered embedder names, in order of registration."""
    return list(_EMBEDDERS)


def embedder_spec(name: str) -> EmbedderSpec:
    """The ``EmbedderSpec`` registered as ``name``. Raises ConfigError (one line naming the registered
    ones) for an unknown name."""
    spec = _EMBEDDERS.get(name)
    if spec is None:
        raise ConfigError(f"RAG_EMBEDDINGS={name!r}: unknown embedder; registered: {', '.join(_EMBEDDERS)}")
    return spec


register_embedder("lsa", lambda settings, gen_dir, tokenizer: LSAEmbeddings.load(gen_dir / "lsa.npz", tokenizer),
                  label=lambda settings: "lsa", fitted=True, file="lsa.npz",
                  fit=lambda texts, tokenizer, **kwargs: LSAEmbeddings.fit(texts, tokenizer, **kwargs),
                  fusion_weight=LSA_DENSE_WEIGHT)
register_embedder("openai", lambda settings, gen_dir, tokenizer: openai_embeddings(
                      settings.embedding_model, settings.embedding_base_url, settings.llm_api_key),
                  label=lambda settings: settings.embedding_model,
                  key=lambda settings: f"{settings.embedding_model}|{settings.embedding_base_url or ''}")
