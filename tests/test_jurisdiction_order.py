"""Passages of another place's local rules go after those that apply where the asker is
(rag.retrieve.hybrid.HybridRetriever._other_jurisdictions_last)."""
from __future__ import annotations


def _qa(tmp_path):
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.pipeline import PolicyQA

    docs = tmp_path / "docs"
    docs.mkdir()
    texts = {
        # another city's rule that repeats the question's words more often than the asker's own city's rule
        "绍兴市住宅小区配套用房管理条例.md": "第九条 新建住宅小区应当按照住宅小区物业管理用房面积标准配置物业管理用房，"
                                   "物业管理用房面积不少于三十平方米。\n第十条 住宅小区物业管理用房面积不得擅自改变用途。",
        "上海市住宅物业管理规定.md": "第二十条 新建住宅的建设单位应当按照房屋总建筑面积的千分之二配置物业用房，但不得低于一百平方米。\n"
                              "第二十一条 业主大会成立前，物业用房由建设单位代管。",
        "物业管理条例.md": "第三十条 建设单位应当按照规定在物业管理区域内配置必要的物业管理用房。",
    }
    for name, body in texts.items():
        (docs / name).write_text(name.removesuffix(".md") + "\n\n" + body + "\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    return PolicyQA(settings, auto_ingest=False)


def test_another_places_rules_go_after_those_that_apply_there(tmp_path, monkeypatch):
    from rag.retrieve.hybrid import HybridRetriever

    qa = _qa(tmp_path)
    regions = {m.title: m.region for m in qa.index.docs.values()}
    assert regions["上海市住宅物业管理规定"] == "上海市" and regions["绍兴市住宅小区配套用房管理条例"] == "绍兴市"
    question = "上海新建住宅小区的物业管理用房面积有什么硬性标准？"
    hits = qa.retrieve(question, 10)
    titles = [h.title for h in hits]
    assert "千分之二" in hits[0].chunk.text
    first_other = titles.index("绍兴市住宅小区配套用房管理条例")
    assert first_other >= 5  # after every passage of the documents that apply in 上海
    assert {"上海市住宅物业管理规定", "物业管理条例"} <= set(titles[:first_other])  # the city's own and the national text
    # a question naming no place, and one comparing the places, keep the fused order
    assert "绍兴市住宅小区配套用房管理条例" == qa.retrieve("新建住宅小区的物业管理用房面积有什么标准？", 5)[0].title
    compared = [h.title for h in qa.retrieve("上海和绍兴对新建住宅小区物业管理用房面积的要求有什么不同？", 5)]
    assert "绍兴市住宅小区配套用房管理条例" in compared[:3]
    # without the step the other city's rule is among the first five
    monkeypatch.setattr(HybridRetriever, "_other_jurisdictions_last", lambda self, s: None)
    assert "绍兴市住宅小区配套用房管理条例" in [h.title for h in qa.retrieve(question, 5)]


def test_national_texts_apply_in_every_place():
    from rag.understand.scopes import applies_in

    assert applies_in("全国", ("上海市",)) and applies_in(None, ("上海市",)) and applies_in("", ("上海市",))
    assert applies_in("上海市", ("上海市",)) and applies_in("浙江省", ("绍兴市",))
    assert not applies_in("绍兴市", ("上海市",))
