"""The 知识库 tab: the document table and the upload / delete / restore / re-index actions over
``rag.kb``; no gradio here. Every action raises ``rag.kb.KnowledgeBaseError`` (nothing changed) or
returns a one-line message."""

from __future__ import annotations

from pathlib import Path

from rag import kb
from rag.settings import Settings


KB_HEADERS = ["编号", "文件标题", "层级", "地区", "规划期", "状态", "段落数", "来源"]


def kb_rows(settings: Settings) -> list[list]:
    """Rows of the knowledge-base table (see KB_HEADERS)."""
    rows = []
    for d in kb.list_documents(settings):
        b = d.badges
        rows.append([d.doc_id, d.title, b.level or "—", b.region or "—", b.period or "—",
                     "、".join(b.status_labels) or "—", d.n_chunks, "上传" if d.origin == "upload" else "内置"])
    return rows


def doc_choices(settings: Settings) -> list[tuple[str, str]]:
    """``(label, doc_id)`` choices of the document selectors."""
    return [(d.title, d.doc_id) for d in kb.list_documents(settings)]


def _summary(report) -> str:
    return (f"索引共 {report.n_documents} 篇文件、{report.n_chunks} 个段落（新增 {len(report.added)}，"
            f"更新 {len(report.updated)}，删除 {len(report.removed)}），用时 {report.seconds:.1f} 秒。")


def kb_upload(path: str | Path | None, settings: Settings, progress=None) -> str:
    """Add an uploaded file (checked first; see ``rag.kb.add_upload``) and re-index; returns a
    message. Raises KnowledgeBaseError for a bad file (nothing is changed)."""
    if not path:
        raise kb.KnowledgeBaseError("请先选择要上传的文件 (no file)")
    doc_id, report = kb.add_upload(settings, path, Path(path).name, progress=progress)
    return f"已添加“{doc_id}”。" + _summary(report)


def kb_delete(doc_id: str | None, settings: Settings, progress=None) -> str:
    """Delete (uploads) or hide (bundled) a document and re-index; returns a message."""
    if not doc_id:
        raise kb.KnowledgeBaseError("未选择文件，或已取消删除 (no document selected)")
    report = kb.delete_document(settings, doc_id, progress=progress)
    return f"已删除“{doc_id}”。" + _summary(report)


def kb_restore(doc_id: str | None, settings: Settings, progress=None) -> str:
    """Un-hide a bundled document and re-index; returns a message."""
    if not doc_id:
        raise kb.KnowledgeBaseError("请先选择要恢复的内置文件 (no document selected)")
    report = kb.restore_document(settings, doc_id, progress=progress)
    return f"已恢复“{doc_id}”。" + _summary(report)


def kb_reindex(settings: Settings, progress=None) -> str:
    """Re-index the current documents (hidden ones stay hidden); returns a message."""
    return "重建完成：" + _summary(kb.reindex(settings, progress))
