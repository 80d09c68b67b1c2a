"""Penalty articles linked to the obligation articles they cite (rag.retrieve.fusion.cited_articles, citing_rows,
DocumentCitations, add_citing_rows) and placed right after a retrieved obligation article when a question
asks about a penalty (rag.retrieve.hybrid, rag.understand.query.QueryPlan.asks_penalty). Hand-made documents only."""

from __future__ import annotations

import numpy as np
import pytest

from rag.retrieve.fusion import (
    DocumentCitations,
    add_citing_rows,
    article_number,
    cited_articles,
    citing_rows,
)
from rag.understand.query import PENALTY_QUESTION
from rag.types import Chunk


def test_cited_articles_read_the_articles_a_penalty_says_are_broken():
    text = ("第二十二条家政服务机构违反本条例第九条第四款，未按照规定建立档案，或者违反本条例第二十一条第一款，"
            "未按照规定处理投诉的，由商务主管部门责令改正；拒不改正的，可以处二千元以上二万元以下罚款。")
    assert cited_articles(text) == [9, 21]
    assert cited_articles("违反本办法第八条至第十条规定的，处一千元罚款。") == [8, 9, 10]
    assert cited_articles("违反本条例第十条、第十二条第一款第三项规定的") == [10, 12]
    assert cited_articles("违反本条例规定，由有关部门责令改正。") == []  # no article named
    assert cited_articles("依照本条例第十条的规定办理。") == []  # a reference, not a violation


def test_article_number_of_a_section_path():
    assert article_number("第三章 服务规范 › 第二十一条") == 21
    assert article_number("第一百零五条") == 105
    assert article_number("第三章 服务规范") is None and article_number("") is None


def _chunk(i, section, text, doc="reg", start=None, kind="text"):
    return Chunk(f"c{i}", doc, section, text, i * 100 if start is None else start, i * 100 + len(text), 10, kind)


CHUNKS = [
    _chunk(0, "", "某市家政服务条例 某市人大常委会", kind="card"),
    _chunk(1, "第一章 总则 › 第五条", "第五条家政服务机构应当建立投诉处理机制，及时处理客户投诉。"),
    _chunk(2, "第一章 总则 › 第六条", "第六条家政服务人员应当持证上岗。"),
    _chunk(3, "第二章 法律责任 › 第二十条", "第二十条违反本条例第五条规定，未处理投诉的，由商务主管部门责令改正；"
                                          "拒不改正的，处二千元以上二万元以下罚款。"),
    _chunk(4, "第二章 法律责任 › 第二十一条", "第二十一条违反本条例第六条规定的，处五百元罚款。"),
    # the same numbers in another document: no link across documents
    _chunk(5, "第五条", "第五条旅行社应当公示收费标准。", doc="other"),
    _chunk(6, "第九条", "第九条违反本条例第五条规定的，处一万元罚款。", doc="other"),
]


def test_citing_rows_link_an_obligation_to_its_penalty_within_one_document():
    links = citing_rows(CHUNKS, range(5))
    assert links == {1: (3,), 2: (4,)}
    assert citing_rows(CHUNKS, [5, 6]) == {5: (6,)}


def test_document_citations_are_built_per_document_on_first_use():
    doc_of_row = np.array([0, 0, 0, 0, 0, 1, 1])
    citations = DocumentCitations(CHUNKS, doc_of_row, (np.arange(5), np.array([5, 6])))
    assert citations.get(1) == (3,) and citations.get(5) == (6,)
    assert citations.get(0) is None and 3 not in citations and citations.get("x") is None
    assert dict(citations) == {1: (3,), 2: (4,), 5: (6,)} and len(citations) == 3


def test_add_citing_rows_puts_the_penalty_right_after_the_obligation():
    citing = {1: (3,), 2: (4,)}
    # the penalty ranked 4th comes right after its obligation (1st); the protected rows stay in the window
    assert add_citing_rows([1, 7, 8, 3, 9], citing, 5, [1, 7]) == [1, 3, 7, 8, 9]
    # a penalty outside the ranking is added behind the obligation, pushing the window's last row down
    assert add_citing_rows([7, 1, 8, 9, 10], citing, 5, [7, 1]) == [7, 1, 3, 8, 9, 10]
    # already ranked before its obligation: nothing moves
    assert add_citing_rows([3, 1, 8], citing, 5, [3, 1]) == [3, 1, 8]
    # only the first three places bring their penalty
    assert add_citing_rows([7, 8, 9, 1, 10], citing, 5, [7, 8]) == [7, 8, 9, 1, 10]
    # two obligations: each penalty after its own article, at most two in all
    assert add_citing_rows([1, 2, 7], citing, 5, [1, 2]) == [1, 3, 2, 4, 7]


@pytest.mark.parametrize("question, penalty", [
    ("家政公司不处理客户投诉，最多罚多少钱？", True),
    ("不按规定分类投放垃圾会有什么后果？", True),
    ("违反规定要承担什么法律责任？", True),
    ("家政服务机构应当建立什么机制？", False),
])
def test_penalty_questions(question, penalty):
    assert (PENALTY_QUESTION.search(question) is not None) == penalty


def test_a_penalty_question_gets_the_penalty_article_right_after_the_obligation(tmp_path):
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.pipeline import PolicyQA
    from rag.understand.query import chinese_numeral, plan_query

    topics = ["客户投诉登记", "客户投诉回访", "投诉处理时限", "客户投诉统计", "投诉信息公开", "客户投诉档案"]
    filler = [f"第{chinese_numeral(n)}条 家政服务机构应当做好{topics[n % len(topics)]}工作。" for n in range(6, 20)]
    articles = [
        "第一章 总则",
        "第一条 为了规范家政服务，保障家政服务消费者和家政服务人员的合法权益，制定本条例。",
        "第二条 本条例适用于本市行政区域内的家政服务及其监督管理活动。",
        "第三条 市商务主管部门负责本市家政服务的监督管理工作。",
        "第四条 家政服务人员应当遵守职业道德，尊重客户隐私。",
        "第五条 家政服务机构应当建立方便、快捷的客户投诉处理机制，公开投诉电话，及时处理客户投诉。",
        *filler,
        "第二章 法律责任",
        ("第二十条 违反本条例第五条规定的，由商务主管部门责令改正；"
        "拒不改正的，可以处二千元以上二万元以下罚款。"),
        "第二十一条 违反本条例第四条规定，泄露客户隐私的，依法承担法律责任。",
    ]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "某市家政服务条例.md").write_text("某市家政服务条例\n\n" + "\n\n".join(articles) + "\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    # the citing article placed right after the obligation (the value ranking off: it alone would lift
    # the article stating the amount, the only one in 元)
    qa = PolicyQA(settings.with_(use_value_ranking=False), auto_ingest=False)
    question = "家政公司不处理客户投诉，最多罚多少钱？"
    hits = [h for h in qa.retrieve(question, 5)]
    sections = [h.chunk.section for h in hits]
    obligation = next(i for i, s in enumerate(sections) if s.endswith("第五条"))
    assert obligation < 3 and sections[obligation + 1].endswith("第二十条")
    # with the value ranking the penalty article stating the amount comes first, the obligation next to it
    sections = [h.chunk.section for h in PolicyQA(settings, auto_ingest=False).retrieve(question, 5)]
    assert sections[0].endswith("第二十条") and sections[1].endswith("第五条")
    index = qa.retriever.index if hasattr(qa, "retriever") else qa._retriever.index
    assert plan_query(question, index, settings).asks_penalty


def test_a_compared_penalty_question_gets_each_places_penalty_article(tmp_path):
    """分别会怎么罚 over two places: each place's slots hold its obligation article and, right after it,
    the penalty article citing it (``_comparison_slots`` with ``add_citing_rows`` per scope)."""
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.pipeline import PolicyQA
    from rag.understand.query import chinese_numeral, plan_query

    docs = tmp_path / "docs"
    docs.mkdir()
    for city in ("洛阳市", "开封市"):
        filler = [f"第{chinese_numeral(n)}条 物业服务企业发现堆物占用楼道的，应当劝阻；劝阻无效的，"
                  f"报告有关部门依法罚款（第{n}号）。" for n in range(6, 20)]
        articles = [
            "第一章 总则",
            f"第一条 为了预防火灾，制定本条例。本条例适用于{city}行政区域。",
            "第五条 禁止在楼道、楼梯间为电动自行车充电，禁止在楼道停放电动自行车。\n"
            + "\n".join(f"物业服务企业应当每{n}日巡查楼道，发现在楼道、楼梯间为电动自行车充电的，应当劝阻并记录，"
                        "对劝阻无效的，应当报告消防救援机构；住宅小区应当设置电动自行车集中充电场所，"
                        "配置符合用电安全要求的充电设施，采取防火分隔措施，确保楼道畅通。" for n in range(1, 8)),
            *filler,
            "第二章 法律责任",
            "第二十条 违反本条例第五条规定的，由消防救援机构责令改正，处五百元以上二千元以下的罚款。",
        ]
        (docs / f"{city}消防条例.md").write_text(f"{city}消防条例\n\n" + "\n\n".join(articles) + "\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    qa = PolicyQA(settings.with_(use_value_ranking=False), auto_ingest=False)
    question = "在楼道里给电动自行车充电，洛阳和开封分别会怎么罚？"
    index = qa.retriever.index if hasattr(qa, "retriever") else qa._retriever.index
    plan = plan_query(question, index, settings)
    assert plan.compare and plan.asks_penalty
    hits = qa.retrieve(question, 5)
    penalties = {h.chunk.doc_id for h in hits if h.chunk.section.endswith("第二十条")}
    assert len(penalties) == 2, [(h.chunk.doc_id, h.chunk.section) for h in hits]
