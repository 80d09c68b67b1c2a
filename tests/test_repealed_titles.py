"""Former texts the indexed documents repeal: a question about one finds the passage saying so
(rag.understand.references.repealed_titles, rag.retrieve.hybrid._repeal_passages_first)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.understand.references import RepealData, repealed_titles, title_key

pytestmark = pytest.mark.unit


def _index(*texts: str, titles=("某市水资源条例",)):
    chunks = [SimpleNamespace(text=t, doc_id=f"d{i}") for i, t in enumerate(texts)]
    docs = {f"t{i}": SimpleNamespace(title=t) for i, t in enumerate(titles)}
    return SimpleNamespace(chunks=chunks, docs=docs)


REPEAL = ("第六十九条本办法自2004年10月1日起施行。1991年9月14日某市人大常委会通过的《某市城市节约用水条例》、"
          "1992年发布的《〈某市水资源管理条例〉罚款处罚办法》同时废止。")
CITE = "第十条违反《中华人民共和国水法》规定的，依照《某市城市节约用水条例》处理。"


def test_a_sentence_saying_a_quoted_text_no_longer_applies_marks_it_repealed():
    repealed = RepealData(_index(CITE, REPEAL)).repealed
    assert repealed == {"某市城市节约用水条例": (1,), "某市水资源管理条例罚款处罚办法": (1,)}  # not the citing row 0
    assert title_key("《中华人民共和国〈水法〉实施办法》"[1:-1]) == "水法实施办法"


@pytest.mark.parametrize("question", ["以前的《某市城市节约用水条例》现在还有效吗？",
                                      "某市城市节约用水条例还管用吗",
                                      "那个城市节约用水条例现在还有效吗"])
def test_a_question_naming_a_repealed_text_by_title_or_by_its_part_finds_it(question):
    assert repealed_titles(question, _index(REPEAL)) == ("某市城市节约用水条例",)


def test_short_phrases_and_indexed_titles_name_no_repealed_text():
    index = _index(REPEAL, "第一条《某市水资源条例》同时废止。", titles=("某市水资源条例",))
    assert repealed_titles("节约用水条例还有效吗", index) == ()  # 6 characters: too short to name one
    assert repealed_titles("某市水资源条例还有效吗", index) == ()  # an indexed document of that title
    assert repealed_titles("水资源费怎么收", _index(REPEAL)) == ()


@pytest.mark.integration
def test_retrieval_puts_the_repealing_article_first(tmp_path):
    from rag.index.build import ingest
    from rag.pipeline import PolicyQA
    from rag.settings import Settings
    from rag.understand.query import plan_query

    docs = tmp_path / "docs"
    docs.mkdir()
    articles = "\n\n".join(f"第{n}条 本市加强水资源管理，节约用水，第{n}项措施由水务部门负责落实。" for n in "一二三四五六七八九十")
    (docs / "某市实施水法办法.md").write_text(
        "# 某市实施水法办法\n\n（2004年5月27日某市人民代表大会常务委员会通过）\n\n" + articles
        + "\n\n第十一条 本办法自2004年10月1日起施行。1991年9月14日通过的《某市城市节约用水条例》同时废止。\n",
        encoding="utf-8")
    (docs / "某市节约用水管理规定.md").write_text(
        "# 某市节约用水管理规定\n\n" + "\n\n".join(f"第{n}条 城市节约用水应当计划用水，第{n}款。" for n in "一二三四五六")
        + "\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data")
    ingest(settings, sorted(docs.iterdir()), exclude=[])
    qa = PolicyQA(settings, auto_ingest=False)
    question = "以前的《某市城市节约用水条例》现在还有效吗？"
    plan = plan_query(question, qa.index, settings)
    assert plan.repealed == ("某市城市节约用水条例",) and plan.about_document
    hits = qa.retrieve(question, 5)
    assert "同时废止" in hits[0].chunk.text
    answer = qa.ask(question)
    assert not answer.refused and answer.text.startswith("《某市城市节约用水条例》已废止（《某市实施水法办法》：“")
    assert answer.citations[0].quote in hits[0].chunk.text and "同时废止" in answer.citations[0].quote
