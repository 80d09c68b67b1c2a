"""Follow-up questions: a small deterministic rewriter that makes a follow-up self-contained.

    rewrite_followup("那某市呢？", "到2027年某省要打造几个千亿级产业集群？")
    → Rewrite(question="到2027年某市要打造几个千亿级产业集群？", rule="region", region=<某市's full name>)

Rules, tried in order (``previous`` is the previous turn's *rewritten* question, so chains work):

* ``region``  — an elliptical follow-up (那…呢？ / …呢？ / 那么… / 还有…) whose core is a place of the
  administrative-division gazetteer (any province, prefecture or county, full or short name) or a level
  word (全省、省里、我市 …): every mention of the first place the previous question names becomes the
  asked place (a full name stays full, a short one takes the follow-up's word), and level words turn to
  the asked place's side (全省→全市, 省级→市级 and back); a level word asks about the province of the
  previous question's city, or the one indexed region of that level (``regions``). Without a place in
  the previous question the place is put in front ("某市：…" when the previous question names a
  document). ``Rewrite.region`` names the region asked about (a full name).
* ``year``    — the core is a year ("2030年", "到2030年呢？"): the year of the previous question replaced.

Document names are never rewritten by the ``region`` and ``year`` rules: text inside 《》 and the
document titles given to ``rewrite_followup`` (``previous_title``, ``titles``) stay as written
("《某省XX规划》的目标？" → "那某市呢？" keeps 《某省XX规划》).
* ``phrase``  — the core ends like a phrase of the previous question (…产业, …集群, …企业 …): that
  phrase replaced ("那生物医药产业呢？" after "某省的人工智能产业有什么目标？").
* ``merge``   — any other short elliptical follow-up: "<core>：<previous question>".
* ``document``— a question that refers to "the" document (该文件/这份文件/该规划/该方案/上述文件, 它的…,
  其…; not elliptical): the reference replaced by the title of the document the previous answer cited —
  the only one, or the one of several that the previous question named.
* ``ambiguous`` — such a reference when the previous answer cited several documents and the previous
  question named none of them: the question is not rewritten; ``Rewrite.choices`` lists the documents
  and ``clarification`` is the question to ask back. The user's reply (序号 or part of a title, passed
  as ``pending_choices``) completes the pending question (rule ``document``).

Anything else is returned unchanged (rule ""). No model and no index is needed (the gazetteer is
``rag.ingest.metadata.gazetteer``, data of the jionlp package).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

MAX_CORE_CHARS = 14
"""An elliptical follow-up's core (without 那/呢/？) is at most this long; longer text is a new question."""

# level words of a province and of a city (全省 ↔ 全市 …): swapped when the follow-up asks about the other level
_LEVEL_PAIRS = (("全省", "全市"), ("我省", "我市"), ("省里", "市里"), ("省级", "市级"), ("省委", "市委"),
                ("省政府", "市政府"))
_LEVEL_CORES = {w: side for pair in _LEVEL_PAIRS for side, w in zip("省市", pair)}

_LEAD = r"(?:那么|那(?![个些份项时样里])|还有|另外|再问一下|请问)"
_TAIL = r"(?:的情况|方面|那边)?(?:呢|怎么样|如何|又如何|又怎样|怎样)"
_ELLIPTICAL = re.compile(rf"^\s*(?P<lead>{_LEAD})?[，,、\s]*(?P<core>.+?)[，,\s]*(?P<tail>{_TAIL})?\s*[？?。.!！]*\s*$")
_YEAR = re.compile(r"(?:到|至|截至)?\s*(\d{4})\s*年(?:底|末)?")
_PHRASE_SUFFIXES = ("产业集群", "产业链", "产业", "行业", "领域", "集群", "企业", "园区", "项目", "基地", "政策",
                    "规划", "方案", "意见", "目标", "任务", "技术", "平台", "人才", "资金")
_PHRASE_STOP = set("的对在和与及、，,。？?：:要将把从向为有是了着过被给让")
_DOC_REFERENCE = re.compile(r"(?:该|此|上述|这[份个部项篇])(?:文件|规划|方案|意见|政策|条例|办法|规定|通知|决定|细则)")
_BOOK_TITLE = re.compile(r"《[^《》]*》")
# "it"/"its" for the document of the previous answer (它的规划期, 其发文机关); 它们 (several) is not one
_PRONOUN = re.compile(r"它的|^其(?![他它余中次实])|(?<![其])它(?!们)")
_CHOICE_NUMBER = re.compile(r"第?([1-9一二三四五六七八九])(?:份|个|项|篇|号)?(?:文件)?")
_TRAILING_PARENS = re.compile(r"(?:[(（][^()（）]*[)）])+$")
MIN_TITLE_CHARS = 4
"""Titles (or short names) shorter than this are not protected (they would match ordinary words)."""
_QUESTION_WORDS = re.compile(r"哪|什么|多少|几|是否|怎么|怎样|如何|为何|为什么|谁|吗|何时|有没有|能否|可否")


@dataclass(frozen=True)
class Rewrite:
    """The self-contained question and the rule that produced it ("" = unchanged). ``region``: for the
    ``region`` rule, the region the follow-up asks about (a gazetteer full name, e.g. "某某市"; None when
    unknown), which a caller may use as a retrieval filter when documents of it are indexed;
    ``choices``: for the ``ambiguous`` rule, the titles of the documents the user may mean."""

    question: str
    rule: str = ""
    region: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.rule)


def _elliptical_core(question: str) -> str | None:
    """The core of an elliptical follow-up ("那某市呢？" → "某市"), or None for a full question."""
    m = _ELLIPTICAL.match(question)
    if not m or not (m.group("lead") or m.group("tail")):
        return None
    core = m.group("core").strip("，,、 ")
    if not core or len(core) > MAX_CORE_CHARS or re.search(r"[？?]", core) or _QUESTION_WORDS.search(core):
        return None  # "某市有哪些未来产业呢？" is a full question, not an ellipsis
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


def _place_mentions(text: str) -> list[tuple[object, int, int]]:
    """``(Place, start, end)`` of each place ``text`` names (``rag.ingest.metadata.find_places``: full names and
    province/prefecture short names of the gazetteer), in order."""
    from rag.ingest.metadata import find_places

    out = []
    for place, start in find_places(text):
        names = sorted((place.name, *place.aliases), key=len, reverse=True)
        name = next((n for n in names if text.startswith(n, start)), None)
        if name:
            out.append((place, start, start + len(name)))
    return out


def region_core(core: str, regions: Iterable[str] = ()):
    """What an elliptical core names as a region: ``(full name or None, level side "省"/"市" or None,
    is_name)`` for a gazetteer place written whole (某某, 某某市, 某某省: ``is_name`` True) or a level word
    (全省, 市里 …: the side; the full name is the one indexed region of ``regions`` on that side, if only
    one); None when the core is neither."""
    if core in _LEVEL_CORES:
        side = _LEVEL_CORES[core]
        same = {r for r in regions if r.endswith(side)}
        return (same.pop() if len(same) == 1 else None), side, False
    found = _place_mentions(core)
    if len(found) == 1 and found[0][1] == 0 and found[0][2] == len(core):
        name = found[0][0].name
        return name, (name[-1] if name[-1] in "省市" else None), True
    return None


def swap_region(question: str, to_region: str | None, side: str | None, written: str | None = None,
                titles: Iterable[str] = ()) -> tuple[str, bool]:
    """``question`` turned to another region: every mention of the first place it names becomes
    ``to_region`` (a full name such as 某某市; a mention by full name gets the full name, a short mention
    ``written`` — the follow-up's own word — or the bare name), and, when ``side`` ("省" or "市") is
    given, the other level's words become that side's (全省 → 全市 …). Returns (text, whether anything
    was replaced). Text inside 《》 and occurrences of ``titles`` (document titles) stay as they are."""
    titles = tuple(titles)
    mask = protected_mask(question, titles)
    total = 0
    if to_region:
        from rag.ingest.metadata import bare_region

        mentions = [m for m in _place_mentions(question) if not any(mask[m[1]:m[2]])]
        if mentions and mentions[0][0].name != to_region:
            first = mentions[0][0].name
            short = written or bare_region(to_region) or to_region
            for place, start, end in reversed(mentions):
                if place.name == first:
                    word = to_region if question[start:end] == place.name else short
                    question = question[:start] + word + question[end:]
                    total += 1
    if side:
        pairs = _LEVEL_PAIRS if side == "市" else tuple((b, a) for a, b in _LEVEL_PAIRS)
        mapping = dict(pairs)
        pattern = re.compile("|".join(sorted(map(re.escape, mapping), key=len, reverse=True)))
        question, n = _sub_unprotected(pattern, lambda m: mapping[m.group(0)], question,
                                       protected_mask(question, titles))
        total += n
    return question, bool(total)


def _replace_phrase(previous: str, core: str) -> str | None:
    for suffix in _PHRASE_SUFFIXES:
        if not core.endswith(suffix) or len(core) <= len(suffix):
            continue
        pos = previous.find(suffix)
        while pos != -1:
            start = pos
            while start > 0 and previous[start - 1] not in _PHRASE_STOP and pos - start < 8:
                start -= 1
            # keep a leading place or level word out of the replaced phrase (某省人工智能产业 → 某省 + phrase)
            lead = [e for _p, a, e in _place_mentions(previous[start:pos]) if a == 0]
            lead += [len(w) for w in _LEVEL_CORES if previous.startswith(w, start)]
            if lead and start + max(lead) < pos:
                start += max(lead)
            if start < pos:
                return previous[:start] + core + previous[pos + len(suffix):]
            pos = previous.find(suffix, pos + 1)
    return None


def _level_target(previous: str, side: str, titles) -> str | None:
    """The region a level word (省里, 全市 …) asks about after ``previous``: the province of the city the
    previous question names first (gazetteer), when the word is a province's; else None."""
    mask = protected_mask(previous, titles)
    mentions = [m for m in _place_mentions(previous) if not any(mask[m[1]:m[2]])]
    if mentions and side == "省" and not mentions[0][0].name.endswith("省"):
        return mentions[0][0].province if mentions[0][0].province.endswith("省") else None
    return None


def _named_choice(question: str, choices: tuple[str, ...]) -> str | None:
    """The document of ``choices`` (titles) that an answer to a clarifying question picks: its number
    (1, 第二份, 第2个) or a part of its title of at least ``MIN_TITLE_CHARS`` characters; None otherwise."""
    q = question.strip().strip("。.？?！!《》 ")
    m = _CHOICE_NUMBER.fullmatch(q)
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else "一二三四五六七八九".index(m.group(1)) + 1
        return choices[n - 1] if 1 <= n <= len(choices) else None
    hits = [t for t in choices if len(q) >= MIN_TITLE_CHARS and (q in t or _TRAILING_PARENS.sub("", t) in q)]
    return hits[0] if len(hits) == 1 else None


def clarification(rw: "Rewrite") -> str:
    """The clarifying question for an ``ambiguous`` Rewrite: which of its ``choices`` (document titles)
    the user means, numbered from 1."""
    listed = "；".join(f"{i}.《{t}》" for i, t in enumerate(rw.choices, 1))
    return f"上一个回答引用了 {len(rw.choices)} 份文件，请问您问的是哪一份？{listed}（回复序号或文件名即可）"


def rewrite_followup(question: str, previous: str | None = None, previous_title: str | None = None,
                     titles: Iterable[str] = (), regions: Iterable[str] = (),
                     cited_titles: Iterable[str] | None = None, pending_choices: Iterable[str] = ()) -> Rewrite:
    """Make ``question`` self-contained given the previous turn (see the module docstring).

    ``previous``: the previous (rewritten) question or None on the first turn; ``previous_title``: the
    title of the document cited first in the previous answer (for 该文件 references); ``titles``: names
    of the indexed documents (titles, short names), which the region and year rules leave untouched
    (as they do with text inside 《》); ``regions``: regions of the indexed documents (read from them),
    which a level word (省里, 全市) may name; ``cited_titles``: the distinct titles of the documents the
    previous answer cited, in order (None: unknown, ``previous_title`` is used) — a reference to "the"
    document (它的…, 该文件…) when they are several and the previous question names none of them gives
    rule ``ambiguous`` with them as ``choices`` (ask the user: ``clarification``); ``pending_choices``:
    the choices of the previous turn when it asked such a question — an answer naming one (序号 or part
    of the title) gives ``previous`` with that document named (rule ``document``)."""
    q = (question or "").strip()
    if not q or not previous:
        return Rewrite(q)
    prev = previous.strip()
    pending = tuple(pending_choices)
    if pending:
        chosen = _named_choice(q, pending)
        if chosen:
            return Rewrite(_name_document(prev, chosen), "document")
    cited = tuple(dict.fromkeys(t for t in (cited_titles or ()) if t))
    titles = (*((previous_title,) if previous_title else ()), *cited, *titles)
    core = _elliptical_core(q)
    if core is not None:
        target = region_core(core, tuple(regions))
        if target is not None:
            region, side, is_name = target
            if region is None and side:
                region = _level_target(prev, side, titles)
            swapped, changed = swap_region(prev, region, side, core if is_name else None, titles)
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
    if _DOC_REFERENCE.search(q) or _PRONOUN.search(q):
        if len(cited) > 1:
            named = [t for t in cited if t in prev or _TRAILING_PARENS.sub("", t) in prev]
            if len(named) != 1:
                return Rewrite(q, "ambiguous", choices=cited)
            return Rewrite(_name_document(q, named[0]), "document")
        title = cited[0] if cited else previous_title
        if title:
            return Rewrite(_name_document(q, title), "document")
    return Rewrite(q)


def _name_document(question: str, title: str) -> str:
    """``question`` with its reference to "the" document (该文件, 它的, 其 …) replaced by 《title》; when it
    has none, 《title》 in front (an answer to ``clarification`` completes the pending question)."""
    for rx in (_DOC_REFERENCE, _PRONOUN):
        if rx.search(question):
            return rx.sub(lambda m: f"《{title}》" + ("的" if m.group(0) in ("它的", "其") else ""), question, count=1)
    return f"《{title}》：{question}"
