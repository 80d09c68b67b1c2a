"""Short forms a question uses for the documents' terms, learnt from the indexed text (rag.understand.abbreviations)."""

from __future__ import annotations

from types import SimpleNamespace

from rag.understand.abbreviations import abbreviation_candidates, abbreviation_matches, expand_abbreviations, long_form
from rag.understand.query import plan_query
from rag.text import Tokenizer

HERITAGE = ("第一条 为了加强非物质文化遗产保护，制定本条例。第二条 非物质文化遗产代表性项目的保护。"
            "第三条 非物质文化遗产代表性传承人可以是个人或者团体。第四条 企业营业收入按年度申报。"
            "第五条 本市的营业收入统计，营业收入按季度公布。第六条 电能利用率应当提高，水资源利用率、土地利用率纳入考核。")


def _index(text: str = HERITAGE):
    """The fields of a loaded index the abbreviation functions read (texts, cards, tokenizer, document
    frequencies)."""
    tokenizer = Tokenizer()
    return SimpleNamespace(doc_texts={"d": text}, chunks=[], tokenizer=tokenizer, df=dict.fromkeys(tokenizer.tokens(text), 1))


def test_short_form_the_documents_never_write_gets_its_long_form():
    index = _index()
    assert abbreviation_matches("上海的非遗条例对传承人有什么规定？", index) == [("非遗", "非物质文化遗产")]
    assert ("营收", "营业收入") in abbreviation_matches("企业营收多少？", index)


def test_a_short_form_jieba_glued_to_the_next_word_is_found():
    # jieba cuts 非遗传承人 as 非 / 遗传 / 承人
    assert abbreviation_matches("非遗传承人有补助吗？", _index()) == [("非遗", "非物质文化遗产")]
    assert expand_abbreviations("非遗传承人有补助吗？", [("非遗", "非物质文化遗产")]) == "非物质文化遗产传承人有补助吗？"


def test_a_lone_verb_and_the_first_character_of_its_object_are_no_short_form():
    """打 / 报告 (给街道打报告) is no 打报 whose long form the corpus might hold (打击报复): the rest of 报告 (告) and
    告启动 are no words of the text, while 遗传 / 承人 leaves 传承人, which the text writes."""
    index = _index(HERITAGE + "对举报人打击报复的，依法处理。打击报复证人的，依法追究。禁止打击报复。")
    assert "打报" not in abbreviation_candidates("业委会换届要提前给街道打报告启动换届吗？", index)
    assert "非遗" in abbreviation_candidates("非遗传承人有补助吗？", index)


def test_a_two_character_short_form_begins_two_words_of_its_long_form():
    """新版 is no short form of 新闻出版 (版 only ends 出版), while 业委会 keeps 委员会's last character."""
    index = _index(HERITAGE + "新闻出版主管部门负责管理。" * 4 + "业主委员会由业主大会选举产生。" * 4)
    assert abbreviation_matches("新版条例有什么变化？", index) == []
    assert ("业委会", "业主委员会") in abbreviation_matches("业委会怎么换届？", index)


def test_words_the_documents_write_and_question_words_are_no_candidates():
    index = _index()
    assert "传承人" not in abbreviation_candidates("非遗传承人是谁？", index)  # written in the text
    assert not any("多少" in c or "什么" in c for c in abbreviation_candidates("要多少钱？有什么规定？", index))


def test_a_short_form_the_text_holds_only_across_words_is_still_a_candidate():
    # 人社 stands in 个人/社会 (two words), which is no writing of the short form 人社
    text = ("第一条 人力资源社会保障主管部门负责劳动保障监察。第二条 人力资源社会保障主管部门应当受理举报。"
            "第三条 人力资源社会保障主管部门立案后调查。第四条 违法行为记入个人社会信用档案。")
    index = _index(text)
    assert "人社" in abbreviation_candidates("人社部门多久调查完？", index)
    assert ("人社", "人力资源社会保障") in abbreviation_matches("人社部门多久调查完？", index)
    # a word the text writes as a word stays no candidate
    assert "信用" not in abbreviation_candidates("人社部门的信用档案", index)


def test_a_span_that_is_no_short_form_is_rejected():
    # 利率 is not 利用率: the long form is too short and 率 begins no word of it
    assert long_form("利率", _index()) is None
    # too rare: one occurrence is no long form
    assert long_form("电考", _index()) is None


def test_expansion_does_not_repeat_the_words_after_the_short_form():
    assert expand_abbreviations("全省战新产业规划", [("战新", "战略性新兴产业")]) == "全省战略性新兴产业规划"
    assert expand_abbreviations("非遗条例和非遗项目", [("非遗", "非物质文化遗产")]) == \
        "非物质文化遗产条例和非物质文化遗产项目"


def test_plan_searches_a_content_short_form_as_its_long_form(shared_qa):
    index = shared_qa.retriever.index
    plan = plan_query("成都医药健康产业2030年的营收目标是多少？", index, shared_qa.settings)
    assert {"营业", "收入"} <= set(plan.tokens)
    assert plan.question == "成都医药健康产业2030年的营收目标是多少？"  # the question as asked


def test_short_form_of_a_title_names_the_document_like_the_full_title(shared_qa):
    index = shared_qa.retriever.index
    short = plan_query("十三五战新规划里部署的重大行动有哪些？", index, shared_qa.settings)
    full = plan_query("十三五战略性新兴产业规划里部署的重大行动有哪些？", index, shared_qa.settings)
    assert short.doc_ids == full.doc_ids and short.doc_ids
    assert "战略性新兴产业" not in short.tokens  # a title word of the named document is no content


def test_a_short_form_keeping_the_head_nouns_last_character_is_found():
    # 业委会 keeps 会, the last character of 委员会 (which begins no word): the long form ends with it,
    # and it is two characters longer than the short form
    text = ("第一条 业主委员会由业主大会选举产生。第二条 业主委员会应当执行业主大会的决定。"
            "第三条 业主委员会委员应当遵守管理规约。第四条 居民委员会予以指导。")
    index = _index(text)
    assert "业委会" in abbreviation_candidates("想成立业委会，委员最少几个人？", index)  # a jieba word ending in 会
    assert ("业委会", "业主委员会") in abbreviation_matches("想成立业委会，委员最少几个人？", index)
    # a run of single characters ending in a stopword is still no candidate (是从 is 是 + 从)
    assert not any(c.endswith("从") for c in abbreviation_candidates("这是从哪年开始的？", index))


def test_the_focus_counts_a_short_form_as_its_long_form():
    # jieba cuts 非遗传承人 as 非 / 遗传 / 承人: 遗传 is no word of the question, and no focus word
    from rag.answer.focus import focus_terms

    index = _index()
    index.docs, index.idf = {}, (lambda t: 1.0)
    index.df["__N__"] = 100  # six passages of a library of 100: no word of them is generic
    focus, _ = focus_terms("非遗传承人每年能拿多少补助？", index)
    assert "遗传" not in focus and "文化遗产" in focus
