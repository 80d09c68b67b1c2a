"""Named configurations of the evaluation harness (``rag eval --config NAME`` / ``--compare A,B``).

Each configuration is a set of ``Settings`` overrides, except ``naive-langchain``: the textbook
baseline — LangChain's ``RecursiveCharacterTextSplitter`` (500 characters, 50 overlap) on the raw
source text and ``BM25Retriever`` over jieba words — answered by the same extractive composer.
"""

from __future__ import annotations

from rag.errors import ConfigError
from rag.settings import Settings

CONFIGS: dict[str, dict] = {
    "hybrid": {},
    "bm25-only": {"retrieval_mode": "bm25", "use_concepts": False, "use_doc_routing": False, "bigram_weight": 0.0},
    "dense-only": {"retrieval_mode": "dense", "use_concepts": False, "use_doc_routing": False},
    "hybrid-plain": {"use_concepts": False, "use_doc_routing": False},
    "equal-fusion": {"dense_weight": 1.0},  # the dense ranking votes as much as BM25's
    "no-concepts": {"use_concepts": False},
    "no-routing": {"use_doc_routing": False},
    "no-list-continuation": {"use_list_continuation": False},
    "no-list-sections": {"use_list_sections": False},
    "no-outlines": {"use_outlines": False},
    "no-value-ranking": {"use_value_ranking": False},
    "no-bigrams": {"bigram_weight": 0.0},  # no character-bigram ranking of the word BM25's candidates
    "naive-langchain": {"naive": True},
}


def parse_set(pairs: list[str]) -> dict:
    """``["key=value", …]`` → typed Settings overrides. Raises ConfigError for unknown keys/values."""
    fields = Settings.__dataclass_fields__
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: use key=value")
        key, value = pair.split("=", 1)
        if key not in fields:
            raise ConfigError(f"--set {key}: unknown setting; known: {', '.join(sorted(fields))}")
        current = getattr(Settings(), key)
        if current is None and "float" in str(fields[key].type):
            current = 0.0  # an optional number (None: its automatic value)
        try:
            if isinstance(current, bool):
                out[key] = value.lower() in {"1", "true", "yes", "on"}
            elif isinstance(current, int):
                out[key] = int(value)
            elif isinstance(current, float):
                out[key] = float(value)
            else:
                out[key] = value
        except ValueError:
            raise ConfigError(f"--set {key}={value!r}: not a valid {type(current).__name__}") from None
    return out


def resolve(name: str) -> dict:
    """Overrides of a named configuration. Raises ConfigError for an unknown name."""
    if name not in CONFIGS:
        raise ConfigError(f"unknown configuration {name!r}; choose from {', '.join(CONFIGS)}")
    return dict(CONFIGS[name])
