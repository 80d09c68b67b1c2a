"""The filter/settings panel of the UI (shared by the chat and the retrieval-test tab); no gradio here."""

from __future__ import annotations

from dataclasses import dataclass

from rag.retrieve.hybrid import Filters
from rag.settings import Settings

ALL_REGIONS = "全部"
REGIONS = (ALL_REGIONS,)
"""The region filter's choices without an index; ``region_choices`` adds the regions of the indexed documents."""


@dataclass(frozen=True)
class ChatOptions:
    """The filter/settings panel. ``doc_ids``: () = all documents; ``region``: "全部" or a region of the
    indexed documents (``region_choices``, e.g. "某某省"); ``in_force``: only documents in force today;
    ``llm_model``: "" = the configured one."""

    doc_ids: tuple[str, ...] = ()
    region: str = "全部"
    in_force: bool = False
    top_k: int = 5
    llm_model: str = ""

    def filters(self, settings: Settings) -> Filters:
        """The retrieval filters of the panel ("in force" is judged on ``settings.today_date()``)."""
        return Filters(doc_ids=tuple(self.doc_ids) or None,
                       region=self.region if self.region and self.region != ALL_REGIONS else None,
                       in_force_on=settings.today_date() if self.in_force else None)

    def settings_for(self, settings: Settings) -> Settings:
        """``settings`` with the panel's top-k (clamped to 1…20) and LLM model (when an LLM is enabled)."""
        changes = {"top_k": max(1, min(int(self.top_k or settings.top_k), 20))}
        model = (self.llm_model or "").strip()
        if model and settings.llm_enabled:
            changes["llm_model"] = model[:100]
        return settings.with_(**changes)


def make_qa(settings: Settings, options: ChatOptions, llm=None):
    """A ``rag.pipeline.PolicyQA`` with the panel's settings (top-k, model); the bundled corpus is
    ingested on first use when no index exists. ``llm``: a LangChain chat model (tests)."""
    from rag.pipeline import PolicyQA

    return PolicyQA(options.settings_for(settings), llm=llm, auto_ingest=True)


def document_rows(settings: Settings) -> list[dict]:
    """Fields of the documents the chat answers from (``rag.index.kb.metadata_rows``: title, region, doc_type …);
    before the first index is built, those of the bundled corpus (``rag.ingest.corpus.load_manifest``), which the
    first question indexes; [] when neither can be read."""
    from rag.index import kb
    from rag.errors import RagError

    try:
        rows = kb.metadata_rows(settings)
    except RagError:
        return []
    if rows:
        return rows
    try:
        from rag.ingest.corpus import load_manifest

        return [s.meta.doc_fields() for s in load_manifest(settings.corpus_dir)]
    except (RagError, OSError, ValueError):
        return []


def region_choices(rows: list[dict]) -> tuple[str, ...]:
    """The region filter's choices: "全部", then the regions of ``rows`` (``document_rows``), most
    documents first (ties by name)."""
    from collections import Counter

    counts = Counter(r.get("region") for r in rows if r.get("region"))
    return (ALL_REGIONS, *sorted(counts, key=lambda r: (-counts[r], r)))


def corpus_name(rows: list[dict]) -> str:
    """What the chat is about, from the indexed documents: "某省 / 某市政策问答" for at most three
    regions, else "政策文件问答" (also with no documents)."""
    regions = region_choices(rows)[1:]
    if regions and len(regions) <= 3:
        return " / ".join(regions) + "政策问答"
    return "政策文件问答"


def example_questions(rows: list[dict]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(questions about documents, questions about support) shown as examples, made from the indexed
    documents' titles and regions (``document_rows``): "《title》的主要目标是什么？", "《title》由哪个部门
    发布？", "某市对企业有哪些支持措施？"; neutral questions when there are no documents."""
    titles = [r["title"] for r in rows if r.get("title")]
    regions = [r for r in region_choices(rows)[1:]]
    about = [f"《{titles[0]}》的主要目标是什么？"] if titles else ["这些文件的主要目标是什么？"]
    if len(titles) > 1:
        about.append(f"《{titles[1]}》由哪个部门发布？")
    about.append("哪些文件现在仍然有效？")
    from rag.ingest.metadata import bare_region

    places = [bare_region(r) for r in regions[:2]] or [""]
    support = [f"{p}对企业有哪些支持措施？" if p else "对企业有哪些支持措施？" for p in places]
    support.append("申请资金支持需要满足什么条件？")
    return tuple(about), tuple(support)
