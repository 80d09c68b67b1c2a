"""The ranking of the candidates by a question's asking clause (rag.retrieve.hybrid.HybridRetriever._need_ranking)."""

from __future__ import annotations

import pytest
from core_support import fused_state, ingest_texts, rank_of, regulation_text

from rag.retrieve import list_value_steps

pytestmark = pytest.mark.integration


def _index(tmp_path):
    # eight articles share the asker's description (小饭馆, 商场综合体, 防火分区); one answers the ask
    # (and 消防安全); the answering one shares only the ask (营业前, 申请, 检查)
    articles = [f"商场综合体内开设的小饭馆应当设置独立的防火分区，落实第{n}项消防安全责任。" for n in range(1, 9)]
    articles += [f"第{n}类经营者申请许可的，主管部门应当在营业场所开展检查。" for n in range(1, 9)]
    articles.append("公众聚集场所营业前，经营者应当申请检查。")
    return ingest_texts(tmp_path, {"某市消防条例.md": regulation_text("某市消防条例", articles)})


def test_the_asking_clause_lifts_the_passage_answering_it(tmp_path, monkeypatch):
    from rag.pipeline import PolicyQA

    settings = _index(tmp_path)
    question = "我们在商场综合体里开了家小饭馆，有独立的防火分区，消防安全到位，营业前还要申请检查吗？"
    with_ranking = rank_of(PolicyQA(settings, auto_ingest=False), question, "应当申请检查")
    monkeypatch.setattr(list_value_steps, "NEED_WEIGHT", 0.0)  # read where the step lives
    without = rank_of(PolicyQA(settings, auto_ingest=False), question, "应当申请检查")
    assert with_ranking is not None and (without is None or with_ranking < without)


def test_a_one_clause_question_gets_no_ranking_of_its_own(tmp_path):
    from rag.pipeline import PolicyQA

    settings = _index(tmp_path)
    retriever = PolicyQA(settings, auto_ingest=False).retriever
    state = fused_state(retriever, "营业前要申请检查吗？", settings)
    before = len(state.rankings)
    retriever._need_ranking(state)
    assert len(state.rankings) == before
