"""The web UI in real headless Chromium: ask with citations, open a source (also an earlier answer's), rate
each answer, export the conversation, upload/ask/delete a document, region filter, and eight
simultaneous sessions that must not see each other's answers.

Every page's requests are checked to stay on 127.0.0.1 (fixture ``new_page``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: "
                                                             "pip install -e '.[test]' to run the browser tests")
Page, expect = sync_api.Page, sync_api.expect


QUESTION = "到2027年四川要打造几个千亿级产业集群？"
QUOTE_PART = "打造5个千亿级产业集群"
CONCURRENT_QUESTIONS = [
    "到2027年四川要打造几个千亿级产业集群？",
    "成都市前瞻培育的未来产业有哪些方向？",
    "四川省“十四五”高新技术产业发展规划由哪个部门发布？",
    "成都市“十四五”制造业高质量发展规划的规划期限是哪几年？",
    "四川要培育多少家高成长创新型企业？",
    "成府发〔2024〕2号文件的发布日期是什么？",
    "到2025年成都支柱产业集群规模要突破多少？",
    "四川省“十三五”期间要培育多少家战略性新兴产业领军企业？",
]


def ask(page: Page, question: str, turn: int = 1) -> None:
    """Type a question, send it and wait until the answer of that turn is final (mode badge shown)."""
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    expect(page.locator("#chat .rag-answer .rag-mode")).to_have_count(turn)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_answer_with_citation_and_source(new_page, artifacts_dir, app_settings, app_url):
    page = new_page()
    ask(page, QUESTION)
    answer = page.locator("#chat .rag-answer").last
    expect(answer).to_contain_text(QUOTE_PART)
    cite = answer.locator("a.rag-cite", has_text="[1]")
    expect(cite).to_be_visible()
    expect(answer.locator(".rag-mode")).to_have_text("原文摘录")
    card = page.locator("#sources #src-1-1")
    expect(card.locator(".rag-quote mark")).to_contain_text(QUOTE_PART)
    expect(card.locator(".rag-title")).to_contain_text("关于发展壮大新兴产业加快培育未来产业的实施方案")
    expect(card.locator(".rag-src-meta")).to_contain_text("四川省")
    expect(card.locator(".rag-passage-text")).not_to_be_visible()
    cite.click()  # the marker opens its source: the full passage with the cited sentence marked
    expect(card.locator("details.rag-passage")).to_have_attribute("open", "")
    expect(card.locator(".rag-passage-text mark")).to_be_visible()
    expect(card.locator(".rag-passage-text mark")).to_contain_text(QUOTE_PART)
    page.wait_for_timeout(400)  # let the smooth scroll settle before the screenshot
    page.evaluate("window.scrollTo(0, 0)")
    shot = artifacts_dir / "ui-answer.png"
    page.screenshot(path=str(shot))
    # artifacts/ui-answer.png is the CI artefact; docs/ui-screenshot.png (README) is a copy made by hand

    feedback = Path(app_settings.data_dir) / "feedback.jsonl"
    # the chatbot's feedback buttons under each answer, labelled in the page's locale (zh-CN: 赞 / 踩)
    likes = page.locator("#chat").get_by_role("button", name="赞", exact=True)
    dislikes = page.locator("#chat").get_by_role("button", name="踩", exact=True)
    likes.first.click()  # 👍 under the answer
    expect(page.get_by_text("感谢反馈").first).to_be_visible()
    row = json.loads(feedback.read_text(encoding="utf-8").splitlines()[-1])
    assert row["turn"] == 1 and row["rating"] == "up" and QUOTE_PART in row["answer"]

    ask(page, "那成都呢？", turn=2)  # a follow-up: rewritten against the first question
    expect(page.locator("#chat .rag-rewrite").last).to_contain_text("到2027年成都要打造几个千亿级产业集群")
    expect(page.locator("#sources #srcs-2 .rag-src-meta").first).to_contain_text("成都市")
    expect(page.locator("#sources #srcs-1")).to_be_hidden()

    # 👎 under the second answer rates the second answer, not the first
    expect(dislikes).to_have_count(2)
    dislikes.nth(1).click()
    expect(page.get_by_text("已记录").first).to_be_visible()
    row = json.loads(feedback.read_text(encoding="utf-8").splitlines()[-1])
    assert row["turn"] == 2 and row["rating"] == "down" and row["question"] == "那成都呢？"
    # the export holds both answers, each with its own sources
    page.locator("#export").click()
    expect(page.locator("#export-file")).to_contain_text(".md")
    href = page.locator("#export-file a[href]").first.get_attribute("href")
    md = page.request.get(href if href.startswith("http") else app_url.rstrip("/") + href).text()
    assert "## 第 1 问：" in md and "## 第 2 问：那成都呢？" in md and md.count("### 来源") == 2

    # each answer's markers open that answer's own sources
    page.locator("#chat .rag-answer").first.locator("a.rag-cite", has_text="[1]").click()
    expect(page.locator("#sources #srcs-1")).to_be_visible()
    expect(page.locator("#sources #srcs-2")).to_be_hidden()
    expect(card.locator(".rag-title")).to_contain_text("关于发展壮大新兴产业加快培育未来产业的实施方案")
    expect(card.locator(".rag-passage-text mark")).to_be_visible()
    page.locator("#chat .rag-answer").last.locator("a.rag-cite").first.click()
    expect(page.locator("#sources #srcs-2")).to_be_visible()
    expect(page.locator("#sources #srcs-1")).to_be_hidden()
    expect(page.locator("#sources #src-2-1 .rag-src-meta")).to_contain_text("成都市")


def test_upload_ask_and_delete(new_page, tmp_path):
    term = "星河量子织布"
    doc = tmp_path / "测试政策.txt"
    doc.write_text(f"测试政策\n\n一、支持措施\n\n对{term}企业给予每家最高500万元的一次性奖励。\n", encoding="utf-8")
    page = new_page()
    page.get_by_role("tab", name="知识库").click()
    page.locator("#kb-upload input[type=file]").set_input_files(str(doc))
    expect(page.locator("#kb-upload")).to_contain_text("测试政策.txt")
    page.locator("#kb-add").click()
    expect(page.locator("#kb-message")).to_contain_text("已添加", timeout=120_000)
    expect(page.locator("#kb-table")).to_contain_text("测试政策")

    page.get_by_role("tab", name="问答").click()
    ask(page, f"{term}企业能获得多少奖励？")
    expect(page.locator("#chat .rag-answer").last.locator("a.rag-cite").first).to_be_visible()
    expect(page.locator("#sources #src-1-1 .rag-title")).to_contain_text("测试政策")
    expect(page.locator("#sources #src-1-1 mark").first).to_contain_text("500万元")

    page.get_by_role("tab", name="知识库").click()
    page.locator("#kb-doc input").click()
    page.get_by_role("option", name="测试政策").click()
    page.once("dialog", lambda d: d.accept())
    page.locator("#kb-delete").click()
    expect(page.locator("#kb-message")).to_contain_text("已删除", timeout=120_000)
    expect(page.locator("#kb-table")).not_to_contain_text("测试政策")

    page.get_by_role("tab", name="问答").click()
    ask(page, f"{term}企业能获得多少奖励？", turn=2)
    expect(page.locator("#sources #srcs-2")).to_be_visible()
    expect(page.locator("#sources #srcs-2")).not_to_contain_text("测试政策")


def test_region_filter(new_page):
    page = new_page()
    page.locator("#filter-region").get_by_text("成都市").click()
    ask(page, "到2025年产业集群规模要达到多少？")
    metas = page.locator("#sources .rag-src .rag-src-meta")
    expect(metas.first).to_be_visible()
    texts = metas.all_inner_texts()
    assert texts and all("成都市" in t and "四川省" not in t for t in texts), texts


def test_retrieval_tab_shows_scores(new_page):
    page = new_page()
    page.get_by_role("tab", name="检索测试").click()
    page.locator("#rquery textarea").fill(QUESTION)
    page.locator("#rbutton").click()
    rows = page.locator("#rresult tr.rag-hit")
    expect(rows.first).to_be_visible()
    assert rows.count() == 5
    header = page.locator("#rresult thead").inner_text()
    assert "BM25" in header and "RRF" in header
    cells = rows.first.locator("td").all_inner_texts()
    assert all(re.fullmatch(r"\d+\.\d+", c) for c in cells[2:5]), cells


def test_concurrent_sessions_do_not_cross(new_page, app_settings):
    from rag.pipeline import PolicyQA

    qa = PolicyQA(app_settings)
    expected = [qa.ask(q).text for q in CONCURRENT_QUESTIONS]
    assert len(set(expected)) == len(expected)  # distinct answers: a crossing would be visible
    pages = [new_page() for _ in CONCURRENT_QUESTIONS]
    for page, question in zip(pages, CONCURRENT_QUESTIONS):
        page.locator("#question textarea").fill(question)
    for page in pages:  # send all eight before waiting for any
        page.locator("#ask").click()
    for page, question, text in zip(pages, CONCURRENT_QUESTIONS, expected):
        expect(page.locator("#chat .rag-answer .rag-mode")).to_have_count(1)
        assert page.locator("#chat .rag-q").all_inner_texts() == [question]
        assert squash(page.locator("#chat .rag-text").inner_text()) == squash(text)



def test_login_required_with_auth(browser, app_settings, unused_port):
    from ui.app import serve

    demo = serve(app_settings, host="127.0.0.1", port=unused_port, auth=("officer", "s3cret"), block=False)
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"http://127.0.0.1:{unused_port}/")
        expect(page.locator("input[type=password]")).to_be_visible()
        assert page.request.get(f"http://127.0.0.1:{unused_port}/config").status == 401
        page.locator("input[type=text]").fill("officer")
        page.locator("input[type=password]").fill("s3cret")
        page.locator("input[type=password]").press("Enter")
        expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)
    finally:
        ctx.close()
        demo.close()
