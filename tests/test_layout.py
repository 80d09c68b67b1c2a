"""The package layout (issue 14): stage packages whose imports point one way.

The import graph of ``rag/`` and ``ui/`` is read from the source with ``ast`` — every ``import`` and
``from … import`` statement, at module level or inside a function (a lazy import is an import too) —
and checked for cycles (Tarjan's strongly connected components) and for imports from a higher stage.
Stages, lowest first: the base modules, ``rag.ingest``, ``rag.index``, ``rag.understand``,
``rag.retrieve``, ``rag.answer``, ``rag.pipeline``, ``rag.cli``, then ``rag.eval`` and ``rag.matching``
(tools on top of the pipeline), then ``ui``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASE = ("rag", "rag.types", "rag.settings", "rag.errors", "rag.text", "rag.imports", "rag.jieba_dict", "rag.injection")
STAGES = (BASE, ("rag.ingest",), ("rag.index",), ("rag.understand",), ("rag.retrieve",), ("rag.answer",),
          ("rag.pipeline",), ("rag.cli",), ("rag.eval", "rag.matching"), ("ui",))


def modules() -> dict[str, Path]:
    """Dotted module name → source file, for every module of rag/ and ui/."""
    out = {}
    for top in ("rag", "ui"):
        for p in sorted((ROOT / top).rglob("*.py")):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (the longest known prefix of each imported name)."""
    mods = modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        package = m if path.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                k = known(t)
                if k and k != m:
                    graph[m].add(k)
    return graph


def stage(module: str) -> int:
    """Index in ``STAGES`` of the stage ``module`` belongs to."""
    for i, names in enumerate(STAGES):
        if any(module == n or (n != "rag" and module.startswith(n + ".")) for n in names):
            return i
    raise AssertionError(f"{module} belongs to no stage: add it to STAGES")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycles():
    assert cycles(import_graph()) == []


def test_no_module_imports_a_higher_stage():
    graph = import_graph()
    upward = sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts if stage(t) > stage(m))
    assert upward == []


@pytest.mark.parametrize("package", ["ingest", "index", "understand", "retrieve", "answer", "eval", "matching"])
def test_each_stage_package_says_what_it_holds(package):
    init = ROOT / "rag" / package / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))


def test_the_checks_see_a_cycle_and_an_upward_import():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert stage("rag.answer.refusal") > stage("rag.understand.query") > stage("rag.index.store") > stage("rag.text")
