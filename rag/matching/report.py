"""Presenting a MatchResult: the summary (LLM or template), Markdown and JSON export.

Every output form shows each provision's flags (仅适用于某某市 / 规划期已结束（…） / 征求意见稿) next to
the provision, and the summary counts them, so flagged provisions are never silently mixed in.
The LLM summary uses ``prompts/match_summary.md`` (variables ``{profile}``, ``{provisions}``); any LLM
failure falls back to the template with a remark appended to the summary.
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings

LLM_FALLBACK = "（大模型服务暂不可用（{reason}），以上摘要为模板生成。）"


def profile_lines(profile) -> list[tuple[str, str]]:
    """``[(label, value)]`` rows describing a profile for people."""
    def join(items):
        return "、".join(items) if items else "未注明"

    return [("所在地", profile.location_label()), ("行业", profile.industry or "未注明"),
            ("主要产品", join(profile.products)), ("资质", join(profile.qualifications)),
            ("发展阶段", profile.stage or "未注明"), ("需求", join(profile.needs))]


def profile_brief(profile) -> str:
    """One line: "某某市（某某区）· 钠离子电池 · 专精特新 · 需求：用地/空间、研发"."""
    parts = [profile.location_label()] if profile.city or profile.district else []
    parts += ["、".join(profile.products or ([profile.industry] if profile.industry else []))]
    if profile.qualifications:
        parts.append("、".join(profile.qualifications))
    if profile.stage:
        parts.append(f"{profile.stage}期")
    if profile.needs:
        parts.append("需求：" + "、".join(profile.needs))
    return " · ".join(p for p in parts if p)


def template_summary(result) -> str:
    """A deterministic summary: what was matched, from which documents, the caveats, the mappings."""
    provs = result.provisions
    if not provs:
        return f"企业画像（{profile_brief(result.profile)}）未匹配到相关政策条款。"
    groups = result.by_document()
    docs = "；".join(f"《{meta.title}》{len(items)} 条" for meta, items in groups)
    lines = [f"根据企业画像（{profile_brief(result.profile)}），共匹配 {len(provs)} 条政策条款，"
             f"来自 {len(groups)} 份文件：{docs}。"]
    caveats = []
    for code, label in (("repealed", "出自已失效的文件"), ("expired", "出自规划期已结束的文件，反映当时的部署"), ("draft", "出自征求意见稿，不是正式发布的文本"),
                        ("only_city", "出自仅适用于特定市（州）或区县、企业不在或未注明在该地的文件"),
                        ("only_province", "出自仅适用于其他省份的文件"),
                        ("not_started", "出自规划期尚未开始的文件")):
        n = sum(1 for p in provs if any(f.code == code for f in p.flags))
        if n:
            caveats.append(f"{n} 条{label}")
    if caveats:
        lines.append("请注意：" + "；".join(caveats) + "。")
    in_force = [p for p in provs if p.status == "现行"]
    if in_force and len(in_force) < len(provs):
        lines.append(f"现行文件的条款排在前面（第 1–{len(in_force)} 条），已结束、未开始或征求意见稿的条款在后。"
                     if len(in_force) > 1 else "现行文件的条款排在前面（第 1 条），已结束、未开始或征求意见稿的条款在后。")
    current = [p for p in provs if not p.flags]
    if current:
        lines.append(f"无上述限制的条款 {len(current)} 条，最相关的是第 {current[0].rank} 条"
                     f"（《{current[0].meta.title}》{current[0].chunk.section.split(' › ')[-1]}）。")
    maps = [m for m in result.mapping if m.via == "concept" and m.kind == "product"] or \
        [m for m in result.mapping if m.via == "concept"]
    if maps:
        pairs = list(dict.fromkeys(f"“{m.word}”→“{m.concept_term or m.term}”" for m in maps))[:4]
        lines.append("企业用语与政策术语的对应：" + "，".join(pairs) + "。")
    return "\n".join(lines)


def _provisions_for_prompt(result) -> str:
    blocks = []
    for p in result.provisions:
        flags = "；".join(f.text for f in p.flags) or "无"
        blocks.append(f"[{p.rank}] 《{p.meta.title}》 {p.chunk.section}（{p.jurisdiction}；规划期：{p.meta.period_label() or '未注明'}；"
                      f"提示：{flags}）\n匹配理由：{'；'.join(p.reasons)}\n原文：{p.quote}")
    return "\n\n".join(blocks)


def summarize(result, settings: Settings, llm=None) -> tuple[str, str]:
    """``(summary, mode)``; mode "llm" when an LLM wrote it, else "template"."""
    template = template_summary(result)
    if not result.provisions or (llm is None and not settings.llm_enabled):
        return template, "template"
    try:
        from langchain_core.output_parsers import StrOutputParser

        from rag.answer.llm import chat_model, load_prompt

        chain = load_prompt("match_summary") | (llm or chat_model(settings)) | StrOutputParser()
        profile_text = "\n".join(f"{k}：{v}" for k, v in profile_lines(result.profile))
        text = chain.invoke({"profile": profile_text, "provisions": _provisions_for_prompt(result)}).strip()
    except Exception as exc:  # noqa: BLE001 - any server/network failure → template summary
        return template + "\n" + LLM_FALLBACK.format(reason=type(exc).__name__), "template"
    if not text:
        return template, "template"
    return text, "llm"


# --- export ------------------------------------------------------------------------------------------
def _quote_md(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines())


def profile_table(profile, header: str = "内容") -> list[str]:
    """The profile as Markdown table lines (``| 项目 | header |`` …)."""
    return [f"| 项目 | {header} |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in profile_lines(profile)]


def to_markdown(result, include_profile: bool = True) -> str:
    """A Markdown checklist: profile table (unless ``include_profile`` is False — the UI shows it on its
    own), summary, then provisions grouped by document, numbered 1…k in the order shown (documents in
    force first); every provision carries its flags (⚠) and reasons."""
    out = ["# 企业政策匹配清单", ""]
    if result.today:
        out += [f"匹配日期：{result.today.isoformat()}", ""]
    if include_profile:
        out += ["## 企业画像", "", *profile_table(result.profile)]
        if result.profile.text:
            out += ["", f"企业描述：{result.profile.text}"]
        out.append("")
    out += ["## 摘要", "", result.summary or template_summary(result), ""]
    if result.mapping:
        out += ["## 用语对应", ""]
        out += [f"- {line}" for line in dict.fromkeys(m.mapping() for m in result.mapping)]
        out.append("")
    out += ["## 匹配条款（按文件分组）", ""]
    if not result.provisions:
        out += ["未匹配到相关条款。", ""]
    for meta, items in result.by_document():
        first = items[0]
        out += [f"### 《{meta.title}》", "",
                f"- 层级与适用地区：{first.jurisdiction}",
                f"- 规划期：{meta.period_label() or '未注明'}；状态：{first.status}"]
        if first.flags:
            out.append("- ⚠ 提示：" + "；".join(f.text for f in first.flags))
        out.append("")
        for p in items:
            flag_text = f" ⚠ {'；'.join(f.text for f in p.flags)}" if p.flags else ""
            out += [f"#### {p.rank}. {p.chunk.section or '正文'}{flag_text}", "", _quote_md(p.quote), ""]
            out += [f"- 匹配理由：{'；'.join(p.reasons)}", ""]
    return "\n".join(out).rstrip() + "\n"


def to_json_text(result, indent: int | None = 1) -> str:
    return json.dumps(result.to_json(), ensure_ascii=False, indent=indent)


def write_export(result, path: str | Path) -> Path:
    """Write ``result`` to ``path`` as Markdown (.md) or JSON (.json). Raises RagError otherwise."""
    p = Path(path)
    if p.suffix.lower() in (".md", ".markdown"):
        content = to_markdown(result)
    elif p.suffix.lower() == ".json":
        content = to_json_text(result)
    else:
        raise RagError(f"cannot export to {p.name}: use a .md or .json file name")
    try:
        p.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise RagError(f"cannot write {p} ({exc.strerror or exc}); choose a writable path") from None
    return p
