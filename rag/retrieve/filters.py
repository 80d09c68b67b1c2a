"""Metadata filters of a retrieval (``Filters``: documents, region, in force on a day) and ``NO_FILTERS``.

Their own module so that the retriever (``rag.retrieve.hybrid``, which re-exports both) and the step modules it
inherits from (``rag.retrieve.comparison``, ``rag.retrieve.list_value_steps``, the shared ``rag.retrieve.state``)
import them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Filters:
    """Metadata filters. ``doc_ids``: keep only these documents; ``region``: a region of the indexed documents ("某某省");
    ``in_force_on``: keep documents whose stated period covers that day and that are not drafts."""

    doc_ids: tuple[str, ...] | None = None
    region: str | None = None
    in_force_on: date | None = None

    def allows(self, meta) -> bool:
        if self.doc_ids is not None and meta.doc_id not in self.doc_ids:
            return False
        if self.region and meta.region != self.region:
            return False
        if self.in_force_on and not meta.in_force_on(self.in_force_on):
            return False
        return True

    def chroma_where(self) -> dict | None:
        """The same filter in Chroma's ``where`` syntax (None when there is no filter)."""
        clauses = []
        if self.doc_ids is not None:
            clauses.append({"doc_id": {"$in": list(self.doc_ids) or ["__none__"]}})
        if self.region:
            clauses.append({"region": self.region})
        if self.in_force_on:
            year = self.in_force_on.year
            clauses += [{"period_start": {"$lte": year}}, {"period_end": {"$gte": year}}, {"draft": False}]
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


NO_FILTERS = Filters()
