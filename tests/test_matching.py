"""Enterprise policy matching: free-text parser, flags, JSON shape, CLI, export, summary, UI handlers.

Parser and flag-rule tests are offline unit tests; the rest run on an index of the bundled corpus
built once per session in a temporary folder (``RAG_DATA_DIR`` points there for CLI tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest

from rag.matching.matcher import ProfileMatcher, document_flags
from rag.matching.parser import load_profile_file, parse_profile_text
from rag.matching.profile import Profile, ProfileError
from rag.settings import PROJECT_ROOT, Settings
from rag.types import DocumentMeta

REFERENCE_DAY = "2026-11-20"
PROVISION_KEYS = {"rank", "doc_id", "title", "section", "quote", "reasons", "jurisdiction", "period", "status", "flags"}
CHENGDU_DOCS = {"cd-future-industries-2024", "cd-manufacturing-14th"}
EXAMPLE = "我们是成都一家做钠离子电池的专精特新企业，想扩产"


# --- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """Settings over a fresh index of the bundled corpus (ingested once), no LLM, today 2026-11-20."""
    from rag.index.build import ingest

    data_dir = tmp_path_factory.mktemp("rag-data")
    s = Settings.from_env(env={}, data_dir=data_dir, corpus_dir=PROJECT_ROOT / "corpus", today=REFERENCE_DAY)
    report = ingest(s)
    assert not report.failed
    return s


@pytest.fixture(scope="session")
def matcher(settings) -> ProfileMatcher:
    return ProfileMatcher(settings)


@pytest.fixture
def cli_env(settings, monkeypatch):
    """Environment for in-process ``rag`` CLI calls: the session index, no LLM, today 2026-11-20."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RAG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RAG_LLM", "off")
    monkeypatch.setenv("RAG_TODAY", REFERENCE_DAY)


def run_cli(argv, capsys) -> tuple[int, str, str]:
    from rag.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def flags_by_doc(result) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in result.provisions:
        out.setdefault(p.meta.doc_id, set()).update(f.text for f in p.flags)
    return out


# --- free-text parser (offline) ----------------------------------------------------------------------
def test_parser_example_sentence():
    p = parse_profile_text(EXAMPLE)
    assert p.city == "成都市"
    assert list(p.products) == ["钠离子电池"]
    assert list(p.qualifications) == ["专精特新"]
    assert "用地/空间" in p.needs and "融资" in p.needs  # 扩产 → land/space and financing
    assert p.stage == "成长"
    assert p.text == EXAMPLE


def test_parser_chengdu_district_implies_city_and_other_cities():
    p = parse_profile_text("龙泉这边做电驱总成和电机控制器，给几家主机厂配套，想招人")
    assert (p.city, p.district) == ("成都市", "龙泉驿区")
    assert "电机控制器" in p.products and "人才" in p.needs and "市场" in p.needs
    q = parse_profile_text("绵阳高新区一家做工业级无人机的公司，想找银行贷款和示范场景")
    assert q.city == "绵阳市" and q.district == "高新区"
    assert "工业级无人机" in q.products
    assert {"融资", "应用场景"} <= set(q.needs)
    assert parse_profile_text("凉山一家企业，做研发攻关").city == "凉山彝族自治州"


def test_parser_qualifications_and_latin_words():
    p = parse_profile_text("新都一家国家级专精特新“小巨人”企业，做谐波减速器，刚拿到高新证书")
    assert list(p.qualifications) == ["小巨人", "高新技术企业"]
    assert list(p.products) == ["谐波减速器"]
    q = parse_profile_text("天府国际生物城的mRNA平台公司，做呼吸道疫苗")
    assert q.district == "双流区" and q.industry == "新型疫苗"  # "MR" (元宇宙) is not inside "mRNA"
    assert parse_profile_text("我们想提高企业效率，做工业软件").qualifications == ()  # "提高企业" is not 高企


def test_parser_blank_text_is_an_error():
    with pytest.raises(ProfileError):
        parse_profile_text("   ")


def test_profile_from_dict_canonicalises_and_validates():
    p = Profile.from_dict({"city": "绵阳", "products": "工业级无人机、物流无人机", "qualifications": ["国家级小巨人"],
                           "needs": ["市场/首台套", "扩产"]})
    assert p.city == "绵阳市" and p.products == ("工业级无人机", "物流无人机")
    assert p.qualifications == ("小巨人",) and p.needs == ("市场", "用地/空间")
    assert Profile.from_dict({"district": "郫都区", "products": ["火锅底料"]}).city == "成都市"
    assert Profile.from_dict({"products": ["芯片"], "stage": "成长期"}).stage == "成长"
    with pytest.raises(ProfileError, match="prodcuts"):
        Profile.from_dict({"prodcuts": ["芯片"]})
    with pytest.raises(ProfileError, match="list of strings"):
        Profile.from_dict({"products": [1, 2]})
    with pytest.raises(ProfileError):
        Profile.from_dict({"city": "成都"})  # nothing to match on


def test_load_profile_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_profile_file(bad)
    with pytest.raises(ProfileError, match="not found"):
        load_profile_file(tmp_path / "missing.json")
    text_only = tmp_path / "text.json"
    text_only.write_text(json.dumps({"text": EXAMPLE}, ensure_ascii=False), encoding="utf-8")
    assert load_profile_file(text_only).products == ("钠离子电池",)


# --- flag rules (offline) ----------------------------------------------------------------------------
def _meta(**kw) -> DocumentMeta:
    base = dict(doc_id="d", file="f", original_file="o", title="t")
    return DocumentMeta(**{**base, **kw})


def test_document_flags_rules():
    chengdu_plan = _meta(region="成都市", level="市级", period_start=2021, period_end=2025)
    mianyang = Profile(city="绵阳市", products=("无人机",))
    chengdu = Profile(city="成都市", products=("无人机",))
    codes = lambda m, p, d: [f.code for f in document_flags(m, p, date.fromisoformat(d))]  # noqa: E731
    assert codes(chengdu_plan, mianyang, "2024-06-01") == ["only_city"]
    assert codes(chengdu_plan, chengdu, "2024-06-01") == []
    flags = document_flags(chengdu_plan, chengdu, date(2026, 11, 20))
    assert [f.text for f in flags] == ["规划期已结束（2021—2025年）"]
    draft = _meta(region="四川省", status="征求意见稿", period_start=2021, period_end=2025)
    assert [f.text for f in document_flags(draft, chengdu, date(2024, 1, 1))] == ["征求意见稿"]
    assert codes(_meta(region="四川省"), Profile(city="重庆市", products=("x",)), "2024-01-01") == ["only_province"]
    # any place of the gazetteer: a province's document for a company of another province, a municipality's
    # document, a county's document
    hz = Profile(city="杭州市", district="西湖区", products=("x",))
    assert codes(_meta(region="浙江省"), hz, "2024-01-01") == []
    assert codes(_meta(region="江苏省"), hz, "2024-01-01") == ["only_province"]
    assert codes(_meta(region="重庆市"), hz, "2024-01-01") == ["only_province"]
    assert codes(_meta(region="杭州市"), hz, "2024-01-01") == []
    assert codes(_meta(region="宁波市"), hz, "2024-01-01") == ["only_city"]
    assert [f.text for f in document_flags(_meta(region="宁波市"), hz, date(2024, 1, 1))] == ["仅适用于宁波市"]


def test_parser_places_of_any_province_from_the_gazetteer():
    from rag.matching.places import find_location

    # a company in another province, read with that province's documents as home
    p = parse_profile_text("我们是杭州一家做跨境电商SaaS的公司，想申请研发补贴", home=("杭州市", "浙江省"))
    assert (p.city, p.district) == ("杭州市", None)
    assert find_location("西湖区做茶叶深加工", home=("杭州市", "浙江省")) == ("杭州市", "西湖区")
    assert find_location("高新区做芯片", home=("杭州市", "浙江省")) == ("杭州市", "高新区")
    assert find_location("在宁波做模具", home=()) == ("宁波市", None)
    assert find_location("朝阳产业里的企业", home=()) == (None, None)  # a word, not a place named as such


# --- matching on the real corpus ---------------------------------------------------------------------
def test_example_matches_storage_provisions_with_mapping(matcher):
    result = matcher.match(parse_profile_text(EXAMPLE, matcher.concepts), k=10)
    assert 1 <= len(result.provisions) <= 10
    assert [p.rank for p in result.provisions] == list(range(1, len(result.provisions) + 1))
    quotes = " ".join(p.quote for p in result.provisions)
    assert "钠电研发" in quotes or "钠离子电池" in quotes
    assert any("产品“钠离子电池”→政策术语“新型储能”" in r for p in result.provisions for r in p.reasons)
    assert any(m.word == "钠离子电池" and (m.concept_term or m.term) == "新型储能" for m in result.mapping)
    assert any("工业用地" in p.quote for p in result.provisions)  # 扩产 → land provision
    for p in result.provisions:  # quotes read exactly as the document
        assert p.quote and p.quote in p.chunk.text
        assert p.quote in matcher.index.doc_texts[p.meta.doc_id]
        assert p.chunk.kind != "card"


def test_jurisdiction_flag_mianyang_vs_chengdu(matcher):
    mianyang = matcher.match(Profile(city="绵阳市", products=("火锅底料", "钠离子电池")), k=10)
    chengdu_provisions = [p for p in mianyang.provisions if p.meta.doc_id in CHENGDU_DOCS]
    assert chengdu_provisions, "a 成都市 document should still be listed (flagged, not hidden)"
    assert all("仅适用于成都市" in [f.text for f in p.flags] for p in chengdu_provisions)
    assert not any("仅适用于成都市" in [f.text for f in p.flags] for p in mianyang.provisions
                   if p.meta.doc_id not in CHENGDU_DOCS)
    chengdu = matcher.match(Profile(city="成都市", products=("火锅底料", "钠离子电池")), k=10)
    assert any(p.meta.doc_id in CHENGDU_DOCS for p in chengdu.provisions)
    assert not any("仅适用于成都市" in [f.text for f in p.flags] for p in chengdu.provisions)


def test_expiry_flags_depend_on_today(matcher, settings):
    profile = Profile(city="成都市", products=("钠离子电池", "火锅底料", "无人机"))
    flags = flags_by_doc(matcher.match(profile, k=20))
    assert "规划期已结束（2016—2020年）" in flags["sc-sei-13th"]
    assert "规划期已结束（2021—2025年）" in flags["cd-manufacturing-14th"]
    assert not any(f.startswith("规划期已结束") for f in flags.get("sc-emerging-future-2025", set()))
    earlier = ProfileMatcher(settings.with_(today="2024-06-01"))
    flags = flags_by_doc(earlier.match(profile, k=20))
    assert "规划期已结束（2016—2020年）" in flags["sc-sei-13th"]
    assert not any(f.startswith("规划期已结束") for f in flags["cd-manufacturing-14th"])


def test_draft_flag_on_hitech_draft(matcher):
    result = matcher.match(Profile(city="成都市", products=("工业级无人机",)), k=10)
    drafts = [p for p in result.provisions if p.meta.doc_id == "sc-hitech-14th-draft"]
    assert drafts
    for p in drafts:
        assert "征求意见稿" in [f.text for f in p.flags] and p.status == "征求意见稿"


def test_json_shape_is_exact(matcher):
    data = json.loads(json.dumps(matcher.match(parse_profile_text(EXAMPLE), k=5).to_json(), ensure_ascii=False))
    assert {"profile", "summary", "provisions"} <= set(data) <= {"profile", "summary", "provisions", "mapping"}
    assert data["profile"]["city"] == "成都市" and data["summary"]
    assert data["provisions"]
    for p in data["provisions"]:
        assert set(p) == PROVISION_KEYS
        assert isinstance(p["reasons"], list) and p["reasons"] and isinstance(p["flags"], list)
        assert p["jurisdiction"] in ("四川省（省级）", "成都市（市级）")


def test_markdown_export_shows_every_flag(matcher, tmp_path):
    from rag.errors import RagError
    from rag.matching.report import to_markdown, write_export

    result = matcher.match(Profile(city="绵阳市", products=("火锅底料", "钠离子电池")), k=10)
    md = to_markdown(result)
    for p in result.provisions:
        for f in p.flags:
            assert f"#### {p.rank}. " in md and f.text in md
    assert "仅适用于成都市" in result.summary or "仅适用于成都市" in md
    assert json.loads(write_export(result, tmp_path / "r.json").read_text(encoding="utf-8"))["provisions"]
    assert write_export(result, tmp_path / "r.md").read_text(encoding="utf-8") == md
    with pytest.raises(RagError):
        write_export(result, tmp_path / "r.txt")


def test_llm_summary_and_fallback(settings):
    from fakes import MockModel

    profile = parse_profile_text(EXAMPLE)
    llm = ProfileMatcher(settings, llm=MockModel(["建议优先关注[1]。"])).match(profile, k=3)
    assert llm.summary_mode == "llm" and llm.summary == "建议优先关注[1]。"

    fallback = ProfileMatcher(settings, llm=MockModel([ConnectionError("down")])).match(profile, k=3)
    assert fallback.summary_mode == "template"
    assert "模板生成" in fallback.summary and "共匹配 3 条" in fallback.summary


# --- CLI ---------------------------------------------------------------------------------------------
def test_cli_text_json(cli_env, capsys):
    code, out, err = run_cli(["match", "--text", EXAMPLE, "--json", "--k", "5"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["profile"]["products"] == ["钠离子电池"]
    assert len(data["provisions"]) <= 5 and all(set(p) == PROVISION_KEYS for p in data["provisions"])


def test_cli_text_markdown_and_output(cli_env, capsys, tmp_path):
    out_file = tmp_path / "checklist.md"
    code, out, err = run_cli(["match", "--text", EXAMPLE, "--output", str(out_file)], capsys)
    assert code == 0, err
    assert out.startswith("# 企业政策匹配清单") and "## 匹配条款（按文件分组）" in out
    assert out_file.read_text(encoding="utf-8") == out


def test_cli_profile_file(cli_env, capsys, tmp_path):
    f = tmp_path / "company.json"
    f.write_text(json.dumps({"city": "绵阳市", "products": ["火锅底料"], "needs": ["融资"]}, ensure_ascii=False),
                 encoding="utf-8")
    code, out, err = run_cli(["match", "--profile", str(f), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["profile"]["city"] == "绵阳市"
    for p in data["provisions"]:
        assert ("仅适用于成都市" in p["flags"]) == (p["doc_id"] in CHENGDU_DOCS)


def test_cli_bad_profile_file(cli_env, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"city": "成都", "prodcuts": ["芯片"]}', encoding="utf-8")
    code, out, err = run_cli(["match", "--profile", str(bad)], capsys)
    assert code != 0 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "prodcuts" in err
    code, _out, err = run_cli(["match", "--profile", str(tmp_path / "nope.json")], capsys)
    assert code != 0 and err.startswith("error: ") and "not found" in err


def test_cli_jsonl_batch(cli_env, capsys, tmp_path):
    batch = tmp_path / "batch.jsonl"
    lines = [{"id": "a", "text": EXAMPLE}, {"id": "b", "profile": {"city": "德阳市", "products": ["激光切割机"]}},
             {"id": "c", "profile": {"prodcuts": []}}]
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\nnot json\n", encoding="utf-8")
    code, out, _err = run_cli(["match", "--jsonl", str(batch), "--k", "3"], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c", 5]
    assert {"profile", "summary", "provisions"} <= set(rows[0]) and rows[1]["profile"]["city"] == "德阳市"
    assert "error" in rows[2] and "error" in rows[3]
    assert code == 1  # some lines failed
    code, _out, err = run_cli(["match", "--jsonl", str(batch), "--output", str(tmp_path / "x.md")], capsys)
    assert code != 0 and err.startswith("error: ")


def test_cli_expiry_follows_rag_today(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("RAG_TODAY", "2024-06-01")
    code, out, err = run_cli(["match", "--text", "成都一家做火锅底料的企业", "--json"], capsys)
    assert code == 0, err
    docs = {p["doc_id"]: p for p in json.loads(out)["provisions"]}
    assert "cd-manufacturing-14th" in docs
    assert not any(f.startswith("规划期已结束") for f in docs["cd-manufacturing-14th"]["flags"])


# --- benchmark and UI handlers -----------------------------------------------------------------------
def test_evaluate_matching_smoke(settings, matcher, tmp_path):
    from rag.matching.bench import evaluate_matching

    rows = [json.loads(line) for line in (PROJECT_ROOT / "eval/datasets/profiles.jsonl").read_text(
        encoding="utf-8").splitlines()[:2]]
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    res = evaluate_matching(settings, path, k=10, matcher=matcher)
    for part in ("tune", "holdout", "all"):
        assert 0.0 <= res[part]["recall@10"] <= 1.0 and 0.0 <= res[part]["precision@10"] <= 1.0
    assert res["tune"]["n_profiles"] == 1 and res["holdout"]["n_profiles"] == 1
    assert res["all"]["flag_accuracy"] is not None


def test_ui_handlers_without_gradio(settings, tmp_path):
    from ui.match_tab import parse_to_form, run_match

    form = parse_to_form(EXAMPLE)
    assert form[0] == "成都市" and form[3] == "钠离子电池"
    out = run_match(settings, "绵阳", "", "", "火锅底料", [], None, ["融资"], "", 5, export_dir=str(tmp_path))
    assert "绵阳市" in out["profile_md"] and out["json"]["provisions"]
    assert json.loads((tmp_path / "policy-match.json").read_text(encoding="utf-8"))["profile"]["city"] == "绵阳市"
    assert (tmp_path / "policy-match.md").exists()


def test_importing_matching_does_not_import_gradio():
    code = ("import sys, rag.matching, rag.matching.matcher, rag.matching.cli, ui.match_tab; "
            "assert 'gradio' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)


# --- company words → concepts (offline) ---------------------------------------------------------------
def _concepts():
    from rag.understand.query import load_concepts

    return load_concepts(str(PROJECT_ROOT / "corpus" / "concepts.json"))


def test_abbreviation_rule():
    from rag.matching.concepts import is_abbreviation

    assert is_abbreviation("航发", "航空发动机")
    assert is_abbreviation("钒电解液", "钒电池电解液")
    assert is_abbreviation("新能车", "新能源汽车")
    assert not is_abbreviation("储能", "储能电池")  # a plain substring is not a short form
    assert not is_abbreviation("发动", "航空发动机")  # must start with the full term's first character
    assert not is_abbreviation("航机", "航空发动机与燃气轮机")  # two characters cannot stand for a long term
    assert not is_abbreviation("ab", "abc")  # Chinese only


def test_concept_matches_short_forms_only_on_request():
    from rag.matching.concepts import concept_matches

    concepts = _concepts()
    ids = {m.concept_id for m in concept_matches("钒电解液", concepts, abbreviations=True)}
    assert "vanadium-titanium-re" in ids  # 钒电解液 = 钒电池电解液
    assert "vanadium-titanium-re" not in {m.concept_id for m in concept_matches("钒电解液", concepts)}
    # a short form must start the word or follow an exact match: 氢能装备 is not 能源环保装备
    assert {m.concept_id for m in concept_matches("氢能装备", concepts, abbreviations=True)} == {"hydrogen"}


def test_concept_matches_shadowing():
    from rag.matching.concepts import concept_matches

    concepts = _concepts()
    ids = {m.concept_id for m in concept_matches("电机控制器", concepts)}
    assert "nev" in ids and "servo" not in ids  # 控制器 only inside the longer 电机控制器
    ids = {m.concept_id for m in concept_matches("钠离子电池", concepts)}
    assert {"new-energy-storage", "power-battery"} <= ids  # equal spans are all kept


def test_facets_link_short_forms_and_unknown_words(matcher):
    from rag.matching.facets import build_facets

    profile = Profile(products=("航发零部件", "某某新奇物件"))
    facets = build_facets(profile, matcher.concepts, matcher.index.tokenizer)
    assert any(l.via == "concept" and l.concept_id == "new-aviation" for l in facets[0].links)  # 航发
    assert any(l.via == "part" for l in facets[1].links)  # a word no concept knows: its sub-words


# --- selection (rag.matching.select) -----------------------------------------------------------------
def _fake_selection(rows, facets):
    """A Selection over hand-made candidates: ``rows`` = [(doc, section, text, relevance, {facet: evidence})]."""
    from types import SimpleNamespace

    from rag.matching.matcher import _Candidate, _Scored
    from rag.matching.provisions import TermLink
    from rag.matching.select import Selection

    chunks = [SimpleNamespace(doc_id=d, section=s, text=t) for d, s, t, _r, _e in rows]
    index = SimpleNamespace(chunks=chunks, docs={d: SimpleNamespace(period_end=None) for d, *_ in rows})
    fake = SimpleNamespace(index=index, settings=SimpleNamespace(today_date=lambda: date(2026, 11, 20)),
                           _normalized=lambda: ([t for *_x, t, _r, _e in rows], [s for _d, s, *_x in rows]))
    cands, scored = {}, {}
    for row, (_d, _s, _t, rel, ev) in enumerate(rows):
        found = {fi: {f"t{fi}": (v, TermLink(facets[fi].kind, "w", f"t{fi}", "literal", 1.0))} for fi, v in ev.items()}
        # a passage with relevance was ranked by the retriever for the product/industry facets
        retrieval = {fi: 1.0 for fi, f in enumerate(facets) if f.kind in ("product", "industry") and rel > 0}
        cands[row] = _Candidate(row, found, retrieval)
        extra = {fi: v for fi, v in ev.items() if facets[fi].kind == "need"}
        scored[row] = _Scored(row, rel, extra, 1.0)
    return Selection(fake, cands, scored, facets)


def _facet(kind, label="x", terms=("x",)):
    from rag.matching.provisions import Facet, TermLink

    return Facet(kind, label, tuple(TermLink(kind, label, t, "need", 1.0) for t in terms), label, 1.0)


def test_need_quota_adapts_to_how_many_strong_provisions_a_need_has():
    facets = [_facet("product"), _facet("need", "融资", ("基金",))]
    two_strong = _fake_selection([("a", "基金", "", 0.0, {1: 0.9}), ("b", "基金", "", 0.0, {1: 0.8}),
                                  ("c", "基金", "", 0.0, {1: 0.5})], facets)
    assert [r for _g, r in two_strong.need_plan(1)] == [0, 1]  # second strong → listed; never more than NEED_MAX
    one_clear = _fake_selection([("a", "基金", "", 0.0, {1: 0.95}), ("b", "基金", "", 0.0, {1: 0.46})], facets)
    assert [r for _g, r in one_clear.need_plan(1)] == [0]  # second far weaker → one provision
    same_section = _fake_selection([("a", "基金", "", 0.0, {1: 0.9}), ("a", "基金", "", 0.0, {1: 0.85})], facets)
    assert [r for _g, r in same_section.need_plan(1)] == [0]  # one section serves a need once


def test_need_lead_sentence_counts_half_way_as_about():
    from rag.matching.select import LEAD_ABOUT, NOT_ABOUT, lead_sentence

    assert lead_sentence("强化资金要素保障。强化基金撬动，发挥好天使基金的作用。") == "强化资金要素保障。"
    need = _facet("need", "融资", ("资金",))
    sel = _fake_selection([("a", "十一、创新关键要素供给", "强化资金要素保障。强化基金撬动。", 0.0, {0: 0.9}),
                           ("a", "资金保障", "其他。", 0.0, {0: 0.9}), ("a", "保障措施", "其他。强化资金。", 0.0, {0: 0.9})],
                          [need])
    assert (sel.about(0, need), sel.about(1, need), sel.about(2, need)) == (LEAD_ABOUT, 1.0, NOT_ABOUT)


def test_greedy_near_tie_goes_to_direct_evidence_and_same_document_is_discounted():
    facets = [_facet("product")]
    sel = _fake_selection([("a", "s1", "", 1.0, {0: 0.9}), ("a", "s2", "", 0.81, {0: 0.9}),
                           ("b", "s3", "", 0.80, {}), ("c", "s4", "", 0.79, {0: 0.9})], facets)
    picks = [r for r, _g in sel.run(3)]
    assert picks[0] == 0
    assert 1 not in picks  # 0.81 × SAME_DOC (doc a already listed) falls below the others
    assert set(picks[1:]) == {2, 3}
    tie = _fake_selection([("a", "s1", "", 0.80, {}), ("b", "s2", "", 0.79, {0: 0.9})], facets)
    assert [r for r, _g in tie.run(1)] == [1]  # within TIE of the best: direct evidence wins


def test_match_lists_at_most_need_max_provisions_of_a_factor_need(matcher):
    from rag.matching.facets import build_facets
    from rag.matching.select import NEED_MAX, NEED_NEXT, Selection

    profile = Profile.from_dict({"city": "成都市", "products": ["人形机器人"], "needs": ["融资", "应用场景"]})
    facets = build_facets(profile, matcher.concepts, matcher.index.tokenizer)
    cands, scored, _docrel = matcher.score(profile, facets)
    sel = Selection(matcher, cands, scored, facets)
    for i, f in enumerate(facets):
        if f.kind == "need":
            plan = sel.need_plan(i)
            assert 1 <= len(plan) <= NEED_MAX
            assert all(g >= NEED_NEXT * plan[0][0] for g, _r in plan)
            assert len({sel._key(r) for _g, r in plan}) == len(plan)
    result = matcher.match(profile, k=10, summarize=False)
    assert len(result.provisions) == 10
    assert all(p.reasons for p in result.provisions)


# --- industry sectors and selection bookkeeping ------------------------------------------------------
def test_industry_word_no_concept_knows_links_to_the_products_sectors():
    from rag.matching.facets import SECTOR, build_facets
    from rag.understand.query import load_concepts

    concepts = load_concepts(str(PROJECT_ROOT / "corpus" / "concepts.json"))
    facets = build_facets(Profile(industry="食品配料", products=("甜菊糖",)), concepts)
    industry = next(f for f in facets if f.kind == "industry")
    sector = [l for l in industry.links if l.term == "合成生物"]  # 甜菊糖 → 甜菊糖苷, whose broader is 合成生物
    assert sector and sector[0].weight == SECTOR and sector[0].via == "concept"
    assert "合成生物" in industry.query  # the sector is retrieved for too
    assert max(l.weight for l in industry.links if l.term != "食品配料") <= SECTOR
    # an industry word a concept knows keeps its own concept links only
    known = next(f for f in build_facets(Profile(industry="氢能装备", products=("甜菊糖",)), concepts)
                 if f.kind == "industry")
    assert not any(l.term == "合成生物" for l in known.links)
    # no products, no sectors
    alone = next(f for f in build_facets(Profile(industry="食品配料"), concepts) if f.kind == "industry")
    assert [l.term for l in alone.links] == ["食品配料"]


def test_selection_pick_drop_and_lead_sentence_cache(monkeypatch):
    import rag.matching.select as select

    facets = [_facet("product"), _facet("need", "融资", ("资金",))]
    sel = _fake_selection([("a", "s1", "强化资金保障。其他。", 0.9, {0: 0.9, 1: 0.5}),
                           ("a", "s2", "其他。", 0.8, {0: 0.9})], facets)
    sel.pick(0, 1.0)
    sel.pick(1, 0.5)
    assert sel.per_doc == {"a": 2} and sel.redundancy(0) == select.SAME_DOC ** 2
    sel.drop(1)
    assert sel.per_doc == {"a": 1} and list(sel.chosen) == [0]
    calls = []
    monkeypatch.setattr(select, "lead_sentence", lambda text: calls.append(text) or "强化资金保障。")
    sel._leads.clear()
    for _ in range(3):
        assert sel.about(0, facets[1]) == select.LEAD_ABOUT
    assert len(calls) == 1  # computed once per passage, not per call
    assert not hasattr(select, "SAME_SECTION")


# --- issue 13: needs, qualifications, in force first, numbering, the profile shown once -----------------
USER_EXAMPLE = "我们是德阳一家做氢燃料电池电堆的中小企业，想申请研发补贴"


def test_needs_are_never_products():
    from rag.matching.lexicon import NEED_KEYWORDS

    p = parse_profile_text(USER_EXAMPLE)
    assert p.products == ("氢燃料电池电堆",)
    assert {"研发", "补贴/奖励"} <= set(p.needs) and "中小企业" in p.qualifications
    for word, implied in NEED_KEYWORDS:  # whatever the need word, it is parsed as a need, never a product
        q = parse_profile_text(f"我们做工业机器人，想申请{word}")
        assert set(implied) <= set(q.needs), word
        assert not any(x.endswith(word) for x in q.products), (word, q.products)
    r = parse_profile_text("我们做融资租赁和贷款补贴的对接，生产高效节能锅炉")
    assert "高效节能锅炉" in r.products  # a need word that only modifies the head stays in the product
    assert not any(x.endswith(("补贴", "贷款")) for x in r.products)
    s = Profile.from_dict({"products": ["钠离子电池", "补贴", "研发补贴"], "needs": ["融资"]})
    assert s.products == ("钠离子电池",) and s.needs == ("融资", "补贴/奖励", "研发")


def test_size_and_scale_qualifications():
    assert parse_profile_text("一家小微企业，做火锅底料").qualifications == ("小微企业",)
    assert parse_profile_text("我们是规模以上工业企业，做锂电池").qualifications == ("规上企业",)
    assert parse_profile_text("我们是中小微企业，做工业软件").qualifications == ("中小企业",)
    # the specific designation wins over the size word inside it
    assert parse_profile_text("我们是科技型中小企业，做工业软件").qualifications == ("科技型中小企业",)
    assert set(parse_profile_text("做无人机的国家高新技术企业，也是专精特新").qualifications) == {"高新技术企业", "专精特新"}


def test_qualifications_in_the_documents_own_terms():
    from rag.matching.vocabulary import DocumentVocabulary

    vocab = DocumentVocabulary(["支持“星火”企业做大做强，培育一批“星火”企业。", "鼓励军民融合企业参与配套。",
                                "引导新能源汽车企业与汽车企业合作。", "培育一批本地企业。"])
    assert vocab.designations == ("星火",)
    assert vocab.enterprise_kind("我们是一家军民融合企业") == "军民融合企业"
    assert vocab.enterprise_kind("我们是一家企业") is None
    p = parse_profile_text("我们是“星火”企业，也是一家军民融合企业，做雷达", vocabulary=vocab)
    assert p.qualifications == ("星火", "军民融合企业") and p.products == ("雷达",)
    q = parse_profile_text("我们给新能源汽车企业配套线束", vocabulary=vocab)  # an industry word, not a qualification
    assert q.qualifications == ()
    assert parse_profile_text("我们是一家军民融合企业，做雷达").qualifications == ()  # not without the documents


def test_status_tiers_repealed_flag_and_display_order():
    from rag.matching.provisions import Provision, display_order, document_status, in_force_tier

    day = date(2026, 11, 20)
    current = _meta(doc_id="now", period_start=2025, period_end=2027)
    ended = _meta(doc_id="old", period_start=2021, period_end=2025)
    draft = _meta(doc_id="draft", status="征求意见稿", period_start=2026, period_end=2030)
    repealed = _meta(doc_id="gone", status="已废止")
    assert [in_force_tier(m, day) for m in (current, draft, ended, repealed)] == [0, 2, 3, 3]
    assert document_status(repealed, day) == "已失效"
    assert [f.code for f in document_flags(repealed, Profile(products=("x",)), day)] == ["repealed"]
    assert in_force_tier(ended, date(2024, 6, 1)) == 0

    def prov(meta, score):
        return Provision(0, None, meta, "q", (), (), "", score)

    shown = display_order([prov(ended, 0.9), prov(current, 0.5), prov(ended, 0.8), prov(draft, 0.7),
                           prov(current, 0.6), prov(repealed, 0.95)], day)
    assert [p.rank for p in shown] == [1, 2, 3, 4, 5, 6]
    assert [(p.meta.doc_id, p.score) for p in shown] == [("now", 0.6), ("now", 0.5), ("draft", 0.7),
                                                         ("gone", 0.95), ("old", 0.9), ("old", 0.8)]


def test_selection_never_lists_a_passage_only_for_a_need_word():
    need = _facet("need", "补贴/奖励", ("补贴",))
    facets = [_facet("product"), need]
    sel = _fake_selection([("a", "专栏 新能源汽车重点工程", "推广应用。通过财政补贴引导消费。", 0.0, {1: 0.9}),
                           ("b", "六、保障措施 › (一)加强政策引导", "落实研发投入补贴。", 0.0, {1: 0.8})], facets)
    assert not sel.eligible(0) and sel.eligible(1)
    assert [r for _g, r in sel.need_plan(1)] == [1]
    assert [r for r, _g in sel.run(5)] == [1]


def test_user_example_in_force_first_numbered_and_no_need_only_matches(matcher):
    from rag.matching.provisions import in_force_tier
    from rag.matching.report import to_markdown
    from rag.matching.select import MEASURE_SECTION

    profile = matcher.parse(USER_EXAMPLE)
    assert "补贴" not in "".join(profile.products) and "中小企业" in profile.qualifications
    result = matcher.match(profile, k=10)
    provs = result.provisions
    assert [p.rank for p in provs] == list(range(1, len(provs) + 1))
    tiers = [in_force_tier(p.meta, result.today) for p in provs]
    assert tiers == sorted(tiers) and tiers[0] == 0  # in-force provisions first
    docs = [p.meta.doc_id for p in provs]
    assert all(docs.index(d) == i or docs[i - 1] == d for i, d in enumerate(docs))  # groups are contiguous
    for p in provs:
        if "已到期" == p.status:
            assert any(f.code == "expired" for f in p.flags)
        if all(r.startswith("需求") for r in p.reasons):  # listed for a need: a provision about that need
            assert MEASURE_SECTION.search(p.chunk.section) or "补" in p.chunk.section or "研发" in p.chunk.section
        assert not any("产品“补贴”" in r for r in p.reasons)
    md = to_markdown(result)
    numbers = [int(line.split(".")[0][5:]) for line in md.splitlines() if line.startswith("#### ")]
    assert numbers == list(range(1, len(provs) + 1))
    assert [p["rank"] for p in result.to_json()["provisions"]] == numbers
    if any(t > 0 for t in tiers) and tiers[0] == 0:
        assert "现行文件的条款排在前面" in result.summary


def test_profile_date_decides_what_is_in_force(matcher):
    with pytest.raises(ProfileError, match="YYYY-MM-DD"):
        Profile.from_dict({"products": ["钠离子电池"], "date": "2024/6/1"})
    p = Profile.from_dict({"city": "成都市", "products": ["钠离子电池", "火锅底料"], "date": "2024-06-01"})
    assert p.to_json()["date"] == "2024-06-01"
    result = matcher.match(p, k=15)
    assert result.today == date(2024, 6, 1)
    flags = flags_by_doc(result)
    assert not any(f.startswith("规划期已结束") for f in flags.get("cd-manufacturing-14th", set()))
    assert "规划期已结束（2016—2020年）" in flags.get("sc-sei-13th", {"规划期已结束（2016—2020年）"})


def test_ui_shows_the_profile_once(settings, tmp_path):
    from ui.match_tab import parse_to_form, run_match

    form = parse_to_form(USER_EXAMPLE, settings)
    assert "中小企业" in form[4] and "补贴/奖励" in form[6] and "补贴" not in form[3]
    out = run_match(settings, *form, USER_EXAMPLE, 8, export_dir=str(tmp_path))
    page = out["profile_md"] + "\n" + out["checklist_md"]
    assert page.count("| 所在地 |") == 1 and page.count("| 项目 |") == 1 and "\n## 企业画像" not in page
    assert "## 企业画像" in (tmp_path / "policy-match.md").read_text(encoding="utf-8")  # the export keeps it
    ranks = [p["rank"] for p in out["json"]["provisions"]]
    assert ranks == list(range(1, len(ranks) + 1))
