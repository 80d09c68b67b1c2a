"""A document named by place and topic that no indexed document matches (rag.understand.references.unmatched_region,
unmatched_document; rag.understand.query.QueryPlan.unmatched_reference) is no reference to the place's other documents,
and the answer says that no indexed document matches instead of stating their facts (rag.pipeline).
Abbreviated and partial references still resolve. Hand-made documents only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.understand.references import (
    _cues,
    document_scopes,
    resolve_reference,
    unmatched_document,
    unmatched_region,
)
from rag.text import Tokenizer
from rag.types import DocumentMeta


def _meta(doc_id, title, region):
    return DocumentMeta(doc_id, f"{doc_id}.md", f"{doc_id}.md", title, region=region, level="市级")


DOCS = {m.doc_id: m for m in [
    _meta("jia-safety", "甲市安全生产条例", "甲市"),
    _meta("jia-fire", "甲市消防条例", "甲市"),
    _meta("jia-heritage", "甲市非物质文化遗产条例", "甲市"),
    _meta("jia-tech", "甲市科技创新促进条例", "甲市"),
    _meta("yi-waste", "乙市生活垃圾管理条例", "乙市"),
    _meta("yi-volunteer", "乙市志愿服务条例", "乙市"),
    _meta("bing-data", "丙市数据条例", "丙市"),
    _meta("bing-aid", "丙市社会急救医疗管理条例", "丁省"),  # a city's regulation read as its province's
    _meta("bing-fire", "丙市实施消防法办法", "丙市"),
    _meta("wu-safety", "戊市安全生产监督管理条例", "戊市"),
    _meta("wu-park", "戊市停车场管理条例", "戊市"),
    _meta("wu-farm", "戊市促进农业科技进步若干规定", "戊市"),
    _meta("wu-science", "戊市科学技术进步条例", "戊市"),
    _meta("ji-land", "己市土地管理条例", "己市"),
    _meta("ji-estate", "己市住宅物业管理条例", "己市"),
]}


@pytest.fixture(scope="module")
def index():
    return SimpleNamespace(docs=DOCS, tokenizer=Tokenizer(None))


def test_a_topic_no_document_of_the_place_has_is_unmatched(index):
    cues, topics = _cues(index)
    assert unmatched_region("甲市的生活垃圾分类条例", cues, topics) == "甲市"
    assert resolve_reference("甲市的生活垃圾分类条例", cues, topics) == ()  # not every 甲市 document
    found = unmatched_document("甲市的生活垃圾分类条例什么时候施行？", index)
    assert found is not None and found.mention == "甲市的生活垃圾分类条例" and found.region == "甲市"
    assert set(found.suggestions) == {"甲市安全生产条例", "甲市消防条例", "甲市非物质文化遗产条例", "甲市科技创新促进条例"}
    assert "甲市的生活垃圾分类条例" in found.reason and "《甲市消防条例》" in found.reason
    assert document_scopes("甲市的生活垃圾分类条例什么时候施行？", index) == ()


def test_a_common_word_alone_does_not_match_and_the_place_is_read_from_the_names_too(index):
    # 管理 is in many names: 急救医疗管理条例 is not the 物业管理条例 of 丙市
    found = unmatched_document("丙市的物业管理条例什么时候施行？", index)
    assert found is not None and "丙市社会急救医疗管理条例" in found.suggestions
    assert unmatched_document("丙市的急救条例什么时候施行？", index) is None


@pytest.mark.parametrize("question, doc_id", [
    ("丙市的急救条例什么时候施行？", "bing-aid"),  # the region read otherwise: the name says 丙市
    ("丙市消防条例什么时候施行？", "bing-fire"),  # another kind word: the place's document on the topic
    ("戊市科技条例什么时候施行？", "wu-science"),  # an abbreviation of its kind before a topic word of another

    ("乙市的生活垃圾分类条例什么时候施行？", "yi-waste"),  # partial: shares 生活/垃圾 with the title
    ("甲市科创条例什么时候施行？", "jia-tech"),  # an abbreviation of 科技创新促进
    ("甲市的安全条例什么时候施行？", "jia-safety"),
    ("甲市消防条例什么时候施行？", "jia-fire"),
])
def test_partial_and_abbreviated_references_still_resolve(index, question, doc_id):
    assert unmatched_document(question, index) is None
    assert [ids for _label, ids in document_scopes(question, index)] == [(doc_id,)]


@pytest.mark.parametrize("question", [
    "甲市的条例有哪些？",  # no topic words: every document of the place
    "甲市的消防办法什么时候施行？",  # another kind word: the place's document on that topic may be meant
    "生活垃圾分类条例什么时候施行？",  # no place
    "丁市的生活垃圾条例什么时候施行？",  # a place no document covers (rag.answer.refusal's place rule)
])
def test_references_that_are_no_unmatched_document(index, question):
    assert unmatched_document(question, index) is None


def test_the_answer_says_no_indexed_document_matches(tmp_path):
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.pipeline import PolicyQA
    from rag.understand.query import plan_query

    docs = tmp_path / "docs"
    docs.mkdir()
    texts = {  # real places: the region is read from the text through the gazetteer
        "南京市安全生产条例": "第一条 为了加强安全生产工作，制定本条例。\n\n第二条 本条例自2016年3月1日起施行。",
        "南京市消防条例": "第一条 为了预防火灾，制定本条例。\n\n第二条 本条例自2014年1月1日起施行。",
        "苏州市生活垃圾管理条例": "第一条 为了加强生活垃圾分类管理，制定本条例。\n\n第二条 本条例自2019年7月1日起施行。",
    }
    for title, body in texts.items():
        (docs / f"{title}.md").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    qa = PolicyQA(settings, auto_ingest=False)
    answer = qa.ask("南京市的生活垃圾分类条例什么时候施行？")
    assert answer.refused and not answer.citations
    assert any("没有与“南京市的生活垃圾分类条例”相符的文件" in n for n in answer.notices)
    assert "2016" not in answer.text and "2014" not in answer.text  # no other document's 施行 date
    plan = plan_query("南京市的生活垃圾分类条例什么时候施行？", qa.retriever.index, settings)
    assert plan.unmatched_reference is not None
    from rag.answer.extractive import score_sentences
    from rag.answer.focus import question_terms
    from rag.answer.refusal import hard_refusal

    index = qa.retriever.index
    question = "南京市的生活垃圾分类条例有哪些规定？"  # a content question: the hard rule, for every caller
    scored = score_sentences(question, qa.retrieve(question), question_terms(question, index.tokenizer, index.idf))
    decision = hard_refusal(question, scored, index)
    assert decision is not None and decision.rule == "unmatched_document"
    answer = qa.ask("苏州市的生活垃圾分类条例什么时候施行？")  # a partial reference of an indexed title
    assert not answer.refused and "2019" in answer.text
