"""The layout's size and direction rules, read from the source (ast: nothing is imported).

`lint-imports` (the contracts in pyproject.toml, run by `make test` and `make lint`) is the full
import check, indirect chains and feature independence included. This test keeps the rules a
newcomer meets first inside pytest, with messages that name each offender and its line:
no module over 450 lines, no function of 50 lines or more, no top-level folder importing one
above it. The layer order is read from the contract, so the two cannot disagree.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tomli

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 49  # "under 50", counted from `def` to the last line of the body

# Modules whose length is their data, not their logic (a schema, a table of words): exempt
# from both size rules. Each entry says why; a module of logic never belongs here.
DATA_TABLES: dict[str, str] = {
    "bot/db/migrations/versions/0001_core.py": "the core tables, column by column",
    "bot/db/migrations/versions/0005_scorecard.py": "the scorecard tables, column by column",
    "bot/db/migrations/versions/0006_meetings.py": "the meetings tables, column by column",
    "bot/db/migrations/versions/0012_jaap.py": "the JAAP tables, column by column",
}


def _layers() -> list[str]:
    """The top-level packages, top to bottom, as the layers contract lists them."""
    config = tomli.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c["layers"] for c in contracts if c.get("id") == "layers")


LAYERS = _layers()


def _modules() -> Iterator[tuple[str, Path]]:
    """Every Python file of the layered packages (tests and bench are not layered)."""
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@dataclass(frozen=True)
class Import:
    module: str  # the file, relative to the repository
    line: int
    target: str  # the imported module's dotted name

    @property
    def top(self) -> str:
        return self.target.split(".")[0]


def _imports(name: str, path: Path) -> Iterator[Import]:
    """Every import in a file, wherever it stands (in a function, under TYPE_CHECKING)."""
    package = name.removesuffix(".py").replace("/", ".").rsplit(".", 1)[0]
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this file's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield Import(name, node.lineno, target)


def test_the_layers_are_the_top_level_packages() -> None:
    """A new top-level package must be placed in the layers (pyproject.toml) to be checked."""
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    unplaced = packages - set(LAYERS) - {"tests", "bench"}
    assert not unplaced, (f"top-level packages missing from the layers contract in "
                          f"pyproject.toml: {sorted(unplaced)}")
    assert all((ROOT / package / "__init__.py").exists() for package in LAYERS)


def test_no_top_level_folder_imports_one_above_it() -> None:
    rank = {package: index for index, package in enumerate(LAYERS)}
    upward = []
    for name, path in _modules():
        own = rank[name.split("/")[0]]
        for imported in _imports(name, path):
            if imported.top in rank and rank[imported.top] < own:
                upward.append(f"{imported.module}:{imported.line} imports {imported.target} "
                              f"({imported.top} is above {name.split('/')[0]})")
    assert not upward, ("imports against the layers " + " → ".join(LAYERS) + ":\n  "
                        + "\n  ".join(upward))


def test_no_module_over_450_lines() -> None:
    long = []
    for name, path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES and name not in DATA_TABLES:
            long.append(f"{name}: {lines} lines")
    assert not long, (f"modules over {MAX_MODULE_LINES} lines (split them by what they do; only "
                      "data tables may be listed in DATA_TABLES):\n  " + "\n  ".join(long))


def test_no_function_of_50_lines_or_more() -> None:
    long = []
    for name, path in _modules():
        if name in DATA_TABLES:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{name}:{node.lineno} {node.name}(): {length} lines")
    assert not long, (f"functions of {MAX_FUNCTION_LINES + 1} lines or more (give each step a "
                      "named helper):\n  " + "\n  ".join(long))


def test_the_data_table_exceptions_still_exist_and_are_long() -> None:
    """An exception outlives its reason only by mistake: drop entries that no longer need it."""
    stale = []
    for name in DATA_TABLES:
        path = ROOT / name
        if not path.exists():
            stale.append(f"{name}: no such file")
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        longest = max(((n.end_lineno or n.lineno) - n.lineno + 1 for n in ast.walk(_tree(path))
                       if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), default=0)
        if lines <= MAX_MODULE_LINES and longest <= MAX_FUNCTION_LINES:
            stale.append(f"{name}: {lines} lines, longest function {longest}: within the rules")
    assert not stale, "DATA_TABLES entries to remove:\n  " + "\n  ".join(stale)
