"""The "政策匹配" tab: a profile form + free-text description → checklist of applicable provisions.

``build_match_tab(settings)`` creates the Gradio components inside the caller's ``gr.Blocks`` /
``gr.Tab`` context (``ui/app.py`` imports this module lazily). The handlers are plain functions over
the library (``parse_to_form``, ``run_match``) that can be tested without a browser; gradio is
imported only inside ``build_match_tab``.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import replace
from pathlib import Path

from rag.errors import RagError
from rag.matching.places import cities_of
from rag.matching.parser import parse_profile_text
from rag.matching.profile import NEEDS, QUALIFICATIONS, Profile, canonical_city, canonical_district
from rag.settings import Settings

STAGES = ["初创", "成长", "成熟", "龙头"]
FORM_FIELDS = ("city", "district", "industry", "products", "qualifications", "stage", "needs")

_MATCHERS: dict[str, object] = {}
_LOCK = threading.Lock()


def _matcher(settings: Settings):
    """One ProfileMatcher per data directory (the index loads once and is shared)."""
    from rag.matching.matcher import ProfileMatcher

    key = str(settings.data_dir)
    with _LOCK:
        if key not in _MATCHERS:
            _MATCHERS[key] = ProfileMatcher(settings, auto_ingest=True)
        return _MATCHERS[key]


def _split(text: str | None) -> list[str]:
    import re

    return [x for x in re.split(r"[、,，;；\s]+", text or "") if x]


def parse_to_form(text: str, settings: Settings | None = None) -> tuple:
    """Free text → form values ``(city, district, industry, products, qualifications, stage, needs)``;
    products as a "、"-joined string, qualifications/needs as lists. With ``settings`` the text is read in
    the indexed documents' terms (``ProfileMatcher.parse``). Raises ProfileError on blank text."""
    parse_profile_text(text)  # a blank text is refused before any index is loaded
    p = _matcher(settings).parse(text) if settings is not None else parse_profile_text(text)
    return (p.city, p.district or "", p.industry or "", "、".join(p.products), list(p.qualifications),
            p.stage, list(p.needs))


def form_profile(city, district, industry, products, qualifications, stage, needs, text: str = "",
                 parse=None) -> Profile:
    """A profile from form values; an empty form with a description parses the description (with
    ``parse``, default ``parse_profile_text``). Raises ProfileError when neither says what the company
    does or needs."""
    data = {"city": city or None, "district": district or None, "industry": industry or None,
            "products": _split(products) if isinstance(products, str) else list(products or []),
            "qualifications": list(qualifications or []), "stage": stage or None, "needs": list(needs or [])}
    if text and text.strip():
        data["text"] = text.strip()
    if not (data["industry"] or data["products"] or data["qualifications"] or data["needs"]) and data.get("text"):
        parsed = parse(data["text"]) if parse else parse_profile_text(data["text"])
        district_, implied_city = canonical_district(data["district"], canonical_city(data["city"]) or parsed.city)
        return replace(parsed, city=canonical_city(data["city"]) or implied_city or parsed.city,
                       district=district_ or parsed.district, stage=data["stage"] or parsed.stage)
    return Profile.from_dict(data)


def run_match(settings: Settings, city, district, industry, products, qualifications, stage, needs,
              text: str = "", k: int = 10, export_dir: str | None = None) -> dict:
    """Match a form profile: ``{"profile_md", "checklist_md", "json", "md_path", "json_path", "result"}``.

    ``profile_md`` is the recognised profile (shown once, above the checklist); ``checklist_md`` shows
    the summary and every provision with its flags, numbered as shown, without repeating the profile;
    the two files are the full Markdown and JSON exports (written to ``export_dir``, default a fresh
    temporary folder). Raises RagError subclasses.
    """
    from rag.matching.report import profile_table, to_markdown, write_export

    matcher = _matcher(settings)
    profile = form_profile(city, district, industry, products, qualifications, stage, needs, text, matcher.parse)
    result = matcher.match(profile, k=int(k))
    out_dir = Path(export_dir or tempfile.mkdtemp(prefix="policy-match-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = write_export(result, out_dir / "policy-match.md")
    json_path = write_export(result, out_dir / "policy-match.json")
    profile_md = "\n".join(["#### 企业画像", "", *profile_table(profile, "识别结果")])
    return {"profile_md": profile_md, "checklist_md": to_markdown(result, include_profile=False),
            "json": result.to_json(),
            "md_path": str(md_path), "json_path": str(json_path), "result": result}


def build_match_tab(settings: Settings) -> dict:
    """Create the tab's components in the current Gradio context; returns them by name."""
    import gradio as gr

    from ui.options import document_rows

    # the company's city is offered among the cities of the indexed documents' provinces
    home = tuple(dict.fromkeys(r["region"] for r in document_rows(settings) if r.get("region")))
    with gr.Column():
        gr.Markdown("### 企业政策匹配\n用一句话描述企业，或填写下面的表单；结果逐条给出原文、匹配理由和适用提示。")
        text = gr.Textbox(label="企业描述（可选）", lines=2,
                          placeholder="例如：我们是本市一家做钠离子电池的专精特新企业，想扩产")
        parse_btn = gr.Button("从描述识别画像", variant="secondary")
        with gr.Row():
            city = gr.Dropdown(choices=list(cities_of(home)), label="所在市（州）", allow_custom_value=True)
            district = gr.Textbox(label="区（市）县")
            industry = gr.Textbox(label="行业（企业自己的说法）")
        products = gr.Textbox(label="主要产品（用顿号或逗号分隔）")
        with gr.Row():
            qualifications = gr.CheckboxGroup(choices=list(QUALIFICATIONS), label="资质")
            stage = gr.Radio(choices=STAGES, label="发展阶段")
        needs = gr.CheckboxGroup(choices=list(NEEDS), label="需求")
        k = gr.Slider(3, 20, value=10, step=1, label="条款数")
        match_btn = gr.Button("匹配政策", variant="primary")
        profile_md = gr.Markdown(label="识别的企业画像")
        checklist = gr.Markdown(label="匹配清单")
        files = gr.File(label="导出（Markdown / JSON）", file_count="multiple")

    def on_parse(description):
        try:
            values = list(parse_to_form(description, settings))
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        # qualifications in the documents' own terms (军民融合企业 …) join the choices
        values[4] = gr.update(choices=list(dict.fromkeys([*QUALIFICATIONS, *values[4]])), value=values[4])
        values[6] = gr.update(choices=list(dict.fromkeys([*NEEDS, *values[6]])), value=values[6])
        return tuple(values)

    def on_match(c, d, ind, prods, quals, st, nds, description, kk):
        try:
            out = run_match(settings, c, d, ind, prods, quals, st, nds, description, kk)
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return out["profile_md"], out["checklist_md"], [out["md_path"], out["json_path"]]

    form = [city, district, industry, products, qualifications, stage, needs]
    parse_btn.click(on_parse, inputs=[text], outputs=form)
    match_btn.click(on_match, inputs=form + [text, k], outputs=[profile_md, checklist, files])
    return {"text": text, "city": city, "district": district, "industry": industry, "products": products,
            "qualifications": qualifications, "stage": stage, "needs": needs, "k": k, "parse": parse_btn,
            "match": match_btn, "profile": profile_md, "checklist": checklist, "files": files}
