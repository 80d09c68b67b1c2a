"""rag.chunking: heading levels and labels, section paths, chunk invariants on the real corpus."""

from __future__ import annotations

import re

import pytest

from rag.chunking import (SECTION_SEP, SPAN_CHARS, build_outlines, chunk_document, chunk_id, heading_label,
                          heading_level, is_heading_only, max_overlap_tokens, outline_section)
from rag.cleaning import clean_text
from rag.text import count_tokens, normalize, split_sentences

MAX_TOKENS = (64, 320)


@pytest.fixture(scope="module")
def chunked(cleaned_docs):
    """(max_tokens, doc_id) → chunks of the cleaned bundled documents."""
    return {(mx, d): chunk_document(d, t, mx) for mx in MAX_TOKENS for d, t in cleaned_docs.items()}


def _cases(cleaned_docs_ids=("sc-emerging-future-2025", "sc-hitech-14th-draft", "sc-sei-13th",
                             "cd-future-industries-2024", "cd-manufacturing-14th")):
    return [(mx, d) for mx in MAX_TOKENS for d in cleaned_docs_ids]


# --- heading levels ----------------------------------------------------------------------------
@pytest.mark.parametrize("paragraph, level", [
    ("一、总体目标", 1),
    ("十二、加强规划实施保障", 1),
    ("二、 指导思想、发展原则和发展目标", 1),
    ("（一）壮大新兴产业", 2),
    ("(一)壮大新兴产业。", 2),
    ("(十) 数字经济", 2),
    ("1.人工智能。坚持以数据高效汇聚为支撑", 3),
    ("2. 机器人。突出整机带动", 3),
    ("3．集成电路", 3),
    ("4、新型显示", 3),
    ("专栏 1 电子信息技术", 4),
    ("专栏3 装备制造", 4),
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
    assert levels == [None, 1, None, 1, 2, 3]  # '#' count does not decide the level, the numbering does


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
            levels = [heading_level(p) for p in parts]
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
    lines = chunk.text.split("\n")
    return next((i for i, line in enumerate(lines) if not is_heading_only(line)), len(lines))


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_chunks_never_cross_sections(cleaned_docs, chunked, mx, doc_id):
    """Heading lines occur only at the start of a chunk: the heading-only lines before its first body
    line, and a heading with body text (1.人工智能。…) only as the line that opens its section."""
    for c in chunked[(mx, doc_id)]:
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
    previous chunk (its overlap); anything else only inside a sentence that alone is over the limit."""
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
            assert any(count_tokens(text[s:e]) > mx for s, e in inside), c.text[-40:]


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_chunk_token_counts_within_limit(cleaned_docs, chunked, mx, doc_id):
    """A chunk holds at most ``mx`` tokens besides the text it repeats from the previous chunk, unless
    its own text is one over-long unit (a single sentence or sentence piece, or a table row), behind
    at most its section's heading lines or a head of fewer than SPAN_CHARS characters that would
    otherwise be a chunk of its own."""
    text = cleaned_docs[doc_id]
    sentences = split_sentences(text)
    chunks = chunked[(mx, doc_id)]
    for i, c in enumerate(chunks):
        assert c.n_tokens == count_tokens(c.text)
        own_start = chunks[i - 1].end if i and _overlap(text, chunks[i - 1], c) else c.start
        if own_start == c.start:
            own_start += sum(len(line) + 1 for line in c.text.split("\n")[:_heading_run(c)])
        # a head of fewer than SPAN_CHARS characters kept in front of the chunk's own units
        cut, seen = own_start, 0
        while cut < c.end and seen < SPAN_CHARS - 1:
            seen += not text[cut].isspace()
            cut += 1
        if count_tokens(text[cut:c.end]) <= mx:
            continue
        one_unit = any(s <= own_start and c.end <= e for s, e in sentences)
        one_row = c.kind == "table" and "\n" not in text[own_start:c.end].strip("\n")
        assert one_unit or one_row, (c.n_tokens, c.text[:60])


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
    chunks = chunk_document("doc", sentence, 64)
    assert len(chunks) > 1
    assert chunks[0].start == 0 and chunks[-1].end == len(sentence)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start <= a.end < b.end  # consecutive pieces overlap, nothing is skipped
        assert a.text.endswith("，") and count_tokens(sentence[a.start:b.start]) <= 64


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


def _check_table(chunks):
    table_chunks = [c for c in chunks if c.kind == "table"]
    assert len(table_chunks) > 1
    seen_rows = []
    for c in table_chunks:
        for line in c.text.split("\n"):
            if is_heading_only(line):  # the section's heading opens its first chunk
                assert c is table_chunks[0] and line == "三、发展目标"
                continue
            assert line == TABLE_HEADER or line in TABLE_ROWS  # a row is never cut
            seen_rows.append(line)
    assert seen_rows == [TABLE_HEADER, *TABLE_ROWS]
    assert all(c.kind == "text" for c in chunks if "预期性" in c.text or "实现下列" in c.text)
    return table_chunks


def test_table_rows_stay_whole_and_continuations_carry_the_header():
    text = "\n".join(["三、发展目标", TABLE_HEADER, *TABLE_ROWS, "以上指标为预期性指标。"])
    table_chunks = _check_table(chunk_document("doc", text, 64))
    assert table_chunks[0].context == ""
    assert all(c.context == TABLE_HEADER for c in table_chunks[1:])


def test_table_after_intro_text_rows_whole():
    text = "\n".join(["三、发展目标", "到2025年实现下列目标。", TABLE_HEADER, *TABLE_ROWS, "以上指标为预期性指标。"])
    _check_table(chunk_document("doc", text, 64))


def test_table_after_intro_text_continuations_carry_the_header():
    text = "\n".join(["三、发展目标", "到2025年实现下列目标。", TABLE_HEADER, *TABLE_ROWS, "以上指标为预期性指标。"])
    table_chunks = _check_table(chunk_document("doc", text, 64))
    assert all(c.context == TABLE_HEADER for c in table_chunks[1:])


def test_table_rows_of_001_whole(cleaned_docs, chunked):
    rows = [line for line in cleaned_docs["sc-hitech-14th-draft"].split("\n") if line.count("\t") >= 2]
    for mx in MAX_TOKENS:
        table_lines = [line for c in chunked[(mx, "sc-hitech-14th-draft")] if c.kind == "table"
                       for line in c.text.split("\n") if not is_heading_only(line)]
        assert table_lines == rows


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
    assert heading_level("名 词 解 释") == 1 and heading_level("附录") == 1
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
