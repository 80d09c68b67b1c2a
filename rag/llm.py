"""The LLM answer path: a LangChain (LCEL) chain ``prompt | chat model | StrOutputParser``.

The prompt is ``prompts/answer.md`` (sections ``## system`` and ``## user``, LangChain f-string
variables ``{question}`` and ``{context}``). Passages are numbered ``[n] 《title》 section``; citation
markers that point to no passage are removed from the answer (``clean_markers``).
Any OpenAI-compatible server works (OpenAI, DeepSeek, Qwen, vLLM, Ollama): ``OPENAI_BASE_URL``,
``OPENAI_API_KEY`` and ``RAG_LLM_MODEL``; requests time out after ``llm_timeout_s`` and are retried
``llm_max_retries`` times by the openai client before the caller falls back to the extractive answer.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from rag.settings import PROJECT_ROOT, Settings
from rag.text import normalize, split_sentences
from rag.types import Citation, Hit

PROMPTS_DIR = PROJECT_ROOT / "prompts"
MARKER = re.compile(r"\[(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\]")
REFUSAL_PREFIX = "文件中未找到"


@lru_cache(maxsize=8)
def load_prompt(name: str, prompts_dir: str = str(PROMPTS_DIR)):
    """A ``ChatPromptTemplate`` from ``prompts/<name>.md`` with ``## system`` and ``## user`` sections."""
    from langchain_core.prompts import ChatPromptTemplate

    text = (Path(prompts_dir) / f"{name}.md").read_text(encoding="utf-8")
    parts = re.split(r"^## (system|user)\s*$", text, flags=re.M)
    messages = [(role, body.strip()) for role, body in zip(parts[1::2], parts[2::2])]
    return ChatPromptTemplate.from_messages(messages)


def chat_model(settings: Settings):
    """A streaming ``ChatOpenAI`` for the configured OpenAI-compatible server."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=settings.llm_model, base_url=settings.llm_base_url,
                      api_key=settings.llm_api_key or "not-needed", timeout=settings.llm_timeout_s,
                      max_retries=settings.llm_max_retries, temperature=0, streaming=True)


def build_chain(llm):
    """The LCEL answer chain: {"question", "context"} → answer text (streamable)."""
    from langchain_core.output_parsers import StrOutputParser

    return load_prompt("answer") | llm | StrOutputParser()


def format_context(hits: list[Hit], metas: dict) -> str:
    """Passages numbered from 1: ``[n] 《title》（status/period） section`` then the passage text."""
    blocks = []
    for i, hit in enumerate(hits, start=1):
        meta = metas.get(hit.chunk.doc_id)
        tags = []
        if meta is not None:
            if meta.is_draft:
                tags.append(meta.status)
            if meta.period_label():
                tags.append("规划期" + meta.period_label())
        tag = f"（{'；'.join(tags)}）" if tags else ""
        blocks.append(f"[{i}] 《{hit.title}》{tag} {hit.chunk.section}\n{hit.chunk.text}")
    return "\n\n".join(blocks)


def clean_markers(answer: str, n_passages: int) -> tuple[str, list[int]]:
    """Remove citation markers that point to no passage; returns the text and the cited numbers in
    order of first use. ``[1,3]`` becomes ``[1][3]``; ``[9]`` with 5 passages disappears."""
    cited: list[int] = []

    def repl(m: re.Match) -> str:
        nums = [int(x) for x in re.split(r"\s*[,，、]\s*", m.group(1))]
        valid = [n for n in nums if 1 <= n <= n_passages]
        for n in valid:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in valid)

    return MARKER.sub(repl, answer), cited


def citations_for(answer: str, cited: list[int], hits: list[Hit]) -> list[Citation]:
    """One Citation per cited passage; ``quote`` is the passage sentence that shares the most
    characters with the answer sentences carrying its marker (verbatim from the passage)."""
    out = []
    for n in cited:
        hit = hits[n - 1]
        claims = " ".join(s for s in re.split(r"(?<=[。！？\n])", answer) if f"[{n}]" in s)
        claim_chars = set(normalize(MARKER.sub("", claims)))
        best, best_overlap = hit.chunk.text, -1.0
        for start, end in split_sentences(hit.chunk.text):
            sent = hit.chunk.text[start:end]
            chars = set(normalize(sent))
            overlap = len(chars & claim_chars) / (len(chars) or 1)
            if overlap > best_overlap:
                best, best_overlap = sent, overlap
        out.append(Citation(n, hit.chunk.chunk_id, hit.chunk.doc_id, hit.title, hit.chunk.section, best))
    return out
