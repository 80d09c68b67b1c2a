"""Pluggable embeddings (LangChain ``Embeddings`` interface).

* ``LSAEmbeddings`` — the offline default: TF-IDF over jieba words and Chinese character bigrams,
  reduced by truncated SVD (latent semantic analysis, Deerwester et al. 1990) to ``dim`` dimensions,
  L2-normalised so that the inner product is the cosine. Fitted on the corpus at ingest (NumPy and
  SciPy), persisted as one ``.npz`` beside the index, applied at query time with NumPy alone (no
  download, no model weights).
* ``openai_embeddings`` — any OpenAI-compatible ``/embeddings`` endpoint (model and base URL from
  ``Settings``), through ``langchain_openai.OpenAIEmbeddings``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.text import Tokenizer

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def _bigrams(text: str) -> list[str]:
    return ["#" + run[i:i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]


def lsa_features(text: str, tokenizer: Tokenizer) -> list[str]:
    """Features of one text: jieba tokens plus character bigrams of each run of Chinese characters
    (bigrams make paraphrases that share characters but not words meet, e.g. 钠电 / 钠离子电池)."""
    return tokenizer.tokens(text) + _bigrams(text)


GRAM_MAX_ROWS = 8000
"""Largest number of chunks fitted through the dense Gram matrix (8000² float64 ≈ 512 MB); larger fits use svds."""

class LSAEmbeddings(Embeddings):
    """Offline dense embeddings: TF-IDF (sublinear tf, smooth idf) → truncated SVD → L2 norm.

    ``vocab``: feature → column; ``idf``: float32, length V; ``components``: float32 (dim, V).
    ``embed_query``/``embed_documents`` return lists of ``dim`` floats, unit length (zero vector for a
    text with no known feature).
    """

    def __init__(self, vocab: dict[str, int], idf: np.ndarray, components: np.ndarray, tokenizer: Tokenizer):
        self.vocab = vocab
        self.idf = idf.astype(np.float32)
        self.components = components.astype(np.float32)
        self.tokenizer = tokenizer

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @classmethod
    def fit(cls, texts: list[str], tokenizer: Tokenizer, dim: int = 256,
            tokens: list[list[str]] | None = None) -> "LSAEmbeddings":
        """Fit on the corpus texts; ``tokens`` (the jieba tokens of each text) may be passed to avoid
        tokenising twice. ``dim`` is capped at ``len(texts) - 1``.

        TF-IDF as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``: tf = 1 + ln(count),
        idf = ln((1 + n) / (1 + df)) + 1, rows L2-normalised. The truncated SVD is computed exactly
        through the eigendecomposition of the n×n Gram matrix X·Xᵀ = U Σ² Uᵀ, so Vᵀ = Σ⁻¹ Uᵀ X
        (cheap because n, the number of chunks, is small); above ``GRAM_MAX_ROWS`` chunks (e.g. one
        document of millions of characters) it is computed by ARPACK (``scipy.sparse.linalg.svds``) on
        the sparse matrix, in memory linear in its size.
        """
        from scipy import sparse

        features = [(tokens[i] if tokens is not None else tokenizer.tokens(t)) + _bigrams(t)
                    for i, t in enumerate(texts)]
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for r, feats in enumerate(features):
            for f, c in Counter(feats).items():
                if not f:
                    continue
                rows.append(r)
                cols.append(vocab.setdefault(f, len(vocab)))
                vals.append(1.0 + np.log(c))
        n = len(texts)
        matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)), dtype=np.float64)
        df = np.bincount(matrix.indices, minlength=len(vocab))
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        matrix = matrix @ sparse.diags(idf)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        matrix = sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ matrix
        if n > GRAM_MAX_ROWS:  # the dense n×n Gram matrix would cost O(n²) memory and O(n³) time
            from scipy.sparse.linalg import svds

            k = max(1, min(dim, n - 1, len(vocab) - 1))
            _u, sigma, vt = svds(matrix, k=k, random_state=0)
            return cls(vocab, idf, vt[np.argsort(sigma)[::-1]], tokenizer)
        gram = (matrix @ matrix.T).toarray()
        eigvals, eigvecs = np.linalg.eigh(gram)
        order = np.argsort(eigvals)[::-1][: max(1, min(dim, n - 1))]
        sigma = np.sqrt(np.clip(eigvals[order], 1e-12, None))
        components = (sparse.csr_matrix(eigvecs[:, order].T / sigma[:, None]) @ matrix).toarray()
        return cls(vocab, idf, components, tokenizer)

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

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t).tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text).tolist()

    def save(self, path: Path) -> None:
        """Write one ``.npz`` (terms, idf, components)."""
        terms = np.empty(len(self.vocab), dtype=object)
        for term, i in self.vocab.items():
            terms[i] = term
        np.savez(path, terms=np.array(terms.tolist(), dtype=str), idf=self.idf, components=self.components)

    @classmethod
    def load(cls, path: Path, tokenizer: Tokenizer) -> "LSAEmbeddings":
        with np.load(path, allow_pickle=False) as data:
            vocab = {str(t): i for i, t in enumerate(data["terms"])}
            return cls(vocab, data["idf"], data["components"], tokenizer)


def openai_embeddings(model: str, base_url: str | None, api_key: str | None, timeout: float = 30.0) -> Embeddings:
    """Embeddings from an OpenAI-compatible server (OpenAI, DeepSeek, Qwen, vLLM, Ollama …)."""
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(model=model, base_url=base_url, api_key=api_key or "not-needed",
                            check_embedding_ctx_length=False, timeout=timeout, max_retries=2)
