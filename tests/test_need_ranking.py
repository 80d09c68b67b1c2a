"""The ranking of the candidates by a question's asking clause (rag.retrieve.hybrid.HybridRetriever._need_ranking)."""

from __future__ import annotations

import pytest

from rag.retrieve import hybrid

pytestmark = pytest.mark.integration


def _rank(qa, question, needle):
    hits = qa.retrieve(question, 10)
    return next((i + 1 for i, h in enumerate(hits) if needle in h.chunk.text), None)


def _index(tmp_path):
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.understand.query import chinese_numeral

    # eight articles share the asker's description (小饭馆, 商场综合体, 防火分区); one answers the ask
    # (and 消防安全); the answering one shares only the ask (营业前, 申请, 检查)
    articles = [f"商场综合体内开设的小饭馆应当设置独立的防火分区，落实第{n}项消防安全责任。" for n in range(1, 9)]
    articles += [f"第{n}类经营者申请许可的，主管部门应当在营业场所开展检查。" for n in range(1, 9)]
    articles.append("公众聚集场所营业前，经营者应当申请检查。")
    body = "\n\n".join(f"第{chinese_numeral(n)}条 {t}" for n, t in enumerate(articles, start=1))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "某市消防条例.md").write_text(f"某市消防条例\n\n{body}\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    return settings


def test_the_asking_clause_lifts_the_passage_answering_it(tmp_path, monkeypatch):
    from rag.pipeline import PolicyQA

    settings = _index(tmp_path)
    question = "我们在商场综合体里开了家小饭馆，有独立的防火分区，消防安全到位，营业前还要申请检查吗？"
    with_ranking = _rank(PolicyQA(settings, auto_ingest=False), question, "应当申请检查")
    monkeypatch.setattr(hybrid, "NEED_WEIGHT", 0.0)
    without = _rank(PolicyQA(settings, auto_ingest=False), question, "应当申请检查")
    assert with_ranking is not None and (without is None or with_ranking < without)


def test_a_one_clause_question_gets_no_ranking_of_its_own(tmp_path):
    from rag.pipeline import PolicyQA
    from rag.understand.query import plan_query

    settings = _index(tmp_path)
    retriever = PolicyQA(settings, auto_ingest=False).retriever
    plan = plan_query("营业前要申请检查吗？", retriever.index, settings)
    state = hybrid._Retrieval(k=5, filters=hybrid.NO_FILTERS, plan=plan, routing=True, multi=False, n=30)
    retriever._scope_rankings(state)
    retriever._fuse(state)
    before = len(state.rankings)
    retriever._need_ranking(state)
    assert len(state.rankings) == before
