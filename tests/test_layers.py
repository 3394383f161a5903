"""The package's four layers import one way: inputs -> analysis -> workflows -> hpc.

Every ``ionflow`` import in the code folders is read from the source (module level and inside
functions alike); a module may import only from its own layer or the layers before it. The
checker itself is tested on a planted backward import.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("inputs", "analysis", "workflows", "hpc")


def ionflow_imports(source: str) -> list[tuple[int, str, bool]]:
    """``(line, module, inside a function)`` for each import of an ``ionflow`` module."""
    tree = ast.parse(source)
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(sub) for sub in ast.walk(node) if sub is not node)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ionflow":
            names = [node.module]
            if node.module == "ionflow":  # from ionflow import hpc
                names = [f"ionflow.{alias.name}" for alias in node.names]
            found += [(node.lineno, name, id(node) in in_function) for name in names]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name, id(node) in in_function)
                for alias in node.names
                if alias.name.split(".")[0] == "ionflow"
            ]
    return found


def backward_imports(root: Path) -> list[str]:
    """Each import under ``root``'s code folders that points to a later layer."""
    problems = []
    for rank, layer in enumerate(LAYERS):
        for path in sorted((root / layer).rglob("*.py")):
            for line, module, _ in ionflow_imports(path.read_text()):
                parts = module.split(".")
                target = parts[1] if len(parts) > 1 else ""
                if target not in LAYERS:
                    problems.append(f"{path.relative_to(root)}:{line}: imports {module} (no such layer)")
                elif LAYERS.index(target) > rank:
                    problems.append(f"{path.relative_to(root)}:{line}: {layer} imports {module}")
    return problems


def test_ionflow_imports_are_at_module_top():
    """A function-level ionflow import is kept only where the module pulls a heavy dependency,
    and says so (``# deferred: ...`` on its first line)."""
    hidden = []
    for layer in LAYERS:
        for path in sorted((REPO / layer).rglob("*.py")):
            lines = path.read_text().splitlines()
            for line, module, inside in ionflow_imports(path.read_text()):
                if inside and "# deferred:" not in lines[line - 1]:
                    hidden.append(f"{path.relative_to(REPO)}:{line}: {module}")
    assert hidden == []


def test_layers_import_one_way():
    assert backward_imports(REPO) == []


def test_a_backward_import_is_caught(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "inputs" / "ok.py").write_text("from ionflow.inputs.errors import InputError\n")
    (tmp_path / "analysis" / "bad.py").write_text(
        "def table():\n    from ionflow.workflows.specs import FlowSpec  # hidden in a function\n"
    )
    (tmp_path / "workflows" / "also_bad.py").write_text("from ionflow import hpc\n")
    assert backward_imports(tmp_path) == [
        "analysis/bad.py:2: analysis imports ionflow.workflows.specs",
        "workflows/also_bad.py:1: workflows imports ionflow.hpc",
    ]


def registry_branches(root: Path, names: set[str], registries: set[str]) -> list[str]:
    """Each comparison with a registered engine or scheduler name outside its registry
    (``if engine == "vasp"``: a branch a new entry would silently fall through)."""
    problems = []
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            if path.relative_to(root).as_posix() in registries:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Compare):
                    for operand in (node.left, *node.comparators):
                        if isinstance(operand, ast.Constant) and operand.value in names:
                            problems.append(f"{path.relative_to(root)}:{node.lineno}: {operand.value!r}")
    return problems


def test_engines_and_schedulers_are_branched_on_only_in_their_registries(tmp_path):
    from ionflow.hpc.schedulers import SCHEDULERS
    from ionflow.workflows.engines import ENGINES

    names = {*ENGINES, *SCHEDULERS}
    registries = {"workflows/engines.py", "hpc/schedulers.py"}
    assert registry_branches(REPO, names, registries) == []
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "hpc" / "planted.py").write_text("def f(s):\n    return 1 if s.scheduler == 'slurm' else 2\n")
    assert registry_branches(tmp_path, names, registries) == ["hpc/planted.py:2: 'slurm'"]
