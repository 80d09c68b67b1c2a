"""Typed per-index derived data (issue 14 §3): ``rag.types.DerivedData`` / ``derived`` /
``locked_cached_property``, and the stage functions that read it."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from rag.types import Chunk, DerivedData, derived, locked_cached_property


class _Counted(DerivedData):
    made = 0

    def __init__(self, index):
        super().__init__(index)
        type(self).made += 1
        self.calls = 0

    @locked_cached_property
    def total(self) -> int:
        self.calls += 1
        time.sleep(0.01)  # widen the window in which another thread could start a second build
        return sum(self.index.values)

    @locked_cached_property
    def doubled(self) -> int:
        return 2 * self.total  # one value of an instance may read another (the lock is re-entrant)


def _in_threads(fn, n: int = 8) -> list:
    barrier, out = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        out[i] = fn()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_one_instance_per_owner_and_class_built_once_across_threads():
    _Counted.made = 0
    index = SimpleNamespace(values=[1, 2, 3])
    got = _in_threads(lambda: _Counted.of(index))
    assert all(g is got[0] for g in got) and _Counted.made == 1
    assert derived(index, _Counted) is got[0] and got[0].index is index
    assert _in_threads(lambda: _Counted.of(index).doubled) == [12] * 8
    assert got[0].calls == 1
    other = SimpleNamespace(values=[5])
    assert _Counted.of(other) is not got[0] and _Counted.of(other).total == 5


def test_a_value_can_be_preset_and_a_loaded_index_keeps_its_derived_data():
    from rag.index.store import LoadedIndex, card_rows
    from rag.text import TextData, Tokenizer, corpus_text

    card = Chunk("d-card", "d", "", "卡片 文件", 0, 5, 3, "card")
    text = Chunk("d-1", "d", "第一章", "正文 内容", 0, 5, 3, "text")
    index = LoadedIndex({"generation": "g"}, [card, text], {}, {"d": "正文 内容"}, None, None, None,
                        Tokenizer(None), {"__N__": 2})
    assert corpus_text(index) == "正文内容卡片文件" and card_rows(index) == {"d": 0}
    assert set(index._derived) >= {TextData} and card_rows(index) is card_rows(index)
    assert index == LoadedIndex({"generation": "g"}, [card, text], {}, {"d": "正文 内容"}, None, None, None,
                                index.tokenizer, {"__N__": 2})  # derived data take no part in equality
    stand_in = SimpleNamespace(chunks=[])
    TextData.of(stand_in).corpus_text = "preset"
    assert corpus_text(stand_in) == "preset"
