"""Layout of the Gradio app: tabs 问答 / 检索测试 / 知识库 / 政策匹配, wired to the plain handlers of
``ui.handlers`` (chat), ``ui.retrieval_tab``, ``ui.kb_tab`` and ``ui.match_tab``.

    demo = build_app(Settings.from_env())
    demo.launch(**launch_options())          # theme, css and the citation-link script

Each browser session keeps its conversation in a ``gr.State``; nothing conversational is stored at
module level. Errors of the library (``RagError``) become ``gr.Warning`` (chat) or ``gr.Error``
(knowledge-base changes: nothing was changed).
"""

from __future__ import annotations

import ui  # noqa: F401  - sets GRADIO_ANALYTICS_ENABLED=False before gradio is imported

import gradio as gr

from rag.errors import RagError
from rag.settings import Settings
from ui import handlers as h
from ui import kb_tab, retrieval_tab
from ui.options import ALL_REGIONS, corpus_name, document_rows, example_questions, region_choices

CHAT_CONCURRENCY = 8
"""Questions answered at the same time (retrieval is thread-safe; an LLM call mostly waits)."""

CSS = """
.rag-answer .rag-text { line-height: 1.7; }
.rag-rewrite { color: #6b7280; font-size: .9em; margin-bottom: .3em; }
.rag-cite { color: #2563eb; text-decoration: none; font-weight: 600; cursor: pointer; }
.rag-badge { display: inline-block; border-radius: 4px; padding: 0 .45em; margin-left: .4em; font-size: .8em;
             line-height: 1.6; border: 1px solid transparent; }
.rag-badge-expired { background: #fef3c7; color: #92400e; border-color: #fcd34d; }
.rag-badge-draft { background: #ede9fe; color: #5b21b6; border-color: #c4b5fd; }
.rag-mode-extractive { background: #e0f2fe; color: #075985; margin-left: 0; }
.rag-mode-llm { background: #dcfce7; color: #166534; margin-left: 0; }
.rag-mode { margin-top: .4em; }
.rag-notice { color: #b45309; font-size: .9em; margin-top: .3em; }
.rag-sources-head { font-weight: 600; margin-bottom: .4em; }
.rag-turn-sources[hidden] { display: none !important; }
.rag-src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6em .8em;
           margin-bottom: .6em; transition: box-shadow .3s; }
.rag-src.rag-flash { box-shadow: 0 0 0 3px #93c5fd; }
.rag-src-head { font-weight: 600; }
.rag-n { color: #2563eb; }
.rag-src-meta, .rag-section { color: #6b7280; font-size: .85em; margin-top: .2em; }
.rag-quote { margin: .4em 0; padding-left: .6em; border-left: 3px solid #fcd34d; }
.rag-src mark { background: #fef08a; color: inherit; }
.rag-passage summary { cursor: pointer; color: #2563eb; font-size: .85em; }
.rag-passage-text { white-space: pre-wrap; font-size: .9em; margin-top: .3em; }
.rag-empty, .rag-status { color: #6b7280; font-size: .9em; }
.rag-hits { width: 100%; border-collapse: collapse; font-size: .9em; }
.rag-hits th, .rag-hits td { border-bottom: 1px solid var(--border-color-primary); padding: .3em .4em;
                             vertical-align: top; text-align: left; }
.rag-hit-text { white-space: pre-wrap; max-width: 40em; }
.rag-meta { width: 100%; border-collapse: collapse; font-size: .9em; }
.rag-meta th, .rag-meta td { border-bottom: 1px solid var(--border-color-primary); padding: .3em .4em;
                             vertical-align: top; text-align: left; }
.rag-meta tbody th { white-space: nowrap; font-weight: 600; }
.rag-meta .rag-unknown { color: #9ca3af; }
.rag-meta-source { color: #6b7280; font-size: .9em; max-width: 28em; }
.rag-queue { width: 100%; border-collapse: collapse; font-size: .9em; margin-top: .3em; }
.rag-queue th, .rag-queue td { border-bottom: 1px solid var(--border-color-primary); padding: .2em .4em; text-align: left; }
.rag-queue td:first-child { width: 40%; word-break: break-all; }
.rag-queue tr[data-status="失败"] td:last-child { color: #b91c1c; }
.rag-queue tr[data-status="已完成"] td:last-child { color: #166534; }
"""

# Clicking a citation marker [n] of answer t shows the sources of answer t (the group ``srcs-<t>`` of the
# panel, see ui.sources.sources_html), then opens its card n and scrolls to the cited sentence (its <mark>).
HEAD = """
<script>
document.addEventListener('click', function (e) {
  var a = e.target && e.target.closest ? e.target.closest('a.rag-cite') : null;
  if (!a) return;
  e.preventDefault(); e.stopPropagation();
  var card = document.getElementById((a.getAttribute('href') || '').slice(1));
  if (!card) return;
  var group = card.closest('.rag-turn-sources');
  if (group && group.hidden) {
    group.parentNode.querySelectorAll('.rag-turn-sources').forEach(function (g) { g.hidden = g !== group; });
  }
  card.querySelectorAll('details').forEach(function (d) { d.open = true; });
  var mark = card.querySelector('.rag-passage-text mark');  // the cited sentence inside its passage
  (mark || card).scrollIntoView({behavior: 'smooth', block: mark ? 'center' : 'nearest'});
  card.classList.add('rag-flash');
  setTimeout(function () { card.classList.remove('rag-flash'); }, 1600);
}, true);
</script>
"""


def launch_options() -> dict:
    """Keyword arguments of ``demo.launch`` that belong to the look (Gradio 6 takes them there):
    a theme with system fonts only (no web fonts are fetched), the CSS and the citation script."""
    font = ["system-ui", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif"]
    theme = gr.themes.Soft(font=font, font_mono=["ui-monospace", "monospace"])
    i18n = gr.I18n(**{locale: dict(ZH_UI_TEXTS) for locale in GRADIO_LOCALES})
    return {"theme": theme, "css": CSS, "head": HEAD, "ssr_mode": False, "i18n": i18n}


def _options(docs, region, in_force, top_k, model) -> h.ChatOptions:
    return h.ChatOptions(doc_ids=tuple(docs or ()), region=region or "全部", in_force=bool(in_force),
                         top_k=int(top_k), llm_model=model or "")


def _ingest_progress(progress: gr.Progress):
    """Adapt gr.Progress to rag.index.build's ``progress(items, desc, total)`` (Chinese stage names, counted
    in 项 rather than Gradio's English "steps")."""
    return lambda items, desc, total: progress.tqdm(items, desc=desc, total=total, unit="项")


# Gradio's own texts (the file drop zone) follow the browser's language; this Chinese app shows them in
# Chinese for every browser language (the keys are Gradio's, the translations its zh-CN ones).
ZH_UI_TEXTS = {"upload_text.drop_file": "将文件拖放到此处", "upload_text.click_to_upload": "点击上传",
               "common.or": "或", "common.clear": "清除", "common.remove": "移除", "common.download": "下载",
               "common.download_all": "全部下载"}
GRADIO_LOCALES = ("en", "ar", "ca", "ckb", "de", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "id", "ja", "ko",
                  "lt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sv", "ta", "th", "tr", "uk", "ur", "uz")


def build_app(settings: Settings, llm=None, admin: str | None = None) -> gr.Blocks:
    """The Blocks app over ``settings.data_dir``; ``llm`` (a LangChain chat model) is for tests.
    With ``admin`` (a user name of the login), knowledge-base changes are refused for every other user
    (``ui.kb_tab.check_admin``) and the tab's controls are disabled for them."""
    try:
        choices = kb_tab.doc_choices(settings)
    except RagError:
        choices = []

    # title, region choices and examples come from the indexed documents (the bundled corpus before the
    # first index is built), neutral text when there are none
    rows = document_rows(settings)
    name = corpus_name(rows)
    officials, enterprises = example_questions(rows)
    uploads = kb_tab.UploadQueue(settings)
    with gr.Blocks(title=name, analytics_enabled=False,
                   delete_cache=(3600, 86400)) as demo:  # exported files live in Gradio's cache for a day
        session = gr.State(h.new_session())
        gr.Markdown(f"## {name}\n答案只摘自政策原文，每句都标注出处；点击 [n] 查看原文。")

        with gr.Sidebar(label="筛选与设置", open=True):
            docs = gr.Dropdown(choices=choices, value=[], multiselect=True, label="限定文件",
                               info="不选 = 全部文件", elem_id="filter-docs")
            region = gr.Radio(list(region_choices(rows)), value=ALL_REGIONS, label="地区", elem_id="filter-region")
            in_force = gr.Checkbox(False, label="只看现行文件", info="今天在规划期内、且不是征求意见稿",
                                   elem_id="filter-in-force")
            top_k = gr.Slider(1, 10, value=settings.top_k, step=1, label="检索段落数 top-k", elem_id="filter-k")
            model = gr.Textbox(settings.llm_model, label="大模型", visible=settings.llm_enabled,
                               info="OpenAI 兼容接口的模型名", elem_id="filter-model")
        option_inputs = [docs, region, in_force, top_k, model]

        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="对话", height=480, elem_id="chat",
                                             feedback_options=("Like", "Dislike"),
                                             buttons=["copy", "copy_all"],
                                             placeholder="请输入关于已收录政策文件的问题")
                        with gr.Row():
                            question = gr.Textbox(placeholder=f"例如：{officials[0]}",
                                                  show_label=False, scale=5, elem_id="question", max_lines=4)
                            ask = gr.Button("提问", variant="primary", scale=1, elem_id="ask")
                        status = gr.HTML("", elem_id="status")
                        with gr.Row():  # 👍/👎 sit under each answer (the chatbot's feedback buttons)
                            export = gr.Button("导出对话 Markdown", size="sm", min_width=80, elem_id="export")
                            clear = gr.Button("新对话", size="sm", min_width=80, elem_id="clear")
                        export_file = gr.File(label="导出文件", visible=False, elem_id="export-file")
                        with gr.Row():
                            gr.Examples(list(officials), inputs=[question], label="示例：政府部门")
                            gr.Examples(list(enterprises), inputs=[question], label="示例：企业")
                    with gr.Column(scale=2):
                        sources = gr.HTML(h.sources_html(None), elem_id="sources")

            with gr.Tab("检索测试", id="retrieval"):
                gr.Markdown("查看检索排序：每个段落的 BM25（词法）、向量（余弦相似度）与 RRF 融合分数；"
                            "使用左侧的筛选条件。")
                with gr.Row():
                    rquery = gr.Textbox(show_label=False, placeholder="输入检索语句", scale=5, elem_id="rquery")
                    rbutton = gr.Button("检索", variant="primary", scale=1, elem_id="rbutton")
                rresult = gr.HTML("", elem_id="rresult")

            with gr.Tab("知识库", id="kb"):
                table = gr.Dataframe(_rows(settings), headers=kb_tab.KB_HEADERS, interactive=False, wrap=True,
                                     elem_id="kb-table", label="已索引的文件",
                                     column_widths=["17%", "37%", "6%", "8%", "10%", "10%", "6%", "6%"])
                with gr.Row():
                    with gr.Column():
                        upload = gr.File(label="上传文件（可多选；.txt .md .pdf .docx .html，每个 ≤ 10 MB）",
                                         file_count="multiple", file_types=[".txt", ".md", ".pdf", ".docx", ".html", ".htm"],
                                         type="filepath", elem_id="kb-upload")
                        with gr.Row():
                            add = gr.Button("添加到知识库", variant="primary", elem_id="kb-add", scale=3)
                            cancel = gr.Button("取消", elem_id="kb-cancel", scale=1)
                        # uploads are checked and indexed in the background: each file's status, live
                        queue_view = gr.HTML(uploads.html(), elem_id="kb-queue")
                        queue_timer = gr.Timer(1.0, active=uploads.busy)
                        queue_seen = gr.State(uploads.version)
                        # the one place where every change of this tab shows its progress and its result
                        kb_message = gr.Markdown("", elem_id="kb-message", min_height=48)
                    with gr.Column():
                        to_delete = gr.Dropdown(choices=choices, label="选择文件", elem_id="kb-doc")
                        delete = gr.Button("删除所选文件", variant="stop", elem_id="kb-delete")
                        hidden = gr.Dropdown(choices=_hidden(settings), label="已隐藏的内置文件",
                                             elem_id="kb-hidden")
                        restore = gr.Button("恢复所选内置文件", elem_id="kb-restore")
                        reindex = gr.Button("重建索引", elem_id="kb-reindex")
                gr.Markdown("#### 文件信息\n每个字段的值及其出处（原文中的哪一行、文件清单或用户更正）；"
                            "读错或未注明的可在右侧更正，保存后立即重建索引。")
                with gr.Row():
                    with gr.Column(scale=3):
                        meta_doc = gr.Dropdown(choices=choices, value=None, label="文件", elem_id="kb-meta-doc")
                        meta_view = gr.HTML(kb_tab.kb_metadata_html(None, settings), elem_id="kb-meta")
                    with gr.Column(scale=2):
                        meta_field = gr.Dropdown(choices=kb_tab.field_choices(), value=None, label="字段",
                                                 elem_id="kb-meta-field")
                        meta_value = gr.Textbox(label="更正为", elem_id="kb-meta-value", max_lines=1,
                                                info="日期 YYYY-MM-DD 或 YYYY-MM；年份如 2025；留空 = 未注明")
                        with gr.Row():
                            meta_save = gr.Button("保存更正", variant="primary", elem_id="kb-meta-save")
                            meta_clear = gr.Button("撤销更正", elem_id="kb-meta-clear")

            try:
                from ui.match_tab import build_match_tab
            except ImportError:
                build_match_tab = None
            if build_match_tab is not None:
                with gr.Tab("政策匹配", id="match"):
                    build_match_tab(settings)

        # --- chat ---------------------------------------------------------------------------
        def on_ask(q, state, *opts):
            for view in h.chat_stream(q, state, _options(*opts), settings, llm=llm):
                if view.error:
                    gr.Warning(view.error)
                yield view.messages, view.sources, view.status, view.session, ("" if not view.error else q)

        chat_outputs = [chatbot, sources, status, session, question]
        for trigger in (ask.click, question.submit):
            trigger(on_ask, [question, session, *option_inputs], chat_outputs,
                    concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat")

        def on_like(state, data: gr.LikeData):  # the 👍/👎 under one answer rate that answer (its turn)
            try:
                gr.Info(h.like_feedback(state, data.index, data.liked, settings))
            except RagError as exc:
                gr.Warning(str(exc))

        chatbot.like(on_like, [session], None)

        def on_export(state):
            try:
                return gr.File(value=str(h.write_export(state)), visible=True)
            except RagError as exc:
                gr.Warning(str(exc))
                return gr.File(visible=False)

        export.click(on_export, [session], [export_file])

        def on_clear():
            fresh = h.new_session()
            return [], h.sources_html(None), "", fresh, gr.File(visible=False)

        clear.click(on_clear, None, [chatbot, sources, status, session, export_file])
        chatbot.clear(on_clear, None, [chatbot, sources, status, session, export_file])

        # --- retrieval test ------------------------------------------------------------------
        def on_retrieve(q, *opts):
            try:
                return retrieval_tab.retrieval_html(q, _options(*opts), settings)
            except RagError as exc:
                gr.Warning(str(exc))
                return ""

        for trigger in (rbutton.click, rquery.submit):
            trigger(on_retrieve, [rquery, *option_inputs], [rresult], concurrency_limit=CHAT_CONCURRENCY,
                    concurrency_id="chat")

        # --- knowledge base (one change at a time) -------------------------------------------
        def regions_now():  # the region filter's choices as the index is now (documents added or removed)
            return gr.Radio(choices=list(region_choices(document_rows(settings))))

        def refreshed(message: str, meta_id: str | None = None):
            new_choices = kb_tab.doc_choices(settings)
            meta_id = meta_id if meta_id in {d for _, d in new_choices} else None
            return (message, _rows(settings), gr.Dropdown(choices=new_choices, value=[]),
                    gr.Dropdown(choices=new_choices, value=None), gr.Dropdown(choices=_hidden(settings), value=None),
                    None, gr.Dropdown(choices=new_choices, value=meta_id), kb_tab.kb_metadata_html(meta_id, settings),
                    regions_now())

        kb_outputs = [kb_message, table, docs, to_delete, hidden, upload, meta_doc, meta_view, region]

        def kb_action(action):
            def handler(value=None, request: gr.Request = None, progress=gr.Progress()):
                try:
                    kb_tab.check_admin(getattr(request, "username", None), admin)
                    message = action(value, settings, _ingest_progress(progress))
                except RagError as exc:
                    raise gr.Error(str(exc), title="未做任何更改") from None
                gr.Info(message)
                return refreshed(message)
            return handler

        kb_kwargs = dict(concurrency_limit=1, concurrency_id="kb", show_progress_on=[kb_message])
        def on_add(paths, request: gr.Request = None):  # queue the files and return at once
            try:
                kb_tab.check_admin(getattr(request, "username", None), admin)
                jobs = uploads.submit(paths)
            except RagError as exc:
                raise gr.Error(str(exc), title="未做任何更改") from None
            gr.Info(f"已加入队列：{len(jobs)} 个文件，将在后台依次检查并建立索引。")
            return uploads.html(), None, gr.Timer(active=True)

        def on_cancel(request: gr.Request = None):
            try:
                kb_tab.check_admin(getattr(request, "username", None), admin)
            except RagError as exc:
                raise gr.Error(str(exc), title="未做任何更改") from None
            gr.Info(uploads.cancel())
            return uploads.html()

        def on_tick(seen):  # the queue's statuses; the lists once a batch has finished
            busy, version = uploads.busy, uploads.version
            if version == seen:
                return (uploads.html(), seen, gr.Timer(active=busy)) + (gr.skip(),) * 7
            new_choices = kb_tab.doc_choices(settings)
            return (uploads.html(), version, gr.Timer(active=busy), _rows(settings), gr.Dropdown(choices=new_choices),
                    gr.Dropdown(choices=new_choices), gr.Dropdown(choices=_hidden(settings)),
                    gr.Dropdown(choices=new_choices), uploads.last_message, regions_now())

        add.click(on_add, [upload], [queue_view, upload, queue_timer], concurrency_limit=None,
                  concurrency_id="kb-queue", show_progress="hidden")
        cancel.click(on_cancel, None, [queue_view], concurrency_limit=None, concurrency_id="kb-queue",
                     show_progress="hidden")
        queue_timer.tick(on_tick, [queue_seen], [queue_view, queue_seen, queue_timer, table, docs, to_delete, hidden,
                                                 meta_doc, kb_message, region],
                         concurrency_limit=None, concurrency_id="kb-queue", show_progress="hidden")
        delete.click(kb_action(kb_tab.kb_delete), [to_delete], kb_outputs,
                     js="(d) => (d && confirm('确定从知识库删除所选文件？')) ? d : null", **kb_kwargs)
        restore.click(kb_action(kb_tab.kb_restore), [hidden], kb_outputs, **kb_kwargs)
        reindex.click(kb_action(lambda _v, s, p: kb_tab.kb_reindex(s, p)), None, kb_outputs, **kb_kwargs)

        def meta_action(action):  # a correction re-indexes; the selected document stays selected
            def handler(doc_id, *args, request: gr.Request = None, progress=gr.Progress()):
                try:
                    kb_tab.check_admin(getattr(request, "username", None), admin)
                    message = action(doc_id, *args, settings, _ingest_progress(progress))
                except RagError as exc:
                    raise gr.Error(str(exc), title="未做任何更改") from None
                gr.Info("文件信息已更新，索引已重建。")
                return refreshed(message, doc_id)
            return handler

        meta_save.click(meta_action(kb_tab.kb_save_metadata), [meta_doc, meta_field, meta_value], kb_outputs,
                        **kb_kwargs)
        meta_clear.click(meta_action(kb_tab.kb_clear_metadata), [meta_doc, meta_field], kb_outputs, **kb_kwargs)

        def current_value(doc_id, field):  # the field's value now, to be edited ("" when unknown)
            try:
                values = {f: v for f, _, v, _ in kb_tab.kb_metadata(doc_id, settings)} if doc_id and field else {}
            except RagError:
                values = {}
            value = values.get(field, "")
            return "" if value == kb_tab.UNKNOWN else value

        meta_doc.change(lambda d, f: (kb_tab.kb_metadata_html(d, settings), current_value(d, f)),
                        [meta_doc, meta_field], [meta_view, meta_value])
        meta_field.change(current_value, [meta_doc, meta_field], [meta_value])

        kb_controls = [add, cancel, delete, restore, reindex, meta_save, meta_clear]

        def on_load(request: gr.Request = None):  # the choices as the index is now; a selection stays selected
            r = refreshed("")
            allowed = not admin or getattr(request, "username", None) == admin  # others may look, not change
            return (r[1], r[2], r[3], r[4], gr.Dropdown(choices=kb_tab.doc_choices(settings)), uploads.html(),
                    gr.Timer(active=uploads.busy), r[8]) + tuple(gr.Button(interactive=allowed) for _ in kb_controls)

        demo.load(on_load, None, [table, docs, to_delete, hidden, meta_doc, queue_view, queue_timer, region,
                                  *kb_controls])
    return demo


def _rows(settings: Settings) -> list[list]:
    try:
        return kb_tab.kb_rows(settings)
    except RagError:
        return []


def _hidden(settings: Settings) -> list[tuple[str, str]]:
    try:
        return [(title, doc_id) for doc_id, title in kb_tab.kb.hidden_documents(settings)]
    except RagError:
        return []


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth=None,
          block: bool = True, llm=None, admin: tuple[str, str] | None = None) -> gr.Blocks:
    """Build and launch the app (``block=False`` returns at once, for tests); returns the Blocks.

    ``auth``: None, one ``(user, password)`` or a list of them (the chat users); ``admin``: the
    ``(user, password)`` of the only account allowed to change the knowledge base — it is added to the
    logins, so a login is required whenever it is given."""
    logins = [auth] if isinstance(auth, tuple) else list(auth or [])
    if admin:
        logins.append(tuple(admin))
    demo = build_app(settings, llm=llm, admin=admin[0] if admin else None)
    demo.queue(default_concurrency_limit=CHAT_CONCURRENCY)
    demo.launch(server_name=host, server_port=port, auth=logins or None, share=False, inbrowser=False,
                prevent_thread_lock=not block, max_file_size=kb_tab.kb.MAX_UPLOAD_BYTES, show_error=True,
                footer_links=[], quiet=True, **launch_options())
    return demo
