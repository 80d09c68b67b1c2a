"""Several processes share one data directory: a process with the index loaded answers its next question
from an ingest another process (or this one) made live, without a restart; an answer in progress keeps
the index it started with (rag.pipeline.PolicyQA, issue 12 §5)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from rag.settings import Settings

from core_support import MINI_DOC_IDS

EXTRA_ID = "extra-measures"
EXTRA_TEXT = "关于支持中小企业发展的若干措施\n\n第一条 对新认定的专精特新企业给予一次性奖励50万元。\n"
Q_EXTRA = "对新认定的专精特新企业给予多少奖励？"


def rag_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    """``rag ARGS`` in a new process (its own Python, its own Chroma client) with ``env``."""
    exe = shutil.which("rag")
    argv = [exe] if exe else [sys.executable, "-m", "rag.cli"]
    proc = subprocess.run([*argv, *args], capture_output=True, text=True, encoding="utf-8", timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def shared_dir(tmp_path, mini_corpus, monkeypatch):
    """(settings, env, extra file): the mini corpus indexed in this process; ``env`` points another
    process at the same data directory and corpus."""
    from rag.index.build import ingest

    monkeypatch.setenv("RAG_CORPUS_DIR", str(mini_corpus))
    settings = Settings.from_env(data_dir=tmp_path / "data", corpus_dir=mini_corpus)
    ingest(settings)
    extra = tmp_path / f"{EXTRA_ID}.txt"
    extra.write_text(EXTRA_TEXT, encoding="utf-8")
    env = {**os.environ, "RAG_DATA_DIR": str(settings.data_dir), "RAG_CORPUS_DIR": str(mini_corpus)}
    return settings, env, extra


def cited(answer) -> set[str]:
    return {c.doc_id for c in answer.citations}


def test_loaded_process_picks_up_an_ingest_and_a_removal_by_another_process(shared_dir):
    from rag.pipeline import PolicyQA

    settings, env, extra = shared_dir
    qa = PolicyQA(settings)
    dense = PolicyQA(settings.with_(retrieval_mode="dense"))  # vectors only: this process's Chroma client
    before = qa.ask(Q_EXTRA)
    assert EXTRA_ID not in cited(before) and set(qa.index.docs) == set(MINI_DOC_IDS)
    assert EXTRA_ID not in {h.chunk.doc_id for h in dense.retrieve(Q_EXTRA, k=5)}
    generation = qa.index.generation

    rag_cli("ingest", str(extra), env=env)  # another process adds one document

    after = qa.ask(Q_EXTRA)  # same objects, next question: no restart
    assert qa.index.generation != generation
    assert set(qa.index.docs) == {*MINI_DOC_IDS, EXTRA_ID}
    assert EXTRA_ID in cited(after) and "50万元" in after.text
    assert EXTRA_ID in {h.chunk.doc_id for h in dense.retrieve(Q_EXTRA, k=3)}

    rag_cli("remove", EXTRA_ID, env=env)  # another process removes it again

    gone = qa.ask(Q_EXTRA)
    assert set(qa.index.docs) == set(MINI_DOC_IDS)
    assert EXTRA_ID not in cited(gone) and "50万元" not in gone.text
    hits = dense.retrieve(Q_EXTRA, k=5)
    assert hits and EXTRA_ID not in {h.chunk.doc_id for h in hits}


FROZEN_MODEL = "import sys, rag.index.generation; rag.index.generation.REFIT_ALWAYS_ROWS = 0; from rag.cli import main; sys.exit(main())"
"""``rag`` with the LSA model kept frozen however small the corpus (as for a large library): an ingest
updates the same Chroma collection in place instead of filling a new one."""


def test_vectors_updated_in_place_by_another_process_are_seen(shared_dir, monkeypatch):
    """Embedded Chroma: another process upserts into and deletes from the collection this process has
    open; the next question searches the vectors as they are now (not a stale copy held in memory)."""
    import rag.index.generation
    from rag.index.store import read_current
    from rag.index.build import ingest
    from rag.pipeline import PolicyQA

    settings, env, extra = shared_dir
    monkeypatch.setattr(rag.index.generation, "REFIT_ALWAYS_ROWS", 0)
    ingest(settings, refit=True)  # a model fitted now, kept by the ingests below
    collection = read_current(settings)["collection"]
    dense = PolicyQA(settings.with_(retrieval_mode="dense"))
    assert EXTRA_ID not in {h.chunk.doc_id for h in dense.retrieve(Q_EXTRA, k=5)}

    def other_process(*args):
        proc = subprocess.run([sys.executable, "-c", FROZEN_MODEL, *args], capture_output=True, text=True,
                              encoding="utf-8", timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr

    other_process("ingest", str(extra))
    assert read_current(settings)["collection"] == collection  # the same collection, updated in place
    assert EXTRA_ID in {h.chunk.doc_id for h in dense.retrieve(Q_EXTRA, k=3)}
    other_process("remove", EXTRA_ID)
    assert read_current(settings)["collection"] == collection
    hits = dense.retrieve(Q_EXTRA, k=5)
    assert hits and EXTRA_ID not in {h.chunk.doc_id for h in hits}


def test_an_answer_in_progress_survives_another_loading_the_in_place_update(shared_dir, monkeypatch):
    """Two PolicyQA of one process (two chat sessions): while one is mid-answer on the old generation,
    the other loads the generation another process wrote into the same collection; both keep working."""
    import rag.index.generation
    from rag.index.build import ingest
    from rag.pipeline import Final, Hits, PolicyQA

    settings, env, extra = shared_dir
    monkeypatch.setattr(rag.index.generation, "REFIT_ALWAYS_ROWS", 0)
    ingest(settings, refit=True)
    dense = settings.with_(retrieval_mode="dense")
    first, second = PolicyQA(dense), PolicyQA(dense)
    stream = first.ask_stream(Q_EXTRA)
    assert isinstance(next(stream), Hits)  # first is mid-answer
    proc = subprocess.run([sys.executable, "-c", FROZEN_MODEL, "ingest", str(extra)], capture_output=True,
                          text=True, encoding="utf-8", timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert EXTRA_ID in {h.chunk.doc_id for h in second.retrieve(Q_EXTRA, k=3)}  # loads the new generation
    assert EXTRA_ID not in {h.chunk.doc_id for h in first.retrieve(Q_EXTRA, k=5)}  # still its answer's index
    assert isinstance(list(stream)[-1], Final)
    assert EXTRA_ID in {h.chunk.doc_id for h in first.retrieve(Q_EXTRA, k=3)}


def test_an_answer_in_progress_keeps_its_index_the_next_question_sees_the_new_one(shared_dir):
    from rag.index.build import ingest
    from rag.pipeline import Final, Hits, PolicyQA

    settings, _env, extra = shared_dir
    qa = PolicyQA(settings)
    stream = qa.ask_stream(Q_EXTRA)
    first = next(stream)
    assert isinstance(first, Hits)
    old = qa.index
    report = ingest(settings, [extra], keep_others=True)  # an ingest goes live mid-answer
    assert report.n_documents == 3
    events = list(stream)
    assert qa.index is not old  # the answer is over: the next read sees the new generation
    assert isinstance(events[-1], Final)
    final = events[-1].answer
    assert EXTRA_ID not in cited(final)
    assert all(c.doc_id in old.docs for c in final.citations)
    assert EXTRA_ID in cited(qa.ask(Q_EXTRA))


def test_index_read_between_events_is_the_answers_index(shared_dir):
    """The UI reads ``qa.index.docs`` for the sources while handling an answer's events."""
    from rag.index.build import ingest
    from rag.pipeline import PolicyQA

    settings, _env, extra = shared_dir
    qa = PolicyQA(settings)
    stream = qa.ask_stream(Q_EXTRA)
    next(stream)
    old = qa.index
    ingest(settings, [extra], keep_others=True)
    for event in stream:
        assert qa.index is old, type(event).__name__


def test_an_unchanged_index_is_not_reloaded_per_question(shared_dir, monkeypatch):
    """The per-question check is one stat of index/CURRENT.json; the index is loaded again only when
    that file was replaced."""
    import rag.pipeline as pipeline
    from rag.index.store import current_path

    settings, _env, _extra = shared_dir
    loads = []
    real = pipeline.load_index
    monkeypatch.setattr(pipeline, "load_index", lambda s: loads.append(1) or real(s))
    qa = pipeline.PolicyQA(settings)
    for _ in range(3):
        qa.retrieve(Q_EXTRA)
    assert len(loads) == 1
    path = current_path(settings)
    copy = path.with_name("CURRENT.json.copy")
    shutil.copyfile(path, copy)
    os.replace(copy, path)  # what an ingest does when a generation goes live
    qa.retrieve(Q_EXTRA)
    assert len(loads) == 2


def test_ui_chat_answers_from_an_ingest_made_after_it_started(shared_dir):
    """The chat tab of a running ``rag ui``: the next question after another process's ingest cites it."""
    from ui import handlers as h

    settings, env, extra = shared_dir
    views = list(h.chat_stream(Q_EXTRA, h.new_session(), h.ChatOptions(), settings))
    assert not views[-1].error and EXTRA_ID not in {c["doc_id"] for c in views[-1].session["turns"][-1]["citations"]}
    rag_cli("ingest", str(extra), env=env)
    views = list(h.chat_stream(Q_EXTRA, h.new_session(), h.ChatOptions(), settings))
    turn = views[-1].session["turns"][-1]
    assert not views[-1].error and EXTRA_ID in {c["doc_id"] for c in turn["citations"]}
    assert EXTRA_ID in {s["doc_id"] for s in turn["sources"]}  # its source card, from the new index
