"""The external dev set (eval/datasets/external_dev.jsonl) against its committed corpus eval/corpora/lawref-dev/:
every anchor and key fact checks out, every type is present, and the held-out split is a third."""

from collections import Counter
from pathlib import Path

from rag.dataset import QUESTION_TYPES, load_questions, validate_dataset

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "eval" / "datasets" / "external_dev.jsonl"
CORPUS = ROOT / "eval" / "corpora" / "lawref-dev"


def test_external_dev_is_valid_against_its_corpus():
    assert validate_dataset(str(DATASET), corpus_dir=str(CORPUS)) == []


def test_external_dev_covers_every_type_and_splits():
    questions = load_questions(str(DATASET))
    types = Counter(q["type"] for q in questions)
    assert len(questions) >= 80 and set(types) == set(QUESTION_TYPES)
    assert types["unanswerable"] >= 12
    splits = Counter(q["split"] for q in questions)
    assert set(splits) == {"dev", "holdout"} and splits["holdout"] == len(questions) // 3
    docs = {e["doc"] for q in questions for e in q["evidence"]}
    assert all((CORPUS / d).is_file() for d in docs)


def test_corpus_without_manifest_reports_a_missing_document(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text(DATASET.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    problems = validate_dataset(str(bad), corpus_dir=str(tmp_path))
    assert problems and "not found" in problems[0]
    assert "cannot read the corpus manifest" not in problems[0]


def test_corpus_selection_is_reproducible_from_the_file_names():
    import importlib.util

    spec = importlib.util.spec_from_file_location("select_lawref", ROOT / "eval" / "corpora" / "select_lawref.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    names = sorted(p.name for p in CORPUS.glob("*.md") if p.name != "README.md")
    assert sorted(Path(p).name for p in mod.select(names)) == names
    versions = Counter(mod.title_of(n) for n in names if "(" in n)
    assert sum(1 for c in versions.values() if c >= 2) >= 3
