"""The corpus: the manifest of documents, reading sources, and cleaning them into ``Document``s.

A corpus directory holds ``manifest.json`` (see ``corpus/manifest.json``) and the files it names.
Any other ``.txt``/``.md``/``.pdf``/``.docx`` file given to ``rag ingest`` is read with metadata
derived from its file name (title = file stem; every other field unknown).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from rag.cleaning import clean_text
from rag.errors import DocumentReadError, ManifestError
from rag.types import Document, DocumentMeta

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Source:
    """A file to ingest with its metadata and the manifest's verbatim ``statements`` about it."""

    path: Path
    meta: DocumentMeta
    statements: tuple[str, ...] = ()


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
        sources.append(Source(Path(corpus_dir) / entry["file"], _meta_from_entry(entry),
                              tuple(entry.get("statements") or ())))
    return sources


_ID_UNSAFE = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff_-]+")


def doc_id_for_file(path: Path) -> str:
    """A stable document id for a file without a manifest entry: its sanitised stem."""
    stem = _ID_UNSAFE.sub("-", Path(path).stem).strip("-") or "document"
    return stem[:80]


def source_for_file(path: Path) -> Source:
    """A ``Source`` for a loose file: title from the file stem, everything else unknown."""
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
    """The text of a source file: UTF-8 for .txt/.md, pypdf for .pdf, python-docx for .docx.

    Raises DocumentReadError (naming the file) when it is not UTF-8, cannot be parsed, or is empty.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            from pypdf import PdfReader

            text = "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
        elif suffix == ".docx":
            import docx

            text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
        else:
            text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentReadError(str(path), "not UTF-8 text; convert it to UTF-8 and ingest again") from None
    except OSError as exc:
        raise DocumentReadError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    except Exception as exc:  # parser errors of pypdf / python-docx
        raise DocumentReadError(str(path), f"cannot be parsed as {suffix} ({type(exc).__name__})") from None
    if "\x00" in text:
        raise DocumentReadError(str(path), "looks binary, not text; give a .txt, .md, .pdf or .docx file")
    if not text.strip():
        raise DocumentReadError(str(path), "is empty; nothing to index")
    return text


def load_document(source: Source, sha256: str | None = None) -> Document:
    """Read and clean one source. Raises DocumentReadError as ``read_text`` does."""
    raw = read_text(source.path)
    return Document(meta=source.meta, text=clean_text(raw), sha256=sha256 or file_sha256(source.path))
