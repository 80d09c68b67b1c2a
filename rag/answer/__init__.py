"""Stage 5 — answering: extractive answers (``extractive``: the entry points and their orchestration; its parts
``scoring`` — candidate sentences and their scores —, ``selection`` — which sentences an answer quotes —,
``enumerations`` — list answers — and ``render`` — answer text and citations), the LLM chain (``llm``), metadata answers
(``meta_answers``), the question's focus and its coverage (``focus``), the refusal signals
(``signals``), the answerability model (``answerability`` with ``answerability_model.json``) and the
refusal decision (``refusal``, ``refusal_need``, ``refusal_value``). Imports the lower stages only;
``rag.pipeline`` composes the stages."""
