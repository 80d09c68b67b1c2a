"""The 知识库 tab's upload queue in real headless Chromium: two files added in one action, one of them bad —
each file's status is shown (处理中, then 已完成 / 失败：reason), the good one reaches the document table, and a
question is answered in the chat tab while the upload's ingest is held."""

from __future__ import annotations

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: "
                                                             "pip install -e '.[test]' to run the browser tests")
expect = sync_api.expect



def test_upload_queue_shows_each_files_status(new_page, tmp_path, artifacts_dir, monkeypatch):
    import threading

    from rag.index import kb

    release, real = threading.Event(), kb.reindex

    def held(settings, progress=None):  # the upload's ingest waits until the chat has answered
        release.wait(120)
        return real(settings, progress)

    monkeypatch.setattr(kb, "reindex", held)  # the app is served from this process
    good = tmp_path / "队列测试方案.txt"
    good.write_text("队列测试方案\n\n一、支持措施\n\n对云杉织造企业给予每家最高300万元奖励。\n", encoding="utf-8")
    bad = tmp_path / "坏文件.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)  # binary: refused with its reason
    page = new_page()
    page.get_by_role("tab", name="知识库").click()
    page.locator("#kb-upload input[type=file]").set_input_files([str(good), str(bad)])
    expect(page.locator("#kb-upload")).to_contain_text("坏文件")
    page.locator("#kb-add").click()
    queue = page.locator("#kb-queue table.rag-queue")
    expect(queue.locator("tr", has_text="坏文件.txt")).to_contain_text("失败：文件内容无法读取", timeout=120_000)
    expect(queue.locator("tr", has_text="队列测试方案.txt")).to_contain_text("处理中")
    page.get_by_role("tab", name="问答").click()  # a question is answered while the upload is being indexed
    page.locator("#question textarea").fill("到2027年四川要打造几个千亿级产业集群？")
    page.locator("#ask").click()
    expect(page.locator("#chat .rag-answer .rag-mode")).to_have_count(1, timeout=60_000)
    release.set()
    page.get_by_role("tab", name="知识库").click()
    expect(queue.locator("tr", has_text="队列测试方案.txt")).to_contain_text("已完成", timeout=120_000)
    expect(page.locator("#kb-table")).to_contain_text("队列测试方案", timeout=30_000)  # the lists are refreshed
    expect(page.locator("#kb-message")).to_contain_text("未添加 1 个文件")
    page.screenshot(path=str(artifacts_dir / "kb-queue.png"), full_page=True)
