"""Character-bigram BM25 over a candidate pool (rag.retrieve.ngrams) and its ranking in the retriever."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from rag.eval.configs import resolve
from rag.retrieve.ngrams import bigram_keys, pool_scores
from rag.retrieve.hybrid import HybridRetriever
from rag.settings import Settings
from rag.text import Tokenizer

POINTS = "第三条记分周期为十二个月，满分为12分。"  # jieba: 满 / 分为 — no word 满分
FEES = "第四条申请换领机动车驾驶证的，应当交纳工本费。"
LEAVE = "第五条职工连续工作满12个月以上的，享受带薪年休假。"


def test_bigram_keys_are_adjacent_chinese_characters_only():
    assert len(bigram_keys("满分几分？")) == 3  # 满分 分几 几分
    assert len(bigram_keys("满分，几分")) == 2  # punctuation breaks a run
    assert len(bigram_keys("12分 A级")) == 0  # digits, Latin letters and spaces break it too
    assert bigram_keys("满分").tolist() == bigram_keys("ＸＸ满分").tolist()  # NFKC first: full-width Latin is Latin


def test_a_term_jieba_cuts_differently_still_matches_by_bigrams():
    tokenizer = Tokenizer()
    assert "满分" not in tokenizer.tokens(POINTS)  # the word BM25 cannot match the question's 满分
    scores = pool_scores([FEES, POINTS, LEAVE], "记分满分是几分？")
    assert int(np.argmax(scores)) == 1
    assert scores[1] > 0


def test_pool_statistics_weigh_a_bigram_every_candidate_holds_least():
    # 机动 / 动车 stand in every text of the pool (and three times in the first): the rare 工本 decides
    scores = pool_scores(["机动车、机动车和机动车驾驶人", FEES, "机动车登记"], "机动车工本费")
    assert int(np.argmax(scores)) == 1


def test_no_bigram_or_no_pool_scores_nothing():
    assert pool_scores([], "满分").shape == (0,)
    assert not pool_scores([POINTS, FEES], "12？").any()  # a query without two adjacent Chinese characters


def _index(texts: list[str]):
    """The fields of a loaded index ``HybridRetriever.bigram_ranking`` reads: chunks and their documents."""
    chunks = [SimpleNamespace(doc_id="d", section=f"第{i}条", context="", text=t) for i, t in enumerate(texts)]
    return SimpleNamespace(chunks=chunks, docs={"d": SimpleNamespace(title="道路交通安全违法行为记分管理办法",
                                                                     region="")})


def test_bigram_ranking_reorders_the_pool_and_drops_rows_without_a_shared_bigram():
    retriever = SimpleNamespace(index=_index([FEES, LEAVE, POINTS, "附则"]))
    ranking = HybridRetriever.bigram_ranking(retriever, "满分多少分", [0, 1, 2], 10)
    assert ranking[0] == 2
    assert 3 not in ranking  # rows outside the pool are never ranked
    assert HybridRetriever.bigram_ranking(retriever, "满分多少分", [], 10) == []
    assert len(HybridRetriever.bigram_ranking(retriever, "记分管理", [0, 1, 2], 2)) == 2  # the top n


def test_bigram_ranking_is_on_by_default_and_off_in_the_plain_configurations():
    assert Settings().bigram_weight > 0
    assert resolve("no-bigrams") == {"bigram_weight": 0.0}
    assert resolve("bm25-only")["bigram_weight"] == 0.0
