"""Metadata read from the document text (rag/ingest/metadata.py) and its use at ingest, in cards, corrections
and ``rag info`` (hand-made header snippets of varied documents; the gazetteer comes from jionlp)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from rag.ingest.corpus import Source, card_statements, load_document, resolve_metadata, source_for_file
from rag.eval.metadata_accuracy import check
from rag.ingest.metadata import ExtractedMetadata, extract_metadata, find_places
from rag.types import DocumentMeta

from core_support import CORPUS_DIR, run

STATE_COUNCIL = """国务院关于印发全国示范行动计划的通知
国发[2019]5号
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
现将《全国示范行动计划》印发给你们，请认真贯彻执行。
国务院
2019年1月24日
（此件公开发布）
"""

CITY_PLAN = """# 绵阳市促进数字经济发展实施方案（2023—2025年）
（2023年5月8日印发）
为加快数字经济发展，结合本市实际，制定本方案。
一、总体要求
到2025年，数字经济核心产业增加值明显提升。
本方案自印发之日起施行，有效期3年。
"""

REGULATION = """# 浙江省数字经济促进条例

2020年12月24日 浙江省第十三届人民代表大会常务委员会第二十六次会议通过

2022年9月29日 浙江省第十三届人民代表大会常务委员会第三十八次会议修正

<!-- INFO END -->
## 第一章 总则

第一条 为了促进数字经济发展，根据有关法律、行政法规，结合本省实际，制定本条例。

第六十条 本条例自2021年3月1日起施行。
"""

DRAFT = """成都市关于支持氢能产业发展的若干措施
（征求意见稿）
为推动氢能产业高质量发展，制定以下措施。
一、支持技术攻关
"""

WRAPPED = """四川省人民政府办公厅
关于加快推进新能源汽车产业高质量
发展的实施意见
川办发〔２０２２〕３０号
各市（州）人民政府，省政府各部门：
为加快新能源汽车产业发展，提出如下意见。
"""

QUOTED_TITLE = """《广州市电动自行车管理办法》
第一条 为了加强电动自行车管理，制定本办法。
第二条 本办法适用于本市行政区域。
"""


def test_state_council_notice_with_document_number():
    m = extract_metadata(STATE_COUNCIL, "notice.txt")
    assert m.title == "国务院关于印发全国示范行动计划的通知"
    assert m.doc_type == "通知"
    assert m.doc_number == "国发〔2019〕5号"  # [] written 〔〕
    assert m.sources["doc_number"] == "国发[2019]5号"  # the verbatim line
    assert m.issuer == "国务院"
    assert (m.level, m.region) == ("国家级", "全国")
    assert m.issued_date == "2019-01-24" and m.sources["issued_date"] == "2019年1月24日"


def test_city_plan_issued_date_period_and_effective_date():
    m = extract_metadata(CITY_PLAN, "plan.md")
    assert m.title == "绵阳市促进数字经济发展实施方案（2023—2025年）"
    assert m.doc_type == "实施方案"
    assert (m.level, m.region) == ("市级", "绵阳市")
    assert m.issued_date == "2023-05-08"
    assert [e.kind for e in m.dates][:1] == ["印发"]
    assert (m.period_start, m.period_end) == (2023, 2025)
    assert m.effective_date == "2023-05-08"  # 自印发之日起施行
    assert m.issuer is None  # not stated: unknown, never guessed


def test_regulation_adopted_amended_and_effective():
    m = extract_metadata(REGULATION, "reg.md")
    assert m.title == "浙江省数字经济促进条例" and m.doc_type == "条例"
    assert m.issuer == "浙江省人民代表大会常务委员会"
    assert (m.level, m.region) == ("省级", "浙江省")
    assert {e.kind: e.date for e in m.dates if e.kind in {"通过", "修正", "施行"}} == {
        "通过": "2020-12-24", "修正": "2022-09-29", "施行": "2021-03-01"}
    assert m.issued_date == "2022-09-29"  # the version the text is
    assert m.effective_date == "2021-03-01"
    assert m.sources["effective_date"] == "第六十条 本条例自2021年3月1日起施行。"
    assert m.doc_number is None and m.status is None


def test_draft_status_and_title_with_parenthesised_line():
    m = extract_metadata(DRAFT, "draft.txt")
    assert m.title == "成都市关于支持氢能产业发展的若干措施（征求意见稿）"
    assert m.status == "征求意见稿" and m.doc_type == "若干措施"
    assert m.region == "成都市" and m.issuer is None


def test_title_wrapped_over_two_lines_with_full_width_number():
    m = extract_metadata(WRAPPED, "wrapped.docx")
    assert m.title == "四川省人民政府办公厅关于加快推进新能源汽车产业高质量发展的实施意见"
    assert m.sources["title"] == "四川省人民政府办公厅 / 关于加快推进新能源汽车产业高质量 / 发展的实施意见"
    assert m.issuer == "四川省人民政府办公厅"
    assert m.doc_number == "川办发〔2022〕30号"
    assert (m.level, m.region) == ("省级", "四川省")


def test_title_only_in_book_title_marks():
    m = extract_metadata(QUOTED_TITLE, "x.txt")
    assert m.title == "广州市电动自行车管理办法"
    assert m.doc_type == "办法" and m.region == "广州市" and m.level == "市级"


def test_unknown_stays_unknown_and_bad_input_never_raises():
    m = extract_metadata("这是一段没有任何文件信息的文字，只讲了一些道理。\n第二段也一样。", "随便写写.txt")
    assert m.title == "随便写写" and m.sources["title"] == "file name"
    assert {k for k in m.values()} == {"title"}
    for odd in ("", "\x0c\x0b\n\n", "（）〔〕号" * 50, "2024年13月45日 通过"):
        assert isinstance(extract_metadata(odd, "odd.txt"), ExtractedMetadata)


def test_gazetteer_resolves_full_and_short_names():
    names = [p.name for p, _ in find_places("四川省成都市武侯区")]
    assert names == ["四川省", "成都市", "武侯区"]
    assert [p.level for p, _ in find_places("深圳经济特区")] == ["city"]
    assert find_places("深圳经济特区", short_names=False) == []


def test_bundled_documents_without_manifest_reach_90_percent():
    """The five bundled documents read as loose files reproduce ≥ 90 % of the manifest's non-null fields."""
    from rag.ingest.corpus import read_text
    from rag.eval.metadata_accuracy import _MANIFEST_FIELDS

    entries = json.loads((CORPUS_DIR / "manifest.json").read_text(encoding="utf-8"))["documents"]
    pairs = [(e["id"], e, extract_metadata(read_text(CORPUS_DIR / e["file"]), Path(e["file"]).name))
             for e in entries]
    result = check(pairs, _MANIFEST_FIELDS)
    assert result["overall"]["accuracy"] >= 0.9, result["misses"]


# --- integration ----------------------------------------------------------------------------
def test_loose_file_gets_metadata_manifest_and_user_override(tmp_path):
    path = tmp_path / "wrapped.txt"
    path.write_text(WRAPPED, encoding="utf-8")
    doc = load_document(source_for_file(path))
    assert doc.meta.title.startswith("四川省人民政府办公厅关于") and doc.meta.doc_number == "川办发〔2022〕30号"
    assert doc.meta.source_of("doc_number") == "川办发〔２０２２〕３０号"
    assert "川办发〔２０２２〕３０号" in card_statements(source_for_file(path), doc.meta)
    # a manifest entry wins for the fields it lists (null included); user corrections win over both
    manifest_source = Source(path, DocumentMeta("d", str(path), path.name, "清单标题", issuer=None),
                             manifest_fields=("title", "issuer"), overrides=(("date", "2022-03-01"),))
    meta = resolve_metadata(manifest_source, WRAPPED)
    assert (meta.title, meta.issuer, meta.date) == ("清单标题", None, "2022-03-01")
    assert meta.source_of("title") == "manifest" and meta.source_of("issued_date") == "user"
    assert meta.doc_number == "川办发〔2022〕30号"  # not listed by the manifest: read from the text


def test_document_notices_use_effective_date_and_status():
    meta = DocumentMeta("r", "r.md", "r.md", "某条例", status="已废止", effective_date="2027-01-01")
    notices = meta.notices(dt.date(2026, 11, 20))
    assert any("已废止" in n for n in notices) and any("尚未生效" in n for n in notices)
    assert not meta.in_force_on(dt.date(2026, 11, 20))
    assert meta.doc_fields()["effective_date"] == "2027-01-01"


def test_corrections_persist_and_apply_at_ingest(tmp_path, capsys):
    from rag.index import kb
    from rag.errors import RagError
    from rag.index.build import ingest
    from rag.settings import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "reg.md").write_text(REGULATION, encoding="utf-8")
    settings = Settings.from_env(data_dir=tmp_path / "data")
    ingest(settings, [docs], exclude=[])
    row = kb.metadata_rows(settings)[0]
    assert row["issuer"] == "浙江省人民代表大会常务委员会" and row["chunks"] >= 2
    assert row["field_sources"]["issuer"].startswith("2022年9月29日")
    with pytest.raises(RagError):
        kb.set_metadata(settings, "reg", "period_end", "明年")
    with pytest.raises(RagError):
        kb.set_metadata(settings, "reg", "colour", "red")
    kb.set_metadata(settings, "reg", "status", "已废止")
    kb.set_metadata(settings, "reg", "issued_date", "2022-09-30")
    ingest(settings, [docs], exclude=[])  # corrections apply at every re-ingest
    row = kb.metadata_rows(settings)[0]
    assert (row["status"], row["issued_date"]) == ("已废止", "2022-09-30")
    assert row["field_sources"]["status"] == "user"
    # rag info --json: the DOC shape
    code, out, _ = run(["--data-dir", str(settings.data_dir), "info", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)["documents"][0]
    assert list(doc) == ["doc_id", "title", "issuer", "doc_number", "doc_type", "level", "region", "issued_date",
                         "effective_date", "period_start", "period_end", "status", "chunks", "source"]
    assert doc["effective_date"] == "2021-03-01" and doc["status"] == "已废止"
    code, out, _ = run(["--data-dir", str(settings.data_dir), "info"], capsys)
    assert "?" not in out and "浙江省数字经济促进条例" in out
    kb.clear_metadata(settings, "reg")
    assert kb.metadata_corrections(settings) == {}


def test_name_matcher_finds_what_a_longest_first_alternation_finds():
    """rag.ingest.metadata.NameMatcher (Aho–Corasick) gives the matches of re.compile("|".join(names longest
    first)): leftmost, then longest, no overlaps — for the gazetteer's names and for made-up ones."""
    import random
    import re

    from rag.ingest.metadata import NameMatcher, gazetteer

    made_up = ["ab", "abc", "bcd", "c", "cde", "e"]
    places = sorted({p.name for p in gazetteer()}, key=len, reverse=True)
    texts = ["abcde", "xabcdex", "bcdeabc", "", "cc", "四川省成都市武侯区和浙江省杭州市西湖区", "吉林省吉林市"]
    rnd = random.Random(0)
    texts += ["".join(rnd.choice(places[:300] + ["的", "省", "市"]) for _ in range(6)) for _ in range(200)]
    for names in (made_up, places):
        regex = re.compile("|".join(map(re.escape, sorted(names, key=len, reverse=True))))
        matcher = NameMatcher(names)
        for text in texts:
            assert [m.span() + (m.group(),) for m in matcher.finditer(text)] == \
                   [m.span() + (m.group(),) for m in regex.finditer(text)]


def test_the_in_force_statement_keeps_the_repeal_of_the_former_text():
    from rag.ingest.metadata import _with_repeal

    article = ("第四十五条 本条例自2022年1月1日起施行。2001年8月18日某省人民代表大会常务委员会通过的"
               "《某省青年志愿服务规定》同时废止。")
    said = _with_repeal(article, "第四十五条 本条例自2022年1月1日起施行。")
    assert said == article
    assert _with_repeal("第五条 本办法自印发之日起施行。有效期五年。", "第五条 本办法自印发之日起施行。") == (
        "第五条 本办法自印发之日起施行。")


CITY_REGULATION = """某市生活垃圾分类管理条例
2020年6月28日某市第八届人民代表大会常务委员会第二十六次会议通过
2020年7月31日某省第十三届人民代表大会常务委员会第二十二次会议批准
2021年8月19日某市第八届人民代表大会常务委员会第三十六次会议通过
2021年9月29日某省第十三届人民代表大会常务委员会第三十一次会议批准的《某市人民代表大会常务委员会关于修改〈某市大运河保护条例〉等三件地方性法规的决定》修正
第一条 为了推进生活垃圾分类，制定本条例。
第三十一条 本条例自2020年9月1日起施行。
"""

REVISED_REGULATION = """某市住宅物业管理规定
2004年8月19日某市第十二届人民代表大会常务委员会第十四次会议通过
2010年12月23日某市第十三届人民代表大会常务委员会第二十三次会议修订  根据
2018年11月22日某市第十五届人民代表大会常务委员会第七次会议《关于修改〈某市住宅物业管理规定〉的决定》修正  根据
2020年12月30日某市第十五届人民代表大会常务委员会第二十八次会议《关于修改本市部分地方性法规的决定》第二次修正）
第一条 为了规范住宅物业管理活动，制定本规定。
"""


def test_a_regulations_history_counts_its_revisions_and_folds_approvals():
    m = extract_metadata(REVISED_REGULATION, "reg.md")
    assert m.history == (("通过", "2004-08-19"), ("修订", "2010-12-23"), ("修正", "2018-11-22"), ("修正", "2020-12-30"))
    assert "第二次修正" in m.sources["history"] and "2004年8月19日" in m.sources["history"]
    meta = DocumentMeta("d", "reg.md", "reg.md", "某市住宅物业管理规定", history=m.history)
    assert meta.revisions == (("修订", "2010-12-23"), ("修正", "2018-11-22"), ("修正", "2020-12-30"))
    # a city's regulation: the province's approval is the same version; a city adoption approved as an
    # amending decision (批准的《…决定》修正) is one amendment
    city = extract_metadata(CITY_REGULATION, "city.md")
    assert city.history == (("通过", "2020-06-28"), ("修正", "2021-09-29"))
    assert city.issued_date == "2021-09-29"
    plain = extract_metadata(STATE_COUNCIL, "notice.md")
    assert plain.history is None  # a notice states no adoption or amendment


def test_the_card_states_the_history_and_a_revision_question_is_answered_from_it(tmp_path):
    from rag.answer.meta_answers import _doc_sentence
    from rag.ingest.corpus import build_card, history_label
    from rag.understand.meta_questions import asked_metadata, asks_about_document

    m = extract_metadata(REVISED_REGULATION, "reg.md")
    meta = DocumentMeta("d", "reg.md", "reg.md", m.title, history=m.history,
                        sources=(("history", m.sources["history"]),))
    assert history_label(meta) == "2004-08-19通过；2010-12-23修订；2018-11-22修正；2020-12-30修正（修订、修正共3次）"
    card = build_card(meta, m.sources["history"].split(" / "), REVISED_REGULATION)
    assert "修改情况：2004-08-19通过" in card.text and "第二次修正" in card.text
    for question in ("某市住宅物业管理规定前后改过几次？", "这部规定后来修改过没有？", "条例有没有修订过？"):
        assert "revisions" in asked_metadata(question) and asks_about_document(question), question
    assert "newest" not in asked_metadata("某市音像制品管理条例改过几次？最近一次是什么时候？")
    assert asked_metadata("燃气设施一年查几次？") == []  # a count of something else
    sentence, known = _doc_sentence(meta, ["revisions"], m.sources["history"].split(" / "), dt.date(2026, 1, 1))
    assert known
    assert "2004年8月19日通过，此后修订1次、修正2次（共3次），最近一次为2020年12月30日修正" in sentence
    assert "第二次修正" in sentence  # the verbatim line of the latest amendment is quoted
    never = DocumentMeta("d", "reg.md", "reg.md", "某条例", history=(("通过", "2019-01-01"),))
    assert "此后未经修订、修正" in _doc_sentence(never, ["revisions"], [], dt.date(2026, 1, 1))[0]
    unknown = DocumentMeta("d", "reg.md", "reg.md", "某方案")
    assert _doc_sentence(unknown, ["revisions"], [], dt.date(2026, 1, 1)) == ("《某方案》文件未注明修订、修正情况。", False)


def test_an_administrative_regulations_history_starts_at_its_promulgation():
    text = """某某屠宰管理条例
1997年12月19日 中华人民共和国国务院令第238号公布
2008年5月25日 中华人民共和国国务院令第525号第一次修订
2011年1月8日 《国务院关于废止和修改部分行政法规的决定》第二次修订）
第一条 为了加强屠宰管理，制定本条例。
"""
    m = extract_metadata(text, "reg.md")
    assert m.history == (("公布", "1997-12-19"), ("修订", "2008-05-25"), ("修订", "2011-01-08"))
    assert DocumentMeta("d", "f", "f", "t", history=m.history).revisions == m.history[1:]
