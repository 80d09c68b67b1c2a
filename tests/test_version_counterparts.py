"""A what-changed question gets, right after its best passage, that passage's counterpart in the other version
(rag.retrieve.hybrid.HybridRetriever._changed_versions_last, _with_counterparts)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

OLD_NAMES = "本市对最低生活保障家庭、低收入困难家庭、支出型贫困家庭和特困人员，分类给予相应的社会救助。"
NEW_NAMES = "本市对最低生活保障家庭、最低生活保障边缘家庭、刚性支出困难家庭和特困人员，分类给予相应的社会救助。"
FILLER = ["社会救助工作应当坚持托底线、救急难、可持续的原则。", "市民政部门统筹全市社会救助体系建设。",
          "区人民政府负责本行政区域内的社会救助工作。", "社会救助资金应当专款专用。",
          "低收入困难家庭成员申请医疗救助的，按照有关规定办理。"]


def test_the_renamed_article_of_the_new_version_follows_the_old_one(tmp_path):
    from core_support import ingest_texts, regulation_text

    from rag.pipeline import PolicyQA

    old = regulation_text("某市社会救助条例", ["为了规范社会救助，制定本条例。", OLD_NAMES, *FILLER])
    new = regulation_text("某市社会救助条例", ["为了规范社会救助，制定本条例。", NEW_NAMES, *FILLER[:4],
                                                "最低生活保障边缘家庭成员申请医疗救助的，按照有关规定办理。"])
    settings = ingest_texts(tmp_path, {"某市社会救助条例(2018-11-22).md": old, "某市社会救助条例(2024-12-31).md": new})
    qa = PolicyQA(settings, auto_ingest=False)
    q = "某市社会救助条例2024年修正后，原来的“低收入困难家庭”“支出型贫困家庭”分别改叫什么了？"
    texts = [h.chunk.text for h in qa.retrieve(q, 5)]
    old_at = next(i for i, t in enumerate(texts) if OLD_NAMES in t)
    assert NEW_NAMES in texts[old_at + 1]  # the counterpart right after the passage in the question's words
    plain = [h.chunk.text for h in qa.retrieve("某市社会救助条例里低收入困难家庭和支出型贫困家庭有哪些？", 5)]
    assert not any(NEW_NAMES in t for t in plain[:2])  # no change asked: no counterpart pulled up
