"""rag.jieba_dict: jieba's dictionary merged by first character cuts exactly as the fully loaded one."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from rag import imports, jieba_dict

ROOT = Path(__file__).resolve().parent.parent


def _texts() -> list[str]:
    """The bundled corpus and every tenth document of the external dev corpus, as lines."""
    files = sorted((ROOT / "corpus" / "docs").iterdir()) + sorted((ROOT / "eval" / "corpora" / "lawref-dev")
                                                                   .glob("*.md"))[::10]
    return [line for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def split_cache(tmp_path, monkeypatch):
    """A private temp directory for the split cache, filled by a first (eager) initialisation."""
    jieba = imports.jieba()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first = jieba.Tokenizer()
    assert jieba_dict.initialize(first) is False  # no cache yet: jieba's own loading, cache written
    assert list(tmp_path.glob("policy-rag-jieba-*.marshal"))
    return first


def test_lazy_dictionary_cuts_as_the_full_one(split_cache):
    jieba = imports.jieba()
    eager = split_cache
    lazy = jieba.Tokenizer()
    assert jieba_dict.initialize(lazy) is True
    assert len(lazy.FREQ) == 0 and lazy.total == eager.total
    userdict = str(ROOT / "corpus" / "userdict.txt")
    eager.load_userdict(userdict)
    lazy.load_userdict(userdict)
    assert 0 < len(lazy.FREQ) < len(eager.FREQ)  # only the user words' first characters so far
    question = "到2027年四川要培育多少家具有全国影响力的行业领军企业？"
    assert lazy.lcut_for_search(question) == eager.lcut_for_search(question)
    for text in _texts():
        assert lazy.lcut_for_search(text) == eager.lcut_for_search(text)
        assert lazy.lcut(text, HMM=False) == eager.lcut(text, HMM=False)
    assert lazy.total == eager.total
    assert {w: f for w, f in lazy.FREQ.items()} == {w: eager.FREQ[w] for w in lazy.FREQ}


def test_deferred_user_dictionary_cuts_as_jiebas_own(split_cache):
    """rag.jieba_dict.load_userdict adds the user words when their first character is merged: the same
    total, tags, frequencies and cuts as jieba's load_userdict on the fully loaded dictionary."""
    jieba = imports.jieba()
    eager = split_cache
    lazy = jieba.Tokenizer()
    assert jieba_dict.initialize(lazy) is True
    userdict = ROOT / "corpus" / "userdict.txt"
    eager.load_userdict(str(userdict))
    assert jieba_dict.load_userdict(lazy, userdict) is True
    assert len(lazy.FREQ) == 0 and lazy.total == eager.total
    assert lazy.user_word_tag_tab == eager.user_word_tag_tab
    question = "专精特新企业和新型储能产业园区要培育多少家？"
    assert lazy.lcut_for_search(question) == eager.lcut_for_search(question)
    for text in _texts():
        assert lazy.lcut_for_search(text) == eager.lcut_for_search(text)
        assert lazy.lcut(text, HMM=False) == eager.lcut(text, HMM=False)
    assert {w: f for w, f in lazy.FREQ.items()} == {w: eager.FREQ[w] for w in lazy.FREQ}
    firsts = "".join({w[0] for w in eager.FREQ if w})
    lazy.get_DAG(firsts)
    assert lazy.FREQ == eager.FREQ and "get_DAG" not in lazy.__dict__


def test_user_dictionary_without_frequencies_is_loaded_by_jieba(split_cache, tmp_path):
    jieba = imports.jieba()
    path = tmp_path / "words.txt"
    path.write_text("新型储能\n专精特新 3000 n\n", encoding="utf-8")
    lazy = jieba.Tokenizer()
    assert jieba_dict.initialize(lazy) is True
    assert jieba_dict.load_userdict(lazy, path) is False  # suggest_freq depends on the order: jieba's own
    split_cache.load_userdict(str(path))
    assert lazy.total == split_cache.total and lazy.FREQ["新型储能"] == split_cache.FREQ["新型储能"]


def test_every_character_merged_restores_jiebas_methods(split_cache):
    jieba = imports.jieba()
    lazy = jieba.Tokenizer()
    assert jieba_dict.initialize(lazy) is True
    firsts = "".join({w[0] for w in split_cache.FREQ if w})
    lazy.get_DAG(firsts)  # (cut() passes only runs of Han characters, letters and digits to get_DAG)
    assert "get_DAG" not in lazy.__dict__ and "add_word" not in lazy.__dict__
    assert lazy.FREQ == split_cache.FREQ


def test_damaged_cache_falls_back_to_jieba(split_cache, tmp_path):
    jieba = imports.jieba()
    for path in tmp_path.glob("policy-rag-jieba-*.marshal"):
        path.write_bytes(b"\x00garbage")
    dt = jieba.Tokenizer()
    assert jieba_dict.initialize(dt) is False
    assert dt.initialized and len(dt.FREQ) == len(split_cache.FREQ)
    assert jieba_dict.initialize(jieba.Tokenizer()) is True  # rewritten


POSSEG_SCRIPT = """
import json, sys
from pathlib import Path
from rag import jieba_dict
from rag.text import Tokenizer

root = Path(sys.argv[1])
Tokenizer(root / "corpus" / "userdict.txt").tokens("初始化")  # jieba and the user dictionary, as rag does
posseg = jieba_dict.posseg()
lines = [line for f in sorted((root / "corpus" / "docs").iterdir())
         for line in f.read_text(encoding="utf-8").splitlines() if line.strip()][:400]
lines += ["到2027年四川要培育多少家具有全国影响力的行业领军企业？", "专精特新企业和新型储能产业园区"]
print(json.dumps([[(p.word, p.flag) for p in posseg.lcut(x)] for x in lines], ensure_ascii=False))
print(len(posseg.dt.word_tag_tab))
"""


def test_lazy_posseg_tags_as_the_full_table(tmp_path):
    """A first process imports jieba.posseg as usual and writes the split caches; a second one tags the
    same lines with the lazily merged table: the same words and tags."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", POSSEG_SCRIPT, str(ROOT)], env=env, capture_output=True,
                           text=True, timeout=300, check=True).stdout for _ in range(2)]
    assert list(tmp_path.glob("policy-rag-jieba-*.tags.marshal"))
    (tags_full, size_full), (tags_lazy, size_lazy) = (r.splitlines() for r in runs)
    assert tags_lazy == tags_full
    assert int(size_lazy) < int(size_full)  # the second process merged only what its lines needed
