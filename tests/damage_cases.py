"""Damage done to a built index, for the repair tests (tests/test_repair.py) and the fault table
(bench/faults.py). Each case damages one file or folder of the live index in a data directory the
way a full disk, an interrupted copy or a careless clean-up would: deleted, truncated to half its
bytes, or emptied.

``CASES``: name → function(data_dir: Path) -> None. Names read ``<what> <how>``, e.g.
``bm25/vocab.index.json truncated``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

BM25_FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy", "params.index.json",
              "vocab.index.json")


def generation_dir(data_dir: Path) -> Path:
    """The live generation's folder (read from CURRENT.json, which must still be intact)."""
    pointer = json.loads((data_dir / "index" / "CURRENT.json").read_text(encoding="utf-8"))
    return data_dir / "index" / pointer["generation"]


def _delete(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _in_generation(name: str, how):
    return lambda data_dir: how(generation_dir(data_dir) / name)


def _in_data(name: str, how):
    return lambda data_dir: how(data_dir / name)


def _hnsw_segment(data_dir: Path) -> None:
    """Delete the Chroma collection's vector segment folder (the HNSW files beside chroma.sqlite3)."""
    folders = [p for p in (data_dir / "chroma").iterdir() if p.is_dir()]
    assert folders, "no Chroma segment folder"
    for folder in folders:
        shutil.rmtree(folder)


CASES: dict = {}
for _name in BM25_FILES:
    CASES[f"bm25/{_name} deleted"] = _in_generation(f"bm25/{_name}", _delete)
    CASES[f"bm25/{_name} truncated"] = _in_generation(f"bm25/{_name}", _truncate)
CASES["bm25/ folder deleted"] = _in_generation("bm25", _delete)
for _name in ("df.json", "lsa.npz", "documents.json", "chunks.jsonl"):
    CASES[f"{_name} deleted"] = _in_generation(_name, _delete)
    CASES[f"{_name} truncated"] = _in_generation(_name, _truncate)
CASES["documents.json emptied"] = _in_generation("documents.json", _empty)
CASES["generation folder deleted"] = lambda data_dir: _delete(generation_dir(data_dir))
CASES["chroma/ folder deleted"] = _in_data("chroma", _delete)
CASES["chroma/chroma.sqlite3 deleted"] = _in_data("chroma/chroma.sqlite3", _delete)
CASES["chroma/chroma.sqlite3 truncated"] = _in_data("chroma/chroma.sqlite3", _truncate)
CASES["chroma/ segment folder deleted"] = _hnsw_segment
CASES["CURRENT.json deleted"] = _in_data("index/CURRENT.json", _delete)
CASES["CURRENT.json truncated"] = _in_data("index/CURRENT.json", _truncate)
CASES["CURRENT.json emptied"] = _in_data("index/CURRENT.json", _empty)
