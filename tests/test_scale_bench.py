"""bench/scale.py: deterministic nested samples, generic questions from titles, the table, the missing-corpus error."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _scale():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_samples_are_deterministic_nested_and_reach_the_target(tmp_path):
    scale = _scale()
    for i in range(20):
        folder = tmp_path / ("a" if i % 2 else "b")
        folder.mkdir(exist_ok=True)
        (folder / f"doc{i}.md").write_text("字" * (100 + i), encoding="utf-8")
    (tmp_path / ".hidden.md").write_text("x", encoding="utf-8")
    (tmp_path / "notes.bin").write_bytes(b"\0")
    files = scale.corpus_files(tmp_path)
    assert len(files) == 20 and all(n == 100 + int(p.stem[3:]) for p, n in files)

    small, rest_small = scale.sample(files, 250, seed=0)
    again, _ = scale.sample(files, 250, seed=0)
    large, rest_large = scale.sample(files, 1000, seed=0)
    sizes = dict(files)
    assert small == again
    assert sum(sizes[p] for p in small) >= 250 and sum(sizes[p] for p in small[:-1]) < 250
    assert large[:len(small)] == small  # a larger sample contains the smaller one
    assert rest_small[0] == large[len(small)]  # the add-one-file probe is the next file, not in the sample
    assert not set(small) & set(rest_small) and len(small) + len(rest_small) == 20
    everything, rest = scale.sample(files, 10**9, seed=0)
    assert len(everything) == 20 and rest == []


def test_questions_and_table():
    scale = _scale()
    qs = scale.questions_from_titles(["乙条例", "甲办法", "", "乙条例"], 7, seed=0)
    assert len(qs) == 7 and qs == scale.questions_from_titles(["甲办法", "乙条例"], 7, seed=0)
    assert {q[q.index("《") + 1:q.index("》")] for q in qs} == {"甲办法", "乙条例"}
    assert qs[0].endswith("施行日期是什么？") and qs[1].endswith("第三条规定了什么？")
    assert scale.questions_from_titles([], 5) == []

    table = scale.format_table([{"size": "1x", "docs": 3, "ingest_s": 5.987, "rss_mb": 420.4, "ratio": None}])
    header, line = table.splitlines()
    assert header.split()[:5] == ["size", "docs", "chars", "chunks", "ingest_s"]
    cells = dict(zip(header.split(), line.split()))
    assert cells["ingest_s"] == "5.99" and cells["rss_mb"] == "420" and cells["chars"] == "-" and cells["ratio"] == "-"


def test_missing_corpus_is_a_one_line_error(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py"), "--corpus", str(tmp_path / "none")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.startswith("error:") and "--corpus" in run.stderr and len(run.stderr.strip().splitlines()) == 1
