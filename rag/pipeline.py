"""The retrieve-then-answer pipeline used by the CLI, the UI and the evaluation harness.

    qa = PolicyQA(Settings.from_env())
    hits = qa.retrieve("到2027年要打造几个千亿级产业集群？", k=5)      # retrieval only
    answer = qa.ask("到2027年要打造几个千亿级产业集群？")              # Answer (extractive or LLM)
    for event in qa.ask_stream(question): ...                            # Hits, Preview, Delta, Replace, Final
    docs = qa.as_retriever(k=5).invoke(question)                        # LangChain Documents

The parts are fields (``PolicyQA(settings, llm=…, embedder=…, reranker=…, vector_store=…)``; see ``PolicyQA``).

Extractive mode is the default; the LLM mode is used when ``settings.llm_enabled`` or an ``llm``
(any LangChain chat model) is given — LLM-first: the LLM is asked even when the offline refusal rules
would refuse (they only add a warning), and decides answerability from the passages itself. With a
configured server the question is also rewritten into the documents' wording (``rag.answer.llm.rewrite_queries``,
fused by RRF) and, with ``RAG_RERANK_BASE_URL``, the fused candidates are reranked (``rag.retrieve.rerank``).
A failing LLM, rewrite or reranker falls back (extractive answer / original query / fused order) with a
notice; all LLM steps end by ``settings.llm_budget_s`` after the question arrived.

``ask_stream`` yields typed records (``AnswerEvent``, defined below) in the order
``Hits → Preview? → Hits? → Delta* → Replace? → Final``; ``Replace`` is where the streamed LLM text gives
way to the citation-checked answer or, after an LLM failure, to the extractive one.

Several processes (``rag ui``, ``rag ask --jsonl``, any ``PolicyQA``) may share one data directory: a
``PolicyQA`` checks ``index/CURRENT.json`` (one ``os.stat``) when a question starts and loads the new
generation an ingest of any process made live; an answer in progress keeps the index it started with.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterator

from rag.errors import IndexDamagedError, IndexNotBuiltError, InvalidQuestionError
from rag.answer.extractive import (ASKS_LIST,
                            answer_order,
                            compose,
                            metadata_answer,
                            repeal_statement,
                            outline_items,
                            score_sentences,
                            scoped_order,
                            term_subwords)
from rag.answer.focus import concept_alternatives, question_terms
from rag.understand.aspects import PassageTexts, coordinated_items
from rag.understand.concepts import expansion_notice
from rag.understand.query import comparison_groups
from rag.answer.refusal import NO_CONTENT_TEXT, asks_field, check_refusal
from rag.index.store import LoadedIndex, current_path, load_index
from rag.retrieve.hybrid import NO_FILTERS, Filters, HybridRetriever
from rag.settings import Settings
from rag.types import Answer, Citation, DerivedData, Hit, locked_cached_property

REFUSAL_TEXT = "文件中未找到与该问题直接相关的内容。以下列出最接近的段落，仅供参考。"
LLM_FALLBACK = "{reason}，以下为原文摘录（抽取式答案）。"


# --- streamed answer events (``PolicyQA.ask_stream``) ----------------------------------------------
# One answer yields, in this order:   Hits → Preview? → Hits? → Delta* → Replace? → Final
# (Preview only with an LLM; the second Hits only when query rewriting or reranking changed the passages;
# Replace at most once, only with an LLM). Consumers dispatch with ``isinstance`` or ``match``.


@dataclass(frozen=True)
class Hits:
    """The passages the answer is built from (``hits``: ranked ``Hit`` list, rank 1 first; empty for a
    question answered without retrieval, e.g. one not in Chinese). Always the first event; with an LLM it
    is emitted a second time, right after ``Preview``, when query rewriting or reranking changed the
    passages — the later list replaces the earlier one."""

    hits: list[Hit]


@dataclass(frozen=True)
class Preview:
    """The extractive ``Answer`` (cited source sentences), to show while the LLM writes. LLM mode only,
    emitted once, right after the first ``Hits``. When the LLM fails, ``Replace`` and ``Final`` carry the
    extractive answer (composed again from the passages of a second ``Hits``, if there is one)."""

    answer: Answer


@dataclass(frozen=True)
class Delta:
    """A piece of the answer text, to append to what was shown. Offline: exactly one, the whole extractive
    answer. LLM mode: the model's tokens as they arrive (zero or more; the raw reply, before its markers
    are cleaned — ``Final.answer.text`` is the authoritative text)."""

    text: str


@dataclass(frozen=True)
class Replace:
    """The text streamed by the ``Delta`` events so far is replaced by ``text``: show ``text`` instead
    (``Final.answer.text`` is the authoritative text). LLM mode only, at most once, after the deltas and
    before ``Final``; ``reason`` is a Chinese phrase for the user:

    * the citation-checked LLM answer, when ``rag.answer.llm.ground`` removed or re-cited sentences whose
      figure or named body does not stand in the cited passages (``reason`` “已按引文核对大模型答案”);
    * the extractive answer after an LLM failure — the server failed or timed out, the reply was empty,
      cut off or filtered, or no cited sentence was left after the figure check (``reason`` says which, as
      does the final answer's first notice; deltas may have been streamed before the failure, or none).
    (Formerly the ``{"type": "reset"}`` dict event.)"""

    text: str
    reason: str


@dataclass(frozen=True)
class Final:
    """The complete ``Answer`` (text, mode, refused, citations, hits, notices, timings_ms, grounding).
    Always the last event, exactly once."""

    answer: Answer


AnswerEvent = Hits | Preview | Delta | Replace | Final
"""One event of ``PolicyQA.ask_stream`` (order above)."""


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


class AnswerData(DerivedData):
    """What answering derives from one loaded index, built on first use and kept: ``corpus_description``
    (``rag.answer.llm.corpus_description`` of its documents); ``first_chunks``: (doc_id, section path) → the
    first text or table chunk of that section, by offset."""

    @locked_cached_property
    def corpus_description(self) -> str:
        from rag.answer.llm import corpus_description

        return corpus_description(self.index.docs)

    @locked_cached_property
    def first_chunks(self) -> dict:
        firsts = {}
        for c in self.index.chunks:
            if c.kind in ("text", "table"):
                key = (c.doc_id, c.section)
                if key not in firsts or c.start < firsts[key].start:
                    firsts[key] = c
        return firsts


def current_signature(settings: Settings) -> tuple[int, int, int] | None:
    """``(inode, size, mtime_ns)`` of ``index/CURRENT.json``, or None when it cannot be read (no index
    yet). An ingest replaces the file (``os.replace``) when a new generation goes live, which changes
    the signature; the check costs one ``os.stat``, not a read of the index."""
    try:
        st = os.stat(current_path(settings))
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _delta_events(pieces):
    """A ``Delta`` per text piece of the generator ``pieces``; returns its return value."""
    while True:
        try:
            piece = next(pieces)
        except StopIteration as done:
            return done.value
        yield Delta(piece)


class PolicyQA:
    """Question answering over the index in ``settings.data_dir``.

    ``llm``: optional LangChain chat model (tests pass fakes); by default one is built from settings
    when ``settings.llm_enabled``. The index is loaded lazily; when ``auto_ingest`` is true and no index
    exists, or the index was written by an older version (``IndexDamagedError.outdated``), ``rag ingest``'s
    default sources (bundled corpus, uploads, documents added earlier) are ingested first.

    The live generation is checked when a question starts (``current_signature``: one ``os.stat`` of
    ``index/CURRENT.json``): after an ingest by this or another process the next question is answered from
    the new index, without a restart. An answer in progress (``ask_stream``, ``pinned``) uses the index it
    started with to its end, whatever ingest finishes meanwhile.

    Swappable parts (keyword fields; each default reproduces the behaviour of the settings alone):

    * ``llm`` — a LangChain chat model (``BaseChatModel``) answering and rewriting; default: the
      OpenAI-compatible server of the settings when ``settings.llm_enabled``, else extractive answers.
    * ``embedder`` — the name of a registered embedder (``rag.index.embeddings.register_embedder``) or an
      ``EmbedderSpec`` (registered on the way); it replaces ``settings.embeddings``, so that the index is
      built (``auto_ingest``) and read with it and every query is embedded with the embedder it makes
      (``LoadedIndex.embedder.embed_query``). An index built with another embedder is read with that one
      (CURRENT.json names it) until the next ingest. Default: ``settings.embeddings`` (``lsa``).
    * ``reranker`` — ``reranker(question, hits, k, timeout_s) -> (hits, failure)``: reorders the fused
      candidates (``list[Hit]``, best first, at most ``max(k, settings.rerank_top_n)``) and returns the
      top ``k`` with ranks 1…k, and ``failure`` None or a one-line reason (the answer then gets a notice).
      Default: the ``/rerank`` server of ``RAG_RERANK_BASE_URL`` (``rag.retrieve.rerank.rerank``) when
      set, else no reranking.
    * ``vector_store`` — ``factory(settings, fresh=False)`` → the Chroma client (``chromadb.ClientAPI``)
      that holds the vectors, used by ingest and load alike (``rag.index.store.load_index``); default
      ``rag.index.store.chroma_client`` (embedded under ``data_dir/chroma``, or ``RAG_CHROMA_HOST``).
      The store stays Chroma: collections, ids and metadata filters are Chroma's.

    The lexical index is not a field: BM25 (bm25s) over the stored jieba tokens of each chunk is part of
    every index generation (``bm25/``, ``tokens.npz``, ``df.json``), and query analysis reads the same
    tokens and document frequencies, so another lexical index or tokenizer means another index format.
    """

    def __init__(self, settings: Settings, llm=None, auto_ingest: bool = False, *, embedder=None,
                 reranker=None, vector_store=None):
        if embedder is not None:
            from rag.index.embeddings import EmbedderSpec, embedder_spec, register_embedder

            name = register_embedder(embedder).name if isinstance(embedder, EmbedderSpec) else embedder
            settings = settings.with_(embeddings=embedder_spec(name).name)
        self.settings = settings
        self._reranker = reranker
        self._vector_store = vector_store
        self._llm = llm
        self._chat = None  # the ChatOpenAI of settings, built on first use
        self.auto_ingest = auto_ingest
        self._retriever: HybridRetriever | None = None
        self._signature: tuple | None = None  # current_signature when self._retriever was checked
        self._pinned: HybridRetriever | None = None  # the retriever of the answer(s) in progress
        self._pins = 0

    @property
    def index(self) -> LoadedIndex:
        return self.retriever.index

    @property
    def retriever(self) -> HybridRetriever:
        """The retriever over the live index: the pinned one while an answer is in progress, else the
        current generation's (reloaded when ``index/CURRENT.json`` changed since the last check).
        Raises IndexNotBuiltError (no index and no ``auto_ingest``) or IndexDamagedError (damaged, or
        outdated without ``auto_ingest``)."""
        if self._pinned is not None:
            return self._pinned
        signature = current_signature(self.settings)
        if self._retriever is not None and signature is not None and signature == self._signature:
            return self._retriever
        try:
            index = self._load_index()
        except (IndexNotBuiltError, IndexDamagedError) as exc:
            if not self.auto_ingest or (isinstance(exc, IndexDamagedError) and not exc.outdated):
                raise
            from rag.index.build import ingest

            # the vector_store field only when given (the default call is the one of the settings alone)
            ingest(self.settings, **({"client_factory": self._vector_store} if self._vector_store else {}))
            signature = current_signature(self.settings)
            index = self._load_index()
        if self._retriever is None or self._retriever.index is not index:
            self._retriever = HybridRetriever(index, self.settings)
        # checked before loading: a switch in between is seen (and loaded) by the next check
        self._signature = signature
        return self._retriever

    def _load_index(self) -> LoadedIndex:
        """``load_index`` of the settings, through the ``vector_store`` field when given."""
        if self._vector_store is None:
            return load_index(self.settings)
        return load_index(self.settings, self._vector_store)

    @contextmanager
    def pinned(self):
        """Within the block ``retriever``/``index`` stay the index current at its start, whatever ingest
        finishes meanwhile (nested and overlapping blocks share the first one's index). Yields the
        HybridRetriever."""
        if self._pins == 0:
            self._pinned = self.retriever
        self._pins += 1
        try:
            yield self._pinned
        finally:
            self._pins -= 1
            if self._pins == 0:
                self._pinned = None

    @property
    def llm_enabled(self) -> bool:
        return self._llm is not None or self.settings.llm_enabled

    @property
    def rewriting_enabled(self) -> bool:
        """LLM query rewriting: ``RAG_QUERY_REWRITE=on`` with an LLM, or ``auto`` with a configured
        server (an injected chat model rewrites only when ``on``)."""
        mode = self.settings.query_rewrite
        return self.llm_enabled and (mode == "on" or (mode == "auto" and self.settings.llm_enabled))

    @property
    def rerank_enabled(self) -> bool:
        """A ``reranker`` was given, or ``RAG_RERANK_BASE_URL`` is set (``rag.retrieve.rerank``)."""
        if self._reranker is not None:
            return True
        from rag.retrieve.rerank import rerank_configured

        return rerank_configured(self.settings)

    def _rerank(self, question: str, hits: list[Hit], k: int, timeout_s: float):
        """``(hits, failure)`` of the ``reranker`` field, or of the settings' rerank server."""
        if self._reranker is not None:
            return self._reranker(question, hits, k, timeout_s)
        from rag.retrieve.rerank import rerank

        return rerank(question, hits, self.settings, timeout_s, k)

    def as_retriever(self, **kwargs):
        """This pipeline's retrieval as a LangChain ``BaseRetriever`` (``rag.retrieve.langchain.PolicyRetriever``)
        giving ``langchain_core.documents.Document``s: the hits of ``retrieve`` for the same question,
        ``k`` and filters, following the live index. ``kwargs``: its fields ``k`` (default
        ``settings.top_k``), ``doc_ids``, ``region``, ``in_force_on``, and BaseRetriever's (``tags``,
        ``metadata``)."""
        from rag.retrieve.langchain import PolicyRetriever

        kwargs.setdefault("k", self.settings.top_k)
        return PolicyRetriever(source=self, **kwargs)

    def corpus_description(self) -> str:
        """The loaded corpus in one line (``rag.answer.llm.corpus_description``), cached per loaded index
        (``AnswerData``)."""
        return AnswerData.of(self.retriever.index).corpus_description

    def _model_for(self, timeout_s: float):
        """The chat model for one request with ``timeout_s`` seconds left (an injected model as is)."""
        if self._llm is not None:
            return self._llm
        if self._chat is None:
            from rag.answer.llm import chat_model

            self._chat = chat_model(self.settings, max_retries=0)
        return self._chat.bind(timeout=max(min(self.settings.llm_timeout_s, timeout_s), 0.1))

    def _expand(self, question: str, k: int, filters: Filters, plan, hits: list[Hit], deadline: float):
        """Rewrite (``rag.answer.llm.rewrite_queries``) and rerank (``rag.retrieve.rerank.rerank``) around ``hits``.

        Rewrites get at most a third of the LLM budget (and ``llm_timeout_s``); each rewrite is retrieved
        with the original's filters and fused with the original ranking by reciprocal rank fusion (equal
        weights, RAG-Fusion), the original's best ``PROTECTED_ROWS`` kept in the top ``k``. With a
        reranker, ``rerank_top_n`` fused candidates are reordered and the top ``k`` kept; its request
        gets ``rerank_timeout_s`` (with an LLM: at most a third of what is left of the budget). Returns
        ``(hits, notices)``; a failed step leaves the order it got and adds a one-line notice."""
        from rag.retrieve.fusion import PROTECTED_ROWS, protect_rows, reciprocal_rank_fusion
        from rag.understand.query import plan_query

        notices: list[str] = []
        n = max(k, self.settings.rerank_top_n) if self.rerank_enabled else k
        retriever = self.retriever
        base = retriever.retrieve(question, n, filters, plan=plan) if n != k else list(hits)
        rankings = [base]
        if self.rewriting_enabled:
            from rag.answer.llm import load_prompt, rewrite_queries

            self._model_for(self.settings.llm_timeout_s)  # imports and client set-up: not the rewrite's share
            load_prompt("rewrite")
            now = time.perf_counter()
            until = min(deadline, now + min(self.settings.llm_timeout_s, self.settings.llm_budget_s / 3))
            rewrites, failure = rewrite_queries(self._model_for, question, self.corpus_description(), until,
                                                until - now, clock=time.perf_counter)
            if failure:
                notices.append(f"查询改写未完成（{failure}），已按原问题检索。")
            for rw in rewrites:
                try:
                    rankings.append(retriever.retrieve(rw, n, filters, plan=plan_query(rw, retriever.index,
                                                                                        self.settings)))
                except ValueError:
                    continue
        if len(rankings) > 1:
            by_id = {}
            for ranking in rankings:
                for h in ranking:
                    by_id.setdefault(h.chunk.chunk_id, h)
            ids = list(by_id)
            row = {cid: i for i, cid in enumerate(ids)}
            fused = reciprocal_rank_fusion([[row[h.chunk.chunk_id] for h in r] for r in rankings],
                                           k=self.settings.rrf_k)
            order = protect_rows([r for r, _ in fused], [row[h.chunk.chunk_id] for h in base[:PROTECTED_ROWS]],
                                 min(k, self.settings.top_k))
            score = dict(fused)
            base = [replace(by_id[ids[r]], rank=i, score=score.get(r, 0.0),
                            scores={**by_id[ids[r]].scores, "fused_queries": score.get(r, 0.0)})
                    for i, r in enumerate(order, start=1)]
        if self.rerank_enabled:
            timeout = self.settings.rerank_timeout_s
            if self.llm_enabled:
                timeout = max(min(timeout, (deadline - time.perf_counter()) / 3), 0.1)
            base, failure = self._rerank(question, base[:n], k, timeout)
            if failure:
                notices.append(f"{failure}，已按融合排序作答。")
        return base[:k], notices

    def resolve_followup(self, question: str, previous: str | None, previous_title: str | None = None,
                         titles=(), **context):
        """A follow-up made self-contained: by the LLM when query rewriting is on
        (``rag.answer.llm.resolve_followup``, within ``llm_timeout_s`` and a third of the budget), else — or when
        it fails — by the offline rules (``rag.understand.conversation.rewrite_followup``). Returns a
        ``rag.understand.conversation.Rewrite``: rule "llm" when the LLM's question was used ("region", with the
        offline rules' region, when they read the follow-up as the other region's question). This request
        comes before the question's own ``llm_budget_s``: a follow-up turn with a hung server takes at
        most ``min(llm_timeout_s, llm_budget_s / 3)`` more. ``context``: the further keyword arguments of
        ``rewrite_followup`` (``regions``, ``cited_titles``, ``pending_choices``); a follow-up whose document
        is ambiguous (rule "ambiguous") or that answers such a question is resolved offline, without the LLM."""
        from rag.understand.conversation import Rewrite, rewrite_followup

        offline = rewrite_followup(question, previous, previous_title, titles, **context)
        if not previous or not self.rewriting_enabled or offline.rule == "ambiguous" \
                or (context.get("pending_choices") and offline.rule == "document"):
            return offline
        from rag.answer.llm import load_prompt, resolve_followup

        self._model_for(self.settings.llm_timeout_s)
        load_prompt("followup")
        now = time.perf_counter()
        until = now + min(self.settings.llm_timeout_s, self.settings.llm_budget_s / 3)
        text, _failure = resolve_followup(self._model_for, question.strip(), previous, previous_title,
                                          self.corpus_description(), until, until - now, clock=time.perf_counter)
        if not text:
            return offline
        if text == question.strip():
            return Rewrite(text)
        return Rewrite(text, offline.rule if offline.rule == "region" else "llm", offline.region)

    def retrieve(self, question: str, k: int | None = None, filters: Filters = NO_FILTERS) -> list[Hit]:
        """Top-k hits for the question (English words searched as the documents' Chinese terms:
        ``rag.understand.language.prepare_question``). Raises InvalidQuestionError, IndexNotBuiltError, ConfigError (k < 1)."""
        from rag.understand.language import prepare_question

        q = validate_question(question, self.settings.max_question_chars)
        retriever = self.retriever
        return retriever.retrieve(prepare_question(q, retriever.index).query, _check_k(k, self.settings), filters)

    def ask(self, question: str, k: int | None = None, filters: Filters = NO_FILTERS) -> Answer:
        """Answer with citations (see ``ask_stream``); returns the final Answer."""
        final = None
        for event in self.ask_stream(question, k, filters):
            if isinstance(event, Final):
                final = event.answer
        return final

    def ask_stream(self, question: str, k: int | None = None, filters: Filters = NO_FILTERS) -> Iterator[AnswerEvent]:
        """Yield the answer as typed events (``AnswerEvent``), in this order::

            Hits → Preview? → Hits? → Delta* → Replace? → Final

        ``Hits`` (the passages), then offline one ``Delta`` with the whole extractive answer, or with an
        LLM: ``Preview`` (the extractive answer, to show while the LLM writes), the LLM's tokens as
        ``Delta`` pieces, and ``Replace`` when the streamed text is replaced — by the extractive answer
        (the LLM failed, timed out, replied empty or cut off, or no cited sentence survived the figure check)
        or by the checked answer (sentences removed or re-cited by ``rag.answer.llm.ground``); ``Final``
        (the ``Answer``) last. The LLM's part (requests, retries, waits) ends by ``settings.llm_budget_s``
        seconds after the question arrived.

        LLM-first: with an LLM the answer is the LLM's even when the offline refusal rules refuse (a
        notice “提示：离线核对规则认为文件可能没有直接回答该问题…” is added; their refusal is the fallback).
        With query rewriting or a reranker (``_expand``) a second ``Hits`` event follows the
        preview when the passages changed; notices of a failed rewrite or rerank come last.

        The whole answer uses the index that was live when it started (``pinned``): ``index`` read
        between its events (e.g. for the sources of the final answer) is that index too.

        Raises InvalidQuestionError for a blank or over-long question, IndexNotBuiltError without index.
        """
        t0 = time.perf_counter()
        q = validate_question(question, self.settings.max_question_chars)
        with self.pinned():
            yield from self._ask_stream(q, t0, k, filters)

    def _ask_stream(self, q: str, t0: float, k: int | None, filters: Filters) -> Iterator[AnswerEvent]:
        """``ask_stream`` for a validated question ``q`` received at ``t0`` (perf_counter seconds).

        An English (or mixed) question is searched and answered extractively in the documents' Chinese
        terms (``rag.understand.language.prepare_question``: glossary and gazetteer; the LLM answers the question as
        asked); one the glossary cannot map gets ``rag.understand.language.ASK_IN_CHINESE`` offline, and goes on as
        written when the LLM rewrites queries (it translates)."""
        retriever = self.retriever
        from rag.understand.language import prepare_question
        from rag.understand.query import plan_query

        prep = prepare_question(q, retriever.index, llm=self.rewriting_enabled)
        if prep.reply:
            answer = Answer(q, prep.reply, "extractive", True, [], [],
                            ["未作答的原因：问题不是中文，且无法对应到文件用语（question not in Chinese）。"],
                            {"retrieve": 0.0, "answer": 0.0, "total": (time.perf_counter() - t0) * 1000})
            yield Hits([])
            yield Delta(answer.text)
            yield Final(answer)
            return
        asked, q = q, prep.query  # ``q`` is searched and rewritten (the LLM translates it), ``asked`` answered
        plan = plan_query(q, retriever.index, self.settings)
        k = _check_k(k, self.settings)
        deadline = t0 + self.settings.llm_budget_s
        hits = retriever.retrieve(q, k, filters, plan=plan)
        yield Hits(hits)
        extractive = self._extractive(q, hits, plan, filters)
        if self.llm_enabled:
            yield Preview(extractive)  # shown until the LLM's answer is ready
        expand_notices: list[str] = []
        if self.rewriting_enabled or self.rerank_enabled:
            # LLM query rewriting (fused by RRF) and reranking of the fused candidates, each bounded
            expanded, expand_notices = self._expand(q, k, filters, plan, hits, deadline)
            if [h.chunk.chunk_id for h in expanded] != [h.chunk.chunk_id for h in hits]:
                hits = expanded
                yield Hits(hits)
                extractive = self._extractive(q, hits, plan, filters)
        t1 = time.perf_counter()
        if self.llm_enabled:
            # LLM-first: the LLM sees the passages and decides answerability itself; a refusal of the
            # offline rules only adds a warning (and is the answer when the LLM fails)
            answer = yield from self._llm_answer(asked, hits, extractive, deadline=deadline)
            if answer.mode == "llm" and not answer.refused and extractive.refused:
                why = next((n.split("：", 1)[1] for n in extractive.notices if n.startswith("未作答的原因：")), "")
                answer.notices.append("提示：离线核对规则认为文件可能没有直接回答该问题" + (f"（{why}）" if why else "")
                                      + "，请对照引文核实。")
        else:
            answer = extractive
            yield Delta(answer.text)
        searched_as = expansion_notice(plan.expanded)  # 已按文件用语检索：驾照→驾驶证
        answer = replace(answer, question=asked, notices=[*prep.notices, *answer.notices,
                                                          *([searched_as] if searched_as else []), *expand_notices])
        t2 = time.perf_counter()
        answer.timings_ms.update({"retrieve": (t1 - t0) * 1000, "answer": (t2 - t1) * 1000, "total": (t2 - t0) * 1000})
        yield Final(answer)

    # --- modes -----------------------------------------------------------------------------
    def extractive_answer(self, question: str, hits: list[Hit]) -> Answer:
        """The extractive answer composed from given hits (used by baselines in the evaluation)."""
        from rag.understand.query import plan_query

        return self._extractive(question, hits, plan_query(question, self.retriever.index, self.settings))

    def _extractive(self, question: str, hits: list[Hit], plan, filters: Filters = NO_FILTERS) -> Answer:
        index = self.retriever.index
        # --- a named document no indexed document matches (rag.understand.references.unmatched_document): say so,
        # never another document's facts — a hard rule on every corpus, as a place no document covers
        if getattr(plan, "unmatched_reference", None) is not None:
            return Answer(question, REFUSAL_TEXT, "extractive", True, [], hits,
                          [f"未作答的原因：{plan.unmatched_reference.reason}"])
        # ---
        # one decision on "about a document": the planner's (rag.understand.meta_questions.asks_about_document);
        # asked_metadata only says which fields of the card answer it
        meta = (metadata_answer(question, plan.doc_ids, hits, index, self.settings.today_date(),
                                plan.card_doc_ids)
                if plan.about_document else None)
        if meta is not None:
            text, citations, _known = meta  # unknown fields are answered as "文件未注明…" with the card
            if getattr(plan, "repealed", ()):  # a former text the question names: say first that it is repealed
                text, citations = repeal_statement(plan.repealed, hits, index, text, citations)
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
        scored = score_sentences(question, candidates, terms, alternatives, plan)
        # the refusal judges the evidence the answer would quote: for a question scoped to a place, the
        # sentences of the documents applying there when they hold a question term (``scoped_order``, as
        # ``compose`` orders them) — not another place's rule that shares more words with the question
        evidence = scored if groups else scoped_order(scored, terms, index.docs)
        decision = check_refusal(question, evidence, index, self.settings, plan)
        if decision.refused and decision.rule == "no_content":  # no passage is "closest" to such a question
            return Answer(question, NO_CONTENT_TEXT, "extractive", True, [], [], [f"未作答的原因：{decision.reason}"])
        if decision.refused:
            return Answer(question, REFUSAL_TEXT, "extractive", True, [], hits, [f"未作答的原因：{decision.reason}"])
        # list answers use the broad ASKS_LIST (also 重点/有什么/主要方向), not the planner's narrower
        # plan.wants_list (rag.understand.need.asks_list, which limits added retrieval chunks): on dev the broad one
        # keeps more key facts (0.776 vs 0.770 — dev-029 "有什么渠道" needs the added enumeration)
        wants_list = bool(ASKS_LIST.search(question))
        outline = next((h for h in hits if h.chunk.kind == "outline"), None) if wants_list and not groups else None
        items = outline_items(question, outline, self._first_chunk) if outline is not None else []
        # a value the question asks for (罚多少, 多长时间内) is quoted with the lead clause of its article, a list
        # with the sentence heading its items
        answering = answer_order(question, scored, terms, alternatives,
                                 term_subwords(question, terms, index.tokenizer, index.idf, plan), plan)
        # a question asking the same thing of coordinated items (A、B、C各…): a sentence naming each of them
        aspects = () if groups or items else coordinated_items(question, PassageTexts(h.chunk.text for h in hits))
        text, citations = compose(answering, groups=groups, docs=index.docs, label_sections=asks_field(question, plan),
                                  wants_list=wants_list, items=items, terms=terms, aspects=aspects)
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
        chunk = AnswerData.of(index).first_chunks.get((doc_id, section))
        if chunk is None:
            return None
        meta = index.docs.get(doc_id)
        return Hit(0, 0.0, chunk, meta.title if meta else doc_id)

    def _llm_answer(self, question: str, hits: list[Hit], extractive: Answer, deadline: float):
        """Stream the LLM's answer (``rag.answer.llm.stream_reply``), check its markers and figures
        (``clean_markers``, ``ground``) and return the Answer; any unusable reply falls back to
        ``extractive`` with a notice saying why. An injected chat model is not retried (it has its own
        policy); the configured server is retried ``llm_max_retries`` times within the budget."""
        from rag.answer.llm import (MARKER, REFUSAL_PREFIX, build_message_chain, citations_for, clean_markers,
                             format_context, ground, stream_reply)

        index = self.retriever.index
        settings = self.settings
        retries = 0 if self._llm is not None else settings.llm_max_retries

        def make_chain(seconds_left: float):
            return build_message_chain(self._model_for(seconds_left))
        inputs = {"question": question, "context": format_context(hits, index.docs),
                  "corpus": self.corpus_description()}
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
            notices.append(f"已删除大模型答案中 {len(removed)} 句无法在所引段落中找到其数字或机关名称的陈述：{shown}。")
            if not refused and not MARKER.search(text):  # nothing cited is left
                return (yield from self._fallback(extractive, "大模型答案中的数字未能在所引段落中找到", grounding,
                                                  notices))
        if text != cleaned:
            yield Replace(text, "已按引文核对大模型答案")
        text, cited = clean_markers(text, len(hits))
        citations = citations_for(text, cited, hits)
        return Answer(question, text, "llm", refused, citations, hits,
                      [*notices, *document_notices(citations, index, self.settings)], grounding=grounding)

    def _fallback(self, extractive: Answer, failure: str, grounding: dict | None = None, notices=()):
        """Replace what was streamed by the extractive answer; the notice says why (``failure``)."""
        yield Replace(extractive.text, failure)
        notice = LLM_FALLBACK.format(reason=failure)
        return replace(extractive, notices=[notice, *notices, *extractive.notices], grounding=grounding)
