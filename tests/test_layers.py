"""The house: packages by stage, and imports only go down the line.

scenario -> engine -> records -> kpis -> experiments -> report; ``errors``, ``theory`` and
``io.files`` are leaves any stage may import; ``io``'s other modules, ``api``, ``cli`` and
``validation`` sit at the edges and top and may import anything. Read from the modules' own
import statements (function-level imports included), so a lazy import cannot sneak past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simroute

PACKAGE = Path(simroute.__file__).parent
STAGES = ("scenario", "engine", "records", "kpis", "experiments", "report")
LEAVES = {"simroute.errors", "simroute.theory", "simroute.io.files", "simroute.io"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, source: str | None = None) -> set[str]:
    """The simroute modules that ``path`` (or ``source`` in its place) imports, as absolute dotted names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source, str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("simroute")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("simroute"):
                continue
            for alias in node.names:  # ``from . import codes`` imports the module simroute.x.codes
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _is_module(candidate) else target)
    return found


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").exists() or (PACKAGE / rel / "__init__.py").exists()


def stage_of(module: str) -> int | None:
    """The stage's index, or None for leaves, the edges and the top."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in STAGES:
        return STAGES.index(parts[1])
    return None


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_stage_is_a_package():
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").exists(), stage


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_only_go_down_the_line(path):
    here = stage_of(module_name(path))
    if module_name(path) in LEAVES:
        bad = {m for m in imports_of(path) if m not in LEAVES and m != "simroute"}
        assert not bad, f"{module_name(path)} is a leaf but imports {sorted(bad)}"
        return
    if here is None:
        return  # edges and top: api, cli, validation, io importers
    for target in imports_of(path):
        if target in LEAVES or target == module_name(path):
            continue
        there = stage_of(target)
        assert there is not None, (
            f"{module_name(path)} (stage {STAGES[here]}) imports {target} from above the stages"
        )
        assert there <= here, (
            f"{module_name(path)} (stage {STAGES[here]}) imports {target} "
            f"from the later stage {STAGES[there]}"
        )


def test_no_import_cycles():
    graph = {module_name(p): {t for t in imports_of(p) if t != module_name(p)} for p in MODULES}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_the_check_catches_a_later_stage_import():
    """The rule itself: an engine module that imported from kpis would be flagged."""
    core = PACKAGE / "engine" / "core.py"
    found = imports_of(core, core.read_text() + "\nfrom ..kpis import metrics\n")
    assert "simroute.kpis.metrics" in found
    assert stage_of("simroute.kpis.metrics") > stage_of("simroute.engine.core")
