"""Test doubles for the LLM path: ``MockModel``, a LangChain chat model with queued responses.

Why not LangChain's own fakes as they are: ``FakeListChatModel`` cycles through its responses (a test that
asks once more than it queued silently gets the first one again), records no prompt and cannot send a
``finish_reason``; ``GenericFakeChatModel`` streams by whitespace (a Chinese answer arrives as one chunk) and
ends with a bare ``StopIteration``. ``MockModel`` is a ``BaseChatModel`` like them, so it goes wherever the
library takes a chat model (``PolicyQA(settings, llm=…)``, ``ProfileMatcher(settings, llm=…)``,
``rag.eval.judge.Judge(llm, …)``) and through the same LCEL calls (``prompt | llm``, ``.stream``,
``.invoke``).
"""

from __future__ import annotations

from typing import Any, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


class MockModelExhausted(AssertionError):
    """The model was asked more often than responses were queued."""


class MockModel(BaseChatModel):
    """A chat model answering from a queue, first in first out, and recording what it was asked.

    ``responses`` (also ``enqueue(*responses)``), one per request:
      * ``str`` — the reply; streamed one character per chunk (as a server streams small pieces), the last
        marked ``chunk_position="last"`` as LangChain's own fakes do;
      * ``AIMessage`` — its ``content`` likewise, its ``response_metadata`` (e.g. ``{"finish_reason":
        "length"}``) on the last chunk, as ChatOpenAI sends the server's ``finish_reason``;
      * ``list`` of ``str`` / ``AIMessageChunk`` / exception — these chunks in order (LangChain's ``stream``
        adds an empty last chunk when none is marked last); an exception in the list is raised at that
        point of the stream (a connection lost mid-answer);
      * an exception instance — raised when the request is made (a server that is down).
    ``.invoke`` gets the whole reply (the chunks joined; an exception anywhere in it is raised).

    Recorded per request, in order: ``messages`` (the ``BaseMessage`` list sent) and ``prompts`` (their
    contents joined by newlines). A request with nothing left in the queue raises ``MockModelExhausted``
    naming the request's number and the start of its prompt; note that the pipeline turns any model error
    into an extractive fallback with a notice (``大模型服务暂不可用（MockModelExhausted）``), so a test that
    must ask exactly n times checks ``remaining == 0`` / ``len(prompts) == n``.
    """

    responses: list[Any] = Field(default_factory=list)
    messages: list[list[BaseMessage]] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)

    def __init__(self, responses: list | None = None, **kwargs: Any):
        super().__init__(responses=list(responses or []), **kwargs)

    @property
    def _llm_type(self) -> str:
        return "mock-queued"

    @property
    def remaining(self) -> int:
        """Responses still queued."""
        return len(self.responses)

    def enqueue(self, *responses: Any) -> "MockModel":
        """Append ``responses`` to the queue; returns the model."""
        self.responses.extend(responses)
        return self

    def _next(self, messages: list[BaseMessage]) -> Any:
        self.messages.append(list(messages))
        prompt = "\n".join(m.content if isinstance(m.content, str) else str(m.content) for m in messages)
        self.prompts.append(prompt)
        if not self.responses:
            start = " ".join(prompt.split())[:80]
            raise MockModelExhausted(f"MockModel: request {len(self.prompts)} has no queued response "
                                     f"({len(self.prompts) - 1} were answered); prompt begins {start!r}")
        response = self.responses.pop(0)
        if isinstance(response, BaseException):
            raise response
        return response

    @staticmethod
    def _chunks(response: Any) -> Iterator[AIMessageChunk | BaseException]:
        if isinstance(response, (str, AIMessage)):
            text = response if isinstance(response, str) else str(response.content)
            meta = {} if isinstance(response, str) else dict(response.response_metadata)
            for i, ch in enumerate(text):
                last = i == len(text) - 1
                yield AIMessageChunk(content=ch, response_metadata=meta if last else {},
                                     chunk_position="last" if last else None)
            if not text and meta:
                yield AIMessageChunk(content="", response_metadata=meta, chunk_position="last")
        elif isinstance(response, (list, tuple)):
            for item in response:
                yield AIMessageChunk(content=item) if isinstance(item, str) else item
        else:
            raise TypeError(f"MockModel: cannot reply with {type(response).__name__}; queue str, AIMessage, "
                            "a list of chunks or an exception")

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        response = self._next(messages)
        if isinstance(response, AIMessage):
            message = response
        else:
            parts = list(self._chunks(response))
            for part in parts:
                if isinstance(part, BaseException):
                    raise part
            meta: dict = {}
            for part in parts:
                meta.update(part.response_metadata)
            message = AIMessage(content="".join(str(p.content) for p in parts), response_metadata=meta)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for part in self._chunks(self._next(messages)):
            if isinstance(part, BaseException):
                raise part
            chunk = ChatGenerationChunk(message=part)
            if run_manager:
                run_manager.on_llm_new_token(str(part.content), chunk=chunk)
            yield chunk
