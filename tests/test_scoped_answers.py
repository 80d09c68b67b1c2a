"""Extractive answers on small hand-made passages: a question scoped to a place quotes that place's
documents (rag.extractive.scoped_order)."""

from __future__ import annotations

from rag.extractive import compose, score_sentences, scope_regions, scoped_order
from rag.types import Chunk, DocumentMeta, Hit

DOCS = {
    "sh": DocumentMeta("sh", "a.txt", "a.txt", "上海市生活垃圾管理条例", ("生活垃圾管理条例",), region="上海市"),
    "ta": DocumentMeta("ta", "b.txt", "b.txt", "泰安市生活垃圾分类管理条例", ("生活垃圾分类管理条例",), region="泰安市"),
    "nat": DocumentMeta("nat", "d.txt", "d.txt", "固体废物污染环境防治法", ("固废法",), region="全国"),
}


def _hit(text: str, doc_id: str, rank: int, section: str = "第三章 源头减量 › 第二十二条") -> Hit:
    chunk = Chunk(f"{doc_id}-{rank}", doc_id, section, text, 0, len(text), len(text))
    return Hit(rank, 1.0 / rank, chunk, DOCS[doc_id].title)


SH = "餐饮服务提供者不得主动向消费者提供一次性筷子、调羹等餐具。"
TA = "旅游、住宿、餐饮、娱乐等行业应当推行不主动提供一次性餐具、生活用品等一次性用品。"
TERMS = {"上海": 1.6, "餐饮": 8.0, "提供": 2.0, "一次性": 5.0, "餐具": 6.7}


def test_scope_regions_are_the_retrieved_documents_regions_a_question_term_names():
    assert scope_regions(TERMS, DOCS, ["ta", "sh"]) == ("上海市",)
    assert scope_regions({"上海市": 1.0}, DOCS, ["sh", "ta"]) == ("上海市",)
    assert scope_regions({"餐具": 1.0}, DOCS, ["sh", "ta", "nat"]) == ()  # no place named; 全国 names none


def test_another_places_sentence_sharing_more_words_does_not_answer_a_scoped_question():
    q = "上海餐饮企业不提供一次性餐具有什么规定？"
    hits = [_hit(SH, "sh", 1), _hit(TA, "ta", 4)]
    scored = score_sentences(q, hits, TERMS)
    assert scored[0].hit.chunk.doc_id == "ta"  # more words in common, and an enumeration: it scores first
    ordered = scoped_order(scored, TERMS, DOCS)
    assert [s.hit.chunk.doc_id for s in ordered] == ["sh"]
    text, citations = compose(scored, docs=DOCS, wants_list=True, terms=TERMS)
    assert SH in text and TA not in text and {c.doc_id for c in citations} == {"sh"}


def test_national_documents_stay_and_an_unscoped_question_is_unchanged():
    hits = [_hit(SH, "sh", 1), _hit(TA, "ta", 2), _hit("产品经营者不得主动提供一次性餐具。", "nat", 3)]
    q = "上海餐饮企业不提供一次性餐具有什么规定？"
    ordered = scoped_order(score_sentences(q, hits, TERMS), TERMS, DOCS)
    assert {s.hit.chunk.doc_id for s in ordered} == {"sh", "nat"}
    terms = {k: v for k, v in TERMS.items() if k != "上海"}
    scored = score_sentences("餐饮企业不提供一次性餐具有什么规定？", hits, terms)
    assert scoped_order(scored, terms, DOCS) == scored


def test_out_of_scope_sentences_stay_when_the_scoped_documents_hold_only_the_place_name():
    hits = [_hit("本条例适用于本市行政区域内生活垃圾的管理。", "sh", 1), _hit(TA, "ta", 2)]
    q = "上海餐饮企业不提供一次性餐具有什么规定？"
    scored = score_sentences(q, hits, TERMS)
    assert scoped_order(scored, TERMS, DOCS) == scored
