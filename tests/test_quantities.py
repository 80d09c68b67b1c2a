"""Quantities the asker states and thresholds passages set (rag.understand.quantities), and the retriever's
ranking of the candidates setting a threshold in the asker's unit (HybridRetriever._threshold_ranking)."""

from __future__ import annotations

import pytest

from rag.understand.quantities import Bound, bound_rows, satisfies, stated_bounds, stated_quantities


@pytest.mark.unit
def test_stated_quantities_read_numerals_and_units():
    [q] = stated_quantities("北京我们小区总共才八十多户，想成立业委会，委员最少几个人就行？")
    assert (q.value, q.unit) == (80.0, "户")
    [q] = stated_quantities("我在某市要开家两百来平米的小饭馆")
    assert (q.value, q.unit) == (200.0, "平方米")
    values = [(q.value, q.unit) for q in stated_quantities("员工30名，注册资本500万元，成立三年")]
    assert values == [(30.0, "人"), (5_000_000.0, "元"), (3.0, "年")]


@pytest.mark.unit
def test_years_ordinals_and_asked_counts_are_no_quantities():
    assert stated_quantities("2024年第三条规定的多少户？几个人？") == []


@pytest.mark.unit
def test_stated_bounds_and_their_direction():
    assert stated_bounds("户数一百户以下的住宅小区") == [Bound(100.0, "户", True, False)]
    assert stated_bounds("建筑面积不足三百平方米的") == [Bound(300.0, "平方米", True, True)]
    assert stated_bounds("从业人员超过五十人的企业") == [Bound(50.0, "人", False, True)]
    assert stated_bounds("年满十八周岁的") == [Bound(18.0, "岁", False, False)]
    assert stated_bounds("营业收入二千万元以上的企业") == [Bound(20_000_000.0, "元", False, False)]


@pytest.mark.unit
def test_a_penalty_range_is_no_threshold():
    assert stated_bounds("由主管部门责令改正，处五百元以上二千元以下的罚款。") == []
    assert stated_bounds("处一万元以上五万元以下罚款") == []


@pytest.mark.unit
def test_satisfies():
    [q] = stated_quantities("八十多户")
    assert satisfies(q, Bound(100.0, "户", True, False))
    assert not satisfies(q, Bound(80.0, "户", True, True))
    assert not satisfies(q, Bound(100.0, "户", False, False))
    assert not satisfies(q, Bound(100.0, "人", True, False))


@pytest.mark.unit
def test_bound_rows_put_the_met_thresholds_first():
    class C:
        def __init__(self, text):
            self.text = text

    chunks = [C("业主大会应当设立业主委员会。"), C("户数一百户以上的住宅小区，业主委员会由五至十一人组成。"),
              C("户数一百户以下的住宅小区，业主委员会可以由三人组成。"), C("处一万元以上五万元以下罚款。")]
    assert bound_rows([0, 1, 2, 3], chunks, "我们小区八十多户，委员最少几个人？") == [2, 1]
    assert bound_rows([0, 1, 2, 3], chunks, "委员最少几个人？") == []


@pytest.mark.integration
def test_the_threshold_the_asker_meets_is_retrieved(tmp_path, monkeypatch):
    from core_support import ingest_texts, rank_of, regulation_text

    from rag.pipeline import PolicyQA
    from rag.retrieve import hybrid

    # eight articles share the question's words (小区, 业主委员会, 成立); one sets the threshold it turns on
    articles = [f"住宅小区成立业主委员会的，第{n}项筹备工作由街道办事处指导，委员名单应当公示。" for n in range(1, 9)]
    articles.append("户数一百户以下的住宅小区，业委会可以由三人组成。")
    settings = ingest_texts(tmp_path, {"某市物业管理条例.md": regulation_text("某市物业管理条例", articles)})
    question = "我们住宅小区总共才八十多户，想成立业主委员会，委员名单要几个人？"

    with_ranking = rank_of(PolicyQA(settings, auto_ingest=False), question, "一百户以下")
    monkeypatch.setattr(hybrid.HybridRetriever, "_threshold_ranking", lambda self, s: None)
    without = rank_of(PolicyQA(settings, auto_ingest=False), question, "一百户以下")
    assert with_ranking is not None and (without is None or with_ranking < without)
