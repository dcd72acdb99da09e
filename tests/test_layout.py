"""The package layout: no two packages of src/edgebot import each other, directly or through others (every
import counted, also those inside functions or under TYPE_CHECKING). A turn event, a signed webhook or a config
type that two packages share lives in a neutral module (events.py, webhooks.py) or in the package that owns it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "edgebot"


def import_graph() -> dict[str, set[str]]:
    """Top-level package or module of src/edgebot -> the others it imports."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        first = path.relative_to(SRC).parts[0]
        if first == "__init__.py":
            continue
        me = first.removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "edgebot" and len(parts) > 1 and parts[1] != me:
                    graph.setdefault(me, set()).add(parts[1])
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_two_packages_import_each_other() -> None:
    graph = import_graph()
    assert "dialogue" in graph and "storage" in graph["dialogue"]  # the graph is read
    assert cycles(graph) == []


def test_what_tools_write_at_run_time_is_not_tracked() -> None:
    """A schemathesis run from the project's root writes .schemathesis/: ignored, so the tree stays clean."""
    import shutil
    import subprocess

    root = SRC.parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        return
    tracked = subprocess.run(["git", "ls-files", ".schemathesis"], cwd=root, capture_output=True, text=True,
                             check=True).stdout
    ignored = subprocess.run(["git", "check-ignore", "-q", ".schemathesis/default/cache/crashes/manifest.json"],
                             cwd=root, check=False).returncode == 0
    assert tracked == "" and ignored


def test_serving_loads_no_library_it_does_not_use() -> None:
    """`edgebot serve`'s modules do not import scipy (training's: about 50 MB of an idle server's memory) nor
    httpx (the pool of inference servers' client: 6 MB, loaded only with llm.provider = "openai")."""
    import subprocess
    import sys

    code = ("import sys, edgebot.runtime, edgebot.api.server, edgebot.cli; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'sklearn', 'torch', 'spacy', 'httpx'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
