"""Swappable parts (issue 14 §2): the embedder registry (``rag.index.embeddings``), ``PolicyQA``'s part
fields (embedder, reranker, vector store) and the LangChain retriever (``rag.retrieve.langchain``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from rag.errors import ConfigError
from rag.index import embeddings as emb

from core_support import Q_LEADERS


@pytest.fixture
def registry(monkeypatch):
    """The embedder registry, restored after the test."""
    monkeypatch.setattr(emb, "_EMBEDDERS", dict(emb._EMBEDDERS))
    return emb


class HashEmbeddings:
    """A deterministic 64-dimensional embedding (character counts hashed into buckets, unit length) that
    counts its calls."""

    def __init__(self):
        self.documents = 0
        self.queries: list[str] = []

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * 64
        for ch in text:
            vec[hashlib.md5(ch.encode("utf-8")).digest()[0] % 64] += 1.0
        norm = sum(v * v for v in vec) ** 0.5 or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts):
        self.documents += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text):
        self.queries.append(text)
        return self._vector(text)


# --- registry -------------------------------------------------------------------------------------------

def test_builtin_embedders_and_unknown_name(registry):
    assert registry.registered_embedders()[:2] == ["lsa", "openai"]
    lsa = registry.embedder_spec("lsa")
    assert lsa.fitted and lsa.file == "lsa.npz" and lsa.label(None) == "lsa"
    openai = registry.embedder_spec("openai")
    assert not openai.fitted

    class S:
        embedding_model, embedding_base_url = "m1", "http://h/v1"

    assert openai.label(S) == "m1" and openai.collection_key(S) == "m1|http://h/v1"
    with pytest.raises(ConfigError) as info:
        registry.embedder_spec("bge")
    assert "\n" not in str(info.value) and "bge" in str(info.value) and "lsa, openai" in str(info.value)


def test_register_embedder(registry):
    spec = registry.register_embedder("hash-reg", lambda settings, gen_dir, tokenizer: HashEmbeddings())
    assert registry.embedder_spec("hash-reg") is spec and spec.label(None) == "hash-reg"
    assert spec.collection_key(None) == "hash-reg|hash-reg" and not spec.fitted
    assert isinstance(spec.make(None, None, None), HashEmbeddings)
    again = registry.register_embedder(replace(spec, label=lambda settings: "v2"))
    assert registry.embedder_spec("hash-reg") is again
    with pytest.raises(ConfigError):
        registry.register_embedder("Upper", lambda *a: HashEmbeddings())
    with pytest.raises(ConfigError):
        registry.register_embedder("fit-no-file", lambda *a: HashEmbeddings(), fitted=True)
    with pytest.raises(ConfigError):
        registry.register_embedder("no-make")


def test_the_dense_ranking_weight_is_the_embedders_own_unless_set(registry):
    from rag.retrieve.hybrid import dense_fusion_weight
    from rag.settings import LSA_DENSE_WEIGHT, Settings

    registry.register_embedder("hash-weight", lambda *a: HashEmbeddings(), fusion_weight=0.25)
    assert dense_fusion_weight(Settings(embeddings="lsa")) == LSA_DENSE_WEIGHT == 0.0
    assert dense_fusion_weight(Settings(embeddings="openai")) == 1.0
    assert dense_fusion_weight(Settings(embeddings="hash-weight")) == 0.25  # a custom embedder says its own
    assert dense_fusion_weight(Settings(embeddings="hash-weight", dense_weight=0.7)) == 0.7  # RAG_DENSE_WEIGHT wins


def test_settings_take_a_registered_name_and_the_cli_checks_it(registry, monkeypatch, capsys):
    from core_support import assert_one_line_error, run
    from rag.settings import Settings

    registry.register_embedder("hash-cli", lambda settings, gen_dir, tokenizer: HashEmbeddings())
    monkeypatch.setenv("RAG_EMBEDDINGS", "hash-cli")
    assert Settings.from_env().embeddings == "hash-cli"
    monkeypatch.setenv("RAG_EMBEDDINGS", "nosuch")
    code, _out, err = run(["info"], capsys)
    assert_one_line_error(code, err)
    assert "nosuch" in err and "lsa" in err


# --- PolicyQA fields ------------------------------------------------------------------------------------

def test_custom_embedder_and_reranker_fields_are_used(registry, mini_settings):
    from rag.pipeline import PolicyQA

    made: list[HashEmbeddings] = []

    def make(settings, gen_dir, tokenizer):
        made.append(HashEmbeddings())
        return made[-1]

    registry.register_embedder("hash-qa", make, label=lambda settings: "hash-64")
    calls = []

    def reverse_rerank(question, hits, k, timeout_s):
        calls.append((question, [h.chunk.chunk_id for h in hits], k, timeout_s))
        out = [replace(h, rank=i, scores={**h.scores, "rerank": float(-i)})
               for i, h in enumerate(reversed(hits[-k:]), start=1)]
        return out, None

    qa = PolicyQA(mini_settings, auto_ingest=True, embedder="hash-qa", reranker=reverse_rerank)
    assert qa.settings.embeddings == "hash-qa" and qa.rerank_enabled
    hits = qa.retrieve(Q_LEADERS, k=3)
    # the index was built with the registered embedder: chunks embedded by it, its label in the fingerprint
    pointer = json.loads((mini_settings.data_dir / "index" / "CURRENT.json").read_text(encoding="utf-8"))
    assert pointer["embeddings"] == "hash-qa" and pointer["fingerprint"]["embedding_model"] == "hash-64"
    assert pointer["embedder"]["model"] == "hash-64"
    assert made[0].documents == len(qa.index.chunks)
    # ... and the loaded index embeds the queries with it
    assert qa.index.embedder is made[-1] and isinstance(qa.index.embedder, HashEmbeddings)
    assert any(Q_LEADERS in q for q in qa.index.embedder.queries)
    assert len(hits) == 3

    answer = qa.ask(Q_LEADERS, k=3)
    assert len(calls) == 1
    question, candidates, k, timeout_s = calls[0]
    assert question == Q_LEADERS and k == 3 and timeout_s == mini_settings.rerank_timeout_s
    assert len(candidates) == max(3, mini_settings.rerank_top_n)
    assert [h.chunk.chunk_id for h in answer.hits] == list(reversed(candidates[-3:]))
    assert [h.scores["rerank"] for h in answer.hits] == [-1.0, -2.0, -3.0]


def test_failing_reranker_field_gives_a_notice(mini_settings):
    from rag.pipeline import PolicyQA

    qa = PolicyQA(mini_settings, auto_ingest=True, reranker=lambda q, hits, k, t: (hits[:k], "重排序失败（测试）"))
    plain = PolicyQA(mini_settings)
    answer = qa.ask(Q_LEADERS, k=3)
    assert any("重排序失败（测试）" in n for n in answer.notices)
    assert [h.chunk.chunk_id for h in answer.hits] == [h.chunk.chunk_id for h in plain.ask(Q_LEADERS, k=3).hits]


def test_vector_store_factory_gives_the_chroma_client(mini_settings, tmp_path):
    import chromadb

    from rag.pipeline import PolicyQA

    calls = []

    def factory(settings, fresh=False):
        calls.append(fresh)
        return chromadb.PersistentClient(path=str(tmp_path / "elsewhere"),
                                         settings=chromadb.config.Settings(anonymized_telemetry=False))

    qa = PolicyQA(mini_settings, auto_ingest=True, vector_store=factory)
    hits = qa.retrieve(Q_LEADERS, k=3)
    assert hits and calls
    assert (tmp_path / "elsewhere" / "chroma.sqlite3").is_file()
    assert not (mini_settings.data_dir / "chroma" / "chroma.sqlite3").exists()
    names = [getattr(c, "name", c) for c in factory(mini_settings).list_collections()]
    assert qa.index.pointer["collection"] in names


# --- LangChain retriever --------------------------------------------------------------------------------

def test_langchain_retriever_returns_the_hits_as_documents(mini_settings):
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    from rag.pipeline import PolicyQA
    from rag.retrieve.hybrid import Filters
    from rag.retrieve.langchain import PolicyRetriever

    qa = PolicyQA(mini_settings, auto_ingest=True)
    retriever = qa.as_retriever(k=4)
    assert isinstance(retriever, BaseRetriever) and retriever.k == 4
    docs = retriever.invoke(Q_LEADERS)
    hits = qa.retrieve(Q_LEADERS, k=4)
    assert len(docs) == 4 and all(isinstance(d, Document) for d in docs)
    for rank, (doc, hit) in enumerate(zip(docs, hits), start=1):
        assert doc.page_content == hit.chunk.text
        meta = doc.metadata
        assert (meta["chunk_id"], meta["doc_id"], meta["title"], meta["section"]) == \
               (hit.chunk.chunk_id, hit.chunk.doc_id, hit.title, hit.chunk.section)
        assert meta["rank"] == rank and meta["score"] == pytest.approx(hit.score)
        assert meta["scores"] == {k: pytest.approx(v) for k, v in hit.scores.items()}
        doc_meta = qa.index.docs[hit.chunk.doc_id]
        assert meta["region"] == doc_meta.region and meta["status"] == doc_meta.status
        assert meta["issued_date"] == doc_meta.date and meta["period_end"] == doc_meta.period_end
        assert doc.id == hit.chunk.chunk_id
    assert docs[0].metadata["region"] in {"四川省", "成都市"}

    # filters as fields; the same hits as PolicyQA.retrieve with those filters
    region = qa.as_retriever(k=3, region="成都市").invoke(Q_LEADERS)
    assert region and {d.metadata["region"] for d in region} == {"成都市"}
    assert [d.metadata["chunk_id"] for d in region] == \
           [h.chunk.chunk_id for h in qa.retrieve(Q_LEADERS, k=3, filters=Filters(region="成都市"))]
    one_doc = qa.as_retriever(k=2, doc_ids=["sc-emerging-future-2025"]).invoke(Q_LEADERS)
    assert {d.metadata["doc_id"] for d in one_doc} == {"sc-emerging-future-2025"}

    # default k from the settings; over a bare HybridRetriever; in an LCEL chain; batch
    assert len(qa.as_retriever().invoke(Q_LEADERS)) == mini_settings.top_k
    fixed = PolicyRetriever.from_hybrid(qa.retriever, k=4)
    assert [d.metadata["chunk_id"] for d in fixed.invoke(Q_LEADERS)] == [h.chunk.chunk_id for h in hits]
    chain = retriever | (lambda documents: [d.metadata["doc_id"] for d in documents])
    assert chain.invoke(Q_LEADERS) == [h.chunk.doc_id for h in hits]
    assert [len(r) for r in retriever.batch([Q_LEADERS, "成都市未来产业"])] == [4, 4]


def test_langchain_retriever_errors(mini_settings):
    from pydantic import ValidationError

    from rag.errors import InvalidQuestionError
    from rag.pipeline import PolicyQA
    from rag.retrieve.langchain import PolicyRetriever

    qa = PolicyQA(mini_settings, auto_ingest=True)
    with pytest.raises(InvalidQuestionError):
        qa.as_retriever().invoke("   ")
    with pytest.raises(InvalidQuestionError):
        PolicyRetriever.from_hybrid(qa.retriever).invoke("")
    with pytest.raises(ValidationError):
        qa.as_retriever(k=0)
