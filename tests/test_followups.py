"""Follow-ups over places the bundled corpus does not have, and follow-ups whose document is ambiguous."""

from __future__ import annotations

import pytest

import ui.handlers as h
from rag.understand.conversation import clarification, rewrite_followup
from rag.types import DocumentMeta

# an index of other provinces' regulations (hand-made metadata)
HZ = DocumentMeta("hz-waste", "hz.txt", "hz.txt", "杭州市生活垃圾管理条例", level="市级", region="杭州市")
ZJ = DocumentMeta("zj-tcm", "zj.txt", "zj.txt", "浙江省中医药条例", level="省级", region="浙江省")
BJ = DocumentMeta("bj-park", "bj.txt", "bj.txt", "北京市机动车停车条例", level="市级", region="北京市")
TITLES = [HZ.title, ZJ.title, BJ.title]


@pytest.mark.parametrize("question, previous, expected, region", [
    # any place of the gazetteer, full or short name, replaces the previous question's place
    ("那杭州呢？", "宁波市生活垃圾分类投放有什么规定？", "杭州市生活垃圾分类投放有什么规定？", "杭州市"),
    ("那北京呢？", "上海对违规停车罚多少钱？", "北京对违规停车罚多少钱？", "北京市"),
    ("那广东省呢？", "浙江中医药条例对中医诊所有什么要求？", "广东省中医药条例对中医诊所有什么要求？", "广东省"),
    # a province asked after a city: level words follow (全市 → 全省)
    ("那浙江呢？", "杭州市全市的垃圾分类目标是多少？", "浙江省全省的垃圾分类目标是多少？", "浙江省"),
    # a level word asks about the province of the previous question's city (gazetteer)
    ("那省里呢？", "杭州市对垃圾分类有什么奖励？", "浙江省对垃圾分类有什么奖励？", "浙江省"),
    # no place in the previous question: the place goes in front
    ("那杭州呢？", "生活垃圾分类有什么奖励？", "杭州生活垃圾分类有什么奖励？", "杭州市"),
])
def test_region_followups_for_any_place(question, previous, expected, region):
    rw = rewrite_followup(question, previous, titles=TITLES)
    assert (rw.question, rw.rule, rw.region) == (expected, "region", region)


def test_region_followup_keeps_titles_and_uses_indexed_regions():
    rw = rewrite_followup("那杭州呢？", "浙江省中医药条例里宁波的中医诊所有什么要求？", titles=TITLES)
    assert rw.question == "浙江省中医药条例里杭州的中医诊所有什么要求？"  # the title is left as written
    # a level word with no place before: the one indexed region of that level
    rw = rewrite_followup("那全省呢？", "全市垃圾分类覆盖率目标是多少？", regions=("杭州市", "浙江省"))
    assert (rw.question, rw.region) == ("全省垃圾分类覆盖率目标是多少？", "浙江省")
    # a non-place core is no region rule
    assert rewrite_followup("那生活垃圾呢？", "杭州市停车收费有什么规定？").rule != "region"


def test_ambiguous_document_followup_asks_which_one():
    cited = (HZ.title, BJ.title)
    rw = rewrite_followup("它的施行日期是哪天？", "垃圾和停车有什么罚款？", cited_titles=cited)
    assert rw.rule == "ambiguous" and rw.choices == cited and rw.question == "它的施行日期是哪天？"
    text = clarification(rw)
    assert "哪一份" in text and f"1.《{HZ.title}》" in text and f"2.《{BJ.title}》" in text
    for reply, title in (("2", BJ.title), ("第一份", HZ.title), ("停车条例", BJ.title)):
        done = rewrite_followup(reply, rw.question, pending_choices=cited)
        assert (done.question, done.rule) == (f"《{title}》的施行日期是哪天？", "document")
    # one document cited, or several with the previous question naming one: no question back
    one = rewrite_followup("它的施行日期是哪天？", "垃圾有什么罚款？", cited_titles=(HZ.title,))
    assert (one.question, one.rule) == (f"《{HZ.title}》的施行日期是哪天？", "document")
    named = rewrite_followup("该条例什么时候施行？", f"{BJ.title}对停车收费有什么规定？", cited_titles=cited)
    assert named.rule == "document" and BJ.title in named.question
    # 其他 / 它们 are no reference to one document
    assert rewrite_followup("其他城市有什么规定？", "垃圾有什么罚款？", cited_titles=cited).rule == ""


class _Index:
    docs = {d.doc_id: d for d in (HZ, ZJ, BJ)}


class _QA:
    """Answers every question citing the Hangzhou and Beijing regulations; records its calls."""

    def __init__(self, settings):
        self.settings, self.index, self.calls = settings, _Index(), []

    def ask_stream(self, question, k=None, filters=None):
        from rag.pipeline import Final, Hits
        from rag.types import Answer, Chunk, Citation, Hit

        self.calls.append((question, filters))
        hits = [Hit(i + 1, 1.0, Chunk(f"{d.doc_id}-c1", d.doc_id, "第一条", "本条例自公布之日起施行。", 0, 12, 10),
                    d.title) for i, d in enumerate((HZ, BJ))]
        cites = [Citation(i + 1, hit.chunk.chunk_id, hit.chunk.doc_id, hit.title, "第一条", hit.chunk.text)
                 for i, hit in enumerate(hits)]
        answer = Answer(question, "本条例自公布之日起施行。[1][2]", "extractive", False, cites, hits, [],
                        {"retrieve": 1.0, "answer": 1.0, "total": 2.0})
        yield Hits(hits)
        yield Final(answer)


def test_chat_asks_back_then_answers_the_chosen_document(tmp_path):
    from rag.settings import Settings

    settings = Settings.from_env({"RAG_DATA_DIR": str(tmp_path), "RAG_LLM": "off"})
    qa = _QA(settings)
    session = h.new_session()
    views = list(h.chat_stream("垃圾和停车条例什么时候施行？", session, h.ChatOptions(), settings, qa=qa))
    views = list(h.chat_stream("它的发布机关是谁？", views[-1].session, h.ChatOptions(), settings, qa=qa))
    assert len(qa.calls) == 1  # nothing retrieved: the user is asked which document
    turn = views[-1].session["turns"][-1]
    assert turn["rule"] == "ambiguous" and turn["mode"] == "clarify" and turn["choices"] == [HZ.title, BJ.title]
    shown = views[-1].messages[-1]["content"]
    assert "哪一份" in shown and HZ.title in shown and "按上下文理解为" not in shown
    views = list(h.chat_stream("2", views[-1].session, h.ChatOptions(), settings, qa=qa))
    assert qa.calls[-1][0] == f"《{BJ.title}》的发布机关是谁？"
    # an elliptical place follow-up filters to that place's documents when they are indexed
    views = list(h.chat_stream("那杭州呢？", views[-1].session, h.ChatOptions(), settings, qa=qa))
    assert qa.calls[-1][1].region == "杭州市"
    list(h.chat_stream("那上海呢？", views[-1].session, h.ChatOptions(), settings, qa=qa))
    assert qa.calls[-1][1].region is None  # no 上海 document: no filter (the answer says what is missing)


from test_llm import llm_env, llm_server  # noqa: E402,F401  (pytest fixtures)


def test_ambiguous_followup_is_not_resolved_by_the_llm(llm_server, llm_env):  # noqa: F811
    from rag.pipeline import PolicyQA

    srv = llm_server("ok", followup="《杭州市生活垃圾管理条例》的施行日期是哪天？")
    qa = PolicyQA(llm_env(srv.base_url))
    rw = qa.resolve_followup("它的施行日期是哪天？", "垃圾和停车有什么罚款？", None, (),
                             cited_titles=(HZ.title, BJ.title))
    assert rw.rule == "ambiguous" and rw.choices == (HZ.title, BJ.title) and not srv.of_kind("followup")
    done = qa.resolve_followup("2", rw.question, None, (), pending_choices=rw.choices)
    assert (done.question, done.rule) == (f"《{BJ.title}》的施行日期是哪天？", "document")
