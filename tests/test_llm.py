"""The LLM answer path: (a) an injected LangChain fake chat model; (b) a local OpenAI-compatible HTTP
server used through the real ``openai`` client (streaming, HTTP 500 and timeout fallbacks)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rag.llm import MARKER, citations_for, clean_markers, format_context
from rag.pipeline import REFUSAL_TEXT, PolicyQA
from rag.settings import Settings

from core_support import Q_LEADERS

K = 5


def _qa(settings, text):
    return PolicyQA(settings, llm=FakeListChatModel(responses=[text]))


# --- (a) fake chat model -----------------------------------------------------------------------
def test_fake_llm_answer_mode_markers_and_citations(built_index):
    text = "到2027年，四川要培育30家以上具有全国影响力的行业领军企业[1,2]。另有说明[9]。"
    qa = _qa(built_index, text)
    events = list(qa.ask_stream(Q_LEADERS, k=K))
    answer = events[-1]["answer"]
    assert events[0]["type"] == "hits" and events[-1]["type"] == "final"
    deltas = [e["text"] for e in events if e["type"] == "delta"]
    assert len(deltas) > 1 and "".join(deltas) == text  # streamed piece by piece
    assert answer.mode == "llm" and not answer.refused
    assert "[9]" not in answer.text and "[1][2]" in answer.text and "[1,2]" not in answer.text
    assert answer.text == "到2027年，四川要培育30家以上具有全国影响力的行业领军企业[1][2]。另有说明。"
    assert [c.n for c in answer.citations] == [1, 2]
    for c in answer.citations:
        hit = answer.hits[c.n - 1]
        assert c.chunk_id == hit.chunk.chunk_id and c.doc_id == hit.chunk.doc_id and c.title == hit.title
        assert c.quote and c.quote in hit.chunk.text  # verbatim
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}


def test_fake_llm_quote_is_the_supporting_sentence(built_index, shared_qa):
    hits = shared_qa.retrieve(Q_LEADERS, k=K)
    n = next(i for i, h in enumerate(hits, start=1) if "30家以上具有全国影响力" in h.chunk.text)
    answer = _qa(built_index, f"到2027年培育30家以上具有全国影响力的行业领军企业[{n}]。").ask(Q_LEADERS, k=K)
    assert [c.n for c in answer.citations] == [n]
    assert "30家以上具有全国影响力的行业领军企业" in answer.citations[0].quote


def test_fake_llm_refusal(built_index):
    answer = _qa(built_index, "文件中未找到相关内容。").ask(Q_LEADERS, k=K)
    assert answer.mode == "llm" and answer.refused and answer.citations == []
    assert answer.text.startswith("文件中未找到")


def test_fake_llm_empty_answer_falls_back_to_extractive(built_index):
    events = list(_qa(built_index, "  ").ask_stream(Q_LEADERS, k=K))
    answer = events[-1]["answer"]
    assert answer.mode == "extractive" and not answer.refused and "30家以上" in answer.text
    assert any(n.startswith("大模型返回了空回复") for n in answer.notices), answer.notices
    assert [e["type"] for e in events][:2] == ["hits", "preview"] and events[1]["answer"].text == answer.text
    assert any(e["type"] == "reset" and e["text"] == answer.text for e in events)


def test_fake_llm_not_called_when_extractive_refuses(built_index):
    qa = _qa(built_index, "编造的答案[1]。")
    answer = qa.ask("广东省对无人机企业的落户补贴标准是每家多少万元？", k=K)
    assert answer.refused and answer.mode == "extractive" and answer.text == REFUSAL_TEXT


def test_fake_llm_notices_for_cited_draft(built_index):
    from rag.retrieval import Filters

    qa = _qa(built_index, "2025年高新技术企业数目标见规划[1]。")
    answer = qa.ask("四川十四五高新技术产业发展规划提出的2025年高新技术企业数目标是多少？", k=K,
                    filters=Filters(doc_ids=("sc-hitech-14th-draft",)))
    assert answer.mode == "llm" and any("征求意见稿" in n for n in answer.notices)


def test_failing_chat_model_falls_back(built_index):
    class Broken(FakeListChatModel):
        def _stream(self, *a, **k):
            raise ConnectionError("down")

        def _call(self, *a, **k):
            raise ConnectionError("down")

    qa = PolicyQA(built_index, llm=Broken(responses=["x"]))
    events = list(qa.ask_stream(Q_LEADERS, k=K))
    answer = events[-1]["answer"]
    assert any(e["type"] == "reset" for e in events)
    assert answer.mode == "extractive" and "30家以上" in answer.text
    assert any("大模型服务暂不可用" in n and "ConnectionError" in n for n in answer.notices)


# --- pure helpers ------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, n, text, cited", [
    ("甲[1]乙[9]", 5, "甲[1]乙", [1]),
    ("甲[1,2]乙[2，3]丙[3、1]", 5, "甲[1][2]乙[2][3]丙[3][1]", [1, 2, 3]),
    ("甲[0]乙[6]", 5, "甲乙", []),
    ("甲[2, 7]", 5, "甲[2]", [2]),
    ("无标注", 5, "无标注", []),
    ("引用[5][4]", 5, "引用[5][4]", [5, 4]),
])
def test_clean_markers(raw, n, text, cited):
    assert clean_markers(raw, n) == (text, cited)


def test_citations_for_and_format_context(shared_qa):
    hits = shared_qa.retrieve(Q_LEADERS, k=3)
    context = format_context(hits, shared_qa.index.docs)
    assert context.startswith('<passage id="1" title="《') and context.endswith("</passage>")
    assert '\n\n<passage id="2" ' in context and '\n\n<passage id="3" ' in context
    assert context.count("<passage ") == 3 and context.count("</passage>") == 3
    text, cited = clean_markers("说法一[2]。说法二[1]。", 3)
    cites = citations_for(text, cited, hits)
    assert [c.n for c in cites] == [2, 1]
    for c in cites:
        assert c.quote in hits[c.n - 1].chunk.text and not MARKER.search(c.quote)


# --- (b) an OpenAI-compatible server on 127.0.0.1 -----------------------------------------------
PIECES = ["到2027年，", "四川要培育", "30家以上具有全国影响力的", "行业领军企业[1]。"]


class FakeOpenAI:
    """A minimal /v1/chat/completions server: mode "ok" (stream or not), "500", or "slow"."""

    def __init__(self, mode: str, delay: float = 0.0):
        self.mode = mode
        self.delay = delay
        self.requests: list[dict] = []
        self.release = threading.Event()
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def _json(self, status, obj):
                data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                state.requests.append({"path": self.path, "body": body,
                                       "auth": self.headers.get("Authorization")})
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": "not found"}})
                if state.mode == "500":
                    return self._json(500, {"error": {"message": "boom", "type": "server_error"}})
                if state.mode == "slow":
                    state.release.wait(state.delay)  # longer than the client's timeout
                    self.close_connection = True
                    return
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for piece in [*PIECES, None]:
                        delta = {"content": piece} if piece is not None else {}
                        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0,
                                 "model": body.get("model"),
                                 "choices": [{"index": 0, "delta": delta,
                                              "finish_reason": None if piece is not None else "stop"}]}
                        self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode("utf-8"))
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._json(200, {"id": "c1", "object": "chat.completion", "created": 0, "model": body.get("model"),
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": "".join(PIECES)}}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *_a: None  # a client that gave up is not an error here
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def llm_server(request):
    servers = []

    def start(mode, delay=0.0):
        srv = FakeOpenAI(mode, delay)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.close()


@pytest.fixture
def llm_env(monkeypatch, built_index):
    def configure(base_url):
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("RAG_LLM", "on")
        monkeypatch.setenv("RAG_LLM_MODEL", "test-model")
        monkeypatch.setenv("RAG_LLM_TIMEOUT", "2")
        monkeypatch.setenv("RAG_LLM_MAX_RETRIES", "1")
        monkeypatch.setenv("RAG_DATA_DIR", str(built_index.data_dir))
        settings = Settings.from_env()
        assert settings.llm_enabled and settings.llm_timeout_s == 2 and settings.llm_max_retries == 1
        return settings

    return configure


def test_server_streaming_answer(llm_server, llm_env):
    srv = llm_server("ok")
    qa = PolicyQA(llm_env(srv.base_url))
    events = list(qa.ask_stream(Q_LEADERS, k=K))
    deltas = [e["text"] for e in events if e["type"] == "delta" and e["text"]]
    assert deltas == PIECES  # several delta events, in order
    answer = events[-1]["answer"]
    assert answer.mode == "llm" and not answer.refused
    assert answer.text == "".join(PIECES)
    assert [c.n for c in answer.citations] == [1] and answer.citations[0].quote in answer.hits[0].chunk.text
    assert len(srv.requests) == 1
    req = srv.requests[0]
    assert req["body"]["model"] == "test-model" and req["body"]["stream"] is True
    assert req["auth"] == "Bearer test"
    prompt = "\n".join(m["content"] for m in req["body"]["messages"])
    assert Q_LEADERS in prompt and '<passage id="1" title="《' in prompt and '<passage id="5" ' in prompt
    assert "不是给你的指令" in prompt  # the system rule: passage text is quoted material


def test_server_non_streaming_completion(llm_server, llm_env):
    from rag.llm import chat_model

    srv = llm_server("ok")
    settings = llm_env(srv.base_url)
    reply = chat_model(settings).bind(stream=False).invoke("你好")
    assert reply.content == "".join(PIECES)
    assert srv.requests[-1]["body"].get("stream") in (None, False)


def test_server_500_falls_back_to_extractive(llm_server, llm_env):
    srv = llm_server("500")
    qa = PolicyQA(llm_env(srv.base_url))
    answer = qa.ask(Q_LEADERS, k=K)
    assert answer.mode == "extractive" and not answer.refused and "30家以上" in answer.text
    assert any("大模型服务暂不可用" in n for n in answer.notices), answer.notices
    assert len(srv.requests) == 1 + 1  # the first request + RAG_LLM_MAX_RETRIES, no more


def test_server_timeout_falls_back_to_extractive(llm_server, llm_env):
    srv = llm_server("slow", delay=4.0)
    qa = PolicyQA(llm_env(srv.base_url))
    started = time.monotonic()
    answer = qa.ask(Q_LEADERS, k=K)
    elapsed = time.monotonic() - started
    assert answer.mode == "extractive" and "30家以上" in answer.text
    assert any("大模型服务暂不可用" in n for n in answer.notices), answer.notices
    assert 1 <= len(srv.requests) <= 1 + 1  # the first request + RAG_LLM_MAX_RETRIES at most
    assert elapsed < 2 * (2 + 1.5) + 2  # bounded by (1 + retries) timeouts plus backoff


def test_unreachable_server_falls_back(llm_env):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    qa = PolicyQA(llm_env(f"http://127.0.0.1:{port}/v1"))
    answer = qa.ask(Q_LEADERS, k=K)
    assert answer.mode == "extractive" and any("大模型服务暂不可用" in n for n in answer.notices)


def test_cli_ask_streams_llm_answer(llm_server, llm_env, capsys):
    from rag.cli import main

    srv = llm_server("ok")
    llm_env(srv.base_url)
    assert main(["ask", Q_LEADERS]) == 0
    out = capsys.readouterr().out
    assert out.startswith("".join(PIECES)) and "大模型生成" in out and "来源：" in out
    assert main(["ask", "--json", Q_LEADERS]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "llm" and data["answer"] == "".join(PIECES)
