"""The coordinated items a question asks about one by one (rag.understand.aspects.coordinated_items) and the
retriever's passage for each of them in the top k (ListValueSteps._aspect_slots)."""

from __future__ import annotations

import pytest

from rag.understand.aspects import coordinated_items


def _written(*texts):
    return lambda w: any(w in t for t in texts)


def test_items_before_each_word_are_found_in_question_order():
    text = _written("中心城区，聚焦高端产业引领功能。城市新区，聚焦创新策源转化。郊区新城，聚焦生态价值转化。")
    assert coordinated_items("成都制造业规划给中心城区、城市新区、郊区新城各定了什么功能？", text) == \
        ("中心城区", "城市新区", "郊区新城")
    assert coordinated_items("规划对中心城区、城市新区和郊区新城分别是什么功能定位？", text) == \
        ("中心城区", "城市新区", "郊区新城")


def test_the_first_item_drops_the_words_it_runs_into_and_the_last_its_trailing_locative():
    text = _written("在卫星制造方面，发展小卫星。火箭方面，发展商业火箭。地面设备方面，发展终端。")
    assert coordinated_items("卫星互联网这条链，成都在卫星、火箭和地面设备上分别要发展什么？", text) == \
        ("卫星", "火箭", "地面设备")
    text = _written("居家社区养老服务设施的占地面积、建筑面积和床位数不得低于标准。")
    assert coordinated_items("农村社区建养老服务设施，占地、建筑面积和床位各有什么最低标准？", text) == \
        ("占地", "建筑面积", "床位")


def test_no_items_without_an_each_word_two_items_or_passages_naming_them():
    text = _written("中心城区，聚焦高端产业引领功能。城市新区，聚焦创新策源转化。")
    assert coordinated_items("中心城区和城市新区的功能是什么？", text) == ()  # no 各/分别
    assert coordinated_items("中心城区的功能分别是什么？", text) == ()  # one item
    assert coordinated_items("中心城区和海港新区分别是什么功能？", text) == ()  # 海港新区 is written nowhere
    assert coordinated_items("", text) == ()


@pytest.mark.integration
def test_each_item_gets_its_own_passage_in_the_top_five(tmp_path, monkeypatch):
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.pipeline import PolicyQA
    from rag.retrieve import list_value_steps

    # the question's words (功能, 布局, 定位, 区域) fill many passages; the three areas each have one passage
    # that answers, and one passage names all three without saying anything about any
    filler = [f"（{n}）第{n}片区。优化产业功能布局，明确各片区功能定位，推进区域功能协同，强化功能区建设，提升功能区能级，"
              f"完善功能区配套，健全功能区推进机制，推动功能区之间错位发展、协同发展，构建功能清晰、分工合理、"
              f"优势互补的功能区发展格局，以功能区为载体集聚产业、人才和创新要素，形成功能定位明确的城市空间。"
              for n in range(1, 9)]
    detail = ("，推进产业升级和功能重构，以产业社区、特色街巷、专业楼宇为载体，大力发展总部型、技术型、创新型、民生型都市工业，"
              "提升产业能级和发展质量，培育一批专精特新企业和单项冠军企业，建设一批高品质科创空间和产业园区，"
              "完善公共服务平台和基础设施配套，促进产业链、创新链、人才链深度融合，打造现代产业体系的重要支撑。")
    body = "\n\n".join([
        "一、优化空间功能布局",
        "围绕做优做强中心城区、城市新区、郊区新城的城市核心功能，优化功能布局，明确功能定位，推进区域功能协同。",
        "中心城区，聚焦高端产业引领" + detail,
        "城市新区，聚焦创新策源转化" + detail,
        "郊区新城，聚焦生态价值转化" + detail,
        "二、区域功能协同",
        *filler,
    ])
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "某市制造业发展规划.md").write_text("某市制造业发展规划\n\n" + body + "\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    question = "某市制造业发展规划给中心城区、城市新区、郊区新城各定了什么功能定位？"
    answers = ("聚焦高端产业引领", "聚焦创新策源转化", "聚焦生态价值转化")

    def found(qa):
        top = [h.chunk.text for h in qa.retrieve(question, 10)[:5]]
        return [any(a in t for t in top) for a in answers]

    qa = PolicyQA(settings, auto_ingest=False)
    assert found(qa) == [True, True, True]
    # the answer quotes each item's own sentence, in the question's order, not the one listing all three
    answer = qa.ask(question)
    assert not answer.refused
    at = [answer.text.find(a) for a in answers]
    assert all(i >= 0 for i in at) and at == sorted(at), answer.text
    assert "围绕做优做强" not in answer.text.split("\n")[0]
    monkeypatch.setattr(list_value_steps, "coordinated_items", lambda question, written: ())
    assert not all(found(PolicyQA(settings, auto_ingest=False)))  # the filler outranks some item without the step


def test_a_passage_listing_the_items_together_names_none_of_them():
    from rag.understand.aspects import names_item

    items = ("中心城区", "城市新区", "郊区新城")
    intro = "围绕做优做强中心城区、城市新区、郊区新城的城市核心功能，优化功能布局。"
    assert not any(names_item(intro, item, items) for item in items)
    assert names_item("中心城区，聚焦高端产业引领。", "中心城区", items)
    # two items in separate sentences of one passage: it names both
    hydrogen = ("制氢", "储运")
    text = "开展固态、深冷高压等储运装备研制。开展电解水制氢、工业副产氢等成套设备研制。"
    assert names_item(text, "制氢", hydrogen) and names_item(text, "储运", hydrogen)


def test_the_answer_quotes_a_sentence_opening_with_each_item_and_drops_the_listing_one():
    from rag.answer.scoring import ScoredSentence
    from rag.answer.selection import aspect_sentences
    from rag.types import Chunk, Hit

    texts = ["围绕做优做强中心城区、城市新区、郊区新城的城市核心功能，优化功能布局。",
             "其他七个中心城区，加快优势领域集群发展。",
             "郊区新城，聚焦生态价值转化功能。",
             "中心城区，聚焦高端产业引领功能。",
             "城市新区，聚焦创新策源转化功能。"]
    sentences = []
    for i, t in enumerate(texts):
        hit = Hit(i + 1, 1.0 / (i + 1), Chunk(f"c{i}", "d", "一、布局", t, 0, len(t), len(t)), "某市规划")
        sentences.append(ScoredSentence(hit, 0, len(t), 1.0, 1.0 - i / 10))
    items = ("中心城区", "城市新区", "郊区新城")
    chosen = aspect_sentences(sentences, items, [sentences[0], sentences[1]])
    assert [s.text for s in chosen] == [texts[3], texts[4], texts[2], texts[1]]
    assert aspect_sentences(sentences, ("海港新区", "空港新区"), sentences[:1]) == sentences[:1]  # none named
