"""Stage 1 — reading documents: file formats and encodings (``readers``), the corpus manifest and the
user's changes to it (``corpus``), cleaning extracted text (``cleaning``), metadata read from the text
(``metadata``), the administrative-division gazetteer and place names (``places``), heading levels,
labels and section paths (``headings``), structure-aware chunking (``chunking``).
Imports only the base modules (``rag.types``, ``rag.settings``, ``rag.errors``, ``rag.text``…)."""
