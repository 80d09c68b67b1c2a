"""rag.ingest.cleaning: one test per extraction artefact (shared/seeds/README.md), on small synthetic strings
and on the bundled corpus files, plus the invariant that Chinese characters are never rewritten."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from rag.ingest.cleaning import (clean_text, display_width, ends_sentence, fullwidth_alnum_to_ascii, table_header_cells,
                          table_row_cells)
from rag.ingest.corpus import load_manifest, read_text

from core_support import CORPUS_DIR

CJK = re.compile(r"[\u4e00-\u9fff]")
SOURCES = {s.meta.doc_id: s for s in load_manifest(CORPUS_DIR)}
ALL_DOCS = sorted(SOURCES)


def raw(doc_id: str) -> str:
    return read_text(SOURCES[doc_id].path)


def lines(text: str) -> list[str]:
    return text.split("\n")


# --- page numbers ------------------------------------------------------------------------------
def test_page_number_cjk_dash_mid_word_joins_sentence():
    # 一2一 glued into a word: 技一2一术 → 技术
    assert clean_text("发展新质生产力,推动技一2一术突破,着力构建底座。") == "发展新质生产力,推动技术突破,着力构建底座。"


def test_page_number_cjk_dash_at_line_end_joins_next_line():
    src = "加快多模态模型、模型压缩等技一2一\n\n术突破,着力构建自主高效的模型底座。"
    assert clean_text(src) == "加快多模态模型、模型压缩等技术突破,着力构建自主高效的模型底座。"


def test_page_number_on_own_line_between_paragraphs():
    assert clean_text("第一段文字。\n- 2 -\n第二段文字。") == "第一段文字。\n第二段文字。"
    assert clean_text("- 2 - \n规划正文。") == "规划正文。"  # first line of a page, trailing space
    assert clean_text("第一段文字。\n一2一\n第二段文字。") == "第一段文字。\n第二段文字。"


def test_page_number_on_own_line_mid_sentence_joins_halves():
    src = "加快发展战略性新兴产业是实施创新驱动发展战略、推进供给侧结构\n- 2 -\n性改革的重要举措。"
    assert clean_text(src) == "加快发展战略性新兴产业是实施创新驱动发展战略、推进供给侧结构性改革的重要举措。"


def test_page_number_ascii_dashes_at_line_end_mid_sentence():
    src = "聚焦深地科学研究、地震预警与地质灾害防-10-\n\n治,强化前沿技术融合应用。"
    assert clean_text(src) == "聚焦深地科学研究、地震预警与地质灾害防治,强化前沿技术融合应用。"


def test_page_number_em_dashes_at_line_end_mid_sentence():
    src = "依托重点产业链协同推进机制,统筹推进新兴产业未来产业——12—\n\n相关领域重大问题研究。"
    assert clean_text(src) == "依托重点产业链协同推进机制,统筹推进新兴产业未来产业相关领域重大问题研究。"


def test_page_numbers_in_real_000_document(cleaned_docs):
    text = cleaned_docs["sc-emerging-future-2025"]
    assert "模型压缩等技术突破" in text
    assert "地震预警与地质灾害防治,强化前沿技术融合应用" in text
    assert "统筹推进新兴产业未来产业相关领域重大问题研究" in text
    assert not re.search(r"一\d{1,3}一|-\d{1,3}-|——\d{1,3}—", text)


@pytest.mark.parametrize("doc_id", ["sc-sei-13th", "cd-manufacturing-14th"])
def test_no_page_number_lines_left_in_real_documents(cleaned_docs, doc_id):
    assert re.search(r"^\s*-\s*\d{1,3}\s*-\s*$", raw(doc_id), re.M)  # the source has them
    assert not re.search(r"^\s*[-—一]{1,2}\s*\d{1,3}\s*[-—一]{1,2}\s*$", cleaned_docs[doc_id], re.M)


def test_page_number_line_inside_sentence_of_002(cleaned_docs):
    # 002 has "- 2 -" pages between wrapped lines; the sentence around a page break is whole.
    assert "代表新一轮科技革命和产业变革的方向" in cleaned_docs["sc-sei-13th"]


# --- hard line wraps ---------------------------------------------------------------------------
WRAPPED = ["战略性新兴产业以重大技术突破和重大发展需求为基础，代表新",
           "一轮科技革命和产业变革的方向，加快发展战略性新兴产业是实施创",
           "新驱动发展战略、推进供给侧结构性改革的重要举措。为贯彻落实省",
           "委省政府的战略部署，特编制本规划。"]
JOINED = "".join(WRAPPED)


def test_hard_wraps_joined():
    assert clean_text("\n".join(WRAPPED)) == JOINED


def test_hard_wraps_with_blank_lines_between_joined():
    assert clean_text("\n\n".join(WRAPPED)) == JOINED
    assert clean_text("\n \n".join(WRAPPED)) == JOINED


def test_wrapped_paragraphs_stay_separate_and_headings_not_glued():
    src = "\n".join(WRAPPED) + "\n一、规划背景\n（一）发展基础。\n" + "\n\n".join(WRAPPED)
    assert clean_text(src) == "\n".join([JOINED, "一、规划背景", "（一）发展基础。", JOINED])


@pytest.mark.parametrize("doc_id, sentence", [
    ("sc-sei-13th", "加快发展战略性新兴产业是实施创新驱动发展战略、推进供给侧结构性改革的重要举措。"),
    ("cd-future-industries-2024", "未来产业是明天的战略性新兴产业、后天的支柱产业,依托新科技、引领新需求、创造新动力、拓展新空间,"),
    ("cd-manufacturing-14th", "制造业是实体经济的主体，是国家经济命脉所系，是立城之基、兴城之要。"),
    ("cd-manufacturing-14th", "规划期限为 2021至 2025年，远景展望至 2035年。"),
])
def test_hard_wraps_in_real_documents(cleaned_docs, doc_id, sentence):
    assert sentence in cleaned_docs[doc_id]


@pytest.mark.parametrize("doc_id", ["sc-sei-13th", "cd-future-industries-2024", "cd-manufacturing-14th"])
def test_real_documents_mostly_end_paragraphs_with_sentences(cleaned_docs, doc_id):
    """Most joined paragraphs of the wrapped documents end a sentence (not a mid-sentence wrap)."""
    paras = [p for p in lines(cleaned_docs[doc_id]) if len(p) > 40 and "\t" not in p]
    ended = [p for p in paras if ends_sentence(p)]
    assert len(ended) / len(paras) > 0.9
    # and far fewer paragraphs than source lines
    assert len(lines(cleaned_docs[doc_id])) < len(raw(doc_id).splitlines()) / 2


def test_wrap_after_closing_bracket_or_quote_joined(cleaned_docs):
    text = cleaned_docs["sc-hitech-14th-draft"]
    assert "研发一批中药和民族特色药（例如藏药、彝药）产品。" in text
    assert "以“文化+旅游+科技”的思路整合全省文旅资源" in text


@pytest.mark.xfail(strict=True, reason="BUG: rag/ingest/cleaning.py:187 (_joins) needs ≥30 characters to continue a "
                   "line without page width, so a short wrapped line in 001 ('…产品及其在高' / '传导性功能材料…') "
                   "stays split mid-word")
def test_short_wrapped_line_in_001_joined(cleaned_docs):
    assert "系列应用产品及其在高传导性功能材料" in cleaned_docs["sc-hitech-14th-draft"]


# --- table of contents -------------------------------------------------------------------------
def test_toc_with_dot_leaders_and_tab_page_numbers_removed():
    src = "\n".join(["目 录", "一、 发展基础和形势\t1", "(一) 发展基础.....\t1", "(二) 发展形势.....\t3",
                     "二、 指导思想.....4", "", "“十四五”时期是关键时期。", "一、发展基础和形势"])
    assert clean_text(src) == "“十四五”时期是关键时期。\n一、发展基础和形势"


def test_toc_removed_from_001(cleaned_docs):
    text = cleaned_docs["sc-hitech-14th-draft"]
    assert "目 录" not in text and "目录" not in lines(text)
    assert not re.search(r"\.{3,}", text)
    assert "(一) 发展基础....." in raw("sc-hitech-14th-draft")
    # the body headings that the TOC listed are still there, once
    assert lines(text).count("三、 重点领域") + lines(text).count("三、重点领域") == 1


# --- markdown ----------------------------------------------------------------------------------
def test_markdown_headings_and_list_markers_stripped():
    src = "# 标题\n#### 一、总体目标\n正文。\n## (一)壮大新兴产业。\n- 21. 可控核聚变。以重大工程为牵引。\n  - 23. 深地科学。聚焦。"
    assert clean_text(src) == "标题\n一、总体目标\n正文。\n(一)壮大新兴产业。\n21. 可控核聚变。以重大工程为牵引。\n23. 深地科学。聚焦。"


def test_markdown_in_000(cleaned_docs):
    text = cleaned_docs["sc-emerging-future-2025"]
    assert "#" not in text
    assert not any(line.startswith(("- ", "* ")) for line in lines(text))
    assert "一、总体目标" in lines(text) and "二、重点突破方向" in lines(text)
    assert any(line.startswith("21. 可控核聚变。") for line in lines(text))


# --- tables ------------------------------------------------------------------------------------
TABLE = ["序号\t指标名称\t单位\t2020 年值\t2025 年目标",
         "7\t技术市场成交合同额\t亿元\t1248.78\t1600",
         "8\t每万人口高价值发明专利拥有量\t件\t2.94\t5.67"]


def test_tab_table_rows_kept_one_per_line():
    src = "表 1 指标表\n" + "\n".join(TABLE) + "\n正文继续。"
    assert clean_text(src) == "表 1 指标表\n" + "\n".join(TABLE) + "\n正文继续。"


def test_tab_table_rows_of_001_kept(cleaned_docs):
    text_lines = lines(cleaned_docs["sc-hitech-14th-draft"])
    for row in TABLE:
        assert row in text_lines
    assert sum(1 for line in text_lines if line.count("\t") >= 2) >= 10


def test_two_column_table_rows_outside_toc_kept():
    src = "正文第一段。\n指标\t目标值\n企业数\t100\n营业收入\t2000\n结束。"
    out = clean_text(src)
    assert "企业数" in out and "100" in out


# Tables of space-separated rows, as a PDF text layer gives them: one row per line, cell text that
# wrapped inside a narrow column on short lines of its own (hand-made, not from the bundled corpus).
SPACED = ["二、发展目标", "到 2030 年，全市产业规模稳步扩大，创新能力显著增强，主要指标如", "下。",
          "专栏 2  全市产业发展主要指标", "类", "别", "序号 指标名称 2022年 2030年", "属性",
          "总量", "1 产业营业收入（亿元） 1500 3000 预期性", "2 规上企业数量（户） 420 800 预期性",
          "创新", "能力", "3 企业 R&D 经费投入强度（%） 1.8 2.5 预期性",
          "4 单位增加值能耗下降（%） —", "达到国家", "下达目", "标", "约束性", "融合", "发展",
          "5 专利授权量（件） 900 1,600* 预期性",
          "注：*为累计值", "三、重点任务", "围绕主导产业，加快建设一批重点项目，形成布局合理、", "协同高效的产业体系。"]


def test_spaced_table_rows_stay_one_per_line_with_tab_separated_cells():
    out = lines(clean_text("\n\n".join(SPACED)))
    assert "序号\t指标名称\t2022年\t2030年" in out  # the header row
    assert "1\t产业营业收入（亿元）\t1500\t3000\t预期性" in out
    assert "3\t企业 R&D 经费投入强度（%）\t1.8\t2.5\t预期性" in out  # spaces inside a cell kept
    assert "5\t专利授权量（件）\t900\t1,600*\t预期性" in out
    # a row with fewer cells than the others takes its cells wrapped onto the lines after it; the
    # group label of the next rows ("融合" "发展") stays a line of its own
    assert "4\t单位增加值能耗下降（%）\t—\t达到国家下达目标\t约束性" in out
    assert "融合发展" in out
    assert "专栏 2  全市产业发展主要指标" in out  # the caption is joined to nothing
    assert "创新能力" in out  # a group label wrapped in its narrow column: one line, never glued to a row
    assert all(("\t" in l) == bool(re.match(r"\d|序号", l)) for l in out[out.index("序号\t指标名称\t2022年\t2030年"):
                                                                       out.index("注：*为累计值")])
    # prose around the table is joined as before
    assert "到 2030 年，全市产业规模稳步扩大，创新能力显著增强，主要指标如下。" in out
    assert "围绕主导产业，加快建设一批重点项目，形成布局合理、协同高效的产业体系。" in out
    assert "注：*为累计值" in out


def test_spaced_table_cleaning_keeps_every_character_and_is_idempotent():
    src = "\n".join(SPACED)
    out = clean_text(src)
    assert CJK.findall(out) == CJK.findall(src)
    assert clean_text(out) == out


@pytest.mark.parametrize("line, cells", [
    ("8 规上工业企业 R&D经费投入强度（%） 1.2 1.5 预期性", ["8", "规上工业企业 R&D经费投入强度（%）", "1.2", "1.5", "预期性"]),
    ("工业占 GDP比重（%） 23.8 26 预期性", ["工业占 GDP比重（%）", "23.8", "26", "预期性"]),
    ("14 单位工业增加值能耗下降（%） —", ["14", "单位工业增加值能耗下降（%）", "—"]),
    ("6 全员劳动生产率增长（%） - 8* 预期性", ["6", "全员劳动生产率增长（%）", "-", "8*", "预期性"]),
    ("规上工业增加值增速（%） 5 7-9*", ["规上工业增加值增速（%）", "5", "7-9*"]),
    ("9 金 26 磷", ["9", "金", "26", "磷"]),  # a two-column list (number, name, number, name)
])
def test_table_row_cells(line, cells):
    assert table_row_cells(line) == cells


@pytest.mark.parametrize("line", [
    "医药、绿色食品、新型材料、能源环保装备等 10 个以上",  # prose: punctuation, one number
    "到 2025 年，规上企业达到 5000 家 8000 家",  # prose: sentence punctuation
    "2024 年 3 月 1 日",  # a date: one value ("1") and no row number ("2024" is none)
    "— 60 预期性",  # values only, no label
    "引进 12 英寸通用芯片产线",  # one number
    "具体指标 2020年 2025年",  # a header, not a data row
])
def test_not_a_table_row(line):
    assert table_row_cells(line) is None


def test_table_header_cells():
    assert table_header_cells("具体指标 2020年 2025年") == ["具体指标", "2020年", "2025年"]
    assert table_header_cells("序号 指标名称 单位 2020 年值 2025 年目标") == ["序号", "指标名称", "单位", "2020 年值",
                                                                      "2025 年目标"]
    assert table_header_cells("— 60 预期性") is None  # values are no labels
    assert table_header_cells("2024 年 3 月 1 日") is None
    assert table_header_cells("备注：“*”标注的数据代表年均增速") is None


def test_two_numbered_lines_without_a_header_are_no_table():
    # two lines that look like rows, with no header above them and no third row: prose as before
    src = "推进重点项目建设，到 2025 年建成\n\n1 个国家级中心 2 3\n\n2 个省级平台 4 5\n\n形成示范效应。"
    assert "\t" not in clean_text(src)


def test_spaced_table_of_cd_manufacturing_rows_kept(cleaned_docs):
    text_lines = lines(cleaned_docs["cd-manufacturing-14th"])
    assert "具体指标\t2020年\t2025年" in text_lines
    assert "8\t规上工业企业 R&D经费投入强度（%）\t1.2\t1.5\t预期性" in text_lines
    assert "19\t数字化研发设计工具普及率（%）\t76.4\t89\t预期性" in text_lines
    assert max(len(l) for l in text_lines if "预期性" in l) < 120  # no flattened table
    for doc_id in ("sc-emerging-future-2025", "sc-sei-13th", "cd-future-industries-2024"):
        assert "\t" not in cleaned_docs[doc_id], doc_id  # no table found in prose


# --- full-width characters, spaces -----------------------------------------------------------
def test_fullwidth_digits_and_letters_to_ascii():
    assert fullwidth_alnum_to_ascii("２０２４") == "2024"
    assert fullwidth_alnum_to_ascii("６G") == "6G"
    assert fullwidth_alnum_to_ascii("ＡＩ ａｂｃ") == "AI abc"
    assert clean_text("成府发〔２０２４〕２号\n发展６G通信和ＡＩ技术。") == "成府发〔2024〕2号\n发展6G通信和AI技术。"


def test_fullwidth_punctuation_left_as_written():
    assert clean_text("构建“６＋N”的体系（一）。") == "构建“6＋N”的体系（一）。"


def test_fullwidth_in_003(cleaned_docs):
    text = cleaned_docs["cd-future-industries-2024"]
    assert "成府发〔2024〕2号" in text
    assert not re.search(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]", text)
    assert re.search(r"[\uff10-\uff19]", raw("cd-future-industries-2024"))


def test_stray_spaces_between_chinese_removed():
    assert clean_text("牵头部门 负责 落实。") == "牵头部门负责落实。"
    assert clean_text("四川省“ 十三五” 战略性新兴产业发展规划") == "四川省“十三五”战略性新兴产业发展规划"
    # spaces next to Latin letters or digits are kept
    assert clean_text("达 2级及以上，AMOLED 面板。") == "达 2级及以上，AMOLED 面板。"


def test_line_endings_and_bom():
    assert clean_text("\ufeff第一段。\r\n第二段。\r第三段。") == "第一段。\n第二段。\n第三段。"


def test_helpers():
    assert display_width("ab中文") == 6
    assert ends_sentence("推进产业发展。")
    assert ends_sentence("为此制定本意见.")  # "." after a Chinese character (成府发〔2024〕2号 uses it)
    assert ends_sentence("“加快推进”。”")
    assert not ends_sentence("达到1.")
    assert not ends_sentence("推进产业发展，")


# --- Chinese characters are never changed -------------------------------------------------------
def _is_subsequence(small, big) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


def _strip_known_artefacts(text: str) -> str:
    """The source without the artefacts that contain ideographs: 一N一 page numbers and TOC lines."""
    text = re.sub(r"一\d{1,3}一", "", text)
    out, in_toc = [], False
    for line in text.split("\n"):
        if re.match(r"^\s*目\s*录\s*$", line):
            in_toc = True
            continue
        if in_toc and line.strip() and not re.search(r"(\.{3,}|\t)\s*\d{1,3}\s*$", line):
            in_toc = False
        if in_toc:
            continue
        out.append(line)
    return "\n".join(out)


@pytest.mark.parametrize("doc_id", ALL_DOCS)
def test_cjk_ideographs_preserved_in_order(cleaned_docs, doc_id):
    source = raw(doc_id)
    out_cjk = CJK.findall(cleaned_docs[doc_id])
    assert _is_subsequence(out_cjk, CJK.findall(source))
    assert out_cjk == CJK.findall(_strip_known_artefacts(source))


@pytest.mark.parametrize("doc_id", ALL_DOCS)
def test_no_new_characters(cleaned_docs, doc_id):
    """Every output character is a source character (after full-width → ASCII); only \\n may be new,
    and \\t where it replaced the space between two cells of a table row."""
    source = Counter(fullwidth_alnum_to_ascii(raw(doc_id)))
    out = Counter(cleaned_docs[doc_id])
    extra = {ch: n for ch, n in (out - source).items() if ch not in "\n \t"}
    assert extra == {}
    assert out["\t"] - source["\t"] <= max(0, source[" "] - out[" "])


@pytest.mark.parametrize("src", [
    "推动技一2一术突破。", "第一段。\n- 2 -\n第二段。", "\n".join(WRAPPED), "牵头部门 负责落实。",
    "# 一、总体目标\n- 1. 人工智能。坚持创新。", "\n".join(TABLE),
])
def test_cjk_preserved_on_synthetic(src):
    assert CJK.findall(clean_text(src)) == CJK.findall(re.sub(r"一\d{1,3}一", "", src))


def test_clean_is_idempotent_on_corpus(cleaned_docs):
    for doc_id, text in cleaned_docs.items():
        assert CJK.findall(clean_text(text)) == CJK.findall(text), doc_id


# --- characters: comments, invisible characters, look-alike ideographs ----------------------------
def test_html_and_markdown_comments_are_removed():
    src = "第一条为了规范管理，制定本办法。<!-- INFO END -->\n<!-- 多行\n注释 -->\n[//]: # (编辑备注)\n第二条本办法自发布之日起施行。"
    assert clean_text(src) == "第一条为了规范管理，制定本办法。\n第二条本办法自发布之日起施行。"


def test_zero_width_and_control_characters_are_removed():
    src = "数据\u200b要素\u200c市场\u200d建设\u2060方案\ufeff。\x07\x1b第二段\x0c第三段。"
    assert clean_text(src, hard_wrapped=False) == "数据要素市场建设方案。第二段\n第三段。"  # form feed: a line break


def test_radicals_and_compatibility_ideographs_map_to_unified_ideographs():
    # Kangxi radicals (NFKC), CJK radicals supplement (Equivalent_Unified_Ideograph), compatibility ideographs
    src = "有关部\u2ed4应当\u2f83受理之\u2f47起\u2f06\u2f17个工作\u2f47内办结，\uf900\uf91b。"
    out = clean_text(src)
    assert out == "有关部门应当自受理之日起二十个工作日内办结，豈亂。"  # U+F900 → 豈, U+F91B → 亂 (NFKC)
    assert "受理之日起" in out and not any(0x2e80 <= ord(c) <= 0x2fdf or 0xf900 <= ord(c) <= 0xfaff for c in out)


def test_cleaning_is_linear_on_one_long_unpunctuated_paragraph():
    import time

    body = "数据要素市场建设发展规划产业" * 30_000  # 420,000 characters without any punctuation
    src = "\n".join(body[i:i + 40] for i in range(0, len(body), 40))
    started = time.perf_counter()
    out = clean_text(src)
    assert out == body  # hard-wrapped lines of one paragraph join back
    assert time.perf_counter() - started < 10  # quadratic joining took minutes


def test_not_hard_wrapped_text_keeps_every_line_a_paragraph():
    src = "第一章总则\n本条例适用于本省行政区域内的数据管理活动和相关\n监督管理工作"
    assert clean_text(src, hard_wrapped=False) == src
    assert clean_text(src) != src  # hard-wrapped text joins the wrapped line


def test_bundled_corpus_has_no_look_alike_or_invisible_characters_after_cleaning():
    for doc_id in ALL_DOCS:
        out = clean_text(raw(doc_id))
        assert not re.search("[\u2e80-\u2fdf\uf900-\ufaff\u200b-\u200d\u2060\ufeff\x00-\x08\x0b-\x1f]", out), doc_id
