"""Evaluation harness: run a benchmark dataset (eval/BENCHMARK.md format) through the same code
path as ``rag ask`` and compute retrieval and answer metrics (``rag eval``)."""
