"""DESIGN.md: the package follows the signal chain and nothing imports upward."""

import ast
from pathlib import Path

ORDER = ["errors", "conventions", "profile", "dac", "pulse", "physics", "gates", "circuit", "qnn", "cost", "study", "report", "cli"]
PKG = Path(__file__).resolve().parents[1] / "cryoctl"


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "cryoctl" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for a in node.names:  # from cryoctl import qnn
                if node.module == "cryoctl":
                    yield f"cryoctl.{a.name}", node.lineno


def test_every_layer_is_a_known_module():
    for p in PKG.iterdir():
        if p.name.startswith("_") or p.name == "__pycache__":
            continue
        assert p.stem in ORDER, f"{p.name} is not a layer of DESIGN.md's signal chain"


def test_nothing_imports_upward():
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        own = rel.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        for mod, line in _imports(path):
            layer = _layer(mod)
            if layer in ORDER and ORDER.index(layer) > ORDER.index(own):
                bad.append(f"{rel}:{line} ({own}) imports {mod} ({layer})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_detector_catches_an_upward_import(tmp_path):
    """The check itself can fail: a synthetic upward import is reported."""
    f = tmp_path / "x.py"
    f.write_text("from cryoctl.qnn import thing\nimport cryoctl.cli\n")
    mods = [m for m, _ in _imports(f)]
    assert [_layer(m) for m in mods] == ["qnn", "cli"]
    assert ORDER.index("qnn") > ORDER.index("dac")


def test_import_linter_contract():
    """The same contract, declared in pyproject.toml for import-linter (lint-imports)."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        import pytest

        pytest.skip("import-linter not installed")
    r = subprocess.run([str(exe)], cwd=PKG.parent, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_exit_code_of_typer_exit_is_returned():
    """A command that ends with typer.Exit(3) makes main() return 3 (not 0)."""
    import typer

    from cryoctl.cli import app, main

    @app.command("_exit_probe", hidden=True)
    def _probe() -> None:
        raise typer.Exit(3)

    try:
        assert main(["_exit_probe"]) == 3
    finally:
        app.registered_commands[:] = [c for c in app.registered_commands if c.name != "_exit_probe"]
