"""Adding a document to a large index without redoing the work of the unchanged ones (issue 12): the
chunks of documents carried over from the live generation keep their chunks.jsonl lines, tokens and
vector ids (``rag.index.build._reused_rows``), and the Chroma collection is not listed when it holds exactly
what the live pointer records (``rag.index.build._known_ids``). The files written are byte for byte those
of the path that serialises and hashes every chunk."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from rag.index import build as rag_ingest
from rag.index import generation, reuse
from rag.index.store import chroma_client, index_dir, load_index, read_current
from rag.index.build import ingest

from core_support import MINI_DOC_IDS

NOTICE = ("一、支持措施\n对新认定的氢能装备企业给予一次性奖励，用于研发投入和氢燃料电池示范应用。\n"
          "二、申报方式\n企业通过政务服务网提交申报材料，由市经济和信息化局受理。\n")
COMPARED = ("chunks.jsonl", "tokens.npz", "df.json", "documents.json")


@pytest.fixture
def frozen_model(monkeypatch):
    """The LSA model stays frozen (one collection updated in place) on the small test corpus."""
    monkeypatch.setattr(generation, "REFIT_ALWAYS_ROWS", 0)


def _files(settings) -> dict[str, str]:
    """sha1 of each compared file (and every bm25/ file) of the live generation."""
    gen = index_dir(settings) / read_current(settings)["generation"]
    paths = [gen / name for name in COMPARED] + sorted((gen / "bm25").iterdir())
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in paths}


def _steps(settings, notice_dir):
    """Index the mini corpus, add a notice, change it, add a second one; the live files after each."""
    notice_dir.mkdir(parents=True, exist_ok=True)
    first, second = notice_dir / "hydrogen-notice.txt", notice_dir / "storage-notice.txt"
    seen = []
    ingest(settings)
    seen.append(_files(settings))
    first.write_text(NOTICE, encoding="utf-8")
    ingest(settings, [first], keep_others=True)
    seen.append(_files(settings))
    first.write_text(NOTICE + "三、附则\n本措施自发布之日起施行。\n", encoding="utf-8")
    ingest(settings, [first], keep_others=True)
    seen.append(_files(settings))
    second.write_text(NOTICE.replace("氢能", "储能"), encoding="utf-8")
    ingest(settings, [second], keep_others=True)
    seen.append(_files(settings))
    return seen


def test_reused_rows_write_the_same_files_as_serialising_every_chunk(mini_settings, tmp_path, frozen_model,
                                                                      monkeypatch):
    notices = tmp_path / "notices"
    serialised = []
    real = reuse.chunk_to_json
    monkeypatch.setattr(reuse, "chunk_to_json", lambda c: serialised.append(c.doc_id) or real(c))
    reused = _steps(mini_settings, notices)
    # after the first build only the added or changed document's chunks were serialised again
    n_first = sum(1 for c in load_index(mini_settings).chunks if c.doc_id in MINI_DOC_IDS)
    assert serialised[:n_first] and set(serialised[:n_first]) == set(MINI_DOC_IDS)
    assert set(serialised[n_first:]) == {"hydrogen-notice", "storage-notice"}

    # the same steps with nothing reused: every chunk hashed, tokens looked up by key, lines serialised
    plain = mini_settings.with_(data_dir=tmp_path / "plain")
    monkeypatch.setattr(generation, "_reused_rows",
                        lambda entries, by_doc, chunks, prev: np.full(len(chunks), -1, dtype=np.int64))
    monkeypatch.setattr(generation, "_known_ids", lambda *a, **k: None)
    assert _steps(plain, notices) == reused


def test_row_ranges_of_the_previous_generation(mini_settings):
    ingest(mini_settings)
    chunks = load_index(mini_settings).chunks
    by_doc = rag_ingest._chunks_by_doc(chunks)
    first = by_doc[chunks[0].doc_id]
    assert len(first) > 1 and first.rows == (0, len(first))
    assert all(chunks[a:b] == list(got) for got in by_doc.values() for a, b in [got.rows])
    # a document whose chunks are not one run of rows has no range (its rows are not reused)
    other = chunks[len(first)]
    split = rag_ingest._chunks_by_doc([chunks[0], other, chunks[1]])
    assert split[chunks[0].doc_id].rows is None and split[other.doc_id].rows == (1, 2)


def test_collection_is_listed_only_when_it_holds_more_than_the_pointer_records(mini_settings, tmp_path,
                                                                             frozen_model, monkeypatch):
    settings = mini_settings
    listed = []
    real = generation._collection_ids
    monkeypatch.setattr(generation, "_collection_ids", lambda coll: listed.append(1) or real(coll))
    ingest(settings)
    notices = tmp_path / "notices"
    notices.mkdir()
    (notices / "a.txt").write_text(NOTICE, encoding="utf-8")
    ingest(settings, [notices / "a.txt"], keep_others=True)
    pointer = read_current(settings)
    collection = chroma_client(settings).get_collection(pointer["collection"])
    assert pointer["vectors"]["count"] == collection.count()
    assert listed == []  # the first build created the collection; the add trusted the pointer's record

    # a vector that no generation references (an ingest killed after its upsert): the next ingest lists
    # the collection, and deletes it with the other stale vectors
    dim = len(collection.get(limit=1, include=["embeddings"])["embeddings"][0])
    collection.upsert(ids=["stray-000000000000"], embeddings=[[0.1] * dim], metadatas=[{"doc_id": "stray"}])
    (notices / "b.txt").write_text(NOTICE.replace("氢能", "储能"), encoding="utf-8")
    ingest(settings, [notices / "b.txt"], keep_others=True)
    assert listed == [1]
    collection = chroma_client(settings).get_collection(read_current(settings)["collection"])
    assert collection.get(ids=["stray-000000000000"])["ids"] == []
    assert read_current(settings)["vectors"]["count"] == collection.count()
    live = set(load_index(settings).vector_ids)
    assert live <= set(collection.get(include=[])["ids"])
