"""Versions of one title (the same normalised title, several documents) among a question's scopes.

A question about what changed between versions (``CHANGE_QUESTION``: 修改后有什么变化, 新旧版区别) gets the
version groups (``changed_version_groups``) and a ranking with the passages the versions share after the
changed ones (``unchanged_rows``, ``changed_first``); any other question naming such a title searches
mainly the version it asks for — the year it names, the earliest for 修订前/旧版, else the latest — and
the other versions get ``OTHER_VERSION_SHARE`` of the routing weight (``other_versions``).
``comparison_groups`` gives the groups of documents a cross-document answer compares, the versions of one
title being one document unless the question asks what changed. Used by ``rag.understand.query``
(``QueryPlan.changed_versions``, ``QueryPlan.other_versions``), the retriever and the pipeline; the
names are re-exported by ``rag.understand.query``.
"""

from __future__ import annotations

import re

from rag.text import normalize
from rag.understand.need import _YEAR
from rag.understand.sections import PlanningData


OTHER_VERSION_SHARE = 0.25  # share of the routing weight for the versions of a title the question does not ask for


def other_versions(question: str, scopes, docs: dict) -> tuple[str, ...]:
    """The documents of the question's scopes that are versions of one title (same normalised title, every
    version dated) other than the one the question asks for: the version dated in a year the question
    names ("2007年那版", "2024年修改后"), else the earliest for 修订前/原来/旧版 … and the latest otherwise —
    the version in force unless the question says which (``rag.answer.meta_answers`` version words). () for a
    scope of one document or of several titles. ``scopes``: ``Scope`` list; ``docs``: doc_id → DocumentMeta."""
    from rag.understand.meta_questions import _EARLIER_VERSION, _LATER_VERSION

    out: list[str] = []
    years = set(_YEAR.findall(question))
    for s in scopes:
        ids = [d for d in s.doc_ids if d in docs]
        if s.region is not None or len(ids) < 2 or len({normalize(docs[d].title or "") for d in ids}) != 1 \
                or not all(docs[d].date for d in ids):
            continue
        dated = sorted(ids, key=lambda d: docs[d].date)
        named = [d for d in ids if docs[d].date[:4] in years]
        if len(named) == 1:
            asked = named[0]
        elif _EARLIER_VERSION.search(question) and not _LATER_VERSION.search(question):
            asked = dated[0]
        else:
            asked = dated[-1]
        out += [d for d in ids if d != asked and d not in out]
    return tuple(out)


# a question about what changed between versions of a document (修改后有什么变化, 修正前后有什么不同, 新旧版区别)
CHANGE_QUESTION = re.compile(r"变化|变动|改动|改变|(?:修改|修订|修正)[前后]|前后|新旧|区别|差别|差异|调整了|改了"
                             r"|(?:什么|何|哪些|哪里|哪儿)(?:不同|不一样)")  # not 不同车型: a kind, not a change


def changed_version_groups(question: str, scopes, docs: dict) -> tuple[tuple[str, ...], ...]:
    """Groups of the question's scope documents that are versions of one title (same normalised title,
    two or more documents) when the question asks what changed (``CHANGE_QUESTION``); () otherwise.
    ``scopes``: the plan's ``Scope`` list; ``docs``: doc_id → DocumentMeta."""
    if not CHANGE_QUESTION.search(question):
        return ()
    ids = dict.fromkeys(d for s in scopes for d in s.doc_ids if d in docs)
    by_title: dict[str, list[str]] = {}
    for d in ids:
        by_title.setdefault(normalize(docs[d].title or ""), []).append(d)
    return tuple(tuple(g) for t, g in by_title.items() if t and len(g) >= 2)


_ARTICLE_NUMBER = re.compile(r"^第[零〇一二三四五六七八九十百千\d]+条")
_SPACE = re.compile(r"\s+")


def unchanged_rows(index, group: tuple[str, ...]) -> frozenset[int]:
    """Rows of the chunks of the documents in ``group`` (versions of one title) whose text — without a
    leading article number (an article renumbered by a revision is the same text) and whitespace —
    stands verbatim in another version's cleaned text: passages the revision left as they were.
    Cached per index and group (``PlanningData.unchanged_rows``)."""
    cache = PlanningData.of(index).unchanged_rows
    if group not in cache:
        texts = {d: _SPACE.sub("", normalize(index.doc_texts.get(d, ""))) for d in group}
        rows = set()
        for row, c in enumerate(index.chunks):
            if c.doc_id in texts and c.kind != "card":
                body = _ARTICLE_NUMBER.sub("", _SPACE.sub("", normalize(c.text)))
                if body and any(body in t for d, t in texts.items() if d != c.doc_id):
                    rows.add(row)
        cache[group] = frozenset(rows)
    return cache[group]


def changed_first(rows: list[int], index, groups: tuple[tuple[str, ...], ...]) -> list[int]:
    """``rows`` (a ranking) with the rows of ``unchanged_rows`` of each version group after every other
    row, each part in its order: for "修改后有什么变化" the passages the versions share answer nothing."""
    same: set[int] = set()
    for g in groups:
        same |= unchanged_rows(index, g)
    if not same:
        return rows
    return [r for r in rows if r not in same] + [r for r in rows if r in same]


def comparison_groups(plan, docs: dict) -> dict[str, set[str]] | None:
    """Groups of documents a cross-document question compares: one per named document
    (``plan.doc_ids``) when it names two or more, else one per named region (``plan.regions``, documents
    by ``DocumentMeta.region``) when it names two or more; None otherwise. The versions of one title
    (same normalised title) are one document, compared only when the question asks what changed between
    them (``plan.changed_versions``): "上海新建住宅小区的物业管理用房面积有什么标准" names one 规定."""
    if len(plan.doc_ids) >= 2:
        titles = {normalize(docs[d].title or "") for d in plan.doc_ids if d in docs}
        if len(titles) == 1 and not getattr(plan, "changed_versions", ()):
            return None
        return {d: {d} for d in plan.doc_ids}
    if len(plan.regions) >= 2:
        groups = {r: {d for d, m in docs.items() if m.region == r} for r in plan.regions}
        return {r: ids for r, ids in groups.items() if ids} or None
    return None
