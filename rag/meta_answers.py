"""Answers about the documents themselves (issuer, date, number, period, validity, status, level) from
their manifest metadata, quoting the document card verbatim.

The pipeline calls ``metadata_answer`` only for questions the planner marks as being about a document
(``QueryPlan.about_document``, ``rag.references.asks_about_document``); ``asked_metadata`` then says
which fields are asked. Content questions that merely contain 部门/层级/最新 ("氢能产业由哪个部门牵头
推进", "提升产业层级", "最新的产业方向") are not metadata questions.
"""

from __future__ import annotations

import re

from rag.text import normalize
from rag.types import Citation, Hit

# A department is asked as a document's issuer only together with a publishing verb (哪个部门…发布/
# 印发/出的); a bare 哪个部门 (由哪个部门牵头推进) asks about a task in the text.
_META_FIELDS = {
    "issuer": re.compile(r"(哪个|哪家|什么)(部门|单位|机关)[、，,]?[^，。？?]{0,8}(发布|印发|出台|制定|编制|出的|发的)"
                         r"|谁(发布|印发|出的|出台|制定|发的)|发布(单位|机关|部门)|发文(机关|单位)|印发(单位|部门)|出台部门"),
    "date": re.compile(r"(什么时候|何时|哪年|哪一年|哪天|几月)[、，,]?[^，。？?]{0,6}(出|发布|印发|出台|制定|成文|公布|发的)"
                       r"|(发布|成文|印发|出台)(时间|日期)"),
    "doc_number": re.compile(r"文号|发文字号"),
    "period": re.compile(r"规划期|实施期|起止|有效期|哪几年|覆盖(哪些|几)年|时间跨度|执行期"),
    "validity": re.compile(r"还有效|是否有效|有效吗|过期|到期|失效|仍然有效|还在执行|还适用|现行"),
    "status": re.compile(r"征求意见稿|草案|正式(发布|印发|文件|文本|版|稿)|定稿"),
    "level": re.compile(r"省级还是市级|市级还是省级|哪一级"),
}
# "newest" asks which document is the newest (哪一份最新, 最新的文件), not the newest content (最新的产业方向)
_NEWEST = re.compile(r"哪(一|几)?[份个部篇项].{0,8}(最新|最早|最晚|最近|新|早|晚)"
                     r"|(最新|最早|最晚|最近)(发布|出台|印发)?的?[一那这]?[份个部篇]?(文件|规划|方案|意见|政策|通知)")
_DOC_WORD = re.compile(r"规划|方案|意见|文件|通知|办法|政策")
_DATE_STATEMENT = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月")


def asked_metadata(question: str) -> list[str]:
    """Which document-metadata fields the question asks for (keys of ``_META_FIELDS``, plus "newest");
    [] for none. "成府发〔2024〕2号是哪天、由谁印发的？" → ["issuer", "date"]."""
    fields = [name for name, rx in _META_FIELDS.items() if rx.search(question)]
    if _NEWEST.search(question) and _DOC_WORD.search(question):
        fields.append("newest")
    return fields


def document_cards(index) -> dict[str, object]:
    """doc_id → the document's card chunk (``kind == "card"``), from ``rag.index.card_rows`` (built once
    per loaded index and kept on it)."""
    from rag.index import card_rows

    return {doc_id: index.chunks[row] for doc_id, row in card_rows(index).items()}


def _statements(card) -> list[str]:
    """The verbatim statements listed on the card's "原文：" line."""
    for line in card.text.split("\n"):
        if line.startswith("原文："):
            return [s for s in line[len("原文："):].split(" / ") if s]
    return []


def _doc_sentence(meta, fields: list[str], statements: list[str], today) -> tuple[str, bool]:
    """One templated sentence on ``meta`` (a DocumentMeta) for the asked ``fields``; verbatim values
    only, an unstated field is said to be unstated (文件未注明…). Returns the sentence and whether any
    asked field is stated."""
    parts, known = [], False
    norm = [normalize(s) for s in statements]
    if "issuer" in fields:
        known |= bool(meta.issuer)
        parts.append(f"发布单位为{meta.issuer}" if meta.issuer else "文件未注明发布单位")
    if "date" in fields or "newest" in fields:
        said = next((s for s in statements if _DATE_STATEMENT.search(s)), None)
        known |= bool(meta.date)
        parts.append(f"成文日期为{said or meta.date}" if meta.date else "文件未注明成文日期")
    if "doc_number" in fields:
        known |= bool(meta.doc_number)
        parts.append(f"文号为{meta.doc_number}" if meta.doc_number else "文件未注明文号")
    if {"period", "validity", "newest"} & set(fields):
        said = next((s for s, n in zip(statements, norm) if re.search(r"规划期|实施期|期限", n)), None)
        label = meta.period_label()
        known |= bool(label)
        parts.append(f"规划期为{label}" + (f"（原文：“{said}”）" if said else "") if label else "文件未注明规划期")
    if "validity" in fields:
        if meta.expired_on(today):
            parts.append(f"规划期已于{meta.period_end}年底结束，按{today.isoformat()}计已到期")
        elif meta.period_start:
            parts.append(f"按{today.isoformat()}计仍在规划期内")
    if "status" in fields or "validity" in fields or meta.is_draft:
        if meta.is_draft:
            known |= True
            parts.append(f"文件标注为{meta.status}，不是正式发布的文本")
        elif "status" in fields:
            parts.append("文件未标注为征求意见稿")
    if "level" in fields:
        known |= bool(meta.level)
        parts.append(f"层级为{meta.level}" if meta.level else "文件未注明层级")
        if meta.region:
            parts.append(f"适用地区为{meta.region}")
    return f"《{meta.title}》" + "，".join(parts) + "。", known


def metadata_answer(question: str, doc_ids: tuple[str, ...], hits: list[Hit], index,
                    today) -> tuple[str, list[Citation], bool] | None:
    """Answer a question about the documents themselves from their manifest metadata, or None when the
    question asks for no metadata field (``asked_metadata``).

    ``doc_ids``: documents the question names (QueryPlan.doc_ids); without them the top hit's document
    is used when the question refers to a document (规划/方案/意见…), and all documents for "newest".
    ``index``: ``docs`` (doc_id → DocumentMeta) and ``chunks`` (the cards). ``today``: a datetime.date
    for validity. Each document gets one templated sentence of verbatim metadata values with a citation
    of its card chunk (the quote is the verbatim card text); when none of the asked fields is stated,
    the sentence says so ("文件未注明发布单位") and adds the stated period. Returns (text, citations,
    known): ``known`` is False when no document states any asked field.
    """
    fields = asked_metadata(question)
    if not fields:
        return None
    if "newest" in fields and not doc_ids:
        def key(m):
            return (m.date or str(m.period_start or ""), m.period_start or 0)
        targets = sorted(index.docs, key=lambda d: key(index.docs[d]), reverse=True)[:3]
    elif doc_ids:
        targets = list(doc_ids)[:3]
    elif hits and _DOC_WORD.search(question):
        targets = [hits[0].chunk.doc_id]
    else:
        return None
    cards = document_cards(index)
    lines, citations, any_known = [], [], False
    for doc_id in targets:
        meta, card = index.docs.get(doc_id), cards.get(doc_id)
        if meta is None or card is None:
            continue
        sentence, known = _doc_sentence(meta, fields, _statements(card), today)
        if not known and "period" not in fields:  # nothing asked is stated: say so, with what is stated
            sentence, _ = _doc_sentence(meta, [*fields, "period"], _statements(card), today)
        any_known |= known
        n = len(citations) + 1
        lines.append(f"{sentence}[{n}]")
        citations.append(Citation(n, card.chunk_id, doc_id, meta.title, card.section, card.text))
    if not lines:
        return None
    if "newest" in fields and not doc_ids:
        lines.insert(0, f"按成文日期（未注明时按规划期起始年）排序，最新的是《{index.docs[targets[0]].title}》。")
    return "\n".join(lines), citations, any_known
