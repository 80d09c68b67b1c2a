"""The evaluation harness: the benchmark validator on the bundled datasets, the metrics and their
aggregation on a hand-made three-question case (numbers computed by hand), ``rag eval`` end to end on
a tiny dataset, bad input, and the optional LLM judge (faithfulness, answer relevancy) with scripted
LangChain fake chat models and a local OpenAI-compatible stub server."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from rag.eval.dataset import cross_file_problems, validate_dataset
from rag.eval import metrics as M
from rag.eval.judge import Judge, JudgeParseError, parse_claims, parse_json_reply, parse_verdicts
from rag.eval.runner import summarize

from core_support import assert_one_line_error, run
from fakes import MockModel
from rag.settings import PROJECT_ROOT, Settings

from core_support import Q_LEADERS

DATASETS = PROJECT_ROOT / "eval" / "datasets"
Q_DRAFT_ISSUER = "四川十四五高新技术产业发展规划是哪个部门编制的？"
Q_UNANSWERABLE = "广东省对无人机企业的落户补贴标准是每家多少万元？"
# A tiny benchmark written for these tests (anchors checked against corpus/ by the validator below).
TINY = [
    {"id": "t-num", "question": Q_LEADERS, "answer": "到2027年培育30家以上具有全国影响力的行业领军企业。",
     "key_facts": ["30家以上"], "evidence": [{"doc": "000_c99ce687a1f28435.txt",
                                             "anchor": "培育30家以上具有全国影响力的行业领军企业"}],
     "type": "numeric", "persona": "official"},
    {"id": "t-fact", "question": Q_DRAFT_ISSUER, "answer": "四川省科学技术厅。", "key_facts": ["四川省科学技术厅"],
     "evidence": [{"doc": "001_89dd4949d2fb5def.txt", "anchor": "四川省科学技术厅"}],
     "type": "factual", "persona": "official", "tags": ["title"]},
    {"id": "t-none", "question": Q_UNANSWERABLE, "answer": "文件没有给出广东省的补贴标准。", "key_facts": [],
     "evidence": [], "type": "unanswerable", "persona": "enterprise"},
]



def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_jsonl(tmp_path / "tiny.jsonl", TINY)


@pytest.fixture
def on_built(built_index, monkeypatch):
    monkeypatch.setenv("RAG_DATA_DIR", str(built_index.data_dir))
    return built_index


# --- (a) the validator, against the repository's corpus/ (no seeds directory needed) -----------------
@pytest.mark.parametrize("name", ["dev.jsonl", "policy_qa.jsonl"])
def test_bundled_datasets_validate_against_corpus(name):
    problems = validate_dataset(str(DATASETS / name))
    assert problems == [], f"{len(problems)} problem(s), first: {problems[:3]}"


def test_dev_and_heldout_sets_are_disjoint():
    assert cross_file_problems([str(DATASETS / "dev.jsonl"), str(DATASETS / "policy_qa.jsonl")]) == []


def test_validator_reports_bad_anchor_and_unreadable_manifest(tmp_path, tiny):
    assert validate_dataset(str(tiny)) == []
    bad = dict(TINY[0], evidence=[{"doc": "000_c99ce687a1f28435.txt", "anchor": "培育300家具有全国影响力的企业"}])
    problems = validate_dataset(str(write_jsonl(tmp_path / "bad.jsonl", [bad])))
    assert len(problems) == 1 and "not found verbatim" in problems[0] and problems[0].startswith(str(tmp_path))
    problems = validate_dataset(str(tiny), corpus_dir=str(tmp_path / "no-corpus"))
    assert len(problems) == 1 and "not found" in problems[0] and "no-corpus" in problems[0]
    broken = tmp_path / "broken-corpus"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    problems = validate_dataset(str(tiny), corpus_dir=str(broken))
    assert len(problems) == 1 and "manifest" in problems[0]


# --- (b) metrics on a hand-made three-question case -------------------------------------------------
# n1 (numeric): one anchor, first found in the 2nd passage. c1 (cross_doc): two anchors, one in the 1st
# passage, one nowhere. u1 (unanswerable): no anchors, refused.
PASSAGES = {
    "n1": ["甲文件无关段落", "到2027年培育30家以上 行业领军企业", "另一段"],
    "c1": ["省级：建设成渝地区双城经济圈", "市级无关段落"],
    "u1": ["无关段落"],
}
ANCHORS = {"n1": ["培育30家以上行业领军企业"], "c1": ["建设成渝地区双城经济圈", "成都市补贴100万元"], "u1": []}


def test_anchor_ranks_recall_and_reciprocal_rank():
    ranks = {q: M.anchor_ranks(PASSAGES[q], ANCHORS[q]) for q in PASSAGES}
    assert ranks == {"n1": [2], "c1": [1, None], "u1": []}  # whitespace ignored (NFKC + no spaces)
    assert [M.recall_at_k(ranks["n1"], k) for k in (1, 3, 5, 10)] == [0.0, 1.0, 1.0, 1.0]
    assert [M.recall_at_k(ranks["c1"], k) for k in (1, 3, 5, 10)] == [0.5, 0.5, 0.5, 0.5]
    assert M.recall_at_k([], 10) == 0.0
    assert M.reciprocal_rank(ranks["n1"]) == 0.5 and M.reciprocal_rank(ranks["c1"]) == 1.0
    assert M.reciprocal_rank([12], k=10) == 0.0 and M.reciprocal_rank([None]) == 0.0
    assert M.reciprocal_rank([3, 1]) == 1.0 and M.reciprocal_rank([None, 4]) == 0.25  # best-ranked anchor
    assert M.recall_at_k([3, 1, None, 11], 3) == 0.5 and M.recall_at_k([3, 1, None, 11], 10) == 0.5


def test_ndcg_at_10_by_hand():
    # n1: the only relevant chunk at rank 2 → (1/log2 3) / 1. c1: one of two relevant chunks at rank 1,
    # the other never retrieved → 1 / (1 + 1/log2 3). x: no relevant chunk → 0.
    runs = {"n1": ["a", "n1-rel", "b"], "c1": ["c1-rel", "z"], "x": ["a"]}
    relevant = {"n1": {"n1-rel"}, "c1": {"c1-rel", "c1-other"}, "x": set()}
    ndcg = M.ndcg_at_10(runs, relevant)
    assert ndcg["n1"] == pytest.approx(1 / math.log2(3))
    assert ndcg["c1"] == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg["x"] == 0.0


def test_key_facts_truthfulness_citations():
    assert M.key_fact_recall("到2027年培育３０家以上企业", ["30家以上"]) == 1.0  # full-width digits
    assert M.key_fact_recall("打造5个千亿级产业集群", ["5个千亿级", "10个五百亿级"]) == 0.5
    assert M.key_fact_recall("任何回答", []) is None
    # CRAG: perfect 1, acceptable 0.5, missing 0 (refusal), incorrect −1; unanswerable: refusal 1, answer −1
    assert M.truthfulness(True, False, 1.0) == 1.0
    assert M.truthfulness(True, False, 0.5) == 0.5
    assert M.truthfulness(True, True, None) == 0.0
    assert M.truthfulness(True, False, 0.0) == -1.0
    assert M.truthfulness(False, True, None) == 1.0
    assert M.truthfulness(False, False, None) == -1.0
    assert M.citation_precision(["培育30家以上 行业领军企业", "无关"], ANCHORS["n1"]) == 0.5
    assert M.citation_precision([], ANCHORS["n1"]) is None and M.citation_precision(["x"], []) is None
    assert M.percentile([30, 10, 20], 0.5) == 20 and M.percentile([30, 10, 20], 0.95) == 30
    assert M.percentile([], 0.5) is None and M.mean([None, 1.0, 0.0]) == 0.5 and M.mean([None]) is None


def _record(qid, qtype, answer, key_facts, refused, cited, ndcg, total_ms, tags=()):
    anchors = ANCHORS[qid]
    ranks = M.anchor_ranks(PASSAGES[qid], anchors)
    facts = M.key_fact_recall(answer, key_facts)
    return {"id": qid, "type": qtype, "tags": list(tags), "anchors": anchors,
            **{f"recall@{n}": (M.recall_at_k(ranks, n) if anchors else None) for n in (1, 3, 5, 10)},
            "rr": M.reciprocal_rank(ranks) if anchors else None, "ndcg@10": ndcg if anchors else None,
            "refused": refused, "key_fact_recall": facts,
            "truthfulness": M.truthfulness(qtype != "unanswerable", refused, facts),
            "citation_precision": M.citation_precision(cited, anchors),
            "timings_ms": {"retrieve": total_ms / 2, "answer": total_ms / 2, "total": total_ms}}


def hand_records(n1_refused=False):
    return [
        _record("n1", "numeric", "文件中未找到" if n1_refused else "培育30家以上行业领军企业。", ["30家以上"],
                n1_refused, [] if n1_refused else [PASSAGES["n1"][1], PASSAGES["n1"][0]], 0.6, 10.0),
        _record("c1", "cross_doc", "省里建设成渝地区双城经济圈。", ["双城经济圈", "100万元"], False,
                [PASSAGES["c1"][0]], 0.4, 20.0, tags=["table"]),
        _record("u1", "unanswerable", "文件中未找到", [], True, [], None, 30.0),
    ]


def test_summarize_hand_made_records():
    records = hand_records()
    assert [r["truthfulness"] for r in records] == [1.0, 0.5, 1.0]
    assert [r["key_fact_recall"] for r in records] == [1.0, 0.5, None]
    assert [r["citation_precision"] for r in records] == [0.5, 1.0, None]
    s = summarize(records, "hand", Path("hand.jsonl"), 10, Settings())
    assert s["n_questions"] == 3 and s["needs_llm"] == [] and "judge" not in s
    assert s["overall"] == {"n": 2, "recall@1": 0.25, "recall@3": 0.75, "recall@5": 0.75, "recall@10": 0.75,
                            "mrr@10": 0.75, "ndcg@10": pytest.approx(0.5)}
    assert s["answers"] == {"key_fact_recall": 0.75, "truthfulness": pytest.approx(2.5 / 3),
                            "refusal_precision": 1.0, "refusal_recall": 1.0, "answerable_refused_rate": 0.0,
                            "citation_precision": 0.75}
    numeric, cross, unans = s["by_type"]["numeric"], s["by_type"]["cross_doc"], s["by_type"]["unanswerable"]
    assert (numeric["n"], numeric["recall@1"], numeric["recall@3"], numeric["mrr@10"]) == (1, 0.0, 1.0, 0.5)
    assert (cross["n"], cross["recall@10"], cross["mrr@10"], cross["key_fact_recall"]) == (1, 0.5, 1.0, 0.5)
    assert (unans["n"], unans["n_questions"], unans["recall@1"], unans["truthfulness"]) == (0, 1, None, 1.0)
    assert s["by_type"]["list"] == {"n": 0, "recall@1": None, "recall@3": None, "recall@5": None,
                                    "recall@10": None, "mrr@10": None, "ndcg@10": None, "n_questions": 0,
                                    "key_fact_recall": None, "truthfulness": None}
    assert s["table_questions"]["n"] == 1 and s["table_questions"]["recall@1"] == 0.5
    assert s["latency_ms"]["total"] == {"p50": 20.0, "p95": 30.0}


def test_summarize_counts_a_wrong_refusal():
    s = summarize(hand_records(n1_refused=True), "hand", Path("hand.jsonl"), 10, Settings())
    a = s["answers"]
    assert a["refusal_precision"] == 0.5 and a["refusal_recall"] == 1.0 and a["answerable_refused_rate"] == 0.5
    assert a["truthfulness"] == pytest.approx((0.0 + 0.5 + 1.0) / 3) and a["key_fact_recall"] == 0.25
    assert a["citation_precision"] == 1.0  # n1 cites nothing now


# --- (c) rag eval end to end ------------------------------------------------------------------------
def test_rag_eval_writes_records_summary_report_and_plots(on_built, tiny, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(["eval", "--dataset", str(tiny), "--out", str(out)], capsys)
    assert code == 0, err
    for name in ("records.jsonl", "summary.json", "report.md", "recall_by_type.png", "latency.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "recall_by_type.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = [json.loads(line) for line in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["t-num", "t-fact", "t-none"]
    for r in records:
        assert {"anchor_ranks", "recall@10", "rr", "ndcg@10", "hits", "answer", "refused", "truthfulness",
                "citations", "timings_ms"} <= set(r) and "judge" not in r
        assert r["truthfulness"] in (1.0, 0.5, 0.0, -1.0)
    assert records[2]["anchors"] == [] and records[2]["recall@10"] is None
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["config"] == "hybrid" and summary["n_questions"] == 3 and summary["overall"]["n"] == 2
    assert summary["needs_llm"] == [] and 0.0 <= summary["overall"]["recall@10"] <= 1.0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "![recall_by_type.png](recall_by_type.png)" in report and "none (all metrics are computed offline" in report
    assert stdout.count("| config |") == 1 and "| hybrid |" in stdout


def test_rag_eval_compare_prints_one_table(on_built, tiny, tmp_path, capsys):
    out = tmp_path / "cmp"
    code, stdout, err = run(["eval", "--dataset", str(tiny), "--compare", "hybrid,bm25-only", "--out", str(out)], capsys)
    assert code == 0, err
    table = [line for line in stdout.splitlines() if line.startswith("|")]
    assert len(table) == 4 and table[0].startswith("| config | R@1 |") and stdout.count("| config |") == 1
    assert table[2].startswith("| hybrid |") and table[3].startswith("| bm25-only |")
    assert (out / "compare.md").read_text(encoding="utf-8").strip() == "\n".join(table)
    assert (out / "hybrid" / "summary.json").is_file() and (out / "bm25-only" / "report.md").is_file()


def test_rag_eval_profiles_file_runs_matching(on_built, tmp_path, capsys):
    rows = (DATASETS / "profiles.jsonl").read_text(encoding="utf-8").splitlines()[:1]  # one tuning profile
    path = tmp_path / "one-profile.jsonl"
    path.write_text(rows[0] + "\n", encoding="utf-8")
    code, stdout, err = run(["eval", "--dataset", str(path), "--out", str(tmp_path / "m")], capsys)
    assert code == 0, err
    assert json.loads(stdout)["all"]["n_profiles"] == 1 and (tmp_path / "m" / "summary.json").is_file()


# --- (d) bad input --------------------------------------------------------------------------------
def test_malformed_dataset_line_is_a_one_line_error(on_built, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(TINY[0], ensure_ascii=False) + "\n{\"id\": \"x\", \"question\": \n", encoding="utf-8")
    code, _, err = run(["eval", "--dataset", str(path), "--out", str(tmp_path / "o")], capsys)
    assert_one_line_error(code, err)
    assert f"{path}:2" in err and "malformed JSON" in err and not (tmp_path / "o").exists()
    missing = write_jsonl(tmp_path / "missing.jsonl", [{k: v for k, v in TINY[0].items() if k != "type"}])
    code, _, err = run(["eval", "--dataset", str(missing)], capsys)
    assert_one_line_error(code, err)
    assert "missing field 'type'" in err


@pytest.mark.parametrize("argv", [["--config", "no-such-config"], ["--compare", "hybrid,no-such-config"],
                                  ["--set", "no_such_setting=1"]])
def test_unknown_config_is_a_one_line_error(on_built, tiny, tmp_path, capsys, argv):
    code, out, err = run(["eval", "--dataset", str(tiny), "--out", str(tmp_path / "o"), *argv], capsys)
    assert_one_line_error(code, err)
    assert out == "" and not (tmp_path / "o").exists()  # nothing ran, not even the valid "hybrid"


def test_missing_dataset_and_judge_without_llm(on_built, tiny, tmp_path, capsys):
    code, _, err = run(["eval", "--dataset", str(tmp_path / "nope.jsonl")], capsys)
    assert_one_line_error(code, err)
    code, _, err = run(["eval", "--dataset", str(tiny), "--judge", "--out", str(tmp_path / "o")], capsys)
    assert_one_line_error(code, err)
    assert "--judge needs an LLM" in err and not (tmp_path / "o").exists()


# --- LLM judge: parsing -----------------------------------------------------------------------------
@pytest.mark.parametrize("reply, expected", [
    ('{"claims": ["甲"]}', {"claims": ["甲"]}),
    ('好的，结果如下：\n```json\n{"claims": ["甲", "乙"]}\n```\n以上。', {"claims": ["甲", "乙"]}),
    ('```\n["a"]\n```', ["a"]),
    ('<think>先想一想 {不是JSON}</think>\n{"verdicts": []}', {"verdicts": []}),
    ('结论：{"claims": ["甲"]} 完毕', {"claims": ["甲"]}),
    ('```json\n{"claims": ["未闭合的代码块"]}', {"claims": ["未闭合的代码块"]}),
])
def test_parse_json_reply_tolerates_fences_and_prose(reply, expected):
    assert parse_json_reply(reply) == expected


@pytest.mark.parametrize("reply", ["我无法完成这个任务。", "", '{"claims": [', "```json\n{oops}\n```"])
def test_parse_json_reply_rejects_non_json(reply):
    with pytest.raises(JudgeParseError):
        parse_json_reply(reply)


def test_parse_claims_and_verdicts_shapes():
    assert parse_claims('{"claims": [" 甲 ", "", {"claim": "乙"}]}') == ["甲", "乙"]
    assert parse_claims('{"claims": []}') == []
    assert parse_verdicts('{"verdicts": [{"supported": true}, {"verdict": "否"}, {"supported": 1}]}', 3) == [
        True, False, True]
    assert parse_verdicts("[false, \"yes\"]", 2) == [False, True]
    for bad, n in [('{"verdicts": [{"supported": true}]}', 2), ('{"verdicts": [{"supported": "也许"}]}', 1),
                   ('{"verdicts": [{"reason": "无"}]}', 1), ('{"answer": 1}', 1)]:
        with pytest.raises(JudgeParseError):
            parse_verdicts(bad, n)
    with pytest.raises(JudgeParseError):
        parse_claims('{"claims": "甲"}')


# --- LLM judge: scores with scripted fake chat models --------------------------------------------------
class TableEmbeddings(Embeddings):
    """Fixed 2-d vectors per text (unknown text → zero vector)."""

    def __init__(self, table):
        self.table = table

    def embed_documents(self, texts):
        return [list(self.table.get(t, (0.0, 0.0))) for t in texts]

    def embed_query(self, text):
        return list(self.table.get(text, (0.0, 0.0)))


QUESTION = "到2027年四川要培育多少家行业领军企业？"
EMB = TableEmbeddings({QUESTION: (1.0, 0.0), "问一": (1.0, 0.0), "问二": (0.0, 1.0), "问三": (1.0, 1.0)})
CLAIMS_REPLY = ('```json\n{"claims": ["四川到2027年培育30家以上行业领军企业", '
                '"四川到2027年打造5个千亿级产业集群", "成都每家补贴100万元"]}\n```')
VERDICTS_REPLY = ('{"verdicts": [{"claim": "…", "reason": "原文", "supported": true}, '
                  '{"claim": "…", "reason": "原文", "supported": "是"}, '
                  '{"claim": "…", "reason": "未提及", "supported": false}]}')
RELEVANCY_REPLY = '{"questions": ["问一", "问二", "问三"], "noncommittal": false}'


def _judge(*replies):
    return Judge(MockModel(list(replies)), EMB, label="fake")


def test_judge_faithfulness_and_relevancy_scores():
    judge = _judge(CLAIMS_REPLY, VERDICTS_REPLY, RELEVANCY_REPLY)
    result = judge.judge_answer(QUESTION, "培育30家以上行业领军企业[1]，打造5个千亿级产业集群[2]。",
                                ["段落一", "段落二"], refused=False)
    claims_prompt, verdicts_prompt, relevancy_prompt = judge.llm.prompts
    assert QUESTION in claims_prompt and "培育30家以上行业领军企业，打造5个千亿级产业集群。" in claims_prompt  # no [n]
    assert "[1] 段落一\n\n[2] 段落二" in verdicts_prompt and "3. 成都每家补贴100万元" in verdicts_prompt
    assert "3 个不同的中文问题" in relevancy_prompt and QUESTION not in relevancy_prompt
    faith, rel = result["faithfulness"], result["answer_relevancy"]
    assert faith["score"] == pytest.approx(2 / 3) and faith["error"] is None
    assert [c["supported"] for c in faith["claims"]] == [True, True, False]
    assert faith["claims"][2]["claim"] == "成都每家补贴100万元"
    # cosines with the question: 1, 0, 1/√2 → mean (1 + 0 + 0.7071) / 3
    assert rel["score"] == pytest.approx((1 + 0 + 1 / math.sqrt(2)) / 3) and rel["noncommittal"] is False
    assert rel["questions"] == ["问一", "问二", "问三"]


def test_judge_noncommittal_answer_scores_zero_and_refusal_is_skipped():
    rel = _judge('{"questions": ["问一"], "noncommittal": true}').answer_relevancy(QUESTION, "不清楚。")
    assert rel["score"] == 0.0 and rel["noncommittal"] is True
    assert _judge("unused").judge_answer(QUESTION, "文件中未找到相关内容。", [], refused=True) == {"skipped": "refused"}


def test_judge_unparseable_replies_are_unjudged_not_crashes():
    judge = _judge("抱歉，我无法完成。", "依然不是 JSON")
    faith = judge.faithfulness(QUESTION, "答案", ["段落"])
    assert faith["score"] is None and "no JSON" in faith["error"]
    rel = judge.answer_relevancy(QUESTION, "答案")
    assert rel["score"] is None and rel["error"].startswith("no JSON")
    mismatch = _judge(CLAIMS_REPLY, '{"verdicts": [{"supported": true}]}').faithfulness(QUESTION, "答案", ["段落"])
    assert mismatch["score"] is None and "1 verdicts for 3 claims" in mismatch["error"]
    assert [c["supported"] for c in mismatch["claims"]] == [None, None, None]
    empty = _judge('{"claims": []}').faithfulness(QUESTION, "答案", ["段落"])
    assert empty["score"] is None and "no claim" in empty["error"]


def test_judge_llm_failure_is_unjudged():
    down = MockModel([ConnectionError("server down"), ConnectionError("server down")])  # claims, relevancy
    result = Judge(down, EMB).judge_answer(QUESTION, "答案", ["段落"], refused=False)
    assert result["faithfulness"]["score"] is None and result["faithfulness"]["error"].startswith("ConnectionError")
    assert result["answer_relevancy"]["score"] is None and result["answer_relevancy"]["error"].startswith("ConnectionError")
    assert down.remaining == 0  # both judge requests were made


# --- LLM judge through rag eval --judge and a local OpenAI-compatible stub -----------------------------
class JudgeServer:
    """A minimal non-streaming /v1/chat/completions server answering the three judge prompts; the
    claim-splitting reply for ``Q_DRAFT_ISSUER`` is deliberately not JSON."""

    def __init__(self):
        self.requests: list[dict] = []
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                state.requests.append(body)
                prompt = json.dumps(body.get("messages"), ensure_ascii=False)
                if "原子化的陈述" in prompt:
                    content = "无法拆分。" if Q_DRAFT_ISSUER in prompt else '{"claims": ["陈述一", "陈述二"]}'
                elif "逐条判断" in prompt:
                    content = '```json\n{"verdicts": [{"supported": true}, {"supported": false}]}\n```'
                else:
                    content = json.dumps({"questions": [Q_LEADERS, "问二", "问三"], "noncommittal": False},
                                         ensure_ascii=False)
                data = json.dumps({"id": "j", "object": "chat.completion", "created": 0, "model": body.get("model"),
                                   "choices": [{"index": 0, "finish_reason": "stop",
                                                "message": {"role": "assistant", "content": content}}],
                                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}},
                                  ensure_ascii=False).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def judge_server():
    srv = JudgeServer()
    yield srv
    srv.close()


def test_rag_eval_judge_through_openai_compatible_server(on_built, judge_server, tiny, tmp_path, monkeypatch, capsys):
    for name, value in {"OPENAI_BASE_URL": judge_server.base_url, "OPENAI_API_KEY": "test", "RAG_LLM": "on",
                        "RAG_LLM_TIMEOUT": "5", "RAG_LLM_MAX_RETRIES": "0"}.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "judged"
    # extractive answers (--set llm_enabled=false), judged by the server's "judge-model"
    code, stdout, err = run(["eval", "--dataset", str(tiny), "--out", str(out), "--judge", "--judge-model",
                             "judge-model", "--set", "llm_enabled=false"], capsys)
    assert code == 0, err
    assert judge_server.requests and all(r["model"] == "judge-model" and not r.get("stream")
                                         for r in judge_server.requests)
    records = {r["id"]: r for r in map(json.loads, (out / "records.jsonl").read_text(encoding="utf-8").splitlines())}
    assert all(r["mode"] == "extractive" for r in records.values())
    for r in records.values():
        if r["refused"]:
            assert r["judge"] == {"skipped": "refused"} and r["faithfulness"] is None
        elif r["id"] == "t-fact":
            assert r["faithfulness"] is None and "no JSON" in r["judge"]["faithfulness"]["error"]
            assert r["answer_relevancy"] is not None
        else:
            assert r["faithfulness"] == 0.5 and r["judge"]["answer_relevancy"]["questions"][0] == Q_LEADERS
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["needs_llm"] == ["faithfulness", "answer_relevancy"] and summary["judge"]["model"] == "judge-model"
    judged = [r for r in records.values() if not r["refused"]]
    assert summary["judge"]["n_judged"]["answer_relevancy"] == len(judged)
    unjudged_ids = [u["id"] for u in summary["judge"]["unjudged"]["faithfulness"]]
    assert unjudged_ids == (["t-fact"] if not records["t-fact"]["refused"] else [])
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Metrics that needed an LLM: faithfulness, answer relevancy (judge: `judge-model`" in report
    assert "## LLM-judged" in report
    assert "| faithful. | ans. relevancy |" in stdout


def test_grounding_totals_of_generated_answers_in_summary_and_report():
    from rag.eval.report import _grounding_lines
    from rag.eval.runner import _grounding_block

    assert _grounding_block([{"grounding": None}, {}]) is None and _grounding_lines(None) == []
    block = _grounding_block([{"grounding": {"claims": 3, "supported": 2, "removed": 1, "reassigned": 0}},
                              {"grounding": {"claims": 1, "supported": 1, "removed": 0}}, {"grounding": None}])
    assert block == {"answers": 2, "claims": 4, "supported": 3, "removed": 1, "supported_share": 0.75}
    (line,) = _grounding_lines(block)
    assert "3 of 4 claims" in line and "1 removed" in line
