"""The README's main job (`make demo`): the default study over the shipped profiles, then the report.

The Makefile's demo recipe is read, so the commands tested are the ones users run; only the output
directory is redirected to a temporary one.
"""

import json
import re
import shlex
from pathlib import Path

import pytest

from cryoctl.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _demo_commands() -> list[list[str]]:
    text = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", text, re.M).group(1)
    cmds = [shlex.split(line.strip()) for line in recipe.splitlines()]
    assert all(c[0] == "$(BIN)/cryoctl" for c in cmds), cmds
    return [c[1:] for c in cmds]


def test_readme_names_the_make_targets():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


@pytest.mark.slow
def test_main_job_produces_the_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(ROOT)
    cmds = [[a.replace("out/", f"{tmp_path}/out/") for a in c] for c in _demo_commands()]
    assert [c[:2] for c in cmds] == [["study", "run"], ["report", f"{tmp_path}/out/default.sqlite"]]
    for c in cmds:
        assert main(c) == 0, c
    html = (tmp_path / "out" / "report" / "report.html").read_text()
    for fig in ("plot-accuracy-vs-bits", "plot-gate-fidelity-vs-bits", "plot-gate-leakage-vs-bits",
                "plot-cost-vs-bits", "plot-pareto-power", "plot-pareto-area"):
        assert re.search(rf'<img id="{fig}" [^>]*src="data:image/png;base64,', html), fig
    # resumable: running the study again computes nothing new
    capsys.readouterr()
    assert main(cmds[0] + ["--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["skipped"] == again["points"] > 100 and again["done"] == again["errors"] == 0
