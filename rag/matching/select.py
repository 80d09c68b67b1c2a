"""Choosing the top-k provisions from scored candidates (``rag.matching.matcher`` step 4).

* **Greedy with marginal relevance.** Each step takes the candidate of highest *marginal* gain: its
  relevance plus bonuses for the location, qualifications and direction needs (a bonus counts ×COVERED
  once a pick covers it), times the jurisdiction factor, times SAME_DOC per earlier pick from the same
  document. (A further penalty for a second pick of the very same section was tried and removed: on
  the tuning half any such penalty, 0.1–0.3, lowered recall.)
* **Principled ties.** Candidates within TIE (relative) of the best gain are tied; among them the one
  with the strongest direct evidence of the company's products/industry wins (a literal or concept term
  in the text beats a retrieval-only match), then the higher gain.
* **Factor needs with adaptive quotas.** A factor need (用地/空间, 融资, 人才, 应用场景) gets its best
  own provision (a reserved slot), and further ones while they are strong relative to the first
  (strength ≥ NEED_NEXT × the first's, at most NEED_MAX, each from a section not yet used for that
  need); a further one displaces the weakest greedy pick when it scores higher than it (no reserved
  slot). A need with two comparably strong fund provisions lists both, a need with one clear provision
  lists one. A provision is *about* the need when its section path names one of the need's core words,
  half-way so (LEAD_ABOUT) when only its lead sentence does — the topic sentence policy paragraphs
  open with, e.g. "强化资金要素保障。" under a heading "创新关键要素供给".
* **Location.** Up to LOCAL_SLOTS provisions naming the company's place; then greedy again up to k.
* **Never only a need word.** A passage is listed only when it relates to the company's products or
  industry, names its place or qualification, or is about one of its needs (``eligible``: the need's core
  word in the section path or lead sentence, or anywhere in a support-measure section); a need's own
  provision must be about the need or speak of the company's industry (``serves_need``).
"""

from __future__ import annotations

import re

from rag.matching.facets import FACET_WEIGHTS
from rag.text import normalize, split_sentences

# Section headings of support measures: where policies say what they give (funds, land, talent …).
MEASURE_SECTION = re.compile(r"保障|措施|扶持|支持政策|政策支持|要素")
SAME_DOC = 0.8  # per earlier pick from the same document
TIE = 0.03  # gains within this share of the best are tied; direct evidence breaks the tie
COVER_EVIDENCE = 0.45  # a pick covers a facet from this e_f on
COVERED = 0.3  # a bonus facet already covered by a pick counts this much
MIN_GAIN = 0.05  # passages scoring less are not listed (the list may be shorter than k)
NEED_MIN = 0.2  # a factor need's provision needs at least this strength
NEED_NEXT = 0.5  # a further provision of a need when its strength is ≥ this × the need's best
NEED_MAX = 2  # provisions per factor need at most
NOT_ABOUT = 0.6  # strength ×this when neither section path nor lead sentence names a core word
LEAD_ABOUT = 0.8  # … ×this when only the lead sentence names one
STALE_PER_YEAR = 0.05  # strength ×(1 − this × years since the plan ended), at least 0.5
LOCAL_SLOTS = 2  # provisions naming the company's place that the list should hold (when there are any)
LOCAL_MIN_RELEVANCE = 0.01  # … that relate to its industry at least this much (relevance after SHARPEN)


def lead_sentence(text: str) -> str:
    """The first sentence of a passage, normalised and lower-cased ("" for an empty passage)."""
    spans = split_sentences(text)
    return normalize(text[spans[0][0]:spans[0][1]]).lower() if spans else ""


class Selection:
    """One selection run over ``cands``/``scored`` (see ``ProfileMatcher.score``) for ``facets``."""

    def __init__(self, matcher, cands: dict, scored: dict, facets: list, today=None):
        self.m, self.cands, self.scored, self.facets = matcher, cands, scored, facets
        self.today = today or matcher.settings.today_date()  # the day the match is for (``recency``)
        self.index = matcher.index
        self.chosen: dict[int, float] = {}
        self.per_doc: dict[str, int] = {}
        self._leads: dict[int, str] = {}  # row → lead sentence (see ``about``)
        self.fixed: set[int] = set()  # need and location picks (never displaced)
        self.has_industry = any(f.kind in ("product", "industry") for f in facets)
        bonus_kinds = ("location", "qualification", "direction") + (() if self.has_industry else ("need",))
        self.bonus_idx = [i for i, f in enumerate(facets) if f.kind in bonus_kinds]
        self.industry_idx = [i for i, f in enumerate(facets) if f.kind in ("product", "industry")]

    # --- helpers --------------------------------------------------------------------------------------
    def _key(self, row: int) -> tuple[str, str]:
        """(document id, section path) of a passage."""
        chunk = self.index.chunks[row]
        return chunk.doc_id, chunk.section

    def pick(self, row: int, gain: float) -> None:
        """List passage ``row`` with score ``gain`` and count it for its document (SAME_DOC)."""
        self.chosen[row] = gain
        doc = self.index.chunks[row].doc_id
        self.per_doc[doc] = self.per_doc.get(doc, 0) + 1

    def drop(self, row: int) -> None:
        """Take a listed passage off the list again (undoes ``pick``)."""
        del self.chosen[row]
        self.per_doc[self.index.chunks[row].doc_id] -= 1

    def covered(self, i: int) -> bool:
        """True when a listed passage has evidence e_f ≥ COVER_EVIDENCE of facet ``i`` (its bonus then
        counts only ×COVERED in later greedy steps)."""
        return any(self.cands[r].evidence(i) >= COVER_EVIDENCE for r in self.chosen)

    def direct(self, row: int) -> float:
        """Strongest direct evidence (terms in the passage) of a product/industry facet, weighted."""
        c = self.cands[row]
        return max((self.facets[i].weight * c.evidence(i) for i in self.industry_idx), default=0.0)

    def redundancy(self, row: int) -> float:
        """Marginal-relevance factor: SAME_DOC per listed passage of the same document."""
        return SAME_DOC ** self.per_doc.get(self.index.chunks[row].doc_id, 0)

    def lead(self, row: int) -> str:
        """The passage's lead sentence (``lead_sentence``), computed once per passage."""
        if row not in self._leads:
            self._leads[row] = lead_sentence(self.index.chunks[row].text)
        return self._leads[row]

    def about(self, row: int, facet) -> float:
        """1 when the passage's section path names a core word of the facet, LEAD_ABOUT when only its lead
        sentence does, else NOT_ABOUT."""
        _texts, sections = self.m._normalized()
        words = [normalize(l.term).lower() for l in facet.links if l.weight >= 1.0]
        if any(w in sections[row] for w in words):
            return 1.0
        lead = self.lead(row)
        return LEAD_ABOUT if any(w in lead for w in words) else NOT_ABOUT

    def about_need(self, i: int, row: int) -> bool:
        """True when the passage is about need ``i``: it names a core word of the need (e_f ≥ COVER_EVIDENCE)
        in its section path or lead sentence (``about`` ≥ LEAD_ABOUT), or anywhere when it is a measure
        of a support section (保障措施, 政策支持 … — ``MEASURE_SECTION`` on the section path)."""
        if self.cands[row].core(i) < COVER_EVIDENCE:
            return False
        if self.about(row, self.facets[i]) >= LEAD_ABOUT:
            return True
        return bool(MEASURE_SECTION.search(self.index.chunks[row].section or ""))

    def eligible(self, row: int) -> bool:
        """Whether the passage may be listed at all: it relates to the company's products/industry (a term
        found or a retrieval rank), names its place or qualification, or is about one of its needs — never
        only because a need word (补贴, 研发 …) occurs somewhere in it."""
        c = self.cands[row]
        if any(c.found.get(i) or c.retrieval.get(i, 0.0) > 0.0 for i in self.industry_idx):
            return True
        if any(c.found.get(i) for i, f in enumerate(self.facets) if f.kind in ("qualification", "location")):
            return True
        return any(self.about_need(i, row) for i, f in enumerate(self.facets) if f.kind in ("need", "direction"))

    def recency(self, row: int) -> float:
        """1 − STALE_PER_YEAR × years since the document's period ended (floor 0.5): funds, land quotas
        and scenario programmes of a plan that ended long ago are least likely to still be offered."""
        meta = self.index.docs[self.index.chunks[row].doc_id]
        years = self.today.year - meta.period_end if meta.period_end else 0
        return max(0.5, 1.0 - STALE_PER_YEAR * max(0, years))

    # --- steps ----------------------------------------------------------------------------------------
    def greedy(self, limit: int) -> None:
        """Pick passages one by one until ``limit`` are listed: each time the candidate of highest marginal
        gain (relevance + not yet covered bonuses, × jurisdiction factor × ``redundancy``); candidates
        within TIE of the best go to the strongest direct evidence. Stops early when no candidate gains
        more than MIN_GAIN."""
        facets = self.facets
        while len(self.chosen) < limit:
            done = {i for i in self.bonus_idx if facets[i].kind != "location" and self.covered(i)}
            gains = []
            for sc in self.scored.values():
                if sc.row in self.chosen or not self.eligible(sc.row):
                    continue
                base = sc.relevance if self.has_industry else 1.0  # bonuses scale with relevance
                gain = sc.relevance + sum(
                    (1.0 if facets[i].kind == "location" else FACET_WEIGHTS[facets[i].kind] * base)
                    * sc.extra.get(i, 0.0) * (COVERED if i in done else 1.0) for i in self.bonus_idx)
                gain *= sc.factor * self.redundancy(sc.row)
                if gain > MIN_GAIN:
                    gains.append((gain, sc.row))
            if not gains:
                return
            top = max(g for g, _r in gains)
            gain, row = max(((g, r) for g, r in gains if g >= top * (1.0 - TIE)),
                            key=lambda gr: (round(self.direct(gr[1]), 6), gr[0], -gr[1]))
            self.pick(row, gain)

    def need_strength(self, i: int, row: int) -> float:
        """How well passage ``row`` serves factor need ``i``: its need score (s_f·√docrel) × jurisdiction
        factor × (1 + relevance) × ``about`` × ``recency``."""
        sc = self.scored[row]
        return (sc.extra.get(i, 0.0) * sc.factor * (1.0 + sc.relevance) * self.about(row, self.facets[i])
                * self.recency(row))

    def serves_need(self, i: int, row: int) -> bool:
        """A passage serves need ``i`` when it is about the need (``about_need``) or speaks of the company's
        products/industry directly; a passage that merely mentions the need word (a consumer subsidy in an
        industry's list of projects) does not."""
        return self.about_need(i, row) or self.direct(row) > 0.0

    def need_plan(self, i: int) -> list[tuple[float, int]]:
        """The provisions a factor need should list: its best own provision, and further ones (other
        sections) whose strength is at least NEED_NEXT × the best's, NEED_MAX at most."""
        options = sorted(((self.need_strength(i, r), r) for r in self.scored
                          if self.cands[r].core(i) >= COVER_EVIDENCE and self.serves_need(i, r)),
                         key=lambda gr: (-gr[0], gr[1]))
        plan: list[tuple[float, int]] = []
        used: set[tuple[str, str]] = set()
        for gain, row in options:
            if len(plan) >= NEED_MAX or gain < NEED_MIN or (plan and gain < NEED_NEXT * plan[0][0]):
                break
            if self._key(row) not in used:
                plan.append((gain, row))
                used.add(self._key(row))
        return plan

    def run(self, k: int) -> list[tuple[int, float]]:
        """The top-``k`` ``[(row, gain)]``, best first: greedy picks up to k minus the reserved slots (at
        least half of k), then each factor need's best provision and up to LOCAL_SLOTS provisions naming
        the company's place (never displaced), greedy again up to k, and finally the needs' further
        provisions, each displacing the weakest greedy pick it beats (module docstring)."""
        facets = self.facets
        need_idx = [i for i, f in enumerate(facets) if f.kind == "need"]
        local_idx = [i for i, f in enumerate(facets) if f.kind == "location"]
        plans = {i: self.need_plan(i) for i in need_idx}
        reserved = sum(min(1, len(p)) for p in plans.values()) + LOCAL_SLOTS * len(local_idx)
        self.greedy(max(k - reserved, (k + 1) // 2))
        for i in need_idx:  # each factor need: its best provision, unless already listed
            for gain, row in plans[i][:1]:
                if row not in self.chosen and len(self.chosen) < k:
                    self.pick(row, gain * FACET_WEIGHTS["need"])
                    self.fixed.add(row)
        for i in local_idx:  # at least LOCAL_SLOTS provisions that name the company's place
            options = sorted(((sc.extra.get(i, 0.0) * sc.factor, sc.row) for sc in self.scored.values()
                              if sc.row not in self.chosen and self.cands[sc.row].evidence(i) >= COVER_EVIDENCE
                              and sc.relevance >= LOCAL_MIN_RELEVANCE), reverse=True)
            have = sum(1 for r in self.chosen if self.cands[r].evidence(i) >= COVER_EVIDENCE)
            for gain, row in options[:max(0, LOCAL_SLOTS - have)]:
                if len(self.chosen) < k and gain >= NEED_MIN * FACET_WEIGHTS["location"]:
                    self.pick(row, gain)
                    self.fixed.add(row)
        self.greedy(k)
        for i in need_idx:  # a need's further provisions displace the weakest greedy pick they beat
            for gain, row in plans[i][1:]:
                gain *= FACET_WEIGHTS["need"]
                weakest = min((r for r in self.chosen if r not in self.fixed), key=self.chosen.get, default=None)
                if row in self.chosen:
                    continue
                if len(self.chosen) >= k and (weakest is None or self.chosen[weakest] >= gain):
                    continue
                if len(self.chosen) >= k:
                    self.drop(weakest)
                self.pick(row, gain)
                self.fixed.add(row)
        return sorted(self.chosen.items(), key=lambda kv: -kv[1])
