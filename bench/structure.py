"""Structure benchmark: how well chunk section paths name where each chunk lies (reports numbers, asserts nothing).

Reads every ``.md``/``.txt``/``.docx``/``.pdf`` file under ``--corpus`` (a seeded random ``--sample`` of them when
given), cleans and chunks it exactly as ``rag ingest`` does (``rag.ingest.corpus.read_text`` → ``rag.ingest.cleaning.clean_text``
→ ``rag.ingest.chunking.chunk_document``) and prints:

* ``documents``, ``regulations`` (documents with at least 3 lines opening with 第X条), ``chunks``;
* ``named``: share of chunks whose section path names their place — for a chunk of a regulation that lies in
  articles (those whose lines open inside the chunk, else the one open at its start — an article runs to the
  next article or 第X章/节/编/附件 line), the path's last part names each of them (``第十八条``, or
  ``第三条、第四条`` / ``第三条至第五条`` for consecutive articles sharing a chunk); for any other chunk, the
  path is not empty (it names a heading);
* ``article_named``: the same share over regulation chunks that lie in an article only;
* ``list_item_in_path``: share of regulation chunks whose path holds a list item (（一）, 1., （1）, ①, 一、);
* ``empty_section``: share of chunks with an empty section path;
* ``over_cap``: chunks with more than ``--max-tokens`` cl100k tokens, and ``max_tokens`` (the largest chunk).

The article a chunk lies in is found from the cleaned text itself (line starts), independently of the chunker.

    python bench/structure.py --corpus ../shared/corpora/lawrefbook/DLC --sample 150 [--seed 0] [--json]
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.ingest.chunking import SECTION_SEP, chunk_document, cn_number  # noqa: E402
from rag.ingest.cleaning import clean_text  # noqa: E402
from rag.ingest.corpus import read_text  # noqa: E402
from rag.errors import DocumentReadError  # noqa: E402

SUFFIXES = (".md", ".txt", ".docx", ".pdf")
_NUM = "[一二三四五六七八九十百千零〇两0-9]+"
ARTICLE_LINE = re.compile(rf"^\s*(第{_NUM}条(?:之[一二三四五六七八九十]+)?)")
DIVISION_LINE = re.compile(rf"^\s*(?:#+\s*)?(?:第{_NUM}(?:编|部分|章|节)|附\s*[件表录])")
LIST_ITEM = re.compile(r"^(?:[（(][一二三四五六七八九十\d]{1,3}[）)]|\d{1,2}[.．、]|[①-⑳]|[一二三四五六七八九十]{1,3}、)")


def _article_number(name: str) -> int | None:
    m = re.match(rf"第({_NUM})条", name)
    return cn_number(m.group(1)) if m else None


def names_articles(label: str, articles: list[str]) -> bool:
    """Whether a section label names every article in ``articles``: ``第十八条`` one article (its
    label starts with it), ``第三条、第四条`` / ``第三条至第五条`` consecutive ones (each number within)."""
    if len(articles) == 1 and label.startswith(articles[0]):
        return True
    ends = re.fullmatch(rf"(第{_NUM}条)(?:、|至)(第{_NUM}条)", label)
    if not ends:
        return False
    lo, hi = _article_number(ends.group(1)), _article_number(ends.group(2))
    numbers = [_article_number(a) for a in articles]
    return None not in (lo, hi) and all(n is not None and lo <= n <= hi for n in numbers)


def measure(text: str, doc_id: str, max_tokens: int) -> dict:
    """Counts for one cleaned document (see the module docstring)."""
    chunks = chunk_document(doc_id, text, max_tokens)
    article_starts, article_names = [], []  # an article runs from its line to the next article or division line
    pos = 0
    for line in text.split("\n"):
        m = ARTICLE_LINE.match(line)
        if m or DIVISION_LINE.match(line):
            article_starts.append(pos)
            article_names.append(m.group(1) if m else None)
        pos += len(line) + 1
    regulation = sum(name is not None for name in article_names) >= 3
    out = {"documents": 1, "regulations": int(regulation), "chunks": len(chunks), "named": 0, "in_article": 0,
           "article_named": 0, "list_item_in_path": 0, "regulation_chunks": 0, "empty_section": 0, "over_cap": 0,
           "max_tokens": 0, "examples": []}
    for c in chunks:
        parts = c.section.split(SECTION_SEP) if c.section else []
        out["empty_section"] += not parts
        out["over_cap"] += c.n_tokens > max_tokens
        out["max_tokens"] = max(out["max_tokens"], c.n_tokens)
        # the article the chunk lies in: the one whose line starts inside the chunk (past any heading lines
        # that open it), else the last one that starts before it; a chunk holding two article starts names neither
        inside = [article_names[k] for k in range(bisect.bisect_left(article_starts, c.start),
                                                  bisect.bisect_left(article_starts, c.end)) if article_names[k]]
        before = bisect.bisect_right(article_starts, c.start) - 1
        if not inside and before >= 0 and article_names[before]:
            inside = [article_names[before]]
        if regulation:
            out["regulation_chunks"] += 1
            out["list_item_in_path"] += any(LIST_ITEM.match(p) for p in parts)
        if regulation and inside:
            out["in_article"] += 1
            ok = bool(parts) and names_articles(parts[-1], inside)
            out["article_named"] += ok
            out["named"] += ok
            if not ok and len(out["examples"]) < 3:
                out["examples"].append((c.section, c.text[:50]))
        else:
            out["named"] += bool(parts)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, type=Path, help="directory searched recursively for documents")
    parser.add_argument("--sample", type=int, default=0, help="measure a random sample of this many files (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=320, help="the chunk cap (settings.chunk_tokens)")
    parser.add_argument("--examples", type=int, default=0, help="print this many chunks whose path misses the mark")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"error: {args.corpus} is not a directory; give a corpus folder with --corpus", file=sys.stderr)
        return 2
    files = sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if args.sample and args.sample < len(files):
        files = sorted(random.Random(args.seed).sample(files, args.sample))
    total: dict = {}
    examples, failed = [], []
    t0 = time.perf_counter()
    for path in files:
        try:
            text = clean_text(read_text(path))
        except DocumentReadError as exc:
            failed.append(str(exc))
            continue
        counts = measure(text, path.stem, args.max_tokens)
        examples += [(path.name, *e) for e in counts.pop("examples")]
        for k, v in counts.items():
            total[k] = max(total.get(k, 0), v) if k == "max_tokens" else total.get(k, 0) + v
    n = max(total.get("chunks", 0), 1)
    report = {
        "corpus": str(args.corpus), "files": len(files), "failed": len(failed),
        "documents": total.get("documents", 0), "regulations": total.get("regulations", 0),
        "chunks": total.get("chunks", 0),
        "named": round(total.get("named", 0) / n, 4),
        "article_named": round(total.get("article_named", 0) / max(total.get("in_article", 0), 1), 4),
        "list_item_in_path": round(total.get("list_item_in_path", 0) / max(total.get("regulation_chunks", 0), 1), 4),
        "empty_section": round(total.get("empty_section", 0) / n, 4),
        "over_cap": total.get("over_cap", 0), "max_tokens": total.get("max_tokens", 0),
        "cap": args.max_tokens, "seconds": round(time.perf_counter() - t0, 1),
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for k, v in report.items():
            print(f"{k:18} {v}")
        for name, section, text in examples[:args.examples]:
            print(f"  miss: {name}: [{section}] {text!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
