"""The README's generated and copied parts stay true: the study-task table equals the registry, the
Python example equals experiments/python_example.py and runs, the what-if files it walks through load,
and the two quick-start commands are Makefile targets."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLE = ROOT / "experiments" / "python_example.py"
EXAMPLE_MARK = "<!-- python-example: experiments/python_example.py"

sys.path.insert(0, str(ROOT / "experiments"))
import task_table  # noqa: E402  (experiments/ is a folder of scripts, not a package)


def _example_body() -> str:
    """The example file without its module docstring (what the README shows)."""
    text = EXAMPLE.read_text()
    doc = ast.parse(text).body[0]
    assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant), "the example starts with a docstring"
    return "\n".join(text.splitlines()[doc.end_lineno:]).strip() + "\n"


def _readme_example() -> str:
    text = README.read_text()
    i = text.find(EXAMPLE_MARK)
    assert i >= 0, f"README lost the marker {EXAMPLE_MARK!r}"
    m = re.compile(r"```python\n(.*?)```", re.S).search(text, i)
    assert m is not None and text[i:m.start()].count("\n") <= 2, "the marker must be right above a ```python block"
    return m.group(1)


def test_readme_task_table_is_the_registry():
    text = README.read_text()
    i, j = text.find(task_table.BEGIN), text.find(task_table.END)
    assert 0 <= i < j, "README lost the task-table markers"
    shown = text[i + len(task_table.BEGIN): j].strip("\n")
    assert shown == task_table.task_table().strip("\n"), (
        "README's study-task table differs from cryoctl.study.tasks: run "
        "`python experiments/task_table.py --write README.md`")


def test_task_table_lists_every_kind_parameter_and_metric():
    """The generator itself can fail: every advertised kind, each of its parameters with its default, and
    each metric appear."""
    from cryoctl.study.tasks import get_task, task_kinds

    table = task_table.task_table()
    for name in task_kinds():
        kind = get_task(name)
        assert f"| `{name}` |" in table
        for m in kind.metrics:
            assert f"`{m}`" in table
        for p, field in kind.params.model_fields.items():
            if p != "kind":
                assert re.search(rf"`{name}`[^\n]*\| `{p}` \|", table), (name, p)
    assert "| `cost` | `inl_yield` | float (> 0.0, < 1.0) | 0.997 |" in table


def test_task_table_write_replaces_only_between_markers(tmp_path):
    doc = tmp_path / "R.md"
    doc.write_text(f"top\n{task_table.BEGIN}\nold table\n{task_table.END}\nbottom\n")
    assert task_table.main(["--write", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith(f"top\n{task_table.BEGIN}\n| task kind |") and text.endswith(f"{task_table.END}\nbottom\n")
    assert "old table" not in text


def test_readme_python_example_is_the_file():
    assert _readme_example() == _example_body(), (
        "README's Python example differs from experiments/python_example.py: copy the file (without its "
        "docstring) into the block under the marker")


def test_python_example_runs(tmp_path):
    env = {**os.environ, "CRYOCTL_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=600,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0].startswith("cryo_cmos_6bit 6 bits, hash ")
    assert re.match(r"mean 1-F \d\.\d\de-0\d, max leakage", lines[1])
    hw = [float(v) for v in re.findall(r"-?\d+\.\d+", lines[-2])]
    ideal = [float(v) for v in re.findall(r"-?\d+\.\d+", lines[-1])]
    assert len(hw) == len(ideal) == 2 and ideal == [0.0, 0.0]
    assert 0 < max(abs(v) for v in hw) < 0.2  # the realized gates are close to, but not, the ideal ones


def test_whatif_files_load():
    """The walk-through's profile extends cryo_cmos_6bit with 4x the unit mismatch; its study expands."""
    from cryoctl.profile import load_profile, profile_hash
    from cryoctl.study import expand_points, load_study_spec

    base = load_profile("cryo_cmos_6bit")
    prof = load_profile(str(ROOT / "experiments" / "whatif" / "cryo_cmos_6bit_inl.yaml"))
    assert prof.dac.unit_mismatch_sigma == 4 * base.dac.unit_mismatch_sigma
    assert prof.dac.model_copy(update={"unit_mismatch_sigma": base.dac.unit_mismatch_sigma}) == base.dac
    assert profile_hash(prof) != profile_hash(base)
    points = expand_points(load_study_spec(ROOT / "experiments" / "whatif" / "inl_study.yaml"))
    assert len(points) > 0 and {p.task["kind"] for p in points} >= {"cost", "gates", "qnn_infer"}


@pytest.mark.parametrize("target", ["demo", "test"])
def test_quick_start_commands_are_makefile_targets(target):
    quick = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert f"make {target}" in quick
    assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.M)
