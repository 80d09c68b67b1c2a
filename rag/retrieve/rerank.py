"""Optional cross-encoder reranking through the widely served ``/rerank`` API.

The Jina/Cohere request shape, as served by vLLM, Xinference, Jina and Cohere::

    POST {RAG_RERANK_BASE_URL}/rerank   {"model", "query", "documents": [str, ...], "top_n"}
    → {"results": [{"index": int, "relevance_score": float}, ...]}

(``RAG_RERANK_BASE_URL`` may end in ``/v1``; ``Authorization: Bearer RAG_RERANK_API_KEY`` when set.)
``rerank`` reorders fused hits by the server's scores; any failure — timeout, connection error, HTTP
error, a reply that is not that shape or names an index out of range — leaves the fused order and says
why in one line, so that the answer can carry a notice.
"""

from __future__ import annotations

from dataclasses import replace

from rag.settings import Settings
from rag.types import Hit


class RerankError(Exception):
    """The rerank server failed or replied in another shape; the message is one plain-Chinese line."""


def rerank_configured(settings: Settings) -> bool:
    """True when ``RAG_RERANK_BASE_URL`` is set."""
    return bool(settings.rerank_base_url)


def rerank_scores(query: str, documents: list[str], settings: Settings, timeout_s: float,
                  client=None) -> list[tuple[int, float]]:
    """``[(index into documents, relevance_score)]`` best first, from the rerank server.

    ``timeout_s``: the whole request (connect, write, read) in seconds. ``client``: an ``httpx.Client``
    (tests); by default one is made for the call. Raises RerankError (timeout, HTTP status, malformed)."""
    import httpx

    url = settings.rerank_base_url.rstrip("/") + "/rerank"
    headers = {"Authorization": f"Bearer {settings.rerank_api_key}"} if settings.rerank_api_key else {}
    body = {"model": settings.rerank_model, "query": query, "documents": documents, "top_n": len(documents)}
    own = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(timeout_s))
    try:
        resp = client.post(url, json=body, headers=headers, timeout=httpx.Timeout(timeout_s))
    except httpx.TimeoutException as exc:
        raise RerankError(f"重排序服务超时（{timeout_s:g} 秒，{type(exc).__name__}）") from exc
    except httpx.HTTPError as exc:
        raise RerankError(f"重排序服务无法连接（{type(exc).__name__}）") from exc
    finally:
        if own:
            client.close()
    if resp.status_code != 200:
        raise RerankError(f"重排序服务出错（HTTP {resp.status_code}）")
    try:
        results = resp.json()["results"]
        out = [(int(r["index"]), float(r["relevance_score"])) for r in results]
    except (ValueError, KeyError, TypeError) as exc:
        raise RerankError("重排序服务的回复格式不对（应为 {results: [{index, relevance_score}]}）") from exc
    if not out or any(not 0 <= i < len(documents) for i, _ in out) or len({i for i, _ in out}) != len(out):
        raise RerankError("重排序服务的回复格式不对（index 缺失、重复或越界）")
    return sorted(out, key=lambda t: -t[1])


def rerank(query: str, hits: list[Hit], settings: Settings, timeout_s: float, k: int,
           client=None) -> tuple[list[Hit], str | None]:
    """The top ``k`` of ``hits`` (fused, best first) reordered by the rerank server, ranks renumbered
    1…k, each ``Hit.scores["rerank"]`` set; passages the server leaves out follow in fused order.
    Returns ``(hits, None)``, or ``(hits[:k] unchanged, reason)`` when the server failed (RerankError's
    line). Document outlines and cards are sent as their text like any passage."""
    if not hits:
        return hits, None
    docs = [f"{h.title}\n{h.chunk.section}\n{h.chunk.text}" for h in hits]
    try:
        scored = rerank_scores(query, docs, settings, timeout_s, client=client)
    except RerankError as exc:
        return hits[:k], str(exc)
    order = [i for i, _ in scored] + [i for i in range(len(hits)) if i not in {j for j, _ in scored}]
    score = dict(scored)
    out = []
    for rank, i in enumerate(order[:k], start=1):
        h = hits[i]
        scores = {**h.scores, **({"rerank": score[i]} if i in score else {})}
        out.append(replace(h, rank=rank, score=score.get(i, h.score), scores=scores))
    return out, None
