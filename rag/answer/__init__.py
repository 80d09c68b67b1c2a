"""Stage 5 — answering: extractive answers (``extractive``), the LLM chain (``llm``), metadata answers
(``meta_answers``), the question's focus and its coverage (``focus``), the refusal signals
(``signals``), the answerability model (``answerability`` with ``answerability_model.json``) and the
refusal decision (``refusal``, ``refusal_need``, ``refusal_value``). Imports the lower stages only;
``rag.pipeline`` composes the stages."""
