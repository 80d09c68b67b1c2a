"""The answerability decision (rag.answer.answerability): evidence features, the hard rules, the fitted model's
decision and its reason, and refitting."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from rag.answer import answerability as A
from rag.eval import answerability_fit as F
from rag.answer.extractive import score_sentences
from rag.answer.focus import question_terms
from rag.answer.refusal import check_refusal, hard_refusal
from rag.answer.signals import named_places, place_covered
from rag.settings import Settings
from rag.types import Chunk, DocumentMeta, Hit

SETTINGS = Settings()
FILLER = ["推动产业集群发展。", "加强人才队伍建设。", "优化营商环境。", "完善政策体系。", "强化要素保障。",
          "推进开放合作。", "加快数字化转型。", "提升创新能力。"]


def _docs(*regions: str | None) -> dict:
    return {f"d{i}": DocumentMeta(f"d{i}", f"docs/d{i}.txt", f"d{i}.txt", f"测试条例{i}", region=r,
                                  period_start=2021, period_end=2025)
            for i, r in enumerate(regions)}


def _hit(text: str, doc_id: str = "d0", rank: int = 1, scores: dict | None = None) -> Hit:
    chunk = Chunk(f"{doc_id}-{rank}", doc_id, "第一章 总则 › 第三条", text, 0, len(text), len(text), "text")
    return Hit(rank, 1.0 / (60 + rank), chunk, "测试条例0", scores or {})


def _index(texts: list[str], docs: dict):
    """A hand-made index over ``texts`` (one passage each): jieba tokenizer, document frequencies, idf."""
    from rag.text import TextData, Tokenizer

    tok = Tokenizer()
    df: dict = {"__N__": len(texts)}
    for t in texts:
        for w in set(tok.tokens(t)):
            df[w] = df.get(w, 0) + 1
    idf = lambda w: math.log(1 + (df["__N__"] - df.get(w, 0) + 0.5) / (df.get(w, 0) + 0.5))
    index = SimpleNamespace(docs=docs, chunks=[], tokenizer=tok, df=df, idf=idf)
    TextData.of(index).corpus_text = "\n".join(texts)  # rag.text.corpus_text of the stand-in
    return index


def _evidence(q: str, text: str, docs=None, scores=None):
    index = _index([text, *FILLER], docs or _docs("浙江省"))
    scored = score_sentences(q, [_hit(text, scores=scores)], question_terms(q, index.tokenizer, index.idf))
    return A.features(q, scored, index, SETTINGS), scored, index


# --- features ---------------------------------------------------------------------------------------
def test_features_measure_the_asked_value_against_the_values_the_evidence_states():
    q = "物流港二期工程计划哪年建成？"
    missing, _, _ = _evidence(q, "以物流港为重点，共建国际铁路门户枢纽。")
    stated, _, _ = _evidence(q, "物流港二期工程计划于2026年建成。")
    assert set(A.FEATURES) <= set(missing.values)
    assert missing.values["value"] > 0.5 and missing.values["value_fires"] == 1.0
    assert missing.values["value_time"] == missing.values["value"]
    assert "年份" in missing.reasons["value"]
    assert stated.values["value"] < 0.5 and stated.values["value_fires"] == 0.0
    assert stated.values["coverage"] < missing.values["coverage"]


def test_retrieval_scores_are_features_and_missing_ones_are_none():
    q = "电动自行车在楼道充电罚多少？"
    text = "在楼道内为电动自行车充电的，处五十元以上二百元以下罚款。"
    with_scores, _, _ = _evidence(q, text, scores={"bm25": 6.0, "dense": 0.71, "rrf": 2 / 61})
    assert 0 < with_scores.values["bm25"] <= 1.0
    assert with_scores.values["dense"] == pytest.approx(0.71)
    assert with_scores.values["fused"] == pytest.approx(120 / 61)
    without, _, _ = _evidence(q, text)
    assert without.values["bm25"] is None and without.values["dense"] is None
    # an amount written in Chinese numerals is an amount
    assert with_scores.values["answer_type"] == 0.0


def test_hits_outside_the_named_document_region_are_the_scope_feature():
    docs = _docs("浙江省", "杭州市", "山东省")
    index = _index(["垃圾分类投放。"], docs)
    scored = score_sentences("垃圾", [_hit("垃圾分类投放。", "d2")], {"垃圾": 1.0})
    inside = score_sentences("垃圾", [_hit("垃圾分类投放。", "d1")], {"垃圾": 1.0})
    plan = SimpleNamespace(doc_ids=(), regions=("浙江省",), concepts=())
    assert A._scope_share(scored, index, plan) == 1.0
    assert A._scope_share(inside, index, plan) == 0.0  # a city of the named province is inside its scope
    assert A._scope_share(scored, index, SimpleNamespace(doc_ids=(), regions=())) == 0.0


def test_a_national_document_is_inside_the_scope_of_any_named_place():
    docs = _docs("全国", "杭州市", "山东省")
    index = _index(["垃圾分类投放。"], docs)
    national = score_sentences("垃圾", [_hit("垃圾分类投放。", "d0")], {"垃圾": 1.0})
    plan = SimpleNamespace(doc_ids=(), regions=("杭州市",), concepts=())
    assert A._scope_share(national, index, plan) == 0.0  # a national law applies in 杭州
    other = score_sentences("垃圾", [_hit("垃圾分类投放。", "d2")], {"垃圾": 1.0})
    assert A._scope_share(other, index, plan) == 1.0


def test_a_named_place_no_document_is_of_scopes_to_its_province_and_national_documents():
    """广州 over a corpus whose only 广东 document is provincial: 北京 passages are outside the question's scope
    (its regions are only the indexed ones, so the gazetteer names the place), the province's are inside."""
    docs = _docs("广东省", "北京市", "宁波市")
    index = _index(["垃圾分类投放。"], docs)
    q = "广州对个人不分类投放生活垃圾罚多少钱？"
    plan = SimpleNamespace(doc_ids=(), regions=(), question=q, concepts=())
    other = score_sentences("垃圾", [_hit("垃圾分类投放。", "d1"), _hit("垃圾分类投放。", "d2", 2)], {"垃圾": 1.0})
    province = score_sentences("垃圾", [_hit("垃圾分类投放。", "d0")], {"垃圾": 1.0})
    assert A._scope_share(other, index, plan) == 1.0
    assert A._scope_share(province, index, plan) == 0.0
    unnamed = SimpleNamespace(doc_ids=(), regions=(), question="对个人不分类投放生活垃圾罚多少钱？", concepts=())
    assert A._scope_share(other, index, unnamed) == 0.0  # no place named: no scope


# --- hard rules: places from the gazetteer against the documents' regions -----------------------------
def test_a_place_no_document_covers_is_refused_with_its_reason_and_covered_places_are_not():
    docs = _docs("浙江省", "济南市")
    assert [p.name for p in named_places("云南和杭州的垃圾分类有什么不同？")] == ["云南省", "杭州市"]
    assert named_places("浙江西部山区") and named_places("浙江西部山区")[0].name == "浙江省"  # not 江西
    hz, yn, sd, qd = (named_places(n)[0] for n in ("杭州", "云南", "山东", "青岛"))
    assert place_covered(hz, docs)  # a city of a covered province
    assert place_covered(sd, docs)  # a province question may use its cities' documents
    assert not place_covered(yn, docs) and not place_covered(qd, docs)
    assert place_covered(yn, _docs(None))  # no document states a region: nothing is known against it
    d = hard_refusal("云南的垃圾分类有什么规定？", score_sentences("垃圾分类", [_hit("垃圾分类投放。")], {"垃圾": 1.0}),
                     SimpleNamespace(docs=docs))
    assert d.refused and d.rule == "region" and "云南省" in d.reason and "浙江省" in d.reason and "\n" not in d.reason
    assert hard_refusal("杭州的垃圾分类有什么规定？", score_sentences("垃圾分类", [_hit("垃圾分类投放。")], {"垃圾": 1.0}),
                        SimpleNamespace(docs=docs)) is None


# --- the decision ---------------------------------------------------------------------------------
def _model(threshold: float = 0.5) -> A.Model:
    names = ("coverage", "value", "dense")
    return A.Model(names, (0.3, 0.2, 0.5), (0.2, 0.3, 0.1), (1.0, 2.0, -1.0), -1.0, threshold, {"n": 0})


def test_the_decision_refuses_at_the_threshold_and_names_the_decisive_feature():
    ev = A.Evidence({"coverage": 0.3, "value": 0.9, "dense": 0.5},
                    {"coverage": "检索到的段落与问题的关键词重合很少（覆盖率 0.70）。",
                     "value": "问题询问的是具体数字，检索到的段落中没有同时提到问题要点和这类信息的句子（要点覆盖 0.10）。"})
    m = _model()
    p = m.probability(ev.values)
    assert p == pytest.approx(1 / (1 + math.exp(-(2.0 * 0.7 / 0.3 - 1.0))))
    d = A.decide(ev, m)
    assert d.refused and d.rule == "value" and d.reason == ev.reasons["value"] and d.probability == pytest.approx(p)
    assert not A.decide(ev, _model(threshold=0.99)).refused
    # a low dense similarity is decisive with a reason naming the score; a missing value pushes neither way
    low = A.Evidence({"coverage": 0.3, "value": None, "dense": 0.1}, {})
    d = A.decide(low, _model(threshold=0.3))
    assert d.refused and d.rule == "dense" and "向量相似度 0.10" in d.reason
    assert m.contributions({"coverage": None, "value": None, "dense": None}) == {"coverage": 0.0, "value": 0.0,
                                                                               "dense": 0.0}


def test_check_refusal_applies_the_model_after_the_hard_rules():
    q = "物流港二期工程计划哪年建成？"
    _, scored, index = _evidence(q, "以物流港为重点，共建国际铁路门户枢纽。")
    model = A.Model(("value_fires",), (0.1,), (0.3,), (3.0,), -1.0, 0.5)
    d = check_refusal(q, scored, index, SETTINGS, model=model)
    assert d.refused and d.rule == "value" and "年份" in d.reason and d.probability > 0.5
    _, scored2, index2 = _evidence(q, "物流港二期工程计划于2026年建成。")
    assert not check_refusal(q, scored2, index2, SETTINGS, model=model).refused


# --- fitting ----------------------------------------------------------------------------------------
def _rows(n: int = 60, sources: tuple[str, ...] = ("tiny.jsonl",)) -> list[dict]:
    rows = []
    for i in range(n):
        label = i % 3 == 0
        values = {f: 0.0 for f in A.FEATURES}
        values.update(coverage=(0.8 if label else 0.2) + (i % 5) * 0.02,
                      value_number=(0.9 if label else 0.1) - (i % 4) * 0.05,
                      bm25=None if i % 6 == 0 else (0.1 if label else 0.3) + (i % 3) * 0.1,
                      # a feature whose fitted sign would contradict what it stands for
                      scope=(0.0 if label else 0.4) + (i % 2) * 0.1)
        rows.append({"id": f"b{i % 4}-{i}", "question": "", "type": "unanswerable" if label else "numeric",
                     "label": int(label), "values": values, "source": sources[i % len(sources)]})
    return rows


def test_a_refit_keeps_features_pointing_the_way_they_stand_for_and_reproduces_the_model_shape(tmp_path):
    model = F.fit(_rows(), cs=(0.3, 1.0))
    assert set(model.names) <= set(A.FEATURES) and {"coverage", "value_number", "bm25"} <= set(model.names)
    assert len(model.mean) == len(model.scale) == len(model.coef) == len(model.names)
    assert "focus" not in model.names  # constant over the rows: dropped
    assert "scope" not in model.names and "scope" in model.fitted_on["dropped"]  # wrong sign: dropped
    coef = dict(zip(model.names, model.coef))
    assert coef["coverage"] > 0 and coef["value_number"] > 0 and coef["bm25"] < 0
    assert 0.0 <= model.threshold <= 1.0 and model.fitted_on["C"] in (0.3, 1.0)
    assert model.fitted_on["n"] == 60 and model.fitted_on["unanswerable"] == 20
    assert model.fitted_on["groups"] == 4 and model.fitted_on["cv"].startswith("leave one question group out")
    assert model.fitted_on["selection"] == "grouped log loss"  # one corpus: nothing to leave out
    rows = _rows()
    assert all(A.decide(A.Evidence(r["values"], {"coverage": "x"}), model).refused == bool(r["label"]) for r in rows)
    path = tmp_path / "model.json"
    F.save(model, path)
    again = A.load_model(str(path))
    assert again == model and json.loads(path.read_text(encoding="utf-8"))["features"] == list(model.names)
    with pytest.raises(ValueError):
        F.fit([r for r in rows if r["label"] == 0])


def test_question_groups_and_the_leave_one_corpus_out_report():
    assert F.question_group({"id": "d6-U09", "source": "dev.jsonl"}) == "dev.jsonl:d6"
    assert F.question_group({"id": "q7", "source": "x.jsonl:dev"}) == "x.jsonl:dev"
    model = F.fit(_rows(sources=("a.jsonl", "b.jsonl:dev")), c=1.0)
    loco = model.fitted_on["leave_one_corpus_out"]
    assert set(loco) == {"a.jsonl", "b.jsonl:dev"}
    for held in loco.values():  # fitted on the other corpus only, scored on this one
        assert held["n"] == 30 and 0.0 <= held["threshold"] <= 1.0
        assert held["answerable_refused"] == 0.0 and held["refusal_recall"] == 1.0
    assert set(model.fitted_on["cv_by_domain"]) == {"a.jsonl", "b.jsonl:dev"}
    assert model.fitted_on["selection"] == "leave one corpus out"


def test_corpora_are_the_domains_of_leave_one_corpus_out_and_weigh_alike():
    import numpy as np

    # two question sets over one corpus are one domain, and one cross-validation group
    a = {"id": "xd-001", "source": "external_dev.jsonl:dev", "corpus": "lawref-dev"}
    b = {"id": "q2-004", "source": "external_qa2.jsonl:dev", "corpus": "lawref-dev"}
    assert F.row_domain(a) == F.row_domain(b) == "lawref-dev"
    assert F.question_group(a) == F.question_group(b) == "lawref-dev"
    assert F.question_group({"id": "d6-U09", "source": "dev.jsonl", "corpus": F.BUNDLED}) == "dev.jsonl:d6"
    rows = [{"source": "dev.jsonl", "corpus": F.BUNDLED}] * 9 + [{"source": "x.jsonl:dev", "corpus": "x"}] * 3
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0])
    w = F.domain_weights(rows, y, power=1.0)
    assert w[:9].sum() == pytest.approx(w[9:].sum()) and w.mean() == pytest.approx(1.0)
    assert np.allclose(F.domain_weights(rows, y, power=0.0), 1.0)
    wb = F.domain_weights(rows, y, power=1.0, balance=True)  # each domain: its two classes weigh alike
    assert wb[:3].sum() == pytest.approx(wb[3:9].sum()) and wb[9] == pytest.approx(wb[10:12].sum())


def test_the_threshold_counts_every_domains_answerable_refusals_alike():
    import numpy as np

    # domain a: six answerable questions scoring low; domain b: two scoring high
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.95, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 0, 0, 0, 0, 1, 0, 0, 1])
    d = ["a"] * 7 + ["b"] * 3
    assert F._threshold(p, y, 0.0) == F._threshold(p, y, 0.0, d) == 0.9  # above every answerable one
    assert F._threshold(p, y, 0.25) == 0.7  # pooled: two of eight refused, both of b
    assert F._threshold(p, y, 0.25, d) == 0.8  # per domain: a 0 and b 1/2 refused, mean 0.25


def test_an_external_sets_corpus_is_the_folder_holding_its_evidence_documents(tmp_path):
    from rag.errors import ConfigError

    for name, doc in (("c1", "甲条例.md"), ("c2", "乙条例.md")):
        (tmp_path / name).mkdir()
        (tmp_path / name / doc).write_text("第一条 测试。", encoding="utf-8")
    data = tmp_path / "set.jsonl"
    data.write_text(json.dumps({"id": "s-1", "question": "问？", "answer": "答", "key_facts": [], "type": "factual",
                                "persona": "enterprise", "split": "dev", "evidence": [{"doc": "乙条例.md", "anchor": "测试"}]},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    assert F._external_arg(str(data), tmp_path) == (data, tmp_path / "c2")
    assert F._external_arg(f"{data}={tmp_path / 'c1'}", tmp_path) == (data, tmp_path / "c1")
    (tmp_path / "c2" / "乙条例.md").unlink()
    (tmp_path / "c2" / "丙.md").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError):
        F.dataset_corpus(data, tmp_path)


def test_a_focus_word_counts_in_a_sentence_holding_the_full_form_it_abbreviates():
    from rag.answer.focus import abbreviates

    assert abbreviates("电动车", "禁止为电动自行车充电")
    assert not abbreviates("充电", "充分用电")  # two characters: never an abbreviation match
    assert not abbreviates("电动车", "电力驱动的各类机动车")  # too far apart
    q = "在楼道给电动车充电罚多少？"
    full, _, _ = _evidence(q, "为电动自行车充电的，处五十元以上二百元以下罚款。")
    assert full.values["value_number"] < 0.5


def test_a_sum_of_money_asked_by_its_noun_is_an_amount():
    from rag.understand.need import asked_types

    for q in ("首席数据官每年有多少津贴？", "生活垃圾处理费交多少？", "逾期不改正罚款多少？", "每月要交多少押金？"):
        assert [t.name for t in asked_types(q)] == ["amount"], q
    for q in ("有多少消费者投诉？", "经费保障有哪些？", "新建多少座加氢站？"):
        assert asked_types(q) == [], q
    q = "逾期不改正罚款多少？"
    stated, _, _ = _evidence(q, "逾期不改正的，处二千元以上一万元以下罚款。")
    missing, _, _ = _evidence(q, "逾期不改正的，依法予以处罚。")
    assert stated.values["answer_type"] == 0.0 and missing.values["answer_type"] == 1.0
    assert "具体金额" in missing.reasons["answer_type"]


def test_each_asked_value_kind_is_its_own_feature_with_a_reason():
    q = "物流港二期工程计划哪年建成？"
    missing, _, _ = _evidence(q, "以物流港为重点，共建国际铁路门户枢纽。")
    assert missing.values["value_time"] > 0.5 and missing.values["value_number"] == 0.0
    assert "年份、日期或期限" in missing.reasons["value_time"] and missing.reasons["value_org"] is None
    model = A.Model(("value_time",), (0.1,), (0.3,), (3.0,), -1.0, 0.5)
    d = A.decide(missing, model)
    assert d.refused and d.rule == "value" and "年份、日期或期限" in d.reason


def test_the_bundled_model_file_is_fitted_on_tuning_questions_only():
    model = A.load_model()
    assert model is not None and set(model.names) <= set(A.FEATURES)
    sources = model.fitted_on["sources"]
    assert "dev.jsonl" in sources and not any("holdout" in s or "policy_qa" in s or "external_gd" in s
                                              for s in sources)
    assert len(model.fitted_on["leave_one_corpus_out"]) >= 2  # chosen by leave-one-corpus-out
    assert 0.0 < model.threshold < 1.0


def test_a_damaged_model_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"features": ["coverage"]}', encoding="utf-8")
    with pytest.raises(RuntimeError, match="python -m rag.eval.answerability_fit fit"):
        A.load_model(str(bad))


def test_the_refusal_modules_hold_no_place_or_era_literals():
    from pathlib import Path

    import rag

    root = Path(rag.__file__).parent / "answer"
    for name in ("refusal.py", "refusal_need.py", "refusal_value.py", "answerability.py", "signals.py", "focus.py"):
        text = (root / name).read_text(encoding="utf-8")
        assert not any(w in text for w in ("四川", "成都", "十四五", "十三五")), name


# --- the evidence of an asked value in regulation wording ---------------------------------------------
def test_a_count_word_in_a_yes_no_question_asks_for_no_number():
    from rag.understand.need import asked_kinds

    kinds = lambda q: [k.name for k in asked_kinds(q)]
    assert kinds("新招的几个护工健康证还在办，能先让他们上门照护老人吗？") == []
    assert kinds("想把客厅隔出来多租几个人，可以吗？") == []
    assert kinds("合同到期要提前多久通知？新旧规定有变化吗？") == ["time"]  # the first sentence still asks
    assert kinds("每年能免费拿几次信用报告？") == ["number"]


def test_a_date_question_is_a_time_value_and_a_deadline_only_with_its_word():
    from rag.understand.need import asked_types
    from rag.understand.need import asked_kinds

    assert [k.name for k in asked_kinds("中医药文化宣传日定在每年哪一天？")] == ["time"]
    assert asked_types("条例是哪天开始施行的？") == []
    assert [t.name for t in asked_types("申报截止到哪天？")] == ["deadline"]


def test_durations_fractions_and_dates_in_chinese_numerals_state_values():
    from rag.understand.need import VALUE_KINDS

    time, number = VALUE_KINDS[0].evidence, VALUE_KINDS[1].evidence
    for text in ("应当提前三个月书面告知", "在合同期限届满前九十日书面通知", "于十五个工作日内办结"):
        assert time.search(text), text
    for text in ("专有部分面积占比三分之二以上的业主", "占总人数过半数的业主参加"):
        assert number.search(text), text
    assert not number.search("业主大会会议应当有业主参加")


def test_the_counted_noun_after_the_count_word_is_the_value_head_and_a_version_year_is_no_value_year():
    from rag.answer.refusal_value import _VERSION_YEAR, value_head

    assert value_head("专家咨询会至少要请几位专家", {"专家": 1.0, "咨询会": 1.0}) == "专家"
    assert value_head("材料齐全的话分别几个工作日办完", {"工作日": 1.0, "材料": 1.0}) == "工作日"
    assert value_head("利润总额的目标是多少亿元", {"利润总额": 1.0}) == "利润总额"  # nothing after: the noun before
    assert _VERSION_YEAR.sub("", "住宅物业管理规定2020年修正前后，业主大会") == "住宅物业管理规定前后，业主大会"


def test_a_value_is_supported_by_the_focus_of_its_own_sentence_and_by_its_rank():
    from rag.answer.refusal_value import _asking_sentence_focus
    from rag.understand.need import VALUE_KINDS

    focus = {"施行": 1.0, "替代": 1.0, "法规": 1.0}
    own = _asking_sentence_focus("是哪天开始施行的？它替代了哪部旧法规？", VALUE_KINDS[0], focus)
    assert own == {"施行": 1.0}
    assert _asking_sentence_focus("哪天开始施行？", VALUE_KINDS[0], focus) == focus
    q = "物流港二期工程计划哪年建成？"
    stated, _, _ = _evidence(q, "物流港二期工程计划于2026年建成。")
    missing, _, _ = _evidence(q, "以物流港为重点，共建国际铁路门户枢纽。")
    assert stated.values["value_top"] == 0.0 and missing.values["value_top"] == 1.0
    assert "排在最前的段落" in missing.reasons["value_top"]


def test_a_role_holder_question_is_answered_by_a_sentence_assigning_the_role():
    from rag.answer.refusal_value import _kind_evidence, asked_role
    from rag.understand.need import asked_kinds

    q = "生活垃圾分类投放的管理人是谁？"
    assert asked_role(q) == "管理人" and asked_role("首席数据官由谁来担任？") == "首席数据官"
    assert asked_role("低空经济产业链由哪个厅局牵头负责？") is None
    (kind,) = asked_kinds(q)
    assert _kind_evidence(kind, q).search("建设工程已开工的，施工单位为管理人")
    assert not _kind_evidence(kind, q).search("管理人应当履行下列义务")
    (org,) = asked_kinds("首席数据官由谁来担任？")
    assert _kind_evidence(org, "首席数据官由谁来担任？").search("首席数据官由本区域、本部门、本单位相关负责人担任")



def test_a_duration_in_minutes_states_a_time():
    """多久 asks for a time; '三分钟内' and '30分钟' state one (a duration, not only a year or a date)."""
    from rag.understand.need import VALUE_KINDS

    time_kind = next(k for k in VALUE_KINDS if k.name == "time")
    assert time_kind.trigger.search("接到调度指令后多久要出车")
    for stated in ("在接到调度指令后三分钟内派出急救车辆", "应当在30分钟内到达", "十五个工作日内办结"):
        assert time_kind.evidence.search(stated), stated
    assert not time_kind.evidence.search("派出急救车辆及急救人员")


def test_a_value_in_the_next_article_is_no_continuation_of_a_sentence():
    from rag.answer.refusal_value import continuation

    text = "第十一条 市人民政府应当建立研发投入补助制度。\n第十二条 补助不超过五十万元。"
    hit = _hit(text, "d0")
    first = next(s for s in score_sentences("补助", [hit], {"补助": 1.0}) if "第十一条" in s.text)
    assert "五十万元" not in continuation(first, 60)
    same = _hit("第十一条 未按规定交付的，责令改正；\n逾期不改正的，处五万元罚款。", "d0")
    lead = next(s for s in score_sentences("交付", [same], {"交付": 1.0}) if "交付" in s.text)
    assert "五万元" in continuation(lead, 60)  # the next paragraph of the same article still counts


def test_the_unit_of_an_asked_quantity_is_no_focus_word():
    from rag.answer.focus import _QUESTION_TOKEN

    for token in ("天内", "个工作日", "日内", "小时"):
        assert _QUESTION_TOKEN.search(token), token
    for token in ("募捐", "公开", "天然气", "日常"):
        assert not _QUESTION_TOKEN.search(token), token
