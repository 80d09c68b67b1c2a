"""Markup in documents, titles, questions and upload names is shown as text in every panel of the UI, in
real headless Chromium: the chat, the sources panel, the knowledge-base table and selectors, the
retrieval-test tab and the matching tab. Each payload sets ``window.__xss`` when it runs, and the page
must end with ``window.__xss`` undefined and no element carrying an event-handler attribute.
"""

from __future__ import annotations

import json
import shutil

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: "
                                                             "pip install -e '.[test]' to run the browser tests")
expect = sync_api.expect


IMG = '<img src=x onerror="window.__xss=1">'
SVG = "<svg onload=window.__xss=2>"
SCRIPT = "<script>window.__xss=3</script>"
TITLE = f"关于支持钠离子电池{IMG}产业发展的若干措施"
DOC = f"""{TITLE}

一、支持措施

（一）对生产钠离子电池{IMG}的企业，给予每家最高300万元一次性奖励{SCRIPT}。

（二）支持钠离子电池储能示范项目{SVG}建设，按投资额的10%给予补助。
"""
QUESTION = f"生产钠离子电池{IMG}的企业能获得多少奖励？"
# window.__xss, and elements with an inline event handler anywhere in the page (the payloads' attributes)
PROBE = """() => ({xss: window.__xss,
                  handlers: Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)
                      .some(a => /^on/i.test(a.name))).map(e => e.outerHTML.slice(0, 120))})"""


def assert_inert(page) -> None:
    page.wait_for_timeout(300)  # an onerror of a broken image fires right after it is inserted
    state = page.evaluate(PROBE)
    assert state["xss"] is None and state["handlers"] == [], state


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory):
    """A corpus of one bundled document and one whose title and text carry the payloads (overrides the
    conftest fixture: the app of this module serves it)."""
    from core_support import CORPUS_DIR

    root = tmp_path_factory.mktemp("xss")
    corpus = root / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    kept = [d for d in manifest["documents"] if d["id"] == "cd-future-industries-2024"]
    (corpus / "docs" / "xss-sodium.txt").write_text(DOC, encoding="utf-8")
    kept.append({"id": "xss-sodium", "file": "docs/xss-sodium.txt", "original_file": "xss-sodium.txt",
                 "title": TITLE, "short_names": [], "issuer": None, "level": "省级", "region": "四川省",
                 "doc_number": None, "date": None, "period_start": 2025, "period_end": 2027, "outlook_year": None,
                 "status": None, "statements": []})
    manifest["documents"] = kept
    (corpus / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_DATA_DIR", str(root / "data"))
        mp.setenv("RAG_CORPUS_DIR", str(corpus))
        mp.setenv("RAG_LLM", "off")
        mp.delenv("RAG_CHROMA_HOST", raising=False)
        mp.setenv("RAG_EMBEDDINGS", "lsa")
        from rag.index.build import ingest
        from rag.settings import Settings

        settings = Settings.from_env()
        ingest(settings)
        yield settings


def test_chat_and_sources_show_markup_as_text(new_page):
    page = new_page()
    page.locator("#question textarea").fill(QUESTION)
    page.locator("#ask").click()
    expect(page.locator("#chat .rag-answer .rag-mode")).to_have_count(1)
    expect(page.locator("#chat .rag-q")).to_contain_text(IMG)  # the question, as typed
    answer = page.locator("#chat .rag-answer").last
    expect(answer).to_contain_text("300万元")
    expect(answer).to_contain_text(IMG)  # the quoted sentence keeps the markup as text
    card = page.locator("#sources .rag-src").first
    expect(card.locator(".rag-title")).to_contain_text(TITLE)
    answer.locator("a.rag-cite").first.click()  # opens the whole passage too
    expect(page.locator("#sources .rag-passage-text").first).to_be_visible()
    expect(page.locator("#sources")).to_contain_text(SCRIPT)
    assert page.locator("#chat img[src=x], #sources img[src=x], #sources svg[onload]").count() == 0
    assert_inert(page)
    page.locator("#export").click()  # the export link and its file name
    expect(page.locator("#export-file")).to_contain_text(".md")
    assert_inert(page)


def test_knowledge_base_tab_shows_markup_as_text(new_page, tmp_path):
    page = new_page()
    page.get_by_role("tab", name="知识库").click()
    expect(page.locator("#kb-table")).to_contain_text(TITLE)
    page.locator("#kb-doc input").click()
    expect(page.get_by_role("option", name=TITLE)).to_be_visible()
    page.keyboard.press("Escape")
    assert_inert(page)
    # upload names carrying markup: one acceptable file and one refused one, in one action
    good = tmp_path / "<img src=x onerror=window.__xss=4>.txt"
    good.write_text("上传测试文件\n\n一、措施\n\n对测试企业给予奖励。\n", encoding="utf-8")
    bad = tmp_path / "<svg onload=window.__xss=5>.txt"
    bad.write_text("", encoding="utf-8")  # empty: refused, its name shown in the message
    page.locator("#kb-upload input[type=file]").set_input_files([str(good), str(bad)])
    expect(page.locator("#kb-upload")).to_contain_text("onerror")
    page.locator("#kb-add").click()
    expect(page.locator("#kb-message")).to_contain_text("已添加", timeout=120_000)
    expect(page.locator("#kb-message")).to_contain_text("未添加 1 个文件")
    expect(page.locator("#kb-message")).to_contain_text("onload=window.__xss=5")  # named (Gradio drops <>)
    expect(page.locator("#kb-table")).to_contain_text("img_src_x_onerror_window")
    assert_inert(page)


def test_retrieval_tab_shows_markup_as_text(new_page):
    page = new_page()
    page.get_by_role("tab", name="检索测试").click()
    page.locator("#rquery textarea").fill(QUESTION)
    page.locator("#rbutton").click()
    rows = page.locator("#rresult tr.rag-hit")
    expect(rows.first).to_be_visible()
    expect(page.locator("#rresult")).to_contain_text(TITLE)
    expect(page.locator("#rresult")).to_contain_text(IMG)
    assert page.locator("#rresult img, #rresult svg, #rresult script").count() == 0
    assert_inert(page)


def test_matching_tab_shows_markup_as_text(new_page):
    page = new_page()
    page.get_by_role("tab", name="政策匹配").click()
    page.get_by_label("企业描述（可选）").fill(f"我们是成都一家生产钠离子电池{IMG}的企业，想申请奖励")
    page.get_by_role("button", name="匹配政策").click()
    expect(page.get_by_text("300万元").first).to_be_visible(timeout=120_000)
    assert_inert(page)
