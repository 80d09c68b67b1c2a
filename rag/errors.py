"""Error hierarchy of the library.

Every error the library raises on purpose derives from :class:`RagError`; its message is one line
that says what to do. The CLI turns these into ``error: <message>`` and a non-zero exit code, the
UI into a visible warning. The library itself never prints.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class of all deliberate errors; ``str(err)`` is a one-line, user-facing message."""

    exit_code = 1


class InvalidQuestionError(RagError, ValueError):
    """The question is empty, blank, or longer than ``Settings.max_question_chars``."""

    exit_code = 2


class IndexNotBuiltError(RagError):
    """No index exists in the data directory yet (run ``rag ingest``)."""


class IndexDamagedError(RagError):
    """A file of the live index is missing, unreadable or inconsistent with the others; the message names
    it and says that ``rag ingest`` repairs the index (it verifies the live generation and rebuilds it).
    ``path``: the damaged file or folder relative to the data directory (``chroma/``, ``index/CURRENT.json``,
    ``index/<generation>/bm25/vocab.index.json`` …), or the Chroma server; ``detail``: "<path>: <what is wrong>";
    ``outdated``: the index was written by an older version (an older index format), not damaged since."""

    def __init__(self, message: str, path: str = "", detail: str = "", outdated: bool = False):
        super().__init__(message)
        self.path = path
        self.detail = detail or message
        self.outdated = outdated


class IngestBusyError(RagError):
    """Another ingest or knowledge-base change holds the data directory's ingest lock
    (``rag.index.store.ingest_lock``) longer than the wait allowed; nothing was changed."""


class IngestError(RagError):
    """Ingestion could not complete; the previous index (if any) is left untouched and usable."""


class DocumentReadError(RagError):
    """A source file could not be read as UTF-8 text (or parsed); carries the file path in the message."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ManifestError(RagError):
    """The corpus manifest is missing, malformed, or names a file that does not exist."""


class KnowledgeBaseError(RagError):
    """A knowledge-base change was refused or failed, or a knowledge-base file of the data directory
    (``kb.json``, ``metadata.json``: ``rag.ingest.corpus``) is damaged; nothing was changed. The message says why."""


class LLMUnavailableError(RagError):
    """The configured OpenAI-compatible server could not be reached or kept failing after retries."""


class ConfigError(RagError):
    """A setting has an invalid value (e.g. an unknown embedding backend)."""

    exit_code = 2
