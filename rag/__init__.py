"""Policy question answering over Sichuan / Chengdu industrial-policy documents.

Stages, one module each: ``corpus`` (manifest, reading) → ``cleaning`` → ``chunking`` → ``ingest`` /
``index`` (Chroma + BM25) → ``retrieval`` (hybrid, RRF) → ``extractive`` / ``llm`` → ``pipeline``.
Importing ``rag`` imports nothing heavy (no chromadb, no jieba, no gradio).
"""

__version__ = "0.1.0"
