"""The built-in everyday-word list (rag/data/lay_terms.json): a question's everyday word is searched as the
term regulations write (驾照 → 驾驶证) when the indexed documents never write the everyday word."""
from __future__ import annotations

import json

from rag.understand.concepts import LAY_TERMS_PATH, load_concepts, question_concepts

ARTICLES = [
    "第一条 为了规范道路运输经营活动，保障道路运输安全，制定本办法。",
    "第二条 物流企业应当建立车辆安全管理制度，定期检查营运车辆。",
    "第三条 道路运输经营者招用持有外省核发的机动车驾驶证的驾驶人从事营运的，应当自招用之日起十五日内向所在地公安机关交通管理部门备案。",
    "第四条 物流企业应当为从业人员办理社会保险，公司不得克扣从业人员的劳动报酬。",
    "第五条 物流企业新招从业人员的，应当进行岗前培训，培训合格后方可上岗。",
]


def test_every_entry_maps_everyday_words_to_a_different_term():
    data = json.loads(LAY_TERMS_PATH.read_text(encoding="utf-8"))
    concepts = load_concepts(str(LAY_TERMS_PATH))
    assert len(concepts) == len(data["concepts"]) > 50
    words = [w for c in concepts for w in c.company_words]
    assert len(words) == len(set(words)), "an everyday word leads to one term"
    for c in concepts:
        assert c.company_words and c.term not in c.company_words
        assert all(len(w) >= 2 for w in c.company_words)  # single characters never match (match_concepts)


def test_question_concepts_add_the_everyday_words_to_the_corpus_list(tmp_path):
    assert question_concepts(tmp_path) == load_concepts(str(LAY_TERMS_PATH))  # no concepts.json there
    (tmp_path / "concepts.json").write_text(json.dumps({"concepts": [{"term": "新型储能", "company_words": ["储能电站"]}]},
                                                       ensure_ascii=False), encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    (other / "concepts.json").write_bytes((tmp_path / "concepts.json").read_bytes())
    concepts = question_concepts(other)
    assert concepts[0].term == "新型储能" and concepts[1:] == load_concepts(str(LAY_TERMS_PATH))
    assert question_concepts(other) is concepts  # one tuple per folder: its automaton is built once


def _index(tmp_path, name, articles):
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.pipeline import PolicyQA

    docs = tmp_path / name
    docs.mkdir()
    (docs / "某市道路运输管理办法.md").write_text("某市道路运输管理办法\n\n" + "\n".join(articles) + "\n", encoding="utf-8")
    settings = session_settings(tmp_path / f"data-{name}")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    return PolicyQA(settings, auto_ingest=False)


def test_an_everyday_word_the_documents_never_write_is_searched_as_their_term(tmp_path):
    from rag.understand.query import plan_query

    question = "我们物流公司新招了一个司机，他的驾照是在外省考的，公司要办什么手续？"
    qa = _index(tmp_path, "plain", ARTICLES)
    plan = plan_query(question, qa.index, qa.settings)
    assert "驾驶证" in plan.tokens
    matched = {m.matched: m.term for m in plan.concepts}
    assert matched["驾照"] == "驾驶证" and matched["司机"] == "驾驶人"
    top = qa.retrieve(question, 3)
    assert "驾驶证" in top[0].chunk.text, [h.chunk.text[:20] for h in top]
    # a corpus that writes the everyday word itself is searched with it alone
    spoken = [*ARTICLES, "第六条 驾照被扣留的驾驶人不得驾驶营运车辆。"]
    qa = _index(tmp_path, "spoken", spoken)
    assert "驾驶证" not in plan_query(question, qa.index, qa.settings).tokens


def test_without_the_list_the_everyday_question_misses_the_article(tmp_path, monkeypatch):
    from rag.understand import concepts

    monkeypatch.setattr(concepts, "LAY_TERMS_PATH", tmp_path / "none.json")
    qa = _index(tmp_path, "plain", ARTICLES)
    top = qa.retrieve("我们物流公司新招了一个司机，他的驾照是在外省考的，公司要办什么手续？", 3)
    assert "驾驶证" not in top[0].chunk.text


def test_the_answer_says_which_words_were_searched_as_the_documents_terms(tmp_path):
    from rag.understand.concepts import expansion_notice

    assert expansion_notice(()) is None
    assert expansion_notice([("驾照", "驾驶证"), ("司机", "驾驶人"), ("驾照", "驾驶证")]) == "已按文件用语检索：驾照→驾驶证、司机→驾驶人。"
    qa = _index(tmp_path, "plain", ARTICLES)
    answer = qa.ask("我们物流公司新招了一个司机，他的驾照是在外省考的，公司要办什么手续？")
    assert "已按文件用语检索：司机→驾驶人、驾照→驾驶证。" in answer.notices
    assert "驾驶证" in answer.text
    assert not any(n.startswith("已按文件用语") for n in qa.ask("驾驶证外省核发的驾驶人要备案吗？").notices)


def test_the_places_the_question_names_decide_whether_their_documents_write_the_word(tmp_path):
    """The corpus writes 饭馆 (in 青岛's rules) but 德州's documents say 餐饮服务: a 德州 question is expanded."""
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.pipeline import PolicyQA
    from rag.text import TextData
    from rag.understand.query import plan_query

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "青岛市小饭馆管理办法.md").write_text(
        "青岛市小饭馆管理办法\n\n第一条 饭馆应当在店堂醒目位置公示营业执照。\n第二条 饭馆不得占道经营。\n", encoding="utf-8")
    (docs / "德州市餐饮服务消防安全规定.md").write_text(
        "德州市餐饮服务消防安全规定\n\n第一条 利用住宅从事餐饮服务的，应当符合消防技术标准。\n"
        "第二条 餐饮服务场所应当配置灭火器材。\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    qa = PolicyQA(settings, auto_ingest=False)
    data = TextData.of(qa.index)
    ids = {meta.region: d for d, meta in qa.index.docs.items()}
    assert data.written_in("饭馆", [ids["青岛市"]]) and not data.written_in("饭馆", [ids["德州市"]])
    assert data.written_in("灭火器材", list(ids.values())) and not data.written_in("文件名称", list(ids.values()))  # cards do not count
    dezhou = plan_query("我在德州用自家住房开个小饭馆，消防上有什么要求？", qa.index, qa.settings)
    assert ("饭馆", "餐饮服务") in dezhou.expanded
    qingdao = plan_query("我在青岛开个小饭馆，要公示什么？", qa.index, qa.settings)
    assert not any(word == "饭馆" for word, _term in qingdao.expanded)
    top = qa.retrieve("我在德州用自家住房开个小饭馆，消防上有什么要求？", 2)
    assert "利用住宅从事餐饮服务" in top[0].chunk.text
