"""rag.index.build: incremental, atomic ingestion on a private copy of the corpus (two small documents)."""

from __future__ import annotations

import json

import pytest

from rag.index import store as rag_index
from rag.index import generation
from rag.errors import IndexNotBuiltError, IngestError
from rag.index.store import chroma_client, index_dir, load_index, read_current
from rag.index.build import ingest
from rag.pipeline import PolicyQA
from rag.text import normalize

from core_support import MINI_DOC_IDS, Q_LEADERS

DOC = "sc-emerging-future-2025"


def _doc_path(corpus, doc_id=DOC):
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    return corpus / next(d["file"] for d in manifest["documents"] if d["id"] == doc_id)


def _chunk_ids(settings, doc_id=None):
    return {c.chunk_id for c in load_index(settings).chunks if doc_id is None or c.doc_id == doc_id}


def _live_collections(settings):
    return sorted(getattr(c, "name", c) for c in chroma_client(settings).list_collections())


def _answers_leaders(settings):
    hits = PolicyQA(settings).retrieve(Q_LEADERS, k=5)
    return any("30家以上具有全国影响力的行业领军企业" in h.chunk.text for h in hits)


@pytest.fixture
def built(mini_settings):
    report = ingest(mini_settings)
    assert sorted(report.added) == sorted(MINI_DOC_IDS) and not report.failed
    return mini_settings, report


def test_first_ingest_builds_complete_generation(built):
    settings, report = built
    assert report.changed and report.n_documents == 2 and report.generation
    pointer = read_current(settings)
    assert pointer["generation"] == report.generation
    assert sorted(pointer["documents"]) == sorted(MINI_DOC_IDS)
    gen = index_dir(settings) / report.generation
    for name in ("chunks.jsonl", "documents.json", "df.json", "lsa.npz", "bm25", "tokens.npz"):
        assert (gen / name).exists(), name
    assert _live_collections(settings) == [pointer["collection"]]
    index = load_index(settings)
    assert len(index.chunks) == report.n_chunks
    assert {c.doc_id for c in index.chunks} == set(MINI_DOC_IDS)
    assert sum(c.kind == "card" for c in index.chunks) == 2  # one document card each
    assert json.loads((gen / "df.json").read_text(encoding="utf-8"))["__N__"] == report.n_chunks
    # chunk text is the slice of the stored cleaned text
    for c in index.chunks:
        if c.kind != "card":
            assert index.doc_texts[c.doc_id][c.start:c.end] == c.text


def test_reingest_unchanged_is_a_no_op(built):
    settings, first = built
    ids = _chunk_ids(settings)
    again = ingest(settings)
    assert again.changed is False
    assert again.generation == first.generation == read_current(settings)["generation"]
    assert sorted(again.unchanged) == sorted(MINI_DOC_IDS) and not again.added and not again.updated
    assert _chunk_ids(settings) == ids


def test_changed_file_replaces_its_chunks(built, mini_corpus):
    settings, first = built
    first_collection = read_current(settings)["collection"]
    path = _doc_path(mini_corpus)
    old_index = load_index(settings)
    old_chunk = next(c for c in old_index.chunks if "培育30家以上具有全国影响力" in c.text)
    other_ids = _chunk_ids(settings, "cd-future-industries-2024")
    path.write_text(path.read_text(encoding="utf-8").replace("培育30家以上具有全国影响力", "培育45家以上具有全国影响力"),
                    encoding="utf-8")
    report = ingest(settings)
    assert report.updated == [DOC] and report.unchanged == ["cd-future-industries-2024"]
    assert report.changed and report.generation != first.generation
    ids = _chunk_ids(settings)
    assert old_chunk.chunk_id not in ids
    assert _chunk_ids(settings, "cd-future-industries-2024") == other_ids  # untouched document keeps its ids
    hits = PolicyQA(settings).retrieve("到2027年四川要培育多少家具有全国影响力的行业领军企业？", k=5)
    texts = [normalize(h.chunk.text) for h in hits]
    assert any("培育45家以上具有全国影响力" in t for t in texts)
    assert not any("培育30家以上具有全国影响力" in t for t in texts)
    # the previous generation is kept one ingest longer (answers in flight may read it), not longer
    assert read_current(settings)["generation"] == report.generation
    assert sorted(d.name for d in index_dir(settings).iterdir() if d.is_dir()) == sorted({first.generation, report.generation})
    assert sorted(_live_collections(settings)) == sorted({first_collection, read_current(settings)["collection"]})


def test_removed_file_loses_its_chunks(built, mini_corpus):
    settings, _ = built
    manifest_path = mini_corpus / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["documents"] = [d for d in manifest["documents"] if d["id"] != DOC]
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    report = ingest(settings)
    assert report.removed == [DOC] and report.n_documents == 1
    index = load_index(settings)
    assert {c.doc_id for c in index.chunks} == {"cd-future-industries-2024"}
    assert DOC not in index.docs
    assert not _answers_leaders(settings)


BINARY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # no text encoding decodes it


def test_binary_upload_is_reported_and_the_rest_ingested_with_their_encodings(mini_settings):
    uploads = mini_settings.data_dir / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "image.txt").write_bytes(BINARY)
    (uploads / "gbk-notice.txt").write_bytes("一、支持措施\n关于支持企业发展的通知，对新认定的企业给予奖励。".encode("gbk"))
    (uploads / "good-notice.txt").write_text("一、支持措施\n对新认定的企业给予奖励，用于研发投入。\n", encoding="utf-8")
    report = ingest(mini_settings)
    assert [p for p, _ in report.failed] == [str(uploads / "image.txt")]
    assert "binary" in report.failed[0][1] and "\n" not in report.failed[0][1]
    assert sorted(report.added) == sorted([*MINI_DOC_IDS, "good-notice", "gbk-notice"])
    assert report.encodings == {"gbk-notice": "GB18030"}  # UTF-8 files are not listed
    index = load_index(mini_settings)
    assert "good-notice" in index.docs and "image" not in index.docs
    assert "关于支持企业发展的通知" in index.doc_texts["gbk-notice"]
    assert _answers_leaders(mini_settings)


def test_file_that_becomes_unreadable_keeps_its_last_good_version(built, mini_corpus):
    settings, first = built
    ids = _chunk_ids(settings, DOC)
    _doc_path(mini_corpus).write_bytes(BINARY)
    report = ingest(settings)
    assert [p for p, _ in report.failed] == [str(_doc_path(mini_corpus))]
    assert DOC in report.unchanged and not report.changed
    assert _chunk_ids(settings, DOC) == ids and _answers_leaders(settings)


def test_nothing_readable_raises_and_keeps_previous(built, mini_corpus, tmp_path):
    settings, first = built
    bad = tmp_path / "bad.txt"
    bad.write_bytes(BINARY)
    with pytest.raises(IngestError, match="bad.txt"):
        ingest(settings, [bad])
    assert read_current(settings)["generation"] == first.generation


# --- exclude -------------------------------------------------------------------------------------
OTHER = "cd-future-industries-2024"


def test_exclude_leaves_a_document_out_and_keeps_the_others(built, mini_corpus):
    settings, first = built
    other_ids = _chunk_ids(settings, OTHER)
    corpus_before = sorted((p.name, p.stat().st_mtime_ns) for p in mini_corpus.rglob("*"))
    report = ingest(settings, exclude=[DOC, "no-such-document"])
    assert report.excluded == [DOC] and report.removed == [DOC] and report.unchanged == [OTHER]
    assert report.n_documents == 1 and report.generation != first.generation
    index = load_index(settings)
    assert DOC not in index.docs and {c.doc_id for c in index.chunks} == {OTHER}
    assert _chunk_ids(settings, OTHER) == other_ids  # the kept document is not re-chunked
    assert not _answers_leaders(settings)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in mini_corpus.rglob("*")) == corpus_before
    assert not list(settings.data_dir.glob("kb*"))  # no copy of the corpus anywhere
    # the same exclusion again is a no-op; without it the document comes back
    assert ingest(settings, exclude=[DOC]).changed is False
    back = ingest(settings, exclude=[])
    assert back.added == [DOC] and not back.excluded and _answers_leaders(settings)


def test_default_exclude_is_the_knowledge_base_hidden_list(built, mini_corpus):
    settings, _ = built
    (settings.data_dir / "kb.json").write_text(json.dumps({"excluded": [DOC]}), encoding="utf-8")
    report = ingest(settings)  # what `rag ingest` and the automatic first ingest do
    assert report.excluded == [DOC] and DOC not in load_index(settings).docs
    # explicit paths honour the hidden list too, so that the index and kb.json agree
    report = ingest(settings, [mini_corpus])
    assert report.excluded == [DOC] and not report.changed and DOC not in load_index(settings).docs
    report = ingest(settings, [mini_corpus], exclude=[])  # unless asked otherwise
    assert report.added == [DOC] and not report.excluded


def test_damaged_kb_json_is_an_error_and_changes_nothing(built, mini_corpus):
    from rag.index.kb import KnowledgeBaseError

    settings, first = built
    (settings.data_dir / "kb.json").write_text("{not json", encoding="utf-8")
    for paths in (None, [mini_corpus]):
        with pytest.raises(KnowledgeBaseError, match="kb.json"):
            ingest(settings, paths)
    assert read_current(settings)["generation"] == first.generation


def test_excluding_everything_raises_and_keeps_previous(built):
    settings, first = built
    with pytest.raises(IngestError, match="every document was excluded"):
        ingest(settings, exclude=MINI_DOC_IDS)
    assert read_current(settings)["generation"] == first.generation and _answers_leaders(settings)


def test_failed_ingest_with_exclude_leaves_previous_generation(built, monkeypatch):
    settings, first = built

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(generation, "write_current", boom)
    with pytest.raises(IngestError, match="previous index is unchanged"):
        ingest(settings, exclude=[DOC])
    monkeypatch.undo()
    _assert_previous_live(settings, first.generation)
    assert DOC in load_index(settings).docs


# --- atomicity ---------------------------------------------------------------------------------
def _touch_doc(corpus):
    path = _doc_path(corpus)
    path.write_text(path.read_text(encoding="utf-8") + "\n新增一段用于测试的内容。\n", encoding="utf-8")


def _assert_previous_live(settings, generation):
    assert read_current(settings)["generation"] == generation
    root = index_dir(settings)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [generation]
    assert not list(root.glob("*.partial"))
    assert _live_collections(settings) == [read_current(settings)["collection"]]
    rag_index._CACHE.clear()  # load from disk, not from memory
    assert load_index(settings).generation == generation
    assert _answers_leaders(settings)


def test_failure_while_switching_current_leaves_previous_generation(built, mini_corpus, monkeypatch):
    settings, first = built
    _touch_doc(mini_corpus)

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(generation, "write_current", boom)
    with pytest.raises(IngestError, match="previous index is unchanged"):
        ingest(settings)
    _assert_previous_live(settings, first.generation)


def test_failure_in_vector_store_add_leaves_previous_generation(built, mini_corpus, monkeypatch):
    settings, first = built
    _touch_doc(mini_corpus)
    real_client = generation.chroma_client

    class FailingCollection:
        def __init__(self, inner):
            self.inner = inner

        def upsert(self, **_kwargs):
            raise RuntimeError("chroma add failed")

        def __getattr__(self, name):
            return getattr(self.inner, name)

    class ClientProxy:
        def __init__(self, inner):
            self.inner = inner

        def create_collection(self, *a, **k):
            return FailingCollection(self.inner.create_collection(*a, **k))

        def get_collection(self, *a, **k):
            return FailingCollection(self.inner.get_collection(*a, **k))

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(generation, "chroma_client", lambda s: ClientProxy(real_client(s)))
    with pytest.raises(IngestError, match="RuntimeError"):
        ingest(settings)
    monkeypatch.undo()
    _assert_previous_live(settings, first.generation)


def test_interrupt_during_ingest_leaves_previous_generation(built, mini_corpus, monkeypatch):
    settings, first = built
    _touch_doc(mini_corpus)
    from rag.index.embeddings import LSAEmbeddings

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(LSAEmbeddings, "fit", classmethod(lambda cls, *a, **k: interrupted()))
    with pytest.raises(KeyboardInterrupt):
        ingest(settings)
    monkeypatch.undo()
    _assert_previous_live(settings, first.generation)
    # and the next ingest completes
    report = ingest(settings)
    assert report.updated == [DOC] and report.generation != first.generation


def test_failed_first_ingest_leaves_no_index(mini_settings, monkeypatch):
    monkeypatch.setattr(generation, "write_current", lambda *a, **k: (_ for _ in ()).throw(OSError("ro")))
    with pytest.raises(IngestError):
        ingest(mini_settings)
    assert read_current(mini_settings) is None
    assert not list(index_dir(mini_settings).glob("*.partial"))
    with pytest.raises(IndexNotBuiltError):
        load_index(mini_settings)


def test_stale_partial_dir_removed_by_next_successful_ingest(built, mini_corpus):
    settings, _ = built
    stale = index_dir(settings) / "g0dead.partial"
    stale.mkdir()
    (stale / "chunks.jsonl").write_text("{}", encoding="utf-8")
    before = read_current(settings)["generation"]
    _touch_doc(mini_corpus)
    report = ingest(settings)
    assert report.changed
    assert not stale.exists()
    assert sorted(p.name for p in index_dir(settings).iterdir() if p.is_dir()) == sorted({before, report.generation})


def test_changed_chunk_size_reindexes_everything(built):
    settings, first = built
    report = ingest(settings.with_(chunk_tokens=128))
    assert sorted(report.updated) == sorted(MINI_DOC_IDS) and report.generation != first.generation
    assert report.n_chunks > first.n_chunks


# --- reading files as users have them (rag.ingest.readers) ----------------------------------------------
from pathlib import Path  # noqa: E402

from rag.errors import DocumentReadError  # noqa: E402
from rag.ingest.readers import ReadLimits, read_source  # noqa: E402

TEXT = "第一章 总则\n第一条 为了规范数据要素市场，制定本办法。\n第二条 本办法自2024年1月1日起施行。\n"
DATA = Path(__file__).parent / "data"


def _one_line(exc: pytest.ExceptionInfo, path: Path) -> str:
    message = str(exc.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize("codec, label", [
    ("gbk", "GB18030"), ("gb18030", "GB18030"), ("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE"),
    ("utf-16", "UTF-16LE (BOM)"), ("utf-8-sig", "UTF-8 (BOM)"), ("utf-8", "UTF-8"),
])
def test_text_encodings_are_detected_and_named(tmp_path, codec, label):
    path = tmp_path / "notice.txt"
    path.write_bytes(TEXT.encode(codec))
    source = read_source(path)
    assert source.text == TEXT and source.encoding == label and source.hard_wrapped


@pytest.mark.parametrize("content", [BINARY, bytes(range(1, 32)) * 40])
def test_binary_file_is_refused_in_one_line(tmp_path, content):
    path = tmp_path / "photo.txt"
    path.write_bytes(content)
    with pytest.raises(DocumentReadError) as exc:
        read_source(path)
    assert "binary" in _one_line(exc, path)


def test_document_over_the_character_limit_is_refused_naming_the_limit(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("数据要素。" * 100, encoding="utf-8")  # 500 characters
    with pytest.raises(DocumentReadError) as exc:
        read_source(path, ReadLimits(max_chars=400))
    assert "400 characters" in _one_line(exc, path) and "RAG_MAX_DOCUMENT_CHARS" in str(exc.value)
    with pytest.raises(DocumentReadError, match="100 characters"):  # bytes > 4 × limit: refused unread
        read_source(path, ReadLimits(max_chars=100))
    assert read_source(path, ReadLimits(max_chars=500)).text.count("。") == 100


def test_pdf_without_text_layer_says_it_needs_ocr(tmp_path):
    import pypdfium2 as pdfium

    path = tmp_path / "scan.pdf"
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(595, 842)
    pdf.save(str(path))
    pdf.close()
    with pytest.raises(DocumentReadError) as exc:
        read_source(path)
    message = _one_line(exc, path)
    assert "OCR" in message and "empty" not in message


def test_browser_printed_pdf_reads_unified_ideographs():
    """tests/data/browser-printed-zh.pdf: Chromium's print-to-PDF of three lines; its text layer maps 日
    to ⽇ U+2F47 and 门 to ⻔ U+2ED4 (pypdf returns those); the text must match what the page shows."""
    from rag.ingest.cleaning import clean_text

    source = read_source(DATA / "browser-printed-zh.pdf")
    text = clean_text(source.text, hard_wrapped=source.hard_wrapped)
    assert "有关部门应当自受理之日起二十个工作日内办结" in text and "本办法自2024年1月1日起施行" in text
    assert not any(0x2e80 <= ord(c) <= 0x2fdf for c in text)


def _docx_with_table_and_headings(path: Path) -> Path:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    document.add_heading("第一章 总则", level=1)
    document.add_paragraph("第一条 为了规范数据要素市场，制定本办法。")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["指标", "2025年", "2027年"], ["产业规模（亿元）", "600", "1000"], ["备注", "", ""]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(2, 1).merge(table.cell(2, 2)).text = "以统计部门数据为准"
    chinese = document.styles.add_style("标题 2", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("第二章 数据资源", style=chinese)
    document.add_heading("第一节 公共数据", level=3)
    document.add_paragraph("第二条 本办法自2024年1月1日起施行。")
    document.save(str(path))
    return path


def test_docx_reads_tables_and_heading_styles_in_body_order(tmp_path):
    source = read_source(_docx_with_table_and_headings(tmp_path / "办法.docx"))
    assert source.text.split("\n") == [
        "# 第一章 总则",
        "第一条 为了规范数据要素市场，制定本办法。",
        "指标\t2025年\t2027年",
        "产业规模（亿元）\t600\t1000",
        "备注\t以统计部门数据为准",  # a merged cell once
        "## 第二章 数据资源",
        "### 第一节 公共数据",
        "第二条 本办法自2024年1月1日起施行。",
    ]
    assert source.encoding is None and not source.hard_wrapped


def test_docx_zip_bomb_and_oversized_docx_are_refused_before_parsing(tmp_path, monkeypatch):
    import zipfile

    import docx

    normal = _docx_with_table_and_headings(tmp_path / "normal.docx")
    with pytest.raises(DocumentReadError) as exc:
        read_source(normal, ReadLimits(max_expanded_bytes=10_000))
    assert "RAG_MAX_EXPANDED_MB" in _one_line(exc, normal)
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(normal) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                para = b"<w:p><w:r><w:t>\xe4\xb8\x80</w:t></w:r></w:p>"
                data = data.replace(b"<w:body>", b"<w:body>" + para * 100_000)  # ~4 MB of XML
            out.writestr(item, data)
    monkeypatch.setattr(docx, "Document", lambda *a, **k: pytest.fail("parsed a zip bomb"))
    with pytest.raises(DocumentReadError) as exc:
        read_source(bomb)
    assert "zip bomb" in _one_line(exc, bomb) and "RAG_MAX_ZIP_RATIO" in str(exc.value)


GOV_PAGE = """<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>某市关于促进数据要素发展的若干措施_政策文件_某市人民政府门户网站</title>
<style>.nav{color:red}</style><script>var _hmt = []; document.write("统计代码");</script></head><body>
<div class="nav"><a href="/">首页</a> <a href="/zwgk">政务公开</a> <a href="/hdjl">互动交流</a> <a href="/bsfw">办事服务</a></div>
<div class="article"><h1>某市关于促进数据要素发展的若干措施</h1><!-- INFO END -->
<div class="TRS_Editor"><p>各区（市）县人民政府，市政府各部门：</p>
<p>为加快培育数据要素市场，推动数字经济高质量发展，结合我市实际，制定以下措施。</p>
<h2>一、总体要求</h2><p>到2027年，数据要素市场体系基本建立，数据产业规模超过1000亿元，培育数据商50家以上。</p>
<h3>（一）基本原则</h3><p>坚持安全与发展并重，坚持政府引导与市场主导相结合，坚持开放共享。</p>
<table><tr><th>指标</th><th>2025年</th><th>2027年</th></tr><tr><td>数据产业规模（亿元）</td><td>600</td><td>1000</td></tr></table>
<p>本措施自2024年4月1日起施行，有效期3年。</p></div></div>
<div class="footer">主办单位：某市人民政府办公室　版权所有　网站标识码：1234567890 <a href="/map">网站地图</a></div>
</body></html>"""


def test_html_page_gives_the_article_with_headings_and_table_rows(tmp_path):
    path = tmp_path / "措施.html"
    path.write_bytes(GOV_PAGE.encode("gbk"))  # declared gb2312, read as its superset GB18030
    source = read_source(path)
    lines = source.text.split("\n")
    assert source.encoding == "GB18030" and not source.hard_wrapped
    assert lines[0] == "# 某市关于促进数据要素发展的若干措施"
    assert "## 一、总体要求" in lines and "### （一）基本原则" in lines
    assert "指标\t2025年\t2027年" in lines and "数据产业规模（亿元）\t600\t1000" in lines
    assert "本措施自2024年4月1日起施行，有效期3年。" in lines
    for junk in ("统计代码", "color", "INFO END", "政务公开", "网站标识码"):
        assert junk not in source.text, junk


def test_mixed_batch_with_bad_files_keeps_everything_indexed(built, mini_corpus, tmp_path):
    """Good DOCX and HTML are added; a binary file and a scanned PDF fail with one line each naming
    the file; every document indexed before stays, with its chunks."""
    import pypdfium2 as pdfium

    settings, first = built
    before = _chunk_ids(settings)
    docx_path = _docx_with_table_and_headings(tmp_path / "数据办法.docx")
    html_path = tmp_path / "数据措施.htm"
    html_path.write_text(GOV_PAGE.replace("gb2312", "utf-8"), encoding="utf-8")
    binary = tmp_path / "photo.md"
    binary.write_bytes(BINARY)
    scan = tmp_path / "scan.pdf"
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(595, 842)
    pdf.save(str(scan))
    pdf.close()
    report = ingest(settings, [mini_corpus, docx_path, html_path, binary, scan])
    assert sorted(p for p, _ in report.failed) == sorted([str(binary), str(scan)])
    assert all("\n" not in reason for _, reason in report.failed)
    assert sorted(report.added) == ["数据办法", "数据措施"] and sorted(report.unchanged) == sorted(MINI_DOC_IDS)
    assert before <= _chunk_ids(settings) and _answers_leaders(settings)
    texts = load_index(settings).doc_texts
    assert "指标\t2025年\t2027年" in texts["数据办法"] and "数据产业规模（亿元）\t600\t1000" in texts["数据措施"]
