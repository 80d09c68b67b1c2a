"""rag.chunking: heading levels and labels, section paths, chunk invariants on the real corpus."""

from __future__ import annotations

import re

import pytest

from rag.chunking import OVERLAP_DIVISOR, SECTION_SEP, chunk_document, chunk_id, heading_label, heading_level, is_heading_only
from rag.cleaning import clean_text
from rag.text import count_tokens, split_sentences

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


def test_section_paths_synthetic():
    chunks = chunk_document("doc", SYNTHETIC, 320)
    sections = {c.text.split("\n")[0]: c.section for c in chunks}
    assert sections["关于某项产业的实施方案"] == ""
    assert sections["到2027年实现目标。"] == "一、总体目标"
    assert sections["1.人工智能。坚持创新驱动。"] == SECTION_SEP.join(["二、重点方向", "（一）壮大新兴产业", "1.人工智能"])
    assert sections["2.机器人。突出整机带动。"] == "二、重点方向 › （一）壮大新兴产业 › 2.机器人"
    assert sections["建设一批工程。"] == "二、重点方向 › （一）壮大新兴产业 › 2.机器人 › 专栏 1 重点工程"
    assert sections["3.量子科技。聚焦量子通信。"] == "二、重点方向 › （二）培育未来产业 › 3.量子科技"
    assert sections["加强组织领导。"] == "三、保障措施"
    # heading-only lines are not chunk text
    assert not any(c.text.startswith(("一、总体目标", "（一）壮大", "专栏 1")) for c in chunks)


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
        if b.start < a.end:  # sentence-level overlap: b repeats a short tail of a, inside one paragraph
            shared = text[b.start:a.end]
            assert a.start < b.start and "\n" not in shared and b.end > a.end
            assert count_tokens(shared) <= mx // OVERLAP_DIVISOR


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_chunks_never_cross_sections(cleaned_docs, chunked, mx, doc_id):
    """No chunk contains a heading line except as its own first line (the heading that opens it)."""
    for c in chunked[(mx, doc_id)]:
        for line in c.text.split("\n")[1:]:
            assert heading_level(line) is None, (c.section, line[:40])
        if heading_level(c.text.split("\n")[0]) is not None:
            assert c.section.split(SECTION_SEP)[-1] == heading_label(c.text.split("\n")[0])


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_chunks_end_at_sentence_or_paragraph_boundaries(cleaned_docs, chunked, mx, doc_id):
    text = cleaned_docs[doc_id]
    sentences = split_sentences(text)
    ends = {e for _, e in sentences}
    starts = {s for s, _ in sentences}
    for c in chunked[(mx, doc_id)]:
        at_end = c.end == len(text) or text[c.end] == "\n" or c.end in ends
        at_start = c.start == 0 or text[c.start - 1] == "\n" or c.start in starts
        if not (at_end and at_start):  # only inside a sentence that alone is over the limit
            inside = [(s, e) for s, e in sentences if s <= c.start < e or s < c.end <= e]
            assert any(count_tokens(text[s:e]) > mx for s, e in inside), c.text[-40:]


@pytest.mark.parametrize("mx, doc_id", _cases())
def test_chunk_token_counts_within_limit(cleaned_docs, chunked, mx, doc_id):
    text = cleaned_docs[doc_id]
    sentences = split_sentences(text)
    for c in chunked[(mx, doc_id)]:
        if count_tokens(c.text) <= mx:
            continue
        # over the limit only when the chunk is one over-long unit: a single sentence piece or table row
        in_one_sentence = any(s <= c.start and c.end <= e for s, e in sentences)
        one_row = c.kind == "table" and "\n" not in c.text
        assert in_one_sentence or one_row, (c.n_tokens, c.text[:60])


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
    assert "".join(c.text for c in chunks) == sentence
    for c in chunks[:-1]:
        assert c.text.endswith("，") and count_tokens(c.text) <= 64


def test_chunk_continuing_a_paragraph_repeats_the_previous_short_sentence():
    """A span across a chunk boundary inside a paragraph (a short label sentence and the sentence
    it introduces) is whole in the next chunk; a new paragraph starts without overlap."""
    long_sentence = "以芳纶纤维、碳纤维、玄武岩纤维为重点，加快提升高强度、高模量复合材料产业化水平。"
    para = "".join([long_sentence * 2, "高性能纤维及复合材料。", long_sentence * 2])
    text = "\n".join(["一、发展重点", para, "生物医用材料产业加快发展。"])
    chunks = chunk_document("doc", text, 2 * count_tokens(long_sentence) + count_tokens("高性能纤维及复合材料。"))
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
                       for line in c.text.split("\n")]
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
