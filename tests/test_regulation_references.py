"""Regulations referred to as people do (rag.understand.references, rag.answer.meta_answers) and their cards (rag.ingest.corpus.build_card):
names derived from the title and the region read from the text, two dated versions of one title as one
reference, questions about a regulation's adoption, revision and 施行 dates, header lines quoted on the card
as the cleaned text writes them. Synthetic documents only (no corpus needed)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.ingest.corpus import build_card
from rag.understand.meta_questions import asks_about_document
from rag.understand.references import (derived_names,
                                       document_scopes,
                                       reference_mentions,
                                       referenced_documents,
                                       region_names)
from rag.ingest.metadata import bare_region
from rag.text import Tokenizer, normalize
from rag.types import DocumentMeta


def _meta(doc_id, title, region, date=None):
    return DocumentMeta(doc_id, f"{doc_id}.md", f"{doc_id}.md", title, region=region, date=date,
                        level="省级" if region.endswith("省") or region in ("甲市",) else "市级")


DOCS = {m.doc_id: m for m in [
    _meta("park-old", "甲市机动车停车条例", "甲市", "2021-09-24"),
    _meta("park-new", "甲市机动车停车条例", "甲市", "2024-03-29"),
    _meta("safety-a", "甲市安全生产条例", "甲市", "2022-05-25"),
    _meta("safety-b", "乙江省安全生产条例", "乙江省", "2021-12-03"),
    _meta("waste-c", "丙州市生活垃圾管理条例", "丙州市", "2019-08-15"),
    _meta("zone-d", "丁圳经济特区数据条例", "丁圳市", "2021-07-06"),
    _meta("farm-e", "戊海市促进农业科技进步若干规定", "戊海市", "2024-11-28"),
]}


@pytest.fixture(scope="module")
def index():
    return SimpleNamespace(docs=DOCS, tokenizer=Tokenizer(None))


def test_derived_names_strip_the_region_read_from_the_text():
    assert bare_region("乙江省") == "乙江" and bare_region("丙州市") == "丙州" and bare_region("北京") == "北京"
    assert derived_names(DOCS["park-new"]) == ("机动车停车条例",)  # a two-character region keeps its suffix
    assert derived_names(DOCS["waste-c"]) == ("丙州生活垃圾管理条例", "生活垃圾管理条例")
    assert derived_names(DOCS["zone-d"]) == ("丁圳数据条例", "数据条例")  # the zone word belongs to the place
    # a title that does not start with its region, or whose rest is a bare kind word, gives none
    assert derived_names(_meta("x", "关于修改部分地方性法规的决定", "甲市")) == ()
    assert derived_names(_meta("y", "丙州市条例", "丙州市")) == ()
    # only names that carry the region name one document (or its versions)
    assert "生活垃圾管理条例" not in region_names(DOCS["waste-c"]) and "丙州生活垃圾管理条例" in region_names(DOCS["waste-c"])


def test_region_qualified_short_name_references_the_document(index):
    assert referenced_documents("丙州生活垃圾管理条例第几条讲分类？", DOCS) == ("waste-c",)
    assert referenced_documents("生活垃圾管理条例第几条讲分类？", DOCS) == ()  # no region: not one document


def test_two_versions_of_one_title_are_one_reference(index):
    scopes = document_scopes("甲市机动车停车条例最近一次修改是什么时候？", index)
    assert [set(ids) for _label, ids in scopes] == [{"park-old", "park-new"}]


def test_regulation_kind_words_make_references_resolved_by_region_and_topic(index):
    scopes = document_scopes("乙江的安全生产条例修订后从哪天开始执行？", index)
    assert [ids for _label, ids in scopes] == [("safety-b",)]
    scopes = document_scopes("戊海促进农业科技进步若干规定修订后什么时候生效？", index)
    assert [ids for _label, ids in scopes] == [("farm-e",)]


def test_asking_what_a_rule_says_is_no_document_reference():
    q = "对代表性传承人分别有什么规定？"
    assert all("规定" not in q[a:b] for a, b in reference_mentions(q))
    assert not asks_about_document("上海和重庆的非遗条例，对代表性传承人分别有什么规定？")


@pytest.mark.parametrize("question", [
    "甲市现行的安全生产条例是哪天施行的？",
    "丙州的生活垃圾管理条例是哪天经省人大常委会批准的？",
    "甲市机动车停车条例最近一次修改是什么时候？",
    "乙江省安全生产条例修订后从哪天开始执行？",
    "甲市审计条例是什么时候开始施行的？后来改过几次？",
    "戊海促进农业科技进步若干规定第二次修订是哪天通过的？什么时候施行？",
])
def test_questions_about_a_regulations_dates_are_about_the_document(question):
    assert asks_about_document(question)


@pytest.mark.parametrize("question", [
    "浙江省中医药条例施行时，原来的哪部条例废止了？",  # asks what the last article repeals: content
    "甲市单位不按规定分类投放生活垃圾，拒不改正的最高罚多少钱？",
])
def test_content_questions_stay_content_questions(question):
    assert not asks_about_document(question)


def test_card_quotes_header_lines_as_the_cleaned_text_writes_them():
    text = ("甲市机动车停车条例\n2018年3月30日甲市人民代表大会常务委员会第三次会议通过2024年3月29日甲市人民代表大会"
            "常务委员会第九次会议通过\n第一条为了……\n第四十三条本条例自2018年5月1日起施行。")
    meta = DOCS["park-new"]
    card = build_card(meta, ["甲市机动车停车条例", "2024年3月29日 甲市人民代表大会常务委员会第九次会议通过",
                             "第四十三条 本条例自2018年5月1日起施行。", "不在文中的一行"], text)
    quoted = card.text.split("原文：", 1)[1].split(" / ")
    assert quoted == ["甲市机动车停车条例", "2024年3月29日甲市人民代表大会常务委员会第九次会议通过",
                      "第四十三条本条例自2018年5月1日起施行。"]
    assert all(q in text for q in quoted)  # verbatim spans of the cleaned text
    assert normalize("2024年3月29日 甲市人民代表大会常务委员会") in normalize(card.text)


def test_version_order_puts_the_asked_version_first():
    from rag.understand.meta_questions import version_order

    both = ["park-old", "park-new"]
    assert version_order("甲市现行的机动车停车条例哪天施行？", both, DOCS) == ["park-new", "park-old"]
    assert version_order("甲市机动车停车条例修订前那一版哪天施行？", ["park-new", "park-old"], DOCS) == both
    assert version_order("甲市机动车停车条例哪天施行？", ["park-new", "park-old"], DOCS) == ["park-new", "park-old"]
    # documents of different titles are not versions: left as they are
    assert version_order("现行的条例", ["safety-b", "safety-a"], DOCS) == ["safety-b", "safety-a"]


def test_metadata_answer_states_the_effective_day_as_the_text_writes_it(monkeypatch):
    import datetime as dt

    import rag.answer.meta_answers as ma

    text = ("甲市机动车停车条例\n2024年3月29日甲市人民代表大会常务委员会第九次会议通过\n第一条为了……\n"
            "第四十三条本条例自2018年5月1日起施行。")
    meta = DocumentMeta("park-new", "a.md", "a.md", "甲市机动车停车条例", region="甲市", date="2024-03-29",
                        effective_date="2018-05-01")
    card = build_card(meta, ["2024年3月29日 甲市人民代表大会常务委员会第九次会议通过",
                             "第四十三条 本条例自2018年5月1日起施行。"], text)
    monkeypatch.setattr(ma, "document_cards", lambda _index: {"park-new": card})
    index = SimpleNamespace(docs={"park-new": meta}, chunks=[card])
    answer, citations, known = ma.metadata_answer("甲市机动车停车条例是哪天施行的？", ("park-new",), [], index,
                                                  dt.date(2026, 1, 1))
    assert known and citations[0].chunk_id == card.chunk_id
    assert "自2018年5月1日起施行" in answer and "“第四十三条本条例自2018年5月1日起施行。”" in answer
    assert "成文日期为2024年3月29日甲市人民代表大会常务委员会第九次会议通过" in answer


def test_an_unstated_effective_day_is_said_first_and_a_regulation_gets_no_period_line(monkeypatch):
    import datetime as dt

    import rag.answer.meta_answers as ma
    from rag.understand.meta_questions import asked_metadata

    text = "乙市养老服务条例\n2019年12月27日乙市人民代表大会常务委员会第二十一次会议通过\n第一条为了……"
    meta = DocumentMeta("care", "b.md", "b.md", "乙市养老服务条例", region="乙市", date="2019-12-27")
    card = build_card(meta, ["2019年12月27日 乙市人民代表大会常务委员会第二十一次会议通过"], text)
    monkeypatch.setattr(ma, "document_cards", lambda _index: {"care": card})
    index = SimpleNamespace(docs={"care": meta}, chunks=[card])
    assert "effective" in asked_metadata("乙市养老服务条例是从哪天开始施行的？")
    assert "effective" in asked_metadata("该条例什么时候生效？")
    assert "effective" in asked_metadata("该条例是从哪天开始正式实行的？")  # 实行: the everyday word for 施行
    assert "effective" not in asked_metadata("该条例是哪天通过的？")
    answer, _citations, known = ma.metadata_answer("乙市养老服务条例是从哪天开始施行的？", ("care",), [], index,
                                                   dt.date(2026, 1, 1))
    # the adoption date answers nothing asked: not known, and the missing 施行日期 is said before it
    assert not known
    assert answer.index("文件未注明施行日期") < answer.index("成文日期为2019年12月27日")
    assert "规划期" not in answer
    still, _c, _k = ma.metadata_answer("乙市养老服务条例现在还有效吗？", ("care",), [], index, dt.date(2026, 1, 1))
    assert "规划期" not in still  # a regulation states no period: no "文件未注明规划期" for a validity question


def test_regions_of_the_indexed_documents_are_named_in_questions():
    from rag.understand.references import indexed_regions

    assert indexed_regions("乙江和丙州对生活垃圾分类的要求有什么不一样？", DOCS) == ("乙江省", "丙州市")
    assert indexed_regions("丙州市生活垃圾怎么分？", DOCS) == ("丙州市",)  # full and bare name count once
    assert indexed_regions("生活垃圾怎么分？", DOCS) == ()


def test_a_region_coordinated_before_a_reference_has_its_own_such_document(index):
    docs = {**DOCS, "tcm-a": _meta("tcm-a", "甲市中医药条例", "甲市"), "tcm-b": _meta("tcm-b", "乙江省中医药条例", "乙江省")}
    idx = SimpleNamespace(docs=docs, tokenizer=Tokenizer(None))
    scopes = dict((ids, label) for label, ids in document_scopes("甲市和乙江的中医药条例，哪个先施行？", idx))
    assert set(scopes) == {("tcm-a",), ("tcm-b",)}


def test_a_province_approving_a_citys_amendment_is_not_its_issuer():
    from rag.ingest.metadata import extract_metadata

    text = ("# 丙州市生活垃圾管理条例\n\n2015年6月26日 丙州市人民代表大会常务委员会第二十九次会议通过\n\n"
            "2015年7月30日 乙江省人民代表大会常务委员会第二十一次会议批准\n\n"
            "2019年8月1日 乙江省人民代表大会常务委员会第十三次会议批准的《丙州市人民代表大会常务委员会关于修改〈丙州市"
            "生活垃圾管理条例〉的决定》修正\n\n## 第一章 总则\n\n第一条 为了……\n\n第五十条 本条例自2015年10月1日起施行。\n")
    m = extract_metadata(text)
    assert m.issuer == "丙州市人民代表大会常务委员会"
    assert m.issued_date == "2019-08-01"


def test_a_region_and_two_topic_words_name_one_document_implicitly(index):
    from rag.understand.query import implicit_scope

    docs = {**DOCS, "sci-c": _meta("sci-c", "丙州市科学技术进步条例", "丙州市")}
    idx = SimpleNamespace(docs=docs, tokenizer=Tokenizer(None))
    scopes = implicit_scope("丙州单位不按规定分类投放生活垃圾，拒不改正的罚多少？", idx, "丙州市")
    assert [(s.doc_ids, s.implicit) for s in scopes] == [(("waste-c",), True)]
    assert implicit_scope("丙州的数据怎么交易？", idx, "丙州市") == []  # no topic word of its documents


def test_one_topic_word_names_a_document_when_the_question_says_it_means_one(index):
    from rag.understand.query import implicit_scope

    docs = {**DOCS, "sci-c": _meta("sci-c", "丙州市科学技术进步条例", "丙州市")}
    idx = SimpleNamespace(docs=docs, tokenizer=Tokenizer(None))
    scopes = implicit_scope("丙州的垃圾站关了要办什么手续？新旧两版条例一样吗？", idx, "丙州市")
    assert [s.doc_ids for s in scopes] == [("waste-c",)]  # 条例: a document is meant; 垃圾 says which
    assert implicit_scope("丙州的垃圾站关了，按规定要办什么手续？", idx, "丙州市") == []  # 按规定 names no document


def test_penalty_questions_add_the_named_documents_liability_chapter():
    from rag.understand.query import PENALTY_QUESTION, penalty_sections
    from rag.types import Chunk

    chunks = [Chunk("a", "d", "第八章 法律责任 › 第六十五条", "第六十五条……", 0, 5, 3),
              Chunk("b", "d", "第四章 分类投放 › 第二十七条", "第二十七条……", 5, 9, 3)]
    assert penalty_sections(SimpleNamespace(chunks=chunks)) == ("第八章法律责任",)
    assert PENALTY_QUESTION.search("拒不改正的最高罚多少钱？") and PENALTY_QUESTION.search("有人骗领补贴会怎么处理？")
    assert not PENALTY_QUESTION.search("生活垃圾分哪几类？")


def test_a_reference_abbreviating_a_title_names_that_document():
    docs = {**DOCS, "tech-f": _meta("tech-f", "甲市科技创新促进条例", "甲市", "2011-07-29")}
    index = SimpleNamespace(docs=docs, tokenizer=Tokenizer(None))
    assert [ids for _label, ids in document_scopes("甲市安生条例对企业有什么要求？", index)] == [("safety-a",)]
    assert [ids for _label, ids in document_scopes("甲市科创条例里有哪些专项资金？", index)] == [("tech-f",)]
    # no abbreviation of any name: every regulation of the place stays a candidate
    scopes = document_scopes("甲市那份条例里有哪些专项资金？", index)
    assert [set(ids) for _label, ids in scopes] == [{"park-old", "park-new", "safety-a", "tech-f"}]


def test_article_numbers_in_arabic_digits_are_read_as_the_regulations_write_them():
    from rag.ingest.chunking import cn_number
    from rag.understand.query import arabic_articles, chinese_numeral

    assert all(cn_number(chinese_numeral(n)) == n for n in range(1, 1000))
    assert [chinese_numeral(n) for n in (3, 10, 16, 26, 106, 110)] == ["三", "十", "十六", "二十六", "一百零六", "一百一十"]
    assert arabic_articles("甲市停车条例第26条和第3章说了什么？") == "甲市停车条例第二十六条和第三章说了什么？"
    assert arabic_articles("到2027年培育30家") == "到2027年培育30家"  # no article number
