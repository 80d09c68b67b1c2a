"""Answer-type-aware retrieval: the value kinds a question asks for (``QueryPlan.asked_values``, from
``rag.understand.need.asked_values``) and the ranking of the candidate passages stating one
(``rag.retrieve.values.value_rows``)."""

from __future__ import annotations

import pytest

from rag.eval.configs import resolve
from rag.understand.need import DURATION_STATED, MONEY_STATED, NUMBER_STATED, asked_values
from rag.understand.query import plan_query
from rag.understand.need import VALUE_KINDS
from rag.retrieve.values import ranked_value_patterns, value_rows
from rag.types import Chunk

TIME = next(k.evidence for k in VALUE_KINDS if k.name == "time")


def _chunk(i: int, text: str) -> Chunk:
    return Chunk(f"c{i}", "doc", "第一章", text, 0, len(text), len(text))


# a regulation whose articles all repeat its title words; one states the amount, one the deadline
ROWS = [
    _chunk(0, "第一条 为了规范募捐活动，促进慈善事业发展，制定本条例。"),
    _chunk(1, "第十条 募捐组织开展募捐活动，应当向民政部门备案。"),
    _chunk(2, "第十二条 募捐活动结束后二十日内，募捐组织应当将募捐情况向社会公告。"),
    _chunk(3, "第三十条 违反本条例第十条规定的，由民政部门处五百元以上五千元以下罚款。"),
    _chunk(4, "第四十条 本条例自2011年10月1日起施行。"),
]


@pytest.mark.parametrize("question, expected", [
    ("募捐活动办完以后，多少天内要把募捐情况向社会公开？", [DURATION_STATED]),
    ("立案以后他们一般要多久查完？", [DURATION_STATED]),
    ("不备案的话罚多少钱？", [MONEY_STATED]),
    ("规章设定罚款最多能设多少？", [MONEY_STATED]),  # 最多/最少 beside 最高/最低: an amount, not a count
    ("这部条例从哪天开始施行？", [TIME]),
    ("要培育多少家领军企业？", [NUMBER_STATED]),
    ("募捐组织应当履行哪些义务？", []),
])
def test_asked_values_of_a_question(question, expected):
    assert asked_values(question) == expected


def test_the_plan_carries_the_asked_values(built_index):
    from rag.pipeline import PolicyQA

    qa = PolicyQA(built_index)
    plan = plan_query("企业违规的，最多罚多少钱？", qa.index, qa.settings)
    assert plan.asked_values == (MONEY_STATED,)
    plain = PolicyQA(built_index.with_(use_doc_routing=False))
    assert plan_query("企业违规的，最多罚多少钱？", plain.index, plain.settings).asked_values == (MONEY_STATED,)
    assert plan_query("有哪些重点产业？", qa.index, qa.settings).asked_values == ()


def test_value_rows_keep_the_candidates_stating_the_asked_kind_in_order():
    order = [1, 3, 0, 2, 4]
    assert value_rows(order, ROWS, (DURATION_STATED,), "多少天内要公开？") == [2]
    assert value_rows(order, ROWS, (MONEY_STATED,), "罚多少钱？") == [3]
    assert value_rows(order, ROWS, (TIME,), "什么时候施行？") == [2, 4]  # 二十日 is a period, 2011年 a date
    assert value_rows(order, ROWS, (MONEY_STATED, DURATION_STATED), "罚多少，几天内？") == [3, 2]


def test_value_rows_skip_values_the_question_states_and_unranked_kinds():
    assert value_rows([4], ROWS, (TIME,), "2011年10月1日以后的活动怎么备案？") == []
    # a bare number, a place, an organisation: stated by too many passages to rank
    assert NUMBER_STATED not in ranked_value_patterns()
    assert value_rows([0, 1, 2, 3, 4], ROWS, (NUMBER_STATED,), "几条？") == []
    assert value_rows([0, 1, 2, 3, 4], ROWS, (), "募捐要备案吗？") == []


@pytest.mark.parametrize("question", ["企业研发投入的奖励最高多少万元？", "专项资金申报后多少个工作日内公布结果？"])
def test_the_value_ranking_moves_a_passage_stating_the_value_up_never_down(built_index, question):
    from rag.pipeline import PolicyQA

    def first_stating(use: bool) -> int:
        retriever = PolicyQA(built_index.with_(use_value_ranking=use)).retriever
        plan = plan_query(question, retriever.index, retriever.settings)
        hits = retriever.retrieve(question, k=10, plan=plan)
        return next((h.rank for h in hits if value_rows([0], [h.chunk], plan.asked_values, question)), 11)

    assert first_stating(True) <= first_stating(False)


def test_no_value_ranking_configuration():
    assert resolve("no-value-ranking") == {"use_value_ranking": False}
