"""Query planning for cross-document, temporal and section questions (rag.understand.query) and how the
retriever uses the plan (rag.retrieve.hybrid): document references, sub-queries per scope, guaranteed
slots per scope, document cards first for questions about a document itself."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.ingest.corpus import load_manifest
from rag.index.store import indexed_text
from rag.pipeline import PolicyQA
from rag.understand.query import (asks_about_document, document_cues, is_comparison, plan_era, plan_query,
                       reference_mentions, referenced_regions, resolve_reference, scope_weights, _topic_words)
from rag.retrieve.hybrid import Filters, guarantee_scope_slots, protect_rows
from rag.understand.query import (changed_first, changed_version_groups, dominant_match, jurisdiction_covers,
                       routing_rankings, unchanged_rows, vocabulary_expansions)
from rag.text import Tokenizer
from rag.types import Chunk, DocumentMeta

from core_support import CORPUS_DIR, session_settings

SC_NEW, SC_HITECH, SC_13TH = "sc-emerging-future-2025", "sc-hitech-14th-draft", "sc-sei-13th"
CD_FUTURE, CD_MANU = "cd-future-industries-2024", "cd-manufacturing-14th"


@pytest.fixture(scope="module")
def metas():
    return {s.meta.doc_id: s.meta for s in load_manifest(CORPUS_DIR)}


@pytest.fixture(scope="module")
def cues_topics(metas):
    cues = document_cues(metas)
    return cues, _topic_words(cues, Tokenizer(CORPUS_DIR / "userdict.txt"))


# --- references from manifest fields ------------------------------------------------------------
def test_plan_era_from_title_or_period(metas):
    assert plan_era(metas[SC_13TH]) == "十三五"  # in the title, and 2016—2020
    assert plan_era(metas[CD_MANU]) == "十四五"
    assert plan_era(metas[SC_NEW]) is None  # 2025—2027 is not a five-year-plan period
    assert plan_era(metas[CD_FUTURE]) is None  # no end year


@pytest.mark.parametrize("mention, expected", [
    ("成都的未来产业意见", (CD_FUTURE,)),
    ("省方案", (SC_NEW,)),
    ("省里的方案", (SC_NEW,)),
    ("十三五规划", (SC_13TH,)),
    ("十三五那份战略性新兴产业规划", (SC_13TH,)),
    ("制造业十四五规划", (CD_MANU,)),
    ("省科技厅的十四五高新规划", (SC_HITECH,)),
    ("2025—2027年", (SC_NEW,)),
    ("2016-2020年的规划", (SC_13TH,)),
    ("成都十四五", (CD_MANU,)),
])
def test_reference_resolves_to_documents(cues_topics, mention, expected):
    assert resolve_reference(mention, *cues_topics) == expected


def test_ambiguous_reference_keeps_every_candidate_and_bare_kind_word_none(cues_topics):
    assert set(resolve_reference("十四五规划", *cues_topics)) == {SC_HITECH, CD_MANU}
    assert set(resolve_reference("成都的文件", *cues_topics)) == {CD_FUTURE, CD_MANU}
    assert resolve_reference("属于规划", *cues_topics) == ()  # no cue says which plan


def test_reference_mentions_stop_at_separators_and_skip_non_references():
    q = "氢能在省里的方案和成都未来产业意见里分别怎么写？"
    assert [q[a:b] for a, b in reference_mentions(q)] == ["省里的方案", "成都未来产业意见"]
    q = "高新技术规划的规划期是哪几年？是不是征求意见稿？"
    assert [q[a:b] for a, b in reference_mentions(q)] == ["高新技术规划"]


def test_comparison_and_about_document_words():
    assert is_comparison("省里和成都各自怎么定位？") and is_comparison("两份文件有什么不同？")
    assert not is_comparison("成都都市圈的协作带是哪三条？")  # 成都/都市 are not 都
    assert asks_about_document("这份规划是哪个部门、什么时候出的？")
    assert asks_about_document("十三五规划现在还有效吗？") and asks_about_document("文号是多少？")
    assert not asks_about_document("日常工作统筹由哪个部门承担？")  # a task, not the issuer


# --- the plan ------------------------------------------------------------------------------------
def test_two_named_documents_give_two_scopes_with_sub_queries(shared_qa):
    plan = plan_query("新型显示在省里的方案和成都制造业规划里分别怎么部署？", shared_qa.index, shared_qa.settings)
    assert sorted(s.doc_ids for s in plan.scopes) == [(CD_MANU,), (SC_NEW,)]
    for s in plan.scopes:  # the sub-query keeps the topic, not the other document's words
        assert "新型显示" in s.dense_text and "制造业" not in s.dense_text and "方案" not in s.dense_text
    assert set(plan.doc_ids) == {SC_NEW, CD_MANU} and not plan.about_document


def test_regions_compared_give_region_scopes(shared_qa):
    plan = plan_query("人工智能方面，省里和成都各自怎么安排？", shared_qa.index, shared_qa.settings)
    assert {s.region for s in plan.scopes} == {"四川省", "成都市"} and plan.compare


def test_level_and_extent_words_do_not_name_the_province(metas):
    assert referenced_regions("成都十四五期间要创建多少家省级及以上绿色工厂？", metas) == ("成都市",)
    assert referenced_regions("全省高新技术产业营业收入是多少？", metas) == ()
    # narrower regions first; 省级 before a document word names the one 省 indexed
    assert referenced_regions("省级方案和成都未来产业意见分别怎么布局？", metas) == ("成都市", "四川省")
    assert referenced_regions("浙江省政府和成都的规定", metas) == ("成都市",)  # 省政府 of another province


def test_two_regions_without_comparison_are_not_scopes(shared_qa):
    plan = plan_query("四川支持成都建设的国家级技术创新中心叫什么？", shared_qa.index, shared_qa.settings)
    assert set(plan.regions) == {"四川省", "成都市"}
    assert not plan.compare and all(s.region is None for s in plan.scopes)


def test_compare_needs_a_comparison_or_two_distinct_documents(shared_qa):
    idx, st = shared_qa.index, shared_qa.settings
    assert plan_query("研发投入方面，十三五规划和十四五高新技术规划各设了什么指标？", idx, st).compare
    one = plan_query("十四五高新技术规划的技术合同成交额目标是多少？", idx, st)
    assert not one.compare and scope_weights(one, 0.5) == {SC_HITECH: 0.5}


def test_ambiguous_reference_splits_the_weight_and_an_era_alone_adds_none(shared_qa):
    idx, st = shared_qa.index, shared_qa.settings
    plan = plan_query("十四五规划里2025年的研发投入目标是多少？", idx, st)
    assert scope_weights(plan, 0.5) == {SC_HITECH: 0.25, CD_MANU: 0.25}
    plan = plan_query("十三五期间四川科技服务业实施了哪四大工程？", idx, st)
    assert plan.doc_ids == (SC_13TH,) and scope_weights(plan, 0.5) == {SC_13TH: 0.0}


def test_topic_words_in_headings_are_no_named_sections(shared_qa):
    idx, st = shared_qa.index, shared_qa.settings
    assert plan_query("成都未来产业意见的发展愿景分了哪两个时间段？", idx, st).sections == ("发展愿景",)
    # particles do not change which section is named
    assert plan_query("四川这份2025—2027年实施方案里，要培育发展的未来产业都有啥？", idx, st).sections == ("培育发展未来产业",)
    assert plan_query("鼓励有条件的企业发展哪些清洁能源的载货汽车和客车？", idx, st).sections == ()
    # a heading inside a document's title is part of the reference, not a section
    q = "《关于发展壮大新兴产业加快培育未来产业的实施方案(2025—2027年)》里暗物质研究依托哪个实验室？"
    assert "壮大新兴产业" not in plan_query(q, idx, st).sections


def test_routing_off_gives_a_plain_plan(built_index):
    qa = PolicyQA(built_index.with_(use_doc_routing=False))
    plan = plan_query("新型显示在省里的方案和成都制造业规划里分别怎么部署？", qa.index, qa.settings)
    assert plan.scopes == () and plan.doc_ids == () and not plan.about_document and plan.sections == ()


# --- guaranteed slots ------------------------------------------------------------------------------
def test_guarantee_scope_slots_round_robin_after_global_best():  # head=1: an explicit comparison
    order = guarantee_scope_slots([1, 2, 3, 4, 5, 6], [[2, 7, 8], [9, 10, 3]], slots=2)
    assert order[:5] == [1, 2, 9, 7, 10]  # global best, then A, B, A, B
    assert order[5:] == [3, 4, 5, 6, 8]
    assert len(order) == len(set(order))


def test_guarantee_scope_slots_keeps_a_longer_head():
    order = guarantee_scope_slots([1, 2, 3, 4], [[7, 8], [9, 10]], slots=1, head=2)
    assert order[:4] == [1, 2, 7, 9] and order[4:] == [3, 4, 8, 10]


def test_protect_rows_moves_missing_rows_into_the_window_only():
    assert protect_rows([9, 20, 19, 16, 29, 18, 0], [0, 29], 5) == [9, 20, 19, 29, 0, 16, 18]
    assert protect_rows([1, 2, 3], [2, 1], 2) == [1, 2, 3]  # already inside: unchanged
    assert protect_rows([5, 6, 7], [8], 2) == [5, 8, 6, 7]  # missing from the ranking: last in the window


def test_guarantee_scope_slots_counts_rows_already_taken():
    # the global best already belongs to scope A: A needs one more, B two
    assert guarantee_scope_slots([7, 1], [[7, 8], [9, 10]], slots=2)[:4] == [7, 8, 9, 10]


# --- retrieval behaviour on the bundled corpus -----------------------------------------------------
@pytest.mark.parametrize("question, docs", [
    ("新型显示在省里的方案和成都制造业规划里分别怎么部署？", {SC_NEW, CD_MANU}),
    ("人工智能方面，十三五规划和成都未来产业意见各有什么提法？", {SC_13TH, CD_FUTURE}),
    ("生物医药在2025—2027年的方案和十四五高新技术规划里分别是什么定位？", {SC_NEW, SC_HITECH}),
])
def test_question_naming_two_documents_gets_both_in_top_5(shared_qa, question, docs):
    hits = shared_qa.retrieve(question, k=5)
    assert docs <= {h.chunk.doc_id for h in hits}
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and [h.rank for h in hits] == [1, 2, 3, 4, 5]


def test_regions_compared_get_both_regions_in_top_5(shared_qa):
    hits = shared_qa.retrieve("人工智能方面，省里和成都各自怎么安排？", k=5)
    assert {shared_qa.index.docs[h.chunk.doc_id].region for h in hits} == {"四川省", "成都市"}


def test_evolution_question_covers_every_document_of_the_region(shared_qa):
    hits = shared_qa.retrieve("人工智能这个方向，四川从十三五到现在的文件里是怎么一路延续的？", k=5)
    assert {SC_NEW, SC_HITECH, SC_13TH} <= {h.chunk.doc_id for h in hits}


@pytest.mark.parametrize("question, doc_id", [
    ("成都制造业规划的规划期是哪几年？", CD_MANU),
    ("十四五高新技术规划是哪个部门发布的？", SC_HITECH),
    ("省里2025—2027年的方案现在还有效吗？", SC_NEW),
    ("成都前瞻培育未来产业的意见文号是什么？", CD_FUTURE),
])
def test_question_about_a_named_document_gets_its_card_in_top_3(shared_qa, question, doc_id):
    top = shared_qa.retrieve(question, k=3)
    assert any(h.chunk.kind == "card" and h.chunk.doc_id == doc_id for h in top)


def test_question_about_documents_in_general_gets_cards(shared_qa):
    hits = shared_qa.retrieve("哪份文件还是征求意见稿？", k=5)
    assert sum(h.chunk.kind == "card" for h in hits) >= 3


def test_cards_respect_filters(shared_qa):
    hits = shared_qa.retrieve("成都制造业规划的规划期是哪几年？", k=5, filters=Filters(region="四川省"))
    assert hits and all(shared_qa.index.docs[h.chunk.doc_id].region == "四川省" for h in hits)


def test_named_section_ranks_high(shared_qa):
    hits = shared_qa.retrieve("成都未来产业意见的发展愿景里有哪些阶段目标？", k=3)
    assert any("发展愿景" in h.chunk.section for h in hits)


def test_cross_document_plan_respects_a_document_filter(shared_qa):
    hits = shared_qa.retrieve("新型显示在省里的方案和成都制造业规划里分别怎么部署？", k=8,
                              filters=Filters(doc_ids=(CD_MANU,)))
    assert hits and {h.chunk.doc_id for h in hits} == {CD_MANU}


# --- routing is additive: the global ranking's best rows stay in the top k ----------------------
def _plain_top(built_index, question, n=2):
    qa = PolicyQA(built_index.with_(use_doc_routing=False))
    return [h.chunk.chunk_id for h in qa.retrieve(question, k=n)]


@pytest.mark.parametrize("question", [
    "四川支持成都建设的国家级技术创新中心叫什么？",  # 四川 and 成都, no comparison
    "成都十四五期间要创建多少家省级及以上绿色工厂？",  # 省级 is a level, 十四五 an era
    "十四五规划里2025年的研发投入目标是多少？",  # ambiguous: two 十四五 plans
    "十三五期间四川科技服务业实施了哪四大工程？",  # an era alone is a time
    "成都制造业规划里，到2025年全市制造业产品出口要达到多少？",  # one named document
    "这份规划的远景目标是什么？",  # about-document words in a content question
])
def test_routing_keeps_the_global_top_hits(shared_qa, built_index, question):
    top = {h.chunk.chunk_id for h in shared_qa.retrieve(question, k=5)}
    assert set(_plain_top(built_index, question)) <= top


def test_ambiguous_reference_does_not_restrict_the_ranking(shared_qa, built_index):
    question = "十四五规划里2025年的研发投入目标是多少？"  # 十四五规划: the province's or 成都's plan
    plan = plan_query(question, shared_qa.index, shared_qa.settings)
    assert not plan.compare and set(plan.doc_ids) == {SC_HITECH, CD_MANU}
    top = [h.chunk.chunk_id for h in shared_qa.retrieve(question, k=5)]
    # the nudge only reorders the global candidates: no slots filled from inside the two plans
    assert set(top) <= set(_plain_top(built_index, question, n=10))
    assert _plain_top(built_index, question) == top[:2]


# --- list questions: the continuation of an enumeration in the next chunk of its section ----------
from rag.understand.query import section_labels
from rag.understand.need import asks_list
from rag.retrieve.hybrid import add_continuations, continuation_rows  # noqa: E402


def test_asks_list_words():
    assert asks_list("成都未来产业的六大重点培育领域是哪些？") and asks_list("要为龙头企业梳理哪5张需求清单？")
    assert asks_list("“一核四区”的四个区分别是啥？")
    assert asks_list("成都要培育的未来产业都有啥？") and asks_list("新兴产业方向一共几个？列一下。")
    assert not asks_list("想找天使投资，成都有什么渠道？")  # 成都 + 有什么 is no 都有什么
    assert not asks_list("到2027年要培育多少家领军企业？")
    assert not asks_list("石墨烯在两份文件里分别是怎么布局的？")  # a comparison, not a list
    assert not asks_list("基期和目标年分别是哪一年？")


def test_add_continuations_after_the_row_behind_protected_rows():
    nxt = {1: 9, 3: 8, 4: 7}
    # rank 1 continues (9); the global #2 (row 2) keeps its place, so 9 comes after it
    assert add_continuations([1, 2, 3, 4, 5, 6], nxt, 5, [1, 2], limit=1) == [1, 2, 9, 3, 4, 5, 6]
    # two continuations at most, only of the first ``ranks`` rows; the protected rows stay in the window
    assert add_continuations([3, 1, 2, 4, 5], nxt, 5, [1, 2]) == [3, 1, 2, 8, 9, 4, 5]
    assert add_continuations([5, 6, 4], nxt, 5, [5, 6], ranks=2) == [5, 6, 4]  # 4 is not a top row
    assert add_continuations([1, 9, 2], nxt, 5, [1, 2]) == [1, 9, 2]  # already in the window


def _section_question(chunk) -> str:
    labels = section_labels(chunk.section)  # "一、发展基础和形势 › (一) 发展基础" → […, "发展基础"]
    return labels[-1] if labels else ""


@pytest.fixture(scope="module")
def enumeration_case(shared_qa, built_index):
    """The first pair of chunks (in index order) whose enumeration continues into the next chunk of
    the section, found by a script over the index: a list question made of the section's heading
    ranks the head chunk in the top 3 but not its continuation in the top 5 without the feature."""
    plain = PolicyQA(built_index.with_(use_list_continuation=False))
    chunks = shared_qa.index.chunks
    for head, nxt in sorted(continuation_rows(chunks).items()):
        label = _section_question(chunks[head])
        if not label:
            continue
        question = f"{label}包括哪些方面？"
        top = [h.chunk.chunk_id for h in plain.retrieve(question, k=5)]
        if chunks[head].chunk_id in top[:3] and chunks[nxt].chunk_id not in top:
            return question, chunks[head], chunks[nxt], top, plain
    pytest.fail("no section of the bundled corpus has an enumeration over two chunks")


def test_list_question_gets_the_continuation_chunk_in_top_5(shared_qa, enumeration_case):
    question, head, nxt, plain_top, _ = enumeration_case
    assert head.section == nxt.section and head.start < nxt.start
    hits = shared_qa.retrieve(question, k=5)
    ids = [h.chunk.chunk_id for h in hits]
    assert head.chunk_id in ids and nxt.chunk_id in ids
    assert ids.index(nxt.chunk_id) > ids.index(head.chunk_id)  # after its head
    assert ids[:2] == plain_top[:2] or set(plain_top[:2]) <= set(ids[:3])  # the global top 2 keep their places
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_non_list_question_gets_no_continuation(shared_qa, enumeration_case):
    question, head, nxt, _, plain = enumeration_case
    question = question.replace("包括哪些方面？", "的总体要求是什么？")
    assert not asks_list(question)
    assert [h.chunk.chunk_id for h in shared_qa.retrieve(question, k=5)] == \
        [h.chunk.chunk_id for h in plain.retrieve(question, k=5)]


# --- newest/plural references, normalised names, per-index caches, list sections ------------------
@pytest.mark.parametrize("question, about", [
    ("机器人关键零部件，十三五规划、最新省方案和成都制造业规划分别点了哪些？", False),  # 最新 picks a document
    ("乐山在核技术方面，最新的新兴产业方案怎么安排？", False),
    ("这五份文件里，按规划期算哪一份最新？", True),  # asks which document is the newest
    ("最新的方案是哪份？", True),
    ("最新省方案的有效期到哪一年？", True),  # still asks about the document (有效期)
    ("成府发〔2024〕2号那份实施意见写了执行到哪一年吗？", True),  # what is asked: the period
    ("十三五那份省里的战略性新兴产业规划，现在还能用吗？", True),
    ("最新的产业方向有哪些？", False),  # 最新 of content words
    ("省里的“链主”企业培育计划由哪个部门牵头实施？", False),  # a task's lead department
])
def test_newest_as_a_reference_is_no_question_about_the_document(question, about):
    assert asks_about_document(question) is about


def test_newest_reference_resolves_to_the_latest_starting_document(cues_topics):
    cues, topics = cues_topics
    assert set(resolve_reference("省方案", cues, topics)) >= {SC_NEW}
    assert resolve_reference("最新的省规划", cues, topics) == (SC_HITECH,)
    assert resolve_reference("最早的省规划", cues, topics) == (SC_13TH,)


def test_plural_reference_in_a_comparison_gives_one_scope_per_document(shared_qa):
    plan = plan_query("量子这个方向，最新省方案和成都的两份文件分别怎么定位？", shared_qa.index, shared_qa.settings)
    assert plan.compare and not plan.about_document
    assert sorted(s.doc_ids for s in plan.scopes) == [(CD_FUTURE,), (CD_MANU,), (SC_NEW,)]
    hits = shared_qa.retrieve("量子这个方向，最新省方案和成都的两份文件分别怎么定位？", k=5)
    assert {SC_NEW, CD_FUTURE, CD_MANU} <= {h.chunk.doc_id for h in hits}
    assert all(h.chunk.kind != "card" for h in hits[:3])


def test_name_matching_only_after_normalisation_is_a_weighted_scope(shared_qa):
    """A document number written with other spacing/width (NFKC) is still the scope's label: it is
    removed from the sub-query and the document gets the full routing weight."""
    from rag.understand.references import _name_in

    meta = shared_qa.index.docs[CD_FUTURE]
    assert meta.doc_number
    spaced = meta.doc_number.replace("2024", "２０２４ ")
    question = f"{spaced}提出了哪些重点培育方向？"
    assert _name_in(question, meta) == spaced[:spaced.rindex("号") + 1]
    plan = plan_query(question, shared_qa.index, shared_qa.settings)
    assert scope_weights(plan, 0.5) == {CD_FUTURE: 0.5}


def test_card_rows_and_section_label_sets_are_cached_per_index(shared_qa):
    from rag.index.store import card_rows
    from rag.understand.query import chunk_section_labels

    index = shared_qa.index
    cards = card_rows(index)
    assert cards is card_rows(index) and set(cards) == set(index.docs)
    assert all(index.chunks[row].kind == "card" and index.chunks[row].doc_id == d for d, row in cards.items())
    labels = chunk_section_labels(index)
    assert labels is chunk_section_labels(index) and len(labels) == len(index.chunks)
    row = next(r for r, c in enumerate(index.chunks) if " › " in c.section)
    assert labels[row] == frozenset(section_labels(index.chunks[row].section))


def test_list_section_rows_take_the_smallest_enclosing_section():
    from rag.retrieve.hybrid import list_section_rows
    from rag.types import Chunk

    def chunk(i, section, doc="d", kind="text"):
        return Chunk(str(i), doc, section, "x", i, i + 1, 1, kind)

    sec = "三、重点领域 › （六）生物 › "
    chunks = [chunk(0, sec + "1. 疫苗"), chunk(1, sec + "2. 生物药"), chunk(2, sec + "3. 化学药"),
              chunk(3, sec + "5. 器械 › 专栏 6 生物"), chunk(4, "三、重点领域 › （七）材料"),
              chunk(5, sec + "2. 生物药", doc="other"), chunk(6, "文件信息", kind="card")]
    mask = [True] * len(chunks)
    assert list_section_rows(chunks, 3, mask) == [0, 1, 2, 3]  # the level-2 section, same document
    assert list_section_rows(chunks, 3, mask, limit=3) == [3]  # too large: the hit's own section
    assert list_section_rows(chunks, 1, [True, False, True, True, True, True, True]) == [0, 2, 3]
    assert list_section_rows(chunks, 6, mask) == []  # a card has no section


def test_list_question_gets_more_of_its_best_hit_section(shared_qa, built_index):
    """Questions made (by a script over the index) from the second-level headings that have three or
    more sub-sections: with the section ranking the top 5 never holds fewer chunks of the best hit's
    section (``list_section_rows``) than without it, and for some question more."""
    from rag.ingest.chunking import heading_level
    from rag.retrieve.hybrid import list_section_rows

    index = shared_qa.index
    plain = PolicyQA(built_index.with_(use_list_sections=False))
    subs: dict[str, set[str]] = {}
    for c in index.chunks:
        parts = c.section.split(" › ")
        if len(parts) >= 3 and heading_level(parts[2]) is not None:  # numbered sub-headings, not labelled blocks
            subs.setdefault(" › ".join(parts[:2]), set()).add(parts[2])
    mask = [True] * len(index.chunks)
    gained = 0
    for prefix in sorted(p for p, s in subs.items() if len(s) >= 3)[:12]:
        question = f"{section_labels(prefix)[-1]}包括哪些重点？"
        hits = shared_qa.retrieve(question, k=5)
        section = {index.chunks[r].chunk_id for r in list_section_rows(index.chunks, index.by_id[hits[0].chunk.chunk_id], mask)}
        with_ = sum(h.chunk.chunk_id in section for h in hits)
        without = sum(h.chunk.chunk_id in section for h in plain.retrieve(question, k=5))
        assert with_ >= without, question
        gained += with_ > without
    assert gained >= 1


# --- document wordings of one thing (Concept.variants) -------------------------------------------
def test_variants_expand_a_document_wording_by_the_others():
    from rag.understand.query import Concept, match_concepts

    rd = Concept("rd", "研发投入", ("技术攻关",), ("研发",), (), ("研发经费", "R&D经费"))
    assert "研发经费" not in rd.triggers()  # policy matching does not see the variants
    (m,) = match_concepts("全社会研发经费支出目标是多少？", (rd,))
    assert (m.matched, m.variants) == ("研发经费", ("研发投入", "R&D经费"))
    (m,) = match_concepts("研发投入的指标", (rd,))
    assert m.variants == ("研发经费", "R&D经费")
    (m,) = match_concepts("我们有研发团队", (rd,))  # a company word only: no document wording asked
    assert m.variants == ()
    assert match_concepts("研发投入", (Concept("x", "研发投入"),))[0].variants == ()


def test_plan_adds_the_documents_other_wordings(shared_qa):
    """研发投入 (sc-sei-13th) and 研发经费支出 (sc-hitech-14th-draft) name the same indicator; both
    words occur in the documents, so only the variants (corpus/concepts.json) bridge them."""
    idx, st = shared_qa.index, shared_qa.settings
    plan = plan_query("研发投入方面，十三五规划和十四五高新技术规划各设了什么指标？", idx, st)
    assert "经费" in plan.tokens and "经费" in " ".join(s.dense_text for s in plan.scopes)
    plan = plan_query("规模以上工业企业的研发机构覆盖率要达到多少？", idx, st)
    assert "规上" in plan.tokens
    off = plan_query("研发投入方面有什么指标？", idx, st.with_(use_concepts=False))
    assert "经费" not in off.tokens


# --- list questions: a section's outline when the top hits spread over its sub-sections ------------
from rag.retrieve.lists import merge_outline  # noqa: E402
from rag.types import Chunk as _Chunk  # noqa: E402


def _c(section: str, kind: str = "text", doc: str = "d") -> _Chunk:
    return _Chunk(section + kind, doc, section + (" › 提纲" if kind == "outline" else ""), "正文", 0, 2, 1, kind)


def test_merge_outline_needs_two_sub_sections_of_one_section():
    outlines = {("d", "十一、保障措施"): _c("十一、保障措施", "outline"),
                ("d", "三、重点任务"): _c("三、重点任务", "outline")}
    two = [_c("十一、保障措施 › （一）完善管理体制机制"), _c("三、重点任务 › （二）平台"),
           _c("十一、保障措施 › （三）强化人才支撑")]
    assert merge_outline(two, outlines) is outlines[("d", "十一、保障措施")]
    # hits in one sub-section only, or a parent without an outline, or another document: nothing merges
    assert merge_outline([_c("十一、保障措施 › （一）完善管理体制机制")] * 3, outlines) is None
    assert merge_outline([_c("五、其他 › （一）甲"), _c("五、其他 › （二）乙")], outlines) is None
    assert merge_outline([_c("十一、保障措施 › （一）甲"), _c("十一、保障措施 › （二）乙", doc="e")], outlines) is None
    # hits below ``depth`` and cards do not count
    assert merge_outline([_c("十一、保障措施 › （一）甲"), _c("x"), _c("十一、保障措施 › （二）乙")], outlines,
                         depth=2) is None
    assert merge_outline([_c("十一、保障措施 › （一）甲"), _c("十一、保障措施 › （二）乙", "card")], outlines) is None


def test_merge_outline_prefers_better_ranked_spread():
    outlines = {("d", "甲"): _c("甲", "outline"), ("d", "乙"): _c("乙", "outline"),
                ("d", "甲 › （一）子"): _c("甲 › （一）子", "outline")}
    hits = [_c("乙 › （一）x"), _c("乙 › （二）y"), _c("甲 › （一）子 › 1.a"), _c("甲 › （一）子 › 2.b")]
    assert merge_outline(hits, outlines).section == "乙 › 提纲"
    # equal scores: the deeper section (its sub-sections are the items)
    hits = [_c("甲 › （一）子 › 1.a"), _c("甲 › （一）子 › 2.b")]
    assert merge_outline(hits, outlines).section == "甲 › （一）子 › 提纲"


def test_merge_outline_of_the_section_the_best_hit_opens():
    """The best hit is the passage opening a section whose sub-sections are the items ("（一）突出发展支柱产业…
    五大支柱产业" above 1.电子信息 … 5.绿色食品): that section's outline, even when lower hits spread over another
    section's sub-sections; a best hit in a section without sub-sections (no outline) changes nothing."""
    outlines = {("d", "三、重点 › （一）支柱产业"): _c("三、重点 › （一）支柱产业", "outline"),
                ("d", "七、创新"): _c("七、创新", "outline")}
    hits = [_c("三、重点 › （一）支柱产业"), _c("七、创新 › 专栏 1"), _c("七、创新 › 专栏 2")]
    assert merge_outline(hits, outlines).section == "三、重点 › （一）支柱产业 › 提纲"
    hits = [_c("五、其他"), _c("七、创新 › 专栏 1"), _c("七、创新 › 专栏 2")]
    assert merge_outline(hits, outlines).section == "七、创新 › 提纲"
    # a document card opening nothing, and the document level (its chapters) never merge this way
    assert merge_outline([_c("", "text"), _c("七、创新 › 专栏 1")], {("d", ""): _c("", "outline")}) is None


def test_merge_outline_skips_a_chapter_whose_hits_are_articles():
    """A regulation's chapter whose hits are its articles is no list to merge: each article states its own
    items (the chapter's outline only repeats each article's first sentence); a chapter whose hits lie in
    its 节 still merges."""
    outlines = {("d", "第六章 保障"): _c("第六章 保障", "outline")}
    assert merge_outline([_c("第六章 保障 › 第四十六条"), _c("第六章 保障 › 第五十条")], outlines) is None
    assert merge_outline([_c("第六章 保障 › 第一节 资金 › 第四十六条"), _c("第六章 保障 › 第二节 人才 › 第五十条")],
                         outlines) is outlines[("d", "第六章 保障")]


# --- unseen corpora: jurisdiction scoping, the documents' words, version changes (hand-made documents) ----


def test_jurisdiction_covers_the_province_of_a_named_city_and_the_cities_of_a_named_province():
    assert jurisdiction_covers("青岛市", ("青岛市",))
    assert jurisdiction_covers("山东省", ("青岛市",))  # a province's regulation applies in its cities
    assert jurisdiction_covers("德州市", ("山东省",))  # a province question may use its cities' documents
    assert not jurisdiction_covers("德州市", ("青岛市",))  # a sibling city is another jurisdiction
    assert not jurisdiction_covers("浙江省", ("山东省",)) and not jurisdiction_covers("宁波市", ("青岛市",))
    assert not jurisdiction_covers(None, ("青岛市",))


def _vocab_index(df):
    return SimpleNamespace(df={"__N__": 100, **df})


def test_vocabulary_expansions_use_the_index_words_for_words_it_lacks():
    index = _vocab_index({"罚款": 30, "处罚": 20, "行政处罚": 5, "四类": 3, "三类": 2, "数字": 40, "分为": 9,
                          "依靠": 4, "可靠": 4})
    # 罚 alone is no index word (jieba keeps 罚款 whole): the most frequent words containing it
    assert vocabulary_expansions(["罚", "多少钱"], index) == ["罚款", "处罚", "行政处罚"]
    # a count asked with its measure word: the index's numeral words with that measure word
    assert vocabulary_expansions(["分为", "几类"], index) == ["四类", "三类"]
    # everyday single characters (字, 靠) are words of their own; question words and known words get none
    assert vocabulary_expansions(["七个", "字", "靠", "多少钱", "分为"], index) == []


def test_vocabulary_expansions_in_a_large_library():
    """A large library writes 罚 alone a few times and 几类 somewhere: 罚 still reads as 罚款/处罚, a count
    asked still gets the index's most frequent numeral words with its measure word."""
    index = _vocab_index({"罚": 1, "罚款": 9520, "处罚": 6547, "行政处罚": 1609, "摆": 7, "摆摊": 97, "几类": 2,
                          "一类": 900, "二类": 800, "三类": 700, "四类": 90, "五类": 20})
    assert vocabulary_expansions(["罚", "多少钱"], index) == ["罚款", "处罚", "行政处罚"]
    assert vocabulary_expansions(["摆", "几类"], index) == ["一类", "二类", "三类"]  # 摆 stands alone


def _doc(doc_id, title, region, date):
    return DocumentMeta(doc_id, f"{doc_id}.md", f"{doc_id}.md", title, region=region, date=date)


def test_change_question_ranks_the_passages_a_revision_changed_first():
    old_text = "第一条 为了规范停车管理，制定本条例。\n第二条 调整小区共有车位收费应当经业主过半数同意。"
    new_text = "第一条 为了规范停车管理，制定本条例。\n第三条 调整小区共有车位收费应当由业主依法共同决定。"
    docs = {"p-old": _doc("p-old", "青岛市停车条例", "青岛市", "2020-01-01"),
            "p-new": _doc("p-new", "青岛市停车条例", "青岛市", "2024-01-01"),
            "other": _doc("other", "青岛市消防条例", "青岛市", "2022-01-01")}

    def chunk(doc_id, text):
        return Chunk(f"{doc_id}-{len(text)}", doc_id, "", text, 0, len(text), 10)

    chunks = [chunk("p-old", "第一条 为了规范停车管理，制定本条例。"),
              chunk("p-old", "第二条 调整小区共有车位收费应当经业主过半数同意。"),
              chunk("p-new", "第一条 为了规范停车管理，制定本条例。"),
              chunk("p-new", "第三条 调整小区共有车位收费应当由业主依法共同决定。")]
    index = SimpleNamespace(docs=docs, chunks=chunks, doc_texts={"p-old": old_text, "p-new": new_text})
    scopes = [SimpleNamespace(doc_ids=("p-old", "p-new"))]
    groups = changed_version_groups("停车条例修改后车位收费规则有什么变化？", scopes, docs)
    assert groups == (("p-old", "p-new"),)
    assert changed_version_groups("停车条例对车位收费怎么规定？", scopes, docs) == ()  # no change asked
    assert changed_version_groups("停车条例对不同车型怎么收费？", scopes, docs) == ()  # a kind, not a change
    assert changed_version_groups("停车条例修正前后收费规则有什么不同？", scopes, docs) == groups
    # two documents of different titles are no versions
    assert changed_version_groups("两部条例有什么不同？", [SimpleNamespace(doc_ids=("p-old", "other"))], docs) == ()
    assert unchanged_rows(index, groups[0]) == {0, 2}  # article 1 stands in both versions
    assert changed_first([0, 2, 1, 3], index, groups) == [1, 3, 0, 2]


def test_a_question_naming_a_place_gets_a_ranking_within_its_jurisdiction():
    docs = {"qd": _doc("qd", "青岛市海洋牧场管理条例", "青岛市", "2020-01-01"),
            "sd": _doc("sd", "山东省海洋牧场管理条例", "山东省", "2020-01-01"),
            "nb": _doc("nb", "宁波市海洋牧场管理条例", "宁波市", "2020-01-01")}
    plan = SimpleNamespace(compare=False, scopes=(), region_doc_ids=("qd", "sd"), tokens=["青岛", "专项资金"])
    assert routing_rankings(plan, 0.5) == [(("qd", "sd"), 0.5)]
    assert routing_rankings(SimpleNamespace(compare=True, scopes=(), region_doc_ids=("qd",)), 0.5) == []
    assert {d for d, m in docs.items() if jurisdiction_covers(m.region, ("青岛市",))} == {"qd", "sd"}


_MARINE = ("{title}\n\n（{date}{body}通过）\n\n第一章 总则\n\n第一条 为了加强海洋牧场管理，制定本条例。\n\n"
           "第二条 {place}行政区域内海洋牧场的规划、建设和管理，适用本条例。\n\n第二章 扶持\n\n{article}\n\n"
           "第三章 法律责任\n\n第九条 骗取海洋牧场建设补贴的，由渔业主管部门责令退回，并处骗取金额一倍以上三倍以下罚款。\n")


@pytest.fixture(scope="module")
def marine_qa(tmp_path_factory):
    from rag.index.build import ingest

    root = tmp_path_factory.mktemp("marine")
    docs = root / "docs"
    docs.mkdir()
    texts = {
        "青岛市海洋牧场管理条例": ("2020年3月1日", "青岛市人民代表大会常务委员会", "本市",
                          "第五条 本市设立海洋牧场发展专项资金，支持人工鱼礁建设。"),
        "宁波市海洋牧场管理条例": ("2021年5月1日", "宁波市人民代表大会常务委员会", "本市",
                          "第五条 海洋牧场专项资金专项资金专项资金由市财政安排，支持海洋牧场专项资金项目。"),
        "山东省渔业资源保护条例": ("2019年6月1日", "山东省人民代表大会常务委员会", "本省",
                          "第五条 省人民政府设立渔业资源增殖放流补助资金。"),
    }
    for title, (date, body, place, article) in texts.items():
        (docs / f"{title}.md").write_text(_MARINE.format(title=title, date=date, body=body, place=place,
                                                         article=article), encoding="utf-8")
    settings = session_settings(root / "data")
    ingest(settings, [docs], exclude=[])
    return PolicyQA(settings)


def test_a_place_question_over_unseen_regulations_is_scoped_to_its_jurisdiction(marine_qa):
    index = marine_qa.index
    plan = plan_query("青岛设立了哪些海洋牧场专项资金？", index, marine_qa.settings)
    regions = {index.docs[d].region for d in plan.region_doc_ids}
    assert regions == {"青岛市", "山东省"}  # the city and its province, not 宁波 (another province)
    hits = marine_qa.retrieve("青岛设立了哪些海洋牧场专项资金？", 3)
    assert "本市设立海洋牧场发展专项资金" in hits[0].chunk.text  # 本市 found by the place the question names


def test_a_penalty_question_naming_a_place_searches_the_penalty_chapter(marine_qa):
    plan = plan_query("青岛有人骗领海洋牧场补贴怎么处理？", marine_qa.index, marine_qa.settings)
    assert any(lab.endswith("法律责任") for lab in plan.sections)
    assert plan.region_doc_ids and "骗取" not in plan.tokens  # 骗领 is no index word and no part of one
    hits = marine_qa.retrieve("青岛有人骗领海洋牧场补贴怎么处理？", 3)
    assert any("骗取海洋牧场建设补贴" in h.chunk.text and marine_qa.index.docs[h.chunk.doc_id].region == "青岛市"
               for h in hits)


def test_dominant_match_is_a_first_row_far_ahead_of_the_second():
    scores = [15.0, 3.5, 3.4, 0.0]
    assert dominant_match([0, 1, 2], scores) == 0  # 首席数据官: one passage holds the rare words
    assert dominant_match([1, 2, 0], scores) is None  # 3.5 vs 3.4: no passage stands out
    assert dominant_match([0], scores) is None and dominant_match([0, 3], scores) is None


def test_indexed_text_adds_the_region_a_title_does_not_name_and_keeps_the_passage_verbatim():
    passage = "第三条 本省设立海洋牧场专项资金。"
    chunk = Chunk("c1", "plan", "第一章 总则 › 第三条", passage, 0, len(passage), 10)
    untitled = _doc("plan", "关于加快海洋牧场建设的实施意见", "山东省", "2024-01-01")
    titled = _doc("reg", "山东省海洋牧场管理条例", "山东省", "2024-01-01")
    assert indexed_text(chunk, untitled).split("\n") == [untitled.title, "山东省", chunk.section, passage]
    assert indexed_text(chunk, titled).split("\n") == [titled.title, chunk.section, passage]  # named once
    assert chunk.text == passage  # what is quoted stays the document's own text


# --- versions of one title ---------------------------------------------------------------------------
def _versions():
    from rag.understand.query import Scope

    def meta(doc_id, title, day):
        return DocumentMeta(doc_id, f"{doc_id}.md", f"{doc_id}.md", title, region="某市", date=day)

    docs = {"old": meta("old", "某市停车条例", "2007-10-10"), "new": meta("new", "某市停车条例", "2024-03-29"),
            "other": meta("other", "某市审计条例", "2017-09-22")}
    return docs, [Scope("停车条例", ("old", "new"))]


@pytest.mark.parametrize("question, others", [
    ("停车条例对收费是怎么规定的？", ("old",)),  # no version named: the latest, in force
    ("停车条例最近一次修改是什么时候？", ("old",)),
    ("停车条例修订前那一版怎么规定？", ("new",)),
    ("2007年那版停车条例是哪天施行的？", ("new",)),  # the version of the year named
    ("停车条例2024年修改后怎么规定？", ("old",)),
])
def test_other_versions_are_the_ones_the_question_does_not_ask_for(question, others):
    from rag.understand.query import other_versions

    docs, scopes = _versions()
    assert other_versions(question, scopes, docs) == others


def test_other_versions_need_one_title_and_dated_versions():
    from rag.understand.query import Scope, other_versions

    docs, _ = _versions()
    assert other_versions("两部条例怎么规定？", [Scope("条例", ("old", "other"))], docs) == ()
    undated = {**docs, "new": DocumentMeta("new", "n.md", "n.md", "某市停车条例", region="某市")}
    assert other_versions("停车条例怎么规定？", [Scope("停车条例", ("old", "new"))], undated) == ()


def test_the_version_asked_for_gets_the_routing_weight():
    from rag.understand.query import OTHER_VERSION_SHARE, QueryPlan, scope_weights

    _docs, scopes = _versions()
    plan = QueryPlan("停车条例怎么规定？", [], "", ("old", "new"), scopes=tuple(scopes), other_versions=("old",))
    assert scope_weights(plan, 1.0) == {"new": 1.0, "old": OTHER_VERSION_SHARE}
    both = QueryPlan("停车条例怎么规定？", [], "", ("old", "new"), scopes=tuple(scopes))
    assert scope_weights(both, 1.0) == {"new": 0.5, "old": 0.5}


def test_a_question_naming_a_title_with_versions_gets_the_current_version_first(tmp_path):
    """End to end on a two-version corpus: an unqualified question ranks the latest version's article first,
    one naming the older version's year that version's."""
    from rag.index.build import ingest

    from core_support import session_settings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "某市停车条例-2007.md").write_text(
        "某市停车条例\n\n（2007年10月10日某市人民代表大会常务委员会通过）\n\n第一条 为了加强停车管理，制定本条例。\n\n"
        "第二条 住宅小区共有车位的收费标准由业主大会决定，每月不超过一百元。\n", encoding="utf-8")
    (docs / "某市停车条例-2024.md").write_text(
        "某市停车条例\n\n（2024年3月29日某市人民代表大会常务委员会修订）\n\n第一条 为了加强停车管理，制定本条例。\n\n"
        "第二条 住宅小区共有车位的收费标准由业主共同决定，并向业主公示。\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    report = ingest(settings, sorted(docs.iterdir()), exclude=[])
    assert not report.failed
    qa = PolicyQA(settings, auto_ingest=False)
    dates = {d: m.date for d, m in qa.retriever.index.docs.items()}
    if len(set(dates.values())) < 2 or not all(dates.values()):
        pytest.skip(f"version dates not read: {dates}")
    newest = max(dates, key=dates.get)
    oldest = min(dates, key=dates.get)
    top = [h for h in qa.retrieve("某市停车条例对小区共有车位收费标准怎么规定？", 3) if h.chunk.kind == "text"]
    assert top[0].chunk.doc_id == newest
    top = [h for h in qa.retrieve("2007年那版某市停车条例对小区共有车位收费标准怎么规定？", 3) if h.chunk.kind == "text"]
    assert top[0].chunk.doc_id == oldest


def test_an_article_number_in_arabic_digits_finds_that_article(tmp_path):
    from core_support import session_settings

    from rag.index.build import ingest
    from rag.understand.query import chinese_numeral

    docs = tmp_path / "docs"
    docs.mkdir()
    articles = "\n\n".join(f"第{chinese_numeral(n)}条 停车场管理单位应当做好车位登记和收费公示。" for n in range(1, 31))
    (docs / "某市停车条例.md").write_text(f"某市停车条例\n\n{articles}\n", encoding="utf-8")
    settings = session_settings(tmp_path / "data")
    assert not ingest(settings, sorted(docs.iterdir()), exclude=[]).failed
    qa = PolicyQA(settings, auto_ingest=False)
    top = [h for h in qa.retrieve("某市停车条例第26条是怎么规定的？", 3) if h.chunk.kind == "text"]
    assert top[0].chunk.section.endswith("第二十六条")
