"""The add-on's import graph (no bpy needed): no cycle among interactvlm_blender modules, the pure
modules import without Blender, and each shared concern is coded in one module only."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "interactvlm_blender"
# Modules that must import without bpy (README "Layout"); __init__ imports bpy only in register().
BPY_FREE = ("__init__", "protocol", "client", "runner", "naming", "heat_map", "ownership", "environment")


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, at any level (function-local imports count: a lazy
    import is still a dependency, and the cycle this test guards against was a lazy one)."""
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name in modules:
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                targets = [node.module] if node.module else [alias.name for alias in node.names]
                graph[name] |= {t.split(".")[0] for t in targets if t.split(".")[0] in modules}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_no_import_cycle_among_addon_modules():
    graph = import_graph()
    assert {"runner", "ops_job", "protocol", "estimate"} <= set(graph)
    assert find_cycle(graph) == []
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the checker finds one


def test_pure_modules_import_without_blender():
    blocker = ("import sys\n"
               "class NoBlender:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] in ('bpy', 'mathutils', 'bmesh'):\n"
               "            raise ImportError('bpy is not importable here')\n"
               "sys.meta_path.insert(0, NoBlender())\n"
               f"sys.path.insert(0, {str(PACKAGE.parent)!r})\n")
    names = ", ".join("interactvlm_blender" if m == "__init__" else f"interactvlm_blender.{m}" for m in BPY_FREE)
    run = subprocess.run(
        [sys.executable, "-c", blocker + f"import {names}\nprint('ok')"], capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


def test_each_concern_has_one_home():
    """Writing/reading npz files, the modal timer and status bar, polling a job's worker events, the
    job slot, creating attributes and vertex groups on the user's meshes."""
    homes = {r"np\.savez|np\.load\(": {"protocol"}, r"event_timer_add|modal_handler_add|status_text_set": {"ops_job"},
             r"self\.worker\.poll\(": {"runner"}, r"^_active\b": {"runner"},
             r"attributes\.new\(|vertex_groups\.new\(": {"results"}}
    for pattern, expected in homes.items():
        found = {path.stem for path in PACKAGE.glob("*.py")
                 if any(re.search(pattern, line) for line in path.read_text().splitlines()
                        if not line.lstrip().startswith("#"))}
        assert found == expected, (pattern, found)
