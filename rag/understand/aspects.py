"""The coordinated items a question asks about one by one: its aspects.

"某市制造业规划给中心城区、城市新区、郊区新城各定了什么功能？" asks the same thing of three items, and a document
answers each in its own passage (中心城区，聚焦…; 城市新区，聚焦…; 郊区新城，聚焦…), while the passage naming all
three together (围绕做优做强中心城区、城市新区、郊区新城的城市核心功能…) answers none. A bag-of-words ranking
favours that passage and whatever else repeats the question's words; explicit search-result diversification
(xQuAD, Santos, Macdonald & Ounis, WWW 2010; PM2, Dang & Croft, SIGIR 2012) instead covers each aspect of the
query. ``coordinated_items`` finds the aspects a question states itself — items joined by 、/和/及/与 before
各/分别/各自 — and the retriever keeps a passage of each in the top k
(``rag.retrieve.list_value_steps.ListValueSteps._aspect_slots``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rag.text import normalize

EACH = re.compile(r"各自|分别|各")  # the word that asks the same thing of each item
_CLAUSE = re.compile(r"[，。？！?!；;,]")
_AND = re.compile(r"以及|和|及|与")
# after the last item, before 各/分别: 的…, a locative or a class word (在卫星、火箭和地面设备上分别…)
_TRAILING = re.compile(r"(?:上|中|里|方面|领域|环节)+$")
# a preposition before the first item (某市在卫星、…; 对中心城区、…): not part of it
_LEADING = re.compile(r"^[在对给把从向于为]")
MIN_ITEM_CHARS = 2
MAX_ITEM_CHARS = 10


def coordinated_items(question: str, written: Callable[[str], bool]) -> tuple[str, ...]:
    """The items of the first clause of ``question`` that lists two or more of them before 各/分别/各自
    ("A、B和C分别…", "A和B各…"), normalised (``rag.text.normalize``, lower-cased), in question order; () when
    no clause does, or when an item is shorter than ``MIN_ITEM_CHARS`` or longer than ``MAX_ITEM_CHARS``
    characters or is not ``written`` (a test of a normalised, lower-cased string: whether the passages the
    items are looked for in contain it — the retriever's candidates).

    The clause before 各/分别 is split at 、 and its last part once more at 以及/和/及/与; the last item ends
    before 的 and a trailing locative (上/中/里/方面/领域/环节); the first item, which the clause runs into
    ("某市制造业规划给中心城区"), is the longest ending of at most ``MAX_ITEM_CHARS`` characters that is
    ``written``, without a leading preposition (在/对/给/把/从/向/于/为). Items that are the places or documents of a
    comparison are the retriever's scopes instead (the step does not run for a compared plan)."""
    text = normalize(question).lower()
    for clause in _CLAUSE.split(text):
        each = EACH.search(clause)
        if not each:
            continue
        parts = clause[:each.start()].split("、")
        parts = parts[:-1] + _AND.split(parts[-1], maxsplit=1)
        if len(parts) < 2:
            continue
        parts[-1] = _TRAILING.sub("", parts[-1].split("的")[0])
        first = ""
        for n in range(MIN_ITEM_CHARS, min(len(parts[0]), MAX_ITEM_CHARS) + 1):
            ending = parts[0][-n:]
            if written(ending):
                first = ending
        if _LEADING.match(first) and len(first) > MIN_ITEM_CHARS:
            first = first[1:]
        parts[0] = first
        items = [p.strip("“”\"'《》 ") for p in parts]
        if all(MIN_ITEM_CHARS <= len(p) <= MAX_ITEM_CHARS and written(p) for p in items):
            return tuple(dict.fromkeys(items)) if len(set(items)) >= 2 else ()
    return ()


class PassageTexts:
    """The ``written`` test of ``coordinated_items`` over some passages: their texts normalised and lower-cased
    (``texts``) on first use only — most questions with 各 list no items, and then no passage is read."""

    def __init__(self, raw: Iterable[str]):
        self._raw = raw
        self._texts: list[str] | None = None

    @property
    def texts(self) -> list[str]:
        if self._texts is None:
            self._texts = [normalize(t).lower() for t in self._raw]
        return self._texts

    def __call__(self, word: str) -> bool:
        return any(word in t for t in self.texts)


LISTED_GAP = 2  # characters between two items' mentions for them to stand together in one list (A、B和C)


def names_item(text: str, item: str, items: tuple[str, ...]) -> bool:
    """Whether ``text`` (normalised, lower-cased) names ``item`` on its own: some mention of it that is not
    part of a list of the items (another of ``items`` ending or starting within ``LISTED_GAP`` characters of
    it, as in "围绕做优做强中心城区、城市新区、郊区新城的城市核心功能", which names all three and says nothing of any)."""
    others = [o for o in items if o != item]
    start = text.find(item)
    while start >= 0:
        end = start + len(item)
        before = text[max(0, start - LISTED_GAP - MAX_ITEM_CHARS):start]
        after = text[end:end + LISTED_GAP + MAX_ITEM_CHARS]
        listed = any(o in before[-(len(o) + LISTED_GAP):] or o in after[:len(o) + LISTED_GAP] for o in others)
        if not listed:
            return True
        start = text.find(item, start + 1)
    return False
