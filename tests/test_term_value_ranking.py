"""The value a question asks for by its wording (``rag.retrieve.values.typed_value_patterns``: 奖励金额 → an
amount of money; 多长 asks a duration in the need analysis itself) and the ranking of the candidate passages that state one of the question's
words as that value (``term_value_rows``, ``HybridRetriever._term_value_ranking``: "记分周期为十二个月")."""

from __future__ import annotations

from types import SimpleNamespace

from rag.retrieve.hybrid import HybridRetriever, _Retrieval, NO_FILTERS
from rag.retrieve.values import term_value_rows, typed_value_patterns
from rag.settings import Settings
from rag.types import Chunk
from rag.understand.need import DURATION_STATED, MONEY_STATED, analyse_need
from rag.understand.query import QueryPlan


def _chunk(i: int, text: str) -> Chunk:
    return Chunk(f"c{i}", "doc", "第一章", text, 0, len(text), len(text))


# a regulation whose articles all share the question's words and state some value; row 3 states the
# cycle and the full score themselves
ROWS = [
    _chunk(0, "第二十八条 驾驶人在一个记分周期内累积记分未达满分的，可以申请参加学习，每次扣减1分。"),
    _chunk(1, "第十七条 驾驶人在一个记分周期内累积记分满12分的，应当扣留其驾驶证。"),
    _chunk(2, "第十八条 驾驶人在一个记分周期内累积记分满分的，应当参加为期七天的学习。"),
    _chunk(3, "第三条 记分周期为十二个月，满分为12分。"),
    _chunk(4, "第一条 为了规范交通违法记分管理，制定本办法。"),
]


def _plan(question: str, tokens: list[str]) -> QueryPlan:
    need = analyse_need(question, None)
    return QueryPlan(question, tokens, question, asked_values=need.values, need=need)


def test_a_question_without_an_asked_value_kind_asks_one_by_its_wording():
    assert typed_value_patterns(_plan("举报奖励金额分哪几档？", ["举报", "奖励", "金额"])) == (MONEY_STATED,)
    # 一个周期多长 asks a duration in the need analysis itself: no typed pattern beside it
    cycle = _plan("驾驶证记分，一个周期多长？", ["记分", "周期"])
    assert cycle.asked_values == (DURATION_STATED,) and typed_value_patterns(cycle) == ()
    # a question whose need analysis finds asked values keeps them alone (按日工资的多少倍: a number)
    with_values = _plan("不备案的话罚多少钱？", ["备案", "罚"])
    assert with_values.asked_values and typed_value_patterns(with_values) == ()
    assert typed_value_patterns(_plan("募捐组织应当履行哪些义务？", ["募捐", "义务"])) == ()
    # a share of an amount (合同金额的几成) is no sum of money
    assert typed_value_patterns(_plan("最多能贷到合同金额的几成？", ["合同", "金额"])) == ()
    assert typed_value_patterns(QueryPlan("多长？", [], "")) == ()  # no need analysis


def test_term_value_rows_keep_the_passages_stating_a_question_word_as_a_value_in_order():
    order = [0, 1, 2, 3, 4]
    assert term_value_rows(order, ROWS, ["驾驶证", "记分", "周期", "多长", "满分", "几分"]) == [3]
    assert term_value_rows([3, 0], ROWS, ["满分"]) == [3]
    assert term_value_rows(order, ROWS, ["多长", "几分", "分"]) == []  # interrogatives, one character: no word
    assert term_value_rows(order, ROWS, ["目的"]) == []


def _retriever() -> SimpleNamespace:
    return SimpleNamespace(index=SimpleNamespace(chunks=ROWS), settings=Settings())


def _state(question: str, tokens: list[str], fused: list[int]) -> _Retrieval:
    state = _Retrieval(k=5, filters=NO_FILTERS, plan=_plan(question, tokens), routing=True, multi=False, n=30)
    state.rankings = [list(fused)]
    state.weights = [1.0]
    state.fused = [(row, 1.0 / (60 + rank)) for rank, row in enumerate(fused, start=1)]
    return state


def test_the_term_value_ranking_moves_the_passage_stating_the_asked_value_up():
    fused = [0, 1, 2, 4, 3]  # the passage stating the cycle fifth: every article says 记分周期
    state = _state("驾驶证交通违法记分，一个周期多长，满分几分？", ["驾驶证", "记分", "周期", "多长", "满分", "几分"], fused)
    HybridRetriever._term_value_ranking(_retriever(), state)
    assert state.rankings[-1] == [3]
    assert [row for row, _ in state.fused].index(3) < fused.index(3)


def test_no_term_value_ranking_for_a_question_asking_no_amount_duration_or_date():
    fused = [0, 1, 2, 4, 3]
    # 几分: a bare number (no money, duration or date) — the passages of plans' tables state no 为
    state = _state("满分几分？", ["满分", "几分"], fused)
    HybridRetriever._term_value_ranking(_retriever(), state)
    assert state.rankings == [fused] and [row for row, _ in state.fused] == fused
    # nor with routing off or the value ranking off
    state = _state("一个周期多长？", ["记分", "周期"], fused)
    state.routing = False
    HybridRetriever._term_value_ranking(_retriever(), state)
    assert state.rankings == [fused]
    off = SimpleNamespace(index=SimpleNamespace(chunks=ROWS), settings=Settings().with_(use_value_ranking=False))
    state = _state("一个周期多长？", ["记分", "周期"], fused)
    HybridRetriever._term_value_ranking(off, state)
    assert state.rankings == [fused]
