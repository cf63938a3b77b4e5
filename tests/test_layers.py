"""Imports run one way: pipeline/ -> components/ -> components/modules/.

The module code runs inside Transform, Trainer and Tuner (on Beam workers and
Vertex AI), the components run in the DAG; neither may reach up into the host
side, or a worker would need the host's dependencies and a change up there
could break a step down here.
"""

import ast
import pathlib

import pytest

from tests.conftest import REPO

ROOT = pathlib.Path(REPO)
HOST = ("pipeline", "pipeline_runner")


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _files(package: str) -> list[pathlib.Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _files("components"), ids=lambda p: str(p.relative_to(ROOT)))
def test_components_and_module_code_never_import_the_host_side(path):
    upward = sorted(m for m in imported_modules(path) if _within(m, HOST))
    assert not upward, f"{path.relative_to(ROOT)} imports {upward}"


@pytest.mark.parametrize(
    "path", _files("components/modules"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_module_code_imports_only_module_code(path):
    ours = [m for m in imported_modules(path) if _within(m, ("components",))]
    upward = sorted(m for m in ours if not _within(m, ("components.modules",)))
    assert not upward, f"{path.relative_to(ROOT)} imports {upward}"


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from pipeline.config import Config\n    import components.x\n")
    assert {"pipeline.config", "pipeline.config.Config", "components.x"} <= imported_modules(module)
