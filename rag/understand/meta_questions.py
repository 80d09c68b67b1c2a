"""Questions about the documents themselves (question analysis): which document-metadata fields a
question asks for (issuer, date, number, period, validity, status, level, which document,
newest/oldest), whether it asks about nothing else (``asks_about_document``), and which version of a
title it asks for (现行/最新 or 修订前/旧版, ``version_order``).

The planner marks a question as being about a document (``rag.understand.query.QueryPlan.about_document``);
``rag.answer.meta_answers.metadata_answer`` then answers it from the documents' metadata. Content questions
that merely contain 部门/层级/最新 ("氢能产业由哪个部门牵头推进", "提升产业层级", "最新的产业方向") are
not metadata questions.
"""

from __future__ import annotations

import re

from rag.text import normalize


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
    # the day a regulation takes effect (its 施行日期: "自…起施行"), not the day it was adopted or issued
    "effective": re.compile(rf"{_WHEN}[、，,]?[^，。？?]{{0,10}}?(?:施行|生效|实行)|(?:施行|生效|实行)(?:日期|时间)"
                            rf"|(?:施行|生效|实行)[的后]?(?:是|在|于)?{_WHEN}"),
    "doc_number": re.compile(r"文号|发文字号|字号|发文编号"),
    # how often a regulation was amended (its 题注: 修订, 修正), not when
    "revisions": re.compile(r"(?:改|修改|修订|修正)(?:过|了)*(?:几|多少)次|(?:几|多少)次(?:修改|修订|修正)"
                            r"|历次(?:修改|修订|修正)|(?:修改|修订|修正)(?:历史|记录|情况|过程)"
                            r"|(?:改|修改|修订|修正)过(?:没有|没|吗)|有没有(?:改|修改|修订|修正)过|是否(?:修改|修订|修正)过"),
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
条例 规定 版本 那版 这版 新版 旧版 一版 那一版 修订 修正 修改 改过 改动 几次 一次 第一次 第二次 第三次 后来 之前 以前 前后
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
    they scope the document, ``rag.understand.references``). "某市那份制造业规划管到哪年？" → [];
    "规划中氢能产业由哪个部门牵头推进？" → ["氢能", "产业", "牵头", "推进"]."""
    import jieba

    from rag.understand.references import _masked, _place_spans

    rest = _strip_references(question)
    rest = _masked(rest, _place_spans(rest))
    for rx in (*_META_FIELDS.values(), _NEWEST, _DOC_REFERENCE):
        rest = rx.sub(" ", rest)
    return [w for w in jieba.lcut(rest) if len(w) >= 2 and re.search(r"[\u4e00-\u9fff]", w) and w not in FILLER]


def asked_metadata(question: str) -> list[str]:
    """Which document-metadata fields the question asks for (keys of ``_META_FIELDS``, plus "newest" /
    "oldest" for which document is the newest / the oldest); [] for none. "成府发〔2024〕2号是哪天、由谁
    印发的？" → ["issuer", "date"]; "改过几次？最近一次是什么时候？" → ["revisions"] (最近一次 is the latest amendment,
    not the newest document)."""
    fields = [name for name, rx in _META_FIELDS.items() if rx.search(question)]
    newest = _NEWEST.search(question)
    if newest and "revisions" not in fields:  # 改过几次？最近一次是什么时候: the latest amendment, not document
        fields.append("oldest" if re.search(r"早", newest.group()) else "newest")
    return fields


def asks_about_document(question: str) -> bool:
    """The question asks about a document itself — its period, issuer, date, number, status, validity,
    level, which document it is, or which is the newest/oldest — and about nothing else: some
    attribute is asked (``asked_metadata``) and no content word remains (``content_words``)."""
    fields = asked_metadata(question)
    return bool(fields) and not content_words(question)


_LATER_VERSION = re.compile(r"现行|最新|新版|修订后|修改后|修正后|目前|现在|如今")


_EARLIER_VERSION = re.compile(r"修订前|修改前|修正前|原来|旧版|老版|原版|上一版|前一版|以前的|之前的")


def asks_earlier_version(question: str) -> bool:
    """The question asks for an earlier version of a text (修订前, 原来, 旧版, 以前的 …) and not for the
    current one (现行, 最新, 修订后 …)."""
    return bool(_EARLIER_VERSION.search(question)) and not _LATER_VERSION.search(question)


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
