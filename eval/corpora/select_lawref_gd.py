"""Reproduce the unseen external corpus ``eval/corpora/lawref-gd/`` from a LawRefBook checkout.

Source: the Guangdong local regulations (地方性法规) of the public LawRefBook/Laws collection,
``<SRC>/广东地方法规/地方性法规/广东/*.md`` (SRC defaults to ``../shared/corpora/lawrefbook/DLC`` next to the
repository). Selection rule, deterministic (no randomness, sorted listing): every file of that folder that
``select_lawref.select`` does NOT pick for ``eval/corpora/lawref-dev/`` (that rule looks at file names only),
so that no document of this corpus was ever seen while tuning on the external dev corpus.

Files are copied byte for byte under their original names into one flat folder. Usage::

    python eval/corpora/select_lawref_gd.py [--src SRC] [--out eval/corpora/lawref-gd] [--check]

``--check`` copies nothing and exits 1 when the folder differs from the selection (missing, extra or changed
files); exit status 2 when the source folder cannot be read. Standard library only.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SRC = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpora", "lawrefbook", "DLC"))
DEFAULT_OUT = os.path.join(HERE, "lawref-gd")
SUBDIR = os.path.join("广东地方法规", "地方性法规", "广东")
KEEP = ("README.md",)  # files of the output folder that are not part of the selection


def _dev_rule():
    """The ``select_lawref`` module next to this file (the lawref-dev selection rule)."""
    spec = importlib.util.spec_from_file_location("select_lawref", os.path.join(HERE, "select_lawref.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def source_files(src: str) -> list[str]:
    """Paths of the ``*.md`` files of ``<src>/广东地方法规/地方性法规/广东/`` (sorted).

    Raises FileNotFoundError when the folder is missing or holds no ``*.md`` file.
    """
    folder = os.path.join(src, SUBDIR)
    out = [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".md")]
    if not out:
        raise FileNotFoundError(f"no *.md files in {folder}")
    return out


def select(paths: list[str]) -> list[str]:
    """The paths (in input order) that the lawref-dev rule does not select; raises ValueError on a duplicate name."""
    taken = {os.path.basename(p) for p in _dev_rule().select(paths)}
    chosen, names = [], set()
    for p in paths:
        name = os.path.basename(p)
        if name in taken:
            continue
        if name in names:
            raise ValueError(f"two selected files are both named {name}")
        names.add(name)
        chosen.append(p)
    return chosen


def main(argv: list[str] | None = None) -> int:
    """Copy (or ``--check``) the selection; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=DEFAULT_SRC, help=f"LawRefBook DLC folder (default {DEFAULT_SRC})")
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--check", action="store_true", help="only compare the output folder with the selection")
    args = ap.parse_args(argv)
    try:
        paths = source_files(args.src)
        chosen = select(paths)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = _dev_rule().sync(chosen, args.out, args.check, f"{len(chosen)} selected of {len(paths)}", KEEP)
    if status or args.check:
        return status
    size = sum(os.path.getsize(p) for p in chosen)
    print(f"{len(chosen)} of {len(paths)} files, {size} bytes → {args.out}", file=sys.stderr)
    return 0

if __name__ == "__main__":
    sys.exit(main())
