"""Damaged index state and concurrent ingests (issue 16 items 3 and 6, issue 12 item 3).

Every damage case of ``damage_cases.CASES`` (a file of the live generation or the Chroma store deleted,
truncated or emptied) is applied to a copy of one small index: ``rag ask`` / ``rag retrieve`` /
``rag info`` then give one ``error:`` line naming ``rag ingest`` (no traceback), ``rag ingest`` rebuilds
and says it repaired the index, and ``rag ask`` answers again. The ingest lock is tested with a second
process holding it and with two ingests started at once in two threads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time

import pytest

from rag.index.store import check_index, ingest_lock, lock_path, read_current, release_chroma
from rag.settings import Settings

from core_support import MINI_DOC_IDS, Q_LEADERS, assert_one_line_error, make_corpus, run, session_settings
from damage_cases import CASES

FIRST_USE = "CURRENT.json deleted"  # no pointer means no index: the first question builds one
SELF_HEALING = {"chroma/ segment folder deleted"}  # Chroma rebuilds its vector segment from its own log


@pytest.fixture(scope="module")
def clean_index(tmp_path_factory) -> Settings:
    """A sound index of the two-document mini corpus, built once; tests copy its data directory."""
    from rag.index.build import ingest

    root = tmp_path_factory.mktemp("repair")
    settings = session_settings(root / "data", make_corpus(root / "corpus"))
    report = ingest(settings)
    assert report.n_documents == 2 and not report.failed
    release_chroma(settings)  # close the store so that its files on disk are complete before copying
    return settings


@pytest.fixture
def damaged_copy(clean_index, tmp_path, monkeypatch):
    """A copy of the clean index as this test's data directory (RAG_DATA_DIR), with the same corpus."""
    data = tmp_path / "data"
    shutil.copytree(clean_index.data_dir, data)
    monkeypatch.setenv("RAG_CORPUS_DIR", str(clean_index.corpus_dir))
    settings = Settings.from_env()
    assert settings.data_dir == data
    yield settings
    release_chroma(settings)


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_index_is_named_then_repaired_by_ingest(case, damaged_copy, capsys):
    settings = damaged_copy
    assert check_index(settings) is None
    CASES[case](settings.data_dir)
    if case == FIRST_USE or case in SELF_HEALING:
        code, _out, err = run(["ask", Q_LEADERS], capsys)
        assert code == 0 and "Traceback" not in err, err
        assert ("正在建立索引" in err) == (case == FIRST_USE)
    else:
        problem = check_index(settings)
        assert problem is not None, case
        for argv in (["ask", Q_LEADERS], ["retrieve", Q_LEADERS], ["info"]):
            code, _out, err = run(argv, capsys)
            assert_one_line_error(code, err)
            assert "rag ingest" in err and "索引已损坏" in err, err
        code, out, err = run(["ingest"], capsys)
        assert code == 0 and "Traceback" not in err, err
        assert out.startswith("索引已修复") and problem.path in out, out
    assert check_index(settings) is None
    code, out, err = run(["ingest"], capsys)  # a sound index: nothing to do
    assert code == 0 and out.startswith("索引无变化"), out + err
    code, out, err = run(["ask", Q_LEADERS, "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert not result["refused"] and "30家" in result["answer"]
    assert not (settings.data_dir / "chroma.damaged").exists()


def test_repair_keeps_documents_added_from_elsewhere(damaged_copy, tmp_path, capsys):
    """A damaged BM25 folder is rebuilt without dropping a document added with ``rag ingest PATH``."""
    extra = tmp_path / "extra.txt"
    extra.write_text("关于促进示例产业发展的通知\n一、总体要求\n到2030年，培育示例企业12家。\n", encoding="utf-8")
    code, _out, err = run(["ingest", str(extra)], capsys)
    assert code == 0, err
    before = set(read_current(damaged_copy)["documents"])
    assert len(before) == 3
    CASES["bm25/ folder deleted"](damaged_copy.data_dir)
    code, out, err = run(["ingest"], capsys)
    assert code == 0 and out.startswith("索引已修复"), out + err
    assert set(read_current(damaged_copy)["documents"]) == before


# --- the ingest lock ---------------------------------------------------------------------------
_HOLDER = """
import sys, time, filelock
lock = filelock.FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold_lock(settings: Settings, seconds: float) -> subprocess.Popen:
    """Another process holding the data directory's ingest lock for ``seconds``."""
    lock_path(settings).parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(lock_path(settings)), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_ingest_while_another_process_holds_the_lock_is_a_one_line_error(damaged_copy, monkeypatch, capsys):
    monkeypatch.setenv("RAG_INGEST_WAIT", "0.5")
    generation = read_current(damaged_copy)["generation"]
    holder = _hold_lock(damaged_copy, 60)
    try:
        code, _out, err = run(["ingest", "--replace"], capsys)
        notice, *rest = err.strip().splitlines()
        assert notice.startswith("另一个索引任务正在进行，等待其完成")  # said while waiting
        assert_one_line_error(code, "\n".join(rest))
        assert rest[0].startswith("error: 另一个索引任务正在进行") and "another ingest is running" in rest[0]
        from rag.index import kb
        from rag.errors import IngestBusyError

        with pytest.raises(IngestBusyError):  # the knowledge base takes the same lock
            kb.delete_document(damaged_copy.with_(ingest_wait_s=0.5), MINI_DOC_IDS[0])
        assert read_current(damaged_copy)["generation"] == generation
        assert {d.doc_id for d in kb.list_documents(damaged_copy)} == set(MINI_DOC_IDS)
    finally:
        holder.kill()
        holder.wait()
    code, _out, err = run(["ingest"], capsys)  # a killed holder releases the lock
    assert code == 0, err


def test_second_ingest_waits_for_the_first_then_runs(damaged_copy, monkeypatch, capsys):
    monkeypatch.setenv("RAG_INGEST_WAIT", "60")
    holder = _hold_lock(damaged_copy, 1.5)
    try:
        started = time.perf_counter()
        code, out, err = run(["ingest"], capsys)
        assert code == 0, err
        assert "另一个索引任务正在进行，等待其完成" in err
        assert time.perf_counter() - started >= 1.0
        assert out.startswith("索引无变化")
    finally:
        holder.wait()


def test_two_concurrent_ingests_run_one_after_the_other(damaged_copy, tmp_path):
    """Two ``--replace`` ingests of different corpora started at once: both succeed, one after the other,
    and the index that stays live is the later one's, exactly as its report says."""
    from rag.index.build import ingest

    corpora = [make_corpus(tmp_path / f"corpus-{d}", (d,)) for d in MINI_DOC_IDS]
    barrier = threading.Barrier(2)
    reports, errors, waited = {}, [], []

    def work(corpus, doc_id):
        barrier.wait()
        try:
            reports[doc_id] = ingest(damaged_copy, [corpus], exclude=[], on_wait=lambda: waited.append(doc_id))
        except Exception as exc:  # noqa: BLE001 - recorded and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c, d)) for c, d in zip(corpora, MINI_DOC_IDS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert len(waited) == 1  # the second one waited for the first
    later = max(reports.values(), key=lambda r: r.generation)
    live = read_current(damaged_copy)
    assert live["generation"] == later.generation
    assert live["documents"] == [waited[0]] and later.n_documents == 1
    assert check_index(damaged_copy) is None


def test_lock_is_reentrant_in_one_thread_and_exclusive_across_threads(damaged_copy):
    from rag.errors import IngestBusyError

    results = []

    def other():
        try:
            with ingest_lock(damaged_copy, wait_s=0.2):
                results.append("acquired")
        except IngestBusyError as exc:
            results.append(str(exc))

    with ingest_lock(damaged_copy):
        with ingest_lock(damaged_copy, wait_s=0):  # the holder may take it again (kb → ingest)
            t = threading.Thread(target=other)
            t.start()
            t.join()
    assert len(results) == 1 and results[0].startswith("另一个索引任务正在进行")
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert results[-1] == "acquired"


# --- an index written by an older version --------------------------------------------------------
def _age(settings: Settings) -> None:
    """Make the live generation look written by the previous index format, without a file that
    format lacked (tokens.npz)."""
    from rag.index.store import INDEX_FORMAT, current_path

    pointer = read_current(settings)
    pointer["fingerprint"]["format"] = INDEX_FORMAT - 1
    current_path(settings).write_text(json.dumps(pointer), encoding="utf-8")
    (settings.data_dir / "index" / pointer["generation"] / "tokens.npz").unlink()


def test_index_of_an_older_version_is_named_as_such_and_rebuilt_on_first_question(damaged_copy, capsys):
    from rag.errors import IndexDamagedError
    from rag.index.store import INDEX_FORMAT, load_index

    _age(damaged_copy)
    with pytest.raises(IndexDamagedError) as caught:
        load_index(damaged_copy)
    assert caught.value.outdated and "旧版本" in str(caught.value) and "rag ingest" in str(caught.value)
    code, _out, err = run(["info"], capsys)  # reads the index as it is: says what to do
    assert_one_line_error(code, err)
    assert "旧版本" in err and "rag ingest" in err, err
    code, out, err = run(["ask", Q_LEADERS, "--json"], capsys)  # rebuilds, then answers
    assert code == 0 and "正在建立索引" in err and "旧版本" in err, err
    assert not json.loads(out)["refused"]
    assert read_current(damaged_copy)["fingerprint"]["format"] == INDEX_FORMAT
    assert set(read_current(damaged_copy)["documents"]) == set(MINI_DOC_IDS)
