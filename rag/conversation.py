"""Follow-up questions: a small deterministic rewriter that makes a follow-up self-contained.

    rewrite_followup("那成都呢？", "到2027年四川要打造几个千亿级产业集群？")
    → Rewrite(question="到2027年成都要打造几个千亿级产业集群？", rule="region")

Rules, tried in order (``previous`` is the previous turn's *rewritten* question, so chains work):

* ``region``  — an elliptical follow-up (那…呢？ / …呢？ / 那么… / 还有…) whose core is a region
  (四川、四川省、成都、成都市 …): the previous question with its region swapped (四川省→成都市,
  四川→成都, 全省→全市, 省级→市级 and back); without a region in it, the region is put in front
  ("成都：…" when the previous question names a document). ``Rewrite.region`` names the region asked about.
* ``year``    — the core is a year ("2030年", "到2030年呢？"): the year of the previous question replaced.

Document names are never rewritten by the ``region`` and ``year`` rules: text inside 《》 and the
document titles given to ``rewrite_followup`` (``previous_title``, ``titles``) stay as written
("《四川省“十四五”高新技术产业发展规划》的目标？" → "那成都呢？" keeps 《四川省…》).
* ``phrase``  — the core ends like a phrase of the previous question (…产业, …集群, …企业 …): that
  phrase replaced ("那生物医药产业呢？" after "四川的人工智能产业有什么目标？").
* ``merge``   — any other short elliptical follow-up: "<core>：<previous question>".
* ``document``— a question that says 该文件/这份文件/该规划/该方案/上述文件 (not elliptical): the
  reference replaced by the title of the document cited first in the previous answer.

Anything else is returned unchanged (rule ""). No model and no index is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

MAX_CORE_CHARS = 14
"""An elliptical follow-up's core (without 那/呢/？) is at most this long; longer text is a new question."""

_PROVINCE_TO_CITY = (("四川省", "成都市"), ("四川", "成都"), ("全省", "全市"), ("我省", "我市"),
                     ("省级", "市级"), ("省委", "市委"), ("省政府", "市政府"))
_REGION_WORDS = {"四川": "四川", "四川省": "四川省", "全省": "四川", "我省": "四川", "省里": "四川", "省级": "四川",
                 "成都": "成都", "成都市": "成都市", "全市": "成都", "我市": "成都", "市里": "成都", "市级": "成都"}
_PROVINCE_SIDE = {"四川", "四川省"}

_LEAD = r"(?:那么|那(?![个些份项时样里])|还有|另外|再问一下|请问)"
_TAIL = r"(?:的情况|方面|那边)?(?:呢|怎么样|如何|又如何|又怎样|怎样)"
_ELLIPTICAL = re.compile(rf"^\s*(?P<lead>{_LEAD})?[，,、\s]*(?P<core>.+?)[，,\s]*(?P<tail>{_TAIL})?\s*[？?。.!！]*\s*$")
_YEAR = re.compile(r"(?:到|至|截至)?\s*(\d{4})\s*年(?:底|末)?")
_PHRASE_SUFFIXES = ("产业集群", "产业链", "产业", "行业", "领域", "集群", "企业", "园区", "项目", "基地", "政策",
                    "规划", "方案", "意见", "目标", "任务", "技术", "平台", "人才", "资金")
_PHRASE_STOP = set("的对在和与及、，,。？?：:要将把从向为有是了着过被给让")
_DOC_REFERENCE = re.compile(r"该文件|这份文件|这个文件|此文件|上述文件|该规划|这份规划|这个规划|该方案|这个方案|这份方案|"
                            r"该意见|这份意见|该政策|这项政策|这个政策")
_BOOK_TITLE = re.compile(r"《[^《》]*》")
_TRAILING_PARENS = re.compile(r"(?:[(（][^()（）]*[)）])+$")
MIN_TITLE_CHARS = 4
"""Titles (or short names) shorter than this are not protected (they would match ordinary words)."""
_QUESTION_WORDS = re.compile(r"哪|什么|多少|几|是否|怎么|怎样|如何|为何|为什么|谁|吗|何时|有没有|能否|可否")


@dataclass(frozen=True)
class Rewrite:
    """The self-contained question and the rule that produced it ("" = unchanged). ``region``: for the
    ``region`` rule, the region the follow-up asks about ("四川省" or "成都市"), which a caller may use
    as a retrieval filter (the documents of the other region answer the previous question)."""

    question: str
    rule: str = ""
    region: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.rule)


def _elliptical_core(question: str) -> str | None:
    """The core of an elliptical follow-up ("那成都呢？" → "成都"), or None for a full question."""
    m = _ELLIPTICAL.match(question)
    if not m or not (m.group("lead") or m.group("tail")):
        return None
    core = m.group("core").strip("，,、 ")
    if not core or len(core) > MAX_CORE_CHARS or re.search(r"[？?]", core) or _QUESTION_WORDS.search(core):
        return None  # "成都有哪些未来产业呢？" is a full question, not an ellipsis
    if not m.group("tail") and m.group("lead") == "请问":
        return None
    return core


def protected_mask(text: str, titles: Iterable[str] = ()) -> list[bool]:
    """Per character of ``text``: True inside a 《…》 span (marks included) or inside an occurrence of
    one of ``titles`` (each also without its trailing parenthesised parts, e.g. "(2021-2025年)(征求意见稿)",
    since questions usually leave those out); titles under ``MIN_TITLE_CHARS`` characters are ignored."""
    mask = [False] * len(text)
    spans = [m.span() for m in _BOOK_TITLE.finditer(text)]
    for title in titles:
        for variant in {title, _TRAILING_PARENS.sub("", title or "")}:
            if len(variant) < MIN_TITLE_CHARS:
                continue
            pos = text.find(variant)
            while pos != -1:
                spans.append((pos, pos + len(variant)))
                pos = text.find(variant, pos + 1)
    for start, end in spans:
        mask[start:end] = [True] * (end - start)
    return mask


def _sub_unprotected(pattern: re.Pattern, repl, text: str, mask: list[bool], count: int = 0) -> tuple[str, int]:
    """``pattern.subn(repl, text, count)`` applied only to the runs of ``text`` where ``mask`` is False."""
    out, total, start = [], 0, 0
    while start < len(text):
        end = start
        while end < len(text) and mask[end] == mask[start]:
            end += 1
        part = text[start:end]
        if not mask[start] and (not count or total < count):
            part, n = pattern.subn(repl, part, count=count - total if count else 0)
            total += n
        out.append(part)
        start = end
    return "".join(out), total


def swap_region(question: str, to_region: str, titles: Iterable[str] = ()) -> tuple[str, bool]:
    """``question`` with its region words turned into ``to_region``'s side (四川省→成都市 …);
    returns (text, whether anything was replaced). ``to_region`` is one of the region words. Text
    inside 《》 and occurrences of ``titles`` (document titles) are left as they are."""
    to_city = _REGION_WORDS.get(to_region, to_region) not in _PROVINCE_SIDE
    pairs = _PROVINCE_TO_CITY if to_city else tuple((b, a) for a, b in _PROVINCE_TO_CITY)
    mapping = dict(pairs)
    pattern = re.compile("|".join(sorted(map(re.escape, mapping), key=len, reverse=True)))
    titles = tuple(titles)
    new, n = _sub_unprotected(pattern, lambda m: mapping[m.group(0)], question, protected_mask(question, titles))
    if n and to_region in ("四川省", "成都市"):  # the user named the full name: prefer it for the bare one
        short, full = to_region[:-1], to_region
        new, _ = _sub_unprotected(re.compile(rf"{short}(?![省市])"), full, new, protected_mask(new, titles))
    return new, bool(n)


def _replace_phrase(previous: str, core: str) -> str | None:
    for suffix in _PHRASE_SUFFIXES:
        if not core.endswith(suffix) or len(core) <= len(suffix):
            continue
        pos = previous.find(suffix)
        while pos != -1:
            start = pos
            while start > 0 and previous[start - 1] not in _PHRASE_STOP and pos - start < 8:
                start -= 1
            # keep a leading region word out of the replaced phrase (四川人工智能产业 → 四川 + phrase)
            for region in sorted(_REGION_WORDS, key=len, reverse=True):
                if previous.startswith(region, start) and start + len(region) < pos:
                    start += len(region)
                    break
            if start < pos:
                return previous[:start] + core + previous[pos + len(suffix):]
            pos = previous.find(suffix, pos + 1)
    return None


def rewrite_followup(question: str, previous: str | None = None, previous_title: str | None = None,
                     titles: Iterable[str] = ()) -> Rewrite:
    """Make ``question`` self-contained given the previous turn (see the module docstring).

    ``previous``: the previous (rewritten) question or None on the first turn; ``previous_title``: the
    title of the document cited first in the previous answer (for 该文件 references); ``titles``: names
    of the indexed documents (titles, short names), which the region and year rules leave untouched
    (as they do with text inside 《》)."""
    q = (question or "").strip()
    if not q or not previous:
        return Rewrite(q)
    prev = previous.strip()
    titles = (*((previous_title,) if previous_title else ()), *titles)
    core = _elliptical_core(q)
    if core is not None:
        if core in _REGION_WORDS:
            region = "四川省" if _REGION_WORDS[core] in _PROVINCE_SIDE else "成都市"
            swapped, changed = swap_region(prev, core, titles)
            if changed:
                return Rewrite(swapped, "region", region)
            names_document = any(protected_mask(prev, titles))
            return Rewrite(f"{core}：{prev}" if names_document else core + prev, "region", region)
        year = _YEAR.fullmatch(core)
        if year:
            swapped, n = _sub_unprotected(_YEAR, lambda m: m.group(0).replace(m.group(1), year.group(1)), prev,
                                          protected_mask(prev, titles), count=1)
            if n:
                return Rewrite(swapped, "year")
        phrase = _replace_phrase(prev, core)
        if phrase:
            return Rewrite(phrase, "phrase")
        return Rewrite(f"{core}：{prev}", "merge")
    if previous_title and _DOC_REFERENCE.search(q):
        return Rewrite(_DOC_REFERENCE.sub(f"《{previous_title}》", q, count=1), "document")
    return Rewrite(q)
