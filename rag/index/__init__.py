"""Stage 2 — the index: building it incrementally and atomically from the ingest stage's chunks
(``build``: the ingest; ``generation``: writing a generation and switching to it; ``lexical``: tokens and
BM25; ``reuse``: what a generation takes over from the live one; its worker processes ``workers``), the
stored generations and the loaded index (``store``: Chroma, embedded or server, the bm25s lexical index,
token counts; ``records``: its per-chunk rows, vector ids, indexed text and tokens.npz), the embedders
(``embeddings``: LSA fitted at ingest or an OpenAI-compatible model) and the knowledge base a user manages
(``kb``). Imports the ingest stage and the base modules."""
