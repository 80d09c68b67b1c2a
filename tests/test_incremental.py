"""Incremental ingest (issue 12 §1-3): a change touches only its chunks — stored tokens reused, one
persistent Chroma collection updated in place, the frozen LSA model projecting new chunks — and an
interrupted ingest leaves the previous state usable. The small test corpus would be refitted at every
change (``REFIT_ALWAYS_ROWS``), so the frozen-model path is forced by setting that to 0."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index import store as rag_index
from rag.index import build as rag_ingest
from rag.index import generation
from rag.index.embeddings import LSAEmbeddings, randomized_svd
from rag.errors import IngestError
from rag.index.store import chroma_client, indexed_parts, load_index, read_current
from rag.index.build import _refit_reason, ingest
from rag.pipeline import PolicyQA
from rag.text import Tokenizer

from core_support import MINI_DOC_IDS, Q_LEADERS

NOTICE = ("一、支持措施\n对新认定的氢能装备企业给予一次性奖励，用于研发投入和氢燃料电池示范应用。\n"
          "二、申报方式\n企业通过政务服务网提交申报材料，由市经济和信息化局受理。\n")


@pytest.fixture
def frozen(mini_settings, monkeypatch):
    """The mini corpus indexed once, with the LSA model frozen from then on."""
    monkeypatch.setattr(generation, "REFIT_ALWAYS_ROWS", 0)
    report = ingest(mini_settings)
    assert sorted(report.added) == sorted(MINI_DOC_IDS)
    return mini_settings


def _add_notice(settings, name="hydrogen-notice.txt", text=NOTICE):
    path = settings.data_dir / "new" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _collection(settings):
    return chroma_client(settings).get_collection(read_current(settings)["collection"])


def test_adding_a_document_embeds_and_tokenises_only_its_chunks(frozen, monkeypatch):
    settings = frozen
    before = read_current(settings)
    old = load_index(settings)
    old_vectors = set(old.vector_ids)
    calls = []
    real_tokens = Tokenizer.tokens
    monkeypatch.setattr(Tokenizer, "tokens", lambda self, text: calls.append(text) or real_tokens(self, text))
    report = ingest(settings, [_add_notice(settings)], keep_others=True)
    assert report.added == ["hydrogen-notice"] and sorted(report.unchanged) == sorted(MINI_DOC_IDS)
    pointer = read_current(settings)
    index = load_index(settings)
    new_rows = [i for i, c in enumerate(index.chunks) if c.doc_id == "hydrogen-notice"]
    # the same model and collection; only the new document's chunks were tokenised and embedded
    assert pointer["collection"] == before["collection"]
    assert pointer["embedder"]["id"] == before["embedder"]["id"]
    assert pointer["embedder"]["embedded_now"] == len(new_rows) == pointer["embedder"]["tokenized_now"]
    # each new chunk's passage was cut, and each distinct line before it (title, section path) once
    new_parts = [indexed_parts(index.chunks[i], index.docs["hydrogen-notice"]) for i in new_rows]
    assert sorted(calls) == sorted([p[-1] for p in new_parts] + list({line for p in new_parts for line in p[:-1]}))
    assert old_vectors <= set(index.vector_ids)  # unchanged chunks keep their vectors
    # the frozen model projects the new chunks: they are found by BM25 and by the dense search alone
    retriever = PolicyQA(settings).retriever
    ranking, _ = retriever.dense_ranking("氢燃料电池示范应用的研发投入奖励", 5, rag_index_filters())
    assert ranking and index.chunks[ranking[0]].doc_id == "hydrogen-notice"
    hits = PolicyQA(settings).retrieve("氢能装备企业奖励", k=3)
    assert hits and hits[0].chunk.doc_id == "hydrogen-notice"


def rag_index_filters():
    from rag.retrieve.hybrid import NO_FILTERS

    return NO_FILTERS


def test_removed_document_leaves_the_collection_and_the_results(frozen):
    settings = frozen
    ingest(settings, [_add_notice(settings)], keep_others=True)
    added_ids = {v for v, c in zip(load_index(settings).vector_ids, load_index(settings).chunks)
                 if c.doc_id == "hydrogen-notice"}
    (settings.data_dir / "new" / "hydrogen-notice.txt").unlink()
    report = ingest(settings, keep_others=True)
    assert report.removed == ["hydrogen-notice"]
    index = load_index(settings)
    # the previous generation (answers in flight) still references them: stored, but never returned
    assert added_ids <= set(_collection(settings).get(ids=sorted(added_ids))["ids"])
    results = index.vectorstore.similarity_search_by_vector_with_relevance_scores(
        index.embedder.embed_query("氢燃料电池示范应用的研发投入奖励"), k=len(index.chunks))
    assert results and all(doc.id in set(index.vector_ids) for doc, _ in results)
    assert all(doc.metadata["doc_id"] != "hydrogen-notice" for doc, _ in results)
    # one more change: no kept generation references them any longer, and they are deleted
    ingest(settings, [_add_notice(settings, "other-notice.txt", NOTICE.replace("氢能", "储能"))], keep_others=True)
    assert _collection(settings).get(ids=sorted(added_ids))["ids"] == []


def test_interrupted_ingest_leaves_previous_state_and_next_ingest_cleans_up(frozen, monkeypatch):
    settings = frozen
    first = read_current(settings)
    n_before = _collection(settings).count()

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(generation, "write_current", boom)
    monkeypatch.setattr(generation, "_undo_vectors", lambda *a, **k: None)  # as if killed: nothing undone
    with pytest.raises(IngestError, match="previous index is unchanged"):
        ingest(settings, [_add_notice(settings)], keep_others=True)
    monkeypatch.undo()
    monkeypatch.setattr(generation, "REFIT_ALWAYS_ROWS", 0)
    assert read_current(settings)["generation"] == first["generation"]
    assert _collection(settings).count() > n_before  # vectors of the interrupted ingest were left behind
    rag_index._CACHE.clear()
    index = load_index(settings)
    assert index.vectorstore.n_extra == _collection(settings).count() - n_before
    results = index.vectorstore.similarity_search_by_vector_with_relevance_scores(
        index.embedder.embed_query("氢燃料电池示范应用的研发投入奖励"), k=10)
    assert len(results) == 10 and all(doc.metadata["doc_id"] != "hydrogen-notice" for doc, _ in results)
    hits = PolicyQA(settings).retrieve(Q_LEADERS, k=5)
    assert any("30家以上具有全国影响力的行业领军企业" in h.chunk.text for h in hits)
    # the next ingest completes and leaves only the vectors of the kept generations
    report = ingest(settings, [_add_notice(settings)], keep_others=True)
    assert report.added == ["hydrogen-notice"]
    live = set(load_index(settings).vector_ids)
    stored = set(_collection(settings).get(include=[])["ids"])
    assert stored == live | set(index.vector_ids)


def test_replace_refits_into_a_new_collection_and_drops_the_old_one_later(frozen):
    settings = frozen
    first = read_current(settings)
    ingest(settings, refit=True, exclude=[MINI_DOC_IDS[0]])
    second = read_current(settings)
    assert second["embedder"]["id"] != first["embedder"]["id"] and second["embedder"]["refit_reason"] == "replace"
    assert second["collection"] != first["collection"]
    ingest(settings, refit=True)
    names = {getattr(c, "name", c) for c in chroma_client(settings).list_collections()}
    assert names == {second["collection"], read_current(settings)["collection"]}


def test_refit_reasons():
    class Model:
        def __init__(self, fit_rows):
            self.info = {"fit_rows": fit_rows}

    big = rag_ingest.REFIT_ALWAYS_ROWS + 10_000
    assert _refit_reason(None, {}, big) == "no model"
    assert _refit_reason(Model(5), {}, 10) == "small corpus"
    assert "fitted on" in _refit_reason(Model(600), {}, big)  # the corpus outgrew the fitted sample
    fitted = Model(big)
    assert _refit_reason(fitted, {"fit_oov": 0.05, "added_rows": 50, "added_oov": 0.9}, big) is None  # few new
    assert _refit_reason(fitted, {"fit_oov": 0.05, "added_rows": big // 5, "added_oov": 0.08}, big) is None
    assert "drift" in _refit_reason(fitted, {"fit_oov": 0.05, "added_rows": big // 5, "added_oov": 0.4}, big)


def test_embed_features_equals_embed_documents_and_vectors_are_float32(frozen):
    index = load_index(frozen)
    model = index.embedder
    assert isinstance(model, LSAEmbeddings) and model.components.dtype == np.float32
    texts = [c.text for c in index.chunks[:20]]
    vectors, oov = model.embed_features([model.tokenizer.tokens(t) for t in texts], texts)
    assert vectors.dtype == np.float32 and vectors.shape == (20, model.dim) and 0 <= oov < 1
    np.testing.assert_allclose(vectors, np.array(model.embed_documents(texts), dtype=np.float32), atol=1e-5)


def test_randomized_svd_matches_the_exact_one_on_a_low_rank_matrix():
    rng = np.random.default_rng(1)
    matrix = (rng.standard_normal((300, 8)) * [50, 30, 20, 10, 5, 3, 2, 1]) @ rng.standard_normal((8, 900))
    u, sigma, vt = randomized_svd(matrix, 5)
    exact = np.linalg.svd(matrix, compute_uv=False)[:5]
    np.testing.assert_allclose(sigma, exact, rtol=1e-6)
    np.testing.assert_allclose(vt @ vt.T, np.eye(5), atol=1e-8)
    assert u.shape == (300, 5)
