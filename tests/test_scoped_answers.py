"""Extractive answers on small hand-made passages: a question scoped to a place quotes that place's
documents (rag.answer.extractive.scoped_order), heading lines are never answer sentences (is_heading), and a
bare list item is quoted with the "…：" sentence it completes (_list_head), also in comparisons."""

from __future__ import annotations

from rag.answer.extractive import answer_order, compose, is_heading, score_sentences, scope_regions, scoped_order
from rag.types import Chunk, DocumentMeta, Hit

DOCS = {
    "sh": DocumentMeta("sh", "a.txt", "a.txt", "上海市生活垃圾管理条例", ("生活垃圾管理条例",), region="上海市"),
    "ta": DocumentMeta("ta", "b.txt", "b.txt", "泰安市生活垃圾分类管理条例", ("生活垃圾分类管理条例",), region="泰安市"),
    "bj": DocumentMeta("bj", "c.txt", "c.txt", "北京市物业管理条例", ("物业管理条例",), region="北京市"),
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


def test_a_chapter_heading_line_is_never_an_answer_sentence():
    text = ("第五章物业服务\n第六十一条业主可以自行管理物业，也可以委托他人管理；"
            "委托物业服务企业提供物业服务的，一个物业管理区域应当选定一个物业服务企业提供物业服务。")
    hit = _hit(text, "bj", 1, section="第五章 物业服务 › 第六十一条")
    terms = {"物业": 2.0, "服务": 1.0}
    scored = score_sentences("北京对物业服务有什么规定？", [hit], terms)
    assert any(s.text == "第五章物业服务" for s in scored)
    assert is_heading(next(s for s in scored if s.text == "第五章物业服务"))
    assert not any(is_heading(s) for s in scored if s.text != "第五章物业服务")
    text, _ = compose(answer_order("北京对物业服务有什么规定？", scored, terms), docs=DOCS, terms=terms)
    assert "第五章物业服务" not in text and "一个物业管理区域" in text
    q = "北京物业管理条例里讲物业服务的章节叫什么？"  # a question asking for a heading is answered by it
    assert any(s.text == "第五章物业服务" for s in answer_order(q, score_sentences(q, [hit], terms), terms))


def test_heading_detection_keeps_articles_with_content():
    hit = _hit("第三条本条例自2020年1月1日起施行。第二节监督管理", "bj", 1, section="第一章 总则 › 第三条")
    scored = score_sentences("什么时候施行？", [hit], {"施行": 1.0})
    assert [is_heading(s) for s in sorted(scored, key=lambda s: s.start)] == [False, True]


ITEMS = ("第四十四条物业服务企业应当按照物业服务合同的约定，提供相应的服务。物业服务合同可以约定下列服务事项：\n"
         "（一）物业共用部位的使用管理和维护；\n（二）共有绿化的维护；\n（三）物业维修、更新和养护费用的账务管理；\n"
         "（四）物业档案资料的保管。")


def test_a_bare_item_in_a_comparison_is_quoted_with_its_head():
    hits = [_hit(ITEMS, "sh", 1, section="第三章 物业管理服务 › 第四十四条"),
            _hit("第六十九条物业服务人可以将专项服务事项委托给专业服务企业。", "bj", 2, section="第五章 物业服务 › 第六十九条")]
    terms = {"北京": 1.7, "上海": 1.6, "物业": 2.1, "维修": 3.0, "费用": 2.0}
    q = "北京和上海对物业维修费用的规定有什么不同？"
    scored = score_sentences(q, hits, terms)
    assert scored[0].text.startswith("（三）")  # the item holds most of the question's words
    text, citations = compose(scored, groups={"北京市": {"bj"}, "上海市": {"sh"}}, docs=DOCS, wants_list=True,
                              terms=terms)
    line = next(ln for ln in text.split("\n") if "（三）" in ln)
    assert "物业服务合同可以约定下列服务事项：（三）物业维修、更新和养护费用的账务管理；" in line
    quote = next(c.quote for c in citations if c.doc_id == "sh")
    assert quote in ITEMS and quote.startswith("物业服务合同可以约定下列服务事项：")


def test_a_bare_item_answering_a_single_value_question_is_quoted_with_its_head():
    hit = _hit(ITEMS, "sh", 1, section="第三章 物业管理服务 › 第四十四条")
    terms = {"维修": 3.0, "费用": 2.0, "账务": 4.0}
    scored = score_sentences("物业维修费用的账务管理由谁约定？", [hit], terms)
    text, _ = compose(scored, docs=DOCS, terms=terms)
    assert text.startswith("物业服务合同可以约定下列服务事项：（三）物业维修")


def test_a_named_province_without_retrieved_documents_of_its_own_scopes_its_cities_documents():
    docs = {**DOCS, "gd": DocumentMeta("gd", "e.txt", "e.txt", "广东省养犬管理条例", ("养犬条例",), region="广东省"),
            "dg": DocumentMeta("dg", "f.txt", "f.txt", "东莞市文明行为促进条例", ("文明条例",), region="东莞市")}
    text_dg = "携带犬只外出应当为犬只佩戴犬牌，用牵引带牵领犬只。"
    hits = [Hit(1, 1.0, Chunk("dg-1", "dg", "第二章 › 第十一条", text_dg, 0, len(text_dg), 9), docs["dg"].title),
            Hit(2, 0.5, Chunk("ta-2", "ta", "第三章 › 第九条", "养犬人应当携带犬只外出时为犬只佩戴犬牌并束犬链。", 0, 24, 9),
                docs["ta"].title)]
    terms = {"广东": 1.5, "犬只": 6.0, "犬牌": 7.0, "养犬": 7.0}
    scored = score_sentences("广东对犬只犬牌有什么规定？", hits, terms)
    assert scope_regions(terms, docs, [*docs]) == ("广东省",)
    assert [s.hit.chunk.doc_id for s in scoped_order(scored, terms, docs)] == ["dg"]


def test_the_refusal_judges_the_scoped_sentences_the_answer_quotes(tmp_path, monkeypatch):
    """A question scoped to a place: the answerability decision gets the sentences of that place's documents
    (``scoped_order``), the ones the answer quotes — not another place's rule that shares more words."""
    import rag.pipeline as pipeline
    from rag.index.build import ingest
    from rag.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "杭州市生活垃圾管理条例(2020-01-01).md").write_text(
        "# 杭州市生活垃圾管理条例\n\n第一条 为了加强本市生活垃圾管理，制定本条例。\n\n"
        "第二十条 单位未按照规定分类投放生活垃圾的，由城市管理部门责令改正；拒不改正的，处五百元以上五千元以下罚款。\n",
        encoding="utf-8")
    (corpus / "宁波市生活垃圾分类管理条例(2021-01-01).md").write_text(
        "# 宁波市生活垃圾分类管理条例\n\n第一条 为了推进本市生活垃圾分类，制定本条例。\n\n"
        "第三十条 单位不按规定分类投放生活垃圾、拒不改正的，由城市管理部门对单位处罚款，最高罚款五万元。\n",
        encoding="utf-8")
    settings = Settings.from_env(data_dir=tmp_path / "data", corpus_dir=corpus)
    ingest(settings, sorted(corpus.glob("*.md")), exclude=[])
    seen = []
    real = pipeline.check_refusal

    def spy(question, scored, *args, **kwargs):
        seen.append({s.hit.chunk.doc_id for s in scored})
        return real(question, scored, *args, **kwargs)

    monkeypatch.setattr(pipeline, "check_refusal", spy)
    qa = pipeline.PolicyQA(settings)
    assert {m.region for m in qa.index.docs.values()} == {"杭州市", "宁波市"}
    answer = qa.ask("杭州单位不按规定分类投放生活垃圾，拒不改正的最高罚多少钱？")
    jia = {d for d, m in qa.index.docs.items() if m.title.startswith("杭州市")}
    assert seen and seen[-1] <= jia
    assert all(c.doc_id in jia for c in answer.citations)


def test_a_count_word_in_a_yes_no_question_asks_no_number():
    """"多租几个人，可以吗": 几个 is indefinite, so a sentence with digits (a header's dates) gets no number bonus."""
    rule = "出租人应当以原设计为居住空间的卧室为最小出租单位，阳台、客厅不得分隔搭建后出租。"
    header = "2020年4月30日上海市人民代表大会常务委员会第十二次会议通过。"
    hits = [_hit(header, "sh", 1), _hit(rule, "sh", 2)]
    terms = {"阳台": 6.9, "客厅": 9.5, "出租": 5.0}
    yes_no = score_sentences("想把客厅和阳台隔出来多租几个人出租，可以吗？", hits, terms)
    assert yes_no[0].text == rule
    counted = score_sentences("阳台和客厅最多能住几个人？", hits, terms)
    assert any(s.score > s.coverage + 0.1 for s in counted if s.text == header)  # a number is asked: digits count
