"""Importing libraries without the optional dependencies they would load for nothing.

Two libraries on the path of every ``rag ask`` import an optional package at import time that this
project never uses, which cost a new process time before its first answer (2-core machine, 2026-12-06):

* ``bm25s`` imports ``numba`` when it is installed (≈ 0.35 s; it arrives with ``ranx`` of the eval
  extra) for its optional ``backend="numba"``; the index is built and loaded with bm25s' default NumPy
  backend (``BM25(...)``, ``BM25.load``), so numba is never called. It also imports ``scipy.sparse``
  (≈ 0.2 s) for its optional ``csc_backend="scipy"`` (the default, and the one used, is ``"numpy"``) and
  ``tqdm`` for progress bars the project never shows (it falls back to iterating without one): nothing
  else on the path of ``rag ask`` imports either;
* ``chromadb`` imports ``httpx``, whose package imports its command-line client when ``click`` is
  installed (``httpx._main``: click, rich, pygments, ≈ 0.1 s); without click httpx defines a stub
  ``httpx.main`` and is otherwise the same library;
* ``jieba`` 0.42 imports ``pkg_resources`` (≈ 0.13 s: it scans every installed distribution) only to
  open its own dictionary files, and opens them by path when ``pkg_resources`` is absent.

``import_without`` imports such a library with the optional package made unavailable to it for the
duration of that import (a ``None`` entry in ``sys.modules``, Python's documented way to make an import
raise ImportError). A package this process has already imported is left alone, and so is a library
already imported (the first import decides), so the only effect is the library's own "not installed"
fallback.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType

_LOCK = threading.Lock()

BM25S_UNUSED = ("numba", "scipy", "tqdm")
"""Optional packages bm25s imports that the project does not use (see the module docstring)."""

JIEBA_UNUSED = ("pkg_resources",)
"""Optional packages jieba imports that the project does not use (see the module docstring)."""

CHROMADB_UNUSED = ("click",)
"""Optional packages chromadb's imports import that the project does not use (httpx's command line)."""


def import_without(name: str, hidden: tuple[str, ...]) -> ModuleType:
    """``importlib.import_module(name)`` with the packages ``hidden`` (top-level names) unavailable to it:
    each one not imported yet by this process is entered as ``None`` in ``sys.modules`` during the
    import, so that ``import hidden`` inside the library raises ImportError, and removed afterwards.
    Returns the module; raises what ``import_module`` raises. Thread-safe among its own callers (another
    thread importing a hidden package during those milliseconds would get ImportError: the hidden
    packages are ones the project never imports)."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    with _LOCK:
        blocked = [h for h in hidden if h not in sys.modules]
        for h in blocked:
            sys.modules[h] = None  # type: ignore[assignment]
        try:
            return importlib.import_module(name)
        finally:
            for h in blocked:
                if h in sys.modules and sys.modules[h] is None:
                    del sys.modules[h]


def bm25s() -> ModuleType:
    """The ``bm25s`` module, imported without numba, SciPy and tqdm (``BM25S_UNUSED``)."""
    return import_without("bm25s", BM25S_UNUSED)


def jieba() -> ModuleType:
    """The ``jieba`` module, imported without pkg_resources (``JIEBA_UNUSED``)."""
    return import_without("jieba", JIEBA_UNUSED)


def chromadb() -> ModuleType:
    """The ``chromadb`` module, imported without httpx's command-line client (``CHROMADB_UNUSED``)."""
    return import_without("chromadb", CHROMADB_UNUSED)
