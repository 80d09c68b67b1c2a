"""Which scored sentences an extractive answer quotes (``rag.answer.extractive.compose`` and its
``_sentence_rows`` call these on ``rag.answer.scoring.ScoredSentence`` lists, best first): the sentences
scoring within 85 % of the best (``_pick``), sentences holding question terms the chosen ones lack
(``_complement``), a sentence for each part of the question no chosen one answers (``_answer_parts``), a
compared provision's counterpart in another document (``_counterpart``), a sentence for each coordinated item
the question asks about (``aspect_sentences``); the sentences that answer nothing
asked (heading lines, ``is_heading``; title lines, ``_is_title``) and, for a question scoped to a place,
the sentences of the documents applying there (``scope_regions``, ``scoped_order``).

Of the extractive answer's modules it imports ``rag.answer.scoring`` only.
"""

from __future__ import annotations

import re

from rag.answer.scoring import ScoredSentence, _bigrams
from rag.text import normalize


def _pick(sentences: list[ScoredSentence], max_sentences: int, chosen: list[ScoredSentence]) -> list[ScoredSentence]:
    """Up to ``max_sentences`` of ``sentences`` (best first) scoring ≥ 85 % of the best, skipping sentences
    already chosen or contained in a chosen one."""
    out: list[ScoredSentence] = []
    best = sentences[0].score if sentences else 0.0
    for s in sentences:
        if len(out) >= max_sentences or s.score < 0.85 * best:
            break
        if any(s.hit.chunk.chunk_id == c.hit.chunk.chunk_id and (c.start <= s.start < c.end) for c in chosen + out):
            continue
        if any(normalize(s.text) in normalize(c.text) for c in chosen + out):
            continue
        out.append(s)
    return out


COUNTERPART_SIM = 0.6  # share of the shorter one's character bigrams a provision and its counterpart in another
# compared document have in common (overlap coefficient)
_ARTICLE_NUMBER = re.compile(r"^\s*第[一二三四五六七八九十百零〇\d]+条\s*")


def _counterpart(s: ScoredSentence, group: list[ScoredSentence], chosen: list[ScoredSentence]) -> ScoredSentence | None:
    """The sentence of ``group`` (another compared document's sentences) that says what ``s`` says — the
    same provision in the other document or version ("新建城镇住宅区…按照每百户不低于二十平方米…" /
    "新建城镇居住区按照每一百户不低于二十平方米…"): the highest overlap coefficient of character bigrams with
    ``s`` (|A∩B| / min(|A|, |B|), article numbers left out, sentences of ≥ 8 bigrams), at least
    ``COUNTERPART_SIM``, not already quoted (``_pick``); else None."""
    key = _bigrams(normalize(_ARTICLE_NUMBER.sub("", s.text)))
    best, best_sim = None, COUNTERPART_SIM
    for o in group:
        other = _bigrams(normalize(_ARTICLE_NUMBER.sub("", o.text)))
        if min(len(key), len(other)) < 8:
            continue
        sim = len(key & other) / min(len(key), len(other))
        if sim >= best_sim:
            best, best_sim = o, sim
    return best if best is not None and _pick([best], 1, chosen) else None


COMPLEMENT_SCORE = 0.7  # a complementing sentence scores at least this share of the best one
COMPLEMENT_TERMS = 0.15  # … and holds at least this share of the question's term weight that no chosen sentence holds


def _complement(sentences: list[ScoredSentence], picked: list[ScoredSentence], chosen: list[ScoredSentence],
                terms: dict[str, float], room: int) -> list[ScoredSentence]:
    """Up to ``room`` more of ``sentences`` (best first) that carry what the ``picked`` ones lack: each
    scores ≥ ``COMPLEMENT_SCORE`` of the best of ``picked`` and holds question ``terms`` (term → idf
    weight) worth ≥ ``COMPLEMENT_TERMS`` of the question's weight that no sentence of ``picked`` (nor
    one added before it) holds, and is not already in ``chosen`` (``_pick``) — the one sentence that carries a part of the question is not left
    out for falling just under the 85 % cut of ``_pick``. [] without terms, picks or room."""
    if not terms or not picked or room <= 0:
        return []
    total = sum(terms.values()) or 1.0
    held = normalize("".join(s.text for s in picked)).lower()
    out: list[ScoredSentence] = []
    for s in sentences:
        if len(out) >= room or s.score < COMPLEMENT_SCORE * picked[0].score:
            break
        sent = normalize(s.text).lower()
        new = sum(w for t, w in terms.items() if t in sent and t not in held)
        if new / total >= COMPLEMENT_TERMS and _pick([s], 1, chosen + out):
            out.append(s)
            held += sent
    return out


PART_COVERAGE = 0.5  # a part of a question is answered by a sentence holding this share of its terms' weight
VALUE_NEIGHBOUR = 0.9  # a value sentence in the paragraph of an answering sentence counts with this share of its coverage
PART_SCORE = 0.5  # a sentence added for a part scores at least this share of the best sentence


def _same_line(a: ScoredSentence, b: ScoredSentence) -> bool:
    """``a`` and ``b`` lie in one paragraph (line) of the same passage."""
    if a.hit.chunk.chunk_id != b.hit.chunk.chunk_id:
        return False
    lo, hi = sorted((a.start, b.start))
    return "\n" not in a.hit.chunk.text[lo:hi]


def _answer_parts(sentences: list[ScoredSentence], chosen: list[ScoredSentence]) -> list[ScoredSentence]:
    """Sentences to add so that every part of the question is answered: for each part (``parts``; the
    whole question when it has one) that no chosen sentence answers — covers ≥ ``PART_COVERAGE`` of the
    part's terms and, when the question asks for a value, states one (``value``) — the sentence that
    does, best by its part coverage: a value sentence of the paragraph of a chosen or answering sentence
    (“……。[责任单位：市科技局…]”, the target after its lead-in) counts with ``VALUE_NEIGHBOUR`` of that
    sentence's coverage. A candidate scores ≥ ``PART_SCORE`` of the best sentence and is not already
    quoted. [] when every part is answered or no sentence does better."""
    if not sentences or not chosen:
        return []
    n_parts = len(chosen[0].parts) or 1
    best = sentences[0].score
    out: list[ScoredSentence] = []
    for i in range(n_parts):
        def part_cov(s: ScoredSentence) -> float:
            return s.parts[i] if s.parts else s.coverage

        wants_value = any(s.value[i] for s in sentences if s.value)

        def states(s: ScoredSentence) -> bool:
            return bool(s.value) and s.value[i]

        def answers(s: ScoredSentence) -> bool:
            return (not wants_value or states(s)) and (not s.parts or s.parts[i] >= PART_COVERAGE)

        if any(answers(s) for s in chosen + out):
            continue
        leads = [s for s in sentences[:40] if part_cov(s) > 0]
        pool = [s for s in sentences[:40] if s.score >= PART_SCORE * best or states(s)]
        candidates = []
        for s in pool:
            cov = part_cov(s)
            if wants_value and states(s):
                cov = max([cov] + [VALUE_NEIGHBOUR * part_cov(o) for o in leads if o is not s and _same_line(o, s)])
            if (not wants_value or states(s)) and cov >= (PART_COVERAGE if s.parts else PART_SCORE * chosen[0].coverage):
                candidates.append((cov + 0.05 / s.hit.rank, s))
        for _, s in sorted(candidates, key=lambda c: -c[0]):
            if _pick([s], 1, chosen + out):
                out.append(s)
                break
    return out


_PART_HEADING = re.compile(r"第[一二三四五六七八九十百千零〇两\d]+(?:编|章|节|部分)[^，,。；;：:！？!?、]{0,30}")


def is_heading(s: ScoredSentence) -> bool:
    """``s`` is a heading line, never an answer sentence: a part, chapter or section heading ("第五章
    物业服务", "第二节 监督管理") without punctuation, or a label of its own section path ("第五章 物业服务 ›
    第六十一条" → 第五章 物业服务, 第六十一条); whitespace and a final 。 ignored."""
    text = re.sub(r"\s+", "", normalize(s.text)).rstrip("。.")
    if not text:
        return False
    labels = {re.sub(r"\s+", "", normalize(p)).rstrip("。.") for p in s.hit.chunk.section.split(" › ")}
    return text in labels or _PART_HEADING.fullmatch(text) is not None


def scope_regions(terms: dict[str, float], docs: dict, doc_ids) -> tuple[str, ...]:
    """The regions of the documents ``doc_ids`` (``docs``: doc_id → DocumentMeta; ``scoped_order`` passes every
    indexed document, so that a named province whose own documents were not retrieved still scopes its cities'
    ones) that a question term (``terms``: lower-cased question terms) names by full or bare name (上海 → 上海市,
    ``rag.ingest.metadata.bare_region``), in ``doc_ids`` order; "全国" and documents without a region name none."""
    out: list[str] = []
    for d in doc_ids:
        meta = docs.get(d)
        region = getattr(meta, "region", None) if meta is not None else None
        if not region or region == "全国" or region in out:
            continue
        if any(n in t for n in _region_names(region) for t in terms):
            out.append(region)
    return tuple(out)


def _region_names(region: str) -> set[str]:
    """A region's full and bare name (上海市, 上海), lower-cased, each of ≥ 2 characters."""
    from rag.ingest.metadata import bare_region

    return {n.lower() for n in (region, bare_region(region) or region) if len(n) >= 2}


def scoped_order(sentences: list[ScoredSentence], terms: dict[str, float], docs: dict) -> list[ScoredSentence]:
    """``sentences`` (best first) of the documents that apply in the place a question is scoped to: when a
    question term names the region of some indexed documents (``scope_regions``) and a sentence of a
    document applying there (``rag.understand.scopes.applies_in``: the region, its province, its cities;
    national documents, 全国 or without a region, too) holds a question term other than the place's
    name, the sentences of every other document are left out — another place's rule sharing more words
    with the question does not answer it. ``sentences`` unchanged otherwise."""
    from rag.understand.scopes import applies_in

    regions = scope_regions(terms, docs, [*dict.fromkeys(s.hit.chunk.doc_id for s in sentences), *docs])
    if not regions:
        return sentences
    places = set().union(*(_region_names(r) for r in regions))
    asked = [t for t in terms if not any(t in p or p in t for p in places)]

    def applies(s: ScoredSentence) -> bool:
        meta = docs.get(s.hit.chunk.doc_id)
        region = getattr(meta, "region", None) if meta is not None else None
        return applies_in(region, regions)

    inside = [s for s in sentences if applies(s)]
    if not any(t in normalize(s.text).lower() for s in inside for t in asked):
        return sentences
    return inside


def _is_title(s: ScoredSentence) -> bool:
    """``s`` is its document's title line (normalised, whitespace ignored): it names the document the
    question already names and says nothing it asks."""
    return bool(s.hit.title) and normalize(s.text).lower().strip("。.") == normalize(s.hit.title).lower().strip("。.")


ASPECT_OPENING_SCORE = 0.5  # a sentence opening with the item is preferred when it scores this share of the best naming it
_LEAD = re.compile(r"^[\s\-—·•]*(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十\d]+[、.．])?\s*")


def aspect_sentences(sentences: list[ScoredSentence], aspects: tuple[str, ...],
                     chosen: list[ScoredSentence]) -> list[ScoredSentence]:
    """For a question asking the same thing of coordinated items (``aspects``,
    ``rag.understand.aspects.coordinated_items``: 中心城区、城市新区、郊区新城各定了什么功能): for each item, in the
    items' order, the best sentence of ``sentences`` (best first) that names it on its own (``names_item``) —
    one opening with it (after a list number or dash: "中心城区，聚焦…") and scoring ≥ ``ASPECT_OPENING_SCORE`` of
    the best before one mentioning it later —, then the
    ``chosen`` sentences not among them — without a chosen sentence that only lists the items together
    ("围绕做优做强中心城区、城市新区、郊区新城的城市核心功能…", which answers none of them). ``chosen`` unchanged when
    no sentence names an item on its own."""
    from rag.understand.aspects import names_item

    normalised = {id(s): normalize(s.text).lower() for s in [*sentences, *chosen]}

    def text(s: ScoredSentence) -> str:
        return normalised[id(s)]

    own: list[ScoredSentence] = []
    for item in aspects:
        naming = [s for s in sentences if names_item(text(s), item, aspects)]
        # a sentence about the item opens with it (中心城区，聚焦…), one that mentions it on the way does not
        s = next((s for s in naming if _LEAD.sub("", text(s)).startswith(item)
                  and s.score >= ASPECT_OPENING_SCORE * naming[0].score), naming[0] if naming else None)
        if s is not None and s not in own:
            own.append(s)
    if not own:
        return chosen

    def lists_only(s: ScoredSentence) -> bool:
        t = text(s)
        return sum(item in t for item in aspects) >= 2 and not any(names_item(t, item, aspects) for item in aspects)

    return own + [s for s in chosen if s not in own and not lists_only(s)]
