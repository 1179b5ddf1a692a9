"""The service's layout: one package per capability over a small shared ground, imports only downwards.

These rules are what lets a newcomer find a behaviour from the folder names and change one capability
in one folder (docs/layout.md); a change that breaks them fails here, naming the file and the import.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import handoff

ROOT = Path(handoff.__file__).resolve().parent
GROUND = {"__init__", "config", "db", "models", "errors", "realtime"}
# Who may import whom: a package imports the ground and packages of a lower rank, never its own rank's
# neighbours or anything above. The app factory (handoff/__init__.py) wires everything together.
RANK = {"vectors": 0, "mail": 1, "routing": 1, "knowledge": 2, "tickets": 2, "chat": 3, "inbound": 3, "people": 4,
        "views": 5, "ops": 6}


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] != "migrations":
            yield rel, path


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported handoff module) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = ["handoff", *path.relative_to(ROOT).parent.parts]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "handoff"]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            if name.split(".")[0] == "handoff":
                found += [(node.lineno, f"{name}.{a.name}") for a in node.names]
    return found


def _area(dotted: str) -> str:
    """The package (or ground module) a dotted name belongs to: handoff.chat.routing -> chat."""
    parts = dotted.split(".")
    if len(parts) > 1 and ((ROOT / parts[1]).is_dir() or (ROOT / f"{parts[1]}.py").exists()):
        return parts[1]
    return "__init__"  # a name defined by the app factory's module, e.g. create_app


def test_the_top_level_holds_only_the_shared_ground_and_packages():
    loose = sorted(p.stem for p in ROOT.glob("*.py") if p.stem not in GROUND)
    packages = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists())
    assert loose == [], f"modules outside any package: {loose}; move each into its capability's package"
    assert set(packages) == set(RANK), f"packages {packages} and the layout's ranks {sorted(RANK)} differ"


@pytest.mark.parametrize("package", sorted(RANK))
def test_every_package_says_in_one_line_what_it_holds(package):
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text()))
    assert doc and "\n" not in doc.strip(), f"handoff/{package}/__init__.py needs a one-line docstring"


def test_imports_only_go_downwards():
    wrong = []
    for rel, path in _modules():
        if rel == Path("__init__.py"):
            continue  # the app factory
        own = rel.parts[0] if len(rel.parts) > 1 else "ground"
        for line, target in _imports(path):
            area = _area(target)
            if area in GROUND or area == own:
                continue
            if own == "ground" or area not in RANK or RANK[area] >= RANK[own]:
                wrong.append(f"handoff/{rel}:{line} imports {target}")
    assert wrong == [], "imports against the layout (lower packages never import higher ones):\n" + "\n".join(wrong)


@pytest.mark.parametrize("module", sorted(p.stem for p in (ROOT.parent / "bench").glob("*.py")))
def test_every_benchmark_module_imports(module):
    """`make bench` and `make eval` run outside the test suite; a moved module must not break them unseen."""
    importlib.import_module("bench" if module == "__init__" else f"bench.{module}")
