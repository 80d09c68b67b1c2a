"""The parallel-passage ranking of a comparison: each compared scope's candidates ranked by their similarity
to the other scope's best passage (rag.retrieve.hybrid.HybridRetriever._parallel_rankings)."""

from __future__ import annotations

import pytest
from core_support import fused_state, ingest_texts, rank_of, regulation_text

from rag.retrieve import comparison

pytestmark = pytest.mark.integration


def test_a_comparison_finds_the_other_places_parallel_article(tmp_path, monkeypatch):
    from rag.pipeline import PolicyQA

    # one city's rule writes the question's words (分类); the other city states the same rule in its own words
    # (划为…三种), below eight articles that share the question's words (公共数据开放, 分类分级)
    first = regulation_text("杭州市公共数据条例", [
        *(f"市人民政府应当加强第{n}项信息化建设，统筹资金保障。" for n in range(1, 9)),
        "公共数据按照开放类型分类为无条件开放、有条件开放和非开放三类。"])
    second = regulation_text("宁波市公共数据条例", [
        *(f"公共数据开放应当遵循分类分级、需求导向的原则，第{n}项开放工作由主管部门负责。" for n in range(1, 9)),
        "公共数据按照开放条件划为无条件开放、有条件开放和不予开放三种。"])
    settings = ingest_texts(tmp_path, {"杭州市公共数据条例.md": first, "宁波市公共数据条例.md": second})
    question = "杭州和宁波对公共数据开放分别怎么分类？"
    with_ranking = rank_of(PolicyQA(settings, auto_ingest=False), question, "不予开放三种")
    monkeypatch.setattr(comparison, "PARALLEL_WEIGHT", 0.0)  # read where the step lives
    without = rank_of(PolicyQA(settings, auto_ingest=False), question, "不予开放三种")
    assert with_ranking is not None  # among the first 10 (rank 7 here; the eight sharers fill the rest)
    assert without is None or with_ranking < without


def test_no_parallel_ranking_without_a_comparison(tmp_path):
    from rag.pipeline import PolicyQA

    settings = ingest_texts(tmp_path, {"杭州市公共数据条例.md": regulation_text(
        "杭州市公共数据条例", ["公共数据按照开放类型分为无条件开放、有条件开放和非开放三类。"])})
    retriever = PolicyQA(settings, auto_ingest=False).retriever
    state = fused_state(retriever, "杭州公共数据开放怎么分类？", settings)
    before = list(state.rankings)
    retriever._parallel_rankings(state)
    assert state.rankings == before and state.scope_lists is None
