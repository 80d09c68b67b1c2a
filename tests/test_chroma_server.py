"""Server mode: with RAG_CHROMA_HOST/RAG_CHROMA_PORT the vectors live in a Chroma server. A real
``chroma run --path DIR --port P`` is started on 127.0.0.1 and the CLI ingests, adds one document,
removes it and answers through it; a second process and an already loaded PolicyQA share the index
(issue 12 §5)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.index.store import chunk_id_of
from rag.settings import Settings

from core_support import MINI_DOC_IDS, run

EXTRA_ID = "extra-measures"
EXTRA_TEXT = "关于支持中小企业发展的若干措施\n\n第一条 对新认定的专精特新企业给予一次性奖励50万元。\n"
Q_EXTRA = "对新认定的专精特新企业给予多少奖励？"


def _chroma_executable() -> str | None:
    exe = shutil.which("chroma")
    if exe:
        return exe
    beside = Path(sys.executable).with_name("chroma")  # the venv's scripts folder when not on PATH
    return str(beside) if beside.is_file() else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    """(host, port, persistence dir) of a ``chroma run`` server on 127.0.0.1, stopped at teardown."""
    import chromadb

    exe = _chroma_executable()
    if exe is None:
        pytest.skip("the `chroma` executable (chromadb's CLI, `pip install chromadb`) is not installed")
    path = tmp_path / "chroma-server"
    port = _free_port()
    log_path = tmp_path / "chroma-server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        settings = chromadb.config.Settings(anonymized_telemetry=False)
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-2000:]}")
            try:
                chromadb.HttpClient(host="127.0.0.1", port=port, settings=settings).heartbeat()
                break
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline:
                    pytest.fail(f"chroma run did not answer on port {port} within 60 s")
                time.sleep(0.2)
        yield "127.0.0.1", port, path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_ids(host: str, port: int, chunk_ids: list[str]) -> set[str]:
    """The chunk ids among ``chunk_ids`` that some collection of the server holds a vector for (the chunk id
    is the prefix of a vector id, ``rag.index.store.chunk_id_of``)."""
    import chromadb

    client = chromadb.HttpClient(host=host, port=port, settings=chromadb.config.Settings(anonymized_telemetry=False))
    found: set[str] = set()
    for col in client.list_collections():
        collection = client.get_collection(getattr(col, "name", col))
        got = collection.get(include=[])
        found |= {chunk_id_of(vid) for vid in got["ids"]} & set(chunk_ids)
    return found


@pytest.mark.parametrize("frozen", [False, True], ids=["refit", "frozen-model"])
def test_ingest_add_remove_and_ask_through_a_chroma_server(chroma_server, tmp_path, mini_corpus, monkeypatch,
                                                          capsys, frozen):
    """``frozen``: the LSA model is kept however small the corpus (as for a large library), so adding and
    removing update the server's collection in place; else every ingest fits a new model and collection."""
    import rag.index.generation
    from rag.index.store import load_index, read_current
    from rag.pipeline import PolicyQA

    if frozen:
        monkeypatch.setattr(rag.index.generation, "REFIT_ALWAYS_ROWS", 0)
    host, port, server_dir = chroma_server
    monkeypatch.setenv("RAG_CHROMA_HOST", host)
    monkeypatch.setenv("RAG_CHROMA_PORT", str(port))
    monkeypatch.setenv("RAG_CORPUS_DIR", str(mini_corpus))
    settings = Settings.from_env()
    data_dir = Path(settings.data_dir)

    code, out, err = run(["ingest"], capsys)
    assert code == 0, err
    collection = read_current(settings)["collection"]
    code, out, err = run(["info", "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and info["vector_store"] == f"chroma server {host}:{port}"
    assert {d["doc_id"] for d in info["documents"]} == set(MINI_DOC_IDS)
    chunk_ids = [c.chunk_id for c in load_index(settings).chunks]
    assert server_ids(host, port, chunk_ids) == set(chunk_ids)  # every vector is in the server
    assert not (data_dir / "chroma").exists() and any(server_dir.iterdir())

    qa = PolicyQA(settings)  # loaded now; must see the changes below without being rebuilt
    dense = PolicyQA(settings.with_(retrieval_mode="dense"))  # answers from the server's vectors alone
    assert EXTRA_ID not in {c.doc_id for c in qa.ask(Q_EXTRA).citations}

    extra = tmp_path / f"{EXTRA_ID}.txt"
    extra.write_text(EXTRA_TEXT, encoding="utf-8")
    code, out, err = run(["ingest", str(extra)], capsys)  # adds one, keeps the others
    assert code == 0, err
    assert "新增 1" in out and "删除 0" in out
    assert (read_current(settings)["collection"] == collection) == frozen  # in place, or a new collection
    code, out, err = run(["info", "--json"], capsys)
    assert {d["doc_id"] for d in json.loads(out)["documents"]} == {*MINI_DOC_IDS, EXTRA_ID}
    code, out, err = run(["ask", "--json", Q_EXTRA], capsys)
    answer = json.loads(out)
    assert code == 0 and EXTRA_ID in {c["doc_id"] for c in answer["citations"]} and "50万元" in answer["answer"]
    extra_ids = [c.chunk_id for c in load_index(settings).chunks if c.doc_id == EXTRA_ID]
    assert extra_ids and server_ids(host, port, extra_ids) == set(extra_ids)
    assert EXTRA_ID in {c.doc_id for c in qa.ask(Q_EXTRA).citations}
    assert EXTRA_ID in {h.chunk.doc_id for h in dense.retrieve(Q_EXTRA, k=3)}

    # another process reads the same index through the same server
    exe = shutil.which("rag")
    argv = [exe] if exe else [sys.executable, "-m", "rag.cli"]
    proc = subprocess.run([*argv, "ask", "--json", Q_EXTRA], capture_output=True, text=True, encoding="utf-8",
                          timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert EXTRA_ID in {c["doc_id"] for c in json.loads(proc.stdout)["citations"]}

    code, out, err = run(["remove", EXTRA_ID], capsys)
    assert code == 0, err
    assert (read_current(settings)["collection"] == collection) == frozen
    code, out, err = run(["info", "--json"], capsys)
    assert {d["doc_id"] for d in json.loads(out)["documents"]} == set(MINI_DOC_IDS)
    code, out, err = run(["ask", "--json", Q_EXTRA], capsys)
    answer = json.loads(out)
    assert code == 0 and EXTRA_ID not in {c["doc_id"] for c in answer["citations"]}
    assert "50万元" not in answer["answer"]
    assert EXTRA_ID not in {c.doc_id for c in qa.ask(Q_EXTRA).citations}
    hits = dense.retrieve(Q_EXTRA, k=5)
    assert hits and EXTRA_ID not in {h.chunk.doc_id for h in hits}
    live_ids = [c.chunk_id for c in load_index(settings).chunks]
    assert server_ids(host, port, live_ids) == set(live_ids)
    assert not (data_dir / "chroma").exists()  # no embedded store was ever used
