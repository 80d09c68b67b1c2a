"""The unseen external set (eval/datasets/external_gd.jsonl) against its committed corpus eval/corpora/lawref-gd/:
every anchor and key fact checks out, every type is present, every question is held out, and the corpus shares no
document with the external dev corpus eval/corpora/lawref-dev/."""

import importlib.util
from collections import Counter
from pathlib import Path

from rag.eval.dataset import QUESTION_TYPES, load_questions, normalize, validate_dataset

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "eval" / "datasets" / "external_gd.jsonl"
CORPUS = ROOT / "eval" / "corpora" / "lawref-gd"
DEV_CORPUS = ROOT / "eval" / "corpora" / "lawref-dev"


def _module(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "eval" / "corpora" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_external_gd_is_valid_against_its_corpus():
    assert validate_dataset(str(DATASET), corpus_dir=str(CORPUS)) == []


def test_external_gd_covers_every_type_and_is_all_holdout():
    questions = load_questions(str(DATASET))
    types = Counter(q["type"] for q in questions)
    assert len(questions) >= 40 and set(types) == set(QUESTION_TYPES)
    assert types["unanswerable"] >= 7 and types["cross_doc"] >= 5
    assert {q["split"] for q in questions} == {"holdout"}
    assert all(q["id"].startswith("gd-") for q in questions)
    docs = {e["doc"] for q in questions for e in q["evidence"]}
    assert all((CORPUS / d).is_file() for d in docs)


def test_every_key_fact_stands_in_the_line_of_one_of_its_anchors():
    for q in load_questions(str(DATASET)):
        lines = []
        for e in q["evidence"]:
            text = (CORPUS / e["doc"]).read_text(encoding="utf-8")
            lines += [normalize(line) for line in text.splitlines() if e["anchor"] in line]
        for kf in q["key_facts"]:
            assert any(normalize(kf) in line for line in lines), (q["id"], kf)


def test_every_anchor_stands_in_its_own_document_only():
    """An anchor found in another document would let a passage of the wrong regulation count as retrieved."""
    texts = {p.name: normalize(p.read_text(encoding="utf-8")) for p in CORPUS.glob("*.md") if p.name != "README.md"}
    for q in load_questions(str(DATASET)):
        for e in q["evidence"]:
            anchor = normalize(e["anchor"])
            assert [d for d, t in texts.items() if anchor in t] == [e["doc"]], (q["id"], e["anchor"])


def test_corpus_is_disjoint_from_the_dev_corpus_and_reproducible_from_the_file_names():
    names = sorted(p.name for p in CORPUS.glob("*.md") if p.name != "README.md")
    dev_names = {p.name for p in DEV_CORPUS.glob("*.md")}
    assert len(names) == 78 and not set(names) & dev_names
    gd = _module("select_lawref_gd")
    assert sorted(Path(p).name for p in gd.select(names)) == names
    # the Guangdong files of lawref-dev are exactly the ones the selection leaves out
    dev_gd = sorted(n for n in dev_names if n.startswith(("广东省", "深圳", "汕头", "云浮")))
    assert len(dev_gd) == 7 and gd.select(dev_gd) == []
    assert sorted(Path(p).name for p in gd.select(names + dev_gd)) == names


def _bigrams(text: str) -> set[str]:
    s = normalize(text)
    return {s[i : i + 2] for i in range(len(s) - 1)}


def test_external_gd_is_no_near_duplicate_of_another_question():
    """Character-bigram Jaccard <= 0.5 (NFKC, no whitespace) between every external_gd question and every question of
    the other eval/datasets/*.jsonl files, and between two external_gd questions."""
    import json

    others = []
    for path in sorted(DATASET.parent.glob("*.jsonl")):
        if path != DATASET:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip() and isinstance(q := json.loads(line).get("question"), str):
                    others.append(_bigrams(q))
    mine = [(q["id"], _bigrams(q["question"])) for q in load_questions(str(DATASET))]
    assert len(others) >= 800  # dev, policy_qa, external_dev (and any newer set)
    for i, (qid, b) in enumerate(mine):
        pool = others + [o for j, (_, o) in enumerate(mine) if j != i]
        worst = max(len(b & o) / len(b | o) for o in pool)
        assert worst <= 0.5, (qid, round(worst, 3))
