"""rag.text (normalize, sentences, tokens) and rag.retrieve.hybrid's pure parts (RRF, Filters)."""

from __future__ import annotations

from datetime import date

import pytest

from rag.ingest.corpus import load_manifest
from rag.index.store import chunk_metadata
from rag.retrieve.hybrid import NO_FILTERS, Filters, reciprocal_rank_fusion
from rag.text import STOPWORDS, Tokenizer, count_tokens, normalize, split_sentences
from rag.types import Chunk, DocumentMeta

from core_support import CORPUS_DIR

USERDICT = CORPUS_DIR / "userdict.txt"


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer(USERDICT)


# --- tokenizer ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, term", [
    ("支持专精特新发展", "专精特新"),
    ("积极发展新型储能产业", "新型储能"),
    ("大力推进建圈强链工作", "建圈强链"),
    ("加快建圈强链。", "建圈强链"),
])
def test_policy_terms_kept_whole(tokenizer, text, term):
    assert term in tokenizer.tokens(text)


def test_stopwords_and_punctuation_removed(tokenizer):
    words = tokenizer.words("请问我们公司有哪些政策支持？")
    tokens = tokenizer.tokens("请问我们公司有哪些政策支持？")
    assert "请问" in words and "哪些" in words
    assert not set(tokens) & STOPWORDS
    assert "支持" in tokens
    assert not any(t in {"？", "?", "，", "。"} for t in words)
    assert tokenizer.tokens("的了和与及，。？") == []


def test_tokens_are_nfkc_and_lowercase(tokenizer):
    assert "6g" in tokenizer.tokens("支持６G发展")
    assert "ai" in tokenizer.tokens("发展ＡＩ产业")
    assert tokenizer.tokens("２０２７年") == tokenizer.tokens("2027年")


def test_tokens_keep_numbers(tokenizer):
    assert "30" in tokenizer.tokens("培育30家以上具有全国影响力的行业领军企业")


def test_count_tokens_offline():
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("人工智能") >= 2
    assert count_tokens("<|endoftext|>") > 1  # special tokens are plain text, never an error


# --- normalize / split_sentences ------------------------------------------------------------------
def test_normalize():
    assert normalize("２０２４年 \t６G\u3000ＡＩ\n") == "2024年6GAI"
    assert normalize("构建“６＋N”的未来产业") == "构建“6+N”的未来产业"
    assert normalize("12％以上") == "12%以上"
    assert normalize("常态化运行 10 条以上通航载客 (货)航线") == "常态化运行10条以上通航载客(货)航线"


def _sentences(text):
    return [text[s:e] for s, e in split_sentences(text)]


def test_split_sentences_punctuation():
    text = "第一句。第二句；第三句！第四句？Fifth! 六;七?八"
    assert _sentences(text) == ["第一句。", "第二句；", "第三句！", "第四句？", "Fifth!", "六;", "七?", "八"]


def test_split_sentences_period_after_chinese_not_in_decimals():
    text = "资金规模达到1.5亿元.为此制定本意见.版本v2.0发布。"
    assert _sentences(text) == ["资金规模达到1.5亿元.", "为此制定本意见.", "版本v2.0发布。"]
    assert _sentences("2.机器人。") == ["2.机器人。"]


def test_split_sentences_closing_quotes_and_brackets_stay():
    assert _sentences("提出“加快发展。”然后（见附件。）再说】") == ["提出“加快发展。”", "然后（见附件。）", "再说】"]


def test_split_sentences_line_breaks_and_offsets():
    text = "  前面有空格。  \n\n后面没有标点\n最后一句。"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["前面有空格。", "后面没有标点", "最后一句。"]
    assert split_sentences(text, offset=100) == [(s + 100, e + 100) for s, e in spans]
    assert split_sentences("") == [] and split_sentences("\n \n") == []


# --- reciprocal rank fusion ------------------------------------------------------------------------
def test_rrf_hand_computed():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    expected = {1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61, 4: 1 / 63}
    assert [i for i, _ in fused] == [1, 3, 2, 4]
    for item, score in fused:
        assert score == pytest.approx(expected[item], abs=1e-12)


def test_rrf_default_k_is_60_and_weights():
    assert reciprocal_rank_fusion([[7]]) == [(7, pytest.approx(1 / 61))]
    fused = dict(reciprocal_rank_fusion([[1, 2], [2, 1]], k=60, weights=[2.0, 1.0]))
    assert fused[1] == pytest.approx(2 / 61 + 1 / 62)
    assert fused[2] == pytest.approx(2 / 62 + 1 / 61)


def test_rrf_ties_keep_first_appearance_and_empty_lists():
    assert [i for i, _ in reciprocal_rank_fusion([[5, 6], [6, 5]])] == [5, 6]
    assert [i for i, _ in reciprocal_rank_fusion([[9], [8]])] == [9, 8]
    assert reciprocal_rank_fusion([[], []]) == []
    assert reciprocal_rank_fusion([[], [4, 2]]) == [(4, pytest.approx(1 / 61)), (2, pytest.approx(1 / 62))]


# --- filters -----------------------------------------------------------------------------------
METAS = {s.meta.doc_id: s.meta for s in load_manifest(CORPUS_DIR)}
DAY = date(2026, 11, 20)


def test_filters_allow_in_force_on_2026_11_20():
    f = Filters(in_force_on=DAY)
    allowed = {d for d, m in METAS.items() if f.allows(m)}
    # 001 is a draft, 002 ended 2020, 004 ended 2025; 000 runs to 2027, 003 has no end year
    assert allowed == {"sc-emerging-future-2025", "cd-future-industries-2024"}


def test_filters_region_and_doc_ids():
    assert {d for d, m in METAS.items() if Filters(region="成都市").allows(m)} == {
        "cd-future-industries-2024", "cd-manufacturing-14th"}
    assert {d for d, m in METAS.items() if Filters(doc_ids=("sc-sei-13th",)).allows(m)} == {"sc-sei-13th"}
    assert not any(Filters(doc_ids=()).allows(m) for m in METAS.values())
    assert all(NO_FILTERS.allows(m) for m in METAS.values())
    both = Filters(region="四川省", in_force_on=DAY)
    assert {d for d, m in METAS.items() if both.allows(m)} == {"sc-emerging-future-2025"}


def test_filters_in_force_on_earlier_days():
    assert {d for d, m in METAS.items() if Filters(in_force_on=date(2018, 6, 1)).allows(m)} == {"sc-sei-13th"}
    assert {d for d, m in METAS.items() if Filters(in_force_on=date(2024, 6, 1)).allows(m)} == {
        "cd-future-industries-2024", "cd-manufacturing-14th"}


def test_chroma_where_shapes():
    assert NO_FILTERS.chroma_where() is None
    assert Filters(region="成都市").chroma_where() == {"region": "成都市"}
    assert Filters(doc_ids=("a", "b")).chroma_where() == {"doc_id": {"$in": ["a", "b"]}}
    assert Filters(doc_ids=()).chroma_where() == {"doc_id": {"$in": ["__none__"]}}
    where = Filters(doc_ids=("a",), region="四川省", in_force_on=DAY).chroma_where()
    assert where == {"$and": [{"doc_id": {"$in": ["a"]}}, {"region": "四川省"},
                              {"period_start": {"$lte": 2026}}, {"period_end": {"$gte": 2026}}, {"draft": False}]}


def _matches(where: dict | None, md: dict) -> bool:
    """A tiny evaluator of the Chroma ``where`` subset the library emits."""
    if where is None:
        return True
    if "$and" in where:
        return all(_matches(w, md) for w in where["$and"])
    (key, cond), = where.items()
    if not isinstance(cond, dict):
        return md[key] == cond
    (op, value), = cond.items()
    return {"$in": lambda: md[key] in value, "$lte": lambda: md[key] <= value,
            "$gte": lambda: md[key] >= value, "$eq": lambda: md[key] == value}[op]()


@pytest.mark.parametrize("filters", [
    NO_FILTERS, Filters(region="成都市"), Filters(region="四川省"), Filters(in_force_on=DAY),
    Filters(in_force_on=date(2021, 1, 1)), Filters(in_force_on=date(2016, 1, 1)), Filters(in_force_on=date(2030, 1, 1)),
    Filters(doc_ids=("sc-hitech-14th-draft", "cd-manufacturing-14th"), in_force_on=date(2023, 5, 1)),
    Filters(doc_ids=()),
])
def test_chroma_where_agrees_with_allows(filters):
    """The lexical mask (allows) and the vector-store filter (chroma_where) select the same documents."""
    metas = list(METAS.values()) + [DocumentMeta("loose", "x.txt", "x.txt", "无元数据")]
    for meta in metas:
        chunk = Chunk("c", meta.doc_id, "", "文本", 0, 2, 1)
        assert _matches(filters.chroma_where(), chunk_metadata(chunk, meta)) == filters.allows(meta), meta.doc_id


def test_document_meta_periods():
    draft = METAS["sc-hitech-14th-draft"]
    assert draft.is_draft and not draft.in_force_on(date(2023, 1, 1))
    assert METAS["sc-sei-13th"].expired_on(DAY) and METAS["sc-sei-13th"].period_label() == "2016—2020年"
    assert not METAS["cd-future-industries-2024"].expired_on(date(2099, 1, 1))
    assert METAS["cd-future-industries-2024"].period_label() == "2024年起"
    assert DocumentMeta("x", "x", "x", "t").period_label() == ""


# --- regulation articles cut into pieces ------------------------------------------------------------
def _article_index():
    from types import SimpleNamespace

    def chunk(i, doc, section, start, kind="text"):
        return Chunk(f"c{i}", doc, section, "x", start, start + 1, 1, kind)

    return SimpleNamespace(chunks=[
        chunk(0, "a", "第四章 分类投放 › 第二十六条", 100),  # head of a two-piece article
        chunk(1, "a", "第四章 分类投放 › 第二十七条", 300),  # a whole article
        chunk(2, "a", "第四章 分类投放 › 第二十六条", 200),  # its second piece
        chunk(3, "b", "第四章 分类投放 › 第二十六条", 100),  # another document's article of that number
        chunk(4, "a", "一、总体要求 › （一）指导思想", 0),  # a plan section in two chunks: no article
        chunk(5, "a", "一、总体要求 › （一）指导思想", 50),
        chunk(6, "a", "", 0, kind="card"),
    ])


def test_article_pieces_group_the_chunks_of_one_article_only():
    from rag.retrieve.fusion import article_pieces

    pieces = article_pieces(_article_index())
    assert pieces == {0: (0, 2), 2: (0, 2)}


def test_article_pieces_take_the_place_of_the_best_ranked_piece():
    from rag.retrieve.fusion import article_pieces, with_article_pieces

    pieces = article_pieces(_article_index())
    assert with_article_pieces([2, 1, 0, 3], pieces) == [0, 2, 1, 3]  # head and second piece where the second ranked
    assert with_article_pieces([1, 0, 5], pieces) == [1, 0, 2, 5]
    assert with_article_pieces([1, 4], pieces) == [1, 4]
    fused = [row for row, _ in reciprocal_rank_fusion([with_article_pieces(r, pieces) for r in ([3, 1, 2], [0, 5, 1])])]
    assert fused.index(0) < 3 and fused.index(2) < 3  # both pieces of the article both rankings found


def test_fusion_counts_an_articles_pieces_at_its_best_rank_without_displacing_other_rows():
    from rag.retrieve.fusion import PIECE_OFFSET, article_pieces

    pieces = article_pieces(_article_index())  # rows 0 and 2 are the two pieces of one article
    fused = dict(reciprocal_rank_fusion([[2, 1, 3]], k=60, pieces=pieces))
    assert fused[2] == 1 / 61 and fused[0] == 1 / (61 + PIECE_OFFSET)  # the head one place behind its piece
    assert fused[1] == 1 / 62 and fused[3] == 1 / 63  # the rows after the article keep their ranks
    # a piece a list ranks better itself keeps that rank; each piece counts once per list
    fused = dict(reciprocal_rank_fusion([[0, 1, 2]], k=60, pieces=pieces))
    assert fused[0] == 1 / 61 and fused[2] == 1 / (61 + PIECE_OFFSET)
    assert dict(reciprocal_rank_fusion([[2, 1, 0]], k=60)) == {2: 1 / 61, 1: 1 / 62, 0: 1 / 63}  # no pieces: plain RRF
