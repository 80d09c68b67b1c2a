"""The ``rag`` command line, run in-process through ``rag.cli.main`` (plus one real subprocess)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

import pytest

from rag.index.store import read_current

from core_support import MINI_DOC_IDS, Q_LEADERS, assert_one_line_error, run

HIT_KEYS = {"rank", "score", "chunk_id", "doc_id", "title", "section", "text"}
CITATION_KEYS = {"n", "chunk_id", "doc_id", "title", "section", "quote"}
ASK_KEYS = {"question", "answer", "mode", "refused", "citations", "hits", "timings_ms"}



@pytest.fixture
def on_built(built_index, monkeypatch):
    """Point the CLI (via RAG_DATA_DIR) at the shared index."""
    monkeypatch.setenv("RAG_DATA_DIR", str(built_index.data_dir))
    return built_index


# --- JSON shapes -------------------------------------------------------------------------------
def test_retrieve_json_shape(on_built, capsys):
    code, out, err = run(["retrieve", "--json", "--k", "4", Q_LEADERS], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"question", "hits"} and data["question"] == Q_LEADERS
    assert [h["rank"] for h in data["hits"]] == [1, 2, 3, 4]
    for hit in data["hits"]:
        assert set(hit) == HIT_KEYS
        assert isinstance(hit["score"], float) and hit["text"] and hit["title"]
    assert any("30家以上" in h["text"] for h in data["hits"])


def test_retrieve_plain_text(on_built, capsys):
    code, out, _ = run(["retrieve", "--k", "2", Q_LEADERS], capsys)
    assert code == 0 and out.startswith("[1] ") and "\n[2] " in out


def test_ask_json_shape(on_built, capsys):
    code, out, err = run(["ask", "--json", Q_LEADERS], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert ASK_KEYS <= set(data)
    assert data["mode"] == "extractive" and data["refused"] is False and "30家以上" in data["answer"]
    assert set(data["timings_ms"]) == {"retrieve", "answer", "total"}
    assert data["citations"] and all(set(c) == CITATION_KEYS for c in data["citations"])
    assert any("30家以上" in c["quote"] for c in data["citations"])
    assert [h["rank"] for h in data["hits"]] == list(range(1, 6))
    assert all(set(h) == HIT_KEYS for h in data["hits"])


def test_ask_plain_text(on_built, capsys):
    code, out, _ = run(["ask", Q_LEADERS], capsys)
    assert code == 0
    assert "30家以上" in out and "来源：" in out and "原文摘录" in out


def test_ask_filters_via_cli(on_built, capsys):
    code, out, _ = run(["retrieve", "--json", "--k", "8", "--region", "成都市", "人工智能"], capsys)
    assert code == 0 and {h["doc_id"] for h in json.loads(out)["hits"]} <= {"cd-future-industries-2024",
                                                                            "cd-manufacturing-14th"}
    code, out, _ = run(["retrieve", "--json", "--in-force", "2026-11-20", "--k", "8", "高新技术产业"], capsys)
    assert code == 0 and {h["doc_id"] for h in json.loads(out)["hits"]} <= {"sc-emerging-future-2025",
                                                                            "cd-future-industries-2024"}
    code, out, _ = run(["retrieve", "--json", "--doc", "sc-sei-13th", "--k", "3", "新材料"], capsys)
    assert code == 0 and {h["doc_id"] for h in json.loads(out)["hits"]} == {"sc-sei-13th"}



def test_unknown_region_or_document_filter_names_what_the_index_holds(on_built, capsys):
    code, _, err = run(["ask", "--region", "某某省", "数据条例何时施行？"], capsys)
    assert_one_line_error(code, err)
    assert "某某省" in err and "成都市" in err  # lists the regions the index covers
    code, _, err = run(["retrieve", "--doc", "nope", "新材料"], capsys)
    assert_one_line_error(code, err)
    assert "nope" in err and "rag info" in err

# --- JSONL batches -----------------------------------------------------------------------------
BATCH = [{"id": "q1", "question": Q_LEADERS}, {"id": "q2", "question": "成都市未来产业有哪些？"}]


@pytest.mark.parametrize("command", ["retrieve", "ask"])
def test_jsonl_file(on_built, capsys, tmp_path, command):
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in BATCH) + "\n\n", encoding="utf-8")
    code, out, err = run([command, "--jsonl", str(path), "--k", "3"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2"]
    for row in rows:
        assert len(row["hits"]) == 3
        if command == "ask":
            assert ASK_KEYS | {"id"} <= set(row)
        else:
            assert set(row) == {"id", "question", "hits"}


def test_jsonl_stdin(on_built, capsys, monkeypatch):
    lines = [json.dumps(r, ensure_ascii=False) for r in BATCH]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    code, out, err = run(["ask", "--jsonl", "-"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2"] and "30家以上" in rows[0]["answer"]


def test_jsonl_bad_lines_reported_and_batch_continues(on_built, capsys, monkeypatch):
    data = "\n".join([json.dumps({"id": "ok", "question": Q_LEADERS}, ensure_ascii=False),
                      json.dumps({"id": "empty", "question": "  "}), "not json", "[1, 2]",
                      json.dumps({"id": "nonstr", "question": 42})]) + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(data))
    code, out, err = run(["retrieve", "--jsonl", "-"], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["ok", "empty", 3, 4, "nonstr"]
    assert "hits" in rows[0] and all(set(r) == {"id", "error"} for r in rows[1:])
    assert code == 1 and "Traceback" not in err


# --- info / ingest -----------------------------------------------------------------------------
def test_info_json_and_text(on_built, capsys):
    code, out, _ = run(["info", "--json"], capsys)
    assert code == 0
    info = json.loads(out)
    assert info["index"]["generation"] == read_current(on_built)["generation"]
    assert len(info["documents"]) == 5
    assert sum(d["chunks"] for d in info["documents"]) == info["index"]["chunks"]
    assert info["llm"] == "none (extractive answers)" and info["embeddings"] == "lsa"
    code, out, _ = run(["info"], capsys)
    assert code == 0 and "sc-hitech-14th-draft" in out and "征求意见稿" in out and "chunks" in out


def test_info_without_index(capsys):
    code, out, _ = run(["info"], capsys)
    assert code == 0 and "not built" in out


def test_ingest_summary_then_unchanged(mini_corpus, monkeypatch, capsys):
    monkeypatch.setenv("RAG_CORPUS_DIR", str(mini_corpus))
    code, out, err = run(["ingest"], capsys)
    assert code == 0, err
    assert out.startswith("索引已更新：2 篇文件") and "新增 2" in out and "失败 0" in out
    code, out, _ = run(["ingest", "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["added"] == [] and sorted(report["unchanged"]) == sorted(MINI_DOC_IDS)
    code, out, _ = run(["ingest"], capsys)
    assert code == 0 and out.startswith("索引无变化")


def test_ingest_paths_keep_hidden_documents_out_unless_include_hidden(mini_corpus, monkeypatch, capsys):
    from rag.index import kb
    from rag.index.store import load_index

    monkeypatch.setenv("RAG_CORPUS_DIR", str(mini_corpus))
    settings = read_settings_env()
    hidden, kept = MINI_DOC_IDS[0], MINI_DOC_IDS[1]
    (settings.data_dir).mkdir(parents=True)
    kb.kb_path(settings).write_text(json.dumps({"excluded": [hidden]}), encoding="utf-8")
    code, out, err = run(["ingest", str(mini_corpus)], capsys)
    assert code == 0, err
    assert out.startswith("索引已更新：1 篇文件")
    notice = err.strip().splitlines()
    assert len(notice) == 1 and hidden in notice[0] and "--include-hidden" in notice[0]
    assert set(load_index(settings).docs) == {kept} and kb.excluded(settings) == [hidden]
    code, out, err = run(["ingest", "--json", str(mini_corpus)], capsys)  # JSON on stdout, notice on stderr
    assert code == 0 and json.loads(out)["excluded"] == [hidden] and hidden in err
    code, out, err = run(["ingest", "--include-hidden", str(mini_corpus)], capsys)
    assert code == 0, err
    assert "新增 1" in out and hidden in err and "恢复" in err
    assert set(load_index(settings).docs) == {hidden, kept} and kb.excluded(settings) == []  # consistent again
    code, out, err = run(["ingest", str(mini_corpus)], capsys)
    assert code == 0 and out.startswith("索引无变化") and err == ""


def test_ingest_include_hidden_with_damaged_kb_json_changes_nothing(mini_corpus, monkeypatch, capsys):
    monkeypatch.setenv("RAG_CORPUS_DIR", str(mini_corpus))
    settings = read_settings_env()
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "kb.json").write_text("{oops", encoding="utf-8")
    for argv in (["ingest", "--include-hidden", str(mini_corpus)], ["ingest", str(mini_corpus)]):
        code, _, err = run(argv, capsys)
        assert_one_line_error(code, err)
        assert "kb.json" in err
    assert read_current(settings) is None  # nothing was indexed


def test_ingest_path_adds_and_keeps_the_rest_replace_and_remove(mini_corpus, tmp_path, monkeypatch, capsys):
    from rag.index.store import load_index

    monkeypatch.setenv("RAG_CORPUS_DIR", str(mini_corpus))
    settings = read_settings_env()
    code, out, err = run(["ingest"], capsys)
    assert code == 0, err
    extra = tmp_path / "extra-measures.txt"
    extra.write_text("关于支持中小企业发展的若干措施\n\n第一条 对新认定的专精特新企业给予一次性奖励。\n", encoding="utf-8")
    code, out, err = run(["ingest", str(extra)], capsys)  # adding one document removes none
    assert code == 0, err
    assert "新增 1" in out and "删除 0" in out
    assert set(load_index(settings).docs) == {*MINI_DOC_IDS, "extra-measures"}
    code, out, err = run(["ingest"], capsys)  # a bare re-index keeps the added file too
    assert code == 0 and out.startswith("索引无变化") and "extra-measures" in load_index(settings).docs
    code, out, err = run(["remove", "no-such-doc"], capsys)
    assert_one_line_error(code, err)
    assert "no-such-doc" in err and "extra-measures" in load_index(settings).docs  # nothing changed
    code, out, err = run(["remove", "extra-measures"], capsys)
    assert code == 0, err
    assert set(load_index(settings).docs) == set(MINI_DOC_IDS)
    code, out, err = run(["ingest", str(extra)], capsys)  # removed = hidden: not re-added unasked
    assert code == 0 and "extra-measures" in err and "--include-hidden" in err
    assert set(load_index(settings).docs) == set(MINI_DOC_IDS)
    code, out, err = run(["ingest", "--replace", "--include-hidden", str(extra)], capsys)  # the paths are the index
    assert code == 0, err
    assert "删除 2" in out and set(load_index(settings).docs) == {"extra-measures"}


def read_settings_env():
    from rag.settings import Settings

    return Settings.from_env()


def test_ingest_non_utf8_file_named_on_stderr(tmp_path, capsys):
    good = tmp_path / "good.txt"
    good.write_text("一、支持措施\n对新认定的专精特新企业给予一次性奖励。\n", encoding="utf-8")
    bad = tmp_path / "bad-binary.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)  # binary: no text encoding decodes it
    code, out, err = run(["ingest", str(good), str(bad)], capsys)
    assert code != 0 and "Traceback" not in err
    err_lines = err.strip().splitlines()
    assert len(err_lines) == 1 and err_lines[0].startswith("error: ") and str(bad) in err_lines[0]
    assert "新增 1" in out and "失败 1" in out
    code, out, _ = run(["retrieve", "--json", "专精特新企业奖励"], capsys)
    assert code == 0 and json.loads(out)["hits"][0]["doc_id"] == "good"


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_first_use_builds_the_index_visibly_and_outside_the_timing(mini_corpus, monkeypatch, capsys, command):
    """No index yet: "正在建立索引…" and progress bars on stderr, then the answer; the build (made slow
    here on purpose) is not part of the reported retrieve time."""
    import time

    from rag.index import build as rag_ingest

    real_ingest = rag_ingest.ingest
    builds = []

    def slow_ingest(*args, **kwargs):
        builds.append(kwargs.get("progress"))
        time.sleep(2.0)
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(rag_ingest, "ingest", slow_ingest)
    monkeypatch.setenv("RAG_CORPUS_DIR", str(mini_corpus))
    assert read_current_env() is None
    started = time.perf_counter()
    code, out, err = run([command, "--json", Q_LEADERS], capsys)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert code == 0, err
    assert len(builds) == 1 and read_current_env() is not None
    assert err.index("正在建立索引") < err.index("索引已建立")
    assert "%|" in err and "项" in err  # tqdm bars of the build stages, on stderr even when it is not a tty
    data = json.loads(out)
    if command == "ask":
        assert "30家以上" in data["answer"]
        assert data["timings_ms"]["retrieve"] < 2000 < elapsed_ms
    else:
        assert any("30家以上" in h["text"] for h in data["hits"])
    code, _, err = run([command, "--json", Q_LEADERS], capsys)  # built: silent
    assert code == 0 and "正在建立索引" not in err and len(builds) == 1


_CJK_OUTPUTS = [
    ["ask", "--json", Q_LEADERS], ["retrieve", "--json", Q_LEADERS],
    ["match", "--json", "--text", "我们是成都一家做钠离子电池的专精特新企业，想扩产"],
]


@pytest.mark.parametrize("argv", _CJK_OUTPUTS, ids=lambda a: " ".join(a[:2]))
def test_json_output_is_utf8_text_not_escapes(on_built, capsys, argv):
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "\\u" not in out and ("四川" in out or "成都" in out)
    json.loads(out)


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_jsonl_output_is_utf8_text_not_escapes(on_built, capsys, monkeypatch, command):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"id": "一", "question": Q_LEADERS}) + "\n"))
    code, out, err = run([command, "--jsonl", "-"], capsys)
    assert code == 0, err
    assert "\\u" not in out and '"id": "一"' in out and "30家以上" in out


def read_current_env():
    from rag.settings import Settings

    return read_current(Settings.from_env())


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["ask", ""], ["ask", "   "], ["ask", "--json", ""], ["retrieve", "\t"], ["ask"], ["retrieve", "--json"],
])
def test_empty_or_blank_question(on_built, capsys, argv):
    code, out, err = run(argv, capsys)
    assert_one_line_error(code, err)
    assert "问题为空" in err and out == ""


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_question_over_the_limit(on_built, capsys, monkeypatch, command):
    monkeypatch.setenv("RAG_MAX_QUESTION_CHARS", "20")
    code, _, err = run([command, "--json", "问" * 21], capsys)
    assert_one_line_error(code, err)
    assert "问题过长" in err and "20" in err
    code, out, _ = run([command, "--json", "问" * 20], capsys)  # exactly at the limit is accepted
    assert code == 0 and json.loads(out)


def test_malformed_setting_is_an_error_line(capsys, monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "five")
    code, _, err = run(["info"], capsys)
    assert_one_line_error(code, err)
    assert "RAG_TOP_K" in err


def test_missing_ingest_path(capsys, tmp_path):
    code, _, err = run(["ingest", str(tmp_path / "nope.txt")], capsys)
    assert_one_line_error(code, err)
    assert "nope.txt" in err


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_k_zero(on_built, capsys, command):
    code, _, err = run([command, "--k", "0", Q_LEADERS], capsys)
    assert_one_line_error(code, err)


def test_k_zero_is_rejected_without_traceback(on_built, capsys):
    code, out, err = run(["retrieve", "--k", "0", Q_LEADERS], capsys)
    assert code == 2 and out == "" and "Traceback" not in err and "--k must be at least 1" in err


def test_jsonl_missing_file(on_built, capsys, tmp_path):
    code, _, err = run(["ask", "--jsonl", str(tmp_path / "missing.jsonl")], capsys)
    assert_one_line_error(code, err)


def test_jsonl_non_utf8_file(on_built, capsys, tmp_path):
    path = tmp_path / "gbk.jsonl"
    path.write_bytes(json.dumps({"id": "a", "question": "成都未来产业"}, ensure_ascii=False).encode("gbk"))
    code, _, err = run(["ask", "--jsonl", str(path)], capsys)
    assert code != 0 and "Traceback" not in err and "error" in err


def test_invalid_in_force_date(on_built, capsys):
    code, _, err = run(["retrieve", "--in-force", "2026-13-45", Q_LEADERS], capsys)
    assert_one_line_error(code, err)


def test_malformed_llm_timeout_is_an_error_line(capsys, monkeypatch):
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "soon")
    code, _, err = run(["info"], capsys)
    assert_one_line_error(code, err)


# --- a real subprocess ---------------------------------------------------------------------------
def test_subprocess_ask_json_smoke(on_built):
    exe = shutil.which("rag")
    argv = [exe] if exe else [sys.executable, "-m", "rag.cli"]
    proc = subprocess.run([*argv, "ask", "--json", Q_LEADERS], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ), encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert ASK_KEYS <= set(data) and data["mode"] == "extractive" and "30家以上" in data["answer"]


def test_subprocess_json_is_utf8_whatever_the_locale(on_built):
    """A pipe under an ASCII locale still gets UTF-8 JSON with the Chinese text as it is."""
    exe = shutil.which("rag")
    argv = [exe] if exe else [sys.executable, "-m", "rag.cli"]
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"}
    proc = subprocess.run([*argv, "retrieve", "--json", "--k", "2", Q_LEADERS], capture_output=True, timeout=120,
                          env=env)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    text = proc.stdout.decode("utf-8")
    assert "\\u" not in text and json.loads(text)["question"] == Q_LEADERS


def test_subprocess_error_exit_code(on_built):
    exe = shutil.which("rag")
    argv = [exe] if exe else [sys.executable, "-m", "rag.cli"]
    proc = subprocess.run([*argv, "ask", "   "], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ), encoding="utf-8")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


# --- rag eval: where it writes, what the plots look like -----------------------------------------
EVAL_ROW = {"id": "e1", "question": Q_LEADERS, "answer": "到2027年培育30家以上具有全国影响力的行业领军企业。",
            "key_facts": ["30家以上"], "type": "numeric", "persona": "official",
            "evidence": [{"doc": "000_c99ce687a1f28435.txt", "anchor": "培育30家以上具有全国影响力的行业领军企业"}]}


def test_eval_writes_under_the_data_directory_by_default(built_index, monkeypatch, capsys, tmp_path):
    from rag.settings import PROJECT_ROOT

    data_dir = tmp_path / "data"
    shutil.copytree(built_index.data_dir, data_dir)  # the shared index stays untouched
    monkeypatch.setenv("RAG_DATA_DIR", str(data_dir))
    dataset = tmp_path / "one.jsonl"
    dataset.write_text(json.dumps(EVAL_ROW, ensure_ascii=False) + "\n", encoding="utf-8")
    runs_in_tree = sorted((PROJECT_ROOT / "eval" / "runs").glob("*"))
    code, out, err = run(["eval", "--dataset", str(dataset), "--config", "bm25-only"], capsys)
    assert code == 0, err
    runs = list((data_dir / "eval" / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "report.md").is_file() and (runs[0] / "records.jsonl").is_file()
    assert f"reports written to {runs[0]}" in err  # it says where
    assert sorted((PROJECT_ROOT / "eval" / "runs").glob("*")) == runs_in_tree  # nothing in the source tree
    out_dir = tmp_path / "chosen"
    code, _, err = run(["eval", "--dataset", str(dataset), "--config", "bm25-only", "--out", str(out_dir)], capsys)
    assert code == 0 and (out_dir / "summary.json").is_file() and f"reports written to {out_dir}" in err


def test_eval_plots_are_readable():
    """Latency on a log axis (one 30-second outlier does not squash 99 fast questions); legends beside
    the axes, not over the bars."""
    from rag.eval.report import latency_figure, recall_figure
    from rag.eval.runner import KS, TYPES

    records = [{"timings_ms": {"retrieve": 5.0 + i % 7, "answer": 2.0 + i % 3, "total": 8.0 + i % 9}}
               for i in range(99)] + [{"timings_ms": {"retrieve": 30_000.0, "answer": 0.0, "total": 30_002.0}}]
    summary = {"config": "hybrid",
               "by_type": {t: {"n": 10, **{f"recall@{k}": 1.0 for k in KS}} for t in TYPES}}
    for fig in (latency_figure(records), recall_figure(summary)):
        fig.canvas.draw()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent()
        assert legend.x0 >= ax.get_window_extent().x1  # beside the plot area
    lat = latency_figure(records)
    ax = lat.axes[0]
    assert ax.get_xscale() == "log"
    filled = [p for p in ax.patches if p.get_height() > 0]
    assert len(filled) >= 8  # the fast questions spread over several bins, not one bar of 99 at 0 ms
    assert "p95" in ax.get_legend().get_texts()[0].get_text()
