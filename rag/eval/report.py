"""Writing evaluation results: records.jsonl, summary.json, report.md and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

from rag.eval.runner import KS, TYPES

COMPARE_COLUMNS = [("R@1", "overall", "recall@1"), ("R@3", "overall", "recall@3"), ("R@5", "overall", "recall@5"),
                   ("R@10", "overall", "recall@10"), ("MRR@10", "overall", "mrr@10"), ("nDCG@10", "overall", "ndcg@10"),
                   ("key facts", "answers", "key_fact_recall"), ("truthful.", "answers", "truthfulness"),
                   ("refusal P", "answers", "refusal_precision"), ("refusal R", "answers", "refusal_recall"),
                   ("answerable refused", "answers", "answerable_refused_rate"),
                   ("cite P", "answers", "citation_precision")]
JUDGE_COLUMNS = [("faithful.", "judge", "faithfulness"), ("ans. relevancy", "judge", "answer_relevancy")]


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_run(out_dir: Path, records: list[dict], summary: dict) -> None:
    """records.jsonl, summary.json, report.md and plots (recall_by_type.png, latency.png) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "records.jsonl", "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    plots = write_plots(out_dir, records, summary)
    (out_dir / "report.md").write_text(report_markdown(summary, plots), encoding="utf-8")


def report_markdown(summary: dict, plots: list[str]) -> str:
    """The Markdown report of one run (``summary`` as from ``runner.summarize``; ``plots``: file names)."""
    s = summary
    lines = [f"# Evaluation: `{s['config']}` on `{Path(s['dataset']).name}`", "",
             f"{s['n_questions']} questions, k = {s['k']}; settings: `{json.dumps(s['settings'], ensure_ascii=False)}`.", "",
             "## Retrieval (anchor matching as in BENCHMARK.md)", "",
             "| type | n | " + " | ".join(f"R@{n}" for n in KS) + " | MRR@10 | nDCG@10 | key facts | truthfulness |",
             "|---|---|" + "---|" * (len(KS) + 4)]
    rows = [("overall", {**s["overall"], "key_fact_recall": s["answers"]["key_fact_recall"],
                         "truthfulness": s["answers"]["truthfulness"]})]
    rows += [(t, s["by_type"][t]) for t in TYPES]
    if s.get("table_questions"):
        rows.append(("table (tag)", s["table_questions"]))
    for name, block in rows:
        lines.append(f"| {name} | {block.get('n_questions', block.get('n'))} | "
                     + " | ".join(_fmt(block.get(f"recall@{n}")) for n in KS)
                     + f" | {_fmt(block.get('mrr@10'))} | {_fmt(block.get('ndcg@10'))} | "
                       f"{_fmt(block.get('key_fact_recall'))} | {_fmt(block.get('truthfulness'))} |")
    a = s["answers"]
    lines += ["", "## Answers", "",
              f"- key-fact recall (answerable): {_fmt(a['key_fact_recall'])}",
              f"- CRAG truthfulness (1 / 0.5 / 0 / −1): {_fmt(a['truthfulness'])}",
              f"- refusal precision / recall (unanswerable): {_fmt(a['refusal_precision'])} / {_fmt(a['refusal_recall'])}",
              f"- answerable questions refused: {_fmt(a['answerable_refused_rate'])}",
              f"- citation precision: {_fmt(a['citation_precision'])}", *_grounding_lines(s.get("grounding")), "",
              "## Latency (ms)", "", "| stage | p50 | p95 |", "|---|---|---|"]
    for stage, v in s["latency_ms"].items():
        lines.append(f"| {stage} | {_fmt(v['p50'])} | {_fmt(v['p95'])} |")
    if s.get("judge"):
        lines += _judge_lines(s["judge"])
    needs = ", ".join(m.replace("_", " ") for m in s["needs_llm"])
    if s.get("judge"):
        needs += f" (judge: `{s['judge']['model']}`; every other metric is computed offline)"
    lines += ["", "Metrics that needed an LLM: " + (needs or "none (all metrics are computed offline)."), ""]
    lines += [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def _grounding_lines(g: dict | None) -> list[str]:
    """The grounding check's totals over generated answers (``runner._grounding_block``), or nothing."""
    if not g:
        return []
    return [f"- grounding of generated answers ({g['answers']}): {g['supported']} of {g['claims']} claims "
            f"(numbers, dates, named bodies) supported by a cited passage ({_fmt(g['supported_share'])}), "
            f"{g['removed']} removed"]


def _judge_lines(j: dict) -> list[str]:
    lines = ["", "## LLM-judged (RAGAS, Es et al. 2023)", "",
             f"- faithfulness (share of the answer's claims supported by its passages): {_fmt(j['faithfulness'])}"
             f" over {j['n_judged']['faithfulness']} answers",
             f"- answer relevancy (mean cosine of generated questions to the question, 0 if noncommittal): "
             f"{_fmt(j['answer_relevancy'])} over {j['n_judged']['answer_relevancy']} answers",
             f"- refusals not judged: {j['skipped_refused']}"]
    for metric, rows in j["unjudged"].items():
        if rows:
            lines.append(f"- unjudged for {metric.replace('_', ' ')} ({len(rows)}): "
                         + "; ".join(f"{r['id']} ({r['error']})" for r in rows))
    return lines


def write_plots(out_dir: Path, records: list[dict], summary: dict) -> list[str]:
    """recall@k by question type (grouped bars, legend beside the plot) and the latency distribution per
    stage (histograms on a log-scaled ms axis, so one slow question does not squash the rest) as PNG
    files in ``out_dir``; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    for name, fig in (("recall_by_type.png", recall_figure(summary)), ("latency.png", latency_figure(records))):
        fig.savefig(out_dir / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append(name)
    return names


def recall_figure(summary: dict):
    """A matplotlib Figure: anchor recall@k (k in KS) per question type with questions, as grouped bars
    (0–1); the legend sits to the right of the axes, never over a bar."""
    import matplotlib.pyplot as plt

    types = [t for t in TYPES if summary["by_type"][t]["n"]]
    fig, ax = plt.subplots(figsize=(9.5, 4))
    width = 0.8 / len(KS)
    for i, n in enumerate(KS):
        ax.bar([x + i * width for x in range(len(types))],
               [summary["by_type"][t][f"recall@{n}"] or 0 for t in types], width, label=f"recall@{n}")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(types))],
                  [f"{t}\n(n={summary['by_type'][t]['n']})" for t in types])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("anchor recall")
    ax.set_title(f"Anchor recall@k by question type ({summary['config']})")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def latency_figure(records: list[dict]):
    """A matplotlib Figure: per-stage latency histograms (retrieve, answer, total) over log-spaced bins
    on a log-scaled ms axis, with each stage's p50 and p95 in the legend (outside the axes)."""
    import matplotlib.pyplot as plt
    import numpy as np

    stages = {stage: np.array([float(r["timings_ms"].get(stage, 0) or 0) for r in records])
              for stage in ("retrieve", "answer", "total")}
    positive = np.concatenate([v[v > 0] for v in stages.values()] or [np.array([])])
    low, high = (positive.min(), positive.max()) if positive.size else (0.1, 1.0)
    low = max(low, 0.01)  # a stage that took 0 ms is drawn at the lowest bin
    bins = np.geomspace(low, max(high, low * 10), 40)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for stage, values in stages.items():
        if not values.size:
            continue
        p50, p95 = np.percentile(values, [50, 95])
        ax.hist(np.clip(values, low, None), bins=bins, alpha=0.55,
                label=f"{stage} (p50 {p50:.1f}, p95 {p95:.1f} ms)")
    ax.set_xscale("log")
    ax.set_xlabel("ms (log scale)")
    ax.set_ylabel("questions")
    ax.set_title(f"Latency per stage ({len(records)} questions)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def compare_table(summaries: list[dict]) -> str:
    """One Markdown table, a row per configuration (with faithfulness and answer relevancy columns
    when any configuration was judged by an LLM)."""
    columns = COMPARE_COLUMNS + (JUDGE_COLUMNS if any(s.get("judge") for s in summaries) else [])
    header = "| config | " + " | ".join(c[0] for c in columns) + " | ask p50 ms |"
    lines = [header, "|---|" + "---|" * (len(columns) + 1)]
    for s in summaries:
        cells = [_fmt((s.get(section) or {}).get(key)) for _, section, key in columns]
        lines.append(f"| {s['config']} | " + " | ".join(cells) + f" | {_fmt(s['latency_ms']['total']['p50'])} |")
    return "\n".join(lines)
