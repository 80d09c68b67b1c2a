"""One settings object for the whole library, read from ``RAG_*`` environment variables.

Importing this module creates no folders and changes no environment; ``Settings.from_env()`` only
reads. Parts of the library receive a ``Settings`` (or the values they need) as arguments.

Environment variables (all optional):

=========================  ======================================================  =====================
variable                   meaning                                                 default
=========================  ======================================================  =====================
RAG_DATA_DIR               all index state (Chroma, BM25, embedder, feedback)      ``~/.local/share/policy-rag``
RAG_CORPUS_DIR             the bundled corpus (``manifest.json`` + ``docs/``)      ``<repo>/corpus``
RAG_CHROMA_HOST/PORT       use a Chroma server (``chroma run``) instead of the     unset (embedded)
                           embedded ``PersistentClient``
RAG_EMBEDDINGS             ``lsa`` (offline, fitted at ingest), ``openai`` or a    ``lsa``
                           name registered with ``rag.index.embeddings.register_embedder``
RAG_EMBEDDING_MODEL        model name for ``openai`` embeddings                    ``text-embedding-3-small``
RAG_EMBEDDING_BASE_URL     base URL of the embeddings endpoint                     ``OPENAI_BASE_URL``
RAG_LLM_MODEL              chat model; an LLM is used when ``OPENAI_API_KEY`` or   ``gpt-4o-mini``
                           ``OPENAI_BASE_URL`` is set (``RAG_LLM=off`` disables)
RAG_LLM_TIMEOUT            seconds per LLM request                                 ``30``
RAG_LLM_MAX_RETRIES        retries after the first failed LLM request              ``2``
RAG_LLM_BUDGET             total seconds the LLM may take per question (requests,  ``30``
                           retries, Retry-After waits); then the extractive answer
RAG_QUERY_REWRITE          ``auto`` (rewrite questions with the configured LLM),   ``auto``
                           ``on`` or ``off``; offline the concept expansion stays
RAG_RERANK_BASE_URL        base URL of a ``/rerank`` server (Jina/Cohere shape:    unset (no reranking)
                           vLLM, Xinference, Jina, Cohere)
RAG_RERANK_MODEL           reranker model name sent to ``/rerank``                 ``bge-reranker-v2-m3``
RAG_RERANK_API_KEY         bearer token of the rerank server (optional)            unset
RAG_RERANK_TIMEOUT         seconds per rerank request (also within RAG_LLM_BUDGET) ``10``
RAG_RERANK_TOP_N           fused candidates sent to the reranker                   ``20``
RAG_DENSE_WEIGHT           reciprocal-rank-fusion weight of the dense ranking      ``0`` with ``lsa``,
                           beside BM25's 1 (hybrid retrieval)                      ``1`` with ``openai``
RAG_CHUNK_TOKENS           maximum chunk size in cl100k tokens                     ``320``
RAG_TOP_K                  passages returned by default                            ``5``
RAG_MAX_QUESTION_CHARS     longest accepted question, in characters                ``500``
RAG_MAX_DOCUMENT_CHARS     longest document accepted at ingest, in characters      ``4000000``
RAG_MAX_EXPANDED_MB        largest expanded size of a DOCX's zip members, in MiB   ``64``
RAG_MAX_ZIP_RATIO          largest expansion ratio of a DOCX zip member > 1 MiB    ``100``
RAG_INGEST_WAIT            seconds an ingest waits for another one to finish       ``600``
                           (``rag.index.store.ingest_lock``), then gives up
=========================  ======================================================  =====================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The repository root (the package is installed in editable mode)."""
DATA_DIR = Path(__file__).resolve().parent / "data"
"""The package's data files (``rag/data``: place aliases, the English–Chinese glossary)."""


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "policy-rag"


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer; set it to a whole number") from None


def _float(env: dict, name: str, default: float | None) -> float | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to a decimal number, e.g. 30 or 0.5") from None


LSA_DENSE_WEIGHT = 0.0
"""RRF weight of the offline LSA embedder's dense ranking: 0, so that it only orders the chunks BM25 did not
rank (fusion sorts equal scores by first appearance, BM25's list first). Chosen on the dev splits of three
corpora, mean anchor R@5 / MRR@10 over bundled dev, lawref-dev (external_dev, external_qa2) and lawref-x3:
weight 1 → 0.848 / 0.740, 0.5 → 0.849 / 0.764, 0.2 → 0.857 / 0.779, 0.1 → 0.871 / 0.799, 0 → 0.889 / 0.817.
An LSA model fitted on the library ranks passages by topic more than by the question's terms: fused at
weight 1 it moved generic passages of the right document above the one holding the answer."""


@dataclass(frozen=True)
class Settings:
    """All tunable values of the library, with their defaults (see the module docstring)."""

    data_dir: Path = field(default_factory=_default_data_dir)
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    chroma_host: str | None = None
    chroma_port: int = 8000
    embeddings: str = "lsa"
    embedding_model: str = "text-embedding-3-small"
    embedding_base_url: str | None = None
    llm_enabled: bool = False
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 2
    llm_budget_s: float = 30.0  # wall time of the LLM per question, retries and waits included
    query_rewrite: str = "auto"  # auto | on | off: LLM query rewriting (rag.answer.llm.rewrite_queries)
    rerank_base_url: str | None = None
    rerank_model: str = "bge-reranker-v2-m3"
    rerank_api_key: str | None = None
    rerank_timeout_s: float = 10.0
    rerank_top_n: int = 20
    chunk_tokens: int = 320
    top_k: int = 5
    max_question_chars: int = 500
    # Bounds on the work one source file may cause (rag.ingest.readers.ReadLimits): a file over one is refused
    # with a one-line reason naming the limit. 4 M characters ≈ an 11 MB UTF-8 Chinese text, ~100× the longest
    # bundled document (≈ 36 k): a 10 MB text (3.6 M characters, ≈ 30 k chunks) ingests in under a minute at
    # ≈ 1.4 GB (bench/faults.py). The zip limits guard against DOCX zip bombs.
    max_document_chars: int = 4_000_000
    max_expanded_bytes: int = 64 * 1024 * 1024
    max_zip_ratio: int = 100
    ingest_wait_s: float = 600.0  # longest wait for the data directory's ingest lock (rag.index.store.ingest_lock)
    # Retrieval knobs (named configurations of the evaluation harness change these).
    retrieval_mode: str = "hybrid"  # "hybrid" | "bm25" | "dense"
    rrf_k: int = 60
    candidate_k: int = 30
    use_concepts: bool = True
    use_doc_routing: bool = True
    routing_weight: float = 0.5  # RRF weight of the per-document rankings of documents the question names
    # RRF weight of the dense ranking beside BM25's 1 in hybrid retrieval; None: the embedder's own
    # (``EmbedderSpec.fusion_weight``: LSA_DENSE_WEIGHT for the offline LSA, 1 for an embedding model)
    dense_weight: float | None = None
    # RRF weight of the character-bigram ranking of the word BM25's candidates (rag.retrieve.ngrams,
    # HybridRetriever.bigram_ranking) beside the word BM25's 1; 0: not computed
    bigram_weight: float = 0.3
    # with use_doc_routing, a list question gets the next chunk of a section whose enumeration a top hit
    # leaves unfinished (rag.retrieve.hybrid.add_continuations); off for the comparison table
    use_list_continuation: bool = True
    # with use_doc_routing, a list question adds a ranking of the chunks of the section around its best hit
    # (rag.retrieve.hybrid.list_section_rows); off for the comparison table
    use_list_sections: bool = True
    # with use_doc_routing, a list question whose top hits lie in two or more sub-sections of one section
    # gets that section's outline (its sub-headings in one passage, rag.retrieve.lists.merge_outline: auto-merging
    # of the hits into their parent); off for the comparison table
    use_outlines: bool = True
    # with use_doc_routing, a question asking an amount, a duration or a date (rag.understand.query.QueryPlan.asked_values)
    # adds a ranking of the candidate passages stating one (rag.retrieve.values.value_rows); off for the comparison table
    use_value_ranking: bool = True
    # rag.answer.refusal / rag.answer.answerability (extractive answers). The refusal is one decision of a fitted model
    # (rag/answer/answerability_model.json) after three hard rules (no content, no shared word, a place no
    # document covers); the min_* values below are no refusal thresholds of their own.
    # Not read by the refusal decision any more (kept for the eval summary and older configurations):
    min_evidence_coverage: float = 0.1
    need_missing_term_coverage: float = 0.0
    # cut points of the model's 0/1 features value_fires, detail_fires, members_fires, outcome_fires: the
    # support (idf share of the question's focus words covered by a top sentence that states an asked
    # value / detail noun / enumerated members / an achieved outcome) is below this; the model weighs them
    # with the supports themselves. Changing one changes a feature: refit (python -m rag.eval.answerability_fit fit)
    min_value_support: float = 0.4
    min_detail_support: float = 0.3
    min_member_support: float = 0.8
    min_outcome_support: float = 0.5
    # the value supports are computed only when the question's focus words weigh at least this much idf
    # (about one specific word): a question whose only focus is a generic word (数据, 执行) says too little
    min_value_focus_idf: float = 4.0
    today: str | None = None  # ISO date used for expiry notices (RAG_TODAY); default: the real date

    def today_date(self):
        """``today`` as a ``datetime.date`` (the real date when unset)."""
        from datetime import date

        return date.fromisoformat(self.today) if self.today else date.today()

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "Settings":
        """Build settings from ``env`` (default ``os.environ``); keyword ``overrides`` win.

        Raises ConfigError on a malformed value (e.g. a non-integer ``RAG_TOP_K``).
        """
        env = dict(os.environ if env is None else env)
        api_key = env.get("OPENAI_API_KEY") or None
        base_url = env.get("OPENAI_BASE_URL") or None
        llm_flag = env.get("RAG_LLM", "auto").lower()
        if llm_flag not in {"auto", "on", "off"}:
            raise ConfigError(f"RAG_LLM={llm_flag!r}: use auto, on or off")
        llm_enabled = llm_flag == "on" or (llm_flag == "auto" and bool(api_key or base_url))
        kwargs = dict(
            chroma_host=env.get("RAG_CHROMA_HOST") or None,
            chroma_port=_int(env, "RAG_CHROMA_PORT", 8000),
            embeddings=env.get("RAG_EMBEDDINGS", "lsa").lower(),
            embedding_model=env.get("RAG_EMBEDDING_MODEL", "text-embedding-3-small"),
            embedding_base_url=env.get("RAG_EMBEDDING_BASE_URL") or base_url,
            llm_enabled=llm_enabled,
            llm_model=env.get("RAG_LLM_MODEL", "gpt-4o-mini"),
            llm_base_url=base_url,
            llm_api_key=api_key,
            llm_timeout_s=_float(env, "RAG_LLM_TIMEOUT", 30.0),
            llm_max_retries=_int(env, "RAG_LLM_MAX_RETRIES", 2),
            llm_budget_s=_float(env, "RAG_LLM_BUDGET", 30.0),
            query_rewrite=env.get("RAG_QUERY_REWRITE", "auto").lower(),
            rerank_base_url=env.get("RAG_RERANK_BASE_URL") or None,
            rerank_model=env.get("RAG_RERANK_MODEL", "bge-reranker-v2-m3"),
            rerank_api_key=env.get("RAG_RERANK_API_KEY") or None,
            rerank_timeout_s=_float(env, "RAG_RERANK_TIMEOUT", 10.0),
            rerank_top_n=_int(env, "RAG_RERANK_TOP_N", 20),
            chunk_tokens=_int(env, "RAG_CHUNK_TOKENS", 320),
            top_k=_int(env, "RAG_TOP_K", 5),
            max_question_chars=_int(env, "RAG_MAX_QUESTION_CHARS", 500),
            max_document_chars=_int(env, "RAG_MAX_DOCUMENT_CHARS", 4_000_000),
            max_expanded_bytes=_int(env, "RAG_MAX_EXPANDED_MB", 64) * 1024 * 1024,
            max_zip_ratio=_int(env, "RAG_MAX_ZIP_RATIO", 100),
            ingest_wait_s=_float(env, "RAG_INGEST_WAIT", 600.0),
            today=env.get("RAG_TODAY") or None,
            dense_weight=_float(env, "RAG_DENSE_WEIGHT", None),
        )
        if env.get("RAG_DATA_DIR"):
            kwargs["data_dir"] = Path(env["RAG_DATA_DIR"]).expanduser()
        if env.get("RAG_CORPUS_DIR"):
            kwargs["corpus_dir"] = Path(env["RAG_CORPUS_DIR"]).expanduser()
        kwargs.update(overrides)
        settings = cls(**kwargs)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError when a value is out of its allowed set or range."""
        if not isinstance(self.embeddings, str) or not self.embeddings.strip():
            # the name itself is checked against the embedder registry (rag.index.embeddings.embedder_spec,
            # a later stage) where an embedder is made: by `rag` at start, by ingest and by load_index
            raise ConfigError(f"RAG_EMBEDDINGS={self.embeddings!r}: name an embedder ('lsa' offline, or 'openai')")
        if self.retrieval_mode not in {"hybrid", "bm25", "dense"}:
            raise ConfigError(f"retrieval_mode={self.retrieval_mode!r}: use hybrid, bm25 or dense")
        if self.top_k < 1 or self.chunk_tokens < 32 or self.max_question_chars < 1:
            raise ConfigError("top_k ≥ 1, chunk_tokens ≥ 32 and max_question_chars ≥ 1 are required")
        if not self.ingest_wait_s >= 0:
            raise ConfigError(f"RAG_INGEST_WAIT={self.ingest_wait_s}: give the seconds to wait, 0 or more")
        if self.max_document_chars < 1 or self.max_expanded_bytes < 1 or self.max_zip_ratio < 1:
            raise ConfigError("RAG_MAX_DOCUMENT_CHARS, RAG_MAX_EXPANDED_MB and RAG_MAX_ZIP_RATIO must be ≥ 1")
        if self.query_rewrite not in ("auto", "on", "off"):
            raise ConfigError(f"RAG_QUERY_REWRITE={self.query_rewrite!r}: use auto, on or off")
        if not self.rerank_timeout_s > 0 or self.rerank_top_n < 1:
            raise ConfigError("RAG_RERANK_TIMEOUT must be > 0 seconds and RAG_RERANK_TOP_N ≥ 1")
        if self.dense_weight is not None and not self.dense_weight >= 0:
            raise ConfigError(f"RAG_DENSE_WEIGHT={self.dense_weight}: use a weight of 0 or more")
        if not self.llm_budget_s > 0 or self.llm_max_retries < 0:
            raise ConfigError(f"RAG_LLM_BUDGET={self.llm_budget_s} must be > 0 seconds and RAG_LLM_MAX_RETRIES ≥ 0")

    def with_(self, **changes) -> "Settings":
        """A copy with ``changes`` applied and validated."""
        new = replace(self, **changes)
        new.validate()
        return new
