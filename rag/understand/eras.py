"""Five-year-plan eras: the national numbering convention (第N个五年规划, written 十N五 for N ≥ 11).

The N-th plan covers the five years starting ``1951 + 5·N`` for N ≥ 3 (the 3rd plan started in 1966
after the 1963–1965 adjustment years): 十一五 = 2006–2010, 十二五 = 2011–2015. Nothing here names a
particular era; eras are read from text (``ERA`` / ``era_in``) and computed from years
(``era_of_period`` / ``era_years``).

    era_in("到“十二五”末…")          → "十二五"
    era_years("十二五")              → (2011, 2015)
    era_of_period(2006, 2010)        → "十一五"
    era_in("第十二个五年规划")        → "十二五"
"""

from __future__ import annotations

import re

_DIGITS = "一二三四五六七八九"
FIRST_ERA, LAST_ERA = 11, 19  # the 十N五 spellings (十一五 … 十九五); 十五 alone is also the number 15
ERA = re.compile(rf"十[{_DIGITS}]五")
"""An era as written in titles and questions (十一五, 十二五); quotes around it (“十二五”) are outside the match."""
_ORDINAL = re.compile(rf"第十([{_DIGITS}])个五年(?:规划|计划)?")


def era_name(n: int) -> str | None:
    """The written era of the ``n``-th five-year plan ("十二五" for 12); None outside 11–19."""
    return f"十{_DIGITS[n - 11]}五" if FIRST_ERA <= n <= LAST_ERA else None


def era_number(era: str) -> int | None:
    """12 for "十二五"; None when ``era`` is no era."""
    return 10 + _DIGITS.index(era[1]) + 1 if ERA.fullmatch(era or "") else None


def era_years(era: str) -> tuple[int, int] | None:
    """(first year, last year) of an era: "十二五" → (2011, 2015); None when ``era`` is no era."""
    n = era_number(era)
    return (1951 + 5 * n, 1955 + 5 * n) if n else None


def era_of_period(start: int | None, end: int | None) -> str | None:
    """The era whose five years are exactly ``start``–``end`` (2011, 2015 → "十二五"); None otherwise."""
    if not start or not end or end - start != 4 or (start - 1951) % 5:
        return None
    return era_name((start - 1951) // 5)


def era_in(text: str) -> str | None:
    """The first era ``text`` names, written 十N五 or 第十N个五年(规划): "十二五"; None when none."""
    found = [(m.start(), m.group()) for m in ERA.finditer(text or "")]
    found += [(m.start(), era_name(10 + _DIGITS.index(m.group(1)) + 1)) for m in _ORDINAL.finditer(text or "")]
    return min(found)[1] if found else None


def eras_in(text: str) -> list[tuple[int, int, str]]:
    """Every era ``text`` names as ``(start, end, era)`` character spans, in order (both spellings)."""
    found = [(m.start(), m.end(), m.group()) for m in ERA.finditer(text or "")]
    found += [(m.start(), m.end(), era_name(10 + _DIGITS.index(m.group(1)) + 1)) for m in _ORDINAL.finditer(text or "")]
    return sorted(found)
