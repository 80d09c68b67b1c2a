"""The filter/settings panel of the UI (shared by the chat and the retrieval-test tab); no gradio here."""

from __future__ import annotations

from dataclasses import dataclass

from rag.retrieval import Filters
from rag.settings import Settings

REGIONS = ("全部", "四川省", "成都市")


@dataclass(frozen=True)
class ChatOptions:
    """The filter/settings panel. ``doc_ids``: () = all documents; ``region``: "全部", "四川省" or
    "成都市"; ``in_force``: only documents in force today; ``llm_model``: "" = the configured one."""

    doc_ids: tuple[str, ...] = ()
    region: str = "全部"
    in_force: bool = False
    top_k: int = 5
    llm_model: str = ""

    def filters(self, settings: Settings) -> Filters:
        """The retrieval filters of the panel ("in force" is judged on ``settings.today_date()``)."""
        return Filters(doc_ids=tuple(self.doc_ids) or None,
                       region=self.region if self.region in ("四川省", "成都市") else None,
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
