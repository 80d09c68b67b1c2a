"""Extractive answers to questions that ask for a value inside a regulation article (rag.answer.extractive:
asked_values, asked_quantity, states_value, value_units): the clause carrying the asked amount or time
limit is quoted with the lead clause of its article, verbatim."""

from __future__ import annotations

from rag.answer.extractive import compose, score_sentences, states_value, value_units
from rag.understand.need import DURATION_STATED, MONEY_STATED, asked_quantity, asked_values
from rag.types import Chunk, Hit

ARTICLE = ("第五十七条 个人违反本条例第二十四条第一款规定，将湿垃圾与可回收物、干垃圾混合投放的，由城管执法部门责令立即改正；"
           "拒不改正的，处五十元以上二百元以下罚款。")
OTHER = ("第五十条 单位和个人未在指定的地点分类投放生活垃圾的，由综合行政执法部门责令改正；\n"
         "第五十一条 收集单位未按规定收集的，责令限期改正；逾期不改正的，处五万元以上五十万元以下罚款。")


def _hit(text: str, rank: int = 1, section: str = "第七章 法律责任") -> Hit:
    chunk = Chunk(f"law-{rank}", "law", section, text, 0, len(text), len(text), "text")
    return Hit(rank, 1.0 / rank, chunk, "某市生活垃圾管理条例")


def _answer(question: str, hits: list[Hit], terms: dict[str, float]):
    scored = score_sentences(question, hits, terms)
    return compose(value_units(question, scored, terms), terms=terms)


def test_an_article_reference_states_no_value():
    q = "个人把湿垃圾和干垃圾混着扔，拒不改正的罚多少？"
    assert not states_value("个人违反本条例第二十四条第一款规定，由城管执法部门责令立即改正；", asked_values(q), q)
    assert not states_value("违反前款第（三）项规定的，责令改正；", asked_values(q), q)
    assert states_value("拒不改正的，处五十元以上二百元以下罚款。", asked_values(q), q)


def test_the_asked_quantity_follows_the_wording_of_the_question():
    assert asked_quantity("拒不改正的罚多少？") is MONEY_STATED
    assert asked_quantity("最高罚多少钱？") is MONEY_STATED
    assert asked_quantity("职能部门多长时间内要办结答复？") is DURATION_STATED
    assert asked_quantity("几个工作日内答复？") is DURATION_STATED
    assert asked_quantity("到2027年要培育多少家企业？") is None
    q = "投诉后多长时间内要办结答复？"
    assert states_value("应当在五个工作日内办结并答复；", asked_values(q), q)
    assert not states_value("于2024年5月10日通过。", asked_values(q), q)  # a date is no duration
    q = "逾期不改正罚款多少？"
    assert not states_value("由文化旅游部门责令限期改正；", asked_values(q), q)
    assert states_value("逾期不改正的，处五百元以上五千元以下罚款。", asked_values(q), q)
    assert states_value("处10万元罚款。", asked_values(q), q)


def test_the_penalty_clause_is_quoted_with_the_lead_clause_of_its_article():
    q = "个人把湿垃圾和干垃圾混着扔，拒不改正的罚多少？"
    terms = {"个人": 2.4, "垃圾": 2.2, "混着": 9.5, "改正": 2.9}
    answer, citations = _answer(q, [_hit(ARTICLE, 1), _hit(OTHER, 2)], terms)
    first = answer.split("\n")[0]
    assert "湿垃圾与可回收物" in first and "五十元以上二百元以下" in first  # one line: case and penalty
    assert all(c.quote in ARTICLE or c.quote in OTHER for c in citations)  # verbatim
    assert citations[0].quote.endswith("处五十元以上二百元以下罚款。")


def test_a_neighbour_clause_without_the_value_is_no_answer_for_a_time_limit():
    text = ("第六十二条 有关部门收到投诉举报后，对属于本部门职权范围内的投诉举报，应当依法处理；"
            "处理结果应当在五个工作日内书面答复投诉人。")
    q = "投诉举报后，有关部门多长时间内要答复？"
    terms = {"投诉": 3.0, "举报": 3.0, "部门": 1.0, "答复": 3.0}
    answer, citations = _answer(q, [_hit(text, section="第六章 工作监督")], terms)
    assert "五个工作日" in answer
    assert all(c.quote in text for c in citations)


def test_a_question_without_an_asked_value_keeps_the_sentence_order():
    q = "生活垃圾分哪几类？"
    terms = {"生活": 1.0, "垃圾": 2.0}
    scored = score_sentences(q, [_hit(ARTICLE), _hit(OTHER, 2)], terms)
    assert value_units(q, scored, terms) == scored


def test_a_list_question_gets_the_numbered_items_a_colon_sentence_heads():
    fund = ("第八条 市人民政府设立科技创新专项资金，主要用于下列事项：\n（一）培育壮大科技创新主体；\n"
            "（二）支持科技创新平台建设；\n（三）促进产学研合作；\n市人民政府应当加强财政科技投入的统筹。")
    other = ("第九条 支持科技服务机构创新服务模式，为科技创新提供研究开发、技术转移、检验检测等专业化服务。"
             "第十条 支持企业、高等院校、科研机构参与标准制定。")
    q = "科技创新专项资金主要支持哪些方面？"
    terms = {"科技创新": 3.0, "专项资金": 5.0, "支持": 2.4, "哪些方面": 9.0}
    scored = score_sentences(q, [_hit(other, 1), _hit(fund, 2)], terms)
    answer, citations = compose(value_units(q, scored, terms), terms=terms, wants_list=True)
    assert "- （二）支持科技创新平台建设；" in answer and "- （三）促进产学研合作；" in answer
    assert "统筹" not in answer  # the article's next paragraph is no item
    assert all(c.quote in fund or c.quote in other for c in citations)


def _doc_hit(text: str, doc_id: str, rank: int) -> Hit:
    chunk = Chunk(f"{doc_id}-{rank}", doc_id, "第二章 › 第十一条", text, 0, len(text), len(text), "text")
    return Hit(rank, 1.0 / rank, chunk, doc_id)


def test_a_compared_provision_is_shown_with_its_counterpart_in_the_other_document():
    city = _doc_hit("第十一条 新建城镇住宅区应当根据规划要求，按照每百户不低于二十平方米的标准配套建设养老服务设施。"
                    "已建成城镇住宅区无养老服务设施的，按照每百户不低于十五平方米的标准配置。", "city", 1)
    province = _doc_hit("已建成的城镇居住区未配套建设养老服务设施的，应当通过新建、改建、购置等方式配置养老服务设施。"
                        "新建住宅区配建的养老服务设施，应当与住宅同步交付使用。"
                        "第十一条 新建城镇居住区按照每一百户不低于二十平方米的标准配套建设社区养老服务设施。", "province", 2)
    q = "省里和市里对新建住宅区配建养老设施的面积要求一致吗？"
    terms = {"新建": 4.0, "住宅区": 3.9, "配建": 6.0, "养老": 2.7, "设施": 2.0, "面积": 4.4, "一致": 5.4}
    scored = score_sentences(q, [city, province], terms)
    province_best = next(s for s in scored if s.hit.chunk.doc_id == "province")
    assert "每一百户" not in province_best.text  # the province's best sentence is not the counterpart
    answer, citations = compose(scored, groups={"市": {"city"}, "省": {"province"}}, docs={}, terms=terms)
    assert "每一百户不低于二十平方米" in answer and "每百户不低于二十平方米" in answer
    assert all(c.quote in city.chunk.text or c.quote in province.chunk.text for c in citations)


def test_of_more_compared_groups_than_answer_lines_the_best_are_shown():
    hits = [_doc_hit(f"第{n}条 本条例自公布之日起施行，文件{n}。", f"other-{n}", n) for n in range(1, 8)]
    hits += [_doc_hit("代表性传承人包括个人和团体。", "heritage-a", 8),
             _doc_hit("代表性传承人可以获得传承人补助费。", "heritage-b", 9)]
    groups = {h.chunk.doc_id: {h.chunk.doc_id} for h in hits}
    q = "两地的条例对代表性传承人分别有什么规定？"
    terms = {"代表性": 4.0, "传承人": 4.0, "条例": 0.1}
    answer, _ = compose(score_sentences(q, hits, terms), groups=groups, docs={}, terms=terms)
    assert "个人和团体" in answer and "传承人补助费" in answer and "文件1" not in answer


def test_an_item_of_a_numbered_list_answers_a_list_question_with_the_whole_list():
    head = ("第四章 分类投放\n第二十六条 本市生活垃圾分为以下四类：\n（一）可回收物，指适宜回收利用的生活垃圾；\n"
            "（二）有害垃圾，指对人体健康造成危害的生活垃圾，包括废电池、废灯管、弃置药品等；\n（三）易腐垃圾，指餐厨废弃物；")
    rest = "（四）其他垃圾，指除上述以外的其他生活垃圾。\n市主管部门应当制定生活垃圾分类指南。"
    a = _hit(head, 1, "第四章 分类投放 › 第二十六条")
    b = Hit(2, 0.5, Chunk("law-2", "law", "第四章 分类投放 › 第二十六条", rest, len(head) + 1, len(head) + 1 + len(rest),
                          len(rest), "text"), "某市生活垃圾管理条例")
    a = Hit(1, 1.0, Chunk("law-1", "law", a.chunk.section, head, 0, len(head), len(head), "text"), a.title)
    q = "生活垃圾分哪几类？"
    terms = {"生活": 2.0, "垃圾": 2.2, "几类": 9.0}
    scored = score_sentences(q, [a, b], terms)
    assert scored[0].text.startswith("（二）有害垃圾")  # the enumerating item scores best
    answer, citations = compose(scored, terms=terms, wants_list=True)
    lines = answer.splitlines()
    assert lines[0].startswith("第二十六条 本市生活垃圾分为以下四类：")
    assert [ln[:6] for ln in lines[1:5]] == ["- （一）可", "- （二）有", "- （三）易", "- （四）其"]  # (四): the next passage
    assert all(c.quote in head or c.quote in rest for c in citations)


def test_a_self_described_compound_word_counts_by_its_parts_for_the_answer():
    from rag.answer.extractive import answer_order, term_subwords

    class Tok:
        def tokens(self, text):
            words = ["我们", "青岛", "海洋", "生物", "海洋生物", "材料", "科技", "企业", "扶持", "资金"]
            return [w for w in words if w in text]

    q = "我们是青岛一家做海洋生物材料的科技企业，市里有没有对口的扶持资金？"
    idf = {"海洋": 4.0, "生物": 3.0}.get
    terms = {"海洋生物": 9.0, "材料": 3.9, "扶持": 4.0, "资金": 2.8}
    subwords = term_subwords(q, terms, Tok(), lambda t: idf(t) or 1.0)
    assert subwords == {"海洋生物": {"海洋": 4.0, "生物": 3.0}}  # a term of the self-description only
    assert term_subwords("海洋生物产业有哪些扶持资金？", terms, Tok(), lambda t: 1.0) == {}
    general = _hit("第二十二条 有关部门应当制定科技资源共享扶持政策，支持科研机构提供服务。", 1)
    marine = _hit("第三十一条 市人民政府应当加大海洋科技投入，设立海洋战略性新兴产业发展专项资金。", 2)
    scored = score_sentences(q, [general, marine], terms)
    assert scored[0].hit is general
    assert answer_order(q, scored, terms, None, subwords)[0].hit is marine
    # a passage that writes the asker's word itself: its parts count for nothing
    exact = _hit("第九条 支持海洋生物产业发展。", 3)
    scored = score_sentences(q, [general, marine, exact], terms)
    assert [s.hit for s in answer_order(q, scored, terms, None, subwords)] == [s.hit for s in scored]


def test_a_two_part_value_question_quotes_both_clauses_of_the_article():
    text = ("第六十二条 对属于本部门职权范围内的投诉举报，应当在五个工作日内办结并答复；"
            "情况复杂的案件，经行政机关负责人同意可以延长十个工作日办结，及时答复投诉人。")
    q = "投诉举报几个工作日内办结？情况复杂的可以延长几个工作日？"
    assert states_value("应当在五个工作日内办结并答复；", asked_values(q), q)  # the asked unit is in the question
    terms = {"投诉": 4.5, "举报": 4.4, "工作日内": 5.1, "办结": 5.8, "复杂": 6.5, "延长": 6.5}
    answer, citations = _answer(q, [_hit(text, section="第六章 工作监督")], terms)
    assert "五个工作日内" in answer and "延长十个工作日" in answer
    assert all(c.quote in text for c in citations)


def test_a_year_or_a_batch_is_no_number_stated():
    q = "到2027年要培育多少家领军企业？"
    assert not states_value("到2020年，培育形成一批龙头骨干企业。", asked_values(q), q)
    assert not states_value("自2021年5月1日起施行。", asked_values(q), q)
    assert states_value("到2027年，培育30家以上领军企业。", asked_values(q), q)
    assert states_value("培育领军企业三十家。", asked_values(q), q)
