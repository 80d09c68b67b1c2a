"""English and mixed questions: mapped to the documents' Chinese terms, or told to ask in Chinese."""

from __future__ import annotations

import pytest

from rag.understand.language import ASK_IN_CHINESE, map_english, prepare_question, question_kind
from rag.types import DocumentMeta


def test_question_kinds():
    assert question_kind("到2027年要打造几个千亿级产业集群？") == "zh"
    assert question_kind("AI产业和5G有什么支持政策？") == "zh"  # acronyms beside Chinese text
    assert question_kind("人工智能 industry 有哪些 subsidies？") == "mixed"
    assert question_kind("What subsidies do SMEs get?") == "en"


def test_english_words_map_to_policy_terms_and_places():
    terms, mapped, unmapped = map_english("What subsidies do SMEs get in Hangzhou by 2027?")
    assert {"补贴", "中小企业", "杭州", "2027年"} <= set(terms) and not unmapped
    # phrases before words, inflected forms reduced, possessives and provinces
    terms, _, _ = map_english("Zhejiang Province's penalties for illegal parking")
    assert terms[:1] == ["浙江省"] and "停车" in terms and "罚款" in terms and "园区" not in terms
    terms, _, _ = map_english("hundred-billion-yuan industrial clusters")
    assert terms == ["千亿级", "产业集群"]  # the documents' word for a hundred-billion-yuan scale


class _Index:
    docs = {"hz": DocumentMeta("hz", "hz.txt", "hz.txt", "杭州市生活垃圾管理条例", region="杭州市")}


def test_prepare_english_question_over_another_place():
    prep = prepare_question("When does the Hangzhou household waste regulation take effect?", _Index())
    assert prep.kind == "en" and prep.reply is None
    assert {"杭州", "生活垃圾", "条例", "施行"} <= set(prep.query.split())
    assert prep.notices and prep.query in prep.notices[0]


def test_unmappable_english_question_is_told_to_ask_in_chinese_offline_only():
    prep = prepare_question("What is the weather like tomorrow in Paris?")
    assert prep.reply == ASK_IN_CHINESE and "请用中文提问" in ASK_IN_CHINESE and "Please ask in Chinese" in ASK_IN_CHINESE
    assert "\n" not in ASK_IN_CHINESE
    with_llm = prepare_question("What is the weather like tomorrow in Paris?", llm=True)
    assert with_llm.reply is None and with_llm.query == with_llm.question  # the LLM's rewriting translates it


def test_mixed_question_keeps_its_chinese_and_adds_terms():
    prep = prepare_question("人工智能 industry 有哪些 subsidies？")
    assert prep.kind == "mixed" and prep.query.startswith("人工智能 industry 有哪些 subsidies？")
    assert "补贴" in prep.query and "产业" in prep.query and prep.reply is None


@pytest.mark.parametrize("question, doc_word", [
    ("By 2027, how many hundred-billion-yuan industrial clusters will Sichuan build?", "千亿级产业集群"),
    ("What are the key tasks for the new energy vehicle industry?", "新能源汽车"),
])
def test_english_question_is_answered_from_the_chinese_documents(shared_qa, question, doc_word):
    answer = shared_qa.ask(question)
    assert not answer.refused and answer.citations and answer.question == question
    assert any(doc_word in c.quote or doc_word in c.section for c in answer.citations)
    assert not any("关键词重合很少" in n for n in answer.notices)
    assert any("英文问题已按术语表理解为" in n for n in answer.notices)


def test_english_question_is_retrieved_in_the_documents_terms(shared_qa):
    hits = shared_qa.retrieve("By 2027, how many hundred-billion-yuan industrial clusters will Sichuan build?", k=5)
    assert any("千亿级产业集群" in h.chunk.text for h in hits)


def test_unmappable_english_question_gets_the_bilingual_line(shared_qa):
    answer = shared_qa.ask("What is the weather like tomorrow in Paris?")
    assert answer.refused and answer.text == ASK_IN_CHINESE and not answer.hits
    assert not any("关键词重合很少" in n for n in answer.notices)


def test_rewrite_prompt_asks_for_chinese_rewrites():
    from rag.answer.llm import load_prompt

    prompt = str(load_prompt("rewrite"))
    assert "英文" in prompt and "中文" in prompt


# --- with an LLM configured (the scripted OpenAI-compatible server of tests/test_llm.py) ------------
from test_llm import llm_env, llm_server  # noqa: E402,F401  (pytest fixtures)


def test_english_question_with_an_llm_is_translated_by_its_rewriting(llm_server, llm_env):  # noqa: F811
    from rag.pipeline import PolicyQA

    srv = llm_server("ok", rewrite="到2027年打造几个千亿级产业集群？\n千亿级产业集群的目标")
    qa = PolicyQA(llm_env(srv.base_url))
    answer = qa.ask("What is the weather like tomorrow in Paris?")  # no glossary words: the LLM translates
    assert answer.text != ASK_IN_CHINESE
    sent = srv.of_kind("rewrite")[0]["body"]["messages"][-1]["content"]
    assert "What is the weather like tomorrow in Paris?" in sent
    assert answer.question == "What is the weather like tomorrow in Paris?"


def test_library_code_names_no_place_era_or_document_of_the_bundled_corpus():
    """Issue 11: places, eras and documents are read from the corpus and the gazetteer, never written
    into library code (data files under rag/data/ may hold them)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    literal = re.compile("四川|成都|十三五|十四五")
    found = [f"{p.relative_to(root)}:{i}" for d in ("rag", "ui") for p in sorted((root / d).rglob("*.py"))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if literal.search(line)]
    assert found == []


@pytest.mark.parametrize("text", ['" OR 1=1 --', "<script>alert(1)</script>", "xyzzy foo bar",
                                  "SELECT * FROM users; DROP TABLE chunks"])
def test_code_and_stray_words_are_left_to_the_no_content_refusal(text):
    assert prepare_question(text).reply is None
