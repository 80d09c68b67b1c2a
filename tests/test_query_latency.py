"""Queries sublinear in the library (issue 12 §4): the per-index arrays and maps that replace per-question loops
over every chunk or document give exactly what the loops gave."""

from __future__ import annotations

import random
from datetime import date

import numpy as np

from rag.types import Chunk


def test_top_rows_equals_a_stable_full_sort():
    """rag.retrieve.arrays.top_rows (np.partition) = np.argsort(-scores, stable)[:n] without rows scoring ≤ 0, ties by
    lower row, with and without a row subset."""
    from rag.retrieve.arrays import top_rows

    rng = np.random.default_rng(7)
    for _ in range(2000):
        size = int(rng.integers(0, 50))
        scores = rng.integers(-2, 5, size=size).astype(float) * rng.choice([1.0, 0.25])
        n = int(rng.integers(0, 15))
        mask = rng.random(size) < 0.6 if rng.random() < 0.5 else np.ones(size, dtype=bool)
        masked = np.where(mask, scores, -1.0)
        expected = [int(i) for i in np.argsort(-masked, kind="stable")[:n] if masked[i] > 0]
        rows = None if mask.all() else np.flatnonzero(mask)
        assert top_rows(scores, n, rows) == expected


def _chunk(row: int, doc: str, section: str, text: str, kind: str = "text") -> Chunk:
    return Chunk(chunk_id=f"c{row}", doc_id=doc, section=section, text=text, start=row * 10,
                 end=row * 10 + len(text), n_tokens=len(text), kind=kind)


def test_document_continuations_equal_the_library_wide_scan():
    """rag.retrieve.lists.DocumentContinuations (per document, on first use) = continuation_rows over every chunk; a
    lookup computes only the document of the row."""
    from rag.retrieve.lists import DocumentContinuations, continuation_rows

    rng = random.Random(5)
    texts = ["重点发展以下方向：", "——智能终端。加快发展。", "（1）新型显示，", "加强组织领导。", "一是强化保障；"]
    chunks = [_chunk(i, rng.choice("abc"), rng.choice(["一、任务", "一、任务 › （一）产业", "二、保障"]),
                     rng.choice(texts), rng.choice(["text", "text", "table"])) for i in range(120)]
    position = {d: p for p, d in enumerate(dict.fromkeys(c.doc_id for c in chunks))}
    doc_of_row = np.array([position[c.doc_id] for c in chunks])
    rows_of_doc = [np.flatnonzero(doc_of_row == p) for p in range(len(position))]
    expected = continuation_rows(chunks)
    lazy = DocumentContinuations(chunks, doc_of_row, rows_of_doc)
    row = next(iter(expected))
    assert lazy.get(row) == expected[row] and set(lazy._built) == {int(doc_of_row[row])}
    assert lazy.get(np.int64(row)) == expected[row]
    assert lazy.get(-1) is None and lazy.get(len(chunks)) is None and 10**9 not in lazy
    assert dict(lazy) == expected and len(lazy) == len(expected)


def test_list_section_rows_of_the_document_equal_the_scan():
    """list_section_rows with the hit document's rows = the scan over every chunk."""
    from rag.retrieve.lists import list_section_rows

    rng = random.Random(11)
    sections = ["一、任务", "一、任务 › （一）产业", "一、任务 › （一）产业 › 1.装备", "一、任务 › （二）创新", "二、保障"]
    chunks = [_chunk(i, rng.choice("ab"), rng.choice(sections), "文本。", rng.choice(["text", "text", "card"]))
              for i in range(80)]
    mask = [rng.random() < 0.8 for _ in chunks]
    for top in range(len(chunks)):
        doc_rows = [r for r, c in enumerate(chunks) if c.doc_id == chunks[top].doc_id]
        for limit in (3, 8, 30):
            assert list_section_rows(chunks, top, mask, limit, doc_rows=doc_rows) == \
                list_section_rows(chunks, top, mask, limit)


def test_index_arrays_filters_and_section_rows_equal_the_per_chunk_tests(shared_qa):
    """HybridRetriever row sets from the per-index arrays (``_rows``, ``_section_rows``) equal the per-chunk
    tests they replace, and the arrays are built once per loaded index (shared by its retrievers)."""
    from rag.understand.query import chunk_section_labels
    from rag.retrieve.arrays import index_arrays
    from rag.retrieve.hybrid import Filters, HybridRetriever

    retriever = shared_qa.retriever
    index = retriever.index
    assert HybridRetriever(index, retriever.settings).arrays is retriever.arrays is index_arrays(index)
    docs = list(index.docs)
    region = index.docs[docs[0]].region
    for filters in (Filters(), Filters(doc_ids=(docs[0],)), Filters(doc_ids=tuple(docs[:2]), region=region),
                    Filters(region=region, in_force_on=date(2024, 6, 1)), Filters(doc_ids=()),
                    Filters(doc_ids=("no-such-doc",))):
        expected = [r for r, c in enumerate(index.chunks) if filters.allows(index.docs[c.doc_id])]
        rows = retriever._rows(filters)
        assert (list(range(len(index.chunks))) if rows is None else rows.tolist()) == expected
    labels = chunk_section_labels(index)
    some = sorted({lab for labs in labels[:200] for lab in labs})[:3]
    for doc_ids in ((), (docs[0],), tuple(docs[1:3])):
        filters = Filters(region=region)
        expected = [r for r, labs in enumerate(labels) if filters.allows(index.docs[index.chunks[r].doc_id])
                    and not set(some).isdisjoint(labs) and (not doc_ids or index.chunks[r].doc_id in doc_ids)]
        assert retriever._section_rows(some, doc_ids, filters) == expected
    assert retriever._section_rows(["不存在的标题"], (), Filters()) == []


def test_named_sections_by_automaton_equal_the_heading_scan(shared_qa):
    """named_sections (Aho–Corasick over the headings) = testing every heading against the question, in the
    order of section_headings."""
    from rag.understand.query import _PARTICLES, MIN_SECTION_CHARS, named_sections, section_headings
    from rag.text import normalize

    index = shared_qa.retriever.index
    headings = section_headings(index)
    rng = random.Random(2)
    questions = ["发展愿景分了哪两个时间段？", "要培育发展的未来产业都有啥？", "保障措施有哪些？"]
    questions += [f"{a}和{b}有什么关系？" for a, b in (rng.sample(headings, 2) for _ in range(40))]
    questions += [f"关于{_PARTICLES.sub('', h)}的规定" for h in rng.sample(headings, 20)]
    for q in questions:
        norm = normalize(q)
        loose = _PARTICLES.sub("", norm)
        expected = tuple(lab for lab in headings if lab in norm or (
            len(_PARTICLES.sub("", lab)) >= MIN_SECTION_CHARS and _PARTICLES.sub("", lab) in loose))
        assert named_sections(q, index) == expected
    assert named_sections("发展愿景是什么", index)


def test_referenced_documents_by_automaton_equal_the_per_document_scan(shared_qa):
    """referenced_documents (one Aho–Corasick automaton per docs mapping) = testing every name of every
    document against the question, in the order of ``docs``; a changed mapping gets a new automaton."""
    from dataclasses import replace

    from rag.understand.references import referenced_documents, region_names
    from rag.text import normalize

    docs = shared_qa.retriever.index.docs

    def scan(question, docs):
        norm = normalize(question)
        return tuple(d for d, m in docs.items() if any(len(normalize(n)) >= 4 and normalize(n) in norm
                                                       for n in (*region_names(m), m.doc_number or "") if n))

    names = [n for m in docs.values() for n in (*region_names(m), m.doc_number or "") if n]
    rng = random.Random(4)
    questions = [f"{a}和{b}有什么不同？" for a, b in (rng.sample(names, 2) for _ in range(30))]
    questions += [q for n in names for q in (f"《{n}》第三条", n[1:], n.replace("", " ")[:20])] + ["没有文件名的问题"]
    for q in questions:
        assert referenced_documents(q, docs) == scan(q, docs)
    other = {d: replace(m, doc_number="X府发〔2030〕9号") for d, m in list(docs.items())[:2]}
    assert referenced_documents("X府发〔2030〕9号的规定", other) == tuple(other)


def test_topic_word_counts_by_automaton_equal_the_substring_scan(shared_qa):
    """rag.understand.references._names_containing (one Aho–Corasick pass per document's names) = counting, for each word,
    the documents whose names contain it."""
    from rag.understand.references import _names_containing, document_cues

    cues = document_cues(shared_qa.retriever.index.docs)
    words = {w for c in cues for w in shared_qa.retriever.index.tokenizer.tokens(c.names.replace("|", " "))}
    words |= {"不在名称里的词", "规划", "四川省"}
    assert _names_containing(words, cues) == {w: sum(w in c.names for c in cues) for w in words}


def test_loading_prepares_what_the_first_question_would_build(built_index):
    """A new retriever builds, at load, the per-index structures a question uses (rag.understand.query.prepare_index), so
    the first question builds none of them."""
    from rag.index.store import load_index
    from rag.pipeline import PolicyQA
    from rag.understand.query import prepare_index

    from rag.retrieve.arrays import RetrievalData
    from rag.text import TextData
    from rag.understand.query import PlanningData
    from rag.understand.references import ReferenceData

    def built_values():  # (derived class, value built) of everything kept with the index
        return {(cls.__name__, name) for cls, data in index._derived.items() for name in vars(data)}

    qa = PolicyQA(built_index)
    index = qa.index
    assert load_index(built_index) is index and PlanningData.of(index).prepared
    built = built_values()
    assert {(PlanningData.__name__, "section_headings"), (PlanningData.__name__, "heading_automata"),
            (TextData.__name__, "corpus_text"), (ReferenceData.__name__, "cues"),
            (RetrievalData.__name__, "arrays")} <= built
    qa.ask("发展愿景分了哪两个时间段？")
    qa.ask("违反规定要承担什么法律责任？")
    assert built_values() == built
    prepare_index(index)  # once per index: nothing is rebuilt
    assert built_values() == built


def test_filtered_dense_search_is_exact_over_the_stored_vectors(shared_qa):
    """A filter naming documents is searched over those chunks' stored vectors (RowVectors, fetched from the
    vector store once per document): the same rows and cosine similarities as the store's own filtered search."""
    from rag.retrieve.hybrid import Filters

    retriever = shared_qa.retriever
    index = retriever.index
    docs = list(index.docs)
    for filters, text in ((Filters(doc_ids=(docs[0],)), "发展目标和重点任务"),
                          (Filters(doc_ids=tuple(docs[1:3])), "培育领军企业"), (Filters(doc_ids=()), "任务")):
        ranking, sims = retriever.dense_ranking(text, 8, filters)
        assert not retriever.arrays.vectors._failed
        vector = index.embedder.embed_query(text)
        where = filters.chroma_where()
        expected = {index.by_id[d.metadata["chunk_id"]]: 1.0 - float(dist) for d, dist in
                    index.vectorstore.similarity_search_by_vector_with_relevance_scores(vector, k=8, filter=where)}
        assert set(ranking) == set(expected) and len(ranking) == len(expected)
        assert all(abs(sims[r] - expected[r]) < 1e-4 for r in ranking)
        assert [sims[r] for r in ranking] == sorted((sims[r] for r in ranking), reverse=True)
        assert all(index.chunks[r].doc_id in filters.doc_ids for r in ranking)
