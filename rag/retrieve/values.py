"""Which candidate passages state the value a question asks for (read by the retriever's value rankings,
``rag.retrieve.hybrid.HybridRetriever._asked_value_ranking`` and ``_term_value_ranking``).

* ``ranked_value_patterns`` — the asked-value kinds that rank passages (money, a duration, a date);
* ``typed_value_patterns`` — the amount of money a need asks by its answer type alone (奖励金额分哪几档);
* ``ranked_asked_values`` — a plan's asked values of those kinds;
* ``value_rows`` — the rows stating such a value; ``term_value_rows`` — the rows stating a question word as
  a value (记分周期为十二个月).
"""

from __future__ import annotations

import re

from rag.understand.query import QueryPlan


def ranked_value_patterns() -> tuple[re.Pattern, ...]:
    """The asked-value evidence patterns (``rag.understand.need.asked_values``) that rank passages
    (``value_rows``): an amount of money (``MONEY_STATED``: "五百元以上", "10万元"), a duration
    (``DURATION_STATED``: "二十日内", "六十个工作日") and a year, date or period (the "time" kind of
    ``rag.understand.need.VALUE_KINDS``: "2025年", "三个月"). A bare number, a place, an organisation or a
    person is stated by too many passages to say which one answers."""
    from rag.understand.need import DURATION_STATED, MONEY_STATED
    from rag.understand.need import VALUE_KINDS

    return (MONEY_STATED, DURATION_STATED, *(k.evidence for k in VALUE_KINDS if k.name == "time"))


def value_rows(rows: list[int], chunks, asked: tuple[re.Pattern, ...], question: str) -> list[int]:
    """``rows`` (chunk rows, best first) whose chunk text states a value one of ``asked`` (a plan's
    ``asked_values``) matches, in their order — only the patterns of ``ranked_value_patterns`` count, and
    a value the question itself contains ("2025年" in "2025年前要完成多少") states nothing new. [] when the
    question asks no such value. ``chunks``: the index's chunks, indexed by row."""
    patterns = [p for p in asked if p in ranked_value_patterns()]
    if not patterns:
        return []
    return [row for row in rows
            if any(m.group(0) not in question for p in patterns for m in p.finditer(chunks[row].text))]


def ranked_asked_values(plan: QueryPlan) -> tuple[re.Pattern, ...]:
    """The value patterns of ``plan`` that rank passages: its asked values (``plan.asked_values``, else
    ``typed_value_patterns``) among ``ranked_value_patterns``; () for a question asking no amount, duration
    or date."""
    ranked = ranked_value_patterns()
    return tuple(p for p in (plan.asked_values or typed_value_patterns(plan)) if p in ranked)


def typed_value_patterns(plan: QueryPlan) -> tuple[re.Pattern, ...]:
    """The value patterns a question that asks no value kind (``plan.asked_values`` empty) asks for by its
    wording: an amount of money (``MONEY_STATED``) when its need has the answer type "amount"
    (``rag.understand.need.NEED_TYPES``: 奖励金额分哪几档, 补贴标准 — no 多少/几, so no asked value kind). (A
    duration asked by 多长 — 一个周期多长, 多长时间内 — is an asked value of the need analysis itself:
    ``rag.understand.need.DURATION_ASKED``.) A need asking a share of the amount (合同金额的几成, 比例:
    ``ASKS_SHARE``) asks no sum of money. () when the plan has asked values (adding money to 按日工资的多少倍, a number
    question, moved x3-001's answer from rank 1 to 4) or no need analysis. Why: the passage answering such a
    question states a value of that kind (1万元至3万元, 十二个月), which ``value_rows`` and
    ``term_value_rows`` rank."""
    from rag.understand.need import MONEY_STATED

    if plan.need is None or plan.asked_values:
        return ()
    amount = any(t.name == "amount" for t in plan.need.types) and not ASKS_SHARE.search(plan.need.need)
    return (MONEY_STATED,) if amount else ()


ASKS_SHARE = re.compile(r"[几多少]成|比例|比重|占比|百分之|百分比|[几多少]倍")  # a share of an amount, not a sum
# a word stated as equal to or bounded by a value: 为/是/不超过/不少于/最高 … then a numeral within three characters
_STATES_VALUE = r"(?:为|是|不得超过|不超过|不少于|不低于|最高|最多|达到)[^，。；\n]{0,3}?(?:\d|[一二三四五六七八九十两百千万])"


def term_value_rows(rows: list[int], chunks, tokens) -> list[int]:
    """``rows`` (chunk rows, best first) whose chunk text states one of ``tokens`` (the question's words of
    two or more characters) as equal to or bounded by a value: the word directly followed by 为/是/不超过/
    不少于/最高 … and a numeral within three characters ("记分周期为十二个月", "满分为12分"), in their order."""
    words = sorted({t for t in tokens if len(t) >= 2 and not re.search(r"多|几|哪|什么", t)}, key=len, reverse=True)
    if not words:
        return []
    pattern = re.compile("(?:" + "|".join(map(re.escape, words)) + ")" + _STATES_VALUE)
    return [row for row in rows if pattern.search(chunks[row].text)]
