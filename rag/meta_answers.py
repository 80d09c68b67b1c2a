"""Answers about the documents themselves (issuer, date, number, period, validity, status, level) from
their metadata (``DocumentMeta``: read from each document's text, the manifest or user corrections),
quoting the document card verbatim.

The pipeline calls ``metadata_answer`` only for questions the planner marks as being about a document
(``QueryPlan.about_document``, ``rag.references.asks_about_document``); ``asked_metadata`` then says
which fields are asked. Content questions that merely contain 部门/层级/最新 ("氢能产业由哪个部门牵头
推进", "提升产业层级", "最新的产业方向") are not metadata questions.
"""

from __future__ import annotations

import re

from rag.text import normalize
from rag.types import Citation, Hit

# What a question about a document asks for, by attribute. A match is only a candidate: the question is
# about the document when nothing else is asked (``content_words`` is empty) — "认定资格有效期几年" and
# "最新的产业方向" ask about content. Verbs of issuing: 发布/印发/出台/制定/编制/颁布/出/发.
_ISSUE = r"(?:发布|印发|出台|制定|编制|颁布|公布|下发|出的|发的|出|发)"
_WHEN = r"(?:什么时候|什么时间|何时|哪年|哪一年|哪天|哪一天|几月|哪个月|哪月|几号|啥时候)"
_EVENT = r"(?:施行|执行|生效|实施|通过|批准|修订|修正|修改|公布)"  # dated events of a regulation's header and last article
_META_FIELDS = {
    "issuer": re.compile(rf"(?:哪个|哪家|哪一?级|什么)(?:部门|单位|机关|机构|政府)[、，,]?[^，。？?]{{0,8}}{_ISSUE}"
                         rf"|谁(?:家)?{_ISSUE}|(?:发布|发文|印发|出台|制定|编制)(?:单位|机关|部门|主体)|出自(?:哪|谁)"
                         r"|是?(?:哪个|哪家|什么)(?:部门|单位|机关)的(?:文件|规划|方案|意见)"),
    "date": re.compile(rf"(?:什么时候|何时|哪年|哪一年|哪天|哪一天|几月|哪个月|哪月|多会儿)[、，,]?[^，。？?]{{0,6}}"
                       rf"(?:{_ISSUE}|成文|印的|签发|生效|实施的)|(?:发布|成文|印发|出台|颁布|签发)(?:时间|日期)"
                       # a regulation's events: adopted, approved, revised, in force (哪天经…批准的, 修改是什么时候)
                       rf"|{_WHEN}[、，,]?[^，。？?]{{0,10}}?{_EVENT}"
                       rf"|{_EVENT}[的后]?(?:是|在|于)?{_WHEN}|{_EVENT}(?:时间|日期)"),
    "doc_number": re.compile(r"文号|发文字号|字号|发文编号"),
    "period": re.compile(r"规划期|实施期|有效期|执行期|期限|起止|时间跨度|哪几年|几几年|覆盖(?:哪些|几)年"
                         r"|(?:管|执行|实施|适用|有效|用|覆盖|规划|展望|管用)到(?:哪|几|什么时候|啥时候)|管(?:几|多少)年|管多久"
                         r"|(?:远景)?展望(?:到|至)?(?:哪|几)|远景(?:目标)?(?:年|到哪)|(?:是|属于)哪(?:个|一个)?(?:时期|阶段|五年)的"),
    "validity": re.compile(r"还?有效|失效|过期|到期|废止|作废|还能用|还管用|还适用|能用吗|还算数|算数|作数|现行"
                           r"|还在执行|仍在执行|还在实施|还在期|结束了|已经结束|剩.{0,2}年|(?:当|作为|做)依据"),
    "status": re.compile(r"征求意见稿|草案|草稿|正式(?:发布|印发|文件|文本|版|稿|的)|定稿|印发了吗|发布了吗"),
    "level": re.compile(r"省级还是市级|市级还是省级|哪一级|(?:什么|哪个|哪一)(?:级别|层级)|级别"),
    "which": re.compile(r"(?:是|指)(?:哪|什么)(?:一|个)?(?:份|部|个)?(?:文件|规划|方案|意见|政策|通知)|是哪(?:一|个)?份"
                        r"|叫什么(?:名字|名称)?|全称|标题|名称是"),
}
# newest/oldest among documents: which document is the newest (哪份更新一些, 最早的是哪一份), not the
# newest content (最新的产业方向 — content words remain)
_NEWEST = re.compile(r"(?:哪[一几]?[份个部篇]|哪个文件)[^，。？?]{0,8}(?:最新|最早|最晚|最近|更新|更早|更晚|新|早|晚)"
                     r"|(?:最新|最早|最晚|最近)(?:发布|出台|印发)?的?[一那这]?[份个部篇]?(?:文件|规划|方案|意见|政策|通知)?")
_DOC_WORD = re.compile(r"规划|方案|意见|文件|通知|办法|政策|条例|规定")
_DATE_STATEMENT = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月")

# --- the content focus of a question about a document -------------------------------------------
_KIND = r"(?:实施方案|实施意见|规划|方案|意见|办法|通知|文件|政策|条例|规定)"
_NOT_KIND = re.compile(r"规划期|征求意见稿?|意见稿|(?:什么|哪些|相关|有关|的|按|照|依|该|此|等)规定")
_DOC_REFERENCE = re.compile(rf"(?:[这那哪几两三四五一]*[份个部篇])?{_KIND}")  # 哪份文件, 这几份规划 (jieba: 份文件)
_ASKING = re.compile(r"[哪谁几吗呢啥]|什么|多少|是否|是不是|有没有|能否|怎么|如何")
_NAMES = re.compile(r"《[^》]*》|“[^”]*”|[\u4e00-\u9fff]{1,6}发\s*[〔\[（(]?\s*\d{4}\s*[〕\]）)]?\s*年?\s*\d+\s*号"
                    r"|(?:19|20)\d{2}\s*年?(?:\s*[—–\-~～至到]+\s*(?:19|20)\d{2}\s*年?)?|\d+|十[一二三四五]五")
# words of asking about a document that carry no content of their own (jieba tokens)
FILLER = frozenset("""
现在 目前 如今 当前 今天 今年 明年 去年 往后 以后 之后 还是 还有 还 已经 是否 是不是 有没有 能不能 可不可以 可以 能否
一下 请问 具体 到底 究竟 直接 当 作为 做 依据 参考 一些 一点 更新 更早 更晚 最新 最早 最晚 最近 同一 一段 一样 相同 不同
多长 多久 时间 年份 年限 哪年 哪一年 哪天 哪一天 哪个月 几月 几年 哪几年 几几年 一年 那年 这年 站 看 算 计 按 按照 计算 来看 来说 写 写了 写明 注明
标注 标明 说 说明 提到 显示 份 那份 这份 一份 两份 三份 四份 五份 几份 这几份 那几份 这两份 那两份 哪份 哪一份 哪个 哪些
那个 这个 那些 这些 里面 里 其中 当中 之中 中 之间 两个 三个 几个 省里 市里 省级 市级 全省 全市
省 市 我省 我市 本省 本市 规划 方案 意见 文件 政策 通知 办法 实施方案 实施意见 发展规划 那个方案 剩 剩下 还剩 结束 截至 截止
条例 规定 版本 那版 这版 新版 旧版 一版 那一版 修订 修正 修改 改过 改动 几次 一次 第一次 第二次 第三次 后来 之前 以前
施行 生效 执行 通过 批准 公布 人大 常委会 人大常委会 现行 日期 开始 是从
到期 过期 有效 期内 期限 范围 以内 之内 期间 时候 什么 多少 这样 那样 一共 总共 分别 各自 各 都 也 又 再 起 开始 算起 从
""".split())


def _strip_references(question: str) -> str:
    """``question`` without its document references: quoted titles, document numbers, years, eras and
    numbers (``_NAMES``) and, in each clause, the words up to its last kind word (规划/方案/意见/文件…)
    that are preceded by no question word ("省里发展壮大新兴产业加快培育未来产业的那个方案，有效期多长"
    → "，有效期多长")."""
    out = []
    for clause in re.split(r"([，,。？?！!；;])", _NAMES.sub(" ", question)):
        cut = 0
        for m in re.finditer(_KIND, clause):
            if any(n.start() <= m.start() < n.end() for n in _NOT_KIND.finditer(clause)):
                continue
            if _ASKING.search(clause, 0, m.start()):
                break
            cut = m.end()
        out.append(clause[cut:])
    return "".join(out)


def content_words(question: str) -> list[str]:
    """The content focus of a question about a document: its words other than document references
    (``_strip_references``), the words of the asked metadata attributes (``_META_FIELDS``, ``_NEWEST``)
    and ``FILLER`` words (jieba tokens of ≥ 2 characters), and the places it names (gazetteer names:
    they scope the document, ``rag.references``). "某市那份制造业规划管到哪年？" → [];
    "规划中氢能产业由哪个部门牵头推进？" → ["氢能", "产业", "牵头", "推进"]."""
    import jieba

    from rag.references import _masked, _place_spans

    rest = _strip_references(question)
    rest = _masked(rest, _place_spans(rest))
    for rx in (*_META_FIELDS.values(), _NEWEST, _DOC_REFERENCE):
        rest = rx.sub(" ", rest)
    return [w for w in jieba.lcut(rest) if len(w) >= 2 and re.search(r"[\u4e00-\u9fff]", w) and w not in FILLER]


def asked_metadata(question: str) -> list[str]:
    """Which document-metadata fields the question asks for (keys of ``_META_FIELDS``, plus "newest" /
    "oldest" for which document is the newest / the oldest); [] for none. "成府发〔2024〕2号是哪天、由谁
    印发的？" → ["issuer", "date"]."""
    fields = [name for name, rx in _META_FIELDS.items() if rx.search(question)]
    newest = _NEWEST.search(question)
    if newest:
        fields.append("oldest" if re.search(r"早", newest.group()) else "newest")
    return fields


def asks_about_document(question: str) -> bool:
    """The question asks about a document itself — its period, issuer, date, number, status, validity,
    level, which document it is, or which is the newest/oldest — and about nothing else: some
    attribute is asked (``asked_metadata``) and no content word remains (``content_words``)."""
    fields = asked_metadata(question)
    return bool(fields) and not content_words(question)


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


_IN_FORCE = re.compile(r"起施行|起执行|起实施|起生效")  # the statement of the day a text takes effect


def _cn_date(iso: str) -> str:
    """An ISO date as Chinese texts write it: "2022-08-01" → "2022年8月1日", "2022-08" → "2022年8月"."""
    parts = [int(p) for p in iso.split("-") if p.isdigit()]
    return "".join(f"{n}{u}" for n, u in zip(parts, "年月日"))


_PERIOD_STATEMENT = re.compile(r"规划期|实施期|期限|展望|\d+\s*[到至—–\-]\s*\d+\s*年")
_WHICH_DOCS = re.compile(r"哪(?:些|几份|一份|份)|哪个文件")
_AS_OF = re.compile(r"(?:站在|到了?|截至|按|在)\s*((?:19|20)\d{2})\s*年")  # 到2028年还能用吗: judged as of 2028


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
    if asked & {"date", "newest", "oldest", "which", "validity"} or ("status" in asked and meta.is_draft):
        # the line stating the date itself (a regulation's header lists several dated events)
        dated = [s for s in statements if _DATE_STATEMENT.search(s) and not _IN_FORCE.search(s)]
        said = next((s for s in dated if meta.date and _cn_date(meta.date) in normalize(s)), dated[0] if dated else None)
        known |= bool(meta.date)
        if meta.date or asked & {"date", "newest", "oldest"}:
            parts.append(f"成文日期为{said or meta.date}" if meta.date else "文件未注明成文日期")
        if meta.effective_date and asked & {"date", "validity"}:
            stated = next((s for s in statements if _IN_FORCE.search(s)
                           and _cn_date(meta.effective_date) in normalize(s)), None)
            parts.append(f"自{_cn_date(meta.effective_date)}起施行" + (f"（原文：“{stated.strip()}”）" if stated else ""))
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


_LATER_VERSION = re.compile(r"现行|最新|新版|修订后|修改后|修正后|目前|现在|如今")
_EARLIER_VERSION = re.compile(r"修订前|修改前|修正前|原来|旧版|老版|原版|上一版|前一版|以前的|之前的")


def version_order(question: str, doc_ids, docs: dict) -> list[str]:
    """``doc_ids`` with the version the question asks for first when they are versions of one title
    (same normalised title): the latest by stated date for 现行/最新/修订后, the earliest for 修订前/原来/
    旧版; unchanged otherwise (stable). ``docs``: doc_id → DocumentMeta."""
    ids = list(doc_ids)
    titles = {normalize(docs[d].title) for d in ids if d in docs}
    later, earlier = _LATER_VERSION.search(question), _EARLIER_VERSION.search(question)
    if len(ids) < 2 or len(titles) != 1 or bool(later) == bool(earlier):
        return ids
    return sorted(ids, key=lambda d: docs[d].date or "", reverse=bool(later))


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
        if not known and "period" not in fields:  # nothing asked is stated: say so, with what is stated
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
