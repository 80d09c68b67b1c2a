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


def test_mentions_outside_counts_like_the_pairwise_scan():
    """rag.understand.query._mentions_outside (one Aho–Corasick pass) equals the labels × chunks scan it replaces,
    overlapping and nested labels included."""
    import random

    from rag.understand.query import _mentions_outside

    rng = random.Random(3)
    alphabet = "发展目标任务保障措施产业"
    labels = ["发展目标", "目标任务", "发展目标任务", "保障措施", "产业发展", "不出现的标题"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(200)]
    texts += ["发展目标任务", "保障措施保障措施"]
    per_chunk = [frozenset(rng.sample(labels, rng.randint(0, 2))) for _ in texts]
    expected = {lab: sum(1 for t, own in zip(texts, per_chunk) if lab in t and lab not in own) for lab in labels}
    assert _mentions_outside(labels, texts, per_chunk) == expected
    assert expected["发展目标任务"] >= 1 and expected["不出现的标题"] == 0
    assert _mentions_outside([], texts, per_chunk) == {}


def test_document_outlines_are_built_per_document_on_first_use():
    """rag.retrieve.lists.DocumentOutlines: the same (doc_id, section) → outline mapping as building every document's
    outlines up front, but a lookup builds only the document it names."""
    from rag.ingest.chunking import build_outlines, outline_section
    from rag.retrieve.lists import UNSPLIT, DocumentOutlines

    text = ("一、发展目标\n到2027年，产业规模明显提升。\n二、重点任务\n（一）壮大产业\n培育龙头企业。\n"
            "（二）强化创新\n建设创新平台。\n三、保障措施\n加强组织领导。\n")
    texts = {"a": text, "b": text.replace("产业", "行业")}
    eager = {}
    for doc_id, t in texts.items():
        for chunk in build_outlines(doc_id, t, max_tokens=UNSPLIT):
            eager.setdefault((doc_id, outline_section(chunk)), chunk)
    lazy = DocumentOutlines(texts)
    key = next(k for k in eager if k[0] == "a")
    assert key in lazy and lazy[key] == eager[key]
    assert set(lazy._built) == {"a"}  # document b not built by a lookup in a
    assert ("missing", "x") not in lazy and "a" not in lazy
    assert dict(lazy) == eager and len(lazy) == len(eager)


def test_filter_mask_is_asked_per_document_and_equals_the_per_chunk_test(shared_qa):
    """HybridRetriever._mask: filters evaluated once per document and spread to chunk rows equal the
    filters evaluated on every chunk's document."""
    from datetime import date

    import numpy as np

    from rag.retrieve.hybrid import Filters

    retriever = shared_qa.retriever
    index = retriever.index
    some_doc = index.chunks[0].doc_id
    region = index.docs[some_doc].region
    for filters in (Filters(), Filters(doc_ids=(some_doc,)), Filters(region=region),
                    Filters(in_force_on=date(2024, 6, 1)), Filters(doc_ids=("no-such-doc",))):
        expected = np.array([filters.allows(index.docs[c.doc_id]) for c in index.chunks], dtype=bool)
        mask = retriever._mask(filters)
        assert mask.dtype == bool and np.array_equal(mask, expected)
    assert retriever._mask(Filters(doc_ids=(some_doc,))).sum() == sum(c.doc_id == some_doc for c in index.chunks)
