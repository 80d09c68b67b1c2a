"""The retrieve-then-answer pipeline used by the CLI, the UI and the evaluation harness.

    qa = PolicyQA(Settings.from_env())
    hits = qa.retrieve("到2027年四川要打造几个千亿级产业集群？", k=5)      # retrieval only
    answer = qa.ask("到2027年四川要打造几个千亿级产业集群？")              # Answer (extractive or LLM)
    for event in qa.ask_stream(question): ...                            # {"type": "delta"|"final", …}

Extractive mode is the default; the LLM mode is used when ``settings.llm_enabled`` or an ``llm``
(any LangChain chat model) is given. A failing LLM falls back to the extractive answer with a notice.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Iterator

from rag.errors import IndexNotBuiltError, InvalidQuestionError
from rag.extractive import (ASKS_LIST, compose, concept_alternatives, metadata_answer, outline_items, question_terms,
                            score_sentences)
from rag.query import comparison_groups
from rag.refusal import asks_field, check_refusal
from rag.index import LoadedIndex, load_index
from rag.retrieval import NO_FILTERS, Filters, HybridRetriever
from rag.settings import Settings
from rag.types import Answer, Citation, Hit

REFUSAL_TEXT = "文件中未找到与该问题直接相关的内容。以下列出最接近的段落，仅供参考。"
LLM_FALLBACK = "{reason}，以下为原文摘录（抽取式答案）。"


def validate_question(question: str, max_chars: int) -> str:
    """The stripped question. Raises InvalidQuestionError when blank or longer than ``max_chars``."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidQuestionError("问题为空：请输入要查询的问题 (empty question)")
    q = question.strip()
    if len(q) > max_chars:
        raise InvalidQuestionError(
            f"问题过长：{len(q)} 字，上限 {max_chars} 字，请精简后再问 (question longer than {max_chars} characters)")
    return q


def _check_k(k: int | None, settings: Settings) -> int:
    if k is None:
        return settings.top_k
    if k < 1:
        from rag.errors import ConfigError

        raise ConfigError(f"k={k}: the number of passages must be at least 1")
    return k


def document_notices(citations: list[Citation], index: LoadedIndex, settings: Settings) -> list[str]:
    """Plain-language remarks on the cited documents on ``settings.today_date()``, each cited document
    once in citation order: drafts, repealed documents, documents not yet in force, ended plans
    (``DocumentMeta.notices``; the metadata read from the text, the manifest or a user correction)."""
    today = settings.today_date()
    notices, seen = [], set()
    for c in citations:
        if c.doc_id in seen:
            continue
        seen.add(c.doc_id)
        meta = index.docs.get(c.doc_id)
        if meta is not None:
            notices.extend(n for n in meta.notices(today) if n not in notices)
    return notices


def _delta_events(pieces):
    """``{"type": "delta", "text"}`` per text piece of the generator ``pieces``; returns its return value."""
    while True:
        try:
            piece = next(pieces)
        except StopIteration as done:
            return done.value
        yield {"type": "delta", "text": piece}


class PolicyQA:
    """Question answering over the index in ``settings.data_dir``.

    ``llm``: optional LangChain chat model (tests pass fakes); by default one is built from settings
    when ``settings.llm_enabled``. The index is loaded lazily; when ``auto_ingest`` is true and no index
    exists, the bundled corpus is ingested first.
    """

    def __init__(self, settings: Settings, llm=None, auto_ingest: bool = False):
        self.settings = settings
        self._llm = llm
        self._chat = None  # the ChatOpenAI of settings, built on first use
        self.auto_ingest = auto_ingest
        self._retriever: HybridRetriever | None = None

    @property
    def index(self) -> LoadedIndex:
        return self.retriever.index

    @property
    def retriever(self) -> HybridRetriever:
        try:
            index = load_index(self.settings)
        except IndexNotBuiltError:
            if not self.auto_ingest:
                raise
            from rag.ingest import ingest

            ingest(self.settings)
            index = load_index(self.settings)
        if self._retriever is None or self._retriever.index is not index:
            self._retriever = HybridRetriever(index, self.settings)
        return self._retriever

    @property
    def llm_enabled(self) -> bool:
        return self._llm is not None or self.settings.llm_enabled

    def retrieve(self, question: str, k: int | None = None, filters: Filters = NO_FILTERS) -> list[Hit]:
        """Top-k hits for the question. Raises InvalidQuestionError, IndexNotBuiltError, ConfigError (k < 1)."""
        q = validate_question(question, self.settings.max_question_chars)
        return self.retriever.retrieve(q, _check_k(k, self.settings), filters)

    def ask(self, question: str, k: int | None = None, filters: Filters = NO_FILTERS) -> Answer:
        """Answer with citations (see ``ask_stream``); returns the final Answer."""
        final = None
        for event in self.ask_stream(question, k, filters):
            if event["type"] == "final":
                final = event["answer"]
        return final

    def ask_stream(self, question: str, k: int | None = None, filters: Filters = NO_FILTERS) -> Iterator[dict]:
        """Yield events: ``{"type": "hits", "hits"}``, then ``{"type": "delta", "text"}`` pieces of the
        answer (LLM mode streams tokens), then ``{"type": "final", "answer": Answer}``.

        LLM mode also yields ``{"type": "preview", "answer": Answer}`` (the extractive answer, to show
        while the LLM writes) before the first delta, and ``{"type": "reset", "text", "reason"}`` when
        the streamed text is replaced: by the extractive answer (the LLM failed, timed out, replied empty
        or cut off, or none of its figures stood in the passages) or by the checked answer (sentences
        removed or re-cited by ``rag.llm.ground``). The LLM's part (requests, retries, waits) ends by
        ``settings.llm_budget_s`` seconds after the question arrived.

        Raises InvalidQuestionError for a blank or over-long question, IndexNotBuiltError without index.
        """
        t0 = time.perf_counter()
        q = validate_question(question, self.settings.max_question_chars)
        retriever = self.retriever
        from rag.query import plan_query

        plan = plan_query(q, retriever.index, self.settings)
        hits = retriever.retrieve(q, _check_k(k, self.settings), filters, plan=plan)
        t1 = time.perf_counter()
        yield {"type": "hits", "hits": hits}
        extractive = self._extractive(q, hits, plan, filters)
        if self.llm_enabled and not extractive.refused:
            yield {"type": "preview", "answer": extractive}  # shown until the LLM's answer is ready
            answer = yield from self._llm_answer(q, hits, extractive, deadline=t0 + self.settings.llm_budget_s)
        else:
            answer = extractive
            yield {"type": "delta", "text": answer.text}
        t2 = time.perf_counter()
        answer.timings_ms.update({"retrieve": (t1 - t0) * 1000, "answer": (t2 - t1) * 1000, "total": (t2 - t0) * 1000})
        yield {"type": "final", "answer": answer}

    # --- modes -----------------------------------------------------------------------------
    def extractive_answer(self, question: str, hits: list[Hit]) -> Answer:
        """The extractive answer composed from given hits (used by baselines in the evaluation)."""
        from rag.query import plan_query

        return self._extractive(question, hits, plan_query(question, self.retriever.index, self.settings))

    def _extractive(self, question: str, hits: list[Hit], plan, filters: Filters = NO_FILTERS) -> Answer:
        index = self.retriever.index
        # one decision on "about a document": the planner's (rag.references.asks_about_document);
        # asked_metadata only says which fields of the card answer it
        meta = (metadata_answer(question, plan.doc_ids, hits, index, self.settings.today_date(),
                                plan.card_doc_ids)
                if plan.about_document else None)
        if meta is not None:
            text, citations, _known = meta  # unknown fields are answered as "文件未注明…" with the card
            return Answer(question, text, "extractive", False, citations, hits,
                          document_notices(citations, index, self.settings))
        terms = question_terms(question, index.tokenizer, index.idf)
        alternatives = concept_alternatives(terms, plan)  # a concept's policy term counts for the company's word
        groups = comparison_groups(plan, index.docs)
        candidates = list(hits)
        for doc_ids in (groups or {}).values():  # a compared document without a retrieved passage
            if filters == NO_FILTERS and not any(h.chunk.doc_id in doc_ids for h in candidates):
                extra = self.retriever.retrieve(question, 2, Filters(doc_ids=tuple(sorted(doc_ids))), plan=plan)
                candidates += [replace(h, rank=len(candidates) + 1 + i) for i, h in enumerate(extra)]
        scored = score_sentences(question, candidates, terms, alternatives)
        decision = check_refusal(question, scored, index, self.settings, plan)
        if decision.refused:
            return Answer(question, REFUSAL_TEXT, "extractive", True, [], hits, [f"未作答的原因：{decision.reason}"])
        # list answers use the broad ASKS_LIST (also 重点/有什么/主要方向), not the planner's narrower
        # plan.wants_list (rag.query.asks_list, which limits added retrieval chunks): on dev the broad one
        # keeps more key facts (0.776 vs 0.770 — dev-029 "有什么渠道" needs the added enumeration)
        wants_list = bool(ASKS_LIST.search(question))
        outline = next((h for h in hits if h.chunk.kind == "outline"), None) if wants_list and not groups else None
        items = outline_items(question, outline, self._first_chunk) if outline is not None else []
        text, citations = compose(scored, groups=groups, docs=index.docs, label_sections=asks_field(question),
                                  wants_list=wants_list, items=items, terms=terms)
        # a list item cites its sub-section's own passage, which retrieval may not have returned
        shown = {h.chunk.chunk_id for h in hits}
        extra = {it.hit.chunk.chunk_id: it.hit for it in items if it.hit.chunk.chunk_id not in shown}
        cited = [replace(extra[c.chunk_id], rank=len(hits) + i) for i, c in enumerate(
            (c for c in citations if c.chunk_id in extra), start=1)]
        return Answer(question, text, "extractive", False, citations, hits + cited,
                      document_notices(citations, index, self.settings))

    def _first_chunk(self, doc_id: str, section: str) -> Hit | None:
        """The first passage (text or table, by offset) of section path ``section`` of ``doc_id`` as a
        Hit (rank 0, score 0.0), or None; the lookup is built once per loaded index."""
        index = self.retriever.index
        firsts = getattr(index, "_first_chunks", None)
        if firsts is None:
            firsts = {}
            for c in index.chunks:
                if c.kind in ("text", "table"):
                    key = (c.doc_id, c.section)
                    if key not in firsts or c.start < firsts[key].start:
                        firsts[key] = c
            index._first_chunks = firsts
        chunk = firsts.get((doc_id, section))
        if chunk is None:
            return None
        meta = index.docs.get(doc_id)
        return Hit(0, 0.0, chunk, meta.title if meta else doc_id)

    def _llm_answer(self, question: str, hits: list[Hit], extractive: Answer, deadline: float):
        """Stream the LLM's answer (``rag.llm.stream_reply``), check its markers and figures
        (``clean_markers``, ``ground``) and return the Answer; any unusable reply falls back to
        ``extractive`` with a notice saying why. An injected chat model is not retried (it has its own
        policy); the configured server is retried ``llm_max_retries`` times within the budget."""
        from rag.llm import (MARKER, REFUSAL_PREFIX, build_message_chain, chat_model, citations_for, clean_markers,
                             format_context, ground, stream_reply)

        index = self.retriever.index
        settings = self.settings
        if self._llm is not None:
            llm, retries = self._llm, 0

            def make_chain(_seconds_left: float):
                return build_message_chain(llm)
        else:
            if self._chat is None:
                self._chat = chat_model(settings, max_retries=0)
            llm, retries = self._chat, settings.llm_max_retries

            def make_chain(seconds_left: float):
                return build_message_chain(llm.bind(timeout=max(min(settings.llm_timeout_s, seconds_left), 0.1)))
        inputs = {"question": question, "context": format_context(hits, index.docs)}
        reply = yield from _delta_events(stream_reply(make_chain, inputs, deadline, retries, settings.llm_budget_s,
                                                      clock=time.perf_counter))
        if not reply.ok:
            return (yield from self._fallback(extractive, reply.failure))
        cleaned, _ = clean_markers(reply.text, len(hits))
        refused = cleaned.startswith(REFUSAL_PREFIX)
        text, grounding, removed = ground(cleaned, hits)
        notices = []
        if removed:
            shown = "；".join(f"“{r[:40]}”" for r in removed[:3])
            notices.append(f"已删除大模型答案中 {len(removed)} 句无法在所引段落中找到其数字的陈述：{shown}。")
            if not refused and not MARKER.search(text):  # nothing cited is left
                return (yield from self._fallback(extractive, "大模型答案中的数字未能在所引段落中找到", grounding,
                                                  notices))
        if text != cleaned:
            yield {"type": "reset", "text": text, "reason": "已按引文核对大模型答案"}
        text, cited = clean_markers(text, len(hits))
        citations = citations_for(text, cited, hits)
        return Answer(question, text, "llm", refused, citations, hits,
                      [*notices, *document_notices(citations, index, self.settings)], grounding=grounding)

    def _fallback(self, extractive: Answer, failure: str, grounding: dict | None = None, notices=()):
        """Replace what was streamed by the extractive answer; the notice says why (``failure``)."""
        yield {"type": "reset", "text": extractive.text, "reason": failure}
        notice = LLM_FALLBACK.format(reason=failure)
        return replace(extractive, notices=[notice, *notices, *extractive.notices], grounding=grounding)
