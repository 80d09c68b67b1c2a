"""The 知识库 tab: the document table, the upload / delete / restore / re-index actions and each
document's metadata (DOC fields with their sources; corrections) over ``rag.index.kb``; no gradio here.
Every action raises ``rag.index.kb.KnowledgeBaseError`` (nothing changed) or returns a one-line message."""

from __future__ import annotations

import re
from pathlib import Path

from rag.index import kb
from rag.errors import RagError
from rag.settings import Settings
from ui.sources import esc


KB_HEADERS = ["编号", "文件标题", "层级", "地区", "规划期", "状态", "段落数", "来源", "疑似指令段落"]


def kb_rows(settings: Settings) -> list[list]:
    """Rows of the knowledge-base table (see KB_HEADERS); the last column counts the document's passages
    with instruction-like text (``rag.index.kb.KbDocument.n_flagged``, "—" for none)."""
    rows = []
    for d in kb.list_documents(settings):
        b = d.badges
        rows.append([d.doc_id, d.title, b.level or "—", b.region or "—", b.period or "—",
                     "、".join(b.status_labels) or "—", d.n_chunks, "上传" if d.origin == "upload" else "内置",
                     d.n_flagged or "—"])
    return rows


def doc_choices(settings: Settings) -> list[tuple[str, str]]:
    """``(label, doc_id)`` choices of the document selectors."""
    return [(d.title, d.doc_id) for d in kb.list_documents(settings)]


def _summary(report) -> str:
    return (f"索引共 {report.n_documents} 篇文件、{report.n_chunks} 个段落（新增 {len(report.added)}，"
            f"更新 {len(report.updated)}，删除 {len(report.removed)}），用时 {report.seconds:.1f} 秒。")


def kb_upload(paths, settings: Settings, progress=None) -> str:
    """Add uploaded files (one path, or a list of paths as ``gr.File(file_count="multiple")`` gives)
    one after the other, each checked first and indexed (``rag.index.kb.add_upload``); returns one message
    naming what was added and, one line each, what was not and why.

    ``progress(items, desc, total)`` as in ``rag.index.build``; with several files each stage's description
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


# --- the upload queue: files checked and indexed in the background, one batch at a time ------------
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "排队中", "处理中", "已完成", "失败", "已取消"
"""Statuses of a queued upload (a failure is shown as "失败：<reason>")."""
ADMIN_ONLY = "只有管理员可以修改知识库：请退出后以管理员账号登录 (admin only)"


def check_admin(username: str | None, admin: str | None) -> None:
    """Allow a knowledge-base change by ``username`` (the logged-in user, ``gr.Request.username``; None
    without a login) when no ``admin`` account is configured or the user is that admin; otherwise raise
    KnowledgeBaseError(ADMIN_ONLY)."""
    if admin and username != admin:
        raise kb.KnowledgeBaseError(ADMIN_ONLY)


class UploadJob:
    """One uploaded file in the queue: ``name`` (as uploaded), ``path`` (where it is now), ``status``
    (QUEUED, RUNNING, DONE, FAILED, CANCELLED), ``detail`` (the reason of a failure, the stage while
    running, the doc_id once done)."""

    def __init__(self, path, name: str):
        self.path, self.name, self.status, self.detail = str(path), name, QUEUED, ""

    def label(self) -> str:
        """The status as shown: "排队中", "处理中（…）", "已完成（doc_id）", "失败：reason", "已取消"."""
        if self.status == FAILED:
            return f"{FAILED}：{self.detail}"
        return f"{self.status}（{self.detail}）" if self.detail else self.status


class UploadQueue:
    """Uploads of the 知识库 tab processed one batch at a time on a background thread, so that the
    page (and the chat) stay responsive while files are indexed.

    ``submit(paths)`` queues files (in order) and returns at once; the worker takes every queued file as
    one batch (``rag.index.kb.add_uploads``: each checked in turn, one re-index for all accepted files; a bad
    file never blocks the others). ``cancel()`` marks the not-yet-processed files 已取消 and stops the
    running batch between stages, before its index goes live (nothing is changed then). ``jobs`` lists
    the last ``keep`` files with their status; ``version`` grows with every finished batch (the tab
    refreshes its lists when it changes); ``last_message`` says what the last batch did (added documents,
    then one line per refused file with its reason). ``background=False`` leaves the processing to ``run()``."""

    def __init__(self, settings: Settings, background: bool = True, keep: int = 50):
        import threading

        self.settings, self.background, self.keep = settings, background, keep
        self.jobs: list[UploadJob] = []
        self.version, self.stage, self.last_message = 0, "", ""
        self._lock = threading.Lock()
        self._cancel = None  # the threading.Event of the running batch
        self._worker = None
        self._threading = threading

    @property
    def busy(self) -> bool:
        """True while any file is queued or being processed."""
        with self._lock:
            return any(j.status in (QUEUED, RUNNING) for j in self.jobs)

    def submit(self, paths) -> list[UploadJob]:
        """Queue uploaded files (a path or a list of paths); returns their jobs. Raises KnowledgeBaseError
        when no file is given."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        paths = [p for p in (paths or []) if p]
        if not paths:
            raise kb.KnowledgeBaseError("请先选择要上传的文件 (no file)")
        new = [UploadJob(p, Path(p).name) for p in paths]
        with self._lock:
            self.jobs = ([j for j in self.jobs if j.status in (QUEUED, RUNNING)]
                         + [j for j in self.jobs if j.status not in (QUEUED, RUNNING)][-self.keep:]) + new
            self.jobs.sort(key=lambda j: j.status in (QUEUED, RUNNING))  # finished first, then in queue order
            if self.background and (self._worker is None or not self._worker.is_alive()):
                self._worker = self._threading.Thread(target=self.run, name="rag-upload-queue", daemon=True)
                self._worker.start()
        return new

    def cancel(self) -> str:
        """Cancel every file not yet processed and stop the running batch before its index goes live;
        returns a one-line message saying how many files were cancelled."""
        with self._lock:
            pending = [j for j in self.jobs if j.status in (QUEUED, RUNNING)]
            for j in pending:
                if j.status == QUEUED:
                    j.status, j.detail = CANCELLED, ""
            if self._cancel is not None:
                self._cancel.set()
        if not pending:
            return "没有正在处理或排队的文件。"
        return f"已取消 {len(pending)} 个文件（正在建立的索引不会生效，知识库保持原样）。"

    def run(self) -> None:
        """Process queued files, one batch at a time, until none is left (the worker thread's body)."""
        while True:
            with self._lock:
                batch = [j for j in self.jobs if j.status == QUEUED]
                if not batch:
                    self._worker = None if self.background else self._worker
                    return
                cancel = self._cancel = self._threading.Event()
            self._run_batch(batch, cancel)

    def _run_batch(self, batch: list[UploadJob], cancel) -> None:
        def on_file(i, doc_id, reason):
            job = batch[i]
            with self._lock:
                if reason is not None:
                    job.status, job.detail = FAILED, reason
                elif job.status != CANCELLED:
                    job.status, job.detail = RUNNING, "等待建立索引" if doc_id else "检查文件"

        def stage(items, desc, total):
            with self._lock:
                self.stage = desc
                for j in batch:
                    if j.status == RUNNING:
                        j.detail = f"建立索引：{desc}"
            return items

        def cancelled():
            return cancel.is_set() or all(j.status in (CANCELLED, FAILED) for j in batch)

        try:
            result = kb.add_uploads(self.settings, [(j.path, j.name) for j in batch], stage,
                                    cancelled=cancelled, on_file=on_file)
        except kb.UploadCancelled:
            self._finish(batch, CANCELLED, "", "已取消，知识库未改变。")
            return
        except Exception as exc:  # noqa: BLE001 - a failed ingest fails this batch only, never the worker
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._finish(batch, FAILED, reason, f"索引失败，知识库未改变：{reason}")
            return
        with self._lock:
            for i, doc_id in result.added:
                batch[i].status, batch[i].detail = DONE, doc_id
            for i, reason in result.failed:
                batch[i].status, batch[i].detail = FAILED, reason
        message = ("已添加" + "、".join(f"“{d}”" for _, d in result.added) + "。" + _summary(result.report)
                   if result.added else "没有文件被添加。")
        if result.failed:
            message += (f"\n\n未添加 {len(result.failed)} 个文件（其余文件不受影响）：\n"
                        + "\n".join(f"- “{batch[i].name}”：{reason}" for i, reason in result.failed))
        self._finish(batch, None, "", message)

    def _finish(self, batch, status, detail, message) -> None:
        with self._lock:
            for j in batch:
                if j.status in (QUEUED, RUNNING):
                    j.status, j.detail = status or CANCELLED, detail
            self.stage, self.last_message, self._cancel = "", message, None
            self.version += 1

    def rows(self) -> list[tuple[str, str]]:
        """``(file name, status label)`` of the listed files, finished ones first, then in queue order."""
        with self._lock:
            return [(j.name, j.label()) for j in self.jobs]

    def html(self) -> str:
        """The queue as an HTML table (``<table class="rag-queue">``, one ``<tr data-status=…>`` per file,
        names and reasons escaped) with the current stage and the last batch's message; "" when empty."""
        rows = self.rows()
        if not rows:
            return ""
        body = "".join(f'<tr data-status="{esc(label.split("：")[0].split("（")[0])}"><td>{esc(name)}</td>'
                       f'<td>{esc(label)}</td></tr>' for name, label in rows)
        head = esc(self.stage and f"正在建立索引：{self.stage}" or self.last_message.split("\n")[0])
        return (f'<div class="rag-status">{head}</div><table class="rag-queue"><thead><tr><th>文件</th>'
                f'<th>状态</th></tr></thead><tbody>{body}</tbody></table>')


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


# --- document metadata: show each DOC field with where it came from, and correct it ----------------
META_FIELDS = ("title", "issuer", "doc_number", "doc_type", "level", "region", "issued_date", "effective_date",
               "period_start", "period_end", "status", "chunks")
"""The DOC fields shown per document (``rag info --json``), in display order; all but ``chunks`` are editable."""
UNKNOWN = "未注明"
_SOURCE_LABELS = {"manifest": "文件清单（manifest.json）", "user": "用户更正", "file name": "文件名"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~&])")


def field_choices() -> list[tuple[str, str]]:
    """``(Chinese label, DOC field)`` choices of the field selector: the editable fields of META_FIELDS."""
    return [(f"{kb.FIELD_LABELS[f]}（{f}）", f) for f in META_FIELDS if f in kb.EDITABLE_FIELDS]


def source_label(source: str | None, value) -> str:
    """Where a value came from, for display: "原文：“<line>”" (the line it was read from), "文件清单
    （manifest.json）", "用户更正", "文件名"; "未注明" for an unknown value without a source."""
    if source is None:
        return UNKNOWN if value is None else "—"
    return _SOURCE_LABELS.get(source) or f"原文：“{source}”"


def _row(settings: Settings, doc_id: str | None) -> dict:
    if not doc_id:
        raise kb.KnowledgeBaseError("请先选择文件 (no document selected)")
    for row in kb.metadata_rows(settings):
        if row["doc_id"] == doc_id:
            return row
    raise kb.KnowledgeBaseError(f"索引中没有文件“{doc_id}”：请重新选择文件 (no such document)")


def kb_metadata(doc_id: str | None, settings: Settings) -> list[tuple[str, str, str, str]]:
    """The DOC fields of document ``doc_id`` of the live index: ``(field, Chinese label, value, source)``
    per META_FIELDS entry, as plain text; an unknown value is "未注明", its source ``source_label``
    (``chunks``: "索引"). Raises KnowledgeBaseError when no document is selected or it is not indexed."""
    row = _row(settings, doc_id)
    out = []
    for f in META_FIELDS:
        value = row.get(f)
        source = "索引" if f == "chunks" else source_label(row["field_sources"].get(f), value)
        out.append((f, kb.FIELD_LABELS[f], UNKNOWN if value is None else str(value), source))
    return out


def kb_metadata_html(doc_id: str | None, settings: Settings) -> str:
    """The fields of ``kb_metadata`` as an HTML table (``<table class="rag-meta">``, one ``<tr
    data-field=…>`` per field; every value and source HTML-escaped); a hint when no document is
    selected, the error's text when it cannot be shown."""
    if not doc_id:
        return '<div class="rag-empty">选择文件后，这里显示它的标题、发文机关、文号、日期等信息及其出处。</div>'
    try:
        rows = kb_metadata(doc_id, settings)
    except RagError as exc:
        return f'<div class="rag-empty">{esc(exc)}</div>'
    body = "".join(
        f'<tr data-field="{esc(f)}"><th>{esc(label)}</th>'
        f'<td class="rag-meta-value{" rag-unknown" if value == UNKNOWN else ""}">{esc(value)}</td>'
        f'<td class="rag-meta-source">{esc(source)}</td></tr>' for f, label, value, source in rows)
    return (f'<table class="rag-meta" data-doc="{esc(doc_id)}"><thead><tr><th>字段</th><th>值</th><th>出处</th>'
            f'</tr></thead><tbody>{body}</tbody></table>')


def _md(text) -> str:
    """``text`` with Markdown/HTML punctuation backslash-escaped, so that a message shows it as typed."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def kb_save_metadata(doc_id: str | None, field: str | None, value, settings: Settings, progress=None) -> str:
    """Correct field ``field`` of document ``doc_id`` to ``value`` (``rag.index.kb.set_metadata``: "" or 未注明
    = unknown) and re-index so that it applies at once, as ``rag meta`` does; returns a one-line message.
    A start year after the end year is refused. Raises KnowledgeBaseError (nothing changed) for no
    document or field, a document not in the index, or a malformed value (one line, Chinese)."""
    row = _row(settings, doc_id)
    if not field:
        raise kb.KnowledgeBaseError("请先选择要更正的字段 (no field selected)")
    parsed = kb.parse_metadata_value(field, value)
    start, end = (parsed if field == "period_start" else row.get("period_start"),
                  parsed if field == "period_end" else row.get("period_end"))
    if start is not None and end is not None and start > end:
        raise kb.KnowledgeBaseError(f"起始年份 {start} 晚于截止年份 {end}：请检查规划期 (period start after end)")
    previous = kb.metadata_corrections(settings).get(doc_id, {})
    kb.set_metadata(settings, doc_id, field, value)
    try:
        report = kb.reindex(settings, progress)
    except RagError:
        _restore_correction(settings, doc_id, field, previous)
        raise
    shown = UNKNOWN if parsed is None else parsed
    return f"已将“{_md(row['title'])}”的{kb.FIELD_LABELS[field]}更正为“{_md(shown)}”。" + _summary(report)


def _restore_correction(settings: Settings, doc_id: str, field: str, previous: dict) -> None:
    """Put the correction of ``field`` back as it was before a failed re-index."""
    stored = "date" if field == "issued_date" else field
    if stored in previous:
        kb.set_metadata(settings, doc_id, field, previous[stored])
    else:
        kb.clear_metadata(settings, doc_id, field)


def kb_clear_metadata(doc_id: str | None, field: str | None, settings: Settings, progress=None) -> str:
    """Forget the user's correction of ``field`` of ``doc_id`` (``rag.index.kb.clear_metadata``) and re-index:
    the value read from the text (or the manifest) applies again; returns a message. Raises
    KnowledgeBaseError when nothing is selected or the field has no correction."""
    row = _row(settings, doc_id)
    if not field:
        raise kb.KnowledgeBaseError("请先选择要撤销更正的字段 (no field selected)")
    previous = kb.metadata_corrections(settings).get(doc_id, {})
    if ("date" if field == "issued_date" else field) not in previous:
        raise kb.KnowledgeBaseError(f"“{_md(row['title'])}”的{kb.FIELD_LABELS.get(field, field)}没有用户更正，无需撤销"
                                    f" (no correction)")
    kb.clear_metadata(settings, doc_id, field)
    try:
        report = kb.reindex(settings, progress)
    except RagError:
        _restore_correction(settings, doc_id, field, previous)
        raise
    return f"已撤销“{_md(row['title'])}”的{kb.FIELD_LABELS[field]}更正，恢复为文件自身的信息。" + _summary(report)
