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


def kb_upload(paths, settings: Settings, progress=None) -> str:
    """Add uploaded files (one path, or a list of paths as ``gr.File(file_count="multiple")`` gives)
    one after the other, each checked first and indexed (``rag.kb.add_upload``); returns one message
    naming what was added and, one line each, what was not and why.

    ``progress(items, desc, total)`` as in ``rag.ingest``; with several files each stage's description
    is prefixed with "（i/n）name". Raises KnowledgeBaseError when no file is given or none could be
    added (nothing is changed then); a failed file never undoes the files added before it."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [p for p in (paths or []) if p]
    if not paths:
        raise kb.KnowledgeBaseError("请先选择要上传的文件 (no file)")
    added, failed, report = [], [], None
    for i, path in enumerate(paths, start=1):
        name = Path(path).name
        step = progress
        if progress is not None and len(paths) > 1:
            step = (lambda items, desc, total, _p=f"（{i}/{len(paths)}）{name}：": progress(items, _p + desc, total))
        try:
            doc_id, report = kb.add_upload(settings, path, name, progress=step)
        except kb.KnowledgeBaseError as exc:
            if len(paths) == 1:
                raise
            failed.append(f"“{name}”：{exc}")
            continue
        added.append(doc_id)
    if not added:
        raise kb.KnowledgeBaseError(f"{len(failed)} 个文件都未能添加：" + "；".join(failed))
    message = "已添加" + "、".join(f"“{d}”" for d in added) + "。" + _summary(report)
    if failed:
        message += f"\n\n未添加 {len(failed)} 个文件（其余文件不受影响）：\n" + "\n".join(f"- {f}" for f in failed)
    return message


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
