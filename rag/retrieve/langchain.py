"""The hybrid retriever as a LangChain ``BaseRetriever``, so that the project composes with LangChain
(LCEL chains, ``EnsembleRetriever``, ``ContextualCompressionRetriever``, agents' retriever tools …)::

    from rag.pipeline import PolicyQA
    retriever = PolicyQA(settings, auto_ingest=True).as_retriever(k=5, region="某某省")
    docs = retriever.invoke("到2027年要打造几个千亿级产业集群？")   # list[langchain_core.documents.Document]
    docs[0].page_content                                           # the chunk text, verbatim
    docs[0].metadata["title"], docs[0].metadata["section"]

Each ``Document`` is one ``rag.types.Hit``: ``page_content`` is ``Hit.chunk.text`` verbatim and ``metadata``
holds (see ``hit_metadata``) chunk_id, doc_id, title, section, kind, start/end (character offsets into
the cleaned document text), rank (1 = best), score (the fused score, higher is better), scores
(per-retriever scores: bm25, dense, rrf … as ``Hit.scores``), and the document's region, level, issuer,
doc_number, doc_type, issued_date, effective_date, period_start, period_end and status (None when the
document states none). The hits are the ones ``PolicyQA.retrieve`` gives for the same question, ``k``
and filters, in the same order.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from rag.retrieve.hybrid import Filters, HybridRetriever
from rag.types import Hit


def hit_metadata(hit: Hit, meta=None) -> dict:
    """The ``Document.metadata`` of ``hit``; ``meta``: its document's ``DocumentMeta`` (the fields of the
    document are None without it). Values are str, int, float, None, or (``scores``) a dict of floats."""
    c = hit.chunk
    out = {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": hit.title, "section": c.section, "kind": c.kind,
           "start": c.start, "end": c.end, "rank": hit.rank, "score": float(hit.score),
           "scores": {name: float(value) for name, value in hit.scores.items()}}
    for name in ("region", "level", "issuer", "doc_number", "doc_type", "effective_date", "period_start",
                 "period_end", "status"):
        out[name] = getattr(meta, name, None)
    out["issued_date"] = getattr(meta, "date", None)
    return out


class _FixedSource:
    """A ``PolicyRetriever`` source over one ``HybridRetriever`` (its index never reloads): the question
    stripped and prepared as ``PolicyQA.retrieve`` prepares it (``rag.understand.language.prepare_question``)."""

    def __init__(self, hybrid: HybridRetriever):
        self.hybrid = hybrid

    def retrieve(self, question: str, k: int, filters: Filters) -> list[Hit]:
        from rag.errors import InvalidQuestionError
        from rag.understand.language import prepare_question

        q = question.strip() if isinstance(question, str) else ""
        if not q:
            raise InvalidQuestionError("问题为空：请输入要查询的问题 (empty question)")
        return self.hybrid.retrieve(prepare_question(q, self.hybrid.index).query, k, filters)

    def pinned(self):
        return nullcontext(self.hybrid)


class PolicyRetriever(BaseRetriever):
    """LangChain retriever over the hybrid retriever (BM25 + dense, fused; ``rag.retrieve.hybrid``).

    Fields: ``source`` — what retrieves: a ``rag.pipeline.PolicyQA`` (``PolicyQA.as_retriever``; follows
    the live index, questions validated as ``PolicyQA.retrieve`` does) or any object with
    ``retrieve(question, k, filters) -> list[Hit]`` and a ``pinned()`` context manager yielding the
    ``HybridRetriever`` whose index the hits come from (``from_hybrid`` wraps a bare ``HybridRetriever``);
    ``k`` — the number of documents (≥ 1, checked when the retriever is made); filters as ``rag.retrieve.hybrid.Filters``: ``doc_ids`` (keep
    only these documents), ``region`` (a region of the indexed documents, "某某省"), ``in_force_on`` (a
    ``datetime.date``, or an ISO date string: keep documents in force on that day). Returns
    ``Document``s best first (see the module docstring for their metadata). Errors of the source propagate:
    InvalidQuestionError (blank or too long question), IndexNotBuiltError, IndexDamagedError.
    """

    source: Any
    k: int = Field(default=5, ge=1)
    doc_ids: list[str] | None = None
    region: str | None = None
    in_force_on: date | None = None

    @classmethod
    def from_hybrid(cls, hybrid: HybridRetriever, **kwargs) -> "PolicyRetriever":
        """A retriever over one loaded index (``HybridRetriever``); ``kwargs``: the other fields."""
        return cls(source=_FixedSource(hybrid), **kwargs)

    def filters(self) -> Filters:
        """The fields' filters as ``rag.retrieve.hybrid.Filters``."""
        return Filters(doc_ids=tuple(self.doc_ids) if self.doc_ids is not None else None, region=self.region,
                       in_force_on=self.in_force_on)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        with self.source.pinned() as hybrid:
            hits = self.source.retrieve(query, self.k, self.filters())
            docs = hybrid.index.docs
        return [Document(page_content=h.chunk.text, metadata=hit_metadata(h, docs.get(h.chunk.doc_id)),
                         id=h.chunk.chunk_id) for h in hits]
