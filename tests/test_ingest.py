"""rag.ingest: incremental, atomic ingestion on a private copy of the corpus (two small documents)."""

from __future__ import annotations

import json

import pytest

from rag import index as rag_index
from rag import ingest as rag_ingest
from rag.errors import IndexNotBuiltError, IngestError
from rag.index import chroma_client, index_dir, load_index, read_current
from rag.ingest import ingest
from rag.pipeline import PolicyQA
from rag.text import normalize

from core_support import MINI_DOC_IDS, Q_LEADERS

DOC = "sc-emerging-future-2025"


def _doc_path(corpus, doc_id=DOC):
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    return corpus / next(d["file"] for d in manifest["documents"] if d["id"] == doc_id)


def _chunk_ids(settings, doc_id=None):
    return {c.chunk_id for c in load_index(settings).chunks if doc_id is None or c.doc_id == doc_id}


def _live_collections(settings):
    return sorted(getattr(c, "name", c) for c in chroma_client(settings).list_collections())


def _answers_leaders(settings):
    hits = PolicyQA(settings).retrieve(Q_LEADERS, k=5)
    return any("30家以上具有全国影响力的行业领军企业" in h.chunk.text for h in hits)


@pytest.fixture
def built(mini_settings):
    report = ingest(mini_settings)
    assert sorted(report.added) == sorted(MINI_DOC_IDS) and not report.failed
    return mini_settings, report


def test_first_ingest_builds_complete_generation(built):
    settings, report = built
    assert report.changed and report.n_documents == 2 and report.generation
    pointer = read_current(settings)
    assert pointer["generation"] == report.generation
    assert sorted(pointer["documents"]) == sorted(MINI_DOC_IDS)
    gen = index_dir(settings) / report.generation
    for name in ("chunks.jsonl", "documents.json", "df.json", "lsa.npz", "bm25"):
        assert (gen / name).exists(), name
    assert _live_collections(settings) == [f"chunks_{report.generation}"]
    index = load_index(settings)
    assert len(index.chunks) == report.n_chunks
    assert {c.doc_id for c in index.chunks} == set(MINI_DOC_IDS)
    assert sum(c.kind == "card" for c in index.chunks) == 2  # one document card each
    assert json.loads((gen / "df.json").read_text(encoding="utf-8"))["__N__"] == report.n_chunks
    # chunk text is the slice of the stored cleaned text
    for c in index.chunks:
        if c.kind != "card":
            assert index.doc_texts[c.doc_id][c.start:c.end] == c.text


def test_reingest_unchanged_is_a_no_op(built):
    settings, first = built
    ids = _chunk_ids(settings)
    again = ingest(settings)
    assert again.changed is False
    assert again.generation == first.generation == read_current(settings)["generation"]
    assert sorted(again.unchanged) == sorted(MINI_DOC_IDS) and not again.added and not again.updated
    assert _chunk_ids(settings) == ids


def test_changed_file_replaces_its_chunks(built, mini_corpus):
    settings, first = built
    path = _doc_path(mini_corpus)
    old_index = load_index(settings)
    old_chunk = next(c for c in old_index.chunks if "培育30家以上具有全国影响力" in c.text)
    other_ids = _chunk_ids(settings, "cd-future-industries-2024")
    path.write_text(path.read_text(encoding="utf-8").replace("培育30家以上具有全国影响力", "培育45家以上具有全国影响力"),
                    encoding="utf-8")
    report = ingest(settings)
    assert report.updated == [DOC] and report.unchanged == ["cd-future-industries-2024"]
    assert report.changed and report.generation != first.generation
    ids = _chunk_ids(settings)
    assert old_chunk.chunk_id not in ids
    assert _chunk_ids(settings, "cd-future-industries-2024") == other_ids  # untouched document keeps its ids
    hits = PolicyQA(settings).retrieve("到2027年四川要培育多少家具有全国影响力的行业领军企业？", k=5)
    texts = [normalize(h.chunk.text) for h in hits]
    assert any("培育45家以上具有全国影响力" in t for t in texts)
    assert not any("培育30家以上具有全国影响力" in t for t in texts)
    # the previous generation is kept one ingest longer (answers in flight may read it), not longer
    assert read_current(settings)["generation"] == report.generation
    assert sorted(d.name for d in index_dir(settings).iterdir() if d.is_dir()) == sorted({first.generation, report.generation})
    assert sorted(_live_collections(settings)) == sorted({f"chunks_{first.generation}", f"chunks_{report.generation}"})


def test_removed_file_loses_its_chunks(built, mini_corpus):
    settings, _ = built
    manifest_path = mini_corpus / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["documents"] = [d for d in manifest["documents"] if d["id"] != DOC]
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    report = ingest(settings)
    assert report.removed == [DOC] and report.n_documents == 1
    index = load_index(settings)
    assert {c.doc_id for c in index.chunks} == {"cd-future-industries-2024"}
    assert DOC not in index.docs
    assert not _answers_leaders(settings)


def test_non_utf8_upload_is_reported_and_the_rest_ingested(mini_settings):
    uploads = mini_settings.data_dir / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "gbk-notice.txt").write_bytes("关于支持企业发展的通知。".encode("gbk"))
    (uploads / "good-notice.txt").write_text("一、支持措施\n对新认定的企业给予奖励，用于研发投入。\n", encoding="utf-8")
    report = ingest(mini_settings)
    assert [p for p, _ in report.failed] == [str(uploads / "gbk-notice.txt")]
    assert "UTF-8" in report.failed[0][1]
    assert sorted(report.added) == sorted([*MINI_DOC_IDS, "good-notice"])
    index = load_index(mini_settings)
    assert "good-notice" in index.docs and "gbk-notice" not in index.docs
    assert _answers_leaders(mini_settings)


def test_file_that_becomes_unreadable_keeps_its_last_good_version(built, mini_corpus):
    settings, first = built
    ids = _chunk_ids(settings, DOC)
    _doc_path(mini_corpus).write_bytes("新的内容。".encode("gbk"))
    report = ingest(settings)
    assert [p for p, _ in report.failed] == [str(_doc_path(mini_corpus))]
    assert DOC in report.unchanged and not report.changed
    assert _chunk_ids(settings, DOC) == ids and _answers_leaders(settings)


def test_nothing_readable_raises_and_keeps_previous(built, mini_corpus, tmp_path):
    settings, first = built
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(IngestError, match="bad.txt"):
        ingest(settings, [bad])
    assert read_current(settings)["generation"] == first.generation


# --- exclude -------------------------------------------------------------------------------------
OTHER = "cd-future-industries-2024"


def test_exclude_leaves_a_document_out_and_keeps_the_others(built, mini_corpus):
    settings, first = built
    other_ids = _chunk_ids(settings, OTHER)
    corpus_before = sorted((p.name, p.stat().st_mtime_ns) for p in mini_corpus.rglob("*"))
    report = ingest(settings, exclude=[DOC, "no-such-document"])
    assert report.excluded == [DOC] and report.removed == [DOC] and report.unchanged == [OTHER]
    assert report.n_documents == 1 and report.generation != first.generation
    index = load_index(settings)
    assert DOC not in index.docs and {c.doc_id for c in index.chunks} == {OTHER}
    assert _chunk_ids(settings, OTHER) == other_ids  # the kept document is not re-chunked
    assert not _answers_leaders(settings)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in mini_corpus.rglob("*")) == corpus_before
    assert not list(settings.data_dir.glob("kb*"))  # no copy of the corpus anywhere
    # the same exclusion again is a no-op; without it the document comes back
    assert ingest(settings, exclude=[DOC]).changed is False
    back = ingest(settings, exclude=[])
    assert back.added == [DOC] and not back.excluded and _answers_leaders(settings)


def test_default_exclude_is_the_knowledge_base_hidden_list(built, mini_corpus):
    settings, _ = built
    (settings.data_dir / "kb.json").write_text(json.dumps({"excluded": [DOC]}), encoding="utf-8")
    report = ingest(settings)  # what `rag ingest` and the automatic first ingest do
    assert report.excluded == [DOC] and DOC not in load_index(settings).docs
    # explicit paths honour the hidden list too, so that the index and kb.json agree
    report = ingest(settings, [mini_corpus])
    assert report.excluded == [DOC] and not report.changed and DOC not in load_index(settings).docs
    report = ingest(settings, [mini_corpus], exclude=[])  # unless asked otherwise
    assert report.added == [DOC] and not report.excluded


def test_damaged_kb_json_is_an_error_and_changes_nothing(built, mini_corpus):
    from rag.kb import KnowledgeBaseError

    settings, first = built
    (settings.data_dir / "kb.json").write_text("{not json", encoding="utf-8")
    for paths in (None, [mini_corpus]):
        with pytest.raises(KnowledgeBaseError, match="kb.json"):
            ingest(settings, paths)
    assert read_current(settings)["generation"] == first.generation


def test_excluding_everything_raises_and_keeps_previous(built):
    settings, first = built
    with pytest.raises(IngestError, match="every document was excluded"):
        ingest(settings, exclude=MINI_DOC_IDS)
    assert read_current(settings)["generation"] == first.generation and _answers_leaders(settings)


def test_failed_ingest_with_exclude_leaves_previous_generation(built, monkeypatch):
    settings, first = built

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(rag_ingest, "write_current", boom)
    with pytest.raises(IngestError, match="previous index is unchanged"):
        ingest(settings, exclude=[DOC])
    monkeypatch.undo()
    _assert_previous_live(settings, first.generation)
    assert DOC in load_index(settings).docs


# --- atomicity ---------------------------------------------------------------------------------
def _touch_doc(corpus):
    path = _doc_path(corpus)
    path.write_text(path.read_text(encoding="utf-8") + "\n新增一段用于测试的内容。\n", encoding="utf-8")


def _assert_previous_live(settings, generation):
    assert read_current(settings)["generation"] == generation
    root = index_dir(settings)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [generation]
    assert not list(root.glob("*.partial"))
    assert _live_collections(settings) == [f"chunks_{generation}"]
    rag_index._CACHE.clear()  # load from disk, not from memory
    assert load_index(settings).generation == generation
    assert _answers_leaders(settings)


def test_failure_while_switching_current_leaves_previous_generation(built, mini_corpus, monkeypatch):
    settings, first = built
    _touch_doc(mini_corpus)

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(rag_ingest, "write_current", boom)
    with pytest.raises(IngestError, match="previous index is unchanged"):
        ingest(settings)
    _assert_previous_live(settings, first.generation)


def test_failure_in_vector_store_add_leaves_previous_generation(built, mini_corpus, monkeypatch):
    settings, first = built
    _touch_doc(mini_corpus)
    real_client = rag_ingest.chroma_client

    class FailingCollection:
        def __init__(self, inner):
            self.inner = inner

        def add(self, **_kwargs):
            raise RuntimeError("chroma add failed")

    class ClientProxy:
        def __init__(self, inner):
            self.inner = inner

        def create_collection(self, *a, **k):
            return FailingCollection(self.inner.create_collection(*a, **k))

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(rag_ingest, "chroma_client", lambda s: ClientProxy(real_client(s)))
    with pytest.raises(IngestError, match="RuntimeError"):
        ingest(settings)
    monkeypatch.undo()
    _assert_previous_live(settings, first.generation)


def test_interrupt_during_ingest_leaves_previous_generation(built, mini_corpus, monkeypatch):
    settings, first = built
    _touch_doc(mini_corpus)
    from rag.embeddings import LSAEmbeddings

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(LSAEmbeddings, "fit", classmethod(lambda cls, *a, **k: interrupted()))
    with pytest.raises(KeyboardInterrupt):
        ingest(settings)
    monkeypatch.undo()
    _assert_previous_live(settings, first.generation)
    # and the next ingest completes
    report = ingest(settings)
    assert report.updated == [DOC] and report.generation != first.generation


def test_failed_first_ingest_leaves_no_index(mini_settings, monkeypatch):
    monkeypatch.setattr(rag_ingest, "write_current", lambda *a, **k: (_ for _ in ()).throw(OSError("ro")))
    with pytest.raises(IngestError):
        ingest(mini_settings)
    assert read_current(mini_settings) is None
    assert not list(index_dir(mini_settings).glob("*.partial"))
    with pytest.raises(IndexNotBuiltError):
        load_index(mini_settings)


def test_stale_partial_dir_removed_by_next_successful_ingest(built, mini_corpus):
    settings, _ = built
    stale = index_dir(settings) / "g0dead.partial"
    stale.mkdir()
    (stale / "chunks.jsonl").write_text("{}", encoding="utf-8")
    before = read_current(settings)["generation"]
    _touch_doc(mini_corpus)
    report = ingest(settings)
    assert report.changed
    assert not stale.exists()
    assert sorted(p.name for p in index_dir(settings).iterdir() if p.is_dir()) == sorted({before, report.generation})


def test_changed_chunk_size_reindexes_everything(built):
    settings, first = built
    report = ingest(settings.with_(chunk_tokens=128))
    assert sorted(report.updated) == sorted(MINI_DOC_IDS) and report.generation != first.generation
    assert report.n_chunks > first.n_chunks
