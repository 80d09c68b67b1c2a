"""Knowledge-base management: list, add, delete and re-index the documents behind the index.

    docs = list_documents(settings)                       # [KbDocument] of the live index
    add_upload(settings, "/tmp/gradio/x/通知.docx")        # check → copy to data_dir/uploads → ingest
    add_uploads(settings, [(path, name), …])               # each checked, all accepted copied, one ingest
    delete_document(settings, "cd-manufacturing-14th")    # uploads are removed, bundled ones hidden
    reindex(settings)                                      # ingest the current source list

Layout under ``Settings.data_dir``::

    uploads/            uploaded files (ingested with metadata derived from the file name)
    kb.json             {"excluded": [doc_id, …]}: bundled documents hidden from the index
    metadata.json       {"corrections": {doc_id: {field: value}}}: the user's metadata corrections

Both files are read and written by ``rag.ingest.corpus`` (``excluded`` / ``write_excluded``,
``metadata_corrections`` / ``write_corrections``; the readers are re-exported here): ``rag.index.build``
reads them at every ingest, this module changes them under the ingest lock.

Every change goes through ``rag.index.build.ingest`` with the explicit source list of ``sources`` and the
hidden documents as its ``exclude`` (the bundled corpus itself is never copied or changed, so the kept
documents are not re-chunked); when an ingest fails, the change is rolled back (the file is removed
again, the exclusion undone) and the previous index stays live. An upload is validated — type, size, parsed with ``rag.ingest.corpus.read_text``
— before anything is copied into ``uploads/``, so a bad file changes nothing.

Changes are serialised with every ingest by the data directory's ingest lock (``rag.index.store.ingest_lock``,
a file lock in ``data_dir/ingest.lock``): an upload in the UI and a ``rag ingest`` in a shell, or two UI
processes, never interleave — the later one waits for the earlier one.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.corpus import MANIFEST_NAME, SUPPORTED_SUFFIXES, doc_id_for_file, read_text
from rag.ingest.corpus import (excluded, kb_path, metadata_corrections, metadata_path,  # noqa: F401 (re-exported)
                        write_corrections, write_excluded)
from rag.errors import DocumentReadError, KnowledgeBaseError, RagError
from rag.index.store import index_dir, ingest_lock, meta_from_json, read_current
from rag.settings import Settings
from rag.types import DocumentBadges

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
"""Largest accepted upload: 10 MiB (a policy document as text or PDF is far below that)."""

UPLOADS_DIR = "uploads"
LEGACY_FILTERED_CORPUS = Path("kb") / "corpus"
"""Where earlier versions kept a filtered copy of the corpus while documents were hidden; removed on re-index."""


@dataclass(frozen=True)
class KbDocument:
    """One document of the live index. ``origin`` is "bundled" (corpus manifest) or "upload";
    ``badges``: level, region, period (e.g. "2021—2025年"), status, expired/draft on ``Settings.today``;
    ``n_chunks`` counts its passages including the synthetic document card; ``file`` is the source
    file name; ``n_flagged`` counts its passages with instruction-like text (``rag.injection``: lines
    addressed to a language model, e.g. “忽略以上所有指令…”), recorded at ingest."""

    doc_id: str
    title: str
    badges: DocumentBadges
    n_chunks: int
    origin: str
    file: str
    n_flagged: int = 0


# --- paths and sources ------------------------------------------------------------------------
def uploads_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / UPLOADS_DIR


def _manifest(settings: Settings) -> dict:
    path = Path(settings.corpus_dir) / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KnowledgeBaseError(f"{path} is unreadable ({exc}); the bundled corpus is damaged") from None


def bundled_ids(settings: Settings) -> list[str]:
    """Ids of the documents of the bundled corpus manifest, in manifest order."""
    return [e["id"] for e in _manifest(settings).get("documents", []) if e.get("id")]


def sources(settings: Settings) -> list[Path]:
    """The paths to ingest: the bundled corpus directory, plus ``uploads/`` when it holds files (the
    same as ``rag.index.build.default_sources``). Hidden documents are left out by ``reindex`` through
    ``ingest(..., exclude=excluded(settings))``, not by the path list."""
    from rag.index.build import default_sources

    return default_sources(settings)


# --- listing ---------------------------------------------------------------------------------
def _live_entries(settings: Settings) -> list[dict]:
    """Entries of documents.json of the live generation ([] when no index exists)."""
    pointer = read_current(settings)
    if not pointer:
        return []
    path = index_dir(settings) / pointer["generation"] / "documents.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KnowledgeBaseError(f"{path} is unreadable ({exc}); run `rag ingest` to rebuild") from None


def _is_upload(settings: Settings, source: str) -> bool:
    try:
        Path(source).resolve().relative_to(uploads_dir(settings).resolve())
        return True
    except ValueError:
        return False


def list_documents(settings: Settings) -> list[KbDocument]:
    """The documents of the live index with their manifest metadata and chunk counts, in index
    order ([] when no index was built yet). Raises KnowledgeBaseError on damaged index files."""
    today = settings.today_date()
    out = []
    for entry in _live_entries(settings):
        meta = meta_from_json(entry["meta"])
        source = entry.get("source", "")
        out.append(KbDocument(
            doc_id=meta.doc_id, title=meta.title, badges=DocumentBadges.of(meta, today),
            n_chunks=int(entry.get("n_chunks", 0)), origin="upload" if _is_upload(settings, source) else "bundled",
            file=Path(source).name or meta.original_file, n_flagged=_n_flagged(entry)))
    return out


def _n_flagged(entry: dict) -> int:
    """Passages of an index entry with instruction-like text; an entry written before ingest recorded
    them (no ``instruction_like``) is checked on its text, counting flagged lines."""
    if "instruction_like" in entry:
        return len(entry["instruction_like"] or [])
    from rag.injection import instruction_spans

    return len(instruction_spans(entry.get("text") or ""))


def hidden_documents(settings: Settings) -> list[tuple[str, str]]:
    """``(doc_id, title)`` of the hidden bundled documents (they can be restored)."""
    titles = {e["id"]: e.get("title", e["id"]) for e in _manifest(settings).get("documents", []) if e.get("id")}
    return [(d, titles.get(d, d)) for d in excluded(settings) if d in titles]


# --- changes ---------------------------------------------------------------------------------
_UNSAFE = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff\u3400-\u4dbf._()（）\-—]+")


def sanitize_filename(name: str) -> str:
    """A safe file name for ``uploads/``: the base name only (no directories), NFC-normalised, runs of
    characters other than letters, digits, CJK, ``._-()`` replaced by "_", no leading dots, at most
    80 characters of stem, lower-case suffix.

    Raises KnowledgeBaseError when nothing usable remains."""
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._ ")[:80].strip("._ ")
    suffix = _UNSAFE.sub("", suffix).lower()
    if not stem:
        raise KnowledgeBaseError(f"文件名无效：{name!r}，请改用由文字或数字组成的文件名 (invalid file name)")
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(path: str | Path, name: str | None = None, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """Validate an uploaded file without changing anything; returns the sanitised file name.

    ``path``: where the upload is now (e.g. Gradio's temp file); ``name``: its original name (default
    the name of ``path``). Checks: suffix in ``SUPPORTED_SUFFIXES`` (.txt .md .pdf .docx .html .htm),
    0 < size ≤ ``max_bytes``, and the content parses with ``rag.ingest.corpus.read_text`` (text in a detectable
    encoding, a PDF with a text layer, a DOCX/HTML page within the size limits, not empty).

    Raises KnowledgeBaseError saying which check failed and what to do."""
    path = Path(path)
    safe = sanitize_filename(name or path.name)
    suffix = Path(safe).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise KnowledgeBaseError(f"不支持的文件类型“{suffix or '无扩展名'}”：请上传 .txt、.md、.pdf、.docx 或 .html 文件 "
                                 f"(unsupported file type)")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise KnowledgeBaseError(f"无法读取上传的文件（{exc.strerror or exc}），请重新上传 (cannot read upload)") from None
    if size > max_bytes:
        raise KnowledgeBaseError(f"文件过大：{size / 1048576:.1f} MB，上限 {max_bytes / 1048576:.0f} MB，"
                                 f"请拆分或压缩后再上传 (file too large)")
    if size == 0:
        raise KnowledgeBaseError("文件为空：没有可以索引的内容 (empty file)")
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
        staged = Path(tmp) / safe  # read_text picks the parser by suffix: give it the real one
        shutil.copyfile(path, staged)
        try:
            read_text(staged)
        except DocumentReadError as exc:
            raise KnowledgeBaseError(f"文件内容无法读取：{_reason_zh(exc.reason)}（{safe}: {exc.reason}）") from None
    return safe


def _reason_zh(reason: str) -> str:
    if "OCR" in reason:
        return "PDF 没有文字层（可能是扫描件），请先做文字识别（OCR）再上传"
    if "limit" in reason:
        return "超出处理上限，请拆分文件后再上传"
    if "encoding" in reason or "binary" in reason:
        return "看起来是二进制文件或无法识别的编码，请另存为 UTF-8 文本后再上传"
    if "empty" in reason:
        return "没有文字内容"
    if "parsed" in reason:
        return "文件已损坏或格式与扩展名不符"
    return "读取失败"


def reindex(settings: Settings, progress=None):
    """Ingest the current source list (``sources``) without the hidden documents (``excluded``),
    keeping documents added with ``rag ingest PATH`` whose files still exist; a deleted upload (its
    file gone from ``uploads/``) leaves the index. Returns the ``IngestReport``.

    Raises KnowledgeBaseError when every bundled document is hidden and nothing was uploaded, and
    IngestError when nothing could be indexed or the index could not be written (in both cases the
    previous index stays live)."""
    from rag.index.build import ingest

    hidden = excluded(settings)
    uploads = uploads_dir(settings)
    if set(bundled_ids(settings)) <= set(hidden) and not (uploads.exists() and any(uploads.iterdir())):
        raise KnowledgeBaseError("知识库中没有文件：请上传文件或恢复内置文件 (no documents)")
    kwargs = {"progress": progress} if progress else {}
    report = ingest(settings, sources(settings), exclude=hidden, keep_others=True, **kwargs)
    shutil.rmtree(Path(settings.data_dir) / LEGACY_FILTERED_CORPUS, ignore_errors=True)
    return report


def add_upload(settings: Settings, path: str | Path, name: str | None = None, progress=None,
               max_bytes: int = MAX_UPLOAD_BYTES):
    """Check an uploaded file (``check_upload``), copy it into ``uploads/`` and re-index.

    Returns ``(doc_id, IngestReport)``. Raises KnowledgeBaseError for a bad file, a name that is
    already taken, or a failed ingest; in every error case the uploads folder and the index are
    left as they were."""
    safe = check_upload(path, name, max_bytes)
    with ingest_lock(settings):
        folder = uploads_dir(settings)
        dest = folder / safe
        if dest.exists():
            raise KnowledgeBaseError(f"已存在同名文件“{safe}”：如需替换，请先删除旧文件 (file exists)")
        doc_id = doc_id_for_file(dest)
        taken = {d.doc_id: d for d in list_documents(settings)}
        if doc_id in taken or doc_id in bundled_ids(settings):
            title = taken[doc_id].title if doc_id in taken else doc_id
            raise KnowledgeBaseError(f"文件名“{safe}”与已有文件《{title}》的编号重复，请改名后再上传 (id taken)")
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{safe}.partial"
        shutil.copyfile(path, partial)
        os.replace(partial, dest)
        try:
            report = reindex(settings, progress)
        except BaseException as exc:
            dest.unlink(missing_ok=True)
            if isinstance(exc, RagError):
                raise KnowledgeBaseError(f"索引失败，已撤销上传：{exc}") from None
            raise
        failed = [reason for p, reason in report.failed if Path(p).name == safe]
        if failed:  # cannot happen after check_upload, but never keep a file the index lacks
            dest.unlink(missing_ok=True)
            reindex(settings, progress)
            raise KnowledgeBaseError(f"文件无法索引，已撤销上传：{failed[0]}")
        return doc_id, report


class UploadCancelled(KnowledgeBaseError):
    """A batch of uploads was cancelled before its index went live; nothing was changed."""


@dataclass
class UploadBatch:
    """What ``add_uploads`` did with its files (positions ``i`` into its ``files`` list): ``added``
    [(i, doc_id)], ``failed`` [(i, one-line reason)] and the ``IngestReport`` of its one re-index
    (None when no file was accepted)."""

    added: list
    failed: list
    report: object = None


def add_uploads(settings: Settings, files, progress=None, cancelled=None, on_file=None,
                max_bytes: int = MAX_UPLOAD_BYTES) -> UploadBatch:
    """Add several uploaded files with one re-index: each file is checked in turn (``check_upload``,
    its name and id not already taken, also not by an earlier file of the batch), every accepted file is
    copied into ``uploads/``, then the index is rebuilt once.

    ``files``: [(path, original name or None)]. ``on_file(i, doc_id, reason)`` is called as file ``i``
    starts being checked (both None), then once it is accepted (``doc_id``) or refused (``reason``).
    ``cancelled()`` is asked before each file and between the stages of the ingest; when it says True
    the copied files are removed, the half-built generation is dropped (the previous index stays live)
    and UploadCancelled is raised. A bad file never stops the others. Raises KnowledgeBaseError when
    the ingest fails (every copied file is removed again; nothing changed)."""
    cancelled = cancelled or (lambda: False)
    on_file = on_file or (lambda i, doc_id, reason: None)
    batch = UploadBatch([], [])
    with ingest_lock(settings):
        folder = uploads_dir(settings)
        taken = {d.doc_id: d.title for d in list_documents(settings)}
        taken.update({d: taken.get(d, d) for d in bundled_ids(settings)})
        accepted = []  # (i, path, safe, doc_id)
        for i, (path, name) in enumerate(files):
            if cancelled():
                raise UploadCancelled("已取消，知识库未改变 (cancelled)")
            on_file(i, None, None)
            try:
                safe = check_upload(path, name, max_bytes)
                doc_id = doc_id_for_file(folder / safe)
                if (folder / safe).exists() or safe in {a[2] for a in accepted}:
                    raise KnowledgeBaseError(f"已存在同名文件“{safe}”：如需替换，请先删除旧文件 (file exists)")
                if doc_id in taken:
                    raise KnowledgeBaseError(f"文件名“{safe}”与已有文件《{taken[doc_id]}》的编号重复，"
                                             f"请改名后再上传 (id taken)")
            except KnowledgeBaseError as exc:
                batch.failed.append((i, str(exc)))
                on_file(i, None, str(exc))
                continue
            taken[doc_id] = safe
            accepted.append((i, path, safe, doc_id))
            on_file(i, doc_id, None)
        if not accepted:
            return batch

        def watched(items, desc, total):  # stop between (and within) the ingest's stages when asked
            for item in (progress(items, desc, total) if progress else items):
                if cancelled():
                    raise UploadCancelled("已取消，知识库未改变 (cancelled)")
                yield item

        folder.mkdir(parents=True, exist_ok=True)
        copied = []
        try:
            for _i, path, safe, _d in accepted:
                partial = folder / f".{safe}.partial"
                shutil.copyfile(path, partial)
                os.replace(partial, folder / safe)
                copied.append(folder / safe)
            if cancelled():
                raise UploadCancelled("已取消，知识库未改变 (cancelled)")
            report = reindex(settings, watched)
        except BaseException as exc:
            for dest in copied:
                dest.unlink(missing_ok=True)
            if isinstance(exc, RagError) and not isinstance(exc, KnowledgeBaseError):
                raise KnowledgeBaseError(f"索引失败，已撤销上传：{exc}") from None
            raise
        unindexed = {Path(p).name: reason for p, reason in report.failed}
        for i, _path, safe, doc_id in accepted:
            if safe in unindexed:  # cannot happen after check_upload; never keep a file the index lacks
                (folder / safe).unlink(missing_ok=True)
                batch.failed.append((i, f"文件无法索引：{unindexed[safe]}"))
            else:
                batch.added.append((i, doc_id))
        if len(batch.added) < len(accepted):
            report = reindex(settings, progress)
        batch.report = report
        return batch


def delete_document(settings: Settings, doc_id: str, progress=None):
    """Remove a document from the index and re-index: an uploaded file is deleted from ``uploads/``,
    a bundled document is added to the exclusion list in ``kb.json`` (``restore_document`` undoes it).

    Returns the IngestReport. Raises KnowledgeBaseError for an unknown id, for the last remaining
    document, or when the ingest fails (then the file / exclusion list is restored)."""
    with ingest_lock(settings):
        docs = {d.doc_id: d for d in list_documents(settings)}
        entries = {e["meta"]["doc_id"]: e for e in _live_entries(settings)}
        if doc_id not in docs:
            raise KnowledgeBaseError(f"找不到文件“{doc_id}”：请刷新文件列表 (unknown document)")
        if len(docs) == 1:
            raise KnowledgeBaseError("这是知识库中的最后一份文件，不能删除 (last document)")
        if docs[doc_id].origin == "upload":
            src = Path(entries[doc_id]["source"])
            if not src.exists():  # already gone from uploads/: only the index still has it
                return reindex(settings, progress)
            with tempfile.TemporaryDirectory(prefix="rag-delete-") as tmp:
                kept = Path(tmp) / src.name
                shutil.move(str(src), kept)
                try:
                    return reindex(settings, progress)
                except BaseException:
                    shutil.move(str(kept), src)
                    raise
        before = excluded(settings)
        write_excluded(settings, [*before, doc_id])
        try:
            return reindex(settings, progress)
        except BaseException:
            write_excluded(settings, before)
            raise


def unhide(settings: Settings, doc_ids) -> list[str]:
    """Drop ``doc_ids`` from the hidden list in kb.json without re-indexing — for an ingest that has just
    indexed them (``rag ingest --include-hidden``), so that kb.json agrees with the index again.

    Returns the ids that were hidden and are not any more, in hidden-list order ([] when none; kb.json
    is then left untouched). Raises KnowledgeBaseError when kb.json is damaged."""
    drop = set(doc_ids)
    with ingest_lock(settings):
        before = excluded(settings)
        gone = [d for d in before if d in drop]
        if gone:
            write_excluded(settings, [d for d in before if d not in drop])
        return gone


def restore_document(settings: Settings, doc_id: str, progress=None):
    """Un-hide a bundled document and re-index; returns the IngestReport.

    Raises KnowledgeBaseError when ``doc_id`` is not hidden."""
    with ingest_lock(settings):
        before = excluded(settings)
        if doc_id not in before:
            raise KnowledgeBaseError(f"“{doc_id}”不是被隐藏的内置文件 (not hidden)")
        write_excluded(settings, [d for d in before if d != doc_id])
        try:
            return reindex(settings, progress)
        except BaseException:
            write_excluded(settings, before)
            raise


# --- metadata corrections --------------------------------------------------------------------
EDITABLE_FIELDS = ("title", "issuer", "doc_number", "doc_type", "level", "region", "issued_date",
                   "effective_date", "period_start", "period_end", "outlook_year", "status")
"""The metadata fields a user may correct (DOC names; ``issued_date`` is stored as DocumentMeta ``date``)."""
FIELD_LABELS = {"title": "标题", "issuer": "发文机关", "doc_number": "文号", "doc_type": "文种", "level": "层级",
                "region": "地区", "issued_date": "发布日期", "effective_date": "施行日期", "period_start": "起始年份",
                "period_end": "截止年份", "outlook_year": "远景年份", "status": "状态", "chunks": "段落数"}
"""Chinese names of the DOC fields (the editable ones and ``chunks``), as the UI and error messages show them."""
_YEAR_FIELDS = {"period_start", "period_end", "outlook_year"}
_DATE_FIELDS = {"issued_date", "effective_date"}
_ISO = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
MAX_METADATA_CHARS = 200
LEVEL_VALUES = ("国家级", "省级", "市级", "县级")
"""The values of ``level`` (``rag.ingest.metadata``: national organ, province, prefecture city, county or district)."""
"""The longest metadata value a user may enter (characters)."""


def _is_iso_date(text: str) -> bool:
    """True for a real calendar date "YYYY-MM-DD" or a month "YYYY-MM"."""
    m = _ISO.match(text)
    if not m:
        return False
    try:
        _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
    except ValueError:
        return False
    return True


def _parse_value(name: str, value):
    """A correction's value in its stored type: None for "", "null", "none", "未注明" (unknown); an int
    year for period/outlook fields; an ISO "YYYY-MM-DD" / "YYYY-MM" date for date fields.

    Raises KnowledgeBaseError naming the field and the expected form (also for a value of more than
    MAX_METADATA_CHARS characters, or with a line break or control character)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "null", "none", "未注明"}):
        return None
    text = str(value).strip()
    shown = text if len(text) <= 40 else text[:40] + "…"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise KnowledgeBaseError(f"{FIELD_LABELS.get(name, name)}只能是一行文字，不能包含换行或控制字符"
                                 f"({name}: one line of text)")
    if len(text) > MAX_METADATA_CHARS:
        raise KnowledgeBaseError(f"{FIELD_LABELS.get(name, name)}过长（{len(text)} 字），最多 {MAX_METADATA_CHARS} 字"
                                 f"({name}: at most {MAX_METADATA_CHARS} characters)")
    if name == "level" and text not in LEVEL_VALUES:
        raise KnowledgeBaseError(f"层级应为 {'、'.join(LEVEL_VALUES)} 之一（收到“{shown}”）"
                                 f"(level must be one of {', '.join(LEVEL_VALUES)})")
    if name in _YEAR_FIELDS:
        if not re.fullmatch(r"(19|20)\d{2}", text):
            raise KnowledgeBaseError(f"{FIELD_LABELS[name]}应为四位整数年份，如 2025（收到“{shown}”）"
                                     f"({name} must be a year such as 2025)")
        return int(text)
    if name in _DATE_FIELDS:
        if not _is_iso_date(text):
            raise KnowledgeBaseError(f"{FIELD_LABELS[name]}应为日期 YYYY-MM-DD 或 YYYY-MM，如 2025-03-01（收到“{shown}”）"
                                     f"({name} must be a date YYYY-MM-DD or YYYY-MM)")
        return text
    return text


def parse_metadata_value(field: str, value):
    """``value`` of DOC field ``field`` as ``set_metadata`` would store it (None = unknown, an int year,
    an ISO date, or the stripped text), without storing it. Raises KnowledgeBaseError as ``set_metadata``."""
    if field not in EDITABLE_FIELDS:
        raise KnowledgeBaseError(f"不能更正字段“{field}”，可更正的字段：{', '.join(EDITABLE_FIELDS)} "
                                 f"(unknown metadata field)")
    parsed = _parse_value(field, value)
    if field == "title" and parsed is None:
        raise KnowledgeBaseError("标题不能为空：请填写文件标题 (title cannot be empty)")
    return parsed


def set_metadata(settings: Settings, doc_id: str, field: str, value) -> dict:
    """Record the user's correction of one metadata field of ``doc_id`` in ``data_dir/metadata.json``;
    it applies (source "user") from the next ingest on, overriding the text and the manifest — call
    ``reindex`` to apply it now. ``value`` None or "" records the field as unknown. Returns the
    document's corrections. Raises KnowledgeBaseError (one line, Chinese, with the expected form) for an
    unknown field or a malformed value: a year that is not a four-digit integer, a date not YYYY-MM-DD /
    YYYY-MM, a level not in LEVEL_VALUES, an empty title, a line break, more than MAX_METADATA_CHARS."""
    parsed = parse_metadata_value(field, value)
    with ingest_lock(settings):
        data = metadata_corrections(settings)
        entry = data.setdefault(str(doc_id), {})
        entry["date" if field == "issued_date" else field] = parsed
        write_corrections(settings, data)
        return dict(entry)


def clear_metadata(settings: Settings, doc_id: str, field: str | None = None) -> None:
    """Forget the user's correction of ``field`` (every correction of ``doc_id`` when None); the text's
    (or the manifest's) value applies again from the next ingest on."""
    with ingest_lock(settings):
        data = metadata_corrections(settings)
        if field is None:
            data.pop(str(doc_id), None)
        elif str(doc_id) in data:
            data[str(doc_id)].pop("date" if field == "issued_date" else field, None)
            if not data[str(doc_id)]:
                data.pop(str(doc_id))
        write_corrections(settings, data)


def metadata_rows(settings: Settings) -> list[dict]:
    """One row per document of the live index for display and editing: the DOC fields (doc_id, title,
    issuer, doc_number, doc_type, level, region, issued_date, effective_date, period_start, period_end,
    status) plus ``chunks`` (passage count), ``source`` (the source file path) and ``field_sources``
    (field → where its value came from: the verbatim line, "manifest", "user" or "file name"); unknown
    values are None. [] when no index was built. Raises KnowledgeBaseError on damaged index files."""
    rows = []
    for entry in _live_entries(settings):
        meta = meta_from_json(entry["meta"])
        row = meta.doc_fields()
        row["chunks"] = int(entry.get("n_chunks", 0))
        row["source"] = entry.get("source", "")
        row["field_sources"] = {f: meta.source_of(f) for f in EDITABLE_FIELDS if meta.source_of(f)}
        rows.append(row)
    return rows
