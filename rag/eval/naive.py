"""The naive LangChain baseline: character splitting of the raw text + BM25Retriever over jieba words."""

from __future__ import annotations

from rag.ingest.chunking import chunk_id
from rag.ingest.corpus import collect_sources, read_text
from rag.index.build import default_exclude, default_sources
from rag.types import Chunk, Hit


class NaiveRetriever:
    """``RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)`` over the raw (uncleaned)
    source texts and ``langchain_community`` ``BM25Retriever`` with jieba as ``preprocess_func``.
    ``paths``: the files or directories to read (default ``rag.index.build.default_sources``)."""

    def __init__(self, settings, tokenizer, paths=None):
        from langchain_community.retrievers import BM25Retriever
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
        docs, self.titles = [], {}
        # documents hidden in the knowledge base stay out, as in ingest; explicit ``paths`` (an external
        # corpus, ingested with exclude=[]) are taken whole
        hidden = set(default_exclude(settings)) if paths is None else set()
        for source in collect_sources(paths or default_sources(settings)):
            if source.meta.doc_id in hidden:
                continue
            self.titles[source.meta.doc_id] = source.meta.title
            for piece in splitter.split_text(read_text(source.path)):
                docs.append(Document(page_content=piece, metadata={"doc_id": source.meta.doc_id}))
        self.retriever = BM25Retriever.from_documents(docs, preprocess_func=tokenizer.tokens)

    def retrieve(self, question: str, k: int) -> list[Hit]:
        self.retriever.k = k
        hits = []
        for rank, doc in enumerate(self.retriever.invoke(question), start=1):
            doc_id = doc.metadata["doc_id"]
            chunk = Chunk(chunk_id(doc_id, doc.page_content), doc_id, "", doc.page_content, -1, -1, 0)
            hits.append(Hit(rank, 1.0 / rank, chunk, self.titles[doc_id], {}))
        return hits
