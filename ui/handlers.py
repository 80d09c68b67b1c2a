"""The UI's handlers: plain functions of (inputs, session state, settings) → outputs; no gradio here.

``ui.app`` wires them to components and turns ``RagError``s into ``gr.Warning``/``gr.Error``. All
document text is HTML-escaped before it is put into markup. A session is a plain JSON-able dict
(``new_session()``) kept in a ``gr.State``, so every browser session has its own conversation.

A turn of a session: ``{"question", "rewritten", "rule", "auto_region", "text", "mode", "refused", "notices",
"citations": [CITATION], "sources": [SourceView as dict], "timings_ms", "pending"}``.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
import threading
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Iterator, NamedTuple

from rag import kb
from rag.conversation import rewrite_followup
from rag.errors import RagError
from rag.retrieval import Filters
from rag.settings import Settings
from rag.types import Answer, DocumentMeta

REGIONS = ("全部", "四川省", "成都市")
MODE_LABELS = {"llm": "大模型", "extractive": "原文摘录"}
EXAMPLES_OFFICIALS = (
    "到2027年四川要打造几个千亿级产业集群？",
    "成都市前瞻培育的未来产业有哪些方向？",
    "四川省“十四五”高新技术产业发展规划的主要目标是什么？",
)
EXAMPLES_ENTERPRISES = (
    "人工智能企业在成都能获得哪些支持？",
    "成都对新能源汽车产业有什么发展目标？",
    "四川支持哪些未来产业？",
)
FEEDBACK_FILE = "feedback.jsonl"
_FEEDBACK_LOCK = threading.Lock()  # serialises appends to feedback.jsonl; holds no session data
_CITE = re.compile(r"\[(\d{1,2})\]")


def esc(text) -> str:
    """HTML-escape any text (quotes included); None → ""."""
    return html.escape("" if text is None else str(text), quote=True)


# --- options ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChatOptions:
    """The filter/settings panel. ``doc_ids``: () = all documents; ``region``: "全部", "四川省" or
    "成都市"; ``in_force``: only documents in force today; ``llm_model``: "" = the configured one."""

    doc_ids: tuple[str, ...] = ()
    region: str = "全部"
    in_force: bool = False
    top_k: int = 5
    llm_model: str = ""

    def filters(self, settings: Settings) -> Filters:
        return Filters(doc_ids=tuple(self.doc_ids) or None,
                       region=self.region if self.region in ("四川省", "成都市") else None,
                       in_force_on=settings.today_date() if self.in_force else None)

    def settings_for(self, settings: Settings) -> Settings:
        changes = {"top_k": max(1, min(int(self.top_k or settings.top_k), 20))}
        model = (self.llm_model or "").strip()
        if model and settings.llm_enabled:
            changes["llm_model"] = model[:100]
        return settings.with_(**changes)


def make_qa(settings: Settings, options: ChatOptions, llm=None):
    from rag.pipeline import PolicyQA

    return PolicyQA(options.settings_for(settings), llm=llm, auto_ingest=True)


# --- sources ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceView:
    """What the sources panel shows for one citation (or, for a refusal, one nearest passage)."""

    n: int
    doc_id: str
    title: str
    level: str | None
    region: str | None
    period: str
    status: str | None
    expired: bool
    draft: bool
    section: str
    passage: str  # the hit's chunk text
    quote: str  # the cited sentence ("" for a nearest passage)
    chunk_id: str = ""


def source_views(answer: Answer, docs: dict[str, DocumentMeta], today) -> list[SourceView]:
    """One view per citation; for an answer without citations, the top three hits (quote "")."""
    hits = {h.chunk.chunk_id: h for h in answer.hits}

    def view(n, doc_id, title, section, passage, quote, chunk_id):
        meta = docs.get(doc_id)
        return SourceView(n=n, doc_id=doc_id, title=meta.title if meta else title,
                          level=meta.level if meta else None, region=meta.region if meta else None,
                          period=meta.period_label() if meta else "", status=meta.status if meta else None,
                          expired=bool(meta and meta.expired_on(today)), draft=bool(meta and meta.is_draft),
                          section=section, passage=passage, quote=quote, chunk_id=chunk_id)

    if answer.citations:
        out = []
        for c in answer.citations:
            hit = hits.get(c.chunk_id)
            out.append(view(c.n, c.doc_id, c.title, c.section, hit.chunk.text if hit else c.quote, c.quote,
                            c.chunk_id))
        return out
    return [view(h.rank, h.chunk.doc_id, h.title, h.chunk.section, h.chunk.text, "", h.chunk.chunk_id)
            for h in answer.hits[:3]]


def badges_html(src: SourceView) -> str:
    """Status badges: 已到期 (the stated period ended before today), 征求意见稿 (a draft), else 现行/—."""
    out = []
    if src.draft:
        out.append('<span class="rag-badge rag-badge-draft">征求意见稿</span>')
    if src.expired:
        out.append('<span class="rag-badge rag-badge-expired">已到期</span>')
    return "".join(out)


def marked_passage(passage: str, quote: str) -> str:
    """The escaped passage with the first occurrence of ``quote`` wrapped in <mark>."""
    pos = passage.find(quote) if quote else -1
    if pos < 0:
        return esc(passage)
    return f"{esc(passage[:pos])}<mark>{esc(quote)}</mark>{esc(passage[pos + len(quote):])}"


def source_card_html(src: SourceView, turn: int) -> str:
    facts = " · ".join(esc(x) for x in (src.level, src.region) if x)
    period = f'<span class="rag-period">规划期 {esc(src.period)}</span>' if src.period else ""
    quote = (f'<blockquote class="rag-quote"><mark>{esc(src.quote)}</mark></blockquote>' if src.quote
             else f'<blockquote class="rag-quote">{esc(src.passage[:160])}{"…" if len(src.passage) > 160 else ""}'
                  f'</blockquote>')
    return (f'<div class="rag-src" id="src-{turn}-{src.n}" data-doc="{esc(src.doc_id)}">'
            f'<div class="rag-src-head"><span class="rag-n">[{src.n}]</span> '
            f'<span class="rag-title">《{esc(src.title)}》</span>{badges_html(src)}</div>'
            f'<div class="rag-src-meta">{facts}{" · " if facts and period else ""}{period}</div>'
            f'<div class="rag-section">章节：{esc(src.section) or "—"}</div>'
            f'{quote}'
            f'<details class="rag-passage"><summary>查看原文段落</summary>'
            f'<div class="rag-passage-text">{marked_passage(src.passage, src.quote)}</div></details>'
            f'</div>')


def sources_html(turn: dict | None, turn_no: int = 0) -> str:
    """The sources panel for a turn (its citations, or the nearest passages of a refusal)."""
    if not turn:
        return '<div class="rag-sources rag-empty">提问后，这里显示答案引用的文件与原文。</div>'
    if turn.get("pending"):
        return '<div class="rag-sources rag-empty">正在检索与作答…</div>'
    srcs = [SourceView(**s) for s in turn.get("sources", [])]
    if not srcs:
        return '<div class="rag-sources rag-empty">没有检索到相关段落。</div>'
    head = "来源" if turn.get("citations") else "最接近的段落（未直接回答）"
    cards = "".join(source_card_html(s, turn_no) for s in srcs)
    return f'<div class="rag-sources"><div class="rag-sources-head">{head}</div>{cards}</div>'


# --- the conversation ------------------------------------------------------------------------
def new_session() -> dict:
    """A fresh per-session state: ``{"turns": []}``."""
    return {"turns": []}


def answer_text_html(text: str, turn_no: int, n_sources: int) -> str:
    """Escaped answer text; markers [n] (1 ≤ n ≤ n_sources) link to source card n of the turn."""
    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if 1 <= n <= n_sources:
            return f'<a class="rag-cite" href="#src-{turn_no}-{n}">[{n}]</a>'
        return m.group(0)

    return _CITE.sub(link, esc(text)).replace("\n", "<br>")


def turn_html(turn: dict, turn_no: int) -> str:
    """The assistant message of a turn: rewritten question, answer, mode and notices (one HTML block
    without blank lines, so that the chat's Markdown renderer leaves it alone)."""
    parts = ['<div class="rag-answer">']
    if turn.get("rule"):
        scope = f'（只检索{esc(turn["auto_region"])}文件）' if turn.get("auto_region") else ""
        parts.append(f'<div class="rag-rewrite">按上下文理解为：{esc(turn["rewritten"])}{scope}</div>')
    body = answer_text_html(turn.get("text", ""), turn_no, len(turn.get("citations", [])))
    parts.append(f'<div class="rag-text">{body or "…"}</div>')
    if not turn.get("pending"):
        mode = turn.get("mode", "extractive")
        parts.append(f'<div class="rag-mode"><span class="rag-badge rag-mode-{esc(mode)}">'
                     f'{MODE_LABELS.get(mode, esc(mode))}</span></div>')
        for notice in turn.get("notices", []):
            parts.append(f'<div class="rag-notice">注意：{esc(notice)}</div>')
    parts.append("</div>")
    return "".join(parts)


def chat_messages(session: dict) -> list[dict]:
    """The Chatbot value (messages format) for a session."""
    out = []
    for i, turn in enumerate(session.get("turns", []), start=1):
        out.append({"role": "user", "content": f'<div class="rag-q">{esc(turn["question"])}</div>'})
        out.append({"role": "assistant", "content": turn_html(turn, i)})
    return out


def status_html(turn: dict | None) -> str:
    if not turn:
        return ""
    if turn.get("pending"):
        return '<div class="rag-status">正在作答…</div>'
    t = turn.get("timings_ms", {})
    mode = MODE_LABELS.get(turn.get("mode"), "")
    return (f'<div class="rag-status">模式：{mode}　检索 {t.get("retrieve", 0):.0f} ms　'
            f'共 {t.get("total", 0):.0f} ms</div>')


class ChatView(NamedTuple):
    """One update of the chat: Chatbot messages, sources panel, status line, the new session, and an
    error message for a warning toast ("" when none)."""

    messages: list
    sources: str
    status: str
    session: dict
    error: str = ""


def chat_stream(question: str, session: dict, options: ChatOptions, settings: Settings, llm=None,
                qa=None) -> Iterator[ChatView]:
    """Answer ``question`` in the context of ``session`` (streamed); yields ChatViews.

    The question is rewritten against the previous turn (``rag.conversation``); the input session is
    not mutated. A RagError (empty/over-long question, no index) yields one view with ``error`` set
    and the session unchanged."""
    turns = [dict(t) for t in session.get("turns", [])]
    prev = turns[-1] if turns else None
    prev_title = prev["sources"][0]["title"] if prev and prev.get("citations") and prev.get("sources") else None
    q = (question or "").strip()
    rw = rewrite_followup(q, prev["rewritten"] if prev else None, prev_title)
    # "那成都呢？" asks about the other region's documents: filter to them unless the user chose a region;
    # further elliptical follow-ups keep that region
    auto_region = rw.region if rw.rule == "region" else (prev or {}).get("auto_region") if rw.rule else None
    if auto_region and options.region not in ("四川省", "成都市"):
        options = replace(options, region=auto_region)
    else:
        auto_region = None
    qa = qa or make_qa(settings, options, llm)
    try:
        from rag.pipeline import validate_question

        validate_question(rw.question, qa.settings.max_question_chars)
    except RagError as exc:
        yield ChatView(chat_messages(session), sources_html(prev, len(turns)), status_html(prev), session, str(exc))
        return
    turn = {"question": q, "rewritten": rw.question, "rule": rw.rule, "auto_region": auto_region, "text": "",
            "mode": "", "refused": False, "notices": [], "citations": [], "sources": [], "timings_ms": {},
            "pending": True}
    turns.append(turn)
    n = len(turns)

    def view(error: str = "") -> ChatView:
        new = {**session, "turns": [*turns[:-1], dict(turn)]}
        return ChatView(chat_messages(new), sources_html(turn, n), status_html(turn), new, error)

    yield view()
    try:
        for event in qa.ask_stream(rw.question, options.top_k, options.filters(settings)):
            if event["type"] == "delta":
                turn["text"] += event["text"]
                yield view()
            elif event["type"] == "reset":  # the LLM failed: its partial text is replaced
                turn["text"] = event["text"]
                yield view()
            elif event["type"] == "final":
                answer: Answer = event["answer"]
                views = source_views(answer, qa.index.docs, settings.today_date())
                turn.update(text=answer.text, mode=answer.mode, refused=answer.refused,
                            notices=list(answer.notices), citations=[c.to_json() for c in answer.citations],
                            sources=[asdict(v) for v in views], timings_ms=dict(answer.timings_ms), pending=False)
                yield view()
    except RagError as exc:
        yield ChatView(chat_messages(session), sources_html(prev, len(turns) - 1), status_html(prev), session,
                       str(exc))


def last_turn(session: dict) -> dict | None:
    turns = [t for t in session.get("turns", []) if not t.get("pending")]
    return turns[-1] if turns else None


# --- export and feedback -----------------------------------------------------------------------
def answer_markdown(turn: dict) -> str:
    """A turn as Markdown: question, (rewritten question), answer with [n], notices, numbered sources
    with title, level/region, period, status, section and the quoted sentence."""
    lines = [f"# 问：{turn['question']}", ""]
    if turn.get("rule"):
        lines += [f"按上下文理解为：{turn['rewritten']}", ""]
    lines += [f"**回答**（{MODE_LABELS.get(turn.get('mode'), '')}）", "", turn.get("text", ""), ""]
    for notice in turn.get("notices", []):
        lines.append(f"> 注意：{notice}")
    if turn.get("notices"):
        lines.append("")
    sources = [SourceView(**s) for s in turn.get("sources", [])]
    if sources:
        lines += ["## 来源" if turn.get("citations") else "## 最接近的段落", ""]
    for s in sources:
        facts = "，".join(x for x in (s.level, s.region, f"规划期 {s.period}" if s.period else "",
                                      "征求意见稿" if s.draft else "", "已到期" if s.expired else "") if x)
        lines.append(f"[{s.n}] 《{s.title}》" + (f"（{facts}）" if facts else ""))
        lines.append(f"章节：{s.section or '—'}")
        lines.append("")
        lines.append("> " + (s.quote or s.passage).replace("\n", "\n> "))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_export(session: dict, out_dir: str | Path | None = None) -> Path:
    """Write the latest answer as Markdown to ``out_dir`` (default: a new temp folder) and return the
    file path. Raises RagError when the session has no answer yet."""
    turn = last_turn(session)
    if turn is None:
        raise RagError("还没有可以导出的回答：请先提问 (nothing to export)")
    folder = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="rag-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"政策问答-{datetime.now().strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text(answer_markdown(turn), encoding="utf-8")
    return path


def record_feedback(session: dict, rating: str, settings: Settings) -> str:
    """Append feedback on the latest answer to ``data_dir/feedback.jsonl``: one JSON object per line
    with question, rewritten, answer, mode, rating ("up"|"down"), timestamp (ISO 8601, local time,
    seconds) and citations. Returns a confirmation. Raises RagError when there is no answer yet."""
    if rating not in ("up", "down"):
        raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
    turn = last_turn(session)
    if turn is None:
        raise RagError("还没有可以评价的回答：请先提问 (nothing to rate)")
    row = {"question": turn["question"], "rewritten": turn["rewritten"], "answer": turn["text"],
           "mode": turn["mode"], "rating": rating, "timestamp": datetime.now().isoformat(timespec="seconds"),
           "citations": turn["citations"]}
    path = Path(settings.data_dir) / FEEDBACK_FILE
    with _FEEDBACK_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return "感谢反馈！" if rating == "up" else "已记录，我们会改进。"


# --- retrieval test --------------------------------------------------------------------------
def _score(value, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def retrieval_html(query: str, options: ChatOptions, settings: Settings, qa=None) -> str:
    """Ranked passages for ``query`` with their BM25 (lexical), dense (cosine) and fused RRF scores,
    as an HTML table. Raises RagError for an invalid question or a missing index."""
    qa = qa or make_qa(settings, options)
    hits = qa.retrieve(query, options.top_k, options.filters(settings))
    if not hits:
        return '<div class="rag-empty">没有检索到段落（检查筛选条件）。</div>'
    rows = []
    for h in hits:
        s = h.scores
        rows.append(f'<tr class="rag-hit"><td>{h.rank}</td><td>《{esc(h.title)}》<br><small>{esc(h.chunk.section)}'
                    f'</small></td><td>{_score(s.get("bm25"), 3)}</td><td>{_score(s.get("dense"), 3)}</td>'
                    f'<td>{_score(s.get("rrf"), 4)}</td><td class="rag-hit-text">{esc(h.chunk.text)}</td></tr>')
    return ('<table class="rag-hits"><thead><tr><th>#</th><th>文件 / 章节</th><th>BM25（词法）</th>'
            '<th>向量（余弦）</th><th>RRF（融合）</th><th>段落</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


# --- knowledge base --------------------------------------------------------------------------
KB_HEADERS = ["编号", "文件标题", "层级", "地区", "规划期", "状态", "段落数", "来源"]


def kb_rows(settings: Settings) -> list[list]:
    """Rows of the knowledge-base table (see KB_HEADERS)."""
    rows = []
    for d in kb.list_documents(settings):
        status = "、".join(x for x in ("征求意见稿" if d.draft else "", "已到期" if d.expired else "") if x)
        rows.append([d.doc_id, d.title, d.level or "—", d.region or "—", d.period or "—", status or "—",
                     d.n_chunks, "上传" if d.origin == "upload" else "内置"])
    return rows


def doc_choices(settings: Settings) -> list[tuple[str, str]]:
    """``(label, doc_id)`` choices of the document selectors."""
    return [(d.title, d.doc_id) for d in kb.list_documents(settings)]


def _summary(report) -> str:
    return (f"索引共 {report.n_documents} 篇文件、{report.n_chunks} 个段落（新增 {len(report.added)}，"
            f"更新 {len(report.updated)}，删除 {len(report.removed)}），用时 {report.seconds:.1f} 秒。")


def kb_upload(path: str | Path | None, settings: Settings, progress=None) -> str:
    """Add an uploaded file (checked first; see ``rag.kb.add_upload``) and re-index; returns a
    message. Raises KnowledgeBaseError for a bad file (nothing is changed)."""
    if not path:
        raise kb.KnowledgeBaseError("请先选择要上传的文件 (no file)")
    doc_id, report = kb.add_upload(settings, path, Path(path).name, progress=progress)
    return f"已添加“{doc_id}”。" + _summary(report)


def kb_delete(doc_id: str | None, settings: Settings, progress=None) -> str:
    """Delete (uploads) or hide (bundled) a document and re-index; returns a message."""
    if not doc_id:
        raise kb.KnowledgeBaseError("未选择文件，或已取消删除 (no document selected)")
    report = kb.delete_document(settings, doc_id, progress=progress)
    return f"已删除“{doc_id}”。" + _summary(report)


def kb_restore(doc_id: str | None, settings: Settings, progress=None) -> str:
    if not doc_id:
        raise kb.KnowledgeBaseError("请先选择要恢复的内置文件 (no document selected)")
    report = kb.restore_document(settings, doc_id, progress=progress)
    return f"已恢复“{doc_id}”。" + _summary(report)


def kb_reindex(settings: Settings, progress=None) -> str:
    return "重建完成：" + _summary(kb.reindex(settings, progress))
