"""jieba's prefix dictionary loaded by first character, as the text needs it.

jieba 0.42 keeps its dictionary as one dict ``FREQ`` (≈ 500 k words and word prefixes → frequency) and
loads all of it from a marshal cache when a process first cuts text: 0.5–1 s on a busy 2-core machine,
the largest single cost of a new ``rag ask`` process, which then cuts one question and a few passages.

Every dictionary lookup jieba makes while cutting a text is a substring of that text (``get_DAG``
looks up ``sentence[k:i]``, ``calc``, ``cut_for_search`` and the HMM buffer look up substrings of the
block being cut, ``add_word`` the prefixes of its word), so it starts with one of the text's own
characters. ``initialize`` therefore keeps the dictionary in the system temp directory split by first
character (one marshal blob per character; ≈ 9 MB, ≈ 40 ms to open) and, before jieba cuts a block
(``get_DAG``) or adds a word (``add_word``), merges the blobs of the characters it has not seen yet into
``FREQ``. Every lookup then finds exactly what the fully loaded dictionary holds, so words, frequencies
and cuts are identical (tests/test_jieba_dict.py compares both on the corpora); once every blob is
merged, jieba's own methods are put back.

Used only for jieba 0.42 with its default dictionary; anything else (another version, another
dictionary, an unreadable cache) falls back to jieba's own ``initialize``. The first process on a
machine loads the whole dictionary as before and writes the split cache for the next ones.
"""

from __future__ import annotations

import marshal
import os
import threading
from pathlib import Path

SPLIT_CACHE_VERSION = 1
"""Bump when the cache layout changes."""


def initialize(dt) -> bool:
    """Initialise the jieba ``Tokenizer`` ``dt`` (e.g. ``jieba.dt``) if it is not yet: lazily from the
    split cache (``_cache_path``) when jieba and its dictionary allow it, else with jieba's own
    ``initialize`` (writing the split cache for the next process). Returns True when the dictionary is
    loaded lazily. Thread-safe (``dt.lock``); never raises for a missing or damaged cache."""
    with dt.lock:
        if dt.initialized:
            return False
        path = _cache_path(dt)
        if path is None:
            dt.initialize()
            return False
        try:
            with open(path, "rb") as fh:
                version, total, blobs = marshal.load(fh)
            if version != SPLIT_CACHE_VERSION or not isinstance(total, int) or not isinstance(blobs, dict):
                raise ValueError("not a split dictionary cache")
        except (OSError, ValueError, EOFError, TypeError):
            dt.initialize()
            _write_split(path, dt.FREQ, dt.total)
            return False
        _LazyDictionary(dt, total, blobs).install()
        return True


def _cache_path(dt) -> Path | None:
    """The split cache of jieba's default dictionary (named by jieba's version, the dictionary file's
    size and modification time and ``SPLIT_CACHE_VERSION``), or None when ``dt`` is not a jieba 0.42
    Tokenizer with the default dictionary."""
    import hashlib
    import tempfile

    import jieba

    if not str(getattr(jieba, "__version__", "")).startswith("0.42.") or not isinstance(dt, jieba.Tokenizer) \
            or dt.dictionary != jieba.DEFAULT_DICT or dt.FREQ:
        return None
    source = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
    try:
        stat = source.stat()
    except OSError:
        return None
    key = hashlib.sha1(f"{jieba.__version__}|{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|"
                       f"{SPLIT_CACHE_VERSION}".encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"policy-rag-jieba-{key}.marshal"


def _write_split(path: Path, freq: dict, total: int) -> None:
    """Write ``freq`` split by first character to ``path`` atomically; errors are ignored (the next
    process then loads the whole dictionary again)."""
    import tempfile

    groups: dict[str, dict] = {}
    for word, count in freq.items():
        if word:
            groups.setdefault(word[0], {})[word] = count
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            marshal.dump((SPLIT_CACHE_VERSION, int(total), {c: marshal.dumps(g) for c, g in groups.items()}), fh)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def load_userdict(dt, path) -> bool:
    """``dt.load_userdict(path)`` (jieba's format: ``word [freq] [tag]`` a line, UTF-8), with the words
    merged into ``FREQ`` by first character like the dictionary itself when ``dt``'s dictionary is merged
    lazily (``initialize``) and every line gives a frequency above 0: adding 2.4 k policy terms with 588
    first characters eagerly merged most of the dictionary (≈ 0.3 s of a new process). ``total`` and the
    user tags are updated at once, as jieba's ``add_word`` would; each word (and its prefixes, at 0 when
    absent) enters ``FREQ`` right after its first character's dictionary entries, as it does when jieba
    adds it, so cuts are identical. Returns True when the words are deferred so; otherwise jieba's own
    ``load_userdict`` runs (a line without frequency gets ``suggest_freq``, which depends on the order).
    Raises what jieba's raises for an unreadable or non-UTF-8 file."""
    lazy = getattr(dt.__dict__.get("get_DAG"), "__self__", None)
    if not isinstance(lazy, _LazyDictionary):
        dt.load_userdict(str(path))
        return False
    from jieba import re_userdict

    rows: list[tuple[str, int, str | None]] = []
    with open(path, "rb") as fh:
        for ln in fh:
            line = ln.strip()
            try:
                line = line.decode("utf-8").lstrip("\ufeff")
            except UnicodeDecodeError:
                raise ValueError(f"dictionary file {path} must be utf-8") from None
            if not line:
                continue
            word, freq, tag = re_userdict.match(line).groups()
            if freq is None or int(freq) == 0:
                dt.load_userdict(str(path))
                return False
            rows.append((word, int(freq), tag.strip() if tag is not None else None))
    lazy.defer(rows)
    return True


class _LazyDictionary:
    """The lazily merged ``FREQ`` of one jieba Tokenizer: ``blobs`` maps a first character to the
    marshal of its words and prefixes; ``pending`` a first character to the user words (word, frequency)
    to add after them (``load_userdict``); ``seen`` holds the characters already merged (or absent)."""

    def __init__(self, dt, total: int, blobs: dict):
        self.dt = dt
        self.total = total
        self.blobs = blobs
        self.pending: dict[str, list[tuple[str, int]]] = {}
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        cls = type(dt)
        self._get_dag = cls.get_DAG.__get__(dt)
        self._add_word = cls.add_word.__get__(dt)

    def install(self) -> None:
        dt = self.dt
        dt.FREQ = {}
        dt.total = self.total
        dt.get_DAG = self.get_DAG  # instance attributes: jieba's methods call self.get_DAG / self.add_word
        dt.add_word = self.add_word
        dt.initialized = True

    def defer(self, rows) -> None:
        """Add the user words ``rows`` ((word, frequency > 0, tag or None), in file order) as jieba's
        ``add_word`` would: ``total`` and the tags now, each word into ``FREQ`` when its first character
        is merged (at once when it already is)."""
        with self.lock:
            dt = self.dt
            for word, count, tag in rows:
                dt.total += count
                if tag:
                    dt.user_word_tag_tab[word] = tag
                if word[0] in self.seen:
                    self._add(word, count)
                else:
                    self.pending.setdefault(word[0], []).append((word, count))

    def _add(self, word: str, count: int) -> None:
        """``add_word``'s change of ``FREQ`` for one word of a positive frequency."""
        freq = self.dt.FREQ
        freq[word] = count
        for i in range(1, len(word) + 1):
            if word[:i] not in freq:
                freq[word[:i]] = 0

    def merge(self, text: str) -> None:
        """Merge the dictionary entries (then the pending user words) starting with any character of
        ``text`` not merged yet."""
        new = set(text) - self.seen
        if not new:
            return
        with self.lock:
            freq = self.dt.FREQ
            for ch in new:
                blob = self.blobs.pop(ch, None)
                if blob is not None:
                    freq.update(marshal.loads(blob))
                for word, count in self.pending.pop(ch, ()):
                    self._add(word, count)
            self.seen |= new
            if not self.blobs and not self.pending:  # everything merged: jieba's own methods from now on
                self.dt.__dict__.pop("get_DAG", None)
                self.dt.__dict__.pop("add_word", None)

    def get_DAG(self, sentence):  # noqa: N802 - jieba's name
        self.merge(sentence)
        return self._get_dag(sentence)

    def add_word(self, word, freq=None, tag=None):
        from jieba._compat import strdecode

        self.merge(strdecode(word))
        return self._add_word(word, freq, tag)


# --- part-of-speech tags ------------------------------------------------------------------------
_POSSEG_LOCK = threading.Lock()


def posseg():
    """The ``jieba.posseg`` module with its word → part-of-speech table merged by first character as
    sentences need it, like ``FREQ`` above: importing ``jieba.posseg`` otherwise reads and splits every
    line of jieba's dict.txt (≈ 0.25 s of a new process, for tagging one question). Every tag lookup of
    ``posseg.cut`` is a word of the sentence (a substring), so the tags are those of the full table;
    user-dictionary tags (``add_word(..., tag)``) keep precedence over the dictionary's as in jieba.
    The split table lives in the temp directory beside the split dictionary (written by the first
    process, which imports ``jieba.posseg`` as usual). When ``jieba.posseg`` was already imported, or
    jieba is not the supported version, the module is returned as it is. Thread-safe."""
    import sys

    with _POSSEG_LOCK:
        module = sys.modules.get("jieba.posseg")
        if module is not None:
            return module
        from rag import imports

        jieba = imports.jieba()
        dt = jieba.dt
        path = _cache_path(jieba.Tokenizer())
        blobs = None
        if path is not None and dt.dictionary == jieba.DEFAULT_DICT:
            path = path.with_name(path.name.replace(".marshal", ".tags.marshal"))
            try:
                with open(path, "rb") as fh:
                    version, blobs = marshal.load(fh)
                if version != SPLIT_CACHE_VERSION or not isinstance(blobs, dict):
                    blobs = None
            except (OSError, ValueError, EOFError, TypeError):
                blobs = None
        if blobs is None:
            import jieba.posseg as module

            if path is not None:
                _write_tags(path, module.dt.word_tag_tab)
            return module
        import io

        dt.get_dict_file = lambda: io.BytesIO(b"")  # the module's POSTokenizer starts with an empty table
        try:
            import jieba.posseg as module
        finally:
            dt.__dict__.pop("get_dict_file", None)
        _LazyTags(module.dt, blobs).install()
        return module


def _write_tags(path: Path, tags: dict) -> None:
    """Write the word → tag table ``tags`` split by first character to ``path`` (errors ignored)."""
    import tempfile

    groups: dict[str, dict] = {}
    for word, tag in tags.items():
        if word:
            groups.setdefault(word[0], {})[word] = tag
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            marshal.dump((SPLIT_CACHE_VERSION, {c: marshal.dumps(g) for c, g in groups.items()}), fh)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


class _LazyTags:
    """The lazily merged ``word_tag_tab`` of a jieba ``POSTokenizer``."""

    def __init__(self, pos_dt, blobs: dict):
        self.pos_dt = pos_dt
        self.blobs = blobs
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self._cut = type(pos_dt).cut.__get__(pos_dt)

    def install(self) -> None:
        self.pos_dt.cut = self.cut

    def merge(self, text: str) -> None:
        new = set(text) - self.seen
        if not new:
            return
        with self.lock:
            table = self.pos_dt.word_tag_tab
            for ch in new:
                blob = self.blobs.pop(ch, None)
                if blob is not None:
                    tags = marshal.loads(blob)
                    tags.update({w: table[w] for w in tags if w in table})  # user tags merged earlier win
                    table.update(tags)
            self.seen |= new
            if not self.blobs:
                self.pos_dt.__dict__.pop("cut", None)

    def cut(self, sentence, HMM=True):
        from jieba._compat import strdecode

        sentence = strdecode(sentence)
        self.merge(sentence)
        return self._cut(sentence, HMM=HMM)
