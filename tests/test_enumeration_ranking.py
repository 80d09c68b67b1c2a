"""The ranking of the candidates that open an enumeration, for a question asking which items
(rag.retrieve.hybrid.HybridRetriever._enumeration_ranking, ENUMERATION_HEAD, LIST_ASK)."""

from __future__ import annotations

import pytest

from rag.retrieve import list_value_steps
from rag.retrieve.hybrid import ENUMERATION_HEAD, LIST_ASK

pytestmark = pytest.mark.integration


def test_enumeration_heads_and_list_asks():
    assert ENUMERATION_HEAD.search("有下列情形之一的，可以不征得同意：\n（一）已经公开的；")
    assert ENUMERATION_HEAD.search("包括以下内容：一、总则")
    assert not ENUMERATION_HEAD.search("数据处理者应当征得同意：同意应当明确。")
    assert LIST_ASK.search("哪些情况下可以不征得同意") and LIST_ASK.search("分为哪几类")
    assert not LIST_ASK.search("经费里包括传承人补助吗")


def _rank(qa, question, needle):
    hits = qa.retrieve(question, 10)
    return next((i + 1 for i, h in enumerate(hits) if needle in h.chunk.text), None)


def test_a_which_items_question_lifts_the_article_listing_them(tmp_path, monkeypatch):
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.pipeline import PolicyQA
    from rag.understand.query import chinese_numeral

    # every article speaks of 处理个人数据 and 同意; one lists the cases that need no consent
    # (the enumerating article writes 情形 and 不经, the others the question's 情况 and 征得)
    articles = [f"第{chinese_numeral(n)}条 处理用户个人数据的情况下，数据处理者应当征得本人同意，并告知第{n}项事项。"
                for n in range(1, 16)]
    articles.append("第十六条 处理个人数据有下列情形之一的，可以在处理前不经本人同意：\n"
                    "（一）处理本人自行公开的个人数据；\n（二）为履行法定职责所必需；\n（三）新闻报道所必需。")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "某市数据条例.md").write_text("某市数据条例\n\n" + "\n\n".join(articles) + "\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    qa = PolicyQA(settings, auto_ingest=False)
    question = "处理用户个人数据，哪些情况下可以不征得本人同意？"
    with_ranking = _rank(qa, question, "有下列情形之一的")
    monkeypatch.setattr(list_value_steps, "ENUMERATION_WEIGHT", 0.0)  # read where the step lives
    qa_without = PolicyQA(settings, auto_ingest=False)
    without = _rank(qa_without, question, "有下列情形之一的")
    assert with_ranking is not None and with_ranking <= 2
    assert without is None or with_ranking < without
