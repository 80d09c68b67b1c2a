"""Fitting the answerability model (``rag.answer.answerability``) on the tuning questions of several corpora.

``fit`` treats each corpus as a *domain*: the bundled corpus's questions, those over the external corpus
eval/corpora/lawref-dev (two question sets, one domain) and those over eval/corpora/lawref-x3. It keeps
only the candidates whose coefficient points the way the feature says (a wrong sign is collinearity or an
artefact of the tuning questions), weighs the rows so that the bundled corpus's 555 questions do not
dominate (``domain_weights``: domain size to a power, optionally each domain's two classes alike — the
unanswerable base rate differs by corpus: 33 % bundled, ~15 % external) and sets the threshold where the
out-of-group answerable questions refused, averaged over the corpora (each counting alike), reach a
level q. The regularisation, the weighting, q and the feature families (``FAMILIES``: literal-match
features that only help in-corpus show up here) are chosen by *leave-one-corpus-out*: each corpus is
scored by a model and a threshold fitted on the other corpora only; the criterion is first that grouped
cross-validation on all tuning questions keeps refusal recall ≥ 0.80 and answerable refused ≤ 5 %, then
that no left-out corpus has more than 5 % of its answerable questions refused, then refusal recall. It
reports the leave-one-corpus-out scores per corpus beside those of all features with weight 1.

The fitted model is the data file ``rag/answer/answerability_model.json`` (feature names, mean, scale,
coefficients, intercept, threshold and what it was fitted on, with the grouped and leave-one-corpus-out
scores). Refit it with::

    python -m rag.eval.answerability_fit fit   # bundled eval/datasets/dev.jsonl + split "dev" of the external sets

which runs every tuning question through the pipeline (``PolicyQA.ask``) and records the features at the
decision (``recording``). The external sets are ``EXTERNAL_SETS`` (``--external DATASET[=CORPUS_DIR]``),
each indexed over the folder of eval/corpora holding its evidence documents (``dataset_corpus``), as
``rag eval --corpus`` indexes it. The held-out ``policy_qa.jsonl``, ``external_gd.jsonl`` and the external
``holdout`` split are never used. ``python -m rag.eval.answerability_fit show`` prints the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.settings import PROJECT_ROOT
from rag.answer.answerability import FEATURES, LOWER_IS_WORSE, MODEL_PATH, Model, load_model, recording


MIN_CV_RECALL, MAX_CV_FALSE_REFUSALS = 0.80, 0.05  # grouped cross-validation targets of the fit
BUNDLED = "bundled"  # the domain (``corpus`` field) of questions over the bundled corpus
# the external question sets fitted on (their split "dev" only), each over the corpus holding its evidence
EXTERNAL_SETS = ("external_dev.jsonl", "external_qa2.jsonl", "external_x3.jsonl")


def collect(settings, dataset: Path, corpus: Path | None = None, split: str | None = None,
            progress=lambda it, d, t: it) -> list[dict]:
    """Run each question of ``dataset`` (only ``split`` when given) through ``PolicyQA.ask`` on the
    bundled corpus or the external ``corpus`` directory (indexed as ``rag eval --corpus`` does) and
    return one row per question that reached the answerability decision: ``{"id", "question", "type",
    "label" (1 = unanswerable), "values", "source", "corpus"}`` (``corpus``: the corpus folder's name, or
    ``BUNDLED``). Questions answered before the decision (metadata
    answers) or refused by a hard rule have no row."""
    from rag.eval.dataset import load_questions
    from rag.eval.runner import corpus_data_dir, corpus_files, select_split
    from rag.pipeline import PolicyQA

    questions = select_split(load_questions(dataset), split)
    files = None
    if corpus is not None:
        from rag.index.build import ingest

        files = corpus_files(corpus)
        settings = settings.with_(data_dir=corpus_data_dir(settings, corpus))
        ingest(settings, files, progress=progress, exclude=[])
    qa = PolicyQA(settings, auto_ingest=files is None)
    rows = []
    source = Path(dataset).name + (f":{split}" if split else "")
    domain = Path(corpus).resolve().name if corpus is not None else BUNDLED
    for q in progress(questions, f"features {source}", len(questions)):
        with recording() as rec:
            qa.ask(q["question"])
        if rec:
            rows.append({"id": q["id"], "question": q["question"], "type": q["type"],
                         "label": int(q["type"] == "unanswerable"), "values": rec[-1][1].values, "source": source,
                         "corpus": domain})
    return rows


LOCO_LIMIT = 0.05  # share of a left-out corpus's answerable questions the model may refuse
# what the fitted model must keep on its own tuning corpora (grouped cross-validation, all rows)


# candidate features grouped into families: ``fit`` drops a whole family when leave-one-corpus-out says so
FAMILIES = {
    "coverage": ("coverage",), "focus": ("focus",), "missing_term": ("missing_term",),
    # one family per asked value kind: a kind whose literal match fires on paraphrases is dropped alone
    "value_time": ("value_time",), "value_number": ("value_number",), "value_place": ("value_place",),
    "value_org": ("value_org",), "value_person": ("value_person",),
    "value_fires": ("value_fires",), "value_top": ("value_top",), "answer_type": ("answer_type",),
    "detail": ("detail", "detail_fires"), "members": ("members", "members_fires"),
    "outcome": ("outcome", "outcome_fires"), "flags": ("place", "document", "year", "definition"),
    "scope": ("scope", "scope_top"), "bm25": ("bm25",), "fused": ("fused",),
}


def row_domain(row: dict) -> str:
    """The domain of a tuning row for leave-one-corpus-out: the corpus its question was asked over (its
    ``corpus`` field: a corpus folder's name or ``BUNDLED``; two question sets over one corpus are one
    domain), or its ``source`` for a row without that field."""
    return row.get("corpus") or row["source"]


def question_group(row: dict) -> str:
    """The group of a tuning row for grouped cross-validation: an external corpus's questions are one
    group (its corpus, ``row_domain``: predicted by a model that saw no question over that corpus); the
    bundled corpus's questions are grouped by the batch their id names ("d6-U09" → "dev.jsonl:d6"; they
    were written in batches, each a few dozen questions by one author at one time); a row without a
    ``corpus`` field: its source and batch, or its source alone for an id without a "-"."""
    corpus = row.get("corpus")
    if corpus and corpus != BUNDLED:
        return corpus
    qid = str(row.get("id", ""))
    return f"{row['source']}:{qid.split('-')[0]}" if "-" in qid else row["source"]


def domain_weights(rows: list[dict], y, power: float = 1.0, balance: bool = False):
    """Sample weights (numpy array, mean 1) that keep one corpus's questions from dominating: a row of a
    domain (``row_domain``) with n rows weighs n^−power (power 1: every domain the same total weight;
    0: every row the same). ``balance``: within each domain, answerable and unanswerable rows carry the
    same total weight (the unanswerable base rate differs by corpus: 33 % bundled, ~15 % external)."""
    import numpy as np

    domains = np.array([row_domain(r) for r in rows])
    w = np.ones(len(rows))
    for d in set(domains.tolist()):
        m = domains == d
        w[m] = m.sum() ** -power
        if balance:
            for label in (0, 1):
                c = m & (y == label)
                if c.any():
                    w[c] *= 0.5 * m.sum() / c.sum()
    return w * len(w) / w.sum()


def _matrix(rows: list[dict], names):
    import numpy as np

    return np.array([[np.nan if r["values"].get(n) is None else r["values"][n] for n in names] for r in rows], dtype=float)


def _fit_lr(raw, y, w, names, c: float):
    """Missing values → column mean, standardise, L2 logistic regression (scikit-learn). Returns
    (names, mean, scale, coef, intercept) over the non-constant columns."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    present = ~np.isnan(raw)
    mean = np.where(present.any(axis=0), np.nansum(raw, axis=0) / np.maximum(present.sum(axis=0), 1), 0.0)
    X = np.where(present, raw, mean)
    scale = X.std(axis=0)
    keep = scale > 1e-9
    lr = LogisticRegression(C=c, max_iter=5000).fit((X[:, keep] - mean[keep]) / scale[keep], y, sample_weight=w)
    return (tuple(n for n, k in zip(names, keep) if k), mean[keep], scale[keep], lr.coef_[0], float(lr.intercept_[0]))


def _predict(params, raw_rows: list[dict]):
    import numpy as np

    names, mean, scale, coef, intercept = params
    raw = _matrix(raw_rows, names)
    z = (np.where(np.isnan(raw), mean, raw) - mean) / scale @ coef + intercept
    return 1.0 / (1.0 + np.exp(-z))


def _fit_signed(rows: list[dict], y, w, names, c: float):
    """``_fit_lr`` keeping only features whose coefficient points the way the feature says (a refusal
    signal up, a retrieval score in ``LOWER_IS_WORSE`` down): the feature with the largest wrong-signed
    coefficient is dropped and the rest refitted until none is left — a wrong sign is collinearity or
    an artefact of the tuning questions, which does not carry over to another corpus."""
    names = list(names)
    while True:
        params = _fit_lr(_matrix(rows, names), y, w, names, c)
        wrong = [(abs(b), n) for n, b in zip(params[0], params[3]) if b != 0 and (b < 0) != (n in LOWER_IS_WORSE)]
        if not wrong:
            return params
        names.remove(max(wrong)[1])


def _grouped_oof(rows: list[dict], y, w, names, c: float):
    """Out-of-group refusal probabilities: each group (``question_group``) predicted by the model fitted
    (with feature selection) on the other groups."""
    import numpy as np

    groups = np.array([question_group(r) for r in rows])
    if len(set(groups.tolist())) < 2:  # one group (a single batch): stratified 5-fold instead
        from sklearn.model_selection import StratifiedKFold

        groups = np.zeros(len(rows), dtype=int)
        n_splits = max(2, min(5, int(min(y.sum(), (1 - y).sum()))))
        for fold, (_, te) in enumerate(StratifiedKFold(n_splits, shuffle=True, random_state=0).split(groups, y)):
            groups[te] = fold
    oof = np.zeros(len(rows))
    for g in dict.fromkeys(groups.tolist()):
        test = groups == g
        train = [r for r, t in zip(rows, test) if not t]
        if len(set(y[~test].tolist())) < 2:
            oof[test] = y[~test].mean()
            continue
        params = _fit_signed(train, y[~test], w[~test], names, c)
        oof[test] = _predict(params, [r for r, t in zip(rows, test) if t])
    return oof


def _threshold(oof, y, max_false_refusals: float, domains=None) -> float:
    """The lowest probability at which the share of answerable rows (y = 0) refused stays ≤ the limit,
    the share taken per domain and averaged (``domains``: one label per row, every domain counting
    alike, however many questions it has; None: all rows one domain)."""
    import numpy as np

    domains = np.zeros(len(y)) if domains is None else np.asarray(domains)
    answerable = [np.round(oof[(domains == d) & (y == 0)], 4) for d in dict.fromkeys(domains.tolist())]
    answerable = [a for a in answerable if len(a)]
    threshold = 1.0
    for t in sorted(set(np.round(oof, 4).tolist()), reverse=True):
        if float(np.mean([(a >= t).mean() for a in answerable])) > max_false_refusals + 1e-9:
            break
        threshold = t
    return threshold


def _rates(p, y, threshold: float) -> dict:
    """answerable refused, refusal recall and precision of probabilities ``p`` at ``threshold``."""
    r = p >= threshold
    return {"n": len(y), "unanswerable": int(y.sum()),
            "answerable_refused": round(float(r[y == 0].mean()), 4) if (y == 0).any() else None,
            "refusal_recall": round(float(r[y == 1].mean()), 4) if (y == 1).any() else None,
            "refusal_precision": round(float((r & (y == 1)).sum() / r.sum()), 4) if r.any() else None}


def _loco(rows: list[dict], y, names, c: float, power: float, balance: bool, qs) -> dict:
    """Leave-one-corpus-out of one setting: for each domain, the model fitted on the other domains
    (weights ``domain_weights``) and, per ``q`` of ``qs``, the threshold ``_threshold`` at ``q`` over
    the other domains' out-of-group probabilities; → {domain: {"p": probabilities, "y": labels,
    "thresholds": {q: t}}}."""
    import numpy as np

    domains = np.array([row_domain(r) for r in rows])
    out = {}
    for d in dict.fromkeys(domains.tolist()):
        test = domains == d
        train = [r for r, t in zip(rows, test) if not t]
        if len(set(y[~test].tolist())) < 2:
            continue
        w = domain_weights(train, y[~test], power, balance)
        oof = _grouped_oof(train, y[~test], w, names, c)
        p = _predict(_fit_signed(train, y[~test], w, names, c), [r for r, t in zip(rows, test) if t])
        out[d] = {"p": p, "y": y[test], "thresholds": {q: _threshold(oof, y[~test], q, domains[~test]) for q in qs}}
    return out


def _loco_key(loco: dict, q: float, limit: float = LOCO_LIMIT) -> tuple:
    """The leave-one-corpus-out part of the selection criterion at ``q`` (smaller is better):
    ``(shortfall, −mean refusal recall, mean log loss)`` over the left-out domains. ``shortfall`` sums,
    per domain, how far the share of answerable questions refused is above ``limit`` plus how far
    refusal recall is below ``MIN_CV_RECALL`` (0 when a domain meets both); values rounded to 4 places."""
    import numpy as np

    shortfall, recall, loss = 0.0, [], []
    for v in loco.values():
        r = _rates(v["p"], v["y"], v["thresholds"][q])
        if r["answerable_refused"] is not None:
            shortfall += max(0.0, r["answerable_refused"] - limit)
        if r["refusal_recall"] is not None:
            shortfall += max(0.0, MIN_CV_RECALL - r["refusal_recall"])
            recall.append(r["refusal_recall"])
        pc = np.clip(v["p"], 1e-6, 1 - 1e-6)
        loss.append(float(-np.mean(v["y"] * np.log(pc) + (1 - v["y"]) * np.log(1 - pc))))
    return (round(shortfall, 4), -round(float(np.mean(recall)) if recall else 0.0, 4),
            round(float(np.mean(loss)), 4))


def fit(rows: list[dict], c: float | None = None, max_false_refusals: float | None = None,
        cs: tuple[float, ...] = (0.1, 0.3, 1.0), powers: tuple[float, ...] = (0.0, 0.5, 1.0),
        balances: tuple[bool, ...] = (False, True), qs: tuple[float, ...] = (0.02, 0.03, 0.05, 0.08, 0.1),
        select_features: bool = True, loco_limit: float = LOCO_LIMIT,
        features: tuple[str, ...] | None = None) -> Model:
    """Fit the model on ``rows`` (``collect``'s shape) with scikit-learn for transfer to unseen corpora.

    Each corpus is a *domain* (``row_domain``). Missing values take the feature's mean; features are
    standardised; L2-regularised logistic regression, keeping only features whose coefficient has the
    sign the feature stands for (``_fit_signed``), with sample weights ``domain_weights`` (domain size
    ``power``, per-domain class ``balance``). The threshold is the lowest probability at which the
    out-of-group answerable questions refused, averaged over the domains (``_threshold``), stay ≤ q.
    The setting — C (``cs``, or ``c``), power, balance, q (``qs``, or ``max_false_refusals``) and, with
    ``select_features``, the feature families (``FAMILIES``, dropped one at a time while that improves
    the criterion, then C, power, balance re-chosen) — is chosen by this criterion, in order: (1)
    *leave-one-corpus-out* (``_loco``: each domain scored by a model and a threshold fitted on the other
    domains only): the fewest left-out corpora with more than ``loco_limit`` of their answerable
    questions refused, then the smallest excess; (2) on all tuning questions, grouped cross-validation
    (``question_group``: a bundled batch, or a whole external corpus, predicted by a model that never saw
    it) keeps refusal recall ≥ ``MIN_CV_RECALL`` and answerable refused ≤ ``MAX_CV_FALSE_REFUSALS`` at
    the setting's threshold (the smallest shortfall); (3) the highest mean leave-one-corpus-out refusal
    recall, the lowest log loss. Transfer comes first: with the tuning corpora's own targets first, the
    fit chose (same rows) a setting refusing 37 % of the unseen corpus's answerable questions where
    another refused 22 %; with false refusals alone first, one that refused almost nothing. With a single domain
    there is no such score: C is the one with the lowest grouped log loss and q ``max_false_refusals``
    (default 0.03). The final model is fitted on all rows with the chosen setting. ``fitted_on``
    reports the setting, the selection steps, the grouped cross-validation per domain, the
    leave-one-corpus-out scores of the chosen setting per domain and those of all features with weight
    1 (C 0.3, q 0.03, same threshold rule). ``features`` restricts the candidate features (default
    ``FEATURES``; the CLI's ``--drop``). Raises ValueError when the rows hold only one class."""
    import numpy as np
    from sklearn.metrics import log_loss

    y = np.array([r["label"] for r in rows])
    if len(set(y.tolist())) < 2:
        raise ValueError("fitting needs answerable and unanswerable questions")
    domains = np.array([row_domain(r) for r in rows])
    cs = (c,) if c else tuple(cs)
    qs = (max_false_refusals,) if max_false_refusals is not None else tuple(qs)
    features_all = tuple(features or FEATURES)
    trace: list = []
    if len(set(domains.tolist())) < 2:  # no corpus to leave out: grouped log loss chooses C
        losses = {cc: log_loss(y, np.clip(_grouped_oof(rows, y, np.ones(len(y)), features_all, cc), 1e-6, 1 - 1e-6))
                  for cc in cs}
        best = {"C": min(losses, key=losses.get), "power": 0.0, "balance": False,
                "q": max_false_refusals if max_false_refusals is not None else 0.03}
        names = features_all
        loco, baseline = {}, {}
    else:
        cache: dict = {}

        def run(names_, cc, power, balance):
            key = (names_, cc, power, balance)
            if key not in cache:
                oof_ = _grouped_oof(rows, y, domain_weights(rows, y, power, balance), names_, cc)
                cache[key] = (_loco(rows, y, names_, cc, power, balance, qs), oof_)
            return cache[key]

        def key_of(names_, cc, pw, bal, q):
            lo, oof_ = run(names_, cc, pw, bal)
            cv = _rates(oof_, y, _threshold(oof_, y, q, domains))
            short = max(0.0, MIN_CV_RECALL - cv["refusal_recall"]) + max(0.0, cv["answerable_refused"]
                                                                         - MAX_CV_FALSE_REFUSALS)
            # transfer first: each left-out corpus's shortfall from both targets (answerable refused above
            # ``loco_limit``, refusal recall below ``MIN_CV_RECALL``), then the tuning corpora's own targets
            shortfall, recall, loss = _loco_key(lo, q, loco_limit)
            return (shortfall, int(short > 0), round(short, 4), recall, loss)

        def best_of(names_, settings_):
            return min(((key_of(names_, cc, pw, bal, q), (cc, pw, bal, q))
                        for cc, pw, bal in settings_ for q in qs), key=lambda kv: kv[0])

        grid = [(cc, pw, bal) for cc in cs for pw in powers for bal in balances]
        key, (cc, pw, bal, q) = best_of(features_all, grid)
        trace.append({"step": "setting", "key": list(key)})
        names = features_all
        families = [f for f in FAMILIES if any(n in names for n in FAMILIES[f])]
        while select_features and len(families) > 1:
            # drop a family when that improves the criterion (setting C, power, balance kept; q re-chosen)
            tries = []
            for fam in families:
                trial = tuple(n for n in names if n not in FAMILIES[fam])
                k, s = best_of(trial, [(cc, pw, bal)])
                tries.append((k, fam, trial, s))
            k, fam, trial, s = min(tries, key=lambda t: t[0])
            if k >= key:
                break
            key, names, q = k, trial, s[3]
            families.remove(fam)
            trace.append({"step": f"drop {fam}", "key": list(key)})
        if select_features and names != features_all:  # re-choose C, power, balance for the kept features
            key, (cc, pw, bal, q) = best_of(names, grid)
            trace.append({"step": "setting", "key": list(key)})
        best = {"C": cc, "power": pw, "balance": bal, "q": q}
        loco = run(names, cc, pw, bal)[0]
        base_q = 0.03 if 0.03 in qs else qs[0]
        baseline = {d: {"threshold": round(v["thresholds"][base_q], 4),
                        **_rates(v["p"], v["y"], v["thresholds"][base_q])}
                    for d, v in _loco(rows, y, features_all, 0.3 if 0.3 in cs else cs[0], 0.0, False,
                                      (base_q,)).items()}
    w = domain_weights(rows, y, best["power"], best["balance"])
    oof = _grouped_oof(rows, y, w, names, best["C"])
    threshold = _threshold(oof, y, best["q"], domains)
    params = _fit_signed(rows, y, w, names, best["C"])
    kept = params[0]
    sources = list(dict.fromkeys(r["source"] for r in rows))
    doms = list(dict.fromkeys(domains.tolist()))
    fitted_on = {"n": len(y), "unanswerable": int(y.sum()),
                 "sources": {s: sum(1 for r in rows if r["source"] == s) for s in sources},
                 "domains": {d: int((domains == d).sum()) for d in doms},
                 "groups": len({question_group(r) for r in rows}),
                 "C": best["C"], "domain_weight_power": best["power"], "class_balance_per_domain": best["balance"],
                 "max_false_refusals": best["q"], "loco_limit": loco_limit,
                 "selection": "leave one corpus out" if loco else "grouped log loss", "selection_trace": trace,
                 "dropped": [n for n in FEATURES if n not in kept],
                 "cv": "leave one question group out (an external corpus: all its questions)",
                 "cv_all": _rates(oof, y, threshold),
                 "cv_by_domain": {d: _rates(oof[domains == d], y[domains == d], threshold) for d in doms},
                 "leave_one_corpus_out": {d: {"threshold": round(v["thresholds"][best["q"]], 4),
                                              **_rates(v["p"], v["y"], v["thresholds"][best["q"]])}
                                          for d, v in loco.items()},
                 "leave_one_corpus_out_all_features_weight_1": baseline}
    return Model(kept, tuple(params[1].tolist()), tuple(params[2].tolist()), tuple(params[3].tolist()), params[4],
                 float(threshold), fitted_on)


def save(model: Model, path: Path = MODEL_PATH) -> None:
    """Write ``model`` as JSON to ``path`` (UTF-8, one key per line)."""
    Path(path).write_text(json.dumps(model.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    load_model.cache_clear()


def dataset_corpus(dataset: Path, corpora: Path, split: str = "dev") -> Path:
    """The corpus folder of ``corpora`` (e.g. eval/corpora) whose documents (``corpus_files``) hold every
    evidence document named by the ``split`` questions of ``dataset`` (the first in name order). Raises
    ConfigError when no folder holds them all."""
    from rag.eval.dataset import load_questions
    from rag.errors import ConfigError
    from rag.eval.runner import corpus_files, select_split

    docs = {e["doc"] for q in select_split(load_questions(dataset), split) for e in q.get("evidence") or ()
            if isinstance(e, dict) and e.get("doc")}
    for folder in sorted(p for p in Path(corpora).iterdir() if p.is_dir()):
        if docs <= {f.name for f in corpus_files(folder)}:
            return folder
    raise ConfigError(f"no folder of {corpora} holds the evidence documents of {dataset}; give {dataset}=CORPUS_DIR")


def _external_arg(arg: str, corpora: Path) -> tuple[Path, Path]:
    """(dataset, corpus) of an ``--external`` argument ``DATASET`` or ``DATASET=CORPUS_DIR``."""
    dataset, _, corpus = str(arg).partition("=")
    return Path(dataset), Path(corpus) if corpus else dataset_corpus(Path(dataset), corpora)


def main(argv: list[str] | None = None) -> int:
    """CLI: ``fit`` (collect features of the tuning questions, fit, write the model file) and ``show``."""
    parser = argparse.ArgumentParser(prog="python -m rag.eval.answerability_fit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit", help="refit the model on the tuning questions")
    root = PROJECT_ROOT
    f.add_argument("--dataset", type=Path, default=root / "eval/datasets/dev.jsonl")
    f.add_argument("--external", nargs="*", default=[str(root / "eval/datasets" / n) for n in EXTERNAL_SETS
                                                      if (root / "eval/datasets" / n).exists()],
                   help="external question files, DATASET or DATASET=CORPUS_DIR (only their split dev is used); "
                        "without =CORPUS_DIR the folder of eval/corpora holding the dataset's evidence documents")
    f.add_argument("--C", type=float, default=None,
                   help="inverse L2 regularisation strength (default: chosen by leave-one-corpus-out)")
    f.add_argument("--max-false-refusals", type=float, default=None,
                   help="share of each corpus's answerable questions the threshold may refuse (out of group; "
                        "default: chosen by leave-one-corpus-out)")
    f.add_argument("--drop", nargs="*", default=None, metavar="FAMILY",
                   help=f"leave out these feature families and keep the others (no feature selection); "
                        f"families: {', '.join(FAMILIES)}")
    f.add_argument("--power", type=float, default=None,
                   help="domain weight power (0: every question counts once, 1: every corpus counts the same; "
                        "default: chosen by leave-one-corpus-out)")
    f.add_argument("--balance", choices=("yes", "no"), default=None,
                   help="weight each corpus's answerable and unanswerable questions equally (default: chosen)")
    f.add_argument("--rows", type=Path, help="cache of collected features (JSONL): read if present, else written")
    f.add_argument("--out", type=Path, default=MODEL_PATH)
    sub.add_parser("show", help="print the stored model")
    args = parser.parse_args(argv)
    if args.cmd == "show":
        model = load_model()
        if model is None:
            print(f"error: no model at {MODEL_PATH}; fit one: python -m rag.eval.answerability_fit fit", file=sys.stderr)
            return 1
        print(json.dumps(model.to_json(), ensure_ascii=False, indent=1))
        return 0
    from rag.settings import Settings

    if args.rows and args.rows.exists():
        rows = [json.loads(line) for line in args.rows.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        settings = Settings.from_env()
        externals = [_external_arg(e, root / "eval/corpora") for e in args.external or ()]
        rows = collect(settings, args.dataset)
        for dataset, corpus in externals:
            rows += collect(settings, dataset, corpus=corpus, split="dev")
        if args.rows:
            args.rows.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    if any(r["source"].endswith(":holdout") or r["source"] == "policy_qa.jsonl" for r in rows):
        print("error: held-out questions are never fitted on", file=sys.stderr)
        return 1
    options: dict = {}
    if args.power is not None:
        options["powers"] = (args.power,)
    if args.balance is not None:
        options["balances"] = (args.balance == "yes",)
    if args.drop is not None:
        unknown = [d for d in args.drop if d not in FAMILIES]
        if unknown:
            print(f"error: unknown feature family {unknown[0]!r}; families: {', '.join(FAMILIES)}", file=sys.stderr)
            return 2
        options.update(select_features=False,
                       features=tuple(n for n in FEATURES if not any(n in FAMILIES[d] for d in args.drop)))
    model = fit(rows, c=args.C, max_false_refusals=args.max_false_refusals, **options)
    model.fitted_on["command"] = "python -m rag.eval.answerability_fit " + " ".join(argv if argv is not None else sys.argv[1:])
    save(model, args.out)
    print(json.dumps(model.fitted_on, ensure_ascii=False))
    print(f"model written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
