"""Stage 3 — understanding the question: one analysis per question (``query.QueryPlan``), with its
policy concepts (``concepts``), compared scopes (``scopes``), named sections and the per-index planning
data (``sections``), versions of one title (``versions``) and the documents' vocabulary (``vocabulary``), document
references (``references``), regions and exact document names (``regions``), repealed titles (``repeals``),
abbreviations learnt from the corpus (``abbreviations``), five-year-plan eras (``eras``), English or mixed
questions (``language``), follow-ups (``conversation``), the information need and asked values (``need``), questions about a document
itself (``meta_questions``). Imports the index and ingest stages and the base modules."""
