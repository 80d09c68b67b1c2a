"""What the indexed documents call kinds of enterprises: the vocabulary a profile's qualifications are read in.

Policies name the kinds of enterprises they address: designations in quotation marks (“链主”企业,
“小巨人”企业, “瞪羚”企业, “专精特新”中小企业 …) and plain ``X企业`` categories (中小企业, 军民融合企业,
外资企业 …). ``DocumentVocabulary`` holds the normalised passage texts of an index and gives

* ``designations`` — the quoted designations followed by 企业/称号/中小企业 in the texts, in order of
  frequency (ties by first appearance);
* ``enterprise_kind(text)`` — for a phrase ``…X企业`` in a company's own words, the longest ``X企业``
  (X of 2–6 Chinese characters ending right before 企业) that the documents themselves write.

Nothing here knows any particular document; the rules read the texts they are given.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from rag.text import normalize

QUOTED_DESIGNATION = re.compile(r"[“\"‘']([\u4e00-\u9fffA-Za-z]{2,10})[”\"’']\s*(?:中小)?(?:企业|称号)")
KIND_BEFORE_ENTERPRISE = re.compile(r"([\u4e00-\u9fff]{2,6})企业")
# Characters that cannot start an enterprise kind: counters, pronouns, particles of the company's sentence.
NOT_KIND_START = set("一家个的是这那我们该本此其为属于和与及")
KIND_MAX = 6


class DocumentVocabulary:
    """The enterprise vocabulary of a set of passages (``texts``: passage texts, any normalisation)."""

    def __init__(self, texts: Iterable[str]):
        self.texts = [normalize(t) for t in texts]
        counts: Counter[str] = Counter()
        first: dict[str, int] = {}
        for i, t in enumerate(self.texts):
            for m in QUOTED_DESIGNATION.finditer(t):
                counts[m.group(1)] += 1
                first.setdefault(m.group(1), i)
        self.designations: tuple[str, ...] = tuple(sorted(counts, key=lambda d: (-counts[d], first[d])))
        self._seen: dict[str, bool] = {}

    def contains(self, term: str) -> bool:
        """True when some passage contains ``term`` (normalised, exact characters)."""
        t = normalize(term)
        if t not in self._seen:
            self._seen[t] = bool(t) and any(t in x for x in self.texts)
        return self._seen[t]

    def enterprise_kind(self, phrase: str) -> str | None:
        """The longest ``X企业`` ending ``phrase`` (which must end in 企业) that the documents write, X of
        2–6 Chinese characters not starting with a counter/pronoun/particle; None when there is none.
        "做电堆的军民融合企业" → "军民融合企业" when a passage says 军民融合企业."""
        p = normalize(phrase)
        if not p.endswith("企业"):
            return None
        head = p[:-2]
        for n in range(min(KIND_MAX, len(head)), 1, -1):
            x = head[-n:]
            if not re.fullmatch(r"[\u4e00-\u9fff]+", x) or x[0] in NOT_KIND_START:
                continue
            if self.contains(x + "企业"):
                return x + "企业"
        return None
