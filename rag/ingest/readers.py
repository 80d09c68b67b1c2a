"""Reading source files as users have them: text in any common encoding, PDF text layers, DOCX
paragraphs and tables in body order, and HTML pages saved from a government portal.

    src = read_source(Path("通知.txt"))          # SourceText(text, encoding="GB18030", fmt="text", …)

Every reader is bounded (``ReadLimits``, from ``rag.settings.Settings``): a file whose text would
exceed ``max_chars`` characters, or a DOCX whose zip members expand beyond ``max_expanded_bytes`` (or
by more than ``max_zip_ratio`` times), is refused up front or as soon as the reader passes the limit,
with a one-line ``DocumentReadError`` naming the file and the limit. Memory and time are linear in
the file size.

Libraries: ``charset-normalizer`` (encoding detection), ``pypdfium2`` (PDF text; chosen over pypdf
and pdfminer.six because it returns unified ideographs where those two return Kangxi/radical code
points for browser-printed PDFs, and is ~10× faster), ``python-docx`` (DOCX), ``readability-lxml``
(main article of an HTML page) with ``lxml`` (walking it).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import DocumentReadError

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")
"""Suffixes ``read_source`` understands (lower case)."""

_BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # control characters text files do not hold
_BIG_MEMBER = 1024 * 1024  # zip members below 1 MiB expanded are never refused for their ratio alone


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on the work one file may cause.

    ``max_chars``: characters of extracted text per document; ``max_expanded_bytes``: total
    uncompressed size of a DOCX's zip members, in bytes; ``max_zip_ratio``: largest uncompressed /
    compressed ratio of a zip member larger than 1 MiB expanded (zip-bomb guard)."""

    max_chars: int = 4_000_000
    max_expanded_bytes: int = 64 * 1024 * 1024
    max_zip_ratio: int = 100

    @classmethod
    def from_settings(cls, settings=None) -> "ReadLimits":
        """The limits of ``settings`` (default ``Settings.from_env()``)."""
        if settings is None:
            from rag.settings import Settings

            settings = Settings.from_env()
        return cls(settings.max_document_chars, settings.max_expanded_bytes, settings.max_zip_ratio)


@dataclass(frozen=True)
class SourceText:
    """The raw text of one file before cleaning.

    ``encoding``: the character encoding the bytes were decoded from for text and HTML files (e.g.
    "UTF-8", "UTF-8 (BOM)", "GB18030", "UTF-16LE"); None for PDF and DOCX. ``fmt``: "text", "pdf",
    "docx" or "html". ``hard_wrapped``: True when lines may be broken mid-sentence (plain text, PDF),
    so cleaning may join them; False when every line is a real paragraph (DOCX, HTML)."""

    text: str
    encoding: str | None
    fmt: str
    hard_wrapped: bool


def _fail(path: Path, reason: str):
    raise DocumentReadError(str(path), reason)


def _too_long(path: Path, limits: ReadLimits):
    _fail(path, f"is longer than the limit of {limits.max_chars:,} characters per document "
                f"(RAG_MAX_DOCUMENT_CHARS); split it into smaller files")


# --- encodings ---------------------------------------------------------------------------------
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32LE (BOM)"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32BE (BOM)"),
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8 (BOM)"),
    (b"\xff\xfe", "utf-16-le", "UTF-16LE (BOM)"),
    (b"\xfe\xff", "utf-16-be", "UTF-16BE (BOM)"),
)
# Chinese legacy encodings are decoded with their superset GB18030 (GB2312 ⊂ GBK ⊂ GB18030).
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "hz": "gb18030", "ascii": "utf-8"}
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-]{2,40})""", re.I)


def _label(codec: str) -> str:
    name = codec.lower().replace("_", "-")
    return {"utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE", "utf-8": "UTF-8", "gb18030": "GB18030",
            "big5": "Big5", "utf-32-le": "UTF-32LE", "utf-32-be": "UTF-32BE"}.get(name, name.upper())


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_bytes(data: bytes, path: Path, declared: str | None = None) -> tuple[str, str]:
    """Decode the bytes of a text file; returns ``(text, encoding label)``.

    Order: a byte-order mark (UTF-8/16/32); the ``declared`` charset (an HTML ``<meta charset>``);
    strict UTF-8; otherwise ``charset_normalizer``'s best guess (GBK/GB2312 read as GB18030, UTF-16
    without BOM included). Raises DocumentReadError naming ``path`` when the bytes are binary or in
    no encoding that decodes them."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            text = _strict(data[len(bom):], codec.replace("-sig", ""))
            if text is None:
                _fail(path, f"starts with a {label} byte-order mark but is not valid {label}; "
                            f"re-save it as UTF-8 text")
            return text, label
    if declared:
        codec = _SUPERSET.get(declared.lower(), declared.lower())
        text = _strict(data, codec)
        if text is not None:
            return text, _label(codec)
    if b"\x00" not in data:
        text = _strict(data, "utf-8")
        if text is not None:
            return text, "UTF-8"
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        codec = _SUPERSET.get(best.encoding.lower(), best.encoding)
        text = _strict(data, codec)
        if text is not None and "\x00" not in text:
            return text, _label(codec)
    _fail(path, "is binary or in an unknown text encoding; save it as UTF-8 (or GB18030/UTF-16) text, "
                ".docx, .pdf or .html and ingest again")


# --- readers -----------------------------------------------------------------------------------
def _read_plain(path: Path, limits: ReadLimits) -> SourceText:
    size = path.stat().st_size
    if size > 4 * limits.max_chars:  # every encoding takes ≤ 4 bytes a character: over the limit
        _too_long(path, limits)
    text, encoding = decode_bytes(path.read_bytes(), path)
    if len(text) > limits.max_chars:
        _too_long(path, limits)
    return SourceText(text, encoding, "text", True)


def _read_pdf(path: Path, limits: ReadLimits) -> SourceText:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        _fail(path, f"cannot be parsed as .pdf ({exc}); check that the file is a complete, unencrypted PDF")
    pages, total = [], 0
    try:
        n_pages = len(pdf)
        for i in range(n_pages):
            page = pdf[i]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            page.close()
            total += len(text)
            if total > limits.max_chars:
                _too_long(path, limits)
            pages.append(text)
    finally:
        pdf.close()
    text = "\n".join(pages)
    if n_pages and not text.strip():
        _fail(path, f"has no text layer ({n_pages} page(s) of images, e.g. a scan); it needs OCR: run it through "
                    f"an OCR tool (e.g. ocrmypdf) and ingest the result")
    return SourceText(text, None, "pdf", True)


def _check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse a zip (DOCX) whose members expand beyond the limits, before any XML is parsed."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile):
        _fail(path, "cannot be parsed as .docx (not a zip package); re-save it from Word as .docx")
    expanded = sum(i.file_size for i in infos)
    if expanded > limits.max_expanded_bytes:
        _fail(path, f"expands to {expanded / 1048576:.0f} MB of XML, over the limit of "
                    f"{limits.max_expanded_bytes / 1048576:.0f} MB (RAG_MAX_EXPANDED_MB); split the document")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _BIG_MEMBER and ratio > limits.max_zip_ratio:
            _fail(path, f"member {info.filename} expands {ratio:.0f}× (limit {limits.max_zip_ratio}×, "
                        f"RAG_MAX_ZIP_RATIO); the file looks like a zip bomb and is refused")


_HEADING_STYLE = re.compile(r"^\s*(?:heading|标题)\s*([1-6])\s*$", re.I)


def _style_levels(document) -> dict[str, int]:
    """``{style_id: heading level 1–6}`` of the paragraph styles that are Word headings: named
    Heading N / 标题 N, or carrying an outline level 0–5 (level = outline level + 1)."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml.ns import qn

    levels = {}
    for style in document.styles:
        if style.type != WD_STYLE_TYPE.PARAGRAPH or not style.style_id:
            continue
        match = _HEADING_STYLE.match(style.name or "")
        if match:
            levels[style.style_id] = int(match.group(1))
            continue
        ppr = style.element.find(qn("w:pPr"))
        lvl = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
        if lvl is not None and (lvl.get(qn("w:val")) or "").isdigit() and int(lvl.get(qn("w:val"))) <= 5:
            levels[style.style_id] = int(lvl.get(qn("w:val"))) + 1
    return levels


def _cell_text(cell) -> str:
    return " ".join(p.text.replace("\t", " ").strip() for p in cell.paragraphs if p.text.strip())


def _read_docx(path: Path, limits: ReadLimits) -> SourceText:
    _check_zip(path, limits)
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx / lxml errors for a damaged package
        _fail(path, f"cannot be parsed as .docx ({type(exc).__name__}); re-save it from Word as .docx")
    levels = _style_levels(document)
    lines, total = [], 0
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells, seen = [], set()
                for cell in row.cells:  # a merged cell is repeated once per grid column
                    if id(cell._tc) in seen:
                        continue
                    seen.add(id(cell._tc))
                    cells.append(_cell_text(cell))
                if any(cells):
                    lines.append("\t".join(cells))
                    total += len(lines[-1])
        else:
            text = block.text.strip()
            if not text:
                continue
            level = levels.get(block._p.style or "")
            lines.append(f"{'#' * level} {text}" if level else text)
            total += len(lines[-1])
        if total > limits.max_chars:
            _too_long(path, limits)
    return SourceText("\n".join(lines), None, "docx", False)


# HTML: blocks end a line; headings become Markdown ATX headings; tables tab-separated rows.
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre",
               "header", "footer", "nav", "aside", "form", "center", "address", "figure", "figcaption", "hr",
               "caption", "tbody", "thead", "tfoot"}
_SKIP_TAGS = {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "head", "button",
              "select", "textarea"}
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")  # HTML white space (U+3000 is text and is kept)


class _HtmlLines:
    def __init__(self, path: Path, limits: ReadLimits):
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.total = 0
        self.path, self.limits = path, limits

    def add(self, text: str | None) -> None:
        if text:
            self.buf.append(text)

    def flush(self, prefix: str = "") -> None:
        line = _HTML_SPACE.sub(" ", "".join(self.buf)).strip()
        self.buf = []
        if line:
            self.lines.append(prefix + line)
            self.total += len(line)
            if self.total > self.limits.max_chars:
                _too_long(self.path, self.limits)

    def walk(self, el) -> None:
        tag = el.tag if isinstance(el.tag, str) else None
        if tag is None:  # comments, processing instructions
            self.add(el.tail)
            return
        tag = tag.lower()
        if tag in _SKIP_TAGS:
            self.add(el.tail)
            return
        if re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.buf = [el.text_content()]
            self.flush("#" * int(tag[1]) + " ")
        elif tag == "table":
            self.flush()
            for row in el.iter("tr"):
                cells = [_HTML_SPACE.sub(" ", c.text_content()).strip() for c in row if c.tag in ("td", "th")]
                if any(cells):
                    self.lines.append("\t".join(cells))
                    self.total += len(self.lines[-1])
        elif tag == "br":
            self.flush()
        else:
            block = tag in _BLOCK_TAGS
            if block:
                self.flush()
            self.add(el.text)
            for child in el:
                self.walk(child)
            if block:
                self.flush()
        self.add(el.tail)


def _read_html(path: Path, limits: ReadLimits) -> SourceText:
    data = path.read_bytes()
    if len(data) > 4 * limits.max_chars:
        _too_long(path, limits)
    declared = _META_CHARSET.search(data[:4096])
    html, encoding = decode_bytes(data, path, declared.group(1).decode("ascii") if declared else None)
    import lxml.html
    from readability import Document as Readable

    try:
        article = Readable(html).summary(html_partial=True)
        root = lxml.html.fromstring(article)
    except Exception as exc:  # lxml / readability errors on a damaged page
        _fail(path, f"cannot be parsed as HTML ({type(exc).__name__}); save the page again from the browser")
    walker = _HtmlLines(path, limits)
    walker.walk(root)
    walker.flush()
    return SourceText("\n".join(walker.lines), encoding, "html", False)


def read_source(path: Path, limits: ReadLimits | None = None) -> SourceText:
    """Read one source file by its suffix (.txt/.md: any common encoding; .pdf: text layer; .docx:
    paragraphs and tables in body order, headings as ``#``; .html/.htm: the article of the page).

    Raises DocumentReadError (one line, naming the file and what to do) when the file is missing or
    unreadable, of an unsupported type, binary or undecodable, damaged, over a ``limits`` bound,
    a PDF without a text layer, or empty."""
    path = Path(path)
    limits = limits or ReadLimits.from_settings()
    suffix = path.suffix.lower()
    readers = {".pdf": _read_pdf, ".docx": _read_docx, ".html": _read_html, ".htm": _read_html}
    if suffix not in SUPPORTED_SUFFIXES:
        _fail(path, f"unsupported file type {suffix or '(none)'}; give a {', '.join(SUPPORTED_SUFFIXES)} file")
    try:
        source = readers.get(suffix, _read_plain)(path, limits)
    except DocumentReadError:
        raise
    except OSError as exc:
        _fail(path, f"cannot be read ({exc.strerror or exc})")
    except Exception as exc:  # any other parser error of the libraries
        _fail(path, f"cannot be parsed as {suffix} ({type(exc).__name__}); check that the file is not damaged")
    sample = source.text[:65536]
    if "\x00" in sample or len(_BINARY_CHARS.findall(sample)) > 0.02 * len(sample):
        _fail(path, "looks binary, not text; give a .txt, .md, .pdf, .docx or .html file")
    if not source.text.strip():
        _fail(path, "is empty; nothing to index")
    return source
