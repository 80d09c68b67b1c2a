"""The source view in real headless Chromium: a citation marker opens its passage with only the cited
sentence marked (not the whole passage) and scrolls that sentence into view."""

from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: "
                                                           "pip install -e '.[test]' to run the browser tests").expect


QUESTION = "到2027年四川要打造几个千亿级产业集群？"


def test_the_opened_source_marks_and_scrolls_to_the_cited_sentence(new_page):
    page = new_page()
    page.set_viewport_size({"width": 1400, "height": 600})  # a short window: the sentence must be scrolled to
    page.locator("#question textarea").fill(QUESTION)
    page.locator("#ask").click()
    expect(page.locator("#chat .rag-answer .rag-mode")).to_have_count(1)
    card = page.locator("#sources #src-1-1")
    quote = card.locator(".rag-quote mark").inner_text()
    passage = card.locator(".rag-passage-text")
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#chat .rag-answer a.rag-cite", has_text="[1]").first.click()
    mark = passage.locator("mark#mark-1-1")
    expect(mark).to_be_visible()
    marked = "".join(passage.locator("mark").all_inner_texts())
    full = passage.inner_text()
    assert marked.strip() and marked in quote and len(marked) < len(full), (marked, full)
    page.wait_for_timeout(800)  # the smooth scroll
    box = mark.bounding_box()
    height = page.evaluate("window.innerHeight")
    assert box is not None and 0 <= box["y"] and box["y"] + min(box["height"], 40) <= height, (box, height)
