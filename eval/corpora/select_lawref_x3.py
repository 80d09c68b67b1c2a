"""Reproduce the third external corpus ``eval/corpora/lawref-x3/`` from a LawRefBook checkout.

Sources (both in the public LawRefBook/Laws collection):

1. the Zhejiang local regulations, every ``*.md`` under ``<SRC>/浙江地方法规/`` (SRC defaults to
   ``../shared/corpora/lawrefbook/DLC`` next to the repository);
2. the national ministry rules (部门规章), every ``*.md`` under ``<RULES>/`` (RULES defaults to
   ``../shared/corpora/lawrefbook/部门规章``) — a corpus a user loads may be one ministry's documents, with no place.

Selection rule, deterministic (no randomness, paths sorted): of the Zhejiang files, those that
``select_lawref.select`` does NOT pick for ``eval/corpora/lawref-dev/`` (that rule looks at file names only), and of
these every ``STEP``-th one (the 6th, 12th, 18th, … in path order), so that no document of this corpus was seen while
tuning on the external dev corpus; plus every ministry rule.

Files are copied byte for byte under their original names into one flat folder. Usage::

    python eval/corpora/select_lawref_x3.py [--src SRC] [--rules RULES] [--out eval/corpora/lawref-x3] [--check]

``--check`` copies nothing and exits 1 when the folder differs from the selection (missing, extra or changed
files); exit status 2 when a source folder cannot be read or two selected files share a name. Standard library only.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpora", "lawrefbook"))
DEFAULT_SRC = os.path.join(SHARED, "DLC")
DEFAULT_RULES = os.path.join(SHARED, "部门规章")
DEFAULT_OUT = os.path.join(HERE, "lawref-x3")
SUBDIR = "浙江地方法规"
STEP = 6  # every STEP-th Zhejiang file not in lawref-dev (1-based positions STEP, 2*STEP, …)
KEEP = ("README.md",)  # files of the output folder that are not part of the selection


def _dev_rule():
    """The ``select_lawref`` module next to this file (the lawref-dev selection rule)."""
    spec = importlib.util.spec_from_file_location("select_lawref", os.path.join(HERE, "select_lawref.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _md_files(folder: str) -> list[str]:
    """Paths of every ``*.md`` file under ``folder`` (recursive), sorted by path.

    Raises FileNotFoundError when the folder is missing or holds no ``*.md`` file.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"no folder {folder}")
    out = []
    for root, dirs, files in os.walk(folder):
        out.extend(os.path.join(root, f) for f in files if f.endswith(".md"))
    if not out:
        raise FileNotFoundError(f"no *.md files under {folder}")
    return sorted(out)


def source_files(src: str) -> list[str]:
    """Paths of the ``*.md`` files under ``<src>/浙江地方法规/`` (sorted by path); FileNotFoundError when none."""
    return _md_files(os.path.join(src, SUBDIR))


def rule_files(rules: str) -> list[str]:
    """Paths of the ``*.md`` files under the 部门规章 folder ``rules`` (sorted by path); FileNotFoundError when none."""
    return _md_files(rules)


def select(paths: list[str], step: int = STEP) -> list[str]:
    """The Zhejiang paths (in input order) that the lawref-dev rule does not select, then every ``step``-th of them
    (positions step, 2*step, … counted from 1)."""
    taken = {os.path.basename(p) for p in _dev_rule().select(paths)}
    rest = [p for p in paths if os.path.basename(p) not in taken]
    return rest[step - 1 :: step]


def unique_names(paths: list[str]) -> list[str]:
    """``paths`` unchanged; raises ValueError when two of them share a file name (the output folder is flat)."""
    names: set[str] = set()
    for p in paths:
        name = os.path.basename(p)
        if name in names:
            raise ValueError(f"two selected files are both named {name}")
        names.add(name)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Copy (or ``--check``) the selection; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=DEFAULT_SRC, help=f"LawRefBook DLC folder (default {DEFAULT_SRC})")
    ap.add_argument("--rules", default=DEFAULT_RULES, help=f"LawRefBook 部门规章 folder (default {DEFAULT_RULES})")
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--check", action="store_true", help="only compare the output folder with the selection")
    args = ap.parse_args(argv)
    try:
        paths = source_files(args.src)
        local = select(paths)
        rules = rule_files(args.rules)
        chosen = unique_names(local + rules)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    label = f"{len(local)} selected of {len(paths)} Zhejiang files + {len(rules)} ministry rules"
    status = _dev_rule().sync(chosen, args.out, args.check, label, KEEP)
    if status or args.check:
        return status
    size = sum(os.path.getsize(p) for p in chosen)
    print(f"{label}: {len(chosen)} files, {size} bytes → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
