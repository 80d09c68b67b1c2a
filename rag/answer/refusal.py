"""When the extractive answer refuses ("文件中未找到…"), and why.

One answerability decision (issue 11 §4) replaces the former ordered chain of hand-written rules:

1. **Hard rules** (``hard_refusal``) — those that hold on every corpus:

   ============  ======================================================================================
   no_content    no word of the question that holds a letter occurs in the index vocabulary (punctuation,
                 code or SQL, bare numbers, words no document uses); the pipeline answers with
                 ``NO_CONTENT_TEXT`` and shows no passages
   no_evidence   no sentence was retrieved, or none shares a word with the question (best coverage 0)
   region        the question names a province or city (the gazetteer, ``named_places``) that no indexed
                 document covers (``place_covered``: the documents' own ``region`` fields, a province
                 question may use its cities' documents, a city lies in its province) and it names no
                 covered place or no top sentence mentions it
   ============  ======================================================================================

2. **The answerability model** (``rag.answer.answerability``): a logistic regression fitted on the tuning
   questions over evidence features — the former rules' signals (``rag.answer.signals.rule_signals``: coverage, focus
   coverage, each asked value kind vs. the values the sentences state and whether the best-ranked
   sentences state it, asked detail noun, members, outcome, definition, years and five-year plans,
   another era's document, answer types such as amounts or phone numbers, words no document contains,
   a place beside the covered ones), the scope of the hits and the retrieval scores (BM25, fused).
   The refusal names its decisive feature with that signal's one-line Chinese reason.

The question's *information need* (``rag.understand.need.need_clause``) is the question without the clauses in which a
company describes itself ("我们是一家做火锅底料的企业，…"); its *focus* (``rag.answer.focus.focus_terms``) the need's
content words without question, place, document and generic words.

``check_refusal`` returns a ``RefusalDecision`` whose ``reason`` is a Chinese sentence for users (the
pipeline adds it to ``Answer.notices``).
"""

from __future__ import annotations

import re

from rag.answer.answerability import RefusalDecision
from rag.understand.need import need_analysis
from rag.answer.signals import TOP_SENTENCES, named_places, place_covered
from rag.text import normalize


def uncovered_place(question: str, docs: dict, top_text: str) -> str | None:
    """The name of a place the question names (``named_places``) that no indexed document covers
    (``place_covered``) when the question is about it: it names no covered place, or the top
    sentences (``top_text``, normalised) never mention it. None otherwise."""
    places = named_places(question)
    uncovered = [p for p in places if not place_covered(p, docs)]
    if not uncovered:
        return None
    names_covered = len(uncovered) < len(places)
    for p in uncovered:
        mentioned = any(n in top_text for n in (p.name, *p.aliases))
        if not names_covered or not mentioned:
            return p.name
    return None


_LETTER = re.compile(r"[^\W\d_]")  # a letter of any script (Chinese characters included), not a digit
NO_CONTENT_TEXT = "问题中没有可识别的查询内容，请用中文描述要查询的政策内容。"  # the answer text (no passages shown)
NO_CONTENT_REASON = "问题里没有一个词出现在已收录的文件中（只有符号、数字、代码或文件中没有的词）。"


def content_terms(question: str, index) -> list[str]:
    """The question's words that carry recognisable content: index tokens (``index.tokenizer.tokens``:
    no stopwords, no punctuation) holding at least one letter of any script and occurring in the
    index vocabulary (``index.df`` > 0). Numbers and symbols alone are no content (`" OR 1=1 --` has
    only "or", absent from a Chinese corpus, and "1"). Returns them in question order, possibly []."""
    return [t for t in index.tokenizer.tokens(question) if _LETTER.search(t) and index.df.get(t, 0) > 0]


def hard_refusal(question: str, scored: list, index) -> RefusalDecision | None:
    """The refusals that hold on every corpus, checked before the answerability model
    (``rag.answer.answerability``): no recognisable content (``content_terms``), no retrieved sentence or none
    sharing a word with the question (best coverage 0), a place no indexed document covers
    (``uncovered_place``) and a document named by place and topic words that no indexed document of that
    place matches (``rag.understand.references.unmatched_document``). None when none applies."""
    if hasattr(index, "tokenizer") and hasattr(index, "df") and not content_terms(question, index):
        return RefusalDecision(True, "no_content", NO_CONTENT_REASON)
    if not scored:
        return RefusalDecision(True, "no_evidence", "没有检索到与问题相关的段落。")
    best_coverage = max(s.coverage for s in scored[:TOP_SENTENCES])
    if best_coverage <= 0:
        return RefusalDecision(True, "no_evidence", "检索到的段落与问题没有共同的关键词。")
    top_text = normalize("".join(s.text for s in scored[:TOP_SENTENCES]))
    place = uncovered_place(question, index.docs, top_text)
    if place:
        regions = "、".join(sorted({m.region for m in index.docs.values() if m.region}))
        return RefusalDecision(True, "region", f"已收录的文件只涉及{regions}，没有关于“{place}”的文件，"
                                               f"检索到的段落也没有提到它。")
    if hasattr(index, "tokenizer"):
        from rag.understand.references import unmatched_document

        unmatched = unmatched_document(question, index)
        if unmatched is not None:
            return RefusalDecision(True, "unmatched_document", unmatched.reason)
    return None


def check_refusal(question: str, scored: list, index, settings, plan=None, model=None) -> RefusalDecision:
    """Decide whether to refuse: first the hard rules (``hard_refusal``), then one answerability decision
    by the fitted model (``rag.answer.answerability``) over the evidence features — the rule signals
    (``rule_signals``) and the retrieval scores of the hits. The decision's ``rule`` names the decisive
    feature (the one that pushed the refusal probability up most) and ``reason`` states it in one
    Chinese line; ``probability`` is the model's refusal probability.

    ``scored``: ``rag.answer.extractive.ScoredSentence`` list, best first; ``index``: the LoadedIndex (``docs``,
    corpus text); ``settings``: the rule settings (``min_*``); ``plan``: the QueryPlan (its concept
    matches count as covering the company's words); ``model``: an ``rag.answer.answerability.Model`` (default:
    the bundled fitted one).
    """
    hard = hard_refusal(question, scored, index)
    if hard is not None:
        return hard
    from rag.answer import answerability

    return answerability.decide(answerability.features(question, scored, index, settings, plan), model)


_FIELD = re.compile(r"哪个(领域|方向|专项|板块|产业|工程|行业)|哪块|哪一块|哪类|属于|沾边|对应的?(培育)?方向|相关的?(方向|工程|专项)")


def asks_field(question: str, plan=None) -> bool:
    """True when the question asks which field/direction of a plan something falls under (an applicability
    question: a company describing itself, or "属于规划里的哪个领域"); answers then name the section.
    ``plan``: the QueryPlan (its need analysis is used when it is of ``question``) or None."""
    return bool(_FIELD.search(question)) or need_analysis(question, plan).need != question

