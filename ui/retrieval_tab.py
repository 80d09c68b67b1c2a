"""The 检索测试 tab: ranked passages with their per-retriever scores; no gradio here."""

from __future__ import annotations

from rag.settings import Settings
from ui.options import ChatOptions, make_qa
from ui.sources import esc


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
