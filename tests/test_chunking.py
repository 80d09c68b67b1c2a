"""rag.ingest.chunking: heading levels and labels, section paths, chunk invariants on the real corpus."""

from __future__ import annotations

import re

import pytest

from rag.ingest.chunking import (ARTICLE_LEVEL, BACK_MATTER_LEVEL, CHAPTER_LEVEL, LABEL_LEVEL, PART_LEVEL, SECTION_LEVEL,
                          SECTION_SEP, cn_number, label_paragraph, SPAN_CHARS, build_outlines, chunk_document, chunk_id, heading_label,
                          heading_level, is_heading_only, max_overlap_tokens, outline_section)
from rag.ingest.cleaning import clean_text, markdown_heading
from rag.text import count_tokens, normalize, split_sentences

MAX_TOKENS = (64, 320)
_LABEL = re.compile(r"[—\-－–]*\s*[^，,、：:；;（()）。.！？!?\s]{2,16}")


@pytest.fixture(scope="module")
def chunked(cleaned_docs):
    """(max_tokens, doc_id) → chunks of the cleaned bundled documents."""
    return {(mx, d): chunk_document(d, t, mx) for mx in MAX_TOKENS for d, t in cleaned_docs.items()}


def _cases(cleaned_docs_ids=("sc-emerging-future-2025", "sc-hitech-14th-draft", "sc-sei-13th",
                             "cd-future-industries-2024", "cd-manufacturing-14th")):
    return [(mx, d) for mx in MAX_TOKENS for d in cleaned_docs_ids]


# --- heading levels ----------------------------------------------------------------------------
@pytest.mark.parametrize("paragraph, level", [
    ("一、总体目标", 20),
    ("十二、加强规划实施保障", 20),
    ("二、 指导思想、发展原则和发展目标", 20),
    ("（一）壮大新兴产业", 21),
    ("(一)壮大新兴产业。", 21),
    ("(十) 数字经济", 21),
    ("1.人工智能。坚持以数据高效汇聚为支撑", 22),
    ("2. 机器人。突出整机带动", 22),
    ("3．集成电路", 22),
    ("4、新型显示", 22),
    ("专栏 1 电子信息技术", 23),
    ("专栏3 装备制造", 23),
    ("正文段落。", None),
    ("1.5亿元的资金投入", None),
    ("2025年全省高新技术企业达到12000家。", None),
    ("一是加快推进。", None),
])
def test_heading_level(paragraph, level):
    assert heading_level(paragraph) == level


def test_long_numbered_sentence_without_label_is_not_a_heading():
    item = "1." + "加快推进产业基础高级化和产业链现代化" * 3 + "，形成新的增长点"
    assert len(item) > 40 and heading_level(item) is None


def test_heading_levels_after_cleaning_markdown_and_list_markers():
    text = clean_text("# 标题\n#### 一、总体目标\n正文。\n# 二、重点突破方向\n## (一)壮大新兴产业。\n- 1. 人工智能。坚持创新。")
    levels = [heading_level(p) for p in text.split("\n")]
    assert levels == [None, 20, None, 20, 21, 22]  # '#' count does not decide the level, the numbering does


@pytest.mark.parametrize("paragraph, label", [
    ("1.人工智能。坚持以数据高效汇聚为支撑、以重点行业应用为牵引", "1.人工智能"),
    ("2. 机器人。突出整机带动,强化关键零部件制造", "2. 机器人"),
    ("(一)壮大新兴产业。", "(一)壮大新兴产业"),
    ("一、总体目标", "一、总体目标"),
    ("1.把握全球变局：全球产业链供应链加速重构", "1.把握全球变局"),
    ("16. 第六代移动通信(6G)。聚焦技术", "16. 第六代移动通信(6G)"),
])
def test_heading_label(paragraph, label):
    assert heading_label(paragraph) == label


def test_heading_label_of_long_heading_is_truncated():
    p = "（一）" + "聚焦产业需求开展重大技术攻关" * 4
    assert heading_label(p).endswith("…") and len(heading_label(p)) == 41


def test_is_heading_only():
    assert is_heading_only("一、总体目标")
    assert is_heading_only("(一)壮大新兴产业。")
    assert not is_heading_only("1.人工智能。坚持以数据高效汇聚为支撑。")
    assert not is_heading_only("正文。")


# --- section paths -----------------------------------------------------------------------------
SYNTHETIC = "\n".join([
    "关于某项产业的实施方案",
    "前言正文。",
    "一、总体目标",
    "到2027年实现目标。",
    "二、重点方向",
    "（一）壮大新兴产业",
    "1.人工智能。坚持创新驱动。",
    "2.机器人。突出整机带动。",
    "专栏 1 重点工程",
    "建设一批工程。",
    "（二）培育未来产业",
    "3.量子科技。聚焦量子通信。",
    "三、保障措施",
    "加强组织领导。",
])


def _first_body_line(chunk):
    return next(line for line in chunk.text.split("\n") if not is_heading_only(line))


def test_section_paths_synthetic():
    chunks = chunk_document("doc", SYNTHETIC, 320)
    sections = {_first_body_line(c): c.section for c in chunks}
    assert sections["关于某项产业的实施方案"] == ""
    assert sections["到2027年实现目标。"] == "一、总体目标"
    assert sections["1.人工智能。坚持创新驱动。"] == SECTION_SEP.join(["二、重点方向", "（一）壮大新兴产业", "1.人工智能"])
    assert sections["2.机器人。突出整机带动。"] == "二、重点方向 › （一）壮大新兴产业 › 2.机器人"
    assert sections["建设一批工程。"] == "二、重点方向 › （一）壮大新兴产业 › 2.机器人 › 专栏 1 重点工程"
    assert sections["3.量子科技。聚焦量子通信。"] == "二、重点方向 › （二）培育未来产业 › 3.量子科技"
    assert sections["加强组织领导。"] == "三、保障措施"


def test_heading_only_lines_open_the_first_chunk_of_their_section():
    """A run of heading-only lines is chunk text in front of the body that follows it (so that a
    span of a heading is in some chunk), in the chunk of the section that body belongs to."""
    texts = {c.section: c.text for c in chunk_document("doc", SYNTHETIC, 320)}
    assert texts["一、总体目标"] == "一、总体目标\n到2027年实现目标。"
    assert texts["二、重点方向 › （一）壮大新兴产业 › 1.人工智能"].startswith("二、重点方向\n（一）壮大新兴产业\n1.人工智能。")
    assert texts["二、重点方向 › （一）壮大新兴产业 › 2.机器人 › 专栏 1 重点工程"] == "专栏 1 重点工程\n建设一批工程。"
    trailing = chunk_document("doc", "一、目标\n正文。\n二、附件", 320)
    assert [c.text for c in trailing] == ["一、目标\n正文。", "二、附件"]


def test_section_path_of_000_robot(chunked):
    sections = {c.section for c in chunked[(320, "sc-emerging-future-2025")]}
    assert "二、重点突破方向 › (一)壮大新兴产业 › 2. 机器人" in sections
    assert "二、重点突破方向 › (一)壮大新兴产业 › 1.人工智能" in sections
    assert "二、重点突破方向 › (二)培育发展未来产业 › 21. 可控核聚变" in sections  # "- 21." in the source
    assert "一、总体目标" in sections and "四、保障措施" in sections


def test_section_paths_of_other_documents(chunked):
    hitech = {c.section for c in chunked[(320, "sc-hitech-14th-draft")]}
    assert "三、重点领域 › (一) 电子信息技术 › 1. 集成电路" in hitech
    assert any(s.endswith("› 专栏 1 电子信息技术") for s in hitech)
    manu = {c.section for c in chunked[(320, "cd-manufacturing-14th")]}
    assert any(s.startswith("三、发展重点 › （一）突出发展支柱产业，推动能级再跃升 › 1.电子信息 › 专栏 2") for s in manu)


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_section_is_a_path_of_labels(chunked, mx, doc_id):
    for c in chunked[(mx, doc_id)]:
        if c.section:
            parts = c.section.split(SECTION_SEP)
            # a label sub-section (a run of labelled paragraphs, LABEL_LEVEL) is named by its label alone
            levels = [LABEL_LEVEL if heading_level(p) is None and _LABEL.fullmatch(p) else heading_level(p)
                      for p in parts]
            assert None not in levels, c.section
            assert levels == sorted(levels) and len(set(levels)) == len(levels), c.section


# --- chunk invariants --------------------------------------------------------------------------
def _overlap(text, a, b) -> str:
    """The text chunk ``b`` repeats from the chunk ``a`` before it ("" when they do not overlap)."""
    return text[b.start:a.end] if b.start < a.end else ""


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_chunk_text_is_slice_of_document(cleaned_docs, chunked, mx, doc_id):
    text = cleaned_docs[doc_id]
    chunks = chunked[(mx, doc_id)]
    assert chunks
    for c in chunks:
        assert c.text == text[c.start:c.end]
        assert c.doc_id == doc_id and c.text.strip()
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    for a, b in zip(chunks, chunks[1:]):
        shared = _overlap(text, a, b)
        if shared:  # b repeats a's tail, inside one line: ≥ SPAN_CHARS characters unless the line is shorter
            assert a.start < b.start and "\n" not in shared and b.end > a.end
            line_part = text[text.rfind("\n", 0, a.end) + 1:a.end]
            assert len(normalize(shared)) >= min(SPAN_CHARS, len(normalize(line_part)))
            assert count_tokens(shared) <= max_overlap_tokens(mx)


def _heading_run(chunk) -> int:
    """Number of heading-only lines that open ``chunk``."""
    if not chunk.section:  # before the first heading (a cover label such as 附件 is no heading there)
        return 0
    lines = chunk.text.split("\n")
    return next((i for i, line in enumerate(lines) if not is_heading_only(line)), len(lines))


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_chunks_never_cross_sections(cleaned_docs, chunked, mx, doc_id):
    """Heading lines occur only at the start of a chunk: the heading-only lines before its first body
    line, and a heading with body text (1.人工智能。…) only as the line that opens its section."""
    for c in chunked[(mx, doc_id)]:
        if not c.section:  # before the first heading: a cover label (附件) is no heading there
            continue
        lines = c.text.split("\n")
        run = _heading_run(c)
        for line in lines[run + 1:]:
            assert heading_level(line) is None, (c.section, line[:40])
        if run < len(lines) and heading_level(lines[run]) is not None:
            assert c.section.split(SECTION_SEP)[-1] == heading_label(lines[run])
        if run:  # the last heading of the run is the chunk's section or one of its ancestors
            assert heading_label(lines[run - 1]) in c.section.split(SECTION_SEP)


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_chunks_end_at_sentence_or_paragraph_boundaries(cleaned_docs, chunked, mx, doc_id):
    """A chunk ends at a sentence or line end and starts at a sentence or line start, or inside the
    previous chunk (its overlap); anything else only inside a sentence that does not fit behind the
    chunk's (or the previous chunk's) start — the text it repeats and its heading lines count."""
    text = cleaned_docs[doc_id]
    sentences = split_sentences(text)
    ends = {e for _, e in sentences}
    starts = {s for s, _ in sentences}
    chunks = chunked[(mx, doc_id)]
    for i, c in enumerate(chunks):
        at_end = c.end == len(text) or text[c.end] == "\n" or c.end in ends
        at_start = (c.start == 0 or text[c.start - 1] == "\n" or c.start in starts
                    or (i > 0 and _overlap(text, chunks[i - 1], c)))
        if not (at_end and at_start):
            inside = [(s, e) for s, e in sentences if s <= c.start < e or s < c.end <= e]
            anchor = min(c.start, chunks[i - 1].start) if i else c.start
            assert any(count_tokens(text[min(s, anchor):e]) > mx for s, e in inside), c.text[-40:]


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_chunk_token_counts_within_limit(chunked, mx, doc_id):
    """The cap holds for every chunk: the text it repeats from the previous chunk and its heading
    lines included."""
    for c in chunked[(mx, doc_id)]:
        assert c.n_tokens == count_tokens(c.text) and c.n_tokens <= mx, (c.n_tokens, c.text[:60])


def _uncovered(text: str, chunks, width: int = SPAN_CHARS, step: int = 1) -> list[str]:
    """Spans of ``width`` non-space characters (the whole line when shorter) within one line of
    ``text``, taken every ``step`` characters, that no chunk contains (compared as BENCHMARK.md:
    after NFKC + whitespace removal)."""
    norm = [normalize(c.text) for c in chunks]
    out = []
    for line in text.split("\n"):
        n = normalize(line)
        spans = [n] if 0 < len(n) <= width else [n[i:i + width] for i in range(0, len(n) - width + 1, step)]
        out += [s for s in spans if not any(s in t for t in norm)]
    return out


@pytest.mark.parametrize("mx", MAX_TOKENS)
def test_every_short_span_of_a_line_is_in_some_chunk(cleaned_docs, chunked, mx):
    """Coverage invariant on the bundled corpus: every span of ≤ SPAN_CHARS characters within one line
    (all windows of SPAN_CHARS, step 1; shorter lines whole) is contained in a chunk — across sentence
    borders at chunk borders, pieces of over-long sentences, and heading lines."""
    for doc_id, text in cleaned_docs.items():
        assert _uncovered(text, chunked[(mx, doc_id)]) == [], doc_id


def test_span_across_a_chunk_border_after_a_long_sentence_is_in_some_chunk():
    """Synthetic: long sentences (longer than the overlap budget) and a flattened table line without
    sentence ends — every 30-character span stays whole in some chunk."""
    long_sentence = "以芳纶纤维、碳纤维、玄武岩纤维为重点加快提升高强度高模量复合材料产业化水平和应用能力。"
    text = "\n".join(["一、发展重点", long_sentence * 12,
                     " ".join(f"{i} 第{i}项指标（户） {i * 3} {i * 5}" for i in range(1, 60)),
                     "，".join(["加快推进产业基础高级化和产业链现代化"] * 30) + "。"])
    for mx in (48, 64, 128):
        chunks = chunk_document("doc", text, mx)
        assert len(chunks) > 3
        assert _uncovered(text, chunks) == [], mx
        assert all(c.text == text[c.start:c.end] for c in chunks)


def test_chunk_token_count_is_exact_and_within_limit():
    lines = ["成都市人民政府", "2024年1月3日", "抄送：市委各部门", "市人大常委会办公厅", "市政协办公厅", "市法院", "市检察院"]
    max_tokens = sum(count_tokens(line) for line in lines)  # the paragraphs fit, the newlines do not
    chunks = chunk_document("doc", "\n".join(lines), max_tokens)
    for c in chunks:
        assert c.n_tokens == count_tokens(c.text)
        assert count_tokens(c.text) <= max_tokens


def test_over_long_single_sentence_is_split_at_commas():
    sentence = "，".join(["加快推进产业基础高级化和产业链现代化"] * 40) + "。"
    chunks = chunk_document("doc", sentence, 128)
    assert len(chunks) > 1
    assert chunks[0].start == 0 and chunks[-1].end == len(sentence)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start <= a.end < b.end  # consecutive pieces overlap, nothing is skipped
        assert a.text.endswith("，") and a.n_tokens <= 128


def test_chunk_continuing_a_paragraph_repeats_the_previous_short_sentence():
    """A span across a chunk boundary inside a paragraph (a short label sentence and the sentence
    it introduces) is whole in the next chunk, which repeats the end of the previous one (here a
    clause of the long sentence before the label); a new paragraph starts without overlap."""
    long_sentence = "以芳纶纤维、碳纤维、玄武岩纤维为重点，加快提升高强度、高模量复合材料产业化水平。"
    para = "".join([long_sentence * 2, "高性能纤维及复合材料。", long_sentence * 2])
    text = "\n".join(["一、发展重点", para, "生物医用材料产业加快发展。"])
    chunks = chunk_document("doc", text, count_tokens(text[:text.index("高性能纤维及复合材料。") + 11]))
    assert len(chunks) >= 2
    assert any("高性能纤维及复合材料。以芳纶纤维" in c.text for c in chunks)
    assert sum("高性能纤维及复合材料。" in c.text for c in chunks) == 2
    assert sum("生物医用材料" in c.text for c in chunks) == 1


def test_over_long_flattened_table_spans_are_whole_in_some_chunk():
    """A flattened table (one over-long line of cells) is cut into small pieces and consecutive
    chunks share a piece, so every short span of the line (a row label with its values, 12
    characters) is whole in some chunk."""
    line = " ".join(f"{i} 第{i}项指标（户） {i * 3} {i * 5}" for i in range(1, 60))
    chunks = chunk_document("doc", "\n".join(["二、发展目标", line]), 64)
    assert len(chunks) > 2
    for i in range(len(line) - 12):
        assert any(line[i:i + 12] in c.text for c in chunks), line[i:i + 12]


TABLE_HEADER = "序号\t指标名称\t单位\t2020 年值\t2025 年目标"
TABLE_ROWS = [f"{i}\t第{i}项技术市场成交合同额指标\t亿元\t{i}.5\t{i * 10}" for i in range(1, 30)]


def _check_table(chunks, lead=(), tail=()):
    """The table's rows whole and in order over its chunks; ``lead``: short lines before the table
    that open its first chunk, ``tail``: a short note after it that closes its last chunk."""
    table_chunks = [c for c in chunks if c.kind == "table"]
    assert len(table_chunks) > 1
    seen_rows = []
    for c in table_chunks:
        for line in c.text.split("\n"):
            if is_heading_only(line):  # the section's heading opens its first chunk
                assert c is table_chunks[0] and line == "三、发展目标"
                continue
            if line in lead or line in tail:
                assert c is (table_chunks[0] if line in lead else table_chunks[-1])
                continue
            assert line == TABLE_HEADER or line in TABLE_ROWS  # a row is never cut
            seen_rows.append(line)
    assert seen_rows == [TABLE_HEADER, *TABLE_ROWS]
    assert [c for c in chunks if c.kind != "table"] == []  # no tiny chunk of the lead or the note alone
    return table_chunks


def test_table_rows_stay_whole_and_continuations_carry_the_header():
    text = "\n".join(["三、发展目标", TABLE_HEADER, *TABLE_ROWS, "以上指标为预期性指标。"])
    table_chunks = _check_table(chunk_document("doc", text, 64), tail=["以上指标为预期性指标。"])
    assert table_chunks[0].context == ""
    assert all(c.context == TABLE_HEADER for c in table_chunks[1:])


def test_table_after_intro_text_rows_whole():
    text = "\n".join(["三、发展目标", "到2025年实现下列目标。", TABLE_HEADER, *TABLE_ROWS, "以上指标为预期性指标。"])
    _check_table(chunk_document("doc", text, 64), lead=["到2025年实现下列目标。"], tail=["以上指标为预期性指标。"])


def test_table_after_intro_text_continuations_carry_the_header():
    text = "\n".join(["三、发展目标", "到2025年实现下列目标。", TABLE_HEADER, *TABLE_ROWS, "以上指标为预期性指标。"])
    table_chunks = _check_table(chunk_document("doc", text, 64), lead=["到2025年实现下列目标。"],
                                tail=["以上指标为预期性指标。"])
    assert all(c.context == TABLE_HEADER for c in table_chunks[1:])


def test_table_rows_of_001_whole(cleaned_docs, chunked):
    rows = [line for line in cleaned_docs["sc-hitech-14th-draft"].split("\n") if line.count("\t") >= 2]
    for mx in MAX_TOKENS:
        table_lines = [line for c in chunked[(mx, "sc-hitech-14th-draft")] if c.kind == "table"
                       for line in c.text.split("\n") if "\t" in line]  # a caption line may open it
        assert table_lines == rows


def test_short_lines_between_rows_stay_inside_the_table():
    """A PDF table's cell text wrapped onto lines of its own (a group label between two rows) does not
    end the table: every continuation chunk carries the header row; prose after the table does."""
    header = "序号\t指标名称\t2022年\t2030年"
    rows = [f"{i}\t第{i}项产业营业收入指标（亿元）\t{i}.5\t{i * 10}\t预期性" for i in range(1, 25)]
    body = []
    for i, row in enumerate(rows):
        if i % 6 == 0:
            body.append(f"第{i // 6 + 1}组")  # a column-group label on a line of its own
        body.append(row)
    text = "\n".join(["三、发展目标", header, *body, "以上指标均为预期性指标，由各部门分别负责。"])
    chunks = chunk_document("doc", text, 64)
    table_chunks = [c for c in chunks if c.kind == "table"]
    assert len(table_chunks) > 2
    assert all(c.context == header for c in table_chunks[1:])
    assert [ln for c in table_chunks for ln in c.text.split("\n") if "\t" in ln] == [header, *rows]
    assert all(c.kind == "table" for c in chunks if "组\n" in c.text + "\n")  # the group labels are table lines
    assert [c.kind for c in chunks if "由各部门" in c.text] == ["table"]  # a short closing note joins
    assert chunks[-1].text.endswith(rows[-1] + "\n以上指标均为预期性指标，由各部门分别负责。")


def test_spaced_table_of_cd_manufacturing_is_one_table_with_its_header(cleaned_docs, chunked):
    header = "具体指标\t2020年\t2025年"
    for mx in MAX_TOKENS:
        table_chunks = [c for c in chunked[(mx, "cd-manufacturing-14th")] if c.kind == "table"]
        rows = [ln for c in table_chunks for ln in c.text.split("\n") if "\t" in ln]
        assert rows[0] == header and "8\t规上工业企业 R&D经费投入强度（%）\t1.2\t1.5\t预期性" in rows
        assert all(c.context == header or header in c.text for c in table_chunks)



def test_short_caption_and_closing_note_join_the_table_prose_does_not():
    """A short line before a table (caption, column-group label) opens the table's first chunk and a
    short note ending the section closes its last chunk; longer prose, or a short line that more text
    follows, stays text of its own."""
    rows = [f"{i}\t第{i}项指标\t{i}.5\t{i * 10}" for i in range(1, 5)]
    header = "编号\t指标\t2020年\t2025年"
    short = chunk_document("doc", "\n".join(["专栏 1 发展目标", "分类", header, *rows, "备注：*为年均增速"]))
    assert [c.kind for c in short] == ["table"]
    assert short[0].text.startswith("专栏 1 发展目标\n分类\n" + header) and short[0].text.endswith("备注：*为年均增速")
    assert short[0].context == header  # the row header for answers quoting a row, though a caption opens it
    prose = "到2025年，" + "全市制造业规模持续扩大、结构不断优化、创新能力显著增强，" * 3 + "主要指标如下。"
    more = "备注：*为年均增速"
    chunks = chunk_document("doc", "\n".join(["三、发展目标", prose, header, *rows, more, prose]))
    assert [c.kind for c in chunks] == ["text", "table", "text"]
    assert chunks[1].text == "\n".join([header, *rows]) and chunks[2].text.startswith(more)


def test_no_tiny_chunk_beside_the_cd_manufacturing_table(chunked):
    chunks = chunked[(320, "cd-manufacturing-14th")]  # the default size: the note fits the last rows' chunk
    assert not [c.text for c in chunks if c.text.startswith("备注") or c.text.endswith("分类指标编号")]

# --- ids ---------------------------------------------------------------------------------------
def test_chunk_id_stable_and_distinct():
    assert chunk_id("doc", "文本") == chunk_id("doc", "文本")
    assert re.fullmatch(r"[0-9a-f]{16}", chunk_id("doc", "文本"))
    assert chunk_id("doc", "文本") != chunk_id("doc", "文本。")
    assert chunk_id("doc", "文本") != chunk_id("other", "文本")


@pytest.mark.parametrize("doc_id", ["sc-emerging-future-2025", "sc-sei-13th"])
def test_chunking_twice_gives_identical_chunks(cleaned_docs, chunked, doc_id):
    again = chunk_document(doc_id, cleaned_docs[doc_id], 320)
    assert again == chunked[(320, doc_id)]
    ids = [c.chunk_id for c in again]
    assert len(ids) == len(set(ids))


def test_unchanged_passages_keep_ids_when_another_passage_changes(cleaned_docs):
    text = cleaned_docs["sc-emerging-future-2025"]
    changed = text.replace("培育30家以上", "培育40家以上")
    before = {c.chunk_id: c.text for c in chunk_document("d", text, 320)}
    after = {c.chunk_id: c.text for c in chunk_document("d", changed, 320)}
    gone = set(before) - set(after)
    assert len(gone) == 1 and "30家以上" in before[gone.pop()]
    assert len(set(before) & set(after)) == len(before) - 1


def test_duplicate_passages_get_distinct_ids():
    text = "一、目标\n加强组织领导。\n二、措施\n加强组织领导。\n加强组织领导。"
    chunks = chunk_document("doc", text, 4 + 32)
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids))
    assert chunk_document("doc", text, 36) == chunks


# --- back matter and outlines --------------------------------------------------------------------
GLOSSARY_DOC = """十一、保障措施
（一）完善管理体制机制。
转换政府职能。
（二）强化人才支撑。
引进人才。
名 词 解 释
1. 工业 4.0：指充分利用信息物理系统。
2. 大数据：指无法在一定时间范围内处理的数据集合。
"""


def test_glossary_is_back_matter_not_a_sub_section():
    assert heading_level("名 词 解 释") == BACK_MATTER_LEVEL and heading_level("附录") == BACK_MATTER_LEVEL
    assert heading_level("名词解释了三个概念。") is None
    sections = [c.section for c in chunk_document("d", GLOSSARY_DOC)]
    assert sections == ["十一、保障措施 › （一）完善管理体制机制", "十一、保障措施 › （二）强化人才支撑",
                        "名 词 解 释 › 1. 工业 4.0", "名 词 解 释 › 2. 大数据"]


def test_outlines_list_sub_headings_with_their_first_sentence_verbatim():
    outlines = {outline_section(c): c for c in build_outlines("d", GLOSSARY_DOC)}
    measures = outlines["十一、保障措施"]
    assert measures.kind == "outline" and measures.section == "十一、保障措施 › 提纲"
    # a heading-only line is followed by the first sentence of the next line
    assert measures.text == "十一、保障措施\n（一）完善管理体制机制。\n转换政府职能。\n（二）强化人才支撑。\n引进人才。"
    # a heading with text on its line keeps its label and the sentence after it
    assert outlines["名 词 解 释"].text.splitlines() == ["名 词 解 释", "1. 工业 4.0：指充分利用信息物理系统。",
                                                      "2. 大数据：指无法在一定时间范围内处理的数据集合。"]
    assert outlines[""].section == "提纲" and outlines[""].text == "十一、保障措施\n名 词 解 释"  # the chapters
    for c in outlines.values():  # every line is verbatim document text (a prefix of a stripped line)
        assert all(any(line.strip().startswith(x) for line in GLOSSARY_DOC.splitlines()) for x in c.text.splitlines())
    # without lead sentences: the headings only
    plain = {outline_section(c): c for c in build_outlines("d", GLOSSARY_DOC, lead=False)}
    assert plain["十一、保障措施"].text == "十一、保障措施\n（一）完善管理体制机制。\n（二）强化人才支撑。"
    assert plain["名 词 解 释"].text.splitlines()[1:] == ["1. 工业 4.0：", "2. 大数据："]
    # a section with one sub-section has no outline; a long outline is split, its heading repeated
    assert "十一、保障措施 › （一）完善管理体制机制" not in outlines
    parts = [c for c in build_outlines("d", GLOSSARY_DOC, max_tokens=20, lead=False)
             if outline_section(c) == "十一、保障措施"]
    assert len(parts) == 2 and all(p.text.startswith("十一、保障措施\n") for p in parts)


def test_outlines_of_the_corpus_hold_every_sub_heading(cleaned_docs):
    outlines = build_outlines("sc-sei-13th", cleaned_docs["sc-sei-13th"], max_tokens=10_000, lead=False)
    measures = next(c for c in outlines if c.section == "十一、保障措施 › 提纲")
    assert measures.text.splitlines()[1:] == ["（一）完善管理体制机制。", "（二）加大金融财税扶持力度。", "（三）强化人才支撑。",
                                              "（四）加强知识产权保护和运用。", "（五）强力推进规划实施。"]


# --- regulations, other numbering schemes, Markdown headings, tables of contents ------------------
@pytest.mark.parametrize("paragraph, level", [
    ("第二编 物权", PART_LEVEL),
    ("第一部分 总体要求", PART_LEVEL),
    ("第三章 数据资源", CHAPTER_LEVEL),
    ("第三章数据资源", CHAPTER_LEVEL),
    ("第一节 一般规定", SECTION_LEVEL),
    ("第十八条市人民政府应当加强数据资源建设。", ARTICLE_LEVEL),
    ("第一百零五条 本条例自2024年1月1日起施行。", ARTICLE_LEVEL),
    ("第十条之一 新增条文。", ARTICLE_LEVEL),
    ("（1）集成电路", 24),
    ("①芯片设计", 25),
    ("附件", BACK_MATTER_LEVEL),
    ("附件2：重点项目清单", BACK_MATTER_LEVEL),
    ("附表1", BACK_MATTER_LEVEL),
    ("## 总则", 2),
    ("# 附则", 1),
    ("### 第二章 管理", CHAPTER_LEVEL),  # a numbered Markdown heading: the numbering decides
    ("第一款所列情形消失后，有关机关应当报告。", None),  # 款 is no heading: a cross-reference
    ("第三章规定的事项由市人民政府决定，具体办法另行制定。", None),  # a sentence, not a chapter line
    ("附件所列事项", None),
    ("#1号线", None),  # no space after the mark: no Markdown heading
])
def test_heading_level_of_regulation_schemes(paragraph, level):
    assert heading_level(paragraph) == level


@pytest.mark.parametrize("paragraph, label", [
    ("第十八条市人民政府应当加强数据资源建设。", "第十八条"),
    ("第三章数据资源", "第三章 数据资源"),
    ("第一节 一般规定", "第一节 一般规定"),
    ("第十条之一 新增条文。", "第十条之一"),
    ("## 总则", "总则"),
    ("附件2：重点项目清单", "附件2"),
])
def test_heading_label_of_regulation_schemes(paragraph, label):
    assert heading_label(paragraph) == label


def test_cn_number():
    assert [cn_number(s) for s in ("一", "十", "十五", "二十", "一百零五", "一百一十", "12", "第")] == \
        [1, 10, 15, 20, 105, 110, 12, None]


REGULATION = "\n".join([
    "某市数据条例",
    "2023年5月1日某市人民代表大会常务委员会通过",
    "第一章 总则",
    "第一条 为了促进数据资源开发利用，制定本条例。",
    "第二条 本条例适用于本市行政区域内的数据处理活动。",
    "第二章 数据资源",
    "第一节 公共数据",
    "第三条 公共数据主管部门应当履行下列职责：",
    "（一）统筹公共数据资源管理；",
    "（二）组织编制公共数据目录；",
    "1.确定目录编制规范；",
    "2.审核目录。",
    "第三条规定的职责由市人民政府统筹协调。",
    "第四条规定本市公共数据开放的范围和方式。",
    "第二节 数据安全",
    "第五条 数据处理者应当建立数据安全管理制度。",
    "第三章 附则",
    "第六条 本条例自2024年1月1日起施行。",
    "附件1：公共数据目录",
    "一、人口数据",
    "户籍登记信息。",
])


def _sections_by_line(text, chunks):
    """Each non-blank line → the sections of the chunks that contain it whole."""
    out = {}
    for line in text.split("\n"):
        out[line] = {c.section for c in chunks if line in c.text}
    return out


def test_regulation_is_chunked_by_article_with_chapter_and_section_in_the_path():
    chunks = chunk_document("reg", REGULATION, 320)
    by_line = _sections_by_line(REGULATION, chunks)
    assert by_line["2023年5月1日某市人民代表大会常务委员会通过"] == {""}
    assert by_line["第一条 为了促进数据资源开发利用，制定本条例。"] == {"第一章 总则 › 第一条"}
    assert by_line["第二条 本条例适用于本市行政区域内的数据处理活动。"] == {"第一章 总则 › 第二条"}
    article3 = "第二章 数据资源 › 第一节 公共数据 › 第三条"
    # list items inside an article are never sections; a cross-reference opening a paragraph is no article
    for line in ("（一）统筹公共数据资源管理；", "1.确定目录编制规范；", "2.审核目录。", "第三条规定的职责由市人民政府统筹协调。"):
        assert by_line[line] == {article3}, line
    # an article whose text opens like a reference ("规定…") is still an article when its number follows
    assert by_line["第四条规定本市公共数据开放的范围和方式。"] == {"第二章 数据资源 › 第一节 公共数据 › 第四条"}
    assert by_line["第五条 数据处理者应当建立数据安全管理制度。"] == {"第二章 数据资源 › 第二节 数据安全 › 第五条"}
    assert by_line["第六条 本条例自2024年1月1日起施行。"] == {"第三章 附则 › 第六条"}
    # an appendix ends the last chapter; its own numbering nests under it
    assert by_line["户籍登记信息。"] == {"附件1 › 一、人口数据"}
    # one article per chunk: no chunk holds two article lines
    articles = [line for line in REGULATION.split("\n") if re.match(r"第.条 |第四条规定", line)]
    assert len(articles) == 6
    for c in chunks:
        assert sum(line in articles for line in c.text.split("\n")) <= 1, c.text
        assert c.text == REGULATION[c.start:c.end]
    # the chapter and section heading lines open the first chunk of their first article
    assert any(c.text.startswith("第二章 数据资源\n第一节 公共数据\n第三条") for c in chunks)


def test_long_article_is_split_at_sentences_each_piece_labelled_with_its_article():
    clauses = [f"第{i}项，市人民政府有关部门应当按照职责分工做好数据资源的汇聚、治理、共享和开放工作。" for i in range(1, 40)]
    text = "\n".join(["第二章 数据资源", "第十八条 " + "".join(clauses[:20]), "".join(clauses[20:]),
                      "第十九条 本条例自公布之日起施行。"])
    for mx in (64, 128, 320):
        chunks = chunk_document("reg", text, mx)
        article = [c for c in chunks if c.section == "第二章 数据资源 › 第十八条"]
        assert len(article) > 2
        assert all(c.n_tokens <= mx for c in chunks)
        assert [c.section for c in chunks if "第十九条" in c.text] == ["第二章 数据资源 › 第十九条"]
        assert _uncovered(text, chunks) == []
        if mx >= 128:  # pieces end at sentence ends (every clause here fits a chunk)
            assert all(c.text.endswith("。") for c in article)


def test_cap_holds_for_an_over_long_run_without_any_break():
    text = "第一条 " + "甲乙丙丁戊己庚辛壬癸" * 200 + "。"
    chunks = chunk_document("reg", text, 320)
    assert len(chunks) > 3 and all(c.n_tokens <= 320 for c in chunks)
    assert all(c.section == "第一条" for c in chunks)
    assert _uncovered(text, chunks) == []


MARKDOWN_REGULATION = """# 某市促进条例

2022年12月29日 某市人民代表大会常务委员会通过

<!-- INFO END -->
## 第一章 总 则

## 第二章 产业发展

## 第三章 附 则

## 第一章 总 则

第一条 为了促进产业发展，制定本条例。

第二条 本条例适用于本市。

## 第二章 产业发展

### 重点领域

第三条 市人民政府应当支持下列领域：

（一）细胞治疗；

（二）基因治疗。

## 第三章 附 则

第四条 本条例自2023年1月1日起施行。
"""


def test_markdown_regulation_with_a_table_of_contents():
    text = clean_text(MARKDOWN_REGULATION)
    lines = text.split("\n")
    assert lines[0] == "某市促进条例"  # the title: no marks, no section
    assert "### 重点领域" in lines  # an unnumbered Markdown heading keeps its marks (its only evidence)
    chunks = chunk_document("md", text, 320)
    sections = [c.section for c in chunks]
    assert sections == ["", "第一章 总则 › 第一条", "第一章 总则 › 第二条", "第二章 产业发展 › 重点领域 › 第三条",
                        "第三章 附则 › 第四条"]
    # the table of contents (the first three chapter lines) is in no chunk: only the body's headings are
    toc_end = text.index("第三章附则") + len("第三章附则")
    assert all(c.start > toc_end or c.end <= text.index("第一章总则") for c in chunks)
    assert sum(c.text.count("第二章产业发展") for c in chunks) == 1
    # outlines skip the table of contents and list items inside articles
    outline = {outline_section(c): c.text for c in build_outlines("md", text, lead=False)}
    assert outline[""].split("\n") == ["第一章总则", "第二章产业发展", "第三章附则"]
    assert not any("（一）" in t for t in outline.values())
    assert chunk_document("md", text, 320) == chunks  # deterministic, ids included


def test_table_of_contents_without_repeated_body_headings_is_left_out():
    text = clean_text("# 某条例\n\n## 第一章 总 则\n\n## 第二章 管 理\n\n## 第三章 附 则\n\n总 则\n\n"
                      "第一条 为了管理，制定本条例。\n\n第二条 甲。")
    chunks = chunk_document("d", text, 320)
    assert not any("第一章" in c.text or "第二章" in c.text or "第三章" in c.text for c in chunks)
    assert [c.section for c in chunks if "第一条" in c.text] == ["第一条"]


def test_markdown_heading_cleaning():
    assert markdown_heading("## 第一章 总 则") == "第一章 总 则"  # numbered: the numbering decides
    assert markdown_heading("# 某某条例", title=True) == "某某条例"
    assert markdown_heading("## 总则 ##") == "## 总则"
    assert markdown_heading("### （一）重点任务") == "（一）重点任务"
    assert markdown_heading("#1号线") == "#1号线"
    text = clean_text("# 办法\n\n## 总则\n\n第一条 为了规范管理，制定本办法。\n\n## 附则\n\n第二条 本办法自公布之日起施行。")
    assert text == "办法\n## 总则\n第一条为了规范管理，制定本办法。\n## 附则\n第二条本办法自公布之日起施行。"
    sections = [c.section for c in chunk_document("d", text, 320)]
    assert sections == ["", "总则 › 第一条", "附则 › 第二条"]


def test_a_single_empty_heading_is_no_table_of_contents():
    """A chapter heading without body of its own, followed by the next one, stays in the text."""
    text = "第一章 总则\n第二章 管理\n第一条 为了管理，制定本条例。"
    chunks = chunk_document("d", text, 320)
    assert [c.section for c in chunks] == ["第二章 管理 › 第一条"] and chunks[0].text == text


def test_cover_label_above_an_attachment_is_no_heading():
    text = "附件\n某某规划\n前言正文。\n一、总体要求\n坚持创新。\n附件2：项目表\n（一）重点项目\n项目名称。"
    sections = {c.text.split("\n")[-1]: c.section for c in chunk_document("d", text, 320)}
    assert sections["前言正文。"] == ""
    assert sections["坚持创新。"] == "一、总体要求"
    assert sections["项目名称。"] == "附件2 › （一）重点项目"


def test_docx_heading_styles_become_sections(tmp_path):
    """Word heading styles reach the chunker through the reader's Markdown headings: numbered ones by
    their numbering, unnumbered ones (总则, 附则) by their level; the title is no section."""
    import docx

    from rag.ingest.readers import read_source

    document = docx.Document()
    document.add_heading("某市数据管理办法", level=1)
    document.add_heading("总则", level=2)
    document.add_paragraph("第一条 为了规范数据管理，制定本办法。")
    document.add_paragraph("第二条 本办法适用于本市。")
    document.add_heading("附则", level=2)
    document.add_paragraph("第三条 本办法自2024年1月1日起施行。")
    path = tmp_path / "办法.docx"
    document.save(str(path))
    source = read_source(path)
    text = clean_text(source.text, hard_wrapped=source.hard_wrapped)
    assert text.split("\n")[:2] == ["某市数据管理办法", "## 总则"]
    sections = [c.section for c in chunk_document("docx", text, 320)]
    assert sections == ["", "总则 › 第一条", "总则 › 第二条", "附则 › 第三条"]


# --- labelled paragraphs: unnumbered sub-sections -------------------------------------------------
LABELLED_DOC = """八、培育高质量企业群体
坚持市场导向，构建融合发展的产业生态。
加快培育领军企业。实施领军企业培育计划，培养一批大企业。鼓励大企业搭建创新平台。
推进中小企业专精特新发展。实施中小企业能力提升行动。
鼓励中小企业与大企业建立稳定的合作关系。
促进企业融通发展。强化企业融通生态发展。
九、保障措施
加强组织领导。建立工作推进机制。
第一条 为了促进产业发展，制定本条例。
加强统筹。市人民政府应当统筹推进。
加强保障。有关部门应当保障经费。
"""


@pytest.mark.parametrize("line, expected", [
    ("加快培育领军企业。实施领军企业培育计划。", True),
    ("——集成电路。服务国家集成电路发展战略。", True),
    ("补齐成果转化链条的薄弱缺失环节.建设若干概念验证中心.", True),
    ("加快培育领军企业。", False),  # nothing after the label: a heading-only line, not a labelled paragraph
    ("坚持市场导向，构建融合发展的产业生态。", False),  # no short label
    ("到2025年，新增规上企业1000家。", False),
])
def test_label_paragraph(line, expected):
    assert label_paragraph(line) is expected


def test_a_run_of_labelled_paragraphs_are_sub_sections_with_an_outline():
    chunks = chunk_document("d", LABELLED_DOC, 320)
    paths = [c.section for c in chunks]
    assert paths[:4] == ["八、培育高质量企业群体", "八、培育高质量企业群体 › 加快培育领军企业",
                         "八、培育高质量企业群体 › 推进中小企业专精特新发展", "八、培育高质量企业群体 › 促进企业融通发展"]
    # the unlabelled paragraph after a labelled one belongs to it
    assert "稳定的合作关系" in chunks[2].text
    # one labelled paragraph alone in its section is no sub-section; nor are labelled paragraphs inside an article
    assert "九、保障措施" in paths and not any("加强组织领导" in p or "加强统筹" in p or "加强保障" in p for p in paths)
    outline = next(c for c in build_outlines("d", LABELLED_DOC) if outline_section(c) == "八、培育高质量企业群体")
    assert outline.text.splitlines() == ["八、培育高质量企业群体", "坚持市场导向，构建融合发展的产业生态。",
                                         "加快培育领军企业。实施领军企业培育计划，培养一批大企业。",
                                         "推进中小企业专精特新发展。实施中小企业能力提升行动。", "促进企业融通发展。强化企业融通生态发展。"]
