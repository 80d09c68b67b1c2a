"""Fast part of the fault suite (the long cases and the whole table: ``python bench/faults.py``):
kill -9 during an ingest, bad input files and upload names, and questions without recognisable
content."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.pipeline import PolicyQA
from rag.answer.refusal import NO_CONTENT_REASON, NO_CONTENT_TEXT, content_terms
from rag.settings import PROJECT_ROOT, Settings

from bad_inputs import (binary_as_txt, empty_file, encoded_text, pdf_without_text, text_file, unsupported_type,
                        zip_bomb_docx)
from core_support import CORPUS_DIR, Q_LEADERS, TODAY, assert_one_line_error, make_corpus, run


def _bench_faults():
    spec = importlib.util.spec_from_file_location("bench_faults", PROJECT_ROOT / "bench" / "faults.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mini_template(tmp_path_factory) -> Settings:
    """A built index of the two-document corpus; tests copy it (``_copy``) before changing it."""
    from rag.index.build import ingest

    root = tmp_path_factory.mktemp("faults")
    settings = Settings(data_dir=root / "data", corpus_dir=make_corpus(root / "corpus"), today=TODAY,
                        llm_enabled=False)
    ingest(settings)
    return settings


def _copy(template: Settings, dest: Path, monkeypatch) -> Settings:
    shutil.copytree(template.data_dir, dest / "data")
    monkeypatch.setenv("RAG_DATA_DIR", str(dest / "data"))
    monkeypatch.setenv("RAG_CORPUS_DIR", str(template.corpus_dir))
    return Settings.from_env()


def _live(settings: Settings) -> list[str]:
    return json.loads((settings.data_dir / "index" / "CURRENT.json").read_text(encoding="utf-8"))["documents"]


# --- (a) kill -9 -------------------------------------------------------------------------------------
def test_kill_9_during_ingest_keeps_the_previous_index_and_the_next_ingest_completes(mini_template, tmp_path,
                                                                                    monkeypatch):
    from rag.index.build import ingest

    settings = _copy(mini_template, tmp_path, monkeypatch)
    before = _live(settings)
    env = _bench_faults().environment(settings.data_dir, settings.corpus_dir)
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", "--replace", str(CORPUS_DIR)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT_ROOT)
    # killed while it writes the new generation (or at once, if it never gets there within 60 s)
    assert _bench_faults()._kill_when(proc, settings.data_dir, "generation")
    assert _live(settings) == before  # the half-built generation never went live
    answer = PolicyQA(settings).ask(Q_LEADERS, k=5)
    assert not answer.refused and "30家以上" in answer.text
    report = ingest(settings)  # the lock died with the process; the next ingest runs and completes
    assert not report.failed and set(before) <= set(_live(settings))
    assert "30家以上" in PolicyQA(settings).ask(Q_LEADERS, k=5).text


# --- (d) bad inputs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda f: zip_bomb_docx(f, expanded_mb=8),
    lambda f: text_file(f, "long.txt", 14 * 1024 * 1024),  # ≈ 4.9 M characters > the 4,000,000 default
    empty_file, binary_as_txt, pdf_without_text, unsupported_type,
], ids=["zip-bomb-docx", "over-char-limit", "empty", "binary-as-txt", "pdf-no-text", "unsupported"])
def test_bad_file_is_refused_with_one_line_and_nothing_is_lost(make, mini_template, tmp_path, monkeypatch, capsys):
    settings = _copy(mini_template, tmp_path, monkeypatch)
    before = _live(settings)
    path = make(tmp_path)
    code, _out, err = run(["ingest", str(path)], capsys)
    assert_one_line_error(code, err)
    assert path.name in err
    assert _live(settings) == before
    assert "30家以上" in PolicyQA(settings).ask(Q_LEADERS, k=5).text


def test_gbk_and_utf16_files_are_indexed_beside_the_rest(mini_template, tmp_path, monkeypatch, capsys):
    settings = _copy(mini_template, tmp_path, monkeypatch)
    before = _live(settings)
    files = [encoded_text(tmp_path, "gbk"), encoded_text(tmp_path, "utf-16")]
    code, _out, err = run(["ingest", *map(str, files)], capsys)
    assert code == 0, err
    live = _live(settings)
    assert set(before) < set(live) and len(live) == len(before) + 2
    answer = PolicyQA(settings).ask("技术改造项目最高补助多少万元？", k=5)
    assert "300万元" in answer.text and "30家以上" in PolicyQA(settings).ask(Q_LEADERS, k=5).text


def test_hostile_upload_names_stay_inside_uploads(mini_template, tmp_path, monkeypatch):
    from bad_inputs import POLICY_TEXT, UPLOAD_NAMES
    from rag.index.kb import add_upload, check_upload, uploads_dir

    settings = _copy(mini_template, tmp_path, monkeypatch)
    src = tmp_path / "src.txt"
    src.write_text(POLICY_TEXT, encoding="utf-8")
    for name in UPLOAD_NAMES.values():  # checked without indexing: a plain, printable, bounded base name
        safe = check_upload(src, name)
        assert "/" not in safe and safe.isprintable() and len(safe.encode()) <= 255 and safe.endswith(".txt")
    doc_id, _report = add_upload(settings, src, UPLOAD_NAMES["traversal name"])
    (stored,) = list(uploads_dir(settings).iterdir())
    assert stored.parent == uploads_dir(settings) and stored.name == "evil.txt" and doc_id in _live(settings)


# --- (6) questions without recognisable content -------------------------------------------------------
@pytest.mark.parametrize("question", ['" OR 1=1 --', "<script>alert(1)</script>", "？？？！！……——《》", "1234567",
                                      "xyzzy foo bar", "SELECT * FROM users; DROP TABLE chunks"])
def test_question_without_content_is_refused_as_such(question, shared_qa):
    answer = shared_qa.ask(question, k=5)
    assert answer.refused and answer.citations == [] and answer.hits == []  # no unrelated "closest" passage
    assert answer.text == NO_CONTENT_TEXT and "请用中文描述要查询的政策内容" in answer.text
    assert answer.notices == [f"未作答的原因：{NO_CONTENT_REASON}"]


@pytest.mark.parametrize("question", ["What is 专精特新?", "What does 新型储能 mean in the plan?", Q_LEADERS,
                                      "火星殖民的补贴是多少？"])
def test_question_with_a_corpus_word_is_not_swept_up(question, shared_qa):
    assert content_terms(question, shared_qa.retriever.index)
    answer = shared_qa.ask(question, k=5)
    assert answer.text != NO_CONTENT_TEXT and not any(NO_CONTENT_REASON in n for n in answer.notices)


def test_cli_says_the_question_has_no_content(built_index, monkeypatch, capsys):
    monkeypatch.setenv("RAG_DATA_DIR", str(built_index.data_dir))
    code, out, _err = run(["ask", '" OR 1=1 --'], capsys)
    assert code == 0 and out.startswith(NO_CONTENT_TEXT) and "最接近的段落" not in out
    code, out, _err = run(["ask", "--json", "<script>alert(1)</script>"], capsys)
    data = json.loads(out)
    assert data["refused"] and data["answer"] == NO_CONTENT_TEXT and data["hits"] == [] and data["citations"] == []
