"""UI handlers without a browser: chat rendering, follow-up rewriting, feedback, export, knowledge base.

Fast tests use a deterministic fake ``PolicyQA``; the knowledge-base and end-to-end chat tests ingest
a tiny two-document corpus written to ``tmp_path`` (offline LSA embeddings, a few seconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from rag.index import kb
from rag.index.store import load_index
from rag.understand.conversation import rewrite_followup
from rag.pipeline import Delta, Final, Hits, Replace
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Answer, Chunk, Citation, DocumentBadges, DocumentMeta, Hit
from ui import handlers as h

TODAY = "2026-06-01"


# --- a deterministic fake of PolicyQA -----------------------------------------------------------
DRAFT = DocumentMeta("draft-doc", "d.txt", "d.txt", "试点<script>alert(1)</script>规划(征求意见稿)", level="省级",
                     region="四川省", period_start=2021, period_end=2030, status="征求意见稿")
EXPIRED = DocumentMeta("old-doc", "o.txt", "o.txt", "成都市“十三五”规划", level="市级", region="成都市",
                       period_start=2016, period_end=2020)
CURRENT = DocumentMeta("new-doc", "n.txt", "n.txt", "现行方案", level="省级", region="四川省",
                       period_start=2025, period_end=2027)
PASSAGE = "前文。到2027年打造5个<b>千亿级</b>产业集群&更多。后文。"
QUOTE = "到2027年打造5个<b>千亿级</b>产业集群&更多。"


def _hit(rank, doc, text, chunk_id):
    return Hit(rank, 1.0 / rank, Chunk(chunk_id, doc.doc_id, "一、目标 › <i>章节</i>", text, 0, len(text), 10),
               doc.title, {"bm25": 3.2, "dense": 0.41, "rrf": 0.032})


class FakeIndex:
    docs = {d.doc_id: d for d in (DRAFT, EXPIRED, CURRENT)}


class FakeQA:
    """Streams a canned answer citing the draft and the expired document; records its calls."""

    def __init__(self, settings, llm_fails=False, first=DRAFT):
        self.settings = settings
        self.index = FakeIndex()
        self.calls = []
        self.llm_fails = llm_fails
        self.first = first  # the document of citation [1]

    def ask_stream(self, question, k=None, filters=None):
        self.calls.append((question, filters))
        hits = [_hit(1, self.first, PASSAGE, "c1"), _hit(2, EXPIRED, "成都<旧>目标。", "c2")]
        yield Hits(hits)
        text = f"{QUOTE}[1]\n成都<旧>目标。[2]"
        if self.llm_fails:
            yield Delta("部分生成")
            yield Replace(text, "大模型服务暂不可用（ConnectError）")
        else:
            yield Delta(text)
        answer = Answer(question, text, "extractive", False,
                        [Citation(1, "c1", self.first.doc_id, self.first.title, hits[0].chunk.section, QUOTE),
                         Citation(2, "c2", EXPIRED.doc_id, EXPIRED.title, hits[1].chunk.section, "成都<旧>目标。")],
                        hits, ["大模型服务暂不可用（ConnectError），以下为抽取式答案。"] if self.llm_fails else [],
                        {"retrieve": 3.0, "answer": 1.0, "total": 4.0})
        yield Final(answer)

    def retrieve(self, question, k=None, filters=None):
        return [_hit(1, CURRENT, "段落<一>", "c3")]


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data", today=TODAY)


def ask(question, session, settings, qa=None, **options):
    qa = qa or FakeQA(settings)
    views = list(h.chat_stream(question, session, h.ChatOptions(**options), settings, qa=qa))
    return views, qa


# --- chat rendering ------------------------------------------------------------------------------
def test_answer_and_sources_are_escaped_and_linked(settings):
    views, _ = ask("千亿级产业集群有几个？", h.new_session(), settings)
    last = views[-1]
    assert not last.error and len(views) >= 3  # pending, delta, final
    answer = last.messages[-1]["content"]
    assert "&lt;b&gt;千亿级&lt;/b&gt;" in answer and "<b>" not in answer
    assert '<a class="rag-cite" href="#src-1-1">[1]</a>' in answer and 'href="#src-1-2"' in answer
    assert "原文摘录" in answer and "\n\n" not in answer
    src = last.sources
    assert "<script>" not in src and "&lt;script&gt;alert(1)&lt;/script&gt;" in src
    assert 'id="src-1-1"' in src and "&lt;i&gt;章节&lt;/i&gt;" in src
    assert f"<mark>{h.esc(QUOTE)}</mark>" in src  # the cited sentence, highlighted in the passage
    assert "前文。" in src and "后文。" in src
    assert "省级" in src and "四川省" in src and "规划期 2021—2030年" in src


def test_badges_for_draft_and_expired(settings):
    views, _ = ask("问题", h.new_session(), settings)
    cards = views[-1].sources.split('<div class="rag-src"')[1:]
    assert "征求意见稿" in cards[0] and "已到期" not in cards[0]  # draft, period ends 2030
    assert "已到期" in cards[1] and "征求意见稿" not in cards[1]  # 2016—2020, today 2026
    src = h.SourceView.from_json(views[-1].session["turns"][0]["sources"][0])
    assert src.badges == DocumentBadges("省级", "四川省", "2021—2030年", "征求意见稿", expired=False, draft=True)
    assert h.badges_html(DocumentBadges(level="省级", period="2025—2027年")) == ""


def test_document_badges_shared_by_sources_and_knowledge_base(settings):
    day = date(2026, 6, 1)
    assert DocumentBadges.of(EXPIRED, day) == DocumentBadges("市级", "成都市", "2016—2020年", None, True, False)
    assert DocumentBadges.of(DRAFT, day).status_labels == ("征求意见稿",)
    assert DocumentBadges.of(replace(DRAFT, period_end=2020), day).status_labels == ("征求意见稿", "已到期")
    assert DocumentBadges.of(None, day) == DocumentBadges() and DocumentBadges().status_labels == ()
    views, _ = ask("问题", h.new_session(), settings)
    stored = views[-1].session["turns"][0]["sources"][1]
    assert stored["badges"] == {"level": "市级", "region": "成都市", "period": "2016—2020年", "status": None,
                                "expired": True, "draft": False, "issuer": None, "doc_number": None,
                                "doc_type": None, "issued_date": None, "effective_date": None, "repealed": False,
                                "not_in_force_yet": False}
    assert h.SourceView.from_json(stored).to_json() == stored  # the session keeps plain JSON
    json.dumps(views[-1].session, ensure_ascii=False)


def test_llm_failure_resets_text_and_shows_notice(settings):
    qa = FakeQA(settings, llm_fails=True)
    views, _ = ask("问题", h.new_session(), settings, qa=qa)
    assert any("部分生成" in v.messages[-1]["content"] for v in views)
    final = views[-1].messages[-1]["content"]
    assert "部分生成" not in final and "大模型服务暂不可用" in final


def test_session_is_not_mutated_and_turns_accumulate(settings):
    session = h.new_session()
    views, _ = ask("第一个问题是什么？", session, settings)
    assert session == {"turns": []}
    s1 = views[-1].session
    views, _ = ask("第二个问题是什么？", s1, settings)
    assert len(s1["turns"]) == 1 and len(views[-1].session["turns"]) == 2
    assert 'href="#src-2-1"' in views[-1].messages[-1]["content"]


def _groups(panel: str) -> dict[int, str]:
    """Turn number → the HTML of that answer's group in the sources panel."""
    parts = panel.split('<div class="rag-turn-sources" id="srcs-')[1:]
    return {int(p.split('"', 1)[0]): p for p in parts}


def test_each_answer_keeps_and_links_its_own_sources(settings):
    views, _ = ask("第一个问题是什么？", h.new_session(), settings)
    assert list(_groups(views[-1].sources)) == [1] and " hidden" not in views[-1].sources
    views, _ = ask("第二个问题是什么？", views[-1].session, settings, qa=FakeQA(settings, first=CURRENT))
    last = views[-1]
    turns = last.session["turns"]
    assert [t["sources"][0]["doc_id"] for t in turns] == ["draft-doc", "new-doc"]  # kept per answer
    groups = _groups(last.sources)
    assert list(groups) == [1, 2]
    assert groups[1].startswith('1" data-turn="1" hidden>') and groups[2].startswith('2" data-turn="2">')
    # the markers of answer 1 open answer 1's cards, those of answer 2 answer 2's
    first_answer, second_answer = last.messages[1]["content"], last.messages[3]["content"]
    assert 'href="#src-1-1"' in first_answer and 'href="#src-2-1"' in second_answer
    assert 'id="src-1-1"' in groups[1] and "试点" in groups[1].split('id="src-1-2"')[0]
    assert 'id="src-2-1"' in groups[2] and "现行方案" in groups[2].split('id="src-2-2"')[0]
    assert "第 1 问：第一个问题是什么？" in groups[1] and "第 2 问：第二个问题是什么？" in groups[2]
    # while the next answer is pending, the earlier ones stay in the panel
    pending = list(h.chat_stream("第三个问题是什么？", last.session, h.ChatOptions(), settings, qa=FakeQA(settings)))[0]
    assert list(_groups(pending.sources)) == [1, 2, 3] and "正在检索与作答" in _groups(pending.sources)[3]
    assert h.sources_html([]) == h.sources_html(None) and "提问后" in h.sources_html(None)


def test_streamed_updates_render_only_the_current_answers_sources(settings, monkeypatch):
    import ui.sources

    session = _two_answers(settings)  # two answers of two cards each
    rendered = []
    real_card = ui.sources.source_card_html
    monkeypatch.setattr(ui.sources, "source_card_html", lambda src, turn: rendered.append(turn) or real_card(src, turn))
    views, _ = ask("第三个问题是什么？", session, settings, qa=FakeQA(settings, llm_fails=True))
    assert len(views) == 4  # pending, partial text, reset text, final
    # the earlier answers' 4 cards once for the whole stream, then the new answer's 2 cards once
    assert sorted(rendered) == [1, 1, 2, 2, 3, 3]
    for v in views:  # and the browser gets the same panel as a full re-render
        assert v.sources == h.sources_html(v.session["turns"])
    groups = _groups(views[-1].sources)
    assert list(groups) == [1, 2, 3] and 'id="src-3-1"' in groups[3]
    assert groups[1].startswith('1" data-turn="1" hidden>')
    assert h.sources_renderer([])(session["turns"][0]) == h.sources_html(session["turns"][:1])


def test_invalid_question_gives_error_and_keeps_session(settings):
    session = h.new_session()
    views, qa = ask("   ", session, settings)
    assert len(views) == 1 and "问题为空" in views[0].error and views[0].session is session and not qa.calls


def test_filters_from_options(settings):
    _, qa = ask("问题", h.new_session(), settings, doc_ids=("old-doc",), region="成都市", in_force=True)
    f = qa.calls[0][1]
    assert f.doc_ids == ("old-doc",) and f.region == "成都市" and f.in_force_on == date(2026, 6, 1)
    _, qa = ask("问题", h.new_session(), settings)
    f = qa.calls[0][1]
    assert f.doc_ids is None and f.region is None and f.in_force_on is None


# --- follow-up questions -------------------------------------------------------------------------
@pytest.mark.parametrize("question, previous, expected", [
    ("那成都呢？", "到2027年四川要打造几个千亿级产业集群？", "到2027年成都要打造几个千亿级产业集群？"),
    ("那成都市呢？", "四川省人工智能产业有什么支持政策？", "成都市人工智能产业有什么支持政策？"),
    ("那四川呢？", "到2025年成都市制造业规模目标是多少？", "到2025年四川省制造业规模目标是多少？"),
    ("那2030年呢？", "到2025年成都市制造业规模目标是多少？", "到2030年成都市制造业规模目标是多少？"),
    ("那生物医药产业呢？", "四川的人工智能产业有什么目标？", "四川的生物医药产业有什么目标？"),
    ("那人才呢？", "四川支持哪些未来产业？", "人才：四川支持哪些未来产业？"),
    ("成都有哪些未来产业呢？", "四川支持哪些未来产业？", "成都有哪些未来产业呢？"),  # a full question
    ("成都有哪些未来产业？", None, "成都有哪些未来产业？"),
    # text inside 《》 is a document's name: region and year swaps leave it as written
    ("那成都呢？", "《四川省“十四五”高新技术产业发展规划》提出四川要培育多少家企业？",
     "《四川省“十四五”高新技术产业发展规划》提出成都要培育多少家企业？"),
    ("那成都市呢？", "《四川省数字经济方案》里全省的目标是什么？", "《四川省数字经济方案》里全市的目标是什么？"),
    ("那成都呢？", "《四川省“十四五”高新技术产业发展规划》的主要目标是什么？",
     "成都：《四川省“十四五”高新技术产业发展规划》的主要目标是什么？"),
    ("那2030年呢？", "《实施方案(2025—2027年)》提出到2027年的目标是多少？", "《实施方案(2025—2027年)》提出到2030年的目标是多少？"),
])
def test_rewrite_followup(question, previous, expected):
    assert rewrite_followup(question, previous).question == expected


TITLES = ["四川省“十四五”高新技术产业发展规划(2021-2025年)(征求意见稿)", "成都制造业规划"]


@pytest.mark.parametrize("question, previous, expected", [
    # a known title (also without its parenthesised tail) is left as written, the rest is swapped
    ("那成都呢？", "四川省“十四五”高新技术产业发展规划对四川的要求是什么？",
     "四川省“十四五”高新技术产业发展规划对成都的要求是什么？"),
    ("那四川呢？", "成都制造业规划中成都的目标是什么？", "成都制造业规划中四川的目标是什么？"),
    ("那成都呢？", "四川省“十四五”高新技术产业发展规划的主要目标是什么？",
     "成都：四川省“十四五”高新技术产业发展规划的主要目标是什么？"),
])
def test_rewrite_followup_leaves_document_titles(question, previous, expected):
    assert rewrite_followup(question, previous, titles=TITLES).question == expected
    assert rewrite_followup(question, previous, previous_title=TITLES[0], titles=TITLES[1:]).question == expected


def test_followup_in_chat_leaves_titles_of_indexed_documents(settings):
    views, _ = ask("成都市“十三五”规划中成都的目标是什么？", h.new_session(), settings)
    views, qa = ask("那四川呢？", views[-1].session, settings)
    assert qa.calls[0][0] == "成都市“十三五”规划中四川的目标是什么？"  # EXPIRED's title kept
    assert qa.calls[0][1].region == "四川省"


def test_followup_in_chat_is_rewritten_shown_and_scoped(settings):
    views, _ = ask("到2027年四川要打造几个千亿级产业集群？", h.new_session(), settings)
    views, qa = ask("那成都呢？", views[-1].session, settings)
    asked, filters = qa.calls[0]
    assert asked == "到2027年成都要打造几个千亿级产业集群？"
    assert filters.region == "成都市"  # the follow-up asks about Chengdu's documents
    shown = views[-1].messages[-1]["content"]
    assert "按上下文理解为：到2027年成都要打造几个千亿级产业集群？" in shown
    assert views[-1].messages[-2]["content"] == '<div class="rag-q">那成都呢？</div>'
    # a region chosen by the user wins over the follow-up's region
    _, qa = ask("那成都呢？", views[-1].session, settings, region="四川省")
    assert qa.calls[0][1].region == "四川省"


# --- export and feedback -------------------------------------------------------------------------
def _two_answers(settings) -> dict:
    """A session of two answers: the first cites the draft document first, the second the current one."""
    views, _ = ask("千亿级产业集群有几个？", h.new_session(), settings)
    views, _ = ask("第二个问题是什么？", views[-1].session, settings, qa=FakeQA(settings, first=CURRENT))
    return views[-1].session


def test_markdown_export_of_one_answer(settings, tmp_path):
    session = _two_answers(settings)
    path = h.write_export(session, tmp_path / "out", turn_no=1)
    md = path.read_text(encoding="utf-8")
    assert path.suffix == ".md" and "第1问" in path.name
    assert md.startswith("# 问：千亿级产业集群有几个？")
    assert "[1]" in md and "## 来源" in md and f"> {QUOTE}" in md
    assert "征求意见稿" in md and "已到期" in md and "章节：一、目标 › <i>章节</i>" in md
    assert "现行方案" not in md  # answer 2's source
    assert "现行方案" in h.write_export(session, tmp_path, turn_no=2).read_text(encoding="utf-8")
    with pytest.raises(h.RagError, match="还没有"):
        h.write_export(h.new_session(), tmp_path)
    with pytest.raises(h.RagError, match="第 3 问"):
        h.write_export(session, tmp_path, turn_no=3)


def test_markdown_export_of_the_conversation_keeps_each_answers_sources(settings, tmp_path):
    session = _two_answers(settings)
    md = h.write_export(session, tmp_path).read_text(encoding="utf-8")
    assert md.startswith("# 政策问答记录") and "共 2 问" in md
    first, second = md.split("## 第 2 问：第二个问题是什么？")
    assert "## 第 1 问：千亿级产业集群有几个？" in first and "## 第 1 问" not in second
    assert "### 来源" in first and "### 来源" in second
    assert "[1] 《试点<script>alert(1)</script>规划(征求意见稿)》" in first and "现行方案" not in first
    assert "[1] 《现行方案》" in second and "试点" not in second
    # a turn still being answered is left out
    pending = list(h.chat_stream("第三个问题？", session, h.ChatOptions(), settings, qa=FakeQA(settings)))[0]
    assert "第 3 问" not in h.conversation_markdown(pending.session)


def _feedback_rows(settings) -> list[dict]:
    return [json.loads(line) for line in (settings.data_dir / "feedback.jsonl").read_text("utf-8").splitlines()]


def test_feedback_appended_as_jsonl(settings):
    views, _ = ask("千亿级产业集群有几个？", h.new_session(), settings)
    session = views[-1].session
    assert "感谢" in h.record_feedback(session, "up", settings)
    h.record_feedback(session, "down", settings)
    rows = _feedback_rows(settings)
    assert [r["rating"] for r in rows] == ["up", "down"] and [r["turn"] for r in rows] == [1, 1]
    row = rows[0]
    assert row["question"] == "千亿级产业集群有几个？" and QUOTE in row["answer"]
    assert [c["n"] for c in row["citations"]] == [1, 2] and row["citations"][0]["quote"] == QUOTE
    assert row["timestamp"][:4].isdigit() and "T" in row["timestamp"]
    assert len(row["session"]) == 12 and row["session"] == session["id"]
    with pytest.raises(h.RagError):
        h.record_feedback(h.new_session(), "up", settings)
    with pytest.raises(ValueError):
        h.record_feedback(session, "meh", settings)
    assert len(_feedback_rows(settings)) == 2  # refused feedback writes nothing


def test_feedback_rates_the_answer_it_was_given_on(settings):
    session = _two_answers(settings)
    assert h.turn_of_message(1) == 1 and h.turn_of_message(3) == 2 and h.turn_of_message((3, 0)) == 2
    assert "第 1 问" in h.like_feedback(session, 1, False, settings)  # 👎 under the first answer
    h.like_feedback(session, 3, True, settings)
    h.like_feedback(session, 1, "", settings)  # the 👎 taken back
    rows = _feedback_rows(settings)
    assert [(r["turn"], r["rating"]) for r in rows] == [(1, "down"), (2, "up"), (1, "withdrawn")]
    assert rows[0]["question"] == "千亿级产业集群有几个？" and rows[1]["question"] == "第二个问题是什么？"
    assert rows[0]["citations"][0]["doc_id"] == "draft-doc" and rows[1]["citations"][0]["doc_id"] == "new-doc"
    assert len({r["session"] for r in rows}) == 1
    for index, message in ((0, "不能评价问题"), (5, "第 3 问"), (-1, "bad message index"), ("1", "bad")):
        with pytest.raises(h.RagError, match=message):
            h.like_feedback(session, index, True, settings)
    with pytest.raises(ValueError):
        h.like_feedback(session, 1, 1, settings)
    pending = list(h.chat_stream("第三个问题？", session, h.ChatOptions(), settings, qa=FakeQA(settings)))[0]
    with pytest.raises(h.RagError, match="还在作答"):
        h.like_feedback(pending.session, 5, True, settings)
    assert len(_feedback_rows(settings)) == 3
    # another conversation gets another id
    other, _ = ask("千亿级产业集群有几个？", h.new_session(), settings)
    assert other[-1].session["id"] != session["id"]


def test_retrieval_table_shows_three_scores(settings):
    out = h.retrieval_html("段落", h.ChatOptions(), settings, qa=FakeQA(settings))
    assert "3.200" in out and "0.410" in out and "0.0320" in out and "段落&lt;一&gt;" in out


# --- a tiny real corpus ----------------------------------------------------------------------------
SC_TEXT = ("四川省数字经济促进方案(征求意见稿)\n\n一、总体目标\n\n到2027年，四川省数字经济核心产业增加值达到8000亿元，"
           "培育10个数字产业集群。\n\n二、重点任务\n\n（一）发展人工智能\n\n支持人工智能企业建设算力中心，"
           "对新建智算中心给予补贴。\n\n（二）发展集成电路\n\n推动集成电路设计、制造、封测协同发展。\n")
CD_TEXT = ("成都市“十三五”工业发展规划\n\n一、发展目标\n\n到2020年，成都市工业增加值突破5000亿元，"
           "电子信息产业规模达到万亿级。\n\n二、重点产业\n\n（一）电子信息\n\n建设全球重要的电子信息产业基地。\n")


@pytest.fixture(scope="module")
def tiny_template(tmp_path_factory):
    """A two-document corpus ingested once; tests copy it so that none sees another's changes."""
    root = tmp_path_factory.mktemp("tiny")
    corpus = root / "corpus"
    (corpus / "docs").mkdir(parents=True)
    (corpus / "docs" / "sc.txt").write_text(SC_TEXT, encoding="utf-8")
    (corpus / "docs" / "cd.txt").write_text(CD_TEXT, encoding="utf-8")
    manifest = {"version": 1, "documents": [
        {"id": "sc-digital", "file": "docs/sc.txt", "title": "四川省数字经济促进方案(征求意见稿)", "level": "省级",
         "region": "四川省", "period_start": 2025, "period_end": 2027, "status": "征求意见稿"},
        {"id": "cd-industry-13th", "file": "docs/cd.txt", "title": "成都市“十三五”工业发展规划", "level": "市级",
         "region": "成都市", "period_start": 2016, "period_end": 2020}]}
    (corpus / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    from rag.index.build import ingest

    settings = Settings(data_dir=root / "data", corpus_dir=corpus, today=TODAY)
    ingest(settings)
    return settings


@pytest.fixture
def tiny(tiny_template, tmp_path):
    import shutil

    shutil.copytree(tiny_template.data_dir, tmp_path / "data")
    return tiny_template.with_(data_dir=tmp_path / "data")


def _state(settings) -> dict:
    """Everything a knowledge-base change could touch."""
    uploads = kb.uploads_dir(settings)
    return {"uploads": sorted(p.name for p in uploads.iterdir()) if uploads.exists() else [],
            "current": (settings.data_dir / "index" / "CURRENT.json").read_text("utf-8"),
            "kb": kb.excluded(settings)}


def test_kb_lists_documents_with_metadata_and_chunk_counts(tiny):
    docs = {d.doc_id: d for d in kb.list_documents(tiny)}
    assert set(docs) == {"sc-digital", "cd-industry-13th"}
    assert docs["sc-digital"].badges == DocumentBadges("省级", "四川省", "2025—2027年", "征求意见稿", False, True,
                                                       doc_type="方案")  # the type read from the title
    assert docs["cd-industry-13th"].badges == DocumentBadges("市级", "成都市", "2016—2020年", None, True, False,
                                                             doc_type="规划")
    assert all(d.n_chunks >= 2 and d.origin == "bundled" for d in docs.values())
    rows = h.kb_rows(tiny)
    assert rows[0][5] == "征求意见稿" and rows[1][5] == "已到期" and rows[0][7] == "内置"


@pytest.mark.parametrize("name, content, message", [
    ("病毒.exe", b"MZ\x90\x00", "不支持的文件类型"),
    ("notes.csv", "a,b\n".encode(), "不支持的文件类型"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "二进制"),
    ("empty.txt", b"", "文件为空"),
    ("blank.md", b"   \n\n", "没有文字内容"),
    ("broken.pdf", b"%PDF-1.4 not really a pdf", "已损坏"),
    ("broken.docx", b"PK\x03\x04 nonsense", "已损坏"),
])
def test_kb_add_rejects_bad_files_and_changes_nothing(tiny, tmp_path, name, content, message):
    before = _state(tiny)
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(kb.KnowledgeBaseError, match=message):
        h.kb_upload(str(path), tiny)
    assert _state(tiny) == before


def test_kb_add_rejects_too_big_file(tiny, tmp_path):
    before = _state(tiny)
    path = tmp_path / "big.txt"
    path.write_bytes("政策".encode() * 100)
    with pytest.raises(kb.KnowledgeBaseError, match="文件过大"):
        kb.add_upload(tiny, path, max_bytes=500)
    big = tmp_path / "huge.txt"
    with open(big, "wb") as fh:
        fh.truncate(kb.MAX_UPLOAD_BYTES + 1)
    with pytest.raises(kb.KnowledgeBaseError, match="文件过大"):
        kb.add_upload(tiny, big)
    assert _state(tiny) == before


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd.txt", "passwd.txt"), ("C:\\Users\\x\\政策 文件 (1).TXT", "政策_文件_(1).txt"),
    ("a<b>c.md", "a_b_c.md"), (".hidden.txt", "hidden.txt"),
])
def test_sanitize_filename(name, expected):
    assert kb.sanitize_filename(name) == expected


def test_kb_add_ask_and_delete_upload(tiny, tmp_path):
    upload = tmp_path / "测试政策.txt"
    upload.write_text("测试政策\n\n一、支持措施\n\n对星河量子织布企业给予每家最高500万元的一次性奖励。\n", encoding="utf-8")
    message = h.kb_upload(str(upload), tiny)
    assert "已添加" in message and (kb.uploads_dir(tiny) / "测试政策.txt").exists()
    docs = {d.doc_id: d for d in kb.list_documents(tiny)}
    assert docs["测试政策"].origin == "upload" and docs["测试政策"].n_chunks >= 1
    with pytest.raises(kb.KnowledgeBaseError, match="同名"):
        h.kb_upload(str(upload), tiny)

    views = list(h.chat_stream("星河量子织布企业能获得多少奖励？", h.new_session(), h.ChatOptions(), tiny))
    turn = views[-1].session["turns"][-1]
    assert turn["citations"] and turn["citations"][0]["doc_id"] == "测试政策"
    assert "<mark>" in views[-1].sources and "500万元" in views[-1].sources

    assert "已删除" in h.kb_delete("测试政策", tiny)
    assert not (kb.uploads_dir(tiny) / "测试政策.txt").exists()
    assert "测试政策" not in {d.doc_id for d in kb.list_documents(tiny)}


@pytest.mark.parametrize("name", [
    "../../../../../../tmp/逃逸.txt", "..\\..\\windows\\逃逸.txt", "/etc/cron.d/逃逸.md",
    "政策\x00文件\x1b[31m\r\n\t名.txt", "长" * 400 + ".txt", "..", "a/../../b/..txt",
])
def test_upload_names_are_sanitised_and_stay_in_the_uploads_folder(tiny, tmp_path, name):
    """End to end through add_upload: whatever the browser sends as the file's name, the stored file is
    a plain short name directly inside data_dir/uploads, or the upload is refused and nothing changes."""
    source = tmp_path / "upload-source.txt"
    source.write_text("上传文件\n\n一、措施\n\n对测试企业给予奖励。\n", encoding="utf-8")
    outside_before = sorted(str(p) for p in tmp_path.rglob("*") if tiny.data_dir not in p.parents)
    before = _state(tiny)
    try:
        doc_id, _ = kb.add_upload(tiny, source, name)
    except kb.KnowledgeBaseError as exc:  # nothing usable left of the name: refused, one line, nothing changed
        assert "文件名无效" in str(exc) and "\n" not in str(exc) and _state(tiny) == before
        return
    stored = [p for p in kb.uploads_dir(tiny).iterdir()]
    assert len(stored) == 1 and stored[0].parent == kb.uploads_dir(tiny)
    assert stored[0].resolve().is_relative_to(tiny.data_dir.resolve())
    assert len(stored[0].name) <= 90 and not stored[0].name.startswith(".")
    assert not any(ord(ch) < 32 or ch in "/\\" for ch in stored[0].name)
    assert sorted(str(p) for p in tmp_path.rglob("*") if tiny.data_dir not in p.parents) == outside_before
    assert doc_id in {d.doc_id for d in kb.list_documents(tiny)}


def test_kb_add_several_files_at_once(tiny, tmp_path):
    """Several uploads in one action: the good ones are added (each named), a bad one is named with its
    reason and changes nothing; progress descriptions say which file is being indexed."""
    files = []
    for name, body in (("甲方案.txt", "甲方案\n\n一、支持\n\n对甲类企业奖励100万元。\n"),
                       ("乙办法.md", "# 乙办法\n\n## 一、支持\n\n对乙类企业奖励200万元。\n"),
                       ("坏文件.exe", "MZ")):
        files.append(tmp_path / name)
        files[-1].write_text(body, encoding="utf-8")
    seen = []

    def progress(items, desc, total):
        seen.append(desc)
        return items

    message = h.kb_upload([str(f) for f in files], tiny, progress)
    assert message.startswith("已添加“甲方案”、“乙办法”。")
    assert "未添加 1 个文件" in message and "坏文件.exe" in message and "不支持的文件类型" in message
    assert {"甲方案", "乙办法"} <= {d.doc_id for d in kb.list_documents(tiny)}
    assert sorted(p.name for p in kb.uploads_dir(tiny).iterdir()) == ["乙办法.md", "甲方案.txt"]
    assert any(d.startswith("（1/3）甲方案.txt：") for d in seen) and any(d.startswith("（2/3）乙办法.md：") for d in seen)
    before = _state(tiny)
    with pytest.raises(kb.KnowledgeBaseError, match="2 个文件都未能添加") as err:
        h.kb_upload([str(files[2]), str(files[0])], tiny)  # a bad file and one already added
    assert "同名" in str(err.value) and _state(tiny) == before
    with pytest.raises(kb.KnowledgeBaseError, match="请先选择"):
        h.kb_upload([], tiny)


def test_kb_delete_hides_bundled_document_and_restore(tiny):
    kept = {c.chunk_id for c in load_index(tiny).chunks if c.doc_id == "sc-digital"}
    report = kb.delete_document(tiny, "cd-industry-13th")
    assert report.excluded == ["cd-industry-13th"] and report.unchanged == ["sc-digital"]
    assert {c.chunk_id for c in load_index(tiny).chunks} == kept  # the kept document is not re-chunked
    assert not (tiny.data_dir / "kb").exists()  # hidden by ingest's exclude=, no copy of the corpus
    assert kb.excluded(tiny) == ["cd-industry-13th"]
    assert [d.doc_id for d in kb.list_documents(tiny)] == ["sc-digital"]
    assert kb.hidden_documents(tiny) == [("cd-industry-13th", "成都市“十三五”工业发展规划")]
    with pytest.raises(kb.KnowledgeBaseError, match="最后一份"):
        h.kb_delete("sc-digital", tiny)
    with pytest.raises(kb.KnowledgeBaseError, match="找不到"):
        h.kb_delete("no-such-doc", tiny)
    assert "重建完成" in h.kb_reindex(tiny)  # a re-index keeps the document hidden
    assert [d.doc_id for d in kb.list_documents(tiny)] == ["sc-digital"]
    from rag.index.build import ingest

    assert ingest(tiny.with_()).excluded == ["cd-industry-13th"]  # so does a default ingest after a restart
    assert [d.doc_id for d in kb.list_documents(tiny)] == ["sc-digital"]
    h.kb_restore("cd-industry-13th", tiny)
    assert {d.doc_id for d in kb.list_documents(tiny)} == {"sc-digital", "cd-industry-13th"}
    assert not (tiny.data_dir / "kb").exists()


def test_kb_metadata_lists_every_doc_field_with_its_source(tiny):
    rows = {f: (label, value, source) for f, label, value, source in h.kb_metadata("sc-digital", tiny)}
    assert list(rows) == list(h.META_FIELDS)
    assert rows["title"] == ("标题", "四川省数字经济促进方案(征求意见稿)", "文件清单（manifest.json）")
    assert rows["region"][1:] == ("四川省", "文件清单（manifest.json）")
    assert rows["doc_type"][1] == "方案" and rows["doc_type"][2].startswith("原文：“四川省数字经济促进方案")
    assert rows["issuer"][1:] == ("未注明", "未注明") and rows["effective_date"][1:] == ("未注明", "未注明")
    assert rows["period_start"][1] == "2025" and int(rows["chunks"][1]) >= 2 and rows["chunks"][2] == "索引"
    html = h.kb_metadata_html("sc-digital", tiny)
    assert '<tr data-field="issuer"><th>发文机关</th><td class="rag-meta-value rag-unknown">未注明</td>' in html
    assert "选择文件后" in h.kb_metadata_html(None, tiny) and "没有文件" in h.kb_metadata_html("gone", tiny)
    assert [f for _, f in h.field_choices()] == [f for f in h.META_FIELDS if f != "chunks"]


def test_kb_metadata_correction_reindexes_shows_and_clears(tiny):
    message = h.kb_save_metadata("sc-digital", "issuer", " 四川省<b>经济</b>厅 ", tiny)
    assert message.startswith("已将") and "发文机关" in message and "\\<b\\>" in message  # Markdown-inert
    rows = {f: (value, source) for f, _, value, source in h.kb_metadata("sc-digital", tiny)}
    assert rows["issuer"] == ("四川省<b>经济</b>厅", "用户更正")  # applied at once (re-indexed)
    html = h.kb_metadata_html("sc-digital", tiny)
    assert "<b>" not in html and "四川省&lt;b&gt;经济&lt;/b&gt;厅" in html
    h.kb_save_metadata("sc-digital", "effective_date", "2026-09-01", tiny)  # after today (2026-06-01)
    h.kb_save_metadata("sc-digital", "period_end", "2030", tiny)
    assert h.kb_rows(tiny)[0][5] == "征求意见稿、尚未施行"
    badges = {d.doc_id: d for d in kb.list_documents(tiny)}["sc-digital"].badges
    assert (badges.issuer, badges.effective_date, badges.period) == ("四川省<b>经济</b>厅", "2026-09-01", "2025—2030年")
    from rag.index.build import ingest

    ingest(tiny.with_())  # a later re-ingest keeps the corrections
    assert dict((f, v) for f, _, v, _ in h.kb_metadata("sc-digital", tiny))["period_end"] == "2030"
    assert "已撤销" in h.kb_clear_metadata("sc-digital", "issuer", tiny)
    rows = {f: (value, source) for f, _, value, source in h.kb_metadata("sc-digital", tiny)}
    assert rows["issuer"] == ("未注明", "未注明") and rows["period_end"] == ("2030", "用户更正")
    with pytest.raises(kb.KnowledgeBaseError, match="没有用户更正"):
        h.kb_clear_metadata("sc-digital", "issuer", tiny)
    h.kb_save_metadata("sc-digital", "status", "", tiny)  # empty = recorded as unknown (no longer a draft)
    assert h.kb_rows(tiny)[0][5] == "尚未施行"


@pytest.mark.parametrize("doc_id, field, value, message", [
    ("sc-digital", "issued_date", "2025年3月1日", "发布日期应为日期 YYYY-MM-DD 或 YYYY-MM"),
    ("sc-digital", "effective_date", "2025-02-30", "施行日期应为日期"),
    ("sc-digital", "period_end", "明年", "截止年份应为四位整数年份"),
    ("sc-digital", "period_start", "2025.5", "起始年份应为四位整数年份"),
    ("sc-digital", "period_start", "2030", "起始年份 2030 晚于截止年份 2027"),
    ("sc-digital", "level", "地级", "层级应为 国家级、省级、市级、县级 之一"),
    ("sc-digital", "title", " ", "标题不能为空"),
    ("sc-digital", "issuer", "第一行\n第二行", "只能是一行文字"),
    ("sc-digital", "chunks", "9", "不能更正字段"),
    ("sc-digital", None, "x", "请先选择要更正的字段"),
    (None, "issuer", "x", "请先选择文件"),
    ("no-such-doc", "issuer", "x", "索引中没有文件"),
])
def test_kb_metadata_bad_value_is_refused_in_one_line_and_changes_nothing(tiny, doc_id, field, value, message):
    before = (_state(tiny), h.kb_metadata("sc-digital", tiny))
    with pytest.raises(kb.KnowledgeBaseError) as err:
        h.kb_save_metadata(doc_id, field, value, tiny)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert (_state(tiny), h.kb_metadata("sc-digital", tiny)) == before and not kb.metadata_path(tiny).exists()


def test_source_cards_and_export_show_issuer_number_dates_and_status(settings):
    reg = DocumentMeta("reg", "r.md", "r.md", "某市<i>数据</i>条例", issuer="某市人大常委会", doc_number="公告第28号",
                       doc_type="条例", date="2025-12-30", effective_date="2026-09-01", status="试行")
    qa = FakeQA(settings, first=reg)
    qa.index = type("Index", (), {"docs": {**FakeIndex.docs, "reg": reg}})()
    views, _ = ask("问题", h.new_session(), settings, qa=qa)
    card = views[-1].sources.split('<div class="rag-src"')[1]
    meta = card.split('class="rag-src-meta">')[1].split("</div>")[0]
    assert meta == "某市人大常委会 · 公告第28号 · 条例 · 发布 2025-12-30 · 施行 2026-09-01 · 试行"
    assert '<span class="rag-badge rag-badge-draft">尚未施行</span>' in card and "&lt;i&gt;数据" in card
    md = h.answer_markdown(views[-1].session["turns"][0])
    assert "[1] 《某市<i>数据</i>条例》（某市人大常委会，公告第28号，条例，发布 2025-12-30，施行 2026-09-01，试行，尚未施行）" in md
    gone = replace(reg, status="已废止", effective_date=None)
    assert h.badges_html(DocumentBadges.of(gone, date(2026, 6, 1))) == '<span class="rag-badge rag-badge-expired">已废止</span>'
    assert "已废止" not in h.document_facts(DocumentBadges.of(gone, date(2026, 6, 1)))  # the badge says it once


def test_kb_hide_rolled_back_when_ingest_fails(tiny, monkeypatch):
    from rag.index import generation
    from rag.errors import IngestError

    before = _state(tiny)
    monkeypatch.setattr(generation, "write_current", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(IngestError, match="previous index is unchanged"):
        h.kb_delete("cd-industry-13th", tiny)
    assert _state(tiny) == before and kb.excluded(tiny) == []
    assert {d.doc_id for d in kb.list_documents(tiny)} == {"sc-digital", "cd-industry-13th"}


def test_kb_reindex_removes_filtered_copy_of_earlier_versions(tiny):
    legacy = tiny.data_dir / "kb" / "corpus"
    legacy.mkdir(parents=True)
    (legacy / "manifest.json").write_text("{}", encoding="utf-8")
    h.kb_reindex(tiny)
    assert not legacy.exists()


def test_real_chat_with_region_filter(tiny):
    views = list(h.chat_stream("到2027年数字经济核心产业增加值达到多少？", h.new_session(), h.ChatOptions(), tiny))
    turn = views[-1].session["turns"][-1]
    assert "8000亿元" in turn["text"] and "[1]" in turn["text"] and turn["mode"] == "extractive"
    assert "征求意见稿" in views[-1].sources
    views = list(h.chat_stream("发展目标是什么？", h.new_session(), h.ChatOptions(region="成都市"), tiny))
    assert {s["badges"]["region"] for s in views[-1].session["turns"][-1]["sources"]} == {"成都市"}


# --- import hygiene ------------------------------------------------------------------------------
def test_import_rag_does_not_import_gradio():
    code = "import rag, rag.pipeline, rag.index.kb, rag.understand.conversation, rag.cli, sys; assert 'gradio' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT, timeout=120)


def test_cli_registers_ui_and_refuses_remote_without_flag(capsys):
    from rag.cli import main

    assert main(["ui", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert main(["ui", "--auth", "nopassword"]) == 2
    from ui.cli import is_loopback, parse_auth

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert parse_auth("admin:s:e:cret") == ("admin", "s:e:cret")


@pytest.fixture
def served(monkeypatch, settings):
    """``rag ui`` with ui.app.serve replaced by a recorder (nothing is launched); the index exists."""
    import ui.app
    from rag.index import store as index

    calls = []
    monkeypatch.setenv("RAG_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("RAG_UI_AUTH", raising=False)
    monkeypatch.setattr(index, "read_current", lambda s: {"generation": "g"})
    monkeypatch.setattr(ui.app, "serve", lambda s, **kw: calls.append(kw))
    return calls


def test_ui_binds_to_loopback_by_default(served, capsys):
    from rag.cli import main

    assert main(["ui"]) == 0
    assert served[-1]["host"] == "127.0.0.1" and served[-1]["auth"] is None
    assert main(["ui", "--auth", "officer:s3cret"]) == 0  # a login on loopback is honoured too
    assert served[-1]["auth"] == ("officer", "s3cret")


@pytest.mark.parametrize("argv, env, needs", [
    (["--host", "0.0.0.0"], {}, "--allow-remote"),
    (["--host", "192.168.1.5", "--allow-remote"], {}, "--auth USER:PASS"),  # allowed, but no login: refused
    (["--host", "::", "--allow-remote"], {"RAG_UI_AUTH": ""}, "RAG_UI_AUTH=USER:PASS"),
    (["--host", "0.0.0.0", "--allow-remote"], {"RAG_UI_AUTH": "admin"}, "RAG_UI_AUTH must be USER:PASS"),
    (["--host", "0.0.0.0", "--allow-remote", "--auth", ":pw"], {}, "--auth must be USER:PASS"),
])
def test_ui_refuses_a_network_bind_without_login(served, capsys, monkeypatch, argv, env, needs):
    from rag.cli import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["ui", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and needs in err
    assert served == []  # nothing was served


@pytest.mark.parametrize("argv, env", [
    (["--host", "0.0.0.0", "--allow-remote", "--auth", "admin:pw"], {}),
    (["--host", "0.0.0.0", "--allow-remote"], {"RAG_UI_AUTH": "admin:pw"}),  # kept out of the process list
])
def test_ui_network_bind_with_allow_remote_and_login(served, monkeypatch, argv, env):
    from rag.cli import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["ui", *argv]) == 0
    assert served[-1]["host"] == "0.0.0.0" and served[-1]["auth"] == ("admin", "pw")


def test_handlers_module_is_gradio_free():
    code = "import ui.handlers, sys; assert 'gradio' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT, timeout=120)
    assert Path(h.__file__).parent.name == "ui"


# --- layout ----------------------------------------------------------------------------------------
def _components(demo) -> list[dict]:
    return [{"type": c["type"], **c.get("props", {})} for c in demo.config["components"]]


def test_app_layout_match_tab_and_model_box(settings, monkeypatch):
    import types

    from ui.app import build_app

    comps = _components(build_app(settings))
    tabs = [c.get("label") for c in comps if c["type"] == "tabitem"]
    assert tabs[:3] == ["问答", "检索测试", "知识库"]
    assert tabs[3:] in ([], ["政策匹配"])  # the matching tab when ui/match_tab.py is importable
    model = next(c for c in comps if c.get("elem_id") == "filter-model")
    assert model["visible"] is False  # no LLM configured
    chat = next(c for c in comps if c.get("elem_id") == "chat")  # 👍/👎 under each answer, not for the latest
    assert chat["feedback_options"] == ["Like", "Dislike"]
    assert not {"feedback-up", "feedback-down"} & {c.get("elem_id") for c in comps}

    upload = next(c for c in comps if c.get("elem_id") == "kb-upload")
    assert upload["file_count"] == "multiple" and "可多选" in upload["label"]
    demo = build_app(settings)
    by_id = {c["id"]: c.get("props", {}).get("elem_id") for c in demo.config["components"]}
    kb_deps = [d for d in demo.config["dependencies"]
               if any(str(by_id.get(t[0])).startswith("kb-") and t[1] == "click" for t in d["targets"])]
    # delete, restore, re-index, save / clear a metadata correction: progress on the status line only; add and
    # cancel return at once (the upload queue shows each file's status) and never wait for another change
    assert sorted(by_id[d["targets"][0][0]] for d in kb_deps) == [
        "kb-add", "kb-cancel", "kb-delete", "kb-meta-clear", "kb-meta-save", "kb-reindex", "kb-restore"]
    queued = [d for d in kb_deps if by_id[d["targets"][0][0]] in ("kb-add", "kb-cancel")]
    fns = {d["id"]: fn for d, fn in zip(demo.config["dependencies"], demo.fns.values())}
    assert all(fns[d["id"]].concurrency_id == "kb-queue" and fns[d["id"]].concurrency_limit is None for d in queued)
    assert all([by_id[i] for i in d["show_progress_on"]] == ["kb-message"] for d in kb_deps if d not in queued)
    from ui.app import launch_options

    texts = launch_options()["i18n"].translations_dict
    assert texts["en"]["upload_text.drop_file"] == "将文件拖放到此处"  # Gradio's drop zone in Chinese for all

    built = []
    fake = types.ModuleType("ui.match_tab")

    def build_match_tab(s):
        import gradio as gr

        built.append(s)
        gr.Markdown("匹配")

    fake.build_match_tab = build_match_tab
    monkeypatch.setitem(sys.modules, "ui.match_tab", fake)
    comps = _components(build_app(settings.with_(llm_enabled=True)))
    assert [c.get("label") for c in comps if c["type"] == "tabitem"][-1] == "政策匹配"
    assert built and built[0].llm_enabled
    assert next(c for c in comps if c.get("elem_id") == "filter-model")["visible"] is True


# --- the upload queue of the 知识库 tab -------------------------------------------------------------
def _policy_file(tmp_path, name, amount):
    path = tmp_path / name
    path.write_text(f"{Path(name).stem}\n\n一、支持措施\n\n对相关企业给予每家最高{amount}万元奖励。\n", encoding="utf-8")
    return path


def _count_reindex(monkeypatch):
    calls = []
    real = kb.reindex

    def counted(settings, progress=None):
        calls.append(progress)
        return real(settings, progress)

    monkeypatch.setattr(kb, "reindex", counted)
    return calls


def test_upload_queue_checks_files_in_order_and_indexes_once(tiny, tmp_path, monkeypatch):
    """Several files queued: each checked in queue order, a bad one fails with its reason and blocks
    none of the others, and the accepted ones are indexed with one re-index."""
    files = [_policy_file(tmp_path, "甲方案.txt", 100), tmp_path / "坏文件.exe", _policy_file(tmp_path, "乙办法.md", 200),
             tmp_path / "空文件.txt"]
    files[1].write_bytes(b"MZ\x90\x00")
    files[3].write_bytes(b"")
    reindexed = _count_reindex(monkeypatch)
    checked = []
    real_check = kb.check_upload
    monkeypatch.setattr(kb, "check_upload", lambda p, n=None, m=kb.MAX_UPLOAD_BYTES: checked.append(n) or
                        real_check(p, n, m))
    queue = h.UploadQueue(tiny, background=False)
    queue.submit([str(f) for f in files])
    assert [s for _, s in queue.rows()] == ["排队中"] * 4 and queue.busy
    queue.run()
    assert checked == ["甲方案.txt", "坏文件.exe", "乙办法.md", "空文件.txt"]  # queue order
    assert len(reindexed) == 1  # one re-index for the batch
    status = dict(queue.rows())
    assert status["甲方案.txt"] == "已完成（甲方案）" and status["乙办法.md"] == "已完成（乙办法）"
    assert status["坏文件.exe"].startswith("失败：不支持的文件类型") and status["空文件.txt"].startswith("失败：文件为空")
    assert {"甲方案", "乙办法"} <= {d.doc_id for d in kb.list_documents(tiny)} and not queue.busy
    assert 'data-status="失败"' in queue.html() and "坏文件.exe" in queue.html()
    queue.submit([str(files[0])])  # already added: refused with its reason, nothing re-indexed
    queue.run()
    assert queue.rows()[-1] == ("甲方案.txt", "失败：已存在同名文件“甲方案.txt”：如需替换，请先删除旧文件 (file exists)")
    assert len(reindexed) == 1


def test_upload_queue_cancel_removes_queued_files_and_stops_the_running_ingest(tiny, tmp_path, monkeypatch):
    """Cancel while the first batch is being indexed: the files still queued are 已取消 and never looked
    at, the running ingest stops between stages before its generation goes live (nothing changed)."""
    import threading

    before = _state(tiny)
    started, release = threading.Event(), threading.Event()
    real = kb.reindex

    def slow(settings, progress=None):  # the ingest of the batch waits inside its first stage
        def paused(items, desc, total):
            started.set()
            release.wait(30)
            return progress(items, desc, total)
        return real(settings, paused)

    monkeypatch.setattr(kb, "reindex", slow)
    queue = h.UploadQueue(tiny)  # a background worker, as in the app
    queue.submit([str(_policy_file(tmp_path, "丙方案.txt", 300))])
    assert started.wait(30)
    queue.submit([str(_policy_file(tmp_path, "丁方案.txt", 400)), str(_policy_file(tmp_path, "戊方案.txt", 500))])
    status = dict(queue.rows())
    assert status["丙方案.txt"].startswith("处理中") and status["丁方案.txt"] == status["戊方案.txt"] == "排队中"
    assert "已取消 3 个文件" in queue.cancel()
    release.set()
    for _ in range(300):
        if not queue.busy:
            break
        threading.Event().wait(0.1)
    assert dict(queue.rows()) == {"丙方案.txt": "已取消", "丁方案.txt": "已取消", "戊方案.txt": "已取消"}
    assert _state(tiny) == before  # no upload kept, the same generation live
    assert "没有正在处理" in queue.cancel()
    monkeypatch.setattr(kb, "reindex", real)
    queue.submit([str(_policy_file(tmp_path, "己方案.txt", 600))])  # the queue works on after a cancel
    for _ in range(300):
        if not queue.busy:
            break
        threading.Event().wait(0.1)
    assert queue.rows()[-1] == ("己方案.txt", "已完成（己方案）")


def test_chat_is_answered_while_an_upload_is_indexed(tiny, tmp_path, monkeypatch):
    """The queue's worker runs beside the chat: a question gets its answer while an ingest is held."""
    import threading

    started, release = threading.Event(), threading.Event()
    real = kb.reindex

    def held(settings, progress=None):
        started.set()
        release.wait(30)
        return real(settings, progress)

    monkeypatch.setattr(kb, "reindex", held)
    queue = h.UploadQueue(tiny)
    queue.submit([str(_policy_file(tmp_path, "庚方案.txt", 700))])
    assert started.wait(30)
    views = list(h.chat_stream("发展目标是什么？", h.new_session(), h.ChatOptions(), tiny))
    assert views[-1].session["turns"][-1]["citations"] and queue.busy  # answered while the upload runs
    release.set()
    for _ in range(300):
        if not queue.busy:
            break
        threading.Event().wait(0.1)
    assert queue.rows() == [("庚方案.txt", "已完成（庚方案）")]


def test_knowledge_base_changes_need_the_admin_when_one_is_configured(tiny, tmp_path):
    """With an admin account, every knowledge-base action of the app refuses other users (a visible
    one-line message, nothing changed) and works for the admin; without one, everybody may."""
    import types

    import gradio as gr

    from ui.app import build_app

    def handlers(demo):
        by_id = {c["id"]: c.get("props", {}).get("elem_id") for c in demo.config["components"]}
        out = {}
        for dep, fn in zip(demo.config["dependencies"], demo.fns.values()):
            for target, event in dep["targets"]:
                if event == "click" and str(by_id.get(target)).startswith("kb-"):
                    out[by_id[target]] = fn.fn
        return out

    reader, boss = types.SimpleNamespace(username="reader"), types.SimpleNamespace(username="boss")
    guarded = handlers(build_app(tiny, admin="boss"))
    assert set(guarded) == {"kb-add", "kb-cancel", "kb-delete", "kb-restore", "kb-reindex", "kb-meta-save",
                            "kb-meta-clear"}
    before = _state(tiny)
    calls = {"kb-add": ([str(_policy_file(tmp_path, "辛方案.txt", 800))],), "kb-cancel": (),
             "kb-delete": ("cd-industry-13th",), "kb-restore": ("cd-industry-13th",), "kb-reindex": (),
             "kb-meta-save": ("sc-digital", "issuer", "某某局"), "kb-meta-clear": ("sc-digital", "issuer")}
    for elem, args in calls.items():
        for request in (reader, None):
            with pytest.raises(gr.Error) as err:
                guarded[elem](*args, request=request)
            assert str(err.value.message) == h.ADMIN_ONLY and "\n" not in h.ADMIN_ONLY
    assert _state(tiny) == before and kb.metadata_corrections(tiny) == {}
    assert "已删除" in guarded["kb-delete"]("cd-industry-13th", request=boss)[0]
    assert "已恢复" in handlers(build_app(tiny))["kb-restore"]("cd-industry-13th", request=reader)[0]  # no admin set


def test_ui_admin_login_from_flag_or_environment(served, capsys, monkeypatch):
    from rag.cli import main

    monkeypatch.delenv("RAG_UI_ADMIN", raising=False)
    assert main(["ui", "--admin", "boss:s3cret"]) == 0  # loopback: the admin alone is the login
    assert served[-1]["admin"] == ("boss", "s3cret") and served[-1]["auth"] is None
    monkeypatch.setenv("RAG_UI_ADMIN", "boss:env")
    assert main(["ui", "--auth", "reader:pw"]) == 0
    assert served[-1]["admin"] == ("boss", "env") and served[-1]["auth"] == ("reader", "pw")
    assert main(["ui", "--host", "0.0.0.0", "--allow-remote"]) == 0  # the admin login counts as a login
    assert main(["ui", "--auth", "boss:pw"]) == 2  # the same user name for both: refused
    assert "own user name" in capsys.readouterr().err
    monkeypatch.setenv("RAG_UI_ADMIN", "boss")
    assert main(["ui"]) == 2 and "RAG_UI_ADMIN must be USER:PASS" in capsys.readouterr().err
