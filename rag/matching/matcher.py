"""Profile → applicable provisions: company words → policy terms → retrieval → ranked, flagged provisions.

1. **Facets** (``rag.matching.facets.build_facets``). Each profile fact becomes a facet with *links* to
   the documents' vocabulary (钠离子电池 → 新型储能, 航发 → 航空发动机, 用地/空间 → 工业用地 …; an
   industry word no concept knows → the sectors of the company's products, 食品配料 → 合成生物).
2. **Evidence** per passage (chunk) and facet f. A link found in the passage is worth
   ``weight × (0.3 + 0.7·spec(term)) × where`` with spec(t) = ln((N+1)/(df(t)+1)) / ln(N+1) over the N
   passages (an idf in [0, 1]) and where = 1 in the text, 0.6 in the section path only, ×1.25 when
   also in the section path; ``e_f`` = noisy-or of the two strongest distinct terms. ``r_f`` =
   1/(1 + (rank−1)/5) for the passage's rank in ``HybridRetriever.retrieve`` (BM25 + dense, RRF) on
   the facet's query (top 40), or 0.8 × that within its own document; ``s_f = 0.65·e_f + 0.35·r_f``.
3. **Scores.** relevance = 0.4·max + 0.6·weighted mean of ``w·s_f`` over product (w 1) and industry
   (w 0.6) facets, divided by the best passage's and squared; docrel(d) = best relevance in document d.
   Needs and qualifications score ``s_f·√docrel`` — a land provision counts in a document that covers
   the industry; the location ``0.6·e_f·(0.4 + 0.6·raw/best)``. A passage of another jurisdiction's
   document that does not name the company's place counts ×0.6; an ended plan or a draft ×0.85.
4. **Selection** (``rag.matching.select``). Greedy picks by relevance plus bonuses for the location,
   qualifications and direction needs (研发, 市场, 数字化转型 …; a bonus counts ×0.3 once a pick
   covers it), each earlier pick from the same document ×0.8, near-ties broken by direct evidence;
   each *factor* need (用地/空间, 融资, 补贴/奖励, 人才, 应用场景) gets its best own provision and a second one when
   that is strong relative to the first; the location up to two provisions naming the place.

Reasons and quotes of the chosen provisions come from ``rag.matching.explain``. Nothing is dropped for
being expired, a draft or of another jurisdiction: such provisions carry a ``Flag`` in plain words
wherever they are shown, and the chosen provisions are *shown* in force first (``display_order``:
grouped by document, documents in force, then not yet started, drafts, ended; numbered 1…k in that
order). The day is the profile's ``date`` or the settings' today. The constants below were tuned on
the first half of ``eval/datasets/profiles.jsonl`` (p-001…p-023) only; see ``rag.matching.bench``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from rag.index.store import LoadedIndex
from rag.matching.explain import best_quote, reasons
from rag.matching.facets import build_facets
from rag.matching.profile import Profile
from rag.matching.select import Selection
from rag.matching.provisions import (Facet, MatchResult, Provision, TermLink, applies_elsewhere,  # noqa: F401
                                     display_order, document_flags, document_status, is_ended)
from rag.understand.query import QueryPlan, load_concepts
from rag.retrieve.hybrid import NO_FILTERS, Filters
from rag.settings import Settings
from rag.text import normalize

# --- evidence -----------------------------------------------------------------------------------------
SPEC_FLOOR = 0.3  # link value = weight × (floor + (1 − floor)·specificity) × where
SECTION_ONLY = 0.6  # where: a term found only in the section path
SECTION_BONUS = 1.25  # where: the term is also in the section path (the passage is about it)
EVIDENCE_TERMS = 2  # e_f = noisy-or of the strongest distinct terms found
RETRIEVAL_DEPTH = 40  # passages per corpus-wide retrieval
PER_DOC_SHARE = 0.8  # r_f from the ranking within the passage's own document counts this much
EVIDENCE_SHARE = 0.65  # s_f = share·e_f + (1 − share)·r_f


# --- scores -------------------------------------------------------------------------------------------
MAX_SHARE = 0.4  # relevance = share·max + (1 − share)·weighted mean over product/industry facets
SHARPEN = 2.0  # relevance = (raw / best raw) ** SHARPEN
DOCREL_POWER = 0.5  # need/qualification score = s_f · docrel ** power
LOCATION_FLOOR = 0.4  # location score = w · e_f · (floor + (1 − floor)·raw/best)
FOREIGN_DOC = 0.6  # another jurisdiction's document, and the passage does not name the company's place
NOT_IN_FORCE = 0.85  # an ended plan or a draft ranks a little below a provision in force


# --- the matcher -------------------------------------------------------------------------------------
@dataclass
class _Candidate:
    """Evidence of one passage: per facet index, the link values found and the retrieval score."""

    row: int
    found: dict[int, dict[str, tuple[float, TermLink]]] = field(default_factory=dict)  # facet → term → (v, link)
    retrieval: dict[int, float] = field(default_factory=dict)  # facet → r_f

    def evidence(self, fi: int) -> float:
        """Noisy-or of the facet's strongest ``EVIDENCE_TERMS`` link values (distinct terms), in [0, 1]."""
        values = sorted((v for v, _l in self.found.get(fi, {}).values()), reverse=True)[:EVIDENCE_TERMS]
        return 1.0 - math.prod(1.0 - v for v in values)

    def core(self, fi: int) -> float:
        """The strongest value of a core link (weight 1) of the facet."""
        return max((v for v, l in self.found.get(fi, {}).values() if l.weight >= 1.0), default=0.0)

    def reason_link(self, fi: int) -> TermLink | None:
        """The most direct link found (literal > concept term > alias > broader), text before section."""
        links = self.found.get(fi, {})

        def key(vl):
            value, link = vl
            return link.weight, normalize(link.term) in (normalize(link.word), normalize(link.concept_term or "")), value

        return max(links.values(), key=key)[1] if links else None


@dataclass(frozen=True)
class _Scored:
    row: int
    relevance: float  # product/industry relevance in [0, 1]
    extra: dict  # facet index → need/qualification/location contribution
    factor: float  # jurisdiction factor


class ProfileMatcher:
    """Matches profiles against the index in ``settings.data_dir``.

    ``llm``: optional LangChain chat model for the summary (default: built from settings when
    ``settings.llm_enabled``); ``auto_ingest``: ingest the bundled corpus when no index exists.
    Raises IndexNotBuiltError (no index and not ``auto_ingest``).
    """

    def __init__(self, settings: Settings, llm=None, auto_ingest: bool = False):
        from rag.pipeline import PolicyQA

        self.settings = settings
        self._llm = llm
        self._qa = PolicyQA(settings, auto_ingest=auto_ingest)
        self._texts: tuple[str, list[str], list[str]] | None = None
        self._df: dict[str, int] = {}

    @property
    def retriever(self):
        return self._qa.retriever

    @property
    def index(self) -> LoadedIndex:
        return self.retriever.index

    @property
    def concepts(self):
        return load_concepts(str(Path(self.settings.corpus_dir) / "concepts.json"))

    def vocabulary(self):
        """The ``DocumentVocabulary`` of the indexed passages (enterprise designations and kinds the
        documents write), rebuilt when the index generation changes; give it to ``parse_profile_text``."""
        index = self.index
        if getattr(self, "_vocab", (None, None))[0] != index.generation:
            from rag.matching.vocabulary import DocumentVocabulary

            self._vocab = (index.generation, DocumentVocabulary(c.text for c in index.chunks if c.kind != "card"))
        return self._vocab[1]

    def parse(self, text: str) -> Profile:
        """``parse_profile_text`` with this index's concepts, document vocabulary and regions (``home``)."""
        from rag.matching.parser import parse_profile_text

        return parse_profile_text(text, self.concepts, self.vocabulary(), home=self.home())

    def home(self) -> tuple[str, ...]:
        """The regions of the indexed documents (read from them): where a company's short place names are
        looked up first (``rag.matching.places``) and the cities their own documents name everywhere."""
        return tuple(sorted({m.region for m in self.index.docs.values() if m.region}))

    def _normalized(self) -> tuple[list[str], list[str]]:
        index = self.index
        if self._texts is None or self._texts[0] != index.generation:
            texts = [normalize(c.text).lower() for c in index.chunks]
            sections = [normalize(c.section).lower() for c in index.chunks]
            self._texts, self._df = (index.generation, texts, sections), {}
        return self._texts[1], self._texts[2]

    def specificity(self, term: str) -> float:
        """ln((N+1)/(df+1)) / ln(N+1): 1 for a term in no passage, → 0 for a term in every passage."""
        texts, _ = self._normalized()
        t = normalize(term).lower()
        if t not in self._df:
            self._df[t] = sum(1 for x in texts if t in x)
        n = len(texts)
        return math.log((n + 1) / (self._df[t] + 1)) / math.log(n + 1)

    def _retrieve(self, facet: Facet) -> dict[int, float]:
        """r_f per passage: 1 / (1 + (rank − 1)/5) in the corpus-wide ranking, or PER_DOC_SHARE × that
        in the ranking within the passage's own document when higher (every document gets its best)."""
        tokens = self.index.tokenizer.tokens(facet.query)
        plan = QueryPlan(facet.query, tokens, facet.query)
        out: dict[int, float] = {}
        scopes = [(NO_FILTERS, 1.0)] + [(Filters(doc_ids=(d,)), PER_DOC_SHARE) for d in self.index.docs]
        for scope, share in scopes if PER_DOC_SHARE > 0 else scopes[:1]:
            for h in self.retriever.retrieve(facet.query, RETRIEVAL_DEPTH if share == 1.0 else 10, scope, plan=plan):
                row = self.index.by_id[h.chunk.chunk_id]
                out[row] = max(out.get(row, 0.0), share / (1.0 + (h.rank - 1) / 5.0))
        return out

    def _evidence(self, facets: list[Facet]) -> dict[int, _Candidate]:
        texts, sections = self._normalized()
        cands: dict[int, _Candidate] = {}
        for fi, facet in enumerate(facets):
            for link in facet.links:
                term = normalize(link.term).lower()
                if len(term) < 2:
                    continue
                spec = SPEC_FLOOR + (1 - SPEC_FLOOR) * self.specificity(term)
                for row, (text, section) in enumerate(zip(texts, sections)):
                    in_text, in_section = term in text, term in section
                    if not (in_text or in_section):
                        continue
                    where = (1.0 if in_text else SECTION_ONLY) * (SECTION_BONUS if in_section else 1.0)
                    value = min(1.0, link.weight * spec * where)
                    if value <= 0.0:
                        continue
                    found = cands.setdefault(row, _Candidate(row)).found.setdefault(fi, {})
                    if value > found.get(term, (0.0, None))[0]:
                        found[term] = (value, link)
            for row, r in self._retrieve(facet).items():
                cands.setdefault(row, _Candidate(row)).retrieval[fi] = r
        return cands

    def score(self, profile: Profile, facets: list[Facet]) -> tuple[dict[int, _Candidate], dict[int, _Scored], dict]:
        """Evidence and scores of every candidate passage, and docrel (see the module docstring)."""
        index = self.index
        today = profile.on(self.settings.today_date())
        cands = {r: c for r, c in self._evidence(facets).items() if index.chunks[r].kind != "card"}

        def s(c: _Candidate, fi: int) -> float:
            return EVIDENCE_SHARE * c.evidence(fi) + (1 - EVIDENCE_SHARE) * c.retrieval.get(fi, 0.0)

        industry_idx = [i for i, f in enumerate(facets) if f.kind in ("product", "industry")]
        total_w = sum(facets[i].weight for i in industry_idx) or 1.0

        def relevance(c: _Candidate) -> float:
            vals = [facets[i].weight * s(c, i) for i in industry_idx]
            return MAX_SHARE * max(vals, default=0.0) + (1 - MAX_SHARE) * sum(vals) / total_w

        raw = {r: relevance(c) for r, c in cands.items()}
        best = max(raw.values(), default=0.0) or 1.0
        rel = {r: (v / best) ** SHARPEN for r, v in raw.items()}
        docrel: dict[str, float] = {d: 0.0 if industry_idx else 1.0 for d in index.docs}
        for r, v in rel.items():
            d = index.chunks[r].doc_id
            docrel[d] = max(docrel[d], v)
        places = [normalize(p).lower() for p in profile.place_words(self.home())]
        texts, _ = self._normalized()
        scored = {}
        for r, c in cands.items():
            chunk = index.chunks[r]
            extra: dict[int, float] = {}
            for i, f in enumerate(facets):
                if f.kind in ("need", "qualification", "direction"):
                    extra[i] = s(c, i) * docrel[chunk.doc_id] ** DOCREL_POWER
                elif f.kind == "location":
                    extra[i] = f.weight * c.evidence(i) * (LOCATION_FLOOR + (1 - LOCATION_FLOOR) * raw[r] / best)
            meta = index.docs[chunk.doc_id]
            foreign = applies_elsewhere(meta, profile)
            factor = FOREIGN_DOC if foreign and not any(p in texts[r] for p in places) else 1.0
            if meta.is_draft or is_ended(meta, today):
                factor *= NOT_IN_FORCE
            scored[r] = _Scored(r, rel[r] if industry_idx else 0.0, extra, factor)
        return cands, scored, docrel

    def select(self, cands: dict[int, _Candidate], scored: dict[int, _Scored], facets: list[Facet],
               k: int, today=None) -> list[tuple[int, float]]:
        """Top-k ``[(row, gain)]`` best first (see the module docstring, step 4, and ``rag.matching.select``)."""
        return Selection(self, cands, scored, facets, today).run(k)

    def match(self, profile: Profile, k: int = 10, summarize: bool = True) -> MatchResult:
        """The top-``k`` provisions for ``profile`` (fewer when fewer passages relate to it), all from the
        index live when the match started (``PolicyQA.pinned``), whatever ingest finishes meanwhile."""
        with self._qa.pinned():
            return self._match(profile, k, summarize)

    def _match(self, profile: Profile, k: int, summarize: bool) -> MatchResult:
        today = profile.on(self.settings.today_date())
        index = self.index
        facets = build_facets(profile, self.concepts, index.tokenizer, home=self.home())
        if not facets:
            return MatchResult(profile, (), "企业画像中没有可用于匹配的产品、行业、资质或需求。", today=today)
        cands, scored, _docrel = self.score(profile, facets)
        provisions, used = [], []
        for rank, (r, gain) in enumerate(self.select(cands, scored, facets, k, today), start=1):
            chunk = index.chunks[r]
            meta = index.docs[chunk.doc_id]
            links = [(cands[r].evidence(fi), cands[r].reason_link(fi)) for fi in cands[r].found]
            terms: dict[str, float] = {}
            for fi, found in cands[r].found.items():
                for t, (v, _l) in found.items():
                    terms[t] = max(terms.get(t, 0.0), v * facets[fi].weight)
            used += [link for _e, link in links]
            provisions.append(Provision(rank, chunk, meta, best_quote(chunk.text, terms),
                                        tuple(reasons(links, cands[r].retrieval, facets)), document_flags(meta, profile, today),
                                        document_status(meta, today), round(gain, 6)))
        provisions = display_order(provisions, today)  # in force first, grouped, numbered 1…k as shown
        mapping = tuple({(l.kind, l.word, l.concept_term or l.term, l.via): l for l in used
                         if l.via in ("concept", "broader", "part")
                         and normalize(l.word) != normalize(l.concept_term or l.term)}.values())
        result = MatchResult(profile, tuple(provisions), "", mapping, "template", today)
        if not summarize:
            return result
        from rag.matching.report import summarize as make_summary

        text, mode = make_summary(result, self.settings, self._llm)
        return MatchResult(profile, tuple(provisions), text, mapping, mode, today)
