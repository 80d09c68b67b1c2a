"""Quantities a question states about the asker and the thresholds passages set in the same unit.

An applicant describes itself with quantities ("我们小区总共才八十多户", "两百来平米的小饭馆", "员工30人") and
a regulation's applicability turns on thresholds in the same unit ("户数一百户以下的住宅小区，业主委员会可以由
三人组成", "建筑面积在三百平方米以下的公众聚集场所…可以免于申请消防安全检查"). This module reads both:

* ``stated_quantities`` — the quantities of a text: ``Quantity(value, unit, start, end)``, Chinese or Arabic
  numerals (the numeral itself converted by ``cn2an``), the unit normalised (``UNITS``: 平米 → 平方米,
  名 → 人, 万元 → 元 × 10⁴, 周岁 → 岁); a year (2024年), an ordinal (第三条) and an asked count (多少户) are none;
* ``stated_bounds`` — the thresholds of a text: ``Bound(value, unit, upper, strict)`` for "一百户以下",
  "不足三百平方米", "超过五十人", "年满十八周岁";
* ``satisfies`` — whether a quantity lies within a bound;
* ``bound_rows`` — candidate rows setting a threshold in a unit the question states, the thresholds the
  question's quantity meets first (read by ``rag.retrieve.hybrid.HybridRetriever._threshold_ranking``).

Only the numerals are converted: the text around them is matched as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# written unit → (normalised unit, multiplier); longer forms first in the pattern
UNITS: dict[str, tuple[str, float]] = {
    "平方米": ("平方米", 1.0), "平米": ("平方米", 1.0), "㎡": ("平方米", 1.0), "平方公里": ("平方公里", 1.0),
    "公顷": ("公顷", 1.0), "亩": ("亩", 1.0), "千米": ("公里", 1.0), "公里": ("公里", 1.0), "米": ("米", 1.0),
    "亿元": ("元", 1e8), "万元": ("元", 1e4), "千元": ("元", 1e3), "元": ("元", 1.0),
    "周岁": ("岁", 1.0), "岁": ("岁", 1.0), "户": ("户", 1.0), "人": ("人", 1.0), "名": ("人", 1.0),
    "辆": ("辆", 1.0), "台": ("台", 1.0), "张": ("张", 1.0), "间": ("间", 1.0), "层": ("层", 1.0),
    "吨": ("吨", 1.0), "千瓦": ("千瓦", 1.0), "座": ("座", 1.0), "个月": ("月", 1.0), "年": ("年", 1.0),
}
_NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿点]+)"
_APPROX = r"(?:多|余|来|几)?"  # 八十多户, 两百来平米: about that many
_UNIT = "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True))
_QUANTITY = re.compile(rf"(?<![第\d零〇一二两三四五六七八九十百千万亿点])({_NUMBER}){_APPROX}\s*(?:个)?({_UNIT})")
# a threshold: the numeral's unit then 以下/以上…, or 不足/超过… before the numeral
_AFTER = re.compile(r"\s*(及以上|及以下|以上|以下|以内|之内|之上|内)")
_BEFORE = re.compile(r"(不足|不满|未满|少于|低于|不超过|不高于|不多于|超过|多于|高于|不低于|不少于|达到|年满|满)\s*$")
_UPPER = {"以下": False, "及以下": False, "以内": False, "之内": False, "内": False, "不超过": False,
          "不高于": False, "不多于": False, "不足": True, "不满": True, "未满": True, "少于": True, "低于": True}
_LOWER = {"以上": False, "及以上": False, "之上": False, "不低于": False, "不少于": False, "达到": False,
          "年满": False, "满": False, "超过": True, "多于": True, "高于": True}
# a penalty's range ("处一万元以上五万元以下罚款") is an amount imposed, not a threshold of applicability
_PENALTY_RANGE = re.compile(r"(?:处|并处|罚款)[^。；，]{0,30}?(?:罚款|罚金)|罚款[^。；，]{0,30}")
MAX_YEAR_COUNT = 100  # "2024年" is a date, "三年" a count of years


@dataclass(frozen=True)
class Quantity:
    """A stated quantity: ``value`` in the normalised ``unit`` (元 for every amount of money), and the
    character span ``[start, end)`` of numeral and unit in the text read."""

    value: float
    unit: str
    start: int
    end: int


@dataclass(frozen=True)
class Bound:
    """A threshold: quantities of ``unit`` at most (``upper``) or at least ``value``; ``strict`` excludes
    ``value`` itself (不足三百平方米, 超过五十人)."""

    value: float
    unit: str
    upper: bool
    strict: bool


@lru_cache(maxsize=4096)
def _number(numeral: str) -> float | None:
    """The value of an Arabic or Chinese numeral ("一百" → 100, "两百" → 200, "1.5" → 1.5), by ``cn2an``;
    None when it is no number (a stray "点")."""
    import cn2an

    try:
        return float(cn2an.cn2an(numeral, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def stated_quantities(text: str) -> list[Quantity]:
    """The quantities ``text`` states, in text order (see the module docstring); [] when none."""
    out = []
    for m in _QUANTITY.finditer(text):
        value = _number(m.group(1))
        if value is None:
            continue
        unit, factor = UNITS[m.group(2)]
        if unit == "年" and value >= MAX_YEAR_COUNT:
            continue
        out.append(Quantity(value * factor, unit, m.start(), m.end()))
    return out


def stated_bounds(text: str) -> list[Bound]:
    """The thresholds ``text`` sets: a quantity followed by 以下/以上/以内 or preceded by 不足/超过/满 …
    (``_UPPER``, ``_LOWER``), in text order, except the ranges of penalties (``_PENALTY_RANGE``:
    "处一万元以上五万元以下罚款"); [] when none."""
    out = []
    fines = [m.span() for m in _PENALTY_RANGE.finditer(text)]
    for q in stated_quantities(text):
        if any(a <= q.start < b for a, b in fines):
            continue
        after = _AFTER.match(text, q.end)
        before = _BEFORE.search(text, max(0, q.start - 4), q.start)
        word = after.group(1) if after else (before.group(1) if before else None)
        if word in _UPPER:
            out.append(Bound(q.value, q.unit, True, _UPPER[word]))
        elif word in _LOWER:
            out.append(Bound(q.value, q.unit, False, _LOWER[word]))
    return out


def satisfies(q: Quantity, b: Bound) -> bool:
    """True when ``q`` (same unit) lies within ``b``: ≤ (or < when strict) an upper bound, ≥ (>) a lower one."""
    if q.unit != b.unit:
        return False
    if b.upper:
        return q.value < b.value if b.strict else q.value <= b.value
    return q.value > b.value if b.strict else q.value >= b.value


def bound_rows(rows: list[int], chunks, question: str) -> list[int]:
    """The rows of ``rows`` (chunk rows, fused order) whose text sets a threshold in a unit of a quantity
    ``question`` states: first those with a threshold that quantity meets, then the others, each group in
    the order of ``rows``; [] when the question states no quantity."""
    stated = stated_quantities(question)
    if not stated:
        return []
    units = {q.unit for q in stated}
    met, other = [], []
    for row in rows:
        bounds = [b for b in stated_bounds(chunks[row].text) if b.unit in units]
        if bounds:
            (met if any(satisfies(q, b) for q in stated for b in bounds) else other).append(row)
    return met + other
