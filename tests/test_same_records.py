"""eval/same_records.py compare on hand-made run directories (no eval is run)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("same_records",
                                               Path(__file__).resolve().parent.parent / "eval" / "same_records.py")
same_records = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(same_records)


def _record(qid: str, chunk: str = "c1", ms: float = 1.0) -> dict:
    return {"id": qid, "type": "numeric", "anchor_ranks": [1], "recall@5": 1.0, "answer": f"{qid} 的答案[1]",
            "hits": [{"rank": 1, "chunk_id": chunk, "score": 0.016}, {"rank": 2, "chunk_id": "c9", "score": 0.01}],
            "timings_ms": {"retrieve": ms, "answer": ms / 10, "total": ms * 1.1}}


def _write(run_dir: Path, set_name: str, records: list[dict], summary: dict | None = None) -> Path:
    d = run_dir / set_name
    d.mkdir(parents=True)
    (d / "records.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                     encoding="utf-8")
    if summary is not None:
        (d / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return run_dir


def _main(capsys, *argv) -> tuple[int, str, str]:
    code = same_records.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_identical_runs_ignore_timings_and_data_dir(tmp_path, capsys):
    a = _write(tmp_path / "a", "bundled-dev", [_record("q1", ms=3.0), _record("q2", ms=5.0)],
               {"overall": {"recall@5": 1.0}, "latency_ms": {"total": {"p50": 3}}, "data_dir": "/tmp/x"})
    _write(a, "external-dev", [_record("e1")])
    b = _write(tmp_path / "b", "bundled-dev", [_record("q2", ms=9.0), _record("q1", ms=7.0)],  # order is free
               {"overall": {"recall@5": 1.0}, "latency_ms": {"total": {"p50": 8}}, "data_dir": "/tmp/y"})
    _write(b, "external-dev", [_record("e1", ms=2.0)])
    code, out, err = _main(capsys, "compare", a, b)
    assert code == 0, err
    assert out.splitlines() == ["bundled-dev: identical 2 records", "external-dev: identical 1 records"]


def test_a_changed_hit_is_reported_with_its_id_field_and_values(tmp_path, capsys):
    a = _write(tmp_path / "a", "x3-dev", [_record("q1"), _record("q2"), _record("q3")])
    b = _write(tmp_path / "b", "x3-dev", [_record("q1"), _record("q2", chunk="c7"), _record("q3")])
    code, out, _ = _main(capsys, "compare", a, b)
    assert code == 1
    assert "x3-dev: 1 of 3 records differ" in out and "q2: hits" in out
    assert "hits[0].chunk_id" in out and '"c1"' in out and '"c7"' in out


def test_float_and_summary_differences_count(tmp_path, capsys):
    changed = _record("q1")
    changed["hits"][1]["score"] = 0.010000000000000002  # floats must be equal exactly
    a = _write(tmp_path / "a", "qa2-dev", [_record("q1")], {"answers": {"refusal_precision": 0.5}})
    b = _write(tmp_path / "b", "qa2-dev", [changed], {"answers": {"refusal_precision": 0.6}})
    code, out, _ = _main(capsys, "compare", a, b)
    assert code == 1 and "q1: hits" in out and "hits[1].score" in out
    assert "summary differs in answers" in out


def test_missing_ids_and_sets_present_in_one_run_only(tmp_path, capsys):
    a = _write(tmp_path / "a", "bundled-dev", [_record("q1"), _record("q2")])
    _write(a, "x3-dev", [_record("x1")])
    b = _write(tmp_path / "b", "bundled-dev", [_record("q1")])
    code, out, _ = _main(capsys, "compare", a, b)
    assert code == 1
    assert "ids only in A: 1 ['q2']" in out and "x3-dev: only in A" in out


@pytest.mark.parametrize("problem", ["no dir", "empty dir", "bad json", "no id", "repeated id", "no common set"])
def test_bad_input_is_one_error_line_and_status_2(tmp_path, capsys, problem):
    good = _write(tmp_path / "good", "bundled-dev", [_record("q1")])
    bad = tmp_path / "bad"
    if problem == "empty dir":
        bad.mkdir()
    elif problem == "bad json":
        _write(bad, "bundled-dev", [])
        (bad / "bundled-dev" / "records.jsonl").write_text('{"id": "q1"\n', encoding="utf-8")
    elif problem == "no id":
        _write(bad, "bundled-dev", [{"question": "？"}])
    elif problem == "repeated id":
        _write(bad, "bundled-dev", [_record("q1"), _record("q1")])
    elif problem == "no common set":
        _write(bad, "x3-dev", [_record("x1")])
    code, out, err = _main(capsys, "compare", good, bad)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_set_names_and_groups():
    assert same_records.parse_sets("dev") == ["bundled-dev", "external-dev", "qa2-dev", "x3-dev", "x4-dev", "x5-dev", "x6-dev",
                                              "x7-dev", "x8-dev"]
    assert same_records.parse_sets("holdout")[-5:] == ["x4-holdout", "x5-holdout", "x6-holdout", "x7-holdout",
                                                       "x8-holdout"]
    assert same_records.parse_sets("x3-dev, bundled-dev,x3-dev") == ["x3-dev", "bundled-dev"]
    with pytest.raises(same_records.BadInput, match="unknown set 'nope'"):
        same_records.parse_sets("nope")


def test_run_refuses_a_non_empty_out_dir_and_an_unknown_set(tmp_path, capsys):
    (tmp_path / "old.txt").write_text("x", encoding="utf-8")
    code, _, err = _main(capsys, "run", "--out", tmp_path, "--sets", "bundled-dev")
    assert code == 2 and "is not empty" in err
    code, _, err = _main(capsys, "run", "--out", tmp_path / "new", "--sets", "nope")
    assert code == 2 and err.startswith("error: unknown set")
