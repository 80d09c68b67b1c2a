"""The question's need analysis as one typed record (``rag.understand.need.NeedAnalysis``): built once per
question on the QueryPlan, read by the answer stage only for the text it was built from."""

from types import SimpleNamespace

from rag.answer.extractive import question_parts as extractive_question_parts
from rag.answer.refusal import asks_field
from rag.understand.need import (analyse_need, asked_kinds, asked_types, asked_unit, asked_values, asks_list,
                                 need_analysis, need_clause, plain_need, question_parts, strip_document_names)

QUESTIONS = [
    "我们厂是做泡菜的，省里有相关方向吗？",
    "新型储能的发展目标是多少？由哪个部门负责？",
    "到2027年要推广多少辆新能源汽车？",
    "某市未来产业的六大重点培育领域是哪些？",
    "违反规定的罚多少钱？",
    "申报截止时间是哪一天？联系电话是多少？",
]


def test_analysis_holds_what_the_functions_compute():
    for q in QUESTIONS:
        a = analyse_need(q)
        need = need_clause(q)
        assert a.question == q
        assert a.need == need
        assert list(a.kinds) == asked_kinds(need)
        assert list(a.types) == asked_types(need)
        assert a.unit == asked_unit(need)
        assert a.lists == asks_list(q)
        assert list(a.values) == asked_values(q)
        assert list(a.parts) == question_parts(q)
        assert [list(v) for v in a.part_values] == [asked_values(p) for p in question_parts(q)]
        assert a.plain_need is None  # no documents given


def test_self_description_and_parts():
    a = analyse_need("我们厂是做泡菜的，省里有相关方向吗？")
    assert a.need == "省里有相关方向吗？"
    b = analyse_need("新型储能的发展目标是多少？由哪个部门负责？")
    assert b.parts == ("新型储能的发展目标是多少？", "由哪个部门负责？")
    assert len(b.part_values) == 2 and all(b.part_values)
    assert analyse_need("到2027年要推广多少辆新能源汽车？").unit == ("辆",)
    assert extractive_question_parts is question_parts  # still importable from the answer stage


def test_plain_need_strips_document_names():
    docs = {"d1": SimpleNamespace(title="某市科技创新促进条例", short_names=("科创条例",), doc_number="某政发〔2024〕3号")}
    q = "某市科技创新促进条例规定的奖励是多少？"
    a = analyse_need(q, docs)
    assert a.plain_need == strip_document_names(need_clause(q), docs)
    assert "条例" not in a.plain_need
    assert plain_need(analyse_need(q), docs) == a.plain_need  # computed on demand without a plan


def test_plan_analysis_used_only_for_its_own_text():
    asked = "我们厂是做泡菜的，省里有相关方向吗？"
    plan = SimpleNamespace(need=analyse_need(asked))
    assert need_analysis(asked, plan) is plan.need
    # a rewritten query or sub-query has its own text: its analysis is computed, not the plan's
    other = "省里有哪些泡菜产业的扶持方向？"
    assert need_analysis(other, plan).question == other
    assert need_analysis(other, plan).need == need_clause(other)
    # without a plan (hand-made calls), or a plan without an analysis, it is computed from the text
    assert need_analysis(asked).need == need_clause(asked)
    assert need_analysis(asked, SimpleNamespace(need=None)).need == need_clause(asked)
    # an answer-stage reader gives the same result with or without the plan
    assert asks_field(asked, plan) is asks_field(asked) is True
    assert asks_field(other, plan) is asks_field(other)


def test_the_plan_carries_the_analysis_of_the_question_as_asked(built_index):
    from rag.pipeline import PolicyQA
    from rag.understand.query import plan_query

    qa = PolicyQA(built_index)
    question = "我们是做储能的企业，条例第26条规定罚多少钱？"  # planned as 第二十六条, analysed as asked
    for settings in (qa.settings, qa.settings.with_(use_doc_routing=False)):
        plan = plan_query(question, qa.index, settings)
        assert plan.need.question == plan.question == question
        assert plan.need == analyse_need(question, qa.index.docs)
        assert plan.asked_values == plan.need.values
        assert need_analysis(question, plan) is plan.need


def test_document_names_are_removed_longest_first_and_read_again_for_other_documents():
    from rag.types import DocumentMeta

    docs = {"a": DocumentMeta("a", "a.md", "a.md", "甲市机动车停车条例", short_names=("停车条例",)),
            "b": DocumentMeta("b", "b.md", "b.md", "甲市养犬管理规定", doc_number="甲政发〔2024〕3号")}
    q = "甲市机动车停车条例和甲政发〔2024〕3号里，停车收费标准是多少？"
    assert strip_document_names(q, docs) == "和里,停车收费标准是多少?"
    assert strip_document_names(q, docs) == "和里,停车收费标准是多少?"  # the names kept for this mapping
    docs["a"] = DocumentMeta("a", "a.md", "a.md", "乙市物业管理条例")  # other documents in the same mapping: read again
    assert strip_document_names("乙市物业管理条例的停车条例是什么？", docs) == "的停车条例是什么?"


def test_a_thing_mentioned_in_a_question_asking_how_long_is_no_asked_type():
    from rag.understand.need import asked_types

    # 地址 is one of the things checked, the question asks how often
    assert asked_types("电商平台多久核对更新一次商家的身份、地址、许可这些信息？") == []
    assert [t.name for t in asked_types("办事窗口的地址在哪？")] == ["address"]
    assert [t.name for t in asked_types("咨询电话是多少？")] == ["phone"]


def test_a_multiple_of_a_wage_is_no_amount_of_money():
    from rag.understand.need import asked_types

    assert asked_types("要按日工资的多少倍支付工资？") == []
    assert [t.name for t in asked_types("加班工资是多少？")] == ["amount"]
    assert [t.name for t in asked_types("一次性补贴多少钱？")] == ["amount"]


def test_the_length_of_a_period_named_by_its_noun_asks_a_duration():
    from rag.understand.need import DURATION_STATED, asked_quantity, asked_values

    for q in ("交通违法记分，一个周期多长？", "三包有效期多长？", "试用期是多长？"):
        assert asked_quantity(q) is DURATION_STATED, q
        assert asked_values(q)[0] is DURATION_STATED
    assert asked_quantity("这条河有多长？") is None


def test_a_previous_or_next_period_is_no_duration_and_minutes_are():
    from rag.understand.need import DURATION_STATED

    for text in ("公布上一年度备案的规范性文件目录", "下一个月", "一年级学生", "限载一名十二周岁以下未成年人"):
        assert not DURATION_STATED.search(text), text
    for text in ("接收完呼救信息后一分钟内发出调度指令", "自公布之日起三十日内报送备案", "有效期为一年", "三十秒"):
        assert DURATION_STATED.search(text), text


def test_an_ordinal_states_no_number():
    from rag.understand.need import NUMBER_STATED, VALUE_KINDS

    number = next(k for k in VALUE_KINDS if k.name == "number").evidence
    for text in ("第十一条 市人民政府应当建立补助制度", "第一百二十三条", "第3次会议", "第12条"):
        assert not number.search(text) and not NUMBER_STATED.search(text), text
    for text in ("三百人以上", "处五千元以下罚款", "12人", "百分之八"):
        assert number.search(text), text


def test_in_which_day_or_year_asks_a_time_not_a_place():
    assert [k.name for k in analyse_need("河南有没有自己的志愿者日？定在哪一天？", None).kinds] == ["time"]
    assert [k.name for k in analyse_need("在哪个月申报？", None).kinds] == ["time"]
    assert [k.name for k in analyse_need("办事窗口设在哪？", None).kinds] == ["place"]
