"""One answerability decision for extractive answers: a calibrated logistic regression over evidence
features (issue 11 §4), replacing the former ordered chain of hand-written refusal rules.

Candidate features (``FEATURES``; each higher when the evidence fits the question less, except the
retrieval scores in ``LOWER_IS_WORSE``). All are shares, 0/1 flags or normalised scores, so that their
scale does not depend on the corpus's size:

- the former rules' signals (``rag.answer.signals.rule_signals``): ``coverage`` (1 − best question-term
  coverage of the top sentences), ``focus`` (1 − best focus coverage), the value-kind match per asked
  kind (``value_time``, ``value_number``, ``value_place``, ``value_org``, ``value_person``: 1 − the
  best focus coverage of a sentence stating such a value; ``value_fires`` when the worst is below
  ``min_value_support``), asked detail nouns (``detail``…), members of a counted group, achieved
  outcomes, a term's definition, years and five-year plans, another era's document, answer types
  (amount, deadline, phone …), words no document contains, and scope (``place``: a place no document
  covers, named beside one they do);
- scope of the hits (``scope``): the share of the top sentences that come from outside the documents or
  places the question names, and ``scope_top`` (1 when the best sentence does);
- retrieval scores of the best hit: ``bm25`` (its BM25 score over the score of a passage holding every
  question word once, in [0, 1]) and ``fused`` (the RRF score × ``rrf_k``: about the number of rankings
  that put it first). The dense cosine (``dense``) is recorded but no candidate: its scale depends on
  the embedding model and the corpus it was fitted on.

The model (``Model``) standardises the features (mean, scale), applies the coefficients with numpy
(scikit-learn is needed only to refit) and refuses when the probability reaches the stored threshold.
A missing feature (a hand-made index without document frequencies, hits without retriever scores)
takes its training mean: it then pushes neither way. The refusal's reason is the one-line Chinese
reason of its *decisive feature*: the feature with the largest push towards refusal,
coef × standardised value, among those that carry a reason.

The fitted model is the data file ``rag/answer/answerability_model.json`` (feature names, mean, scale,
coefficients, intercept, threshold and what it was fitted on, with the grouped and leave-one-corpus-out
scores); ``rag.eval.answerability_fit`` refits it on the tuning questions (see there).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("answerability_model.json")

RULE_FEATURES = ("coverage", "focus", "place", "document", "year", "answer_type", "definition",
                 "value_time", "value_number", "value_place", "value_org", "value_person", "value_fires", "value_top",
                 "detail", "detail_fires", "members", "members_fires", "outcome", "outcome_fires", "missing_term")
# the candidate features; ``fit`` keeps those whose coefficient points the way the feature says (``LOWER_IS_WORSE``)
FEATURES = (*RULE_FEATURES, "scope", "scope_top", "bm25", "fused")
LOWER_IS_WORSE = frozenset({"bm25", "fused"})  # retrieval scores: a lower score is weaker evidence

# rule name reported for each feature (``RefusalDecision.rule``): the *_fires and value_<kind> features
# report their rule
_RULE_OF = {f: "value" if f.startswith("value_") else f.removesuffix("_fires") for f in FEATURES}
_RETRIEVAL_REASON = "检索到的段落与问题的相关度低（{what}）。"
_GENERIC_REASON = "综合各项证据，检索到的段落不足以回答该问题（拒答概率 {p:.2f}）。"
TOP = 5  # sentences whose hits count for the retrieval and scope features


@dataclass(frozen=True)
class RefusalDecision:
    """``refused``; ``rule``: which rule refused (``rag.answer.refusal``'s hard rules, or a feature's rule) or None; ``reason``: a user-facing
    Chinese sentence saying why (None when answered); ``probability``: the model's refusal probability in
    [0, 1] (None when a hard rule decided)."""

    refused: bool
    rule: str | None = None
    reason: str | None = None
    probability: float | None = None  # the answerability model's refusal probability (None for a hard rule)


ANSWER = RefusalDecision(False)



@dataclass
class Evidence:
    """The features of one question's evidence: ``values`` feature name → float (None when it cannot be
    computed), ``reasons`` feature name → one-line Chinese reason (None when the feature says nothing
    against the evidence)."""

    values: dict[str, float | None]
    reasons: dict[str, str | None] = field(default_factory=dict)


def _scope_share(scored: list, index, plan, top: int = TOP) -> float:
    """Share of the top ``top`` sentences' hits outside the documents the question names (``plan.doc_ids``)
    or, without those, outside the documents that apply in the places it names (``plan.regions``, else the
    gazetteer places of ``plan.question`` when no indexed document is of them, ``named_places``: a
    document of the same province counts as inside, and so does a national one (region 全国) or one of
    no stated region, as ``rag.answer.extractive.scoped_order`` keeps them); 0.0 when it names none."""
    docs = set(getattr(plan, "doc_ids", ()) or ())
    regions = tuple(getattr(plan, "regions", ()) or ())
    if not docs and not regions and getattr(plan, "question", None):
        # a place the question names that no document is of (广州 over a corpus with 广东省 documents only):
        # the documents that apply there are its province's and the national ones
        from rag.answer.signals import named_places

        regions = tuple(p.name for p in named_places(plan.question))
    if not docs and regions:
        provinces = {_province_code(r) for r in regions} - {None}
        docs = {d for d, m in index.docs.items() if not m.region or m.region == "全国" or m.region in regions
                or _province_code(m.region) in provinces}
    if not docs:
        return 0.0
    best = scored[:top]
    return sum(1 for s in best if s.hit.chunk.doc_id not in docs) / len(best)


@functools.lru_cache(maxsize=512)
def _province_code(region: str) -> str | None:
    """The 2-digit province code of a region name through the gazetteer (浙江省, 杭州市 → "33"), or None."""
    from rag.ingest.metadata import find_places

    found = find_places(region)
    return found[0][0].code[:2] if found else None


def _retrieval(question: str, scored: list, index, settings) -> dict[str, float | None]:
    """``bm25``, ``dense`` and ``fused`` of the best-ranked hit among the top sentences' hits (None
    when the hits carry no such score)."""
    hits = sorted({id(s.hit): s.hit for s in scored[:TOP]}.values(), key=lambda h: h.rank)
    out: dict[str, float | None] = {"bm25": None, "dense": None, "fused": None}
    if not hits:
        return out
    scores = getattr(hits[0], "scores", None) or {}
    if "bm25" in scores and hasattr(index, "tokenizer") and hasattr(index, "idf"):
        # BM25 (k1 = 1.2) of a passage holding each question word once is at most (k1 + 1) × Σ idf
        bound = 2.2 * sum(index.idf(t) for t in set(index.tokenizer.tokens(question)))
        out["bm25"] = min(scores["bm25"] / bound, 1.0) if bound > 0 else None
    if "dense" in scores:
        out["dense"] = float(scores["dense"])
    if "rrf" in scores:
        out["fused"] = float(scores["rrf"]) * getattr(settings, "rrf_k", 60)
    return out


def features(question: str, scored: list, index, settings, plan=None) -> Evidence:
    """The evidence features of ``question`` (see the module docstring). ``scored``: the
    ``rag.answer.extractive.ScoredSentence`` list, best first, non-empty; ``index``: the LoadedIndex (or a
    stand-in with ``docs``); ``settings``: ``rag.settings.Settings``; ``plan``: the QueryPlan or None.
    When a ``recording`` is active the evidence is appended to it."""
    from rag.understand.need import VALUE_KINDS
    from rag.answer.signals import rule_signals

    signals = rule_signals(question, scored, index, settings, plan)
    values: dict[str, float | None] = {name: value for name, (value, _) in signals.items()}
    reasons = {name: reason for name, (_, reason) in signals.items()}
    if not (hasattr(index, "df") and hasattr(index, "tokenizer")):
        for name in ("focus", "value", *(f"value_{k.name}" for k in VALUE_KINDS), "detail", "members",
                     "outcome", "missing_term"):
            values[name] = None  # cannot be computed without document frequencies: the training mean
    values["scope"] = _scope_share(scored, index, plan) if hasattr(index, "docs") else None
    reasons["scope"] = "检索到的段落大多不属于问题所问的文件或地区。"
    values["scope_top"] = _scope_share(scored, index, plan, top=1) if hasattr(index, "docs") else None
    reasons["scope_top"] = "最相关的段落不属于问题所问的文件或地区。"
    values.update(_retrieval(question, scored, index, settings))
    ev = Evidence(values, reasons)
    if _RECORDING:
        _RECORDING[-1].append((question, ev))
    return ev


@dataclass(frozen=True)
class Model:
    """A fitted answerability model: ``names`` (feature names, order of the arrays), ``mean``/``scale``
    (standardisation), ``coef`` and ``intercept`` (logistic regression on standardised features; a
    positive coefficient pushes towards refusal), ``threshold`` (refuse when the probability ≥ it) and
    ``fitted_on`` (what it was fitted on: datasets, counts, settings, metrics)."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    fitted_on: dict = field(default_factory=dict)

    def standardized(self, values: dict[str, float | None]):
        """The standardised feature vector (numpy array of ``len(names)``); a missing value → 0."""
        import numpy as np

        x = np.array([values.get(n) if values.get(n) is not None else m for n, m in zip(self.names, self.mean)],
                     dtype=float)
        return (x - np.asarray(self.mean)) / np.asarray(self.scale)

    def probability(self, values: dict[str, float | None]) -> float:
        """The refusal probability in [0, 1] of one question's feature values."""
        import numpy as np

        z = float(np.dot(self.standardized(values), np.asarray(self.coef)) + self.intercept)
        return 1.0 / (1.0 + math.exp(-z))

    def contributions(self, values: dict[str, float | None]) -> dict[str, float]:
        """feature → coef × standardised value (its push towards refusal on the logit scale)."""
        import numpy as np

        return dict(zip(self.names, (self.standardized(values) * np.asarray(self.coef)).tolist()))

    def to_json(self) -> dict:
        """The JSON shape of the model file."""
        return {"features": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept, "threshold": self.threshold,
                "fitted_on": self.fitted_on}

    @classmethod
    def from_json(cls, data: dict) -> Model:
        """A Model from the JSON shape of ``to_json``. Raises KeyError/ValueError for a malformed file."""
        names = tuple(data["features"])
        arrays = [tuple(float(v) for v in data[k]) for k in ("mean", "scale", "coef")]
        if any(len(a) != len(names) for a in arrays):
            raise ValueError("answerability model: features, mean, scale and coef differ in length")
        return cls(names, *arrays, float(data["intercept"]), float(data["threshold"]), data.get("fitted_on", {}))


@functools.lru_cache(maxsize=4)
def load_model(path: str | None = None) -> Model | None:
    """The model stored at ``path`` (default ``MODEL_PATH``), or None when the file does not exist
    (then only the hard rules refuse). Raises RuntimeError with what to do for a damaged file."""
    p = Path(path) if path else MODEL_PATH
    if not p.exists():
        return None
    try:
        return Model.from_json(json.loads(p.read_text(encoding="utf-8")))
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise RuntimeError(f"answerability model {p} is damaged ({e}); refit it: python -m rag.eval.answerability_fit fit") from e


def decide(evidence: Evidence, model: Model | None = None):
    """The ``RefusalDecision`` of the model (default ``load_model()``) on ``evidence``:
    refused when the probability ≥ the model's threshold, with ``rule`` the decisive feature's rule
    and ``reason`` its one-line Chinese reason; answered (``ANSWER`` with the probability)
    otherwise or when no model is stored."""
    model = model or load_model()
    if model is None:
        return RefusalDecision(False)
    p = model.probability(evidence.values)
    if p < model.threshold:
        return RefusalDecision(False, probability=p)
    pushes = model.contributions(evidence.values)
    ranked = sorted((c, n) for n, c in pushes.items() if c > 0)
    for _, name in reversed(ranked):
        reason = evidence.reasons.get(name)
        if reason is None and name in ("bm25", "dense", "fused") and evidence.values.get(name) is not None:
            label = {"bm25": "BM25 相对得分", "dense": "向量相似度", "fused": "融合得分"}[name]
            reason = _RETRIEVAL_REASON.format(what=f"{label} {evidence.values[name]:.2f}")
        if reason:
            return RefusalDecision(True, _RULE_OF.get(name, name), reason, p)
    return RefusalDecision(True, "model", _GENERIC_REASON.format(p=p), p)


# --- recording and fitting ----------------------------------------------------------------------------
_RECORDING: list[list] = []  # the active recordings, innermost last (a list, not a ContextVar: the pipeline
# may answer in a worker thread)


@contextlib.contextmanager
def recording():
    """Within the block, every ``features`` call appends ``(question, Evidence)`` to the yielded list
    (used by ``rag.eval.answerability_fit.collect`` to read the features at the pipeline's decision)."""
    rows: list = []
    _RECORDING.append(rows)
    try:
        yield rows
    finally:
        _RECORDING.remove(rows)
