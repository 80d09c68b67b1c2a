"""The chat tab's handlers: plain functions of (inputs, session state, settings) → outputs; no gradio here.

``ui.app`` wires them to components and turns ``RagError``s into ``gr.Warning``/``gr.Error``. All
document text is HTML-escaped before it is put into markup. A session is a plain JSON-able dict
(``new_session()``) kept in a ``gr.State``, so every browser session has its own conversation.

A session: ``{"id", "turns": [turn]}``; a turn: ``{"question", "rewritten", "rule", "auto_region", "text",
"mode", "refused", "notices", "citations": [CITATION], "sources": [SourceView.to_json()], "timings_ms",
"pending"}`` (+ ``"llm_pending"`` while the extractive preview is shown and the LLM still writes: its
answer replaces the preview when it is complete and checked). Turns are numbered from 1 (t) everywhere: answer markers ``#src-<t>-<n>``, the sources
panel's groups ``srcs-<t>``, feedback rows (``"turn"``) and the export's "第 t 问" headings.

The other parts of the UI live in their own modules and are re-exported here: the filter panel
(``ui.options``), the sources panel (``ui.sources``), the retrieval-test tab (``ui.retrieval_tab``) and
the knowledge-base tab (``ui.kb_tab``).
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Iterator, NamedTuple

from rag.index import kb
from rag.understand.conversation import clarification, rewrite_followup
from rag.errors import RagError
from rag.settings import Settings
from rag.types import Answer
from ui.kb_tab import (KB_HEADERS, META_FIELDS, doc_choices, field_choices, kb_clear_metadata, kb_delete, kb_metadata,
                       kb_metadata_html, kb_reindex, kb_restore, kb_rows, kb_save_metadata, kb_upload,
                       ADMIN_ONLY, UploadQueue, check_admin)
from ui.options import ALL_REGIONS, REGIONS, ChatOptions, example_questions, make_qa
from ui.retrieval_tab import retrieval_html
from ui.sources import (SourceView, badges_html, document_facts, esc, marked_passage, source_card_html,
                        source_views, sources_html, sources_renderer)

__all__ = [  # the chat tab's own names, then the re-exported ones of the other UI modules
    "MODE_LABELS", "EXAMPLES_OFFICIALS", "EXAMPLES_ENTERPRISES", "FEEDBACK_FILE", "new_session", "answer_text_html",
    "turn_html", "chat_messages", "status_html", "ChatView", "chat_stream", "last_turn", "answered_turn",
    "turn_of_message", "answer_markdown", "conversation_markdown", "write_export", "FEEDBACK_RATINGS",
    "record_feedback", "like_feedback", "RagError", "kb",
    "REGIONS", "ChatOptions", "make_qa", "SourceView", "badges_html", "esc", "marked_passage", "source_card_html",
    "source_views", "sources_html", "sources_renderer", "retrieval_html", "KB_HEADERS", "doc_choices", "kb_delete",
    "kb_reindex", "kb_restore", "kb_rows", "kb_upload", "META_FIELDS", "field_choices", "kb_metadata",
    "kb_metadata_html", "kb_save_metadata", "kb_clear_metadata", "document_facts", "ADMIN_ONLY", "UploadQueue",
    "check_admin"]

MODE_LABELS = {"llm": "大模型", "extractive": "原文摘录", "clarify": "请选择文件"}
# neutral examples without an index; the app shows ``ui.options.example_questions`` of the indexed documents
EXAMPLES_OFFICIALS, EXAMPLES_ENTERPRISES = example_questions([])
FEEDBACK_FILE = "feedback.jsonl"
_FEEDBACK_LOCK = threading.Lock()  # serialises appends to feedback.jsonl; holds no session data
_CITE = re.compile(r"\[(\d{1,2})\]")


# --- the conversation ------------------------------------------------------------------------
def new_session() -> dict:
    """A fresh per-session state: ``{"turns": []}``. ``chat_stream`` adds ``"id"`` (12 hex digits, random)
    with the first turn, so that feedback rows of one conversation can be told apart (a ``gr.State``
    default is copied per browser session, so the id cannot be made here)."""
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
    if turn.get("rule") and turn["rule"] != "ambiguous":
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
    if turn.get("llm_pending"):
        return '<div class="rag-status">已给出原文摘录；大模型正在生成答案…</div>'
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


def _document_names(qa) -> list[str]:
    """Titles and short names of the indexed documents (the follow-up rewriter leaves them as they are);
    [] when the index cannot be loaded (the error shows when the question is answered)."""
    try:
        docs = qa.index.docs
    except RagError:
        return []
    return [name for meta in docs.values() for name in (meta.title, *meta.short_names)]


def _indexed_regions(qa) -> tuple[str, ...]:
    """Regions of the indexed documents (read from them); () when the index cannot be loaded."""
    try:
        docs = qa.index.docs
    except RagError:
        return ()
    return tuple(dict.fromkeys(m.region for m in docs.values() if m.region))


def _cited_titles(turn: dict | None) -> tuple[str, ...]:
    """Distinct titles of the documents a turn's answer cited, in citation order; for a turn that asked
    which document was meant, the documents it offered."""
    if not turn:
        return ()
    if turn.get("rule") == "ambiguous":
        return tuple(turn.get("choices", ()))
    if not turn.get("citations"):
        return ()
    return tuple(dict.fromkeys(s["title"] for s in turn.get("sources", []) if s.get("title")))


def chat_stream(question: str, session: dict, options: ChatOptions, settings: Settings, llm=None,
                qa=None) -> Iterator[ChatView]:
    """Answer ``question`` in the context of ``session`` (streamed); yields ChatViews.

    The question is rewritten against the previous turn (``rag.understand.conversation``; document titles are
    never rewritten); the input session is not mutated. A RagError (empty/over-long question, no
    index) yields one view with ``error`` set and the session unchanged. ``ChatView.sources`` holds
    the sources of every answer of the session (``sources_html``), the latest one shown; the earlier
    answers' groups are rendered once per question (``sources_renderer``), not per streamed update."""
    turns = [dict(t) for t in session.get("turns", [])]
    prev = turns[-1] if turns else None
    prev_title = prev["sources"][0]["title"] if prev and prev.get("citations") and prev.get("sources") else None
    q = (question or "").strip()
    qa = qa or make_qa(settings, options, llm)  # the panel's region is not part of the QA's settings
    # with a configured LLM the follow-up is resolved by it (the offline rules are its fallback)
    resolve = getattr(qa, "resolve_followup", rewrite_followup)
    regions = _indexed_regions(qa) if prev else ()
    context = {"regions": regions, "cited_titles": _cited_titles(prev),
               "pending_choices": tuple(prev.get("choices", ())) if prev and prev.get("rule") == "ambiguous" else ()}
    rw = resolve(q, prev["rewritten"] if prev else None, prev_title, _document_names(qa) if prev else (), **context)
    if rw.rule == "ambiguous":  # "它的规划期？" after an answer citing several documents: ask which one
        try:
            from rag.pipeline import validate_question

            validate_question(q, qa.settings.max_question_chars)
        except RagError as exc:
            yield ChatView(chat_messages(session), sources_html(turns), status_html(prev), session, str(exc))
            return
        turns.append({"question": q, "rewritten": rw.question, "rule": rw.rule, "choices": list(rw.choices),
                      "auto_region": None, "text": clarification(rw), "mode": "clarify", "refused": False,
                      "notices": [], "citations": [], "sources": [], "timings_ms": {}, "pending": False})
        new = {**session, "id": session.get("id") or uuid.uuid4().hex[:12], "turns": turns}
        yield ChatView(chat_messages(new), sources_html(turns), status_html(turns[-1]), new)
        return
    # "那某市呢？" asks about that region's documents: filter to them (when documents of it are indexed)
    # unless the user chose a region; further elliptical follow-ups keep that region
    auto_region = rw.region if rw.rule == "region" else (prev or {}).get("auto_region") if rw.rule else None
    if auto_region and auto_region in regions and options.region in ("", ALL_REGIONS):
        options = replace(options, region=auto_region)
    else:
        auto_region = None
    try:
        from rag.pipeline import validate_question

        validate_question(rw.question, qa.settings.max_question_chars)
    except RagError as exc:
        yield ChatView(chat_messages(session), sources_html(turns), status_html(prev), session, str(exc))
        return
    turn = {"question": q, "rewritten": rw.question, "rule": rw.rule, "auto_region": auto_region, "text": "",
            "mode": "", "refused": False, "notices": [], "citations": [], "sources": [], "timings_ms": {},
            "pending": True}
    turns.append(turn)
    session_id = session.get("id") or uuid.uuid4().hex[:12]
    panel = sources_renderer(turns[:-1])  # earlier answers' cards once; per update only this answer's

    def view(error: str = "") -> ChatView:
        new = {**session, "id": session_id, "turns": [*turns[:-1], dict(turn)]}
        return ChatView(chat_messages(new), panel(turn), status_html(turn), new, error)

    yield view()
    from rag.pipeline import Delta, Final, Preview, Replace

    try:
        for event in qa.ask_stream(rw.question, options.top_k, options.filters(settings)):
            if isinstance(event, Preview):  # the extractive answer, shown while the LLM writes
                preview: Answer = event.answer
                views = source_views(preview, qa.index.docs, settings.today_date())
                turn.update(text=preview.text, mode=preview.mode, refused=preview.refused, pending=False,
                            notices=["大模型正在生成答案，完成并核对引文后将替换这段原文摘录。", *preview.notices],
                            citations=[c.to_json() for c in preview.citations],
                            sources=[v.to_json() for v in views], llm_pending=True)
                yield view()
            elif isinstance(event, Delta):
                if not turn.get("llm_pending"):  # LLM text replaces the preview only once checked (final)
                    turn["text"] += event.text
                    yield view()
            elif isinstance(event, Replace):  # the LLM failed or its answer was checked: the text is replaced
                turn["text"] = event.text
                yield view()
            elif isinstance(event, Final):
                answer: Answer = event.answer
                views = source_views(answer, qa.index.docs, settings.today_date())
                turn.update(text=answer.text, mode=answer.mode, refused=answer.refused,
                            notices=list(answer.notices), citations=[c.to_json() for c in answer.citations],
                            sources=[v.to_json() for v in views], timings_ms=dict(answer.timings_ms), pending=False)
                turn.pop("llm_pending", None)
                yield view()
    except RagError as exc:
        yield ChatView(chat_messages(session), sources_html(session.get("turns", [])), status_html(prev), session,
                       str(exc))


def last_turn(session: dict) -> dict | None:
    """The latest answered (not pending) turn of a session, or None."""
    turns = [t for t in session.get("turns", []) if not t.get("pending")]
    return turns[-1] if turns else None


def answered_turn(session: dict, turn_no: int | None = None) -> tuple[int, dict]:
    """``(turn number, turn)`` of answer ``turn_no`` (1-based, as in the sources panel's ``srcs-<t>``), or
    of the latest answered turn when ``turn_no`` is None.

    Raises RagError when the session has no answer yet, ``turn_no`` is out of range, or that answer is
    still being written."""
    turns = session.get("turns", [])
    if turn_no is None:
        done = [t for t, turn in enumerate(turns, start=1) if not turn.get("pending")]
        if not done:
            raise RagError("还没有回答：请先提问 (no answer yet)")
        turn_no = done[-1]
    if not isinstance(turn_no, int) or not 1 <= turn_no <= len(turns):
        raise RagError(f"找不到第 {turn_no} 问的回答：本次对话共 {len(turns)} 问 (no such answer)")
    if turns[turn_no - 1].get("pending"):
        raise RagError(f"第 {turn_no} 问还在作答，请稍候 (answer not finished)")
    return turn_no, turns[turn_no - 1]


def turn_of_message(index) -> int:
    """The turn number of a Chatbot message index (``chat_messages``: two messages per turn, the question
    at 2(t−1), the answer at 2(t−1)+1). ``index`` may be an int or a one-element-first pair as Gradio's
    ``LikeData.index`` gives it. Raises RagError for a question's message or a non-index."""
    if isinstance(index, (list, tuple)) and index:
        index = index[0]
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise RagError(f"无法确定评价的是哪一个回答（{index!r}）(bad message index)")
    if index % 2 == 0:
        raise RagError("只能评价回答，不能评价问题 (not an answer)")
    return index // 2 + 1


# --- export and feedback -----------------------------------------------------------------------
def answer_markdown(turn: dict, turn_no: int | None = None) -> str:
    """A turn as Markdown: question, (rewritten question), answer with [n], notices, numbered sources
    with title, the document's known facts (``document_facts``: level, region, issuer, 文号, dates, period,
    status) and status labels, section and the quoted sentence. With ``turn_no`` the
    headings are one level lower and name the turn ("## 第 t 问：…", "### 来源") for a conversation."""
    h1, h2 = ("#", "##") if turn_no is None else ("##", "###")
    lines = [f"{h1} {'问' if turn_no is None else f'第 {turn_no} 问'}：{turn['question']}", ""]
    if turn.get("rule"):
        lines += [f"按上下文理解为：{turn['rewritten']}", ""]
    lines += [f"**回答**（{MODE_LABELS.get(turn.get('mode'), '')}）", "", turn.get("text", ""), ""]
    for notice in turn.get("notices", []):
        lines.append(f"> 注意：{notice}")
    if turn.get("notices"):
        lines.append("")
    sources = [SourceView.from_json(s) for s in turn.get("sources", [])]
    if sources:
        lines += [f"{h2} 来源" if turn.get("citations") else f"{h2} 最接近的段落", ""]
    for s in sources:
        b = s.badges
        facts = "，".join([*document_facts(b), *b.status_labels])
        lines.append(f"[{s.n}] 《{s.title}》" + (f"（{facts}）" if facts else ""))
        lines.append(f"章节：{s.section or '—'}")
        lines.append("")
        lines.append("> " + (s.quote or s.passage).replace("\n", "\n> "))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def conversation_markdown(session: dict, now: datetime | None = None) -> str:
    """Every answered turn of a session as one Markdown document: a title with the export time, then per
    turn ``answer_markdown(turn, t)`` — its own question, answer and sources, numbered as in the chat.
    Turns still being answered are left out. Raises RagError when there is no answer yet."""
    done = [(t, turn) for t, turn in enumerate(session.get("turns", []), start=1) if not turn.get("pending")]
    if not done:
        raise RagError("还没有可以导出的回答：请先提问 (nothing to export)")
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    parts = [f"# 政策问答记录\n\n导出时间：{stamp}，共 {len(done)} 问\n"]
    parts += [answer_markdown(turn, t) for t, turn in done]
    return "\n".join(parts)


def write_export(session: dict, out_dir: str | Path | None = None, turn_no: int | None = None) -> Path:
    """Write Markdown to ``out_dir`` (default: a new temp folder) and return the file path: the whole
    conversation (``conversation_markdown``) when ``turn_no`` is None, else answer ``turn_no`` alone
    (``answer_markdown``). Raises RagError when there is nothing to export (see ``answered_turn``)."""
    if turn_no is None:
        text = conversation_markdown(session)
    else:
        text = answer_markdown(answered_turn(session, turn_no)[1])
    folder = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="rag-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "" if turn_no is None else f"-第{turn_no}问"
    path = folder / f"政策问答-{datetime.now().strftime('%Y%m%d-%H%M%S')}{suffix}.md"
    path.write_text(text, encoding="utf-8")
    return path


FEEDBACK_RATINGS = {"up": "感谢反馈！", "down": "已记录，我们会改进。", "withdrawn": "已撤销评价。"}


def record_feedback(session: dict, rating: str, settings: Settings, turn_no: int | None = None) -> str:
    """Append feedback on answer ``turn_no`` (default: the latest answer) to ``data_dir/feedback.jsonl``:
    one JSON object per line with session (the conversation's id), turn (1-based, as in the chat and
    the sources panel), question, rewritten, answer, mode, rating ("up" | "down" | "withdrawn": a
    rating taken back), timestamp (ISO 8601, local time, seconds) and citations. Returns a
    confirmation. Raises ValueError for another rating and RagError when there is no such answer
    (``answered_turn``); nothing is written then."""
    if rating not in FEEDBACK_RATINGS:
        raise ValueError(f"rating must be one of {sorted(FEEDBACK_RATINGS)}, not {rating!r}")
    turn_no, turn = answered_turn(session, turn_no)
    row = {"session": session.get("id", ""), "turn": turn_no, "question": turn["question"],
           "rewritten": turn["rewritten"], "answer": turn["text"], "mode": turn["mode"], "rating": rating,
           "timestamp": datetime.now().isoformat(timespec="seconds"), "citations": turn["citations"]}
    path = Path(settings.data_dir) / FEEDBACK_FILE
    with _FEEDBACK_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return f"{FEEDBACK_RATINGS[rating]}（第 {turn_no} 问）"


def like_feedback(session: dict, index, liked, settings: Settings) -> str:
    """Record the Chatbot's 👍/👎 of one answer (Gradio ``LikeData``: message ``index``; ``liked`` True =
    up, False = down, "" or None = the rating was taken back) with ``record_feedback``. Raises
    RagError for a question's message or an unfinished answer, ValueError for another ``liked``."""
    if liked is True or liked is False:
        rating = "up" if liked else "down"
    elif liked in ("", None):
        rating = "withdrawn"
    else:
        raise ValueError(f"liked must be True, False or '', not {liked!r}")
    return record_feedback(session, rating, settings, turn_of_message(index))
