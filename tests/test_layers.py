"""Dependencies inside benchmark_mri/ point one way (docs/architecture.md).

Every import of every module, lazy ones inside functions included, is read
with `ast`; an import of a layer above the module's own, or of a sibling of
the same layer, fails the test, naming the file, line and import.
"""

import ast
from pathlib import Path

import pytest

from .conftest import REPO

# physics <- data <- classical, learned, metrics <- results <- report <- cli;
# version.py (the source fingerprint), threads.py (each process's share of
# the cores), progress.py (progress lines) and allocator.py (freed blocks back
# to the system) are at the bottom.
LAYERS = {
    "version": 0, "threads": 0, "progress": 0, "allocator": 0,
    "physics": 1,
    "data": 2,
    "classical": 3, "learned": 3, "metrics": 3,
    "results": 4,
    "report": 5, "prepare": 5, "plan": 5,
    "cli": 6,
}
# benchopt is imported only by the report's reader (benchopt.results.read_results)
# and by `benchmark-mri prepare`, which instantiates the datasets of a -d pattern.
MAY_IMPORT_BENCHOPT = {"report", "prepare", "plan"}


def _unit(package: str, module: str) -> str | None:
    """'benchmark_mri.data.measure' -> 'data'; None outside the package."""
    parts = module.split(".")
    if parts[0] != package:
        return None
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path, module: str):
    """(line, absolute module name) of every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            if node.module is None:  # `from . import x`: each x is a module
                for alias in node.names:
                    yield node.lineno, f"{name}.{alias.name}"
            else:
                yield node.lineno, name


def layer_violations(root: Path, layers=LAYERS,
                     may_import_benchopt=MAY_IMPORT_BENCHOPT) -> list[str]:
    """Sentences naming each import of `root` (a package folder) that points
    up or sideways, or imports benchopt outside `may_import_benchopt`."""
    package = root.name
    problems = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        own = _unit(package, module)
        if own == "":  # the package's own __init__
            continue
        if own not in layers:
            problems.append(f"{path}: unit {own!r} has no layer in LAYERS.")
            continue
        for line, name in _imports(path, module):
            where = f"{path.relative_to(root.parent)}:{line} imports {name}"
            if name.split(".")[0] == "benchopt" and own not in may_import_benchopt:
                problems.append(f"{where}: only {sorted(may_import_benchopt)} "
                                "may import benchopt.")
            target = _unit(package, name)
            if target is None or target == own:
                continue
            if target not in layers or layers[target] >= layers[own]:
                problems.append(
                    f"{where}: {own!r} (layer {layers[own]}) may only import "
                    f"lower layers, not {target!r} (layer {layers.get(target)}).")
    return problems


def test_benchmark_mri_layers_point_one_way():
    assert layer_violations(REPO / "benchmark_mri") == []


def test_every_unit_of_the_package_has_a_layer():
    units = {p.stem if p.is_file() else p.name
             for p in (REPO / "benchmark_mri").iterdir()
             if (p.suffix == ".py" and p.stem != "__init__")
             or (p.is_dir() and (p / "__init__.py").is_file())}
    assert units <= set(LAYERS), sorted(units - set(LAYERS))


@pytest.fixture
def fake_package(tmp_path):
    root = tmp_path / "pkg"
    for folder in ("physics", "data", "report"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    return root


def test_an_import_that_points_up_is_named(fake_package):
    (fake_package / "data" / "io.py").write_text(
        "from ..physics import fft\n"
        "def later():\n"
        "    from ..report import html\n")
    (fake_package / "physics" / "fft.py").write_text("from pkg.data import io\n")
    problems = layer_violations(fake_package, {"physics": 1, "data": 2, "report": 3})
    assert len(problems) == 2
    assert "pkg/data/io.py:3 imports pkg.report" in problems[0]
    assert "'data' (layer 2) may only import lower layers, not 'report'" in problems[0]
    assert "pkg/physics/fft.py:1 imports pkg.data:" in problems[1]


def test_benchopt_outside_the_report_is_named(fake_package):
    (fake_package / "data" / "io.py").write_text("import benchopt\n")
    (fake_package / "report" / "read.py").write_text(
        "def read():\n    from benchopt.results import read_results\n")
    problems = layer_violations(fake_package, {"physics": 1, "data": 2, "report": 3},
                                {"report"})
    assert problems == ["pkg/data/io.py:1 imports benchopt: only ['report'] may "
                        "import benchopt."]
