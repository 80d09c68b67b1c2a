"""The ``rag`` command line: ingest, retrieve, ask, info (and eval, ui, match when installed).

Errors are printed as one line ``error: …`` on stderr with a non-zero exit code, never a traceback.
JSON shapes (stable, relied on by scripts and evaluators):

* HIT = {"rank", "score", "chunk_id", "doc_id", "title", "section", "text"}
* CITATION = {"n", "chunk_id", "doc_id", "title", "section", "quote"}
* ``rag retrieve --json`` → {"question", "hits": [HIT]}
* ``rag ask --json`` → {"question", "answer", "mode", "refused", "citations": [CITATION], "hits": [HIT],
  "notices": [str], "timings_ms": {"retrieve", "answer", "total"}}
* ``--jsonl FILE|-``: one {"id", "question"} per line in; one result per line out with "id" added
  (a bad line gives {"id", "error"} and the batch goes on; the exit code is 1 if any line failed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from rag.errors import RagError


def _settings(args):
    from rag.settings import Settings

    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    settings = Settings.from_env(**overrides)
    from rag.index.embeddings import embedder_spec

    embedder_spec(settings.embeddings)  # an unknown RAG_EMBEDDINGS: one line naming the registered ones
    return settings


def _embedder_label(settings) -> str:
    """The embedder as ``rag info`` names it: the registered name, with its model label when that differs
    (``lsa``, ``openai:text-embedding-3-small``)."""
    from rag.index.embeddings import embedder_spec

    label = embedder_spec(settings.embeddings).label(settings)
    return settings.embeddings if label == settings.embeddings else f"{settings.embeddings}:{label}"


def _filters(args):
    from rag.retrieve.hybrid import Filters

    in_force = None
    if getattr(args, "in_force", None):
        try:
            in_force = date.today() if args.in_force == "today" else date.fromisoformat(args.in_force)
        except ValueError:
            from rag.errors import ConfigError

            raise ConfigError(f"--in-force {args.in_force!r}: use a date like 2026-11-20 or 'today'") from None
    doc_ids = tuple(args.doc) if getattr(args, "doc", None) else None
    return Filters(doc_ids=doc_ids, region=getattr(args, "region", None), in_force_on=in_force)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def iter_jsonl(path: str):
    """Yield ``(line_no, obj, error)`` per non-blank line of a JSONL file or stdin ("-"): ``obj`` is the
    parsed JSON object, or None with a one-line ``error``. Raises DocumentReadError when the file
    cannot be opened or is not UTF-8."""
    from rag.errors import DocumentReadError

    try:
        fh = sys.stdin if path == "-" else open(path, encoding="utf-8")
    except OSError as exc:
        raise DocumentReadError(path, f"cannot be read ({exc.strerror or exc}); give an existing JSONL file") from None
    try:
        for no, line in _lines(fh, path):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                yield no, obj, None
            else:
                yield no, None, f"line {no} is not a JSON object"
    finally:
        if fh is not sys.stdin:
            fh.close()


def _read_jsonl(path: str):
    """Yield (line_no, id, question, error) from a JSONL file or stdin ("-")."""
    for no, obj, error in iter_jsonl(path):
        if obj is None:
            yield no, no, None, error
        else:
            yield no, obj.get("id", no), obj.get("question", ""), None


def _lines(fh, path):
    from rag.errors import DocumentReadError

    no = 0
    while True:
        try:
            line = fh.readline()
        except UnicodeDecodeError:
            raise DocumentReadError(path, f"line {no + 1} is not UTF-8 text; convert the file to UTF-8") from None
        if not line:
            return
        no += 1
        yield no, line


def _progress(items, desc, total):
    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, unit="项", file=sys.stderr, leave=False,
                disable=not sys.stderr.isatty() and os.environ.get("RAG_PROGRESS") != "1")


def _build_progress(items, desc, total):
    """Progress bars of a first-use index build: always shown on stderr (one bar per stage)."""
    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, unit="项", file=sys.stderr, leave=False, mininterval=0.5)


def _ready_qa(args):
    """A PolicyQA over an index that is built and loaded. When no index exists yet, or the index was
    written by an older version (an older ``INDEX_FORMAT``), the default sources (bundled corpus, uploads,
    documents added earlier) are ingested first, announced on stderr ("正在建立索引…" with progress bars), so that
    the build is never part of an answer's reported retrieve time. Raises RagError subclasses."""
    from rag.index.store import INDEX_FORMAT, pointer_format, read_current
    from rag.pipeline import PolicyQA

    settings = _settings(args)
    pointer = read_current(settings)
    old = pointer_format(pointer) if pointer is not None else None
    if pointer is None or (old is not None and old < INDEX_FORMAT):
        from rag.index.build import ingest

        why = "首次使用" if pointer is None else f"索引由旧版本建立 (format {old} < {INDEX_FORMAT})"
        print(f"正在建立索引…（{why}，数据目录 {settings.data_dir}）", file=sys.stderr, flush=True)
        report = ingest(settings, progress=_build_progress)  # the default sources, hidden ones left out
        print(f"索引已建立：{report.n_documents} 篇文件，{report.n_chunks} 个段落，用时 {report.seconds:.1f} 秒",
              file=sys.stderr, flush=True)
    qa = PolicyQA(settings, auto_ingest=True)
    qa.retriever  # noqa: B018 - load the index now, not inside the first question's timing
    return qa


# --- commands ------------------------------------------------------------------------------------
def cmd_ingest(args) -> int:
    """Index PATHs: add or update those documents and keep every other indexed one (``--replace``: the
    PATHs, or the bundled corpus when none is given, become the whole index). Without PATHs, re-index
    the bundled corpus, the uploads and every document added earlier. Documents hidden in the knowledge base
    (kb.json) stay out — also with explicit paths — with a one-line notice on stderr naming them;
    ``--include-hidden`` indexes them and removes them from the hidden list, so kb.json and the index
    agree either way."""
    from rag.index import kb
    from rag.index.build import ingest

    settings = _settings(args)
    paths = [Path(p) for p in args.paths] or None
    if args.replace and not paths:
        paths = [Path(settings.corpus_dir)]
    keep = {"keep_others": not args.replace, "refit": args.replace}
    if args.include_hidden:
        hidden = kb.excluded(settings)  # a damaged kb.json is reported before the index is touched
        report = ingest(settings, paths, progress=_progress, exclude=[], on_wait=_waiting(settings), **keep)
        indexed = {*report.added, *report.updated, *report.unchanged}
        restored = kb.unhide(settings, [d for d in hidden if d in indexed])
        if restored:
            print(f"注意：已索引并恢复 {len(restored)} 篇此前在知识库中隐藏的文件：{', '.join(restored)}",
                  file=sys.stderr)
    else:
        report = ingest(settings, paths, progress=_progress, on_wait=_waiting(settings), **keep)
        if report.excluded:
            print(f"注意：跳过 {len(report.excluded)} 篇在知识库中隐藏的文件（{', '.join(report.excluded)}）；"
                  f"如需索引并恢复，请加 --include-hidden", file=sys.stderr)
    if args.json:
        _print_json(report.to_json())
    else:
        state = "索引已更新" if report.changed else "索引无变化"
        if report.repaired:
            state = f"索引已修复（{report.repaired} → 已重建 (index repaired: rebuilt)）"
        print(f"{state}：{report.n_documents} 篇文件，{report.n_chunks} 个段落，用时 {report.seconds:.1f} 秒"
              f"（新增 {len(report.added)}，更新 {len(report.updated)}，未变 {len(report.unchanged)}，"
              f"删除 {len(report.removed)}，失败 {len(report.failed)}）")
    for doc_id, encoding in report.encodings.items():
        print(f"注意：{doc_id} 按 {encoding} 编码读取 (decoded as {encoding})", file=sys.stderr)
    for path, reason in report.failed:
        print(f"error: {path}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


def _waiting(settings):
    """``on_wait`` of an ingest: a one-line notice on stderr that another ingest holds the lock."""
    def notice():
        print(f"另一个索引任务正在进行，等待其完成… (another ingest is running in {settings.data_dir}; waiting)",
              file=sys.stderr, flush=True)
    return notice


def cmd_remove(args) -> int:
    """Remove DOC_IDs from the index through the knowledge base (``rag.index.kb.delete_document``): an upload
    is deleted from ``uploads/``, any other document is hidden (``rag ingest --include-hidden`` brings
    it back). Unknown ids give a one-line error naming them and nothing is changed."""
    from rag.index import kb

    settings = _settings(args)
    known = {d.doc_id for d in kb.list_documents(settings)}
    unknown = [d for d in args.doc_ids if d not in known]
    if unknown:
        print(f"error: unknown document id(s): {', '.join(unknown)}; `rag info` lists the indexed ones",
              file=sys.stderr)
        return 2
    for doc_id in dict.fromkeys(args.doc_ids):
        report = kb.delete_document(settings, doc_id)
        print(f"已移除 {doc_id}：索引现有 {report.n_documents} 篇文件，{report.n_chunks} 个段落")
    return 0


def _run_questions(args, handle) -> int:
    """Run ``handle(question) -> dict`` on one question or a JSONL batch."""
    if args.jsonl:
        failed = 0
        for _no, qid, question, error in _read_jsonl(args.jsonl):
            if error is None:
                try:
                    _print_json({"id": qid, **handle(question)})
                    continue
                except RagError as exc:
                    error = str(exc)
            failed += 1
            _print_json({"id": qid, "error": error})
        return 1 if failed else 0
    if args.question is None:
        raise _missing_question()
    result = handle(args.question)
    if args.json:
        _print_json(result)
    return 0


def _missing_question():
    from rag.errors import InvalidQuestionError

    return InvalidQuestionError("问题为空：请给出问题，或用 --jsonl FILE 批量提问 (no question given)")


def _checked_filters(args, qa):
    """``_filters(args)`` with ``--region`` and ``--doc`` checked against the loaded index: a region no
    indexed document has or an unknown document id raises ConfigError naming what the index holds."""
    from rag.errors import ConfigError

    filters = _filters(args)
    docs = qa.index.docs
    if filters.region:
        regions = sorted({m.region for m in docs.values() if m.region})
        if filters.region not in regions:
            raise ConfigError(f"--region {filters.region!r}: no indexed document has this region; "
                              f"the index has: {', '.join(regions) or '(no region known)'}")
    unknown = [d for d in filters.doc_ids or () if d not in docs]
    if unknown:
        raise ConfigError(f"--doc {', '.join(unknown)}: unknown document id; `rag info` lists the indexed ones")
    return filters


def cmd_retrieve(args) -> int:
    qa = _ready_qa(args)
    filters = _checked_filters(args, qa)

    def handle(question):
        hits = qa.retrieve(question, args.k, filters)
        if not args.json and not args.jsonl:
            for h in hits:
                print(f"[{h.rank}] {h.score:.4f} 《{h.title}》 {h.chunk.section}\n    {h.chunk.text[:160]}")
        return {"question": question.strip(), "hits": [h.to_json() for h in hits]}

    return _run_questions(args, handle)


def cmd_ask(args) -> int:
    from rag.pipeline import Delta, Final, Replace

    qa = _ready_qa(args)
    filters = _checked_filters(args, qa)
    if args.json or args.jsonl:
        return _run_questions(args, lambda q: qa.ask(q, args.k, filters).to_json())
    if args.question is None:
        raise _missing_question()
    answer = None
    streamed = False
    for event in qa.ask_stream(args.question, args.k, filters):
        match event:
            case Delta(text) if qa.llm_enabled:
                sys.stdout.write(text)
                sys.stdout.flush()
                streamed = True
            case Replace(reason=reason):  # what was streamed is replaced: say so, then print the answer
                if streamed:
                    sys.stdout.write(f"\n〔以上为大模型的原始输出，作废：{reason or '已替换'}；以下为答案〕\n")
                streamed = False
            case Final(answer=final):
                answer = final
    print(format_answer(answer, skip_text=streamed, llm_enabled=qa.llm_enabled))
    return 0


def format_answer(answer, skip_text: bool = False, llm_enabled: bool = False) -> str:
    """Readable answer: text, notices, then numbered sources with verbatim quotes. ``llm_enabled``: an
    extractive answer is then labelled as the LLM's fallback, not as "未配置大模型"."""
    lines = [] if skip_text else [answer.text]
    lines.append("")
    for notice in answer.notices:
        lines.append(f"注意：{notice}")
    mode = ("大模型生成" if answer.mode == "llm" else "原文摘录（大模型未作答）" if llm_enabled
            else "原文摘录（未配置大模型）")
    lines.append(f"[{mode}，检索 {answer.timings_ms.get('retrieve', 0):.0f} ms，共 {answer.timings_ms.get('total', 0):.0f} ms]")
    if answer.citations:
        lines.append("来源：")
        for c in answer.citations:
            lines.append(f"[{c.n}] 《{c.title}》 {c.section}\n    “{c.quote}”")
    elif answer.hits:
        lines.append("最接近的段落：")
        for h in answer.hits[:3]:
            lines.append(f"- 《{h.title}》 {h.chunk.section}\n    {h.chunk.text[:120]}…")
    return "\n".join(lines)


def _pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (CJK characters count 2, wcwidth)."""
    from wcwidth import wcswidth

    return text + " " * max(0, width - max(wcswidth(text), 0))


def _table(rows: list[list[str]]) -> list[str]:
    """Rows of cells as lines of aligned columns (terminal widths; the last column is not padded)."""
    from wcwidth import wcswidth

    widths = [max(max(wcswidth(r[i]), 0) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(_pad(c, w) if i < len(r) - 1 else c for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in rows]


def cmd_info(args) -> int:
    """Settings, the live index and its documents with their metadata. ``--json``: {"data_dir",
    "corpus_dir", "vector_store", "embeddings", "llm", "index": {"generation", "created", "chunks"} | null,
    "documents": [DOC]} with DOC = {"doc_id", "title", "issuer", "doc_number", "doc_type", "level",
    "region", "issued_date", "effective_date", "period_start", "period_end", "status", "chunks",
    "source"} (unknown = null; dates "YYYY-MM-DD" or "YYYY-MM" as precise as the text states)."""
    from rag.index import kb
    from rag.index.store import load_index, read_current

    settings = _settings(args)
    pointer = read_current(settings)
    if pointer:
        load_index(settings)  # a damaged index is a one-line error naming `rag ingest`
    info = {
        "data_dir": str(settings.data_dir),
        "corpus_dir": str(settings.corpus_dir),
        "vector_store": f"chroma server {settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host
        else f"chroma embedded ({Path(settings.data_dir) / 'chroma'})",
        "embeddings": _embedder_label(settings),
        "llm": (f"{settings.llm_model} @ {settings.llm_base_url or 'api.openai.com'}" if settings.llm_enabled
                else "none (extractive answers)"),
        "index": None,
        "documents": [],
    }
    if pointer:
        rows = kb.metadata_rows(settings)
        info["documents"] = [{k: v for k, v in r.items() if k != "field_sources"} for r in rows]
        info["index"] = {"generation": pointer["generation"], "created": pointer.get("created"),
                         "chunks": sum(r["chunks"] for r in rows), "embedder": pointer.get("embedder")}
    if args.json:
        _print_json(info)
        return 0
    for key in ("data_dir", "corpus_dir", "vector_store", "embeddings", "llm"):
        print(f"{key:12} {info[key]}")
    if not pointer:
        print("index        not built (run `rag ingest`)")
        return 0
    print(f"index        {info['index']['generation']}, {info['index']['chunks']} chunks, built {info['index']['created']}")
    fit = info["index"].get("embedder") or {}
    if fit.get("fitted"):
        print(f"lsa model    fitted {fit['fitted']} on {fit.get('fit_rows')} of {fit.get('corpus_rows')} chunks "
              f"({fit.get('features')} features); {fit.get('added_rows', 0)} chunks projected since "
              f"(unknown features {fit.get('added_oov', 0):.0%}); refitted because: {fit.get('refit_reason')}")
    unknown = "—"

    def period(d):
        if d["period_start"] and d["period_end"]:
            return f"{d['period_start']}—{d['period_end']}"
        return f"{d['period_start']}—" if d["period_start"] else (f"—{d['period_end']}" if d["period_end"] else unknown)

    table = [["doc_id", "chunks", "level", "region", "issued", "period", "status", "title"]]
    for d in info["documents"]:
        table.append([d["doc_id"], str(d["chunks"]), d["level"] or unknown, d["region"] or unknown,
                      d["issued_date"] or unknown, period(d), d["status"] or unknown, d["title"]])
    for line in _table(table):
        print("  " + line)
    return 0


def cmd_meta(args) -> int:
    """``rag meta DOC_ID field=value …``: record corrections of a document's metadata (``rag.index.kb.set_metadata``;
    ``field=`` records it as unknown, ``--clear field`` forgets a correction) and re-index so that they
    apply; without assignments, print the document's fields and where each came from."""
    from rag.index import kb

    settings = _settings(args)
    rows = {r["doc_id"]: r for r in kb.metadata_rows(settings)}
    if args.doc_id not in rows and not args.force:
        known = ", ".join(rows) or "none (run `rag ingest`)"
        print(f"error: no document {args.doc_id!r} in the index; known ids: {known}", file=sys.stderr)
        return 2
    pairs = []
    for item in args.assignments:
        field, eq, value = item.partition("=")
        if not eq:
            print(f"error: {item!r} is not field=value (fields: {', '.join(kb.EDITABLE_FIELDS)})", file=sys.stderr)
            return 2
        pairs.append((field.strip(), value))
    for field in args.clear or []:
        kb.clear_metadata(settings, args.doc_id, field)
    for field, value in pairs:
        kb.set_metadata(settings, args.doc_id, field, value)
    if pairs or args.clear:
        kb.reindex(settings)
        rows = {r["doc_id"]: r for r in kb.metadata_rows(settings)}
    row = rows.get(args.doc_id)
    if row is None:
        print(f"{args.doc_id}: correction recorded; it applies when the document is ingested")
        return 0
    table = [[f, "" if row.get(f) is None else str(row[f]), row["field_sources"].get(f, "")]
             for f in ("title", *[f for f in kb.EDITABLE_FIELDS if f != "title"]) if f in row]
    for line in _table([["field", "value", "source"], *table]):
        print(line)
    return 0


CORE_COMMANDS = ("ingest", "remove", "retrieve", "ask", "info", "meta")
"""Commands defined in this module; the others (eval, match, ui) are registered by their packages."""


def build_parser(extras: bool = True) -> argparse.ArgumentParser:
    """The ``rag`` argument parser. ``extras``: also register the subcommands of ``rag.eval.cli``,
    ``rag.matching.cli`` and ``ui.cli`` (importing those packages costs a new process ≈ 0.3 s, so
    ``main`` leaves them out when the command is one of ``CORE_COMMANDS``)."""
    parser = argparse.ArgumentParser(prog="rag", description="政策文件问答：引用原文作答（默认离线）")
    parser.add_argument("--data-dir", help="index directory (default: $RAG_DATA_DIR or ~/.local/share/policy-rag)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index documents (default: the bundled corpus)")
    p.add_argument("paths", nargs="*", help="files or directories (.txt .md .pdf .docx .html)")
    p.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    p.add_argument("--include-hidden", action="store_true",
                   help="also index documents hidden in the knowledge base (they are un-hidden)")
    p.add_argument("--replace", action="store_true",
                   help="make PATHs (default: the bundled corpus) the whole index; other documents are removed "
                        "(the offline LSA embedding is fitted afresh)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("remove", help="remove documents from the index (bundled ones are hidden, uploads deleted)")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="document ids as `rag info` lists them")
    p.set_defaults(func=cmd_remove)

    for name, func, help_ in (("retrieve", cmd_retrieve, "ranked passages for a question"),
                              ("ask", cmd_ask, "a cited answer to a question")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("question", nargs="?", help="the question, in Chinese")
        p.add_argument("--k", type=int, default=5, help="number of passages (default 5)")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument("--jsonl", metavar="FILE", help='batch: lines of {"id","question"}; "-" for stdin')
        p.add_argument("--doc", action="append", help="only this document id (repeatable)")
        p.add_argument("--region", help="only documents of this region (a full name as `rag info` lists it)")
        p.add_argument("--in-force", metavar="DATE", help='only documents in force on DATE (YYYY-MM-DD or "today")')
        p.set_defaults(func=func)

    p = sub.add_parser("info", help="documents, chunk counts, data directory and model settings")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("meta", help="show or correct a document's metadata: rag meta DOC_ID field=value …")
    p.add_argument("doc_id", help="document id (see `rag info`)")
    p.add_argument("assignments", nargs="*", metavar="field=value",
                   help="corrections, e.g. issuer=某市人民政府 issued_date=2024-01-03 (empty value = unknown)")
    p.add_argument("--clear", action="append", metavar="FIELD", help="forget the correction of FIELD")
    p.add_argument("--force", action="store_true", help="record corrections for a document not indexed yet")
    p.set_defaults(func=cmd_meta)

    for extra in ("rag.eval.cli", "rag.matching.cli", "ui.cli") if extras else ():
        try:
            module = __import__(extra, fromlist=["register"])
        except ImportError:
            continue
        module.register(sub)
    return parser


def _utf8_streams() -> None:
    """Write stdout/stderr as UTF-8 whatever the locale says (JSON and answers are Chinese text)."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")


def _command(argv: list[str]) -> str | None:
    """The subcommand word of ``argv`` (the first argument that is not a top-level option or its value)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--data-dir":
            i += 2
            continue
        if not arg.startswith("-"):
            return arg
        i += 1
    return None


def main(argv: list[str] | None = None) -> int:
    _utf8_streams()
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(extras=_command(argv) not in CORE_COMMANDS)
    args = parser.parse_args(argv)
    if getattr(args, "k", 1) is not None and getattr(args, "k", 1) < 1:
        print("error: --k must be at least 1", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
