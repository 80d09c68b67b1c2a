"""Answers about the documents themselves (issuer, date, number, period, validity, status, level) from
their metadata (``DocumentMeta``: read from each document's text, the manifest or user corrections),
quoting the document card verbatim.

The pipeline calls ``metadata_answer`` only for questions the planner marks as being about a document
(``QueryPlan.about_document``, ``rag.understand.meta_questions.asks_about_document``); ``asked_metadata`` then says
which fields are asked. Content questions that merely contain 部门/层级/最新 ("氢能产业由哪个部门牵头
推进", "提升产业层级", "最新的产业方向") are not metadata questions.
"""

from __future__ import annotations

import re

from rag.understand.meta_questions import asked_metadata, version_order
from rag.text import normalize
from rag.types import Citation, Hit

_DOC_WORD = re.compile(r"规划|方案|意见|文件|通知|办法|政策|条例|规定")
_DATE_STATEMENT = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月")


def document_cards(index) -> dict[str, object]:
    """doc_id → the document's card chunk (``kind == "card"``), from ``rag.index.store.card_rows`` (built once
    per loaded index and kept with it, ``IndexData``)."""
    from rag.index.store import card_rows

    return {doc_id: index.chunks[row] for doc_id, row in card_rows(index).items()}


def _statements(card) -> list[str]:
    """The verbatim statements listed on the card's "原文：" line."""
    for line in card.text.split("\n"):
        if line.startswith("原文："):
            return [s for s in line[len("原文："):].split(" / ") if s]
    return []


_IN_FORCE = re.compile(r"起施行|起执行|起实施|起生效")  # the statement of the day a text takes effect


def _cn_date(iso: str) -> str:
    """An ISO date as Chinese texts write it: "2022-08-01" → "2022年8月1日", "2022-08" → "2022年8月"."""
    parts = [int(p) for p in iso.split("-") if p.isdigit()]
    return "".join(f"{n}{u}" for n, u in zip(parts, "年月日"))


_PERIOD_STATEMENT = re.compile(r"规划期|实施期|期限|展望|\d+\s*[到至—–\-]\s*\d+\s*年")
_WHICH_DOCS = re.compile(r"哪(?:些|几份|一份|份)|哪个文件")
_AS_OF = re.compile(r"(?:站在|到了?|截至|按|在)\s*((?:19|20)\d{2})\s*年")  # 到2028年还能用吗: judged as of 2028


def _revision_clause(meta, statements: list[str]) -> str:
    """How often the regulation ``meta`` (DocumentMeta with ``history``) was amended, as its header states:
    "2004年8月19日通过，此后修订1次、修正2次（共3次），最近一次为2020年12月30日修正（原文：“…”）"; "…通过，未经修订、
    修正" when it states none. The quoted line is the verbatim header line of the latest amendment."""
    first_kind, first_date = meta.history[0]
    revised = tuple(e for e in meta.revisions if e != meta.history[0])  # a first 修订 opens the history
    opening = f"{_cn_date(first_date)}{first_kind}"
    if not revised:
        return opening + "，此后未经修订、修正"
    counts = "、".join(f"{kind}{sum(k == kind for k, _ in revised)}次" for kind in ("修订", "修正")
                      if any(k == kind for k, _ in revised))
    kind, date = revised[-1]
    said = next((s for s in statements if _cn_date(date) in normalize(s) and kind in s), None)
    total = f"（共{len(revised)}次）" if "、" in counts else ""
    return (f"{opening}，此后{counts}{total}，最近一次为{_cn_date(date)}{kind}"
            + (f"（原文：“{said.strip()}”）" if said else ""))


def _doc_sentence(meta, fields: list[str], statements: list[str], today) -> tuple[str, bool]:
    """One templated sentence on ``meta`` (a DocumentMeta) for the asked ``fields``; verbatim values
    only, an unstated field is said to be unstated (文件未注明…). ``today``: a datetime.date (validity is
    judged as of it). Returns the sentence and whether any asked field is stated."""
    parts, known = [], False
    asked = set(fields)
    title = normalize(meta.title)
    if asked & {"issuer", "which", "level"}:
        known |= bool(meta.issuer)
        parts.append(f"发布单位为{meta.issuer}" if meta.issuer else "文件未注明发布单位")
    if asked & {"date", "newest", "oldest", "which", "validity", "effective"} or ("status" in asked and meta.is_draft):
        # the line stating the date itself (a regulation's header lists several dated events)
        dated = [s for s in statements if _DATE_STATEMENT.search(s) and not _IN_FORCE.search(s)]
        said = next((s for s in dated if meta.date and _cn_date(meta.date) in normalize(s)), dated[0] if dated else None)
        known |= bool(meta.date)
        if "effective" in asked and not meta.effective_date:  # what was asked first, then the date stated
            parts.append("文件未注明施行日期")
        if meta.date or asked & {"date", "newest", "oldest"}:
            parts.append(f"成文日期为{said or meta.date}" if meta.date else "文件未注明成文日期")
        if meta.effective_date and asked & {"date", "validity", "effective"}:
            stated = next((s for s in statements if _IN_FORCE.search(s)
                           and _cn_date(meta.effective_date) in normalize(s)), None)
            parts.append(f"自{_cn_date(meta.effective_date)}起施行" + (f"（原文：“{stated.strip()}”）" if stated else ""))
        if "effective" in asked and not asked - {"date", "effective"}:
            # asked when it takes effect: the adoption or issue date beside it answers nothing asked
            known = bool(meta.effective_date)
    if "revisions" in asked:
        known |= bool(meta.history)
        parts.append(_revision_clause(meta, statements) if meta.history else "文件未注明修订、修正情况")
    if asked & {"doc_number", "which", "level"}:
        known |= "doc_number" in asked and bool(meta.doc_number)
        if meta.doc_number or "doc_number" in asked:
            parts.append(f"文号为{meta.doc_number}" if meta.doc_number else "文件未注明文号")
    if asked & {"period", "validity", "newest", "oldest", "which"}:
        # the period as stated (规划期限为…, 未来3到5年), not the title's own (2025—2027年)
        said = [s for s in statements if _PERIOD_STATEMENT.search(s) and normalize(s) not in title]
        label = meta.period_label() + (f"，远景展望至{meta.outlook_year}年" if meta.outlook_year else "")
        known |= bool(label)
        quote = "（原文：" + "；".join(f"“{s.strip(' —')}”" for s in said) + "）" if said else ""
        if label or "period" in asked:  # a regulation states no period: said only when the period is asked
            parts.append(f"规划期为{label}{quote}" if label else "文件未注明规划期")
    if "validity" in asked:
        if meta.is_repealed:
            known = True
            parts.append(f"文件标注为{meta.status}")
        if meta.effective_date and meta.not_yet_in_force(today):
            parts.append(f"按{today.isoformat()}计尚未施行")
        if meta.expired_on(today):
            parts.append(f"规划期已于{meta.period_end}年底结束，按{today.year}年计已到期")
        elif meta.period_end:
            parts.append(f"按{today.year}年计仍在规划期内（距规划期结束还有{meta.period_end - today.year}年）")
        elif meta.period_start:
            parts.append(f"文件未注明截止年份，按{today.year}年计未到期")
    if asked & {"status", "validity", "which"} or meta.is_draft:
        if meta.is_draft:
            known = True
            parts.append(f"文件标注为{meta.status}，不是正式发布的文本")
        elif "status" in asked:
            parts.append("文件未标注为征求意见稿")
    if "level" in asked:
        known |= bool(meta.level)
        parts.append(f"层级为{meta.level}" if meta.level else "文件未注明层级")
        if meta.region:
            parts.append(f"适用地区为{meta.region}")
    return f"《{meta.title}》" + "，".join(parts) + "。", known


def _order(metas: dict, fields: list[str], question: str) -> tuple[list[str], str]:
    """doc_ids of ``metas`` (doc_id → DocumentMeta) newest first (oldest first for "oldest") and the
    lead sentence's basis: by period end when the question asks when the period ends (期限/到期/截止/
    最晚), else by date (the period start when no date is stated)."""
    by_end = re.search(r"期限|到期|截止|结束|到得|最晚|更晚", question) is not None
    if by_end:
        def key(m):
            return (m.period_end or m.outlook_year or 0, m.period_start or 0)
    else:
        def key(m):
            return (m.date or str(m.period_start or ""), m.period_start or 0)
    ids = sorted(metas, key=lambda d: key(metas[d]), reverse="oldest" not in fields)
    return ids, ("按规划期截止年" if by_end else "按成文日期（未注明时按规划期起始年）")


def metadata_answer(question: str, doc_ids: tuple[str, ...], hits: list[Hit], index, today,
                    candidates: tuple[str, ...] = ()) -> tuple[str, list[Citation], bool] | None:
    """Answer a question about the documents themselves from their manifest metadata, or None when the
    question asks for no metadata field (``asked_metadata``).

    ``doc_ids``: documents the question names (QueryPlan.doc_ids); ``candidates``: the documents it may
    be about (QueryPlan.card_doc_ids — e.g. the documents of a named region); without ``doc_ids`` a question
    asking which document is newest/oldest ranks the candidates (all documents when none), one asking
    which document is a draft gets the drafts, one asking which documents (哪些规划) all candidates,
    and otherwise the top hit's document is used when the
    question refers to a document (规划/方案/意见…). ``index``: ``docs`` (doc_id → DocumentMeta) and
    ``chunks`` (the cards). ``today``: a datetime.date for validity; a year the question judges from
    (站在2023年看, 到2028年还能用吗) replaces it. Each document gets one templated sentence of verbatim
    metadata values with a citation of its card chunk (the quote is the verbatim card text); when none
    of the asked fields is stated, the sentence says so ("文件未注明发布单位") and adds the stated period.
    Returns (text, citations, known): ``known`` is False when no document states any asked field.
    """
    import datetime as _dt

    fields = asked_metadata(question)
    if not fields:
        return None
    as_of = _AS_OF.search(question)
    if as_of and "validity" in fields:
        today = _dt.date(int(as_of.group(1)), today.month, min(today.day, 28))
    pool = [d for d in (candidates or tuple(index.docs)) if d in index.docs]
    ranked, basis = None, ""
    if {"newest", "oldest"} & set(fields) and len(doc_ids) != 1:  # which of the candidates / named ones
        ranked, basis = _order({d: index.docs[d] for d in (doc_ids or pool)}, fields, question)
        targets = ranked[:5]
    elif doc_ids:
        targets = list(doc_ids)[:5]
    elif "status" in fields and any(index.docs[d].is_draft for d in pool):
        targets = [d for d in pool if index.docs[d].is_draft]
    elif _WHICH_DOCS.search(question):  # 哪些规划的规划期已经结束了: every candidate
        targets = pool[:5]
    elif hits and _DOC_WORD.search(question):
        targets = [hits[0].chunk.doc_id]
    else:
        return None
    targets = version_order(question, targets, index.docs)
    cards = document_cards(index)
    lines, citations, any_known = [], [], False
    for doc_id in targets:
        meta, card = index.docs.get(doc_id), cards.get(doc_id)
        if meta is None or card is None:
            continue
        sentence, known = _doc_sentence(meta, fields, _statements(card), today)
        if not known and "period" not in fields and meta.period_label():  # nothing asked is stated: say so,
            # with the period the document states (a regulation states none: no "文件未注明规划期")
            sentence, _ = _doc_sentence(meta, [*fields, "period"], _statements(card), today)
        any_known |= known
        n = len(citations) + 1
        lines.append(f"{sentence}[{n}]")
        citations.append(Citation(n, card.chunk_id, doc_id, meta.title, card.section, card.text))
    if not lines:
        return None
    if ranked:
        which = "最早" if "oldest" in fields else ("最晚" if basis.startswith("按规划期截止") else "最新")
        lines.insert(0, f"{basis}排序，{which}的是《{index.docs[ranked[0]].title}》。")
    return "\n".join(lines), citations, any_known


def repeal_statement(repealed: tuple[str, ...], hits: list[Hit], index, text: str,
                     citations: list[Citation]) -> tuple[str, list[Citation]]:
    """``text`` and ``citations`` of a metadata answer with, first, one line per repealed text the question
    names (``QueryPlan.repealed``, title keys of ``rag.understand.references.title_key``) found in a sentence
    of a retrieved passage saying it no longer applies: "《北京市城市节约用水条例》已废止（《北京市实施〈…〉办法》：
    “…《北京市城市节约用水条例》…同时废止。”）[1]" — the title as that sentence writes it, the sentence verbatim,
    the passage cited. The answer's citations are renumbered after the new ones; unchanged when no hit
    holds such a sentence."""
    import re
    from dataclasses import replace

    from rag.understand.references import _QUOTED_TITLE, _REPEALS, title_key

    lines, added = [], []
    for key in repealed:
        for hit in hits:
            sentence = next((s for s in re.findall(r"[^。；;\n]+[。；;]?", hit.chunk.text)
                             if _REPEALS.search(s) and any(title_key(m.group(1)) == key
                                                           for m in _QUOTED_TITLE.finditer(s))), None)
            if sentence is None:
                continue
            title = next(m.group(1) for m in _QUOTED_TITLE.finditer(sentence) if title_key(m.group(1)) == key)
            n = len(added) + 1
            source = index.docs[hit.chunk.doc_id].title if hit.chunk.doc_id in index.docs else ""
            lines.append(f"《{title}》已废止（《{source}》：“{sentence.strip()}”）[{n}]")
            added.append(Citation(n, hit.chunk.chunk_id, hit.chunk.doc_id, source, hit.chunk.section, sentence.strip()))
            break
    if not added:
        return text, citations
    shift = len(added)
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + shift}]", text)
    moved = [replace(c, n=c.n + shift) for c in citations]
    return "\n".join([*lines, text]), added + moved
