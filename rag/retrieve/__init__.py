"""Stage 4 — retrieval: the hybrid retriever (``hybrid``: BM25 + dense, reciprocal rank fusion, filters,
scopes), fusion helpers (``fusion``), list questions (``lists``: outlines, enumeration continuation) and
the optional reranker (``rerank``). Imports the understand, index and ingest stages."""
