"""Hostile and unlucky input files, for the fault tests (tests/test_faults.py) and the fault table
(bench/faults.py). Each maker writes one file into a folder and returns its path; sizes are
parameters so that the tests can use small versions of the long cases of the script.

``INPUTS``: name → (maker(folder: Path) -> Path, expected) where ``expected`` is "refused" (a one-line
``error:`` and nothing indexed changes) or "indexed" (the document is added; the rest stays).
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

from core_support import DOCS_DIR

POLICY_TEXT = ("某市关于支持企业技术改造的若干措施\n\n一、支持技术改造\n\n对年度技术改造投资500万元以上的项目，按设备投资额的10%"
               "给予补助，最高不超过300万元。\n\n二、支持企业上规\n\n对首次纳入规模以上统计的工业企业给予一次性奖励20万元。\n")


def chinese_text(n_bytes: int) -> str:
    """About ``n_bytes`` of UTF-8 Chinese policy prose: the bundled documents' text repeated."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS_DIR.glob("*.txt")))
    reps = n_bytes // len(source.encode("utf-8")) + 1
    return (source * reps)[: n_bytes // 3]


def zip_bomb_docx(folder: Path, expanded_mb: int = 63) -> Path:
    """A valid DOCX (python-docx) whose word/document.xml is replaced by ``expanded_mb`` MiB of
    repetitive paragraph XML; deflate shrinks it ~350×, so the file is ~3 KB per expanded MiB
    (63 MiB → ~180 KB on disk)."""
    import docx

    plain = folder / "bomb-template.docx"
    docx.Document().save(plain)
    para = "<w:p><w:r><w:t>对年度技术改造投资500万元以上的项目给予补助。</w:t></w:r></w:p>".encode("utf-8")
    head = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
            b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
    tail = b"</w:body></w:document>"
    body = para * ((expanded_mb * 1024 * 1024 - len(head) - len(tail)) // len(para))
    out = folder / "bomb.docx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for item in src.infolist():
            data = head + body + tail if item.filename == "word/document.xml" else src.read(item.filename)
            dst.writestr(item.filename, data)
    plain.unlink()
    return out


def text_file(folder: Path, name: str, n_bytes: int) -> Path:
    out = folder / name
    out.write_text(chinese_text(n_bytes), encoding="utf-8")
    return out


def many_paragraphs_docx(folder: Path, n: int = 10_000) -> Path:
    """A DOCX of ``n`` short paragraphs (numbered policy sentences)."""
    import docx

    doc = docx.Document()
    doc.add_heading("某市关于推动产业发展的若干措施", level=1)
    for i in range(n):
        doc.add_paragraph(f"第{i + 1}项措施：对符合条件的企业给予{(i % 50) + 1}万元奖励。")
    out = folder / f"paragraphs-{n}.docx"
    doc.save(out)
    return out


def empty_file(folder: Path) -> Path:
    out = folder / "empty.txt"
    out.write_bytes(b"")
    return out


def binary_as_txt(folder: Path) -> Path:
    """Random bytes (and NULs) under a .txt name."""
    out = folder / "binary.txt"
    rnd = random.Random(16)
    out.write_bytes(bytes(rnd.randrange(256) for _ in range(64 * 1024)) + b"\x00" * 1024)
    return out


def pdf_without_text(folder: Path) -> Path:
    """A two-page PDF with no text layer (blank pages, as a scan without OCR has no text)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(2):
        pdf.new_page(595, 842)
    out = folder / "scan.pdf"
    pdf.save(out)
    pdf.close()
    return out


def encoded_text(folder: Path, codec: str) -> Path:
    """The policy text encoded in ``codec`` (gbk, utf-16)."""
    out = folder / f"measures-{codec}.txt"
    out.write_bytes(POLICY_TEXT.replace("某市", f"某市（{codec}）").encode(codec))
    return out


def unsupported_type(folder: Path) -> Path:
    out = folder / "table.xlsx"
    out.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    return out


def html_with_script(folder: Path) -> Path:
    """An HTML page with a policy text and script/handler markup that must stay inert."""
    out = folder / "page-with-script.html"
    out.write_text("<html><head><title>某市关于支持企业技术改造的若干措施</title><script>alert('x')</script></head><body>"
                   "<h1>某市关于支持企业技术改造的若干措施</h1><img src=x onerror=\"alert(1)\">"
                   + "".join(f"<p>{line}</p>" for line in POLICY_TEXT.splitlines()[1:] if line)
                   + "<p>&lt;script&gt;alert('quoted')&lt;/script&gt;</p><script>document.write('x')</script>"
                   "</body></html>", encoding="utf-8")
    return out


def text_with_script(folder: Path) -> Path:
    out = folder / "text-with-script.txt"
    out.write_text(POLICY_TEXT + "\n三、附则\n\n<script>alert('x')</script><img src=x onerror=alert(1)>本措施自印发之日起施行。\n",
                   encoding="utf-8")
    return out


INPUTS: dict = {
    "DOCX zip bomb (63 MiB XML)": (zip_bomb_docx, "refused"),
    "10 MB Chinese text": (lambda f: text_file(f, "chinese-10mb.txt", 10 * 1024 * 1024), "indexed"),
    "50 MB text": (lambda f: text_file(f, "text-50mb.txt", 50 * 1024 * 1024), "refused"),
    "DOCX of 10,000 paragraphs": (many_paragraphs_docx, "either"),
    "empty file": (empty_file, "refused"),
    "binary renamed .txt": (binary_as_txt, "refused"),
    "PDF without a text layer": (pdf_without_text, "refused"),
    "GBK text": (lambda f: encoded_text(f, "gbk"), "indexed"),
    "UTF-16 text": (lambda f: encoded_text(f, "utf-16"), "indexed"),
    "unsupported type (.xlsx)": (unsupported_type, "refused"),
    "HTML with <script>": (html_with_script, "indexed"),
    "text with <script> markup": (text_with_script, "indexed"),
}

# Upload names for rag.index.kb.add_upload: traversal, control characters, very long.
UPLOAD_NAMES = {
    "traversal name": "../../../../etc/cron.d/evil.txt",
    "control-char name": "通知\x00\x1b[31m\r\n\t.txt",
    "very long name": "关于" + "很长" * 400 + ".txt",
}
