"""Stage 4 — retrieval: the hybrid retriever (``hybrid``: BM25 + dense, reciprocal rank fusion, filters,
scopes, the order of its steps; its step mixins ``comparison`` — compared scopes, versions — and
``list_value_steps`` — list questions, asked values, the asking clause, thresholds, penalty articles — with the
state the steps share in ``state`` and the metadata filters in ``filters``), fusion helpers (``fusion``), list questions (``lists``: outlines,
enumeration continuation) and the optional reranker (``rerank``). Imports the understand, index and ingest stages."""
