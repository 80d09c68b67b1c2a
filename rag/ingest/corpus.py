"""The corpus: the manifest of documents, the user's changes to it, reading sources, cleaning them into
``Document``s, and each document's card.

A corpus directory may hold ``manifest.json`` (see ``corpus/manifest.json``) naming its files. Every
document's metadata is read from its own text (``rag.ingest.metadata.extract_metadata``; title = file stem
when the text states none); a manifest entry overrides the fields it lists (source "manifest") and
user corrections (``Source.overrides``, ``rag.index.kb.set_metadata``) override both (source "user").

The user's changes live in two files of the data directory, read at every ingest (``rag.index.build``) and
changed under the ingest lock by ``rag.index.kb``: ``kb.json`` (bundled documents hidden from the index,
``excluded``) and ``metadata.json`` (metadata corrections, ``metadata_corrections``).

A document's card (``build_card``) is the synthetic passage describing it from its metadata, appended
to its chunks at ingest (``rag.index.workers.read_and_chunk``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from rag.ingest.cleaning import clean_text
from rag.errors import DocumentReadError, KnowledgeBaseError, ManifestError  # noqa: F401 (re-exported)
from rag.ingest.readers import SUPPORTED_SUFFIXES, read_source  # noqa: F401 (SUPPORTED_SUFFIXES re-exported)
from rag.settings import Settings
from rag.types import Chunk, Document, DocumentMeta

MANIFEST_NAME = "manifest.json"
KB_FILE = "kb.json"
"""``data_dir/kb.json``: {"excluded": [doc_id, …]}, the bundled documents hidden from the index."""
METADATA_FILE = "metadata.json"
"""``data_dir/metadata.json``: {"corrections": {doc_id: {DocumentMeta field: value}}}, applied at every ingest."""
CARD_SECTION = "文件信息"
"""The section path of a document card (``build_card``)."""


@dataclass(frozen=True)
class Source:
    """A file to ingest with its metadata and the manifest's verbatim ``statements`` about it."""

    path: Path
    meta: DocumentMeta
    statements: tuple[str, ...] = ()
    manifest_fields: tuple[str, ...] = ()  # DocumentMeta fields the manifest entry states (null included)
    overrides: tuple[tuple[str, object], ...] = ()  # user corrections: (DocumentMeta field, value)


def _meta_from_entry(entry: dict) -> DocumentMeta:
    fields = DocumentMeta.__dataclass_fields__
    kwargs = {k: entry.get(k) for k in fields if k not in {"doc_id", "short_names"} and k in entry}
    kwargs["short_names"] = tuple(entry.get("short_names") or ())
    return DocumentMeta(doc_id=entry["id"], **kwargs)


def load_manifest(corpus_dir: Path) -> list[Source]:
    """Sources listed in ``corpus_dir/manifest.json``, in manifest order.

    Raises ManifestError when the manifest is missing, is not valid JSON, lacks a required field
    (id, file, title) or repeats an id.
    """
    path = Path(corpus_dir) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path} not found; a corpus directory needs a manifest.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path} is not valid JSON ({exc}); fix the file") from None
    sources, seen = [], set()
    for i, entry in enumerate(data.get("documents", [])):
        missing = [k for k in ("id", "file", "title") if not entry.get(k)]
        if missing:
            raise ManifestError(f"{path}: document #{i + 1} lacks {', '.join(missing)}")
        if entry["id"] in seen:
            raise ManifestError(f"{path}: duplicate document id {entry['id']!r}")
        seen.add(entry["id"])
        entry = {**entry, "original_file": entry.get("original_file") or Path(entry["file"]).name}
        stated = tuple(k for k in DocumentMeta.__dataclass_fields__
                       if k in entry and k not in {"doc_id", "file", "original_file", "short_names", "sources"})
        sources.append(Source(Path(corpus_dir) / entry["file"], _meta_from_entry(entry),
                              tuple(entry.get("statements") or ()), stated))
    return sources


_ID_UNSAFE = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff_-]+")


def doc_id_for_file(path: Path) -> str:
    """A stable document id for a file without a manifest entry: its sanitised stem."""
    stem = _ID_UNSAFE.sub("-", Path(path).stem).strip("-") or "document"
    return stem[:80]


def source_for_file(path: Path) -> Source:
    """A ``Source`` for a loose file: title from the file stem, everything else unknown until
    ``load_document`` reads the metadata from the text."""
    path = Path(path)
    meta = DocumentMeta(doc_id=doc_id_for_file(path), file=str(path), original_file=path.name, title=path.stem)
    return Source(path, meta)


def collect_sources(paths: list[Path]) -> list[Source]:
    """Expand ingest arguments: a directory with a manifest gives its manifest sources; any other
    directory gives its supported files (sorted); a file gives itself (or its manifest entry when it
    sits in a corpus directory's manifest).

    Raises ManifestError for a path that does not exist.
    """
    out: list[Source] = []
    for p in map(Path, paths):
        if not p.exists():
            raise ManifestError(f"{p} does not exist; give a file or a directory to ingest")
        if p.is_dir():
            if (p / MANIFEST_NAME).exists():
                out.extend(load_manifest(p))
            else:
                out.extend(source_for_file(f) for f in sorted(p.rglob("*"))
                           if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES)
        else:
            listed = {}
            if (p.parent / MANIFEST_NAME).exists():
                listed = {s.path.resolve(): s for s in load_manifest(p.parent)}
            out.append(listed.get(p.resolve()) or source_for_file(p))
    return out


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_text(path: Path) -> str:
    """The raw text of a source file (``rag.ingest.readers.read_source``: any common text encoding, PDF text
    layer, DOCX paragraphs and tables, HTML article), before cleaning.

    Raises DocumentReadError (one line naming the file) when it is unreadable, binary or undecodable,
    damaged, over a size limit, a PDF without a text layer, or empty."""
    return read_source(path).text


# DocumentMeta field → ExtractedMetadata field
_EXTRACTED = {"title": "title", "issuer": "issuer", "doc_number": "doc_number", "doc_type": "doc_type",
              "level": "level", "region": "region", "date": "issued_date", "effective_date": "effective_date",
              "period_start": "period_start", "period_end": "period_end", "outlook_year": "outlook_year",
              "status": "status", "history": "history"}


def resolve_metadata(source: Source, raw_text: str) -> DocumentMeta:
    """The document's metadata: what its text states (``extract_metadata``), overridden by the fields
    its manifest entry lists (source "manifest"), overridden by user corrections (source "user").
    Metadata that cannot be read stays unknown; this never raises on the text's content."""
    from dataclasses import replace

    from rag.ingest.metadata import ExtractedMetadata, extract_metadata

    try:
        extracted = extract_metadata(raw_text, source.path.name)
    except Exception:  # noqa: BLE001 - a document whose metadata cannot be read is still ingested
        extracted = ExtractedMetadata()
    values, origin = {}, {}
    for name, attr in _EXTRACTED.items():
        value = getattr(extracted, attr)
        if value is not None:
            values[name], origin[name] = value, extracted.sources.get(attr, "")
    for name in source.manifest_fields:
        values[name] = getattr(source.meta, name)
        origin[name] = "manifest"
    for name, value in source.overrides:
        if name in _EXTRACTED or name == "outlook_year":
            values[name], origin[name] = value, "user"
    values["title"] = values.get("title") or source.meta.title
    origin.setdefault("title", "file name")
    sources = tuple((k, origin[k]) for k in _EXTRACTED if k in origin and values.get(k) is not None)
    return replace(source.meta, **values, sources=sources)


def card_statements(source: Source, meta: DocumentMeta) -> tuple[str, ...]:
    """Verbatim lines for the document card: the manifest's ``statements``, or else the lines the
    metadata was read from (not those of the revision history: the card states it on a line of its own, and
    its latest event is the issued date's line)."""
    if source.statements:
        return source.statements
    out: list[str] = []
    for field_name, origin in meta.sources:
        # the history's lines: the card states it on its own line (修改情况), its latest line is the issued date's
        if field_name != "history" and origin not in {"manifest", "user", "file name", ""}:
            out.extend(p for p in origin.split(" / ") if p not in out)
    return tuple(out)


def build_card(meta: DocumentMeta, statements: Iterable[str], text: str) -> Chunk:
    """A synthetic passage describing the document from its metadata (read from its text, the manifest
    or user corrections: ``DocumentMeta``), so that questions about the documents themselves (issuer,
    number, type, dates, period, status) retrieve it. It quotes the verbatim ``statements`` (the
    manifest's, or the lines the metadata was read from) that occur in the cleaned text; the type and
    effective date lines appear only when known."""
    unknown = "未注明"
    period = meta.period_label() or unknown
    if meta.outlook_year:
        period += f"，远景展望至{meta.outlook_year}年"
    lines = [
        f"文件名称：{meta.title}",
        *([f"文件类型：{meta.doc_type}"] if meta.doc_type else []),
        f"发布单位：{meta.issuer or unknown}",
        f"层级与适用地区：{meta.level or unknown}，{meta.region or unknown}",
        f"文号：{meta.doc_number or unknown}",
        f"成文日期：{meta.date or unknown}",
        *([f"施行日期：{meta.effective_date}"] if meta.effective_date else []),
        *([f"修改情况：{history_label(meta)}"] if meta.history else []),
        f"规划期（实施期）：{period}",
        f"状态：{meta.status or unknown}",
    ]
    quoted = [q for q in (_verbatim(s, text) for s in statements) if q]
    if quoted:
        lines.append("原文：" + " / ".join(quoted))
    body = "\n".join(lines)
    from rag.ingest.chunking import chunk_id
    from rag.text import count_tokens

    return Chunk(chunk_id(meta.doc_id, "card\n" + body), meta.doc_id, CARD_SECTION, body, -1, -1,
                 count_tokens(body), "card")


def history_label(meta: DocumentMeta) -> str:
    """A regulation's history for its card: "2004-08-19通过；2010-12-23修订；2018-11-22修正（修订、修正共2次）", or
    "…通过（未经修订、修正）"; "" when the text states none (``DocumentMeta.history``)."""
    if not meta.history:
        return ""
    events = "；".join(f"{date}{kind}" for kind, date in meta.history)
    n = len(meta.revisions)
    return events + (f"（修订、修正共{n}次）" if n else "（未经修订、修正）")


def _verbatim(statement: str, text: str) -> str | None:
    """``statement`` as the cleaned ``text`` writes it: itself when it occurs there, else the first span
    of ``text`` equal to it up to whitespace (a header line "2024年3月29日 北京市…通过" read from the raw file
    before cleaning joined it without the space); None when the text has no such span."""
    if not statement or not statement.strip():
        return None
    if statement in text:
        return statement
    chars = [re.escape(c) for c in statement if not c.isspace()]
    m = re.search(r"\s*".join(chars), text)
    return m.group() if m else None


def load_document(source: Source, sha256: str | None = None) -> Document:
    """Read and clean one source; its metadata is read from the text (``resolve_metadata``).
    Raises DocumentReadError as ``read_text`` does."""
    raw = read_source(source.path)
    return Document(meta=resolve_metadata(source, raw.text), text=clean_text(raw.text, hard_wrapped=raw.hard_wrapped),
                    sha256=sha256 or file_sha256(source.path), encoding=raw.encoding)


# --- the user's changes: hidden documents (kb.json) and metadata corrections (metadata.json) ----------
def kb_path(settings: Settings) -> Path:
    """``data_dir/kb.json``."""
    return Path(settings.data_dir) / KB_FILE


def excluded(settings: Settings) -> list[str]:
    """Ids of bundled documents hidden from the index (``data_dir/kb.json``; [] when absent).

    Raises KnowledgeBaseError when kb.json is not valid JSON."""
    try:
        data = json.loads(kb_path(settings).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise KnowledgeBaseError(f"{kb_path(settings)} is unreadable ({exc}); fix or delete it") from None
    return [str(d) for d in data.get("excluded", [])]


def write_excluded(settings: Settings, ids: list[str]) -> None:
    """Replace the hidden list of kb.json with ``ids`` (sorted, without repeats), atomically. The caller
    holds the ingest lock (``rag.index.kb``)."""
    _write_json(kb_path(settings), {"excluded": sorted(set(ids))})


def metadata_path(settings: Settings) -> Path:
    """``data_dir/metadata.json``."""
    return Path(settings.data_dir) / METADATA_FILE


def metadata_corrections(settings: Settings) -> dict[str, dict]:
    """doc_id → {DocumentMeta field: value} of the user's corrections ({} when none were made).

    Raises KnowledgeBaseError when metadata.json is damaged."""
    try:
        data = json.loads(metadata_path(settings).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise KnowledgeBaseError(f"{metadata_path(settings)} is unreadable ({exc}); fix or delete it") from None
    return {str(d): dict(v) for d, v in (data.get("corrections") or {}).items() if isinstance(v, dict)}


def write_corrections(settings: Settings, data: dict) -> None:
    """Replace metadata.json's corrections with ``data`` (doc_id → {field: value}), atomically. The
    caller holds the ingest lock (``rag.index.kb``)."""
    _write_json(metadata_path(settings), {"corrections": data})


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)

