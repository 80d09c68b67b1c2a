"""Reproduce the external dev corpus ``eval/corpora/lawref-dev/`` from a LawRefBook checkout.

Source: the local regulations (地方性法规) of seven provinces in the public LawRefBook/Laws collection,
``<SRC>/<省>地方法规/地方性法规/<省>/*.md`` (SRC defaults to ``../shared/corpora/lawrefbook/DLC`` next to
the repository). Selection rule, deterministic (no randomness, sorted walk):

1. every file whose title (file name without ``(YYYY-MM-DD).md``) contains one of ``TOPICS`` — same-topic
   regulations of different places;
2. every file whose title contains one of ``PROVINCIAL_TOPICS`` and starts with a provincial-level name
   (``PROVINCES``) — only the province-level 物业管理 regulations, the city-level ones are many and long;
3. every dated file of a title that occurs with two or more different dates in the file names (regulations
   present in two versions; both versions are taken).

Files are copied byte for byte under their original names into one flat folder. Usage::

    python eval/corpora/select_lawref.py [--src SRC] [--out eval/corpora/lawref-dev] [--check]

``--check`` copies nothing and exits 1 when the folder differs from the selection (missing, extra or changed
files). Standard library only.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SRC = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpora", "lawrefbook", "DLC"))
DEFAULT_OUT = os.path.join(HERE, "lawref-dev")

TOPICS = ("优化营商环境", "安全生产条例", "科学技术进步", "科技创新", "数据条例", "大数据", "社会信用", "志愿服务",
          "生活垃圾", "消防", "中医药", "养老服务", "非物质文化遗产")
PROVINCIAL_TOPICS = ("物业管理",)
PROVINCES = ("北京市", "上海市", "重庆市", "浙江省", "山东省", "河南省", "广东省")
KEEP = ("README.md",)  # files of the output folder that are not part of the selection

_DATE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)\.md$")


def title_of(name: str) -> str:
    """The regulation title of a file name: ``北京市审计条例(2023-11-24).md`` → ``北京市审计条例``."""
    return _DATE.sub("", name).removesuffix(".md")


def source_files(src: str) -> list[str]:
    """Paths of the ``*.md`` files under ``<src>/*地方法规/`` (sorted). Raises FileNotFoundError when none."""
    out = []
    for entry in sorted(os.listdir(src)):
        if not entry.endswith("地方法规"):
            continue
        for root, dirs, files in os.walk(os.path.join(src, entry)):
            dirs.sort()
            out.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".md"))
    if not out:
        raise FileNotFoundError(f"no *地方法规/**/*.md files under {src}")
    return out


def select(paths: list[str]) -> list[str]:
    """The selected paths (in input order) by the module's rule; raises ValueError on a duplicate file name."""
    dates: dict[str, set[str]] = {}
    for p in paths:
        m = _DATE.search(os.path.basename(p))
        if m:
            dates.setdefault(title_of(os.path.basename(p)), set()).add(m.group(1))
    versioned = {t for t, d in dates.items() if len(d) > 1}
    chosen, names = [], set()
    for p in paths:
        name = os.path.basename(p)
        title = title_of(name)
        if (any(k in title for k in TOPICS)
                or (any(k in title for k in PROVINCIAL_TOPICS) and title.startswith(PROVINCES))
                or (title in versioned and _DATE.search(name))):
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
        chosen = select(source_files(args.src))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = sync(chosen, args.out, args.check, f"{len(chosen)} selected")
    if status or args.check:
        return status
    size = sum(os.path.getsize(p) for p in chosen)
    provinces = {os.path.relpath(p, args.src).split(os.sep)[0] for p in chosen}
    print(f"{len(chosen)} files from {len(provinces)} provinces, {size} bytes → {args.out}", file=sys.stderr)
    return 0


def sync(chosen: list[str], out: str, check: bool, label: str, keep: tuple[str, ...] = KEEP) -> int:
    """Make folder ``out`` hold exactly the files ``chosen`` (byte copies under their base names, besides
    ``keep``), or with ``check`` only print what differs (missing / extra / differs lines, then ``label``
    and the problem count on stderr). Returns the exit status: 1 when ``check`` found a problem, else 0."""
    wanted = {os.path.basename(p): p for p in chosen}
    present = set(os.listdir(out)) - set(keep) if os.path.isdir(out) else set()
    if check:
        problems = [f"missing {n}" for n in sorted(set(wanted) - present)]
        problems += [f"extra {n}" for n in sorted(present - set(wanted))]
        problems += [f"differs {n}" for n in sorted(present & set(wanted))
                     if not filecmp.cmp(wanted[n], os.path.join(out, n), shallow=False)]
        for p in problems:
            print(p)
        print(f"{label}, {len(problems)} problem(s)", file=sys.stderr)
        return 1 if problems else 0
    os.makedirs(out, exist_ok=True)
    for name in sorted(present - set(wanted)):
        os.remove(os.path.join(out, name))
    for name, path in wanted.items():
        shutil.copyfile(path, os.path.join(out, name))
    return 0

if __name__ == "__main__":
    sys.exit(main())
