"""The 知识库 tab's document information in real headless Chromium: a document's fields with their sources,
a correction saved (re-indexed, shown with source 用户更正, markup inert), and a bad date refused in one line."""

from __future__ import annotations

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: "
                                                             "pip install -e '.[test]' to run the browser tests")
expect = sync_api.expect


TITLE = "成都市“十四五”制造业高质量发展规划"
NEW_TITLE = "成都市<b>制造业</b>规划<img src=x onerror=window.__xss=1>"


def choose(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option).first.click()


def test_correct_a_field_in_the_knowledge_base_tab(new_page, artifacts_dir):
    page = new_page()
    page.get_by_role("tab", name="知识库").click()
    choose(page, "kb-meta-doc", TITLE)
    table = page.locator("#kb-meta table.rag-meta")
    expect(table.locator('tr[data-field="title"] .rag-meta-value')).to_have_text(TITLE)
    expect(table.locator('tr[data-field="level"] .rag-meta-source')).to_have_text("文件清单（manifest.json）")

    value = page.locator("#kb-meta-value input")
    choose(page, "kb-meta-field", "标题")
    expect(value).to_have_value(TITLE)  # the field's value now, to be edited
    value.fill(NEW_TITLE)
    page.locator("#kb-meta-save").click()
    expect(page.locator("#kb-message")).to_contain_text("已将", timeout=120_000)
    row = table.locator('tr[data-field="title"]')
    expect(row.locator(".rag-meta-value")).to_have_text(NEW_TITLE)  # shown as typed: text, not markup
    expect(row.locator(".rag-meta-source")).to_have_text("用户更正")
    expect(page.locator("#kb-table")).to_contain_text(NEW_TITLE)
    assert table.locator("img, b").count() == 0 and page.evaluate("window.__xss") is None

    choose(page, "kb-meta-field", "施行日期")
    effective = table.locator('tr[data-field="effective_date"] .rag-meta-value')
    before = effective.inner_text()
    expect(value).to_have_value("" if before == "未注明" else before)
    value.fill("明年三月")
    page.locator("#kb-meta-save").click()
    expect(page.get_by_text("施行日期应为日期 YYYY-MM-DD 或 YYYY-MM").first).to_be_visible()
    expect(effective).to_have_text(before)  # nothing changed
    page.screenshot(path=str(artifacts_dir / "kb-metadata.png"), full_page=True)
