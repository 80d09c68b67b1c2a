"""A passage another version of the same document repeats is shown once
(rag.retrieve.hybrid.HybridRetriever._version_repeats_last, _repeats_last)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.integration

SAME = "规范性文件应当自公布之日起三十日内报送备案，报送纸质文本一式三份。"


def _versions(tmp_path):
    from core_support import ingest_texts

    from rag.pipeline import PolicyQA

    # the same 条例 in two versions: the filing article renumbered (第九条 → 第十条), its text unchanged
    old = ("某市规范性文件备案审查条例\n\n第一条 为了加强备案审查工作，制定本条例。\n\n"
           f"第九条 {SAME}\n\n第十条 本条例自2021年7月1日起施行。\n")
    new = ("某市规范性文件备案审查条例\n\n第一条 为了加强备案审查工作，制定本条例。\n\n第九条 备案审查工作应当依法进行。\n\n"
           f"第十条 {SAME}\n\n第十一条 本条例自2024年12月1日起施行。\n")
    settings = ingest_texts(tmp_path, {"某市规范性文件备案审查条例(2021-05-21).md": old,
                                       "某市规范性文件备案审查条例(2024-11-28).md": new})
    return PolicyQA(settings, auto_ingest=False)


def test_the_other_versions_copy_of_a_passage_goes_below_the_distinct_passages(tmp_path):
    qa = _versions(tmp_path)
    titles = {d.title for d in qa.retriever.index.docs.values()}
    assert len(titles) == 1 and len(qa.retriever.index.docs) == 2  # two versions of one title
    hits = qa.retrieve("规范性文件报送备案，纸质文本要交几份？", 4)
    copies = [h for h in hits if SAME in h.chunk.text]
    assert [h.rank for h in copies] == [1]  # one copy in the top 4, first
    assert copies[0].chunk.doc_id.endswith("2024-11-28")  # the latest version's
    # a question asking for the former text keeps the former version's copy
    former = [h for h in qa.retrieve("修订前的规范性文件报送备案，纸质文本要交几份？", 4) if SAME in h.chunk.text]
    assert former and former[0].chunk.doc_id.endswith("2021-05-21")


def test_repeats_last_keeps_the_first_copy_and_the_outline(tmp_path):
    qa = _versions(tmp_path)
    retriever = qa.retriever
    chunks = retriever.index.chunks
    rows = [i for i, c in enumerate(chunks) if SAME in c.text]
    other = [i for i, c in enumerate(chunks) if SAME not in c.text][:2]
    assert len(rows) == 2
    order = [rows[0], -1, rows[1], *other]
    keep_ranked = SimpleNamespace(other_versions=(), question="修订前的条例")  # no version preferred over the ranking
    assert retriever._repeats_last(order, keep_ranked) == [rows[0], -1, *other, rows[1]]
