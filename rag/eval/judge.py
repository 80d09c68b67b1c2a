"""LLM-judged answer metrics in the sense of RAGAS (Es et al., "RAGAS: Automated Evaluation of
Retrieval Augmented Generation", EACL 2024 demo, arXiv:2309.15217) — optional: ``rag eval --judge``.

* **faithfulness** ∈ [0, 1] — the share of the answer's claims that the retrieved context supports.
  Two LLM calls per answer: ``prompts/judge_claims.md`` decomposes the answer into atomic claims,
  ``prompts/judge_faithfulness.md`` gives one verdict per claim against the passages the answerer
  saw (``Answer.hits``). Score = supported claims / claims.
* **answer relevancy** ∈ [−1, 1] (in practice [0, 1]) — ``prompts/judge_relevancy.md`` asks the LLM
  for ``n`` questions (default 3, as in RAGAS) that the answer would answer and whether the answer is
  noncommittal; score = mean cosine similarity between the embeddings of the generated questions and
  of the original question, times 0 for a noncommittal answer. Embeddings: the index's own embedder
  (``rag.index.embeddings``; offline LSA by default), so no extra model is needed.

Refused answers (“文件中未找到…”) are not judged (``skipped``): they make no claim, and RAGAS's
relevancy would score a correct refusal of an unanswerable question as 0. The judge's reply must
contain JSON; code fences, ``<think>`` blocks and text around the JSON are tolerated. A reply that
cannot be parsed (or an LLM call that fails) leaves that metric *unjudged* for that question, with
the reason in the record; the run goes on.

Why not the ``ragas`` library: it pulls ``datasets``, ``instructor``, ``langchain-community``,
``networkx``, ``scikit-network``, ``diskcache`` and more into an offline tool; it sends usage
telemetry unless ``RAGAS_DO_NOT_TRACK`` is set; and its prompts are English few-shot prompts, while
our answers and passages are Chinese. The two metrics need a few prompts and a cosine, written here
with the project's own LangChain chat model (``rag.answer.llm.chat_model``) and prompt files.
"""

from __future__ import annotations

import json
import re

import numpy as np

from rag.errors import ConfigError
from rag.answer.llm import MARKER, PROMPTS_DIR, load_prompt

METRICS = ("faithfulness", "answer_relevancy")
_FENCE = re.compile(r"```[A-Za-z]*\s*\n?(.*?)```", re.S)
_THINK = re.compile(r"<think>.*?</think>", re.S)
_TRUE = {"true", "yes", "y", "1", "supported", "是", "支持", "成立"}
_FALSE = {"false", "no", "n", "0", "unsupported", "not supported", "否", "不支持", "不成立"}


class JudgeParseError(ValueError):
    """The judge's reply holds no JSON of the expected shape; the message is one line."""


def _snippet(text: str, n: int = 120) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= n else flat[:n] + "…"


def parse_json_reply(text: str):
    """The first JSON value (object or array) in an LLM reply.

    Tries, in order: the contents of each Markdown code fence, then the whole reply, each first
    as a whole and then from every ``{`` / ``[`` on (``json.JSONDecoder.raw_decode``, so prose
    before or after the JSON is ignored). ``<think>…</think>`` blocks are removed first.
    Raises JudgeParseError when nothing decodes.
    """
    if not isinstance(text, str):
        raise JudgeParseError(f"judge reply is a {type(text).__name__}, not text")
    clean = _THINK.sub("", text)
    decoder = json.JSONDecoder()
    for cand in [m.group(1) for m in _FENCE.finditer(clean)] + [clean]:
        cand = cand.strip()
        try:
            return json.loads(cand)
        except ValueError:
            pass
        for i, ch in enumerate(cand):
            if ch in "{[":
                try:
                    return decoder.raw_decode(cand, i)[0]
                except ValueError:
                    continue
    raise JudgeParseError(f"no JSON in the judge's reply: {_snippet(text)!r}")


def _list_field(obj, key: str) -> list:
    if isinstance(obj, dict):
        obj = obj.get(key)
    if not isinstance(obj, list):
        raise JudgeParseError(f"judge reply has no list {key!r}")
    return obj


def parse_claims(text: str) -> list[str]:
    """Claims from ``{"claims": [str, …]}`` (or a bare list; items may be ``{"claim": str}``).
    Blank claims are dropped. Raises JudgeParseError."""
    claims = []
    for item in _list_field(parse_json_reply(text), "claims"):
        if isinstance(item, dict):
            item = item.get("claim", item.get("statement"))
        if not isinstance(item, str):
            raise JudgeParseError(f"claim is not a string: {_snippet(item)!r}")
        if item.strip():
            claims.append(item.strip())
    return claims


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise JudgeParseError(f"verdict {value!r} is not true/false")


def parse_verdicts(text: str, n_claims: int) -> list[bool]:
    """One boolean per claim from ``{"verdicts": [{"supported": bool, …}, …]}`` (or a bare list;
    ``verdict`` is accepted for ``supported``; 1/0, "yes"/"no", "是"/"否" are accepted).
    Raises JudgeParseError when the shape is wrong or the count differs from ``n_claims``."""
    verdicts = []
    for item in _list_field(parse_json_reply(text), "verdicts"):
        if isinstance(item, dict):
            if "supported" not in item and "verdict" not in item:
                raise JudgeParseError("verdict without 'supported'")
            item = item.get("supported", item.get("verdict"))
        verdicts.append(_as_bool(item))
    if len(verdicts) != n_claims:
        raise JudgeParseError(f"judge gave {len(verdicts)} verdicts for {n_claims} claims")
    return verdicts


def parse_generated_questions(text: str) -> tuple[list[str], bool]:
    """``(questions, noncommittal)`` from ``{"questions": [str, …], "noncommittal": bool}``
    (``noncommittal`` defaults to false). Raises JudgeParseError without at least one question."""
    obj = parse_json_reply(text)
    questions = [q.strip() for q in _list_field(obj, "questions") if isinstance(q, str) and q.strip()]
    if not questions:
        raise JudgeParseError("judge generated no questions")
    noncommittal = _as_bool(obj.get("noncommittal", False)) if isinstance(obj, dict) else False
    return questions, noncommittal


def cosine_similarities(vectors: list[list[float]], query: list[float]) -> list[float]:
    """Cosine of each vector with ``query`` (0.0 where either is the zero vector)."""
    q = np.asarray(query, dtype=np.float64)
    out = []
    for v in vectors:
        v = np.asarray(v, dtype=np.float64)
        denom = float(np.linalg.norm(v) * np.linalg.norm(q))
        out.append(float(v @ q) / denom if denom > 0 else 0.0)
    return out


def _error(exc: Exception) -> str:
    return exc.args[0] if isinstance(exc, JudgeParseError) else f"{type(exc).__name__}: {_snippet(exc)}"


class Judge:
    """Scores answers with an LLM judge (see the module docstring).

    ``llm``: a LangChain chat model (``judge_model(settings)``, or a fake in tests); ``embedder``: a
    LangChain ``Embeddings`` (the index's); ``n_questions``: questions generated for answer
    relevancy; ``label``: the judge model's name for reports.
    """

    def __init__(self, llm, embedder, n_questions: int = 3, label: str | None = None,
                 prompts_dir: str = str(PROMPTS_DIR)):
        self.llm = llm
        self.embedder = embedder
        self.n_questions = n_questions
        self.label = label or _model_name(llm)
        self.prompts_dir = prompts_dir

    def _call(self, prompt: str, variables: dict) -> str:
        from langchain_core.output_parsers import StrOutputParser

        chain = load_prompt(prompt, self.prompts_dir) | self.llm | StrOutputParser()
        return chain.invoke(variables)

    def faithfulness(self, question: str, answer: str, contexts: list[str]) -> dict:
        """``{"score": float | None, "claims": [{"claim", "supported"}], "error": str | None}``;
        ``score`` is None (unjudged) when a reply cannot be parsed, the call fails or the answer
        yields no claim."""
        claims: list[str] = []
        try:
            claims = parse_claims(self._call("judge_claims", {"question": question, "answer": answer}))
            if not claims:
                return {"score": None, "claims": [], "error": "judge found no claim in the answer"}
            context = "\n\n".join(f"[{i}] {c}" for i, c in enumerate(contexts, start=1)) or "（无）"
            numbered = "\n".join(f"{i}. {c}" for i, c in enumerate(claims, start=1))
            verdicts = parse_verdicts(self._call("judge_faithfulness", {"context": context, "claims": numbered}),
                                      len(claims))
        except Exception as exc:  # noqa: BLE001 - unparseable reply or server failure → unjudged
            return {"score": None, "claims": [{"claim": c, "supported": None} for c in claims], "error": _error(exc)}
        return {"score": sum(verdicts) / len(verdicts),
                "claims": [{"claim": c, "supported": v} for c, v in zip(claims, verdicts)], "error": None}

    def answer_relevancy(self, question: str, answer: str) -> dict:
        """``{"score": float | None, "questions": [str], "noncommittal": bool | None,
        "similarities": [float], "error": str | None}``."""
        try:
            questions, noncommittal = parse_generated_questions(
                self._call("judge_relevancy", {"answer": answer, "n": self.n_questions}))
            sims = cosine_similarities(self.embedder.embed_documents(questions), self.embedder.embed_query(question))
        except Exception as exc:  # noqa: BLE001 - unparseable reply or server failure → unjudged
            return {"score": None, "questions": [], "noncommittal": None, "similarities": [], "error": _error(exc)}
        score = 0.0 if noncommittal else sum(sims) / len(sims)
        return {"score": score, "questions": questions, "noncommittal": noncommittal,
                "similarities": [round(s, 4) for s in sims], "error": None}

    def judge_answer(self, question: str, answer: str, contexts: list[str], refused: bool) -> dict:
        """Both metrics for one answer: ``{"faithfulness": {...}, "answer_relevancy": {...}}``, or
        ``{"skipped": "refused"}`` for a refusal. Citation markers ``[n]`` are removed first."""
        if refused:
            return {"skipped": "refused"}
        text = MARKER.sub("", answer).strip()
        return {"faithfulness": self.faithfulness(question, text, contexts),
                "answer_relevancy": self.answer_relevancy(question, text)}


def _model_name(llm) -> str:
    for obj in (llm, getattr(llm, "bound", None)):
        name = getattr(obj, "model_name", None) or getattr(obj, "model", None)
        if isinstance(name, str) and name:
            return name
    return type(getattr(llm, "bound", llm)).__name__


def judge_model(settings, model: str | None = None):
    """The judge's chat model: ``rag.answer.llm.chat_model`` (ChatOpenAI on the configured OpenAI-compatible
    server, temperature 0) with ``model`` instead of ``settings.llm_model`` when given, non-streaming.
    Raises ConfigError when no LLM is configured."""
    from rag.answer.llm import chat_model

    if not settings.llm_enabled:
        raise ConfigError("--judge needs an LLM: set OPENAI_BASE_URL and/or OPENAI_API_KEY (and RAG_LLM_MODEL), "
                          "and do not set RAG_LLM=off")
    return chat_model(settings.with_(llm_model=model) if model else settings).bind(stream=False)


def summarize_judge(records: list[dict], label: str | None) -> dict:
    """Aggregate judged records (``record["judge"]`` as from ``Judge.judge_answer``).

    Returns ``{"model", "faithfulness", "answer_relevancy"`` (means over judged answers, None when
    none), ``"n_judged": {metric: int}, "skipped_refused": int, "unjudged": {metric: [{"id", "error"}]}}``.
    """
    out = {"model": label, "skipped_refused": sum(1 for r in records if r["judge"].get("skipped")),
           "n_judged": {}, "unjudged": {}}
    for metric in METRICS:
        scored = [r["judge"][metric]["score"] for r in records
                  if metric in r["judge"] and r["judge"][metric]["score"] is not None]
        out[metric] = sum(scored) / len(scored) if scored else None
        out["n_judged"][metric] = len(scored)
        out["unjudged"][metric] = [{"id": r["id"], "error": r["judge"][metric]["error"]} for r in records
                                   if metric in r["judge"] and r["judge"][metric]["score"] is None]
    return out
